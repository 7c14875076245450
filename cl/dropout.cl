//! requires: philox index
// cl/dropout.cl — inverted dropout, forward and backward, with the mask drawn again from the
// Philox key instead of stored: draw i of (seed, stream, c2 = step, c3 = 0), keep when
// philox_u01(draw) > p; i is the flat element index (element-wise) or n * C + c
// (channel-wise, x viewed as (N, C, S)). Kept values are multiplied by scale = 1 / (1 - p)
// (computed on the host). The same kernel serves forward (x -> y) and backward (dy -> dx).
#pragma OPENCL FP_CONTRACT OFF

kernel void dropout_apply(global const float *x, ulong x_off, global float *y, ulong y_off,
                          ulong n, ulong S, ulong seed, uint stream, uint step, float p,
                          float scale, int channelwise) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong draw = channelwise ? qdiv(i, S) : i;
    float u = philox_u01(philox_at(seed, stream, step, 0u, draw));
    y[y_off + i] = u > p ? x[x_off + i] * scale : 0.0f;
}
