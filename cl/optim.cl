// cl/optim.cl — optimizer updates (SGD with momentum/Nesterov/weight decay, Adam, AdamW, in
// PyTorch's operation order) and the deterministic global gradient norm used for clipping.
// Leaves out: learning-rate schedules (host arithmetic), mixed precision, fused multi-tensor
// launches. Norm: stage 1 writes fixed-chunk partial sums of squares per gradient tensor into
// one partials array; stage 2 (one group) sums them in a fixed order, so the norm is bitwise
// reproducible on a device. No atomics.
//
// stats (4 floats, shared with the host read-back): [0] loss (written by the trainer),
// [1] global gradient L2 norm, [2] clip coefficient applied to every gradient,
// [3] 1 when the step is skipped (non-finite norm and skipping enabled), else 0.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void optim_sqnorm_partial(global const float *g, ulong g_off, ulong n, ulong chunk,
                          global float *part, uint part_off) {
    local float s[WG];
    uint l = get_local_id(0);
    ulong grp = get_group_id(0);
    ulong lo = grp * chunk, hi = min(lo + chunk, n);
    float acc = 0.0f;
    for (ulong i = lo + l; i < hi; i += WG) {
        float v = g[g_off + i];
        acc = acc + v * v;
    }
    s[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] = s[l] + s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) part[part_off + grp] = s[0];
}

// clip coefficient as torch.nn.utils.clip_grad_norm_: min(1, max_norm / (norm + 1e-6));
// max_norm <= 0 disables clipping (coefficient 1).
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void optim_norm_finish(global const float *part, uint nparts, float max_norm, int skip_nonfinite,
                       global float *stats, ulong stats_off) {
    local float s[WG];
    uint l = get_local_id(0);
    float acc = 0.0f;
    for (uint i = l; i < nparts; i += WG) acc = acc + part[i];
    s[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] = s[l] + s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        float norm = sqrt(s[0]);
        float coef = 1.0f;
        if (max_norm > 0.0f) {
            coef = max_norm / (norm + 1e-6f);
            if (!(coef < 1.0f)) coef = 1.0f;
        }
        bool bad = !isfinite(norm);
        stats[stats_off + 1] = norm;
        stats[stats_off + 2] = coef;
        stats[stats_off + 3] = (bad && skip_nonfinite) ? 1.0f : 0.0f;
    }
}

// torch.optim.SGD (maximize=False, differentiable=False), one tensor; scalars that Python
// computes in double (-lr, 1 - dampening) come from the host already rounded to float:
//   g = g*coef; g = g + wd*p; buf = first ? g : momentum*buf + (1-dampening)*g;
//   g = nesterov ? g + momentum*buf : buf; p = p + (-lr)*g
kernel void sgd_step(global float *p, ulong p_off, global const float *g, ulong g_off,
                     global float *buf, ulong buf_off, ulong n, float neg_lr, float momentum,
                     float one_m_damp, float wd, int nesterov, int first,
                     global const float *stats, ulong stats_off) {
    ulong i = get_global_id(0);
    if (i >= n || stats[stats_off + 3] != 0.0f) return;
    float pi = p[p_off + i];
    float gi = g[g_off + i] * stats[stats_off + 2];
    if (wd != 0.0f) gi = gi + wd * pi;
    if (momentum != 0.0f) {
        float b;
        if (first) {
            b = gi;
        } else {
            float a = buf[buf_off + i] * momentum;
            b = a + one_m_damp * gi;
        }
        buf[buf_off + i] = b;
        gi = nesterov ? gi + momentum * b : b;
    }
    p[p_off + i] = pi + neg_lr * gi;
}

// torch.optim.Adam / AdamW (amsgrad=False), one tensor. The host passes the scalars Python
// computes in double, rounded to float: decay = 1 - lr*wd (AdamW; 1 for Adam), wd_l2 = wd
// (Adam; 0 for AdamW), 1 - beta1, 1 - beta2, neg_step = -lr / (1 - beta1^t) and
// bc2_sqrt = sqrt(1 - beta2^t):
//   AdamW: p = p * decay;  Adam: g = g + wd*p
//   m = m + (1-beta1)*(g - m)  (lerp);  v = v*beta2 + (1-beta2)*(g*g)
//   p = p + neg_step * (m / (sqrt(v)/bc2_sqrt + eps))
kernel void adam_step(global float *p, ulong p_off, global const float *g, ulong g_off,
                      global float *m, ulong m_off, global float *v, ulong v_off, ulong n,
                      float decay, float wd_l2, float one_m_b1, float beta2, float one_m_b2,
                      float eps, float neg_step, float bc2_sqrt, global const float *stats,
                      ulong stats_off) {
    ulong i = get_global_id(0);
    if (i >= n || stats[stats_off + 3] != 0.0f) return;
    float pi = p[p_off + i];
    float gi = g[g_off + i] * stats[stats_off + 2];
    if (decay != 1.0f) pi = pi * decay;
    if (wd_l2 != 0.0f) gi = gi + wd_l2 * pi;
    float mi = m[m_off + i];
    mi = mi + one_m_b1 * (gi - mi);
    float vi = v[v_off + i] * beta2;
    vi = vi + one_m_b2 * (gi * gi);
    m[m_off + i] = mi;
    v[v_off + i] = vi;
    float denom = sqrt(vi) / bc2_sqrt + eps;
    p[p_off + i] = pi + neg_step * (mi / denom);
}

// Graph helper: y[i] = scale * s[0], the broadcast of a device scalar (the backward pass of
// sum and mean reductions) without a host read.
kernel void graph_fill_scalar(global float *y, ulong y_off, ulong n, global const float *s,
                              ulong s_off, float scale) {
    ulong i = get_global_id(0);
    if (i < n) y[y_off + i] = scale * s[s_off];
}
