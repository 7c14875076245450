// cl/norm.cl — batch, instance, group and layer normalization, forward and backward.
// A statistics row is a set of elements normalized together: it is nseg segments of L
// contiguous elements, segment s of row r at r * L + s * sstride (batch norm: row = channel,
// one segment per sample; the other kinds: one contiguous segment). Rows are cut into chunks
// of `ch` elements; a work-group reduces one chunk in two passes (sum → chunk mean, then the
// centred sum of squares) with a fixed tree, and one work-item per row merges its chunks in
// order with Chan's formula. Backward reduces per-(n, c) segments the same way (sum of g*dy
// and of g*dy*xhat), then combines per row and per channel in fixed order. No atomics; every
// sum has one order, so results are bitwise reproducible on a device. Not here: fused
// activations, Welford across work-items inside a chunk.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

// Compensated (Kahan) accumulation: *s += v with the rounding error carried in *c. A CPU's
// small work-groups give each work-item long runs to sum (FP_CONTRACT is off, so the
// compensation is not folded away).
inline void ksum(float *s, float *c, float v) {
    float y = v - *c;
    float t = *s + y;
    *c = (t - *s) - y;
    *s = t;
}

// Sum of v over the work-group by a fixed tree; every work-item gets the result.
inline float tree_sum(local float *s, float v) {
    uint l = get_local_id(0);
    s[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] += s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE); // s is reused by the next call
    return r;
}

// group g = (r * nseg + sg) * nck + kk: (chunk mean, chunk centred sum of squares) → part[2g]
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void norm_stats_part(global const float *x, ulong x_off, ulong L, uint nseg, ulong sstride,
                     uint nck, ulong ch, global float *part) {
    local float s[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0);
    uint kk = (uint)(g % nck);
    ulong t = g / nck;
    uint sg = (uint)(t % nseg);
    ulong r = t / nseg;
    global const float *p = x + x_off + r * L + sg * sstride;
    ulong lo = (ulong)kk * ch, hi = min(lo + ch, L);
    float acc = 0.0f, cacc = 0.0f;
    for (ulong j = lo + l; j < hi; j += WG) ksum(&acc, &cacc, p[j]);
    float m = tree_sum(s, acc) / (float)(hi - lo);
    float acc2 = 0.0f, cacc2 = 0.0f;
    for (ulong j = lo + l; j < hi; j += WG) {
        float d = p[j] - m;
        ksum(&acc2, &cacc2, d * d);
    }
    float m2 = tree_sum(s, acc2);
    if (l == 0) {
        part[2 * g] = m;
        part[2 * g + 1] = m2;
    }
}

// One work-item per row: merges the row's nseg * nck chunks in order (Chan et al. 1979),
// writes mean and rstd = 1 / sqrt(var + eps) (biased var). update: running statistics with
// the unbiased variance, as torch.nn.BatchNorm.
kernel void norm_stats_final(global const float *part, ulong rows, ulong L, uint nseg, uint nck,
                             ulong ch, float eps, global float *mean, ulong mean_off,
                             global float *rstd, ulong rstd_off, global float *rm, ulong rm_off,
                             global float *rv, ulong rv_off, int update, float momentum) {
    ulong r = get_global_id(0);
    if (r >= rows) return;
    global const float *p = part + 2 * r * (ulong)nseg * (ulong)nck;
    float na = 0.0f, ma = 0.0f, qa = 0.0f;
    for (uint k = 0; k < nseg * nck; k++) {
        uint kk = k % nck;
        float nb = (float)min(ch, L - (ulong)kk * ch);
        float mb = p[2 * k], qb = p[2 * k + 1];
        float n = na + nb;
        float d = mb - ma;
        ma = ma + d * (nb / n);
        qa = qa + qb + d * d * (na * nb / n);
        na = n;
    }
    float var = qa / na;
    if (mean) mean[mean_off + r] = ma;
    if (rstd) rstd[rstd_off + r] = 1.0f / sqrt(var + eps);
    if (update) {
        float unb = qa / (na - 1.0f);
        rm[rm_off + r] = (1.0f - momentum) * rm[rm_off + r] + momentum * ma;
        rv[rv_off + r] = (1.0f - momentum) * rv[rv_off + r] + momentum * unb;
    }
}

