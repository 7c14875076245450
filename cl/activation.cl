//! requires: index
// cl/activation.cl — pointwise activations forward/backward (ReLU, LeakyReLU, sigmoid, tanh,
// GELU; the act codes are medcl_activation in include/medcl/ops.h) and PReLU with its slope
// gradient, a two-stage fixed-order reduction (no atomics: bitwise reproducible). Tensors are
// (global float *x, ulong x_off); n is the element count. Not here: fused conv epilogues.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_SIGMOID 3
#define ACT_TANH 4
#define ACT_GELU 5

#define INV_SQRT_2PI 0.3989422804014327f

inline float act_value(float x, int act, float slope) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_LEAKY_RELU: return x > 0.0f ? x : slope * x;
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case ACT_TANH: return tanh(x);
    case ACT_GELU: return 0.5f * x * (1.0f + erf(x * M_SQRT1_2_F));
    default: return x;
    }
}

// d act / dx at x, times dy (PyTorch's choice at the kinks: relu'(0) = 0, leaky'(0) = slope)
inline float act_grad(float x, float dy, int act, float slope) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? dy : 0.0f;
    case ACT_LEAKY_RELU: return x > 0.0f ? dy : dy * slope;
    case ACT_SIGMOID: {
        float s = 1.0f / (1.0f + exp(-x));
        return dy * (s * (1.0f - s));
    }
    case ACT_TANH: {
        float t = tanh(x);
        return dy * (1.0f - t * t);
    }
    case ACT_GELU: {
        float cdf = 0.5f * (1.0f + erf(x * M_SQRT1_2_F));
        float pdf = exp(-0.5f * x * x) * INV_SQRT_2PI;
        return dy * (cdf + x * pdf);
    }
    default: return dy;
    }
}

kernel void act_fwd(global const float *x, ulong x_off, global float *y, ulong y_off, ulong n,
                    int act, float slope) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = act_value(x[x_off + i], act, slope);
}

kernel void act_bwd(global const float *x, ulong x_off, global const float *dy, ulong dy_off,
                    global float *dx, ulong dx_off, ulong n, int act, float slope) {
    ulong i = get_global_id(0);
    if (i < n) dx[dx_off + i] = act_grad(x[x_off + i], dy[dy_off + i], act, slope);
}

// PReLU. x is (N, cw, s) as a flat array: slope index (i / s) % cw. One shared slope: cw = 1.
kernel void prelu_fwd(global const float *x, ulong x_off, global const float *w, ulong w_off,
                      global float *y, ulong y_off, ulong n, ulong cw, ulong s) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = x[x_off + i];
    y[y_off + i] = v > 0.0f ? v : w[w_off + qmod(qdiv(i, s), cw)] * v;
}

kernel void prelu_bwd_data(global const float *x, ulong x_off, global const float *w, ulong w_off,
                           global const float *dy, ulong dy_off, global float *dx, ulong dx_off,
                           ulong n, ulong cw, ulong s) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float g = dy[dy_off + i];
    dx[dx_off + i] = x[x_off + i] > 0.0f ? g : w[w_off + qmod(qdiv(i, s), cw)] * g;
}

// Slope gradient, stage 1: group (g, c) sums (x <= 0) x dy over its fixed chunk
// [g * chunk, min((g + 1) * chunk, k)) of the k = N * s elements of channel c, each work-item
// striding by WG, then a fixed tree in local memory; partial[c * groups + g].
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void prelu_wgrad_stage1(global const float *x, ulong x_off, global const float *dy, ulong dy_off,
                        ulong cw, ulong s, ulong k, ulong chunk, uint groups,
                        global float *part) {
    local float t[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0), c = get_group_id(1);
    ulong lo = g * chunk, hi = min(lo + chunk, k);
    float acc = 0.0f;
    for (ulong r = lo + l; r < hi; r += WG) {
        ulong q = qdiv(r, s), idx = (q * cw + c) * s + (r - q * s);
        float v = x[x_off + idx];
        acc += v > 0.0f ? 0.0f : v * dy[dy_off + idx];
    }
    t[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) t[l] += t[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) part[c * groups + g] = t[0];
}

// Stage 2: dw[c] += the group partials of channel c, summed in order.
kernel void prelu_wgrad_stage2(global const float *part, uint groups, ulong cw,
                               global float *dw, ulong dw_off) {
    ulong c = get_global_id(0);
    if (c >= cw) return;
    float acc = 0.0f;
    for (uint g = 0; g < groups; g++) acc += part[c * groups + g];
    dw[dw_off + c] = dw[dw_off + c] + acc;
}
