/* tests/ref/ref_dropout.c — see ref_dropout.h. */
#include "ref_dropout.h"

#include "medcl/core.h"

bool ref_dropout_keep(uint64_t seed, uint32_t stream, uint32_t step, float p, bool channelwise,
                      int64_t s, int64_t i) {
    uint64_t draw = channelwise ? (uint64_t)(i / s) : (uint64_t)i;
    return medcl_philox_u01(medcl_philox_at(seed, stream, step, 0, draw)) > p;
}

void ref_dropout_apply(const float *x, float *y, int64_t n, int64_t s, uint64_t seed,
                       uint32_t stream, uint32_t step, float p, bool channelwise) {
    float scale = p < 1.0f ? (float)(1.0 / (1.0 - (double)p)) : 0.0f;
    for (int64_t i = 0; i < n; i++)
        y[i] = ref_dropout_keep(seed, stream, step, p, channelwise, s, i) ? x[i] * scale : 0.0f;
}