// Batch norm evaluation: statistics from the running ones.
kernel void norm_stats_running(global const float *rm, ulong rm_off, global const float *rv,
                               ulong rv_off, ulong rows, float eps, global float *mean,
                               ulong mean_off, global float *rstd, ulong rstd_off) {
    ulong r = get_global_id(0);
    if (r >= rows) return;
    mean[mean_off + r] = rm[rm_off + r];
    rstd[rstd_off + r] = 1.0f / sqrt(rv[rv_off + r] + eps);
}

// Grid (L, rows, nseg): element r * L + s * sstride + j. Affine index
// (r % rmod) * cpr + j / adiv (per channel, or per element for layer norm).
#define GRID_DECODE                                                                        \
    uint j = get_global_id(0);                                                             \
    if (j >= L) return;                                                                    \
    ulong r = get_global_id(1);                                                            \
    ulong e = r * (ulong)L + get_global_id(2) * sstride + j;                               \
    ulong a = (r % rmod) * cpr + j / adiv

kernel void norm_apply(global const float *x, ulong x_off, global float *y, ulong y_off,
                       global const float *mean, ulong mean_off, global const float *rstd,
                       ulong rstd_off, global const float *gamma, ulong gamma_off,
                       global const float *beta, ulong beta_off, uint L, ulong sstride,
                       ulong rmod, ulong cpr, uint adiv, int affine) {
    GRID_DECODE;
    float v = (x[x_off + e] - mean[mean_off + r]) * rstd[rstd_off + r];
    if (affine) v = v * gamma[gamma_off + a] + beta[beta_off + a];
    y[y_off + e] = v;
}

// Backward partials over segments of Ls elements (segment q at q * Ls; its statistics row is
// (q / sdiv) % smod). group g = q * nck + kk: (sum w*dy, sum w*dy*xhat) → part[2g], with
// w = gamma[j] when ew_gamma (layer norm) else 1.
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void norm_bwd_part(global const float *x, ulong x_off, global const float *dy, ulong dy_off,
                   global const float *mean, ulong mean_off, global const float *rstd,
                   ulong rstd_off, global const float *gamma, ulong gamma_off, ulong Ls,
                   uint nck, ulong ch, ulong sdiv, ulong smod, int ew_gamma,
                   global float *part) {
    local float s[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0);
    uint kk = (uint)(g % nck);
    ulong q = g / nck;
    ulong r = (q / sdiv) % smod;
    float mu = mean[mean_off + r], rs = rstd[rstd_off + r];
    global const float *px = x + x_off + q * Ls;
    global const float *pg = dy + dy_off + q * Ls;
    ulong lo = (ulong)kk * ch, hi = min(lo + ch, Ls);
    float a1 = 0.0f, a2 = 0.0f, c1 = 0.0f, c2 = 0.0f;
    for (ulong j = lo + l; j < hi; j += WG) {
        float gy = pg[j];
        if (ew_gamma) gy = gy * gamma[gamma_off + j];
        float xh = (px[j] - mu) * rs;
        ksum(&a1, &c1, gy);
        ksum(&a2, &c2, gy * xh);
    }
    float s1 = tree_sum(s, a1);
    float s2 = tree_sum(s, a2);
    if (l == 0) {
        part[2 * g] = s1;
        part[2 * g + 1] = s2;
    }
}

// sums of segment q from its chunks, in order
inline float2 seg_sum(global const float *part, ulong q, uint nck) {
    float2 acc = (float2)(0.0f, 0.0f);
    global const float *p = part + 2 * q * (ulong)nck;
    for (uint k = 0; k < nck; k++) {
        acc.x += p[2 * k];
        acc.y += p[2 * k + 1];
    }
    return acc;
}

