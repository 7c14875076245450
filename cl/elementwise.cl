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
