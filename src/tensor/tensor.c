/* src/tensor/tensor.c — tensor creation from the context's pool, bounds-checked host
 * transfers (blocking and asynchronous on the transfer queue), fill, copy and views. */
#include "tensor_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *medcl_dtype_str(medcl_dtype t) {
    switch (t) {
    case MEDCL_DTYPE_F32: return "f32";
    case MEDCL_DTYPE_I32: return "i32";
    case MEDCL_DTYPE_U8: return "u8";
    default: return "?";
    }
}

size_t medcl_dtype_size(medcl_dtype t) {
    switch (t) {
    case MEDCL_DTYPE_F32: return 4;
    case MEDCL_DTYPE_I32: return 4;
    case MEDCL_DTYPE_U8: return 1;
    default: return 0;
    }
}

static const char *tname(const medcl_tensor *t) { return t->name[0] ? t->name : "(unnamed)"; }

medcl_status medcl_tensor_create(medcl_context *ctx, const medcl_tensor_desc *desc,
                                 medcl_tensor **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_tensor_create: out is NULL");
    *out = NULL;
    if (!ctx || !desc) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_tensor_create: NULL argument");
    medcl_status st = medcl_context_check(ctx);
    if (st != MEDCL_OK) return st;
    const char *name = desc->name ? desc->name : "(unnamed)";
    if (desc->size < sizeof(medcl_tensor_desc))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "tensor %s: desc.size = %zu, expected %zu", name,
                          desc->size, sizeof(medcl_tensor_desc));
    if ((int)desc->dtype < 0 || desc->dtype >= MEDCL_DTYPE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "tensor %s: dtype = %d is not a medcl_dtype", name,
                          (int)desc->dtype);
    if (desc->ndim < 1 || desc->ndim > MEDCL_MAX_DIMS)
        return medcl_fail(MEDCL_ERR_SHAPE, "tensor %s: ndim = %d (must be 1..%d)", name, desc->ndim,
                          MEDCL_MAX_DIMS);
    int64_t numel = 1;
    for (int i = 0; i < desc->ndim; i++) {
        if (desc->shape[i] < 1)
            return medcl_fail(MEDCL_ERR_SHAPE, "tensor %s: shape[%d] = %lld (must be >= 1)", name, i,
                              (long long)desc->shape[i]);
        if (!medcl_mul_i64(numel, desc->shape[i], &numel))
            return medcl_fail(MEDCL_ERR_SHAPE, "tensor %s: element count overflows at shape[%d] = %lld",
                              name, i, (long long)desc->shape[i]);
    }
    size_t bytes;
    if ((uint64_t)numel > SIZE_MAX || !medcl_mul_size((size_t)numel, medcl_dtype_size(desc->dtype), &bytes))
        return medcl_fail(MEDCL_ERR_SHAPE, "tensor %s: %lld elements overflow a byte count", name,
                          (long long)numel);
    medcl_tensor *t = calloc(1, sizeof *t);
    if (!t) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "tensor %s: out of host memory", name);
    t->ctx = ctx;
    t->dtype = desc->dtype;
    t->ndim = desc->ndim;
    for (int i = 0; i < desc->ndim; i++) t->shape[i] = desc->shape[i];
    t->numel = numel;
    snprintf(t->name, sizeof t->name, "%s", desc->name ? desc->name : "");
    st = medcl_pool_alloc(ctx, bytes, name, &t->mem, &t->class_bytes);
    if (st != MEDCL_OK) {
        free(t);
        return st;
    }
    *out = t;
    return MEDCL_OK;
}

medcl_status medcl_tensor_create_f32(medcl_context *ctx, const char *name, int ndim,
                                     const int64_t *shape, medcl_tensor **out) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = MEDCL_DTYPE_F32;
    d.ndim = ndim;
    d.name = name;
    if (ndim >= 1 && ndim <= MEDCL_MAX_DIMS && shape)
        for (int i = 0; i < ndim; i++) d.shape[i] = shape[i];
    return medcl_tensor_create(ctx, &d, out);
}

void medcl_tensor_destroy(medcl_tensor *t) {
    if (!t) return;
    if (!t->is_view) medcl_pool_free(t->ctx, t->mem, t->class_bytes);
    free(t);
}

