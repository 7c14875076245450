/* src/runtime/context.c — the context: one device, a compute queue and a transfer queue,
 * launches, the broken state after a failed command, and the buffer pool.
 * One thread at a time computes on a context; the caches and pool are guarded by a mutex so
 * loader threads may allocate and upload. */
#include "runtime_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

medcl_status medcl_devices_enumerate(medcl_device_info **out, cl_platform_id **plats,
                                     cl_device_id **devs, int *count);
int medcl_device_match(const medcl_device_info *list, int n, const char *sel);
medcl_status medcl_device_not_found(const medcl_device_info *list, int n, const char *sel);

medcl_status medcl_context_create(const medcl_context_options *opts, medcl_context **out) {
    medcl_status st = MEDCL_OK;
    medcl_context_options def = MEDCL_CONTEXT_OPTIONS_INIT;
    medcl_device_info *list = NULL;
    cl_platform_id *plats = NULL;
    cl_device_id *devs = NULL;
    int n = 0;
    medcl_context *ctx = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_context_create: out is NULL");
    *out = NULL;
    if (!opts) opts = &def;
    if (opts->size < sizeof(size_t))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_context_create: options.size = %zu",
                          opts->size);

    MEDCL_TRY(medcl_devices_enumerate(&list, &plats, &devs, &n));
    const char *sel = (opts->device && opts->device[0]) ? opts->device : medcl_env("MEDCL_DEVICE");
    int i = medcl_device_match(list, n, sel);
    if (i < 0) {
        st = medcl_device_not_found(list, n, sel ? sel : "");
        goto cleanup;
    }
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "context: out of memory");
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->info = list[i];
    ctx->platform = plats[i];
    ctx->device = devs[i];
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
    ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    MEDCL_CL(err);
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, CL_QUEUE_PROFILING_ENABLE, &err);
    MEDCL_CL(err);
    ctx->xfer = clCreateCommandQueue(ctx->cl, ctx->device, CL_QUEUE_PROFILING_ENABLE, &err);
    MEDCL_CL(err);
    /* Kernels are OpenCL C 1.2; ask for the newest standard the device offers up to 1.2. */
    bool has12 = ctx->info.c_major > 1 || (ctx->info.c_major == 1 && ctx->info.c_minor >= 2);
    snprintf(ctx->build_options, sizeof ctx->build_options, "-cl-std=%s",
             has12 ? "CL1.2" : "CL1.1");
    const char *cl_dir = opts->cl_dir ? opts->cl_dir : medcl_env("MEDCL_CL_DIR");
    if (cl_dir) {
        ctx->cl_dir = strdup(cl_dir);
        if (!ctx->cl_dir) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "context: out of memory");
    }
    const char *bundle = opts->bundle_dir ? opts->bundle_dir : medcl_env("MEDCL_KERNEL_BUNDLE");
    if (bundle) {
        MEDCL_TRY(medcl_bundle_open(ctx, bundle));
    } else {
        medcl_cache_init(ctx, opts);
    }
    *out = ctx;
    ctx = NULL;
cleanup:
    medcl_context_destroy(ctx);
    free(list);
    free(plats);
    free(devs);
    return st;
}