// One work-item per row r: ab[2r] = mean over the row of g*dy, ab[2r+1] = mean of g*dy*xhat.
// The row's segments are q = r * cpr + t * tstride, t < T; per-channel gamma is gamma[q % C]
// (gmode 1) or already applied (gmode 0).
kernel void norm_bwd_rows(global const float *part, uint nck, ulong rows, ulong cpr,
                          ulong tstride, ulong T, ulong C, float count,
                          global const float *gamma, ulong gamma_off, int gmode,
                          global float *ab) {
    ulong r = get_global_id(0);
    if (r >= rows) return;
    float s1 = 0.0f, s2 = 0.0f;
    for (ulong t = 0; t < T; t++) {
        ulong q = r * cpr + t * tstride;
        float2 v = seg_sum(part, q, nck);
        float gm = gmode ? gamma[gamma_off + q % C] : 1.0f;
        s1 += gm * v.x;
        s2 += gm * v.y;
    }
    ab[2 * r] = s1 / count;
    ab[2 * r + 1] = s2 / count;
}

// Per-channel parameter gradients: one work-item per channel c; segments q = n * C + c.
kernel void norm_bwd_param(global const float *part, uint nck, ulong N, ulong C,
                           global float *dgamma, ulong dgamma_off, global float *dbeta,
                           ulong dbeta_off) {
    ulong c = get_global_id(0);
    if (c >= C) return;
    float s1 = 0.0f, s2 = 0.0f;
    for (ulong n = 0; n < N; n++) {
        float2 v = seg_sum(part, n * C + c, nck);
        s1 += v.x;
        s2 += v.y;
    }
    if (dgamma) dgamma[dgamma_off + c] += s2;
    if (dbeta) dbeta[dbeta_off + c] += s1;
}

// Layer norm elementwise parameter gradients: one work-item per position j of (C, D, H, W).
kernel void norm_bwd_param_ew(global const float *x, ulong x_off, global const float *dy,
                              ulong dy_off, global const float *mean, ulong mean_off,
                              global const float *rstd, ulong rstd_off, ulong N, ulong L,
                              global float *dgamma, ulong dgamma_off, global float *dbeta,
                              ulong dbeta_off) {
    ulong j = get_global_id(0);
    if (j >= L) return;
    float s1 = 0.0f, s2 = 0.0f;
    for (ulong n = 0; n < N; n++) {
        float gy = dy[dy_off + n * L + j];
        float xh = (x[x_off + n * L + j] - mean[mean_off + n]) * rstd[rstd_off + n];
        s1 += gy;
        s2 += gy * xh;
    }
    if (dgamma) dgamma[dgamma_off + j] += s2;
    if (dbeta) dbeta[dbeta_off + j] += s1;
}

// dx = rstd * (g*dy - A - xhat * B) with (A, B) = ab[2r..] when use_ab, else rstd * g*dy.
kernel void norm_bwd_dx(global const float *x, ulong x_off, global const float *dy, ulong dy_off,
                        global const float *mean, ulong mean_off, global const float *rstd,
                        ulong rstd_off, global const float *gamma, ulong gamma_off,
                        global const float *ab, global float *dx, ulong dx_off, uint L,
                        ulong sstride, ulong rmod, ulong cpr, uint adiv, int affine, int use_ab) {
    GRID_DECODE;
    float rs = rstd[rstd_off + r];
    float gy = dy[dy_off + e];
    if (affine) gy = gy * gamma[gamma_off + a];
    float v;
    if (use_ab) {
        float xh = (x[x_off + e] - mean[mean_off + r]) * rs;
        v = rs * (gy - ab[2 * r] - xh * ab[2 * r + 1]);
    } else {
        v = rs * gy;
    }
    dx[dx_off + e] = v;
}