medcl_context *medcl_tensor_context(const medcl_tensor *t) { return t ? t->ctx : NULL; }
medcl_dtype medcl_tensor_dtype(const medcl_tensor *t) { return t->dtype; }
int medcl_tensor_ndim(const medcl_tensor *t) { return t->ndim; }
int64_t medcl_tensor_dim(const medcl_tensor *t, int axis) {
    return (t && axis >= 0 && axis < t->ndim) ? t->shape[axis] : 0;
}
int64_t medcl_tensor_numel(const medcl_tensor *t) { return t ? t->numel : 0; }
size_t medcl_tensor_bytes(const medcl_tensor *t) {
    return t ? (size_t)t->numel * medcl_dtype_size(t->dtype) : 0;
}
const char *medcl_tensor_name(const medcl_tensor *t) { return t ? tname(t) : "(null)"; }
cl_mem medcl_tensor_cl_mem(const medcl_tensor *t) { return t ? t->mem : NULL; }
size_t medcl_tensor_cl_offset(const medcl_tensor *t) {
    return t ? (size_t)t->offset * medcl_dtype_size(t->dtype) : 0;
}

void medcl_tensor_ncdhw(const medcl_tensor *t, int64_t out[5]) {
    for (int i = 0; i < 5; i++) out[i] = 1;
    switch (t->ndim) {
    case 5: for (int i = 0; i < 5; i++) out[i] = t->shape[i]; break;
    case 4: out[0] = t->shape[0]; out[1] = t->shape[1]; out[3] = t->shape[2]; out[4] = t->shape[3]; break;
    case 3: out[0] = t->shape[0]; out[1] = t->shape[1]; out[4] = t->shape[2]; break;
    case 2: out[0] = t->shape[0]; out[1] = t->shape[1]; break;
    default: out[0] = t->shape[0]; break;
    }
}

static medcl_status check_range(const medcl_tensor *t, int64_t first, int64_t count,
                                const void *host, const char *what) {
    if (!t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: tensor is NULL", what);
    if (!host && count > 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s %s: host pointer is NULL", what, tname(t));
    if (first < 0 || count < 0 || first > t->numel || count > t->numel - first)
        return medcl_fail(MEDCL_ERR_INVALID_ARG,
                          "%s %s: elements [%lld, %lld) outside the tensor's %lld elements", what,
                          tname(t), (long long)first, (long long)(first + count), (long long)t->numel);
    return medcl_context_check(t->ctx);
}

static medcl_status check_bytes(const medcl_tensor *t, size_t bytes, const char *what) {
    if (t && bytes != medcl_tensor_bytes(t))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s %s: %zu bytes given, the tensor holds %zu (%lld x %s)",
                          what, tname(t), bytes, medcl_tensor_bytes(t), (long long)t->numel,
                          medcl_dtype_str(t->dtype));
    return MEDCL_OK;
}

static medcl_status transfer(const medcl_tensor *t, int64_t first, int64_t count, void *host,
                             bool upload, bool blocking, cl_event *ev) {
    medcl_status st = MEDCL_OK;
    size_t es = medcl_dtype_size(t->dtype);
    size_t off = (size_t)(t->offset + first) * es, n = (size_t)count * es;
    if (n == 0) return MEDCL_OK;
    medcl_context *ctx = t->ctx;
    /* blocking transfers go on the compute queue so they order with kernels */
    cl_command_queue q = blocking ? ctx->queue : ctx->xfer;
    cl_bool blk = blocking ? CL_TRUE : CL_FALSE;
    cl_int err = upload ? clEnqueueWriteBuffer(q, t->mem, blk, off, n, host, 0, NULL, ev)
                        : clEnqueueReadBuffer(q, t->mem, blk, off, n, host, 0, NULL, ev);
    if (err != CL_SUCCESS) {
        st = medcl_fail(MEDCL_ERR_DEVICE, "%s of tensor %s (%zu bytes at %zu) on %s: %s",
                        upload ? "upload" : "download", tname(t), n, off, ctx->info.name,
                        medcl_cl_error_name(err));
        medcl_context_mark_broken(ctx, medcl_last_error());
    }
    return st;
}

medcl_status medcl_tensor_upload(medcl_tensor *t, const void *host, size_t bytes) {
    medcl_status st = check_bytes(t, bytes, "upload");
    if (st == MEDCL_OK) st = check_range(t, 0, t ? t->numel : 0, host, "upload");
    if (st != MEDCL_OK) return st;
    return transfer(t, 0, t->numel, (void *)host, true, true, NULL);
}

medcl_status medcl_tensor_download(const medcl_tensor *t, void *host, size_t bytes) {
    medcl_status st = check_bytes(t, bytes, "download");
    if (st == MEDCL_OK) st = check_range(t, 0, t ? t->numel : 0, host, "download");
    if (st != MEDCL_OK) return st;
    return transfer(t, 0, t->numel, host, false, true, NULL);
}

medcl_status medcl_tensor_upload_range(medcl_tensor *t, int64_t first, int64_t count,
                                       const void *host) {
    medcl_status st = check_range(t, first, count, host, "upload");
    if (st != MEDCL_OK) return st;
    return transfer(t, first, count, (void *)host, true, true, NULL);
}

medcl_status medcl_tensor_download_range(const medcl_tensor *t, int64_t first, int64_t count,
                                         void *host) {
    medcl_status st = check_range(t, first, count, host, "download");
    if (st != MEDCL_OK) return st;
    return transfer(t, first, count, host, false, true, NULL);
}

struct medcl_event {
    cl_event ev;
    medcl_context *ctx;
};

static medcl_status async_transfer(const medcl_tensor *t, void *host, size_t bytes, bool up,
                                   medcl_event **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "async transfer: event out-pointer is NULL");
    *out = NULL;
    medcl_status st = check_bytes(t, bytes, up ? "upload" : "download");
    if (st == MEDCL_OK) st = check_range(t, 0, t ? t->numel : 0, host, up ? "upload" : "download");
    if (st != MEDCL_OK) return st;
    medcl_event *e = calloc(1, sizeof *e);
    if (!e) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "event: out of memory");
    e->ctx = t->ctx;
    /* the transfer queue must not overtake kernels that produced or will read this tensor:
     * make it wait for everything queued so far on the compute queue */
    cl_event marker = NULL;
    cl_int err = clEnqueueMarkerWithWaitList(t->ctx->queue, 0, NULL, &marker);
    if (err == CL_SUCCESS) {
        size_t es = medcl_dtype_size(t->dtype);
        size_t off = (size_t)t->offset * es;
        err = up ? clEnqueueWriteBuffer(t->ctx->xfer, t->mem, CL_FALSE, off, bytes, host, 1, &marker, &e->ev)
                 : clEnqueueReadBuffer(t->ctx->xfer, t->mem, CL_FALSE, off, bytes, host, 1, &marker, &e->ev);
        clFlush(t->ctx->xfer);
    }
    if (marker) clReleaseEvent(marker);
    if (err != CL_SUCCESS) {
        free(e);
        st = medcl_fail(MEDCL_ERR_DEVICE, "async %s of tensor %s: %s", up ? "upload" : "download",
                        tname(t), medcl_cl_error_name(err));
        medcl_context_mark_broken(t->ctx, medcl_last_error());
        return st;
    }
    if (up) {
        /* later kernels on the compute queue wait for the upload */
        err = clEnqueueMarkerWithWaitList(t->ctx->queue, 1, &e->ev, NULL);
        if (err != CL_SUCCESS) {
            clReleaseEvent(e->ev);
            free(e);
            return medcl_fail(MEDCL_ERR_DEVICE, "async upload of tensor %s: marker: %s", tname(t),
                              medcl_cl_error_name(err));
        }
    }
    *out = e;
    return MEDCL_OK;
}

