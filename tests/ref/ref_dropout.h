/* tests/ref/ref_dropout.h — host reference of dropout: the mask from medcl_philox_at, bit for
 * bit as documented in include/medcl/ops_act.h. */
#ifndef MEDCL_REF_DROPOUT_H
#define MEDCL_REF_DROPOUT_H
#include <stdbool.h>
#include <stdint.h>

/* keep flag of element i of a tensor with s elements per (n, c) (channel-wise) */
bool ref_dropout_keep(uint64_t seed, uint32_t stream, uint32_t step, float p, bool channelwise,
                      int64_t s, int64_t i);
/* y = keep ? x * scale : 0 in float, scale = (float)(1 / (1 - p)) (0 when p = 1) */
void ref_dropout_apply(const float *x, float *y, int64_t n, int64_t s, uint64_t seed,
                       uint32_t stream, uint32_t step, float p, bool channelwise);
#endif
