/* src/ops/ops_internal.h — helpers for op implementations: argument checks that name the
 * tensor and field, kernel argument setting, 1-D launches. */
#ifndef MEDCL_OPS_INTERNAL_H
#define MEDCL_OPS_INTERNAL_H

#include "medcl/ops.h"
#include "tensor/tensor_internal.h"

/* Checks t is non-NULL, f32 (when f32 is true) and on a usable context. */
medcl_status medcl_op_check(const char *op, const char *role, const medcl_tensor *t, bool f32);
/* Checks a and b have the same element count. */
medcl_status medcl_op_same_numel(const char *op, const char *ra, const medcl_tensor *a,
                                 const char *rb, const medcl_tensor *b);

/* Typed parameter structs start with a size field: *out = *p when p is given and its size
 * matches, the defaults *def when p is NULL; a wrong size is an error naming the op. */
medcl_status medcl_op_params(const char *op, const void *p, const void *def, size_t size, void *out);

/* Sets the two arguments (buffer, element offset) of tensor t at index *i, advancing *i. */
cl_int medcl_arg_tensor(cl_kernel k, cl_uint *i, const medcl_tensor *t);

/* 1-D launch of n work-items with the default local size. */
medcl_status medcl_launch_1d(medcl_context *ctx, cl_kernel k, size_t n);

/* Work-group size for reductions on this device: min(256, device max), a power of two. */
unsigned medcl_reduce_wg(const medcl_context *ctx);

/* Variant lists of each op family (registry.c collects them). */
typedef medcl_status (*medcl_variant_add_fn)(void *acc, const char *program, const char *defines);
typedef medcl_status (*medcl_variants_fn)(medcl_context *ctx, medcl_variant_add_fn add, void *acc);

/* Program variants of each op family (registry.c collects them; the graph reuses them). */
medcl_status medcl_elementwise_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_reduce_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_random_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_pool_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_upsample_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_norm_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_loss_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_activation_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_softmax_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_concat_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_broadcast_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_linear_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_dropout_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_conv_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);

#endif
