/* src/runtime/runtime_internal.h — the context structure and the helpers the layers above use
 * to get kernels, launch them and allocate device memory. Not installed. */
#ifndef MEDCL_RUNTIME_INTERNAL_H
#define MEDCL_RUNTIME_INTERNAL_H

#include "core/internal.h"
#include "medcl/medcl_cl.h"
#include "medcl/runtime.h"

#include <pthread.h>

/* Checks an OpenCL call; on failure sets the error (call text, CL error name, file:line) and
 * jumps to cleanup. Needs `medcl_status st` and a `cleanup:` label in scope. */
#define MEDCL_CL(call)                                                                     \
    do {                                                                                   \
        cl_int medcl_cl_err_ = (call);                                                     \
        if (medcl_cl_err_ != CL_SUCCESS) {                                                 \
            st = medcl_cl_fail(medcl_cl_err_, #call, __FILE__, __LINE__);                  \
            goto cleanup;                                                                  \
        }                                                                                  \
    } while (0)
medcl_status medcl_cl_fail(cl_int err, const char *what, const char *file, int line);

typedef struct medcl_prog_entry {
    uint64_t key_hi, key_lo;
    char *program;
    char *defines;
    cl_program prog;
    struct medcl_prog_entry *next;
} medcl_prog_entry;

typedef struct medcl_kernel_entry {
    cl_program prog;
    char *name;
    cl_kernel kernel;
    struct medcl_kernel_entry *next;
} medcl_kernel_entry;

typedef struct medcl_pool_block {
    cl_mem mem;
    size_t bytes; /* size class */
    struct medcl_pool_block *next;
} medcl_pool_block;

typedef struct medcl_bundle medcl_bundle;

struct medcl_context {
    medcl_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;    /* in-order, profiling: compute */
    cl_command_queue xfer;     /* in-order, profiling: uploads/downloads */
    bool broken;
    char broken_reason[512];

    pthread_mutex_t lock;      /* guards the caches, pool and statistics */
    char build_options[256];   /* -cl-std and other options common to every program */
    char *cl_dir;              /* read sources from here when set */

    medcl_prog_entry *programs;
    medcl_kernel_entry *kernels;
    medcl_cache_stats cache;
    bool cache_warned;
    medcl_bundle *bundle;

    medcl_pool_block *pool;
    medcl_memory_stats mem;
};

/* Source text of a cl/ program (with its "//! requires:" programs prepended), malloc'd. */
medcl_status medcl_program_source(medcl_context *ctx, const char *program, char **text,
                                  size_t *len);
/* Built program for (program, defines): memory cache, then bundle or disk cache, then compile. */
medcl_status medcl_program_get(medcl_context *ctx, const char *program, const char *defines,
                               cl_program *out);
/* A kernel of that program, created once and kept by the context. Kernel objects are shared:
 * one thread at a time launches on a context. */
medcl_status medcl_kernel_get(medcl_context *ctx, const char *program, const char *defines,
                              const char *kernel, cl_kernel *out);
/* Enqueues k on the compute queue; global sizes are rounded up to multiples of local (local
 * NULL lets the driver choose). Fails with MEDCL_ERR_STATE on a broken context. */
medcl_status medcl_launch(medcl_context *ctx, cl_kernel k, cl_uint dims, const size_t *global,
                          const size_t *local, cl_event *event);
/* Marks the context unusable after a failed command. */
void medcl_context_mark_broken(medcl_context *ctx, const char *why);
medcl_status medcl_context_check(const medcl_context *ctx);

/* Key of a program variant: hash over source, defines, options, platform, device, driver and
 * library version (two independent 64-bit FNV-1a chains). */
void medcl_program_key(const medcl_context *ctx, const char *src, size_t len,
                       const char *defines, uint64_t *hi, uint64_t *lo);

/* Disk cache and bundle (cache.c, bundle.c). The entry format is shared by both. */
void medcl_cache_init(medcl_context *ctx, const medcl_context_options *opts);
/* Binary for key from disk; MEDCL_ERR_NOT_FOUND when absent or damaged (damaged entries are
 * evicted). *bin malloc'd. */
medcl_status medcl_cache_load(medcl_context *ctx, uint64_t hi, uint64_t lo, unsigned char **bin,
                              size_t *len);
void medcl_cache_store(medcl_context *ctx, uint64_t hi, uint64_t lo, const unsigned char *bin,
                       size_t len);
/* Entry encoding: magic, key, length, checksum, payload. */
medcl_status medcl_cache_entry_encode(uint64_t hi, uint64_t lo, const unsigned char *bin,
                                      size_t len, unsigned char **out, size_t *out_len);
medcl_status medcl_cache_entry_decode(const unsigned char *data, size_t n, uint64_t hi,
                                      uint64_t lo, const unsigned char **bin, size_t *len);

medcl_status medcl_bundle_open(medcl_context *ctx, const char *dir);
void medcl_bundle_close(medcl_bundle *b);
/* The binary for (program, defines, key) from the bundle, or an error naming the variant. */
medcl_status medcl_bundle_load(medcl_context *ctx, const char *program, const char *defines,
                               uint64_t hi, uint64_t lo, unsigned char **bin, size_t *len);
/* Binary of a built program (single device). */
medcl_status medcl_program_binary(cl_program prog, cl_device_id dev, unsigned char **bin,
                                  size_t *len);

/* Device memory with size-class reuse. name is used in error messages. */
medcl_status medcl_pool_alloc(medcl_context *ctx, size_t bytes, const char *name, cl_mem *out,
                              size_t *class_bytes);
void medcl_pool_free(medcl_context *ctx, cl_mem mem, size_t class_bytes);
void medcl_pool_release_all(medcl_context *ctx);

/* Kernel argument helpers: MEDCL_ARG(k, i, value) with value an lvalue. */
#define MEDCL_ARG(k, i, v) clSetKernelArg((k), (cl_uint)(i), sizeof(v), &(v))

#endif
