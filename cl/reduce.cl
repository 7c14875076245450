// cl/reduce.cl — deterministic full reductions (sum, max, min, count of non-finite values).
// Stage 1: group g reduces the fixed chunk [g*chunk, min((g+1)*chunk, n)); each work-item
// walks the chunk with stride WG, then a fixed tree in local memory. Stage 2: one group
// reduces the partials the same way. The order never depends on timing, so results are
// bitwise reproducible on a device. No atomics.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

#define OP_SUM 0
#define OP_MAX 1
#define OP_MIN 2

inline float combine(float a, float b, int op) {
    if (op == OP_SUM) return a + b;
    if (op == OP_MAX) return (a != a || a > b) ? a : b; // NaN propagates
    return (a != a || a < b) ? a : b;
}

inline float identity(int op) {
    if (op == OP_SUM) return 0.0f;
    if (op == OP_MAX) return -INFINITY;
    return INFINITY;
}

inline float tree(local float *s, float v, int op) {
    uint l = get_local_id(0);
    s[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] = combine(s[l], s[l + h], op);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return s[0];
}

kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void reduce_stage1(global const float *x, ulong x_off, ulong n, ulong chunk, int op,
                   global float *part) {
    local float s[WG];
    ulong g = get_group_id(0);
    ulong lo = g * chunk, hi = min(lo + chunk, n);
    float acc = identity(op);
    for (ulong i = lo + get_local_id(0); i < hi; i += WG) acc = combine(acc, x[x_off + i], op);
    float r = tree(s, acc, op);
    if (get_local_id(0) == 0) part[g] = r;
}

kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void reduce_stage2(global const float *part, uint groups, int op, float scale,
                   global float *y, ulong y_off) {
    local float s[WG];
    float acc = identity(op);
    for (uint i = get_local_id(0); i < groups; i += WG) acc = combine(acc, part[i], op);
    float r = tree(s, acc, op);
    if (get_local_id(0) == 0) y[y_off] = r * scale;
}

kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void count_nonfinite_stage1(global const float *x, ulong x_off, ulong n, ulong chunk,
                            global uint *part) {
    local uint s[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0);
    ulong lo = g * chunk, hi = min(lo + chunk, n);
    uint c = 0;
    for (ulong i = lo + l; i < hi; i += WG) c += isfinite(x[x_off + i]) ? 0u : 1u;
    s[l] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] += s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) part[g] = s[0];
}

kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void count_stage2(global const uint *part, uint groups, global int *y, ulong y_off) {
    local uint s[WG];
    uint l = get_local_id(0);
    uint c = 0;
    for (uint i = l; i < groups; i += WG) c += part[i];
    s[l] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] += s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) y[y_off] = (int)s[0];
}