medcl_status medcl_tensor_upload_async(medcl_tensor *t, const void *host, size_t bytes,
                                       medcl_event **ev) {
    return async_transfer(t, (void *)host, bytes, true, ev);
}

medcl_status medcl_tensor_download_async(const medcl_tensor *t, void *host, size_t bytes,
                                         medcl_event **ev) {
    return async_transfer(t, host, bytes, false, ev);
}

medcl_status medcl_event_wait(medcl_event *ev) {
    if (!ev) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_event_wait: event is NULL");
    cl_int err = clWaitForEvents(1, &ev->ev);
    cl_int status = CL_COMPLETE;
    clGetEventInfo(ev->ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
    if (err != CL_SUCCESS || status < 0) {
        medcl_status st = medcl_fail(MEDCL_ERR_DEVICE, "transfer failed on %s: %s",
                                     ev->ctx->info.name,
                                     medcl_cl_error_name(status < 0 ? status : err));
        medcl_context_mark_broken(ev->ctx, medcl_last_error());
        return st;
    }
    return MEDCL_OK;
}

void medcl_event_destroy(medcl_event *ev) {
    if (!ev) return;
    clWaitForEvents(1, &ev->ev);
    clReleaseEvent(ev->ev);
    free(ev);
}

medcl_status medcl_tensor_fill(medcl_tensor *t, double value) {
    if (!t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "fill: tensor is NULL");
    medcl_status st = medcl_context_check(t->ctx);
    if (st != MEDCL_OK) return st;
    size_t es = medcl_dtype_size(t->dtype);
    float f = (float)value;
    int32_t i = 0;
    uint8_t u = 0;
    const void *pat = &f;
    if (t->dtype == MEDCL_DTYPE_I32) {
        if (!(value >= -2147483648.0 && value <= 2147483647.0))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "fill %s: value %g outside i32", tname(t), value);
        i = (int32_t)value;
        pat = &i;
    } else if (t->dtype == MEDCL_DTYPE_U8) {
        if (!(value >= 0.0 && value <= 255.0))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "fill %s: value %g outside u8", tname(t), value);
        u = (uint8_t)value;
        pat = &u;
    }
    cl_int err = clEnqueueFillBuffer(t->ctx->queue, t->mem, pat, es, (size_t)t->offset * es,
                                     (size_t)t->numel * es, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        st = medcl_fail(MEDCL_ERR_DEVICE, "fill %s: %s", tname(t), medcl_cl_error_name(err));
        medcl_context_mark_broken(t->ctx, medcl_last_error());
    }
    return st;
}