void medcl_context_destroy(medcl_context *ctx) {
    if (!ctx) return;
    if (ctx->queue) clFinish(ctx->queue);
    if (ctx->xfer) clFinish(ctx->xfer);
    for (medcl_kernel_entry *k = ctx->kernels; k;) {
        medcl_kernel_entry *nx = k->next;
        clReleaseKernel(k->kernel);
        free(k->name);
        free(k);
        k = nx;
    }
    for (medcl_prog_entry *p = ctx->programs; p;) {
        medcl_prog_entry *nx = p->next;
        clReleaseProgram(p->prog);
        free(p->program);
        free(p->defines);
        free(p);
        p = nx;
    }
    medcl_pool_release_all(ctx);
    medcl_bundle_close(ctx->bundle);
    if (ctx->queue) clReleaseCommandQueue(ctx->queue);
    if (ctx->xfer) clReleaseCommandQueue(ctx->xfer);
    if (ctx->cl) clReleaseContext(ctx->cl);
    free(ctx->cl_dir);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

const medcl_device_info *medcl_context_device(const medcl_context *ctx) {
    return ctx ? &ctx->info : NULL;
}

bool medcl_context_is_broken(const medcl_context *ctx) { return ctx && ctx->broken; }

void medcl_context_mark_broken(medcl_context *ctx, const char *why) {
    if (ctx->broken) return;
    ctx->broken = true;
    snprintf(ctx->broken_reason, sizeof ctx->broken_reason, "%s", why);
}

medcl_status medcl_context_check(const medcl_context *ctx) {
    if (!ctx) return medcl_fail(MEDCL_ERR_INVALID_ARG, "context is NULL");
    if (ctx->broken)
        return medcl_fail(MEDCL_ERR_STATE,
                          "context on %s is unusable after a failed device command: %s",
                          ctx->info.name, ctx->broken_reason);
    return MEDCL_OK;
}

medcl_status medcl_context_finish(medcl_context *ctx) {
    medcl_status st = medcl_context_check(ctx);
    if (st != MEDCL_OK) return st;
    cl_int e1 = clFinish(ctx->xfer);
    cl_int e2 = clFinish(ctx->queue);
    if (e1 != CL_SUCCESS || e2 != CL_SUCCESS) {
        cl_int e = e1 != CL_SUCCESS ? e1 : e2;
        st = medcl_cl_fail(e, "clFinish", __FILE__, __LINE__);
        medcl_context_mark_broken(ctx, medcl_last_error());
    }
    return st;
}

medcl_status medcl_launch(medcl_context *ctx, cl_kernel k, cl_uint dims, const size_t *global,
                          const size_t *local, cl_event *event) {
    medcl_status st = medcl_context_check(ctx);
    if (st != MEDCL_OK) return st;
    size_t g[3];
    for (cl_uint d = 0; d < dims; d++) {
        g[d] = global[d];
        if (g[d] == 0) return MEDCL_OK; /* nothing to do */
        if (local && local[d]) g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
    }
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, g, local, 0, NULL, event);
    if (err != CL_SUCCESS) {
        char name[128] = "?";
        clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
        name[sizeof name - 1] = '\0';
        st = medcl_fail(MEDCL_ERR_DEVICE, "launching kernel %s (global %zu x %zu x %zu) on %s: %s (%d)",
                        name, g[0], dims > 1 ? g[1] : 1, dims > 2 ? g[2] : 1, ctx->info.name,
                        medcl_cl_error_name(err), (int)err);
        if (err == CL_OUT_OF_RESOURCES || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
            err == CL_OUT_OF_HOST_MEMORY)
            medcl_context_mark_broken(ctx, medcl_last_error());
    }
    return st;
}

void medcl_context_cache_stats(const medcl_context *ctx, medcl_cache_stats *out) {
    memset(out, 0, sizeof *out);
    if (!ctx) return;
    medcl_context *c = (medcl_context *)ctx;
    pthread_mutex_lock(&c->lock);
    *out = ctx->cache;
    pthread_mutex_unlock(&c->lock);
}

void medcl_context_memory_stats(const medcl_context *ctx, medcl_memory_stats *out) {
    memset(out, 0, sizeof *out);
    if (!ctx) return;
    medcl_context *c = (medcl_context *)ctx;
    pthread_mutex_lock(&c->lock);
    *out = ctx->mem;
    pthread_mutex_unlock(&c->lock);
}

void medcl_context_reset_peak(medcl_context *ctx) {
    pthread_mutex_lock(&ctx->lock);
    ctx->mem.peak = ctx->mem.in_use;
    pthread_mutex_unlock(&ctx->lock);
}

cl_context medcl_context_cl_context(const medcl_context *ctx) { return ctx ? ctx->cl : NULL; }
cl_device_id medcl_context_cl_device(const medcl_context *ctx) { return ctx ? ctx->device : NULL; }
cl_command_queue medcl_context_cl_queue(const medcl_context *ctx) { return ctx ? ctx->queue : NULL; }
cl_command_queue medcl_context_cl_transfer_queue(const medcl_context *ctx) {
    return ctx ? ctx->xfer : NULL;
}

