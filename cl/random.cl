//! requires: philox
// cl/random.cl — tensors filled with Philox draws: uniform (0, 1] and N(0, 1), element i from
// draw i of stream (seed, stream, c2, c3), identical to medcl_philox_fill_* on the host.
#pragma OPENCL FP_CONTRACT OFF

kernel void random_uniform(global float *y, ulong y_off, ulong n, ulong seed, uint stream,
                           uint c2, uint c3, float lo, float hi) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float u = philox_u01(philox_at(seed, stream, c2, c3, i));
    y[y_off + i] = lo == 0.0f && hi == 1.0f ? u : lo + (hi - lo) * u;
}

// one work-item per pair of outputs
kernel void random_normal(global float *y, ulong y_off, ulong n, ulong seed, uint stream,
                          uint c2, uint c3, float mean, float std) {
    ulong j = get_global_id(0);
    if (2 * j >= n) return;
    float2 z = philox_normal2(philox_at(seed, stream, c2, c3, 2 * j),
                              philox_at(seed, stream, c2, c3, 2 * j + 1));
    bool plain = mean == 0.0f && std == 1.0f;
    y[y_off + 2 * j] = plain ? z.s0 : mean + std * z.s0;
    if (2 * j + 1 < n) y[y_off + 2 * j + 1] = plain ? z.s1 : mean + std * z.s1;
}
