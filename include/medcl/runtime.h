/* medcl/runtime.h — OpenCL devices, their selection and description, the context (one device,
 * a compute queue and a transfer queue), program-cache and memory statistics, kernel bundles.
 * Plain C: OpenCL handles are reachable only through medcl/medcl_cl.h. */
#ifndef MEDCL_RUNTIME_H
#define MEDCL_RUNTIME_H

#include "medcl/core.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum medcl_device_type {
    MEDCL_DEVICE_TYPE_CPU = 0,
    MEDCL_DEVICE_TYPE_GPU = 1,
    MEDCL_DEVICE_TYPE_ACCELERATOR = 2,
    MEDCL_DEVICE_TYPE_OTHER = 3,
    MEDCL_DEVICE_TYPE_COUNT
} medcl_device_type;

typedef struct medcl_device_info {
    int index;              /* position in the flat list over all platforms */
    int platform_index;     /* platform number */
    int device_index;       /* device number within its platform */
    char platform[128];     /* platform name */
    char vendor[128];
    char name[256];
    char version[128];      /* CL_DEVICE_VERSION */
    char driver[128];       /* CL_DRIVER_VERSION */
    char c_version[64];     /* CL_DEVICE_OPENCL_C_VERSION */
    int c_major, c_minor;   /* parsed OpenCL C version */
    medcl_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem;    /* bytes */
    uint64_t local_mem;     /* bytes */
    uint64_t max_alloc;     /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    size_t max_work_group;
    bool fp16, fp64, subgroups, float_atomics;
    bool fast_fma;          /* single-precision fused multiply-add in hardware (CL_FP_FMA, not
                               emulated): kernels use fma() instead of mad() */
} medcl_device_info;

MEDCL_API const char *medcl_device_type_str(medcl_device_type t);

/* All devices on all platforms. *out is malloc'd; free with medcl_devices_free. A machine with
 * no OpenCL platform returns MEDCL_ERR_NOT_FOUND with a message saying so. */
MEDCL_API medcl_status medcl_devices_list(medcl_device_info **out, int *count);
MEDCL_API void medcl_devices_free(medcl_device_info *list);

/* Chooses a device: selector is "gpu", "cpu", "accelerator", a flat index "0", "P:D"
 * platform:device indices, or a case-insensitive substring of the device or platform name.
 * NULL or "" means: MEDCL_DEVICE from the environment, else the first GPU, else the first
 * device. No match → MEDCL_ERR_NOT_FOUND listing the devices found. */
MEDCL_API medcl_status medcl_device_select(const char *selector, medcl_device_info *out);

typedef struct medcl_context medcl_context;

typedef struct medcl_context_options {
    size_t size;            /* sizeof(medcl_context_options) */
    const char *device;     /* selector as above; NULL: MEDCL_DEVICE or the default */
    const char *cache_dir;  /* NULL: MEDCL_CACHE_DIR, else $XDG_CACHE_HOME/medcl, ~/.cache/medcl */
    int disk_cache;         /* -1: from MEDCL_CACHE (off disables), 0 off, 1 on */
    const char *bundle_dir; /* NULL: MEDCL_KERNEL_BUNDLE; set: load only from the bundle */
    const char *cl_dir;     /* NULL: MEDCL_CL_DIR; set: read cl/NAME.cl from there, not embedded */
} medcl_context_options;
#define MEDCL_CONTEXT_OPTIONS_INIT {sizeof(medcl_context_options), NULL, NULL, -1, NULL, NULL}

MEDCL_API medcl_status medcl_context_create(const medcl_context_options *opts,
                                            medcl_context **out);
MEDCL_API void medcl_context_destroy(medcl_context *ctx);
MEDCL_API const medcl_device_info *medcl_context_device(const medcl_context *ctx);
/* Waits for all queued work on both queues; reports a failed command. */
MEDCL_API medcl_status medcl_context_finish(medcl_context *ctx);
/* The device's measured fp32 FMA rate in GFLOP/s (independent fma chains, best of 3 runs after
 * a warm-up; the denominator of every benchmark's "% of peak"). small: a quarter of the work.
 * Builds its kernel outside the program cache and bundles; returns 0 when it cannot run. */
MEDCL_API double medcl_device_fma_peak(medcl_context *ctx, bool small);
/* True once a device command failed: every later call on the context returns MEDCL_ERR_STATE. */
MEDCL_API bool medcl_context_is_broken(const medcl_context *ctx);

typedef struct medcl_cache_stats {
    uint64_t memory_hits;  /* programs found already built in this context */
    uint64_t disk_hits;    /* programs loaded from the on-disk cache or the bundle */
    uint64_t misses;       /* programs compiled from source */
    uint64_t disk_writes;  /* entries written to the on-disk cache */
    uint64_t evictions;    /* damaged or foreign entries removed */
    bool disk_enabled;     /* false when off or disabled after a fault */
    bool bundle_mode;      /* loading only from a kernel bundle */
    char dir[512];         /* cache folder in use ("" when none) */
} medcl_cache_stats;
MEDCL_API void medcl_context_cache_stats(const medcl_context *ctx, medcl_cache_stats *out);

typedef struct medcl_memory_stats {
    size_t in_use;   /* bytes held by live tensors */
    size_t peak;     /* high-water mark of in_use */
    size_t pooled;   /* bytes kept in the pool for reuse */
    uint64_t reuses; /* allocations served from the pool */
} medcl_memory_stats;
MEDCL_API void medcl_context_memory_stats(const medcl_context *ctx, medcl_memory_stats *out);
MEDCL_API void medcl_context_reset_peak(medcl_context *ctx);
/* Releases every pooled (unused) buffer to the driver. */
MEDCL_API void medcl_context_trim_pool(medcl_context *ctx);

/* One program variant: a cl/ program name and its -D defines ("" for none). */
typedef struct medcl_program_variant {
    const char *program;
    const char *defines;
} medcl_program_variant;

/* Builds (or loads from cache) one program variant now. */
MEDCL_API medcl_status medcl_context_build_program(medcl_context *ctx, const char *program,
                                                   const char *defines);
/* Writes a kernel bundle to dir: manifest.json (device, driver, library version, programs
 * with defines and hashes) and one binary per variant. Used by `medcl kernels build`. */
MEDCL_API medcl_status medcl_bundle_write(medcl_context *ctx, const char *dir,
                                          const medcl_program_variant *variants, int count);

#ifdef __cplusplus
}
#endif
#endif
