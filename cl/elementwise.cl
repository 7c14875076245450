//! requires: index
// cl/elementwise.cl — elementwise kernels over flat f32 arrays: fill, copy, add, mul, scale,
// axpy. Each tensor is (global float *x, ulong x_off); n is the element count. One work-item
// per element; the host rounds the global size up, so every kernel checks i < n.
#pragma OPENCL FP_CONTRACT OFF

kernel void ew_fill(global float *y, ulong y_off, ulong n, float v) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = v;
}

kernel void ew_copy(global const float *x, ulong x_off, global float *y, ulong y_off, ulong n) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = x[x_off + i];
}

// y = a + b
kernel void ew_add(global const float *a, ulong a_off, global const float *b, ulong b_off,
                   global float *y, ulong y_off, ulong n) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = a[a_off + i] + b[b_off + i];
}

// y = a * b
kernel void ew_mul(global const float *a, ulong a_off, global const float *b, ulong b_off,
                   global float *y, ulong y_off, ulong n) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = a[a_off + i] * b[b_off + i];
}

// y = alpha * x
kernel void ew_scale(global const float *x, ulong x_off, global float *y, ulong y_off, ulong n,
                     float alpha) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = alpha * x[x_off + i];
}

// y += alpha * x (rounded twice, as written: no fused multiply-add)
kernel void ew_axpy(global const float *x, ulong x_off, global float *y, ulong y_off, ulong n,
                    float alpha) {
    ulong i = get_global_id(0);
    if (i < n) {
        float p = alpha * x[x_off + i];
        y[y_off + i] = y[y_off + i] + p;
    }
}

// Integral f32 labels (S = N*C planes of D x H x W) to i32 at (Do, Ho, Wo) <= (D, H, W) by
// nearest down-sampling with the floor rule: source index z * D / Do (PyTorch 'nearest').
kernel void ew_labels_i32(global const float *x, ulong x_off, global int *y, ulong y_off, ulong n,
                          int D, int H, int W, int Do, int Ho, int Wo) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    int zo, yo, xo;
    ulong s = decode4(i, Do, Ho, Wo, &zo, &yo, &xo);
    int sz = (int)((long)zo * D / Do), sy = (int)((long)yo * H / Ho), sx = (int)((long)xo * W / Wo);
    y[y_off + i] = (int)x[x_off + ((s * (ulong)D + (ulong)sz) * (ulong)H + (ulong)sy) * (ulong)W + (ulong)sx];
}

// Strided pick (nearest down-sampling by integer factors): y[p, z, y, x] = x[p, z*f0 + o0,
// y*f1 + o1, x*f2 + o2] over S = N*C planes; 4-byte elements (f32, i32) as uint, 1-byte (u8)
// as uchar. One work-item per output element.
#define EW_PICK(name, T)                                                                   \
    kernel void name(global const T *x, ulong x_off, global T *y, ulong y_off, ulong n,    \
                     int D, int H, int W, int Do, int Ho, int Wo, int f0, int f1, int f2,  \
                     int o0, int o1, int o2) {                                             \
        ulong i = get_global_id(0);                                                        \
        if (i >= n) return;                                                                \
        int zo, yo, xo;                                                                    \
        ulong s = decode4(i, Do, Ho, Wo, &zo, &yo, &xo);                                   \
        y[y_off + i] = x[x_off + ((s * (ulong)D + (ulong)(zo * f0 + o0)) * (ulong)H +      \
                                  (ulong)(yo * f1 + o1)) * (ulong)W + (ulong)(xo * f2 + o2)]; \
    }
EW_PICK(ew_pick4, uint)
EW_PICK(ew_pick1, uchar)
