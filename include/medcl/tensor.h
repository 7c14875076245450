/* medcl/tensor.h — the tensor: dtype, shape (up to 5 dimensions, N C D H W; 2D is D = 1), a
 * device buffer from the context's pool, host transfers (blocking and asynchronous), fill,
 * copy and views along N. Every access is bounds-checked. */
#ifndef MEDCL_TENSOR_H
#define MEDCL_TENSOR_H

#include "medcl/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MEDCL_MAX_DIMS 5

typedef enum medcl_dtype {
    MEDCL_DTYPE_F32 = 0,
    MEDCL_DTYPE_I32 = 1,
    MEDCL_DTYPE_U8 = 2,
    MEDCL_DTYPE_COUNT
} medcl_dtype;

MEDCL_API const char *medcl_dtype_str(medcl_dtype t);
MEDCL_API size_t medcl_dtype_size(medcl_dtype t);

typedef struct medcl_tensor_desc {
    size_t size;                     /* sizeof(medcl_tensor_desc) */
    medcl_dtype dtype;
    int ndim;                        /* 1..5 */
    int64_t shape[MEDCL_MAX_DIMS];   /* extents, each >= 1 */
    const char *name;                /* for messages; copied */
} medcl_tensor_desc;
#define MEDCL_TENSOR_DESC_INIT {sizeof(medcl_tensor_desc), MEDCL_DTYPE_F32, 0, {0, 0, 0, 0, 0}, NULL}

typedef struct medcl_tensor medcl_tensor;

MEDCL_API medcl_status medcl_tensor_create(medcl_context *ctx, const medcl_tensor_desc *desc,
                                           medcl_tensor **out);
/* Convenience: f32 tensor of the given shape. */
MEDCL_API medcl_status medcl_tensor_create_f32(medcl_context *ctx, const char *name, int ndim,
                                               const int64_t *shape, medcl_tensor **out);
/* Destroys a tensor or a view (a view does not free its parent's buffer; the parent must
 * outlive its views). Accepts NULL. */
MEDCL_API void medcl_tensor_destroy(medcl_tensor *t);

MEDCL_API medcl_context *medcl_tensor_context(const medcl_tensor *t);
MEDCL_API medcl_dtype medcl_tensor_dtype(const medcl_tensor *t);
MEDCL_API int medcl_tensor_ndim(const medcl_tensor *t);
MEDCL_API int64_t medcl_tensor_dim(const medcl_tensor *t, int axis); /* 0 when out of range */
MEDCL_API int64_t medcl_tensor_numel(const medcl_tensor *t);
MEDCL_API size_t medcl_tensor_bytes(const medcl_tensor *t);
MEDCL_API const char *medcl_tensor_name(const medcl_tensor *t);

/* Blocking transfers of the whole tensor: bytes must equal medcl_tensor_bytes(t). */
MEDCL_API medcl_status medcl_tensor_upload(medcl_tensor *t, const void *host, size_t bytes);
MEDCL_API medcl_status medcl_tensor_download(const medcl_tensor *t, void *host, size_t bytes);
/* Blocking transfer of elements [first, first + count). */
MEDCL_API medcl_status medcl_tensor_upload_range(medcl_tensor *t, int64_t first, int64_t count,
                                                 const void *host);
MEDCL_API medcl_status medcl_tensor_download_range(const medcl_tensor *t, int64_t first,
                                                   int64_t count, void *host);

/* Asynchronous transfers on the transfer queue: the host memory must stay valid (and, for
 * downloads, unread) until medcl_event_wait returns. The compute queue waits for an upload
 * through medcl_event_wait or medcl_context_finish. */
typedef struct medcl_event medcl_event;
MEDCL_API medcl_status medcl_tensor_upload_async(medcl_tensor *t, const void *host, size_t bytes,
                                                 medcl_event **ev);
MEDCL_API medcl_status medcl_tensor_download_async(const medcl_tensor *t, void *host,
                                                   size_t bytes, medcl_event **ev);
MEDCL_API medcl_status medcl_event_wait(medcl_event *ev);
MEDCL_API void medcl_event_destroy(medcl_event *ev);

/* Every element set to value (converted to the dtype; u8 and i32 round toward zero). */
MEDCL_API medcl_status medcl_tensor_fill(medcl_tensor *t, double value);
/* dst = src: same dtype and element count. */
MEDCL_API medcl_status medcl_tensor_copy(medcl_tensor *dst, const medcl_tensor *src);
/* A view of samples [n0, n0 + count) along the first axis, sharing the buffer. */
MEDCL_API medcl_status medcl_tensor_view_n(medcl_tensor *t, int64_t n0, int64_t count,
                                           medcl_tensor **out);
/* Same buffer, another shape with the same element count (reshape/flatten). */
MEDCL_API medcl_status medcl_tensor_view_reshape(medcl_tensor *t, int ndim, const int64_t *shape,
                                                 medcl_tensor **out);

#ifdef __cplusplus
}
#endif
#endif