medcl_status medcl_tensor_copy(medcl_tensor *dst, const medcl_tensor *src) {
    if (!dst || !src) return medcl_fail(MEDCL_ERR_INVALID_ARG, "copy: NULL tensor");
    if (dst->ctx != src->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "copy %s -> %s: tensors of different contexts",
                          tname(src), tname(dst));
    if (dst->dtype != src->dtype || dst->numel != src->numel)
        return medcl_fail(MEDCL_ERR_SHAPE, "copy %s (%lld x %s) -> %s (%lld x %s): sizes or dtypes differ",
                          tname(src), (long long)src->numel, medcl_dtype_str(src->dtype), tname(dst),
                          (long long)dst->numel, medcl_dtype_str(dst->dtype));
    medcl_status st = medcl_context_check(dst->ctx);
    if (st != MEDCL_OK) return st;
    size_t es = medcl_dtype_size(src->dtype);
    if (src->mem == dst->mem && src->offset == dst->offset) return MEDCL_OK;
    cl_int err = clEnqueueCopyBuffer(dst->ctx->queue, src->mem, dst->mem, (size_t)src->offset * es,
                                     (size_t)dst->offset * es, (size_t)src->numel * es, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        st = medcl_fail(MEDCL_ERR_DEVICE, "copy %s -> %s: %s", tname(src), tname(dst),
                        medcl_cl_error_name(err));
        medcl_context_mark_broken(dst->ctx, medcl_last_error());
    }
    return st;
}

medcl_status medcl_tensor_view_n(medcl_tensor *t, int64_t n0, int64_t count, medcl_tensor **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "view: out is NULL");
    *out = NULL;
    if (!t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "view: tensor is NULL");
    if (n0 < 0 || count < 1 || n0 > t->shape[0] || count > t->shape[0] - n0)
        return medcl_fail(MEDCL_ERR_SHAPE, "view of %s: samples [%lld, %lld) outside N = %lld", tname(t),
                          (long long)n0, (long long)(n0 + count), (long long)t->shape[0]);
    medcl_tensor *v = calloc(1, sizeof *v);
    if (!v) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "view: out of memory");
    *v = *t;
    int64_t per = t->numel / t->shape[0];
    v->shape[0] = count;
    v->numel = per * count;
    v->offset = t->offset + n0 * per;
    v->is_view = true;
    v->class_bytes = 0;
    *out = v;
    return MEDCL_OK;
}

medcl_status medcl_tensor_view_reshape(medcl_tensor *t, int ndim, const int64_t *shape,
                                       medcl_tensor **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "reshape: out is NULL");
    *out = NULL;
    if (!t || !shape) return medcl_fail(MEDCL_ERR_INVALID_ARG, "reshape: NULL argument");
    if (ndim < 1 || ndim > MEDCL_MAX_DIMS)
        return medcl_fail(MEDCL_ERR_SHAPE, "reshape %s: ndim = %d", tname(t), ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || !medcl_mul_i64(n, shape[i], &n))
            return medcl_fail(MEDCL_ERR_SHAPE, "reshape %s: shape[%d] = %lld", tname(t), i,
                              (long long)shape[i]);
    if (n != t->numel)
        return medcl_fail(MEDCL_ERR_SHAPE, "reshape %s: %lld elements into a shape of %lld", tname(t),
                          (long long)t->numel, (long long)n);
    medcl_tensor *v = calloc(1, sizeof *v);
    if (!v) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "reshape: out of memory");
    *v = *t;
    v->ndim = ndim;
    for (int i = 0; i < MEDCL_MAX_DIMS; i++) v->shape[i] = i < ndim ? shape[i] : 0;
    v->is_view = true;
    v->class_bytes = 0;
    *out = v;
    return MEDCL_OK;
}
