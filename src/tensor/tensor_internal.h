/* src/tensor/tensor_internal.h — the tensor structure, for the layers above. */
#ifndef MEDCL_TENSOR_INTERNAL_H
#define MEDCL_TENSOR_INTERNAL_H

#include "medcl/tensor.h"
#include "runtime/runtime_internal.h"

struct medcl_tensor {
    medcl_context *ctx;
    medcl_dtype dtype;
    int ndim;
    int64_t shape[MEDCL_MAX_DIMS];
    int64_t numel;
    cl_mem mem;
    size_t class_bytes;  /* pool size class; 0 for views */
    int64_t offset;      /* in elements, within mem */
    bool is_view;
    char name[64];
};

/* Shape as (N, C, D, H, W): 5-D as is; 4-D (N, C, H, W) gives D = 1; 3-D (N, C, L) gives
 * D = H = 1, W = L; 2-D (N, C) and 1-D (N) fill the rest with 1. */
void medcl_tensor_ncdhw(const medcl_tensor *t, int64_t out[5]);

#endif
