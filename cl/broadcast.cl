//! requires: index
// cl/broadcast.cl — add and mul with NumPy broadcasting over up to 5 axes, forward and
// backward. The host merges axes so that the output has extents d0..d4 (outer to inner) and
// each operand is described by a mask: bit k set = the operand has extent 1 on axis k (stride
// 0). The gradient of an operand o is the sum of dy (add) or dy * x (mul, x the other
// operand) over o's broadcast axes, in a fixed order: one work-item per element of o walking
// its K terms in order (small K), or two stages — WG-strided chunks reduced by a fixed tree,
// then the group partials summed in order (large K). No atomics: bitwise reproducible.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

#define DIMS ulong d0, ulong d1, ulong d2, ulong d3, ulong d4

// flat index into an operand with broadcast mask m at output coordinates c
inline ulong bc_index(const ulong *c, const ulong *d, uint m) {
    ulong idx = 0;
    for (int k = 0; k < 5; k++)
        if (!((m >> k) & 1u)) idx = idx * d[k] + c[k];
    return idx;
}

inline void bc_decode(ulong i, const ulong *d, ulong *c) {
    for (int k = 4; k >= 0; k--) {
        if (d[k] == 1) {
            c[k] = 0;
            continue;
        }
        c[k] = qmod(i, d[k]);
        i = qdiv(i, d[k]);
    }
}

// op 0: y = a + b; op 1: y = a * b
kernel void bc_fwd(global const float *a, ulong a_off, global const float *b, ulong b_off,
                   global float *y, ulong y_off, ulong n, DIMS, uint am, uint bm, int op) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    ulong d[5] = {d0, d1, d2, d3, d4}, c[5];
    bc_decode(i, d, c);
    float va = a[a_off + bc_index(c, d, am)], vb = b[b_off + bc_index(c, d, bm)];
    y[y_off + i] = op ? va * vb : va + vb;
}

// Output coordinates of term r of element j of operand o (mask om): j runs over o's own axes,
// r over o's broadcast axes.
inline void bc_term(ulong j, ulong r, const ulong *d, uint om, ulong *c) {
    for (int k = 4; k >= 0; k--) {
        if (d[k] == 1) {
            c[k] = 0;
        } else if ((om >> k) & 1u) {
            c[k] = qmod(r, d[k]);
            r = qdiv(r, d[k]);
        } else {
            c[k] = qmod(j, d[k]);
            j = qdiv(j, d[k]);
        }
    }
}

inline float bc_grad_term(global const float *dy, ulong dy_off, global const float *x,
                          ulong x_off, ulong j, ulong r, const ulong *d, uint om, uint xm,
                          int mul) {
    ulong c[5];
    bc_term(j, r, d, om, c);
    float g = dy[dy_off + bc_index(c, d, 0u)];
    return mul ? g * x[x_off + bc_index(c, d, xm)] : g;
}

// Small K: one work-item per element j of o, its K terms summed in order.
kernel void bc_bwd_small(global const float *dy, ulong dy_off, global const float *x, ulong x_off,
                         global float *o, ulong o_off, ulong M, ulong K, DIMS, uint om, uint xm,
                         int mul, int accumulate) {
    ulong j = get_global_id(0);
    if (j >= M) return;
    ulong d[5] = {d0, d1, d2, d3, d4};
    float acc = 0.0f;
    for (ulong r = 0; r < K; r++) acc += bc_grad_term(dy, dy_off, x, x_off, j, r, d, om, xm, mul);
    o[o_off + j] = accumulate ? o[o_off + j] + acc : acc;
}

// Large K, stage 1: group (g, j) reduces terms [g * chunk, min((g + 1) * chunk, K)) of
// element j; part[j * groups + g].
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void bc_bwd_stage1(global const float *dy, ulong dy_off, global const float *x, ulong x_off,
                   global float *part, ulong K, ulong chunk, uint groups, DIMS, uint om, uint xm,
                   int mul) {
    local float t[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0), j = get_group_id(1);
    ulong d[5] = {d0, d1, d2, d3, d4};
    ulong lo = g * chunk, hi = min(lo + chunk, K);
    float acc = 0.0f;
    for (ulong r = lo + l; r < hi; r += WG) acc += bc_grad_term(dy, dy_off, x, x_off, j, r, d, om, xm, mul);
    t[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) t[l] += t[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) part[j * groups + g] = t[0];
}

// Large K, stage 2: o[j] = (or +=) the partials of j summed in order.
kernel void bc_bwd_stage2(global const float *part, uint groups, ulong M, global float *o,
                          ulong o_off, int accumulate) {
    ulong j = get_global_id(0);
    if (j >= M) return;
    float acc = 0.0f;
    for (uint g = 0; g < groups; g++) acc += part[j * groups + g];
    o[o_off + j] = accumulate ? o[o_off + j] + acc : acc;
}