/* ---- buffer pool: size classes of 2^k and 1.5 * 2^k bytes (at least 256) ---- */
static size_t size_class(size_t bytes) {
    size_t c = 256;
    while (c < bytes) {
        size_t mid = c + c / 2;
        if (mid >= bytes) return mid;
        if (c > SIZE_MAX / 2) return bytes;
        c *= 2;
    }
    return c;
}

medcl_status medcl_pool_alloc(medcl_context *ctx, size_t bytes, const char *name, cl_mem *out,
                              size_t *class_bytes) {
    medcl_status st = medcl_context_check(ctx);
    *out = NULL;
    if (st != MEDCL_OK) return st;
    if (bytes == 0) bytes = 1;
    if (bytes > ctx->info.max_alloc)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY,
                          "tensor %s: %zu bytes exceed the device's max allocation "
                          "(CL_DEVICE_MAX_MEM_ALLOC_SIZE) of %llu bytes on %s",
                          name ? name : "(unnamed)", bytes,
                          (unsigned long long)ctx->info.max_alloc, ctx->info.name);
    size_t cls = size_class(bytes);
    if (cls > ctx->info.max_alloc) cls = bytes;
    pthread_mutex_lock(&ctx->lock);
    medcl_pool_block **pp = &ctx->pool;
    while (*pp && (*pp)->bytes != cls) pp = &(*pp)->next;
    if (*pp) {
        medcl_pool_block *b = *pp;
        *pp = b->next;
        ctx->mem.pooled -= b->bytes;
        ctx->mem.in_use += b->bytes;
        ctx->mem.reuses++;
        if (ctx->mem.in_use > ctx->mem.peak) ctx->mem.peak = ctx->mem.in_use;
        *out = b->mem;
        *class_bytes = b->bytes;
        free(b);
        pthread_mutex_unlock(&ctx->lock);
        return MEDCL_OK;
    }
    if ((uint64_t)ctx->mem.in_use + cls > ctx->info.global_mem) {
        /* give pooled memory back before refusing */
        pthread_mutex_unlock(&ctx->lock);
        medcl_context_trim_pool(ctx);
        pthread_mutex_lock(&ctx->lock);
        if ((uint64_t)ctx->mem.in_use + cls > ctx->info.global_mem) {
            size_t in_use = ctx->mem.in_use;
            pthread_mutex_unlock(&ctx->lock);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY,
                              "tensor %s: %zu bytes requested with %zu bytes in use exceed the "
                              "device's global memory of %llu bytes on %s",
                              name ? name : "(unnamed)", cls, in_use,
                              (unsigned long long)ctx->info.global_mem, ctx->info.name);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, cls, NULL, &err);
    if (err != CL_SUCCESS || !m)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "tensor %s: clCreateBuffer(%zu bytes) on %s: %s",
                          name ? name : "(unnamed)", cls, ctx->info.name, medcl_cl_error_name(err));
    pthread_mutex_lock(&ctx->lock);
    ctx->mem.in_use += cls;
    if (ctx->mem.in_use > ctx->mem.peak) ctx->mem.peak = ctx->mem.in_use;
    pthread_mutex_unlock(&ctx->lock);
    *out = m;
    *class_bytes = cls;
    return MEDCL_OK;
}

void medcl_pool_free(medcl_context *ctx, cl_mem mem, size_t class_bytes) {
    if (!mem) return;
    medcl_pool_block *b = malloc(sizeof *b);
    pthread_mutex_lock(&ctx->lock);
    ctx->mem.in_use -= class_bytes;
    if (b) {
        b->mem = mem;
        b->bytes = class_bytes;
        b->next = ctx->pool;
        ctx->pool = b;
        ctx->mem.pooled += class_bytes;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (!b) clReleaseMemObject(mem);
}

void medcl_context_trim_pool(medcl_context *ctx) {
    pthread_mutex_lock(&ctx->lock);
    medcl_pool_block *b = ctx->pool;
    ctx->pool = NULL;
    ctx->mem.pooled = 0;
    pthread_mutex_unlock(&ctx->lock);
    while (b) {
        medcl_pool_block *nx = b->next;
        clReleaseMemObject(b->mem);
        free(b);
        b = nx;
    }
}

void medcl_pool_release_all(medcl_context *ctx) { medcl_context_trim_pool(ctx); }
