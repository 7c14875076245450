//! requires: philox index
// cl/continual.cl — kernels of the adversarial and continual-learning terms: the projected
// sign step of FGSM/PGD and PGD's random start; EWC's Fisher accumulation of squared
// gradients, its finish, the penalty terms and the penalty gradient; LwF's per-voxel
// distillation term, its backward and the teacher's tempered softmax. One work-item per
// element (per voxel for LwF, walking its C channels in order), so nothing depends on the
// launch; the sums over elements are done by reduce.cl's fixed-order reduction.
// Not here: the reductions themselves (reduce.cl), the forward/backward passes (graph).
#pragma OPENCL FP_CONTRACT OFF

// ---------------------------------------------------------------------------- adversarial
// out = clip(min(max(x + alpha * sign(g), x0 - eps), x0 + eps), lo, hi); sign(0) = 0, NaN
// gradients propagate NaN. out may alias x.
kernel void adv_step(global const float *x0, ulong x0_off, global const float *x, ulong x_off,
                     global const float *g, ulong g_off, global float *out, ulong out_off,
                     ulong n, float eps, float alpha, int clip, float lo, float hi) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float a = x0[x0_off + i], v = x[x_off + i], gi = g[g_off + i];
    float s = gi > 0.0f ? 1.0f : (gi < 0.0f ? -1.0f : (gi == 0.0f ? 0.0f : gi));
    float y = v + alpha * s;
    y = fmin(fmax(y, a - eps), a + eps);
    if (clip) y = fmin(fmax(y, lo), hi);
    if (isnan(s) || isnan(v) || isnan(a)) y = NAN; // fmin/fmax would drop a NaN
    out[out_off + i] = y;
}

// PGD random start: out = clip(x0 + eps * (2u - 1)), u = philox_u01(draw i of (seed, stream, c2, c3)).
kernel void adv_random_start(global const float *x0, ulong x0_off, global float *out, ulong out_off,
                             ulong n, float eps, int clip, float lo, float hi, ulong seed,
                             uint stream, uint c2, uint c3) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float u = philox_u01(philox_at(seed, stream, c2, c3, i));
    float y = x0[x0_off + i] + eps * (2.0f * u - 1.0f);
    if (clip) y = fmin(fmax(y, lo), hi);
    out[out_off + i] = y;
}

// -------------------------------------------------------------------------------------- EWC
// acc += g * g
kernel void ewc_fisher_accum(global const float *g, ulong g_off, global float *acc, ulong acc_off,
                             ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = g[g_off + i];
    acc[acc_off + i] += v * v;
}

// f = acc * inv (replace) or f += acc * inv (online)
kernel void ewc_fisher_finish(global const float *acc, ulong acc_off, global float *f, ulong f_off,
                              ulong n, float inv, int online) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float v = acc[acc_off + i] * inv;
    f[f_off + i] = online ? f[f_off + i] + v : v;
}

// t = (F * d) * d with d = theta - anchor
kernel void ewc_terms(global const float *f, ulong f_off, global const float *th, ulong th_off,
                      global const float *an, ulong an_off, global float *t, ulong t_off, ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float d = th[th_off + i] - an[an_off + i];
    t[t_off + i] = (f[f_off + i] * d) * d;
}

// grad += coef * (F * d), coef = scale * lambda
kernel void ewc_grad(global const float *f, ulong f_off, global const float *th, ulong th_off,
                     global const float *an, ulong an_off, global float *g, ulong g_off, ulong n,
                     float coef) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float d = th[th_off + i] - an[an_off + i];
    g[g_off + i] += coef * (f[f_off + i] * d);
}

// -------------------------------------------------------------------------------------- LwF
// Tempered log-softmax pieces of one voxel: max m and log-sum-exp of (x - m) * invT.
inline float lse_t(global const float *xp, ulong C, ulong S, float invT, float *m_out) {
    float m = xp[0];
    for (ulong c = 1; c < C; c++) {
        float v = xp[c * S];
        m = (v > m || v != v) ? v : m;
    }
    float sum = 0.0f;
    for (ulong c = 0; c < C; c++) sum += exp((xp[c * S] - m) * invT);
    *m_out = m;
    return log(sum);
}

// kl[v] = T2 * sum_c q_c (log q_c - log p_c), q = softmax(t / T), p = softmax(s / T);
// terms with q_c = 0 contribute 0 (0 log 0 = 0).
kernel void lwf_fwd(global const float *s, ulong s_off, global const float *t, ulong t_off,
                    global float *kl, ulong kl_off, ulong N, ulong C, ulong S, float invT,
                    float T2) {
    ulong j = get_global_id(0);
    if (j >= N * S) return;
    ulong base = qdiv(j, S) * C * S + qmod(j, S);
    global const float *sp = s + s_off + base;
    global const float *tp = t + t_off + base;
    float ms, mt;
    float ls = lse_t(sp, C, S, invT, &ms), lt = lse_t(tp, C, S, invT, &mt);
    float acc = 0.0f;
    for (ulong c = 0; c < C; c++) {
        float lq = (tp[c * S] - mt) * invT - lt;
        float lp = (sp[c * S] - ms) * invT - ls;
        float q = exp(lq);
        acc += q > 0.0f ? q * (lq - lp) : 0.0f;
    }
    kl[kl_off + j] = T2 * acc;
}

// ds = dl * coef * (p - q), coef = T / V; dl = dloss[0] when has_dloss, else 1.
kernel void lwf_bwd(global const float *s, ulong s_off, global const float *t, ulong t_off,
                    global const float *dloss, ulong dloss_off, int has_dloss, global float *ds,
                    ulong ds_off, ulong N, ulong C, ulong S, float invT, float coef) {
    ulong j = get_global_id(0);
    if (j >= N * S) return;
    ulong base = qdiv(j, S) * C * S + qmod(j, S);
    global const float *sp = s + s_off + base;
    global const float *tp = t + t_off + base;
    global float *dp = ds + ds_off + base;
    float k = has_dloss ? dloss[dloss_off] * coef : coef;
    float ms, mt;
    float ls = lse_t(sp, C, S, invT, &ms), lt = lse_t(tp, C, S, invT, &mt);
    for (ulong c = 0; c < C; c++) {
        float p = exp((sp[c * S] - ms) * invT - ls);
        float q = exp((tp[c * S] - mt) * invT - lt);
        dp[c * S] = k * (p - q);
    }
}

// q = softmax(t / T) over channels
kernel void lwf_probs(global const float *t, ulong t_off, global float *q, ulong q_off, ulong N,
                      ulong C, ulong S, float invT) {
    ulong j = get_global_id(0);
    if (j >= N * S) return;
    ulong base = qdiv(j, S) * C * S + qmod(j, S);
    global const float *tp = t + t_off + base;
    global float *qp = q + q_off + base;
    float mt;
    float lt = lse_t(tp, C, S, invT, &mt);
    for (ulong c = 0; c < C; c++) qp[c * S] = exp((tp[c * S] - mt) * invT - lt);
}
