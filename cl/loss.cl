// cl/loss.cl — loss kernels (include/medcl/ops_loss.h): cross-entropy/focal (xent_*), binary
// cross-entropy (bce_*), squared error (mse_*), the region losses Dice/Tversky (region_*), the
// shared finishing step and the label check. Logits are (N, C, S) with S = D*H*W: element
// (n, c, s) at n*C*S + c*S + s; class indices are (N, S).
// Reductions: a *_partial kernel has group g reduce the fixed range [g*chunk, (g+1)*chunk) with
// each work-item striding by WG, then a fixed tree in local memory; loss_finish (one group) or
// region_finish (one work-item) combine the partials in index order. The order depends only on
// the sizes and WG, never on timing: results are bitwise reproducible on a device. No atomics.
// A class index outside [0, C) that is not the ignore value makes its voxel's terms NaN.
// Left out: per-voxel loss maps, half precision.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

// fixed tree over WG values; every work-item gets the sum
inline float tree_sum(local float *s, float v) {
    uint l = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE); // s may still be read by an earlier tree
    s[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] = s[l] + s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return s[0];
}

// Target value of class c at voxel (n, s): one-hot of a class index or a soft target.
// *keep = 0 on an ignored voxel; NaN on a bad index.
inline float target_at(global const int *lab, ulong lab_off, global const float *soft,
                       ulong soft_off, int use_labels, int ignore, uint C, ulong S, ulong n,
                       uint c, ulong s, float *keep) {
    *keep = 1.0f;
    if (!use_labels) return soft[soft_off + (n * C + c) * S + s];
    int y = lab[lab_off + n * S + s];
    if (y == ignore) {
        *keep = 0.0f;
        return 0.0f;
    }
    if (y < 0 || y >= (int)C) return NAN;
    return y == (int)c ? 1.0f : 0.0f;
}

// max and log-sum-exp shift of the C logits of a voxel; NaN propagates
inline void softmax_stats(global const float *x, ulong base, uint C, ulong S, float *m,
                          float *lse) {
    float mx = -INFINITY;
    for (uint c = 0; c < C; c++) {
        float v = x[base + c * S];
        mx = (v > mx || v != v) ? v : mx;
    }
    float se = 0.0f;
    for (uint c = 0; c < C; c++) se += exp(x[base + c * S] - mx);
    *m = mx;
    *lse = log(se); // log p_c = (x_c - m) - lse
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy and focal: l_v = sum_c u_c (1 - p_c)^gamma (-log p_c), u_c = a_c w_c t'_c,
// t' = (1 - eps) t + eps / C, a_c the focal alpha factor (1 when alpha < 0), w_c the class
// weight (1 without). den_v = w[y_v] (class indices and weighted_den) or 1 for kept voxels.

inline float class_factor(global const float *w, ulong w_off, int use_w, float alpha, uint c) {
    float f = use_w ? w[w_off + c] : 1.0f;
    if (alpha >= 0.0f) f = f * (c == 0 ? 1.0f - alpha : alpha);
    return f;
}

// partial sums of (l_v, den_v) over voxels v = n*S + s in [0, N*S)
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void xent_partial(global const float *x, ulong x_off, global const int *lab, ulong lab_off,
                  global const float *soft, ulong soft_off, global const float *w, ulong w_off,
                  uint N, uint C, ulong S, int use_labels, int use_w, int ignore, float eps,
                  float gamma, float alpha, int weighted_den, ulong chunk, global float *part) {
    local float s0[WG], s1[WG];
    ulong g = get_group_id(0), nv = (ulong)N * S;
    ulong lo = g * chunk, hi = min(lo + chunk, nv);
    float num = 0.0f, den = 0.0f;
    float eps_c = eps / (float)C;
    for (ulong v = lo + get_local_id(0); v < hi; v += WG) {
        ulong n = v / S, s = v % S, base = x_off + n * C * S + s;
        float keep = 1.0f, dv = 1.0f;
        if (use_labels) {
            int y = lab[lab_off + n * S + s];
            if (y == ignore) continue;
            if (y < 0 || y >= (int)C) {
                num += NAN;
                den += 1.0f;
                continue;
            }
            if (weighted_den && use_w) dv = w[w_off + y];
        }
        float m, lse;
        softmax_stats(x, base, C, S, &m, &lse);
        float lv = 0.0f;
        for (uint c = 0; c < C; c++) {
            float t = target_at(lab, lab_off, soft, soft_off, use_labels, ignore, C, S, n, c, s,
                                &keep);
            float u = class_factor(w, w_off, use_w, alpha, c) * ((1.0f - eps) * t + eps_c);
            if (u == 0.0f) continue; // a zero target never multiplies an infinite log
            float lp = (x[base + c * S] - m) - lse;
            float f = -lp;
            if (gamma != 0.0f) f = f * pow(-expm1(lp), gamma);
            lv += u * f;
        }
        num += lv;
        den += dv;
    }
    num = tree_sum(s0, num);
    den = tree_sum(s1, den);
    if (get_local_id(0) == 0) {
        part[2 * g] = num;
        part[2 * g + 1] = den;
    }
}

// dx_j = coef * (h_j - p_j sum_k h_k), h_k = u_k p_k f'(p_k) with f(p) = -(1-p)^gamma log p,
// i.e. h_k = u_k (gamma (1-p_k)^(gamma-1) p_k log p_k - (1-p_k)^gamma). One work-item per
// voxel. coef (device) = incoming gradient * weight / denominator. beta 1 accumulates into dx.
kernel void xent_bwd(global const float *x, ulong x_off, global const int *lab, ulong lab_off,
                     global const float *soft, ulong soft_off, global const float *w,
                     ulong w_off, uint N, uint C, ulong S, int use_labels, int use_w, int ignore,
                     float eps, float gamma, float alpha, global const float *coef,
                     ulong coef_off, int beta, global float *dx, ulong dx_off) {
    ulong v = get_global_id(0);
    if (v >= (ulong)N * S) return;
    ulong n = v / S, s = v % S, base = n * C * S + s;
    float cf = coef[coef_off];
    float keep = 1.0f;
    if (use_labels) {
        int y = lab[lab_off + n * S + s];
        if (y == ignore) keep = 0.0f;
        else if (y < 0 || y >= (int)C) cf = NAN;
    }
    float m = 0.0f, lse = 0.0f;
    if (keep != 0.0f) softmax_stats(x, x_off + base, C, S, &m, &lse);
    float eps_c = eps / (float)C;
    float sumh = 0.0f;
    for (int pass = 0; pass < 2; pass++) {
        for (uint c = 0; c < C; c++) {
            float d = 0.0f;
            if (keep != 0.0f) {
                float k2;
                float t = target_at(lab, lab_off, soft, soft_off, use_labels, ignore, C, S, n, c,
                                    s, &k2);
                float u = class_factor(w, w_off, use_w, alpha, c) * ((1.0f - eps) * t + eps_c);
                float lp = (x[x_off + base + c * S] - m) - lse;
                float p = exp(lp);
                float h = 0.0f;
                if (u != 0.0f) {
                    if (gamma == 0.0f) {
                        h = -u;
                    } else {
                        float q = -expm1(lp);
                        float plogp = p > 0.0f ? p * lp : 0.0f;
                        float a = q > 0.0f ? gamma * pow(q, gamma - 1.0f) * plogp : 0.0f;
                        h = u * (a - pow(q, gamma));
                    }
                }
                if (pass == 0) {
                    sumh += h;
                    continue;
                }
                d = cf * (h - p * sumh);
            } else if (pass == 0) {
                continue;
            }
            ulong i = dx_off + base + c * S;
            dx[i] = beta ? dx[i] + d : d;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Binary cross-entropy with logits and squared error over the flat elements i in [0, N*C*S).

inline float elem_target(global const int *lab, ulong lab_off, global const float *soft,
                         ulong soft_off, int use_labels, uint C, ulong S, ulong i) {
    if (!use_labels) return soft[soft_off + i];
    ulong n = i / ((ulong)C * S), s = i % S;
    uint c = (uint)((i / S) % C);
    int y = lab[lab_off + n * S + s];
    if (y < 0 || y >= (int)C) return NAN;
    return y == (int)c ? 1.0f : 0.0f;
}

inline float elem_posw(global const float *pw, ulong pw_off, int use_pw, uint C, ulong S, ulong i) {
    return use_pw ? pw[pw_off + (uint)((i / S) % C)] : 1.0f;
}

// kind 0: BCE (1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0)); kind 1: (x - t)^2
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void elem_partial(global const float *x, ulong x_off, global const int *lab, ulong lab_off,
                  global const float *soft, ulong soft_off, global const float *pw,
                  ulong pw_off, uint C, ulong S, ulong n, int use_labels, int use_pw, int kind,
                  ulong chunk, global float *part) {
    local float s0[WG];
    ulong g = get_group_id(0);
    ulong lo = g * chunk, hi = min(lo + chunk, n);
    float acc = 0.0f;
    for (ulong i = lo + get_local_id(0); i < hi; i += WG) {
        float xi = x[x_off + i];
        float t = elem_target(lab, lab_off, soft, soft_off, use_labels, C, S, i);
        if (kind == 0) {
            float lw = 1.0f + (elem_posw(pw, pw_off, use_pw, C, S, i) - 1.0f) * t;
            float sp = log1p(exp(-fabs(xi))) + fmax(-xi, 0.0f);
            acc += (1.0f - t) * xi + lw * sp;
        } else {
            float d = xi - t;
            acc += d * d;
        }
    }
    acc = tree_sum(s0, acc);
    if (get_local_id(0) == 0) {
        part[2 * g] = acc;
        part[2 * g + 1] = 0.0f;
    }
}

// dx = (grad * g) / div with grad = sigmoid(x)(1 + (pw - 1) t) - pw t (BCE) or 2 (x - t) (MSE);
// g the incoming gradient (1 when use_g is 0). Assigns.
kernel void elem_bwd(global const float *x, ulong x_off, global const int *lab, ulong lab_off,
                     global const float *soft, ulong soft_off, global const float *pw,
                     ulong pw_off, uint C, ulong S, ulong n, int use_labels, int use_pw, int kind,
                     global const float *g, ulong g_off, int use_g, float div, global float *dx,
                     ulong dx_off) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    float xi = x[x_off + i];
    float t = elem_target(lab, lab_off, soft, soft_off, use_labels, C, S, i);
    float d;
    if (kind == 0) {
        float pwi = elem_posw(pw, pw_off, use_pw, C, S, i);
        float sg;
        if (xi >= 0.0f) {
            sg = 1.0f / (1.0f + exp(-xi));
        } else {
            float e = exp(xi);
            sg = e / (1.0f + e);
        }
        d = sg * (1.0f + (pwi - 1.0f) * t) - pwi * t;
    } else {
        d = 2.0f * (xi - t);
    }
    float gv = use_g ? g[g_off] : 1.0f;
    dx[dx_off + i] = (d * gv) / div;
}

// ---------------------------------------------------------------------------------------------
// Finishing step for xent/elem partials (one group of WG): s0 = sum of part[2i], s1 of part[2i+1]
// mode 0: r = s0 / s1 (0 when s1 = 0); 1: r = s0 / div; 2: r = 1 / s1 (0 when s1 = 0);
// 3: r = 1 / div. Then r = r * alpha * g (g when use_g), y = r or y + r (beta).
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void loss_finish(global const float *part, uint groups, int mode, float div, float alpha,
                 global const float *g, ulong g_off, int use_g, int beta, global float *y,
                 ulong y_off) {
    local float s[WG];
    float a0 = 0.0f, a1 = 0.0f;
    for (uint i = get_local_id(0); i < groups; i += WG) {
        a0 += part[2 * i];
        a1 += part[2 * i + 1];
    }
    a0 = tree_sum(s, a0);
    a1 = tree_sum(s, a1);
    if (get_local_id(0) != 0) return;
    float r;
    if (mode == 0) r = a1 != 0.0f ? a0 / a1 : (a0 != a0 ? a0 : 0.0f);
    else if (mode == 1) r = a0 / div;
    else if (mode == 2) r = a1 != 0.0f ? 1.0f / a1 : 0.0f;
    else r = 1.0f / div;
    r = r * alpha;
    if (use_g) r = r * g[g_off];
    y[y_off] = beta ? y[y_off] + r : r;
}

// ---------------------------------------------------------------------------------------------
// Region losses (Dice, Tversky) on probabilities p = softmax or sigmoid of the logits.

// p (N, C, S) from x; one work-item per voxel. sigmoid: per element.
kernel void region_probs(global const float *x, ulong x_off, uint N, uint C, ulong S,
                         int sigmoid, global float *p, ulong p_off) {
    ulong v = get_global_id(0);
    if (v >= (ulong)N * S) return;
    ulong n = v / S, s = v % S, base = n * C * S + s;
    if (sigmoid) {
        for (uint c = 0; c < C; c++) {
            float xi = x[x_off + base + c * S];
            float e = exp(-fabs(xi));
            p[p_off + base + c * S] = xi >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        }
        return;
    }
    float m, lse;
    softmax_stats(x, x_off + base, C, S, &m, &lse);
    for (uint c = 0; c < C; c++) p[p_off + base + c * S] = exp((x[x_off + base + c * S] - m) - lse);
}

// Group (nc, g) of N*C*G groups sums over s in chunk g of row nc: I = p t m, T = t m, P = p m.
// part[(nc*G + g)*3 + {0,1,2}].
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void region_partial(global const float *p, ulong p_off, global const int *lab, ulong lab_off,
                    global const float *soft, ulong soft_off, uint C, ulong S, int use_labels,
                    int ignore, uint G, ulong chunk, global float *part) {
    local float s0[WG];
    ulong gid = get_group_id(0);
    ulong nc = gid / G, g = gid % G;
    ulong n = nc / C;
    uint c = (uint)(nc % C);
    ulong lo = g * chunk, hi = min(lo + chunk, S);
    float ai = 0.0f, at = 0.0f, ap = 0.0f;
    for (ulong s = lo + get_local_id(0); s < hi; s += WG) {
        float keep;
        float t = target_at(lab, lab_off, soft, soft_off, use_labels, ignore, C, S, n, c, s, &keep);
        if (keep == 0.0f) continue;
        float pv = p[p_off + nc * S + s];
        ai += pv * t;
        at += t;
        ap += pv;
    }
    ai = tree_sum(s0, ai);
    at = tree_sum(s0, at);
    ap = tree_sum(s0, ap);
    if (get_local_id(0) == 0) {
        part[gid * 3] = ai;
        part[gid * 3 + 1] = at;
        part[gid * 3 + 2] = ap;
    }
}

// One work-item. r = (kI I + snr) / max(dI I + dP P + dG T + sdr, clip) per kept (n, c) (or per c
// summed over n when batch), loss = c0 + sign * mean(r). Writes loss * weight * g (y = value or
// y + value with beta) when write_loss, and when write_coef the coefficients of
// d loss / d p_{ncs} = aI t m + aP m as coef[2 (n C + c) + {0, 1}], scaled by weight * g.
kernel void region_finish(global const float *part, uint N, uint C, uint G, uint c_first,
                          int batch, float kI, float dI, float dP, float dG, float snr, float sdr,
                          float clip, float c0, float sign, float weight, global const float *g,
                          ulong g_off, int use_g, int write_loss, int beta, global float *y,
                          ulong y_off, int write_coef, global float *coef) {
    if (get_global_id(0) != 0) return;
    float gv = use_g ? g[g_off] : 1.0f;
    uint rows = batch ? 1 : N;
    float K = (float)(rows * (C - c_first));
    float sum = 0.0f;
    for (uint r = 0; r < rows; r++) {
        for (uint c = 0; c < C; c++) {
            float I = 0.0f, T = 0.0f, P = 0.0f;
            uint n0 = batch ? 0 : r, n1 = batch ? N : r + 1;
            for (uint n = n0; n < n1; n++) {
                ulong b = ((ulong)n * C + c) * G;
                for (uint k = 0; k < G; k++) {
                    I += part[(b + k) * 3];
                    T += part[(b + k) * 3 + 1];
                    P += part[(b + k) * 3 + 2];
                }
            }
            float aI = 0.0f, aP = 0.0f;
            if (c >= c_first) {
                float num = kI * I + snr;
                float den = ((dI * I + dP * P) + dG * T) + sdr;
                bool clipped = den < clip;
                if (clipped) den = clip;
                sum += num / den;
                float sc = (sign / K) * weight * gv;
                if (clipped) {
                    aI = sc * (kI / den);
                } else {
                    aI = sc * (kI / den - (num * dI) / (den * den));
                    aP = sc * (-(num * dP) / (den * den));
                }
            }
            if (write_coef) {
                for (uint n = n0; n < n1; n++) {
                    coef[2 * ((ulong)n * C + c)] = aI;
                    coef[2 * ((ulong)n * C + c) + 1] = aP;
                }
            }
        }
    }
    if (write_loss) {
        float l = (c0 + sign * (sum / K)) * weight * gv;
        y[y_off] = beta ? y[y_off] + l : l;
    }
}

// d loss / d x from d loss / d p = aI t m + aP m: softmax dx_j = p_j (q_j - sum_c p_c q_c),
// sigmoid dx_j = p_j (1 - p_j) q_j. One work-item per voxel; beta 1 accumulates into dx.
kernel void region_bwd(global const float *x, ulong x_off, global const int *lab, ulong lab_off,
                       global const float *soft, ulong soft_off, uint N, uint C, ulong S,
                       int use_labels, int ignore, int sigmoid, global const float *coef,
                       int beta, global float *dx, ulong dx_off) {
    ulong v = get_global_id(0);
    if (v >= (ulong)N * S) return;
    ulong n = v / S, s = v % S, base = n * C * S + s;
    float m = 0.0f, lse = 0.0f;
    if (!sigmoid) softmax_stats(x, x_off + base, C, S, &m, &lse);
    float spq = 0.0f;
    for (int pass = 0; pass < 2; pass++) {
        for (uint c = 0; c < C; c++) {
            float keep;
            float t = target_at(lab, lab_off, soft, soft_off, use_labels, ignore, C, S, n, c, s,
                                &keep);
            ulong nc = n * C + c;
            float q = keep * (coef[2 * nc] * t + coef[2 * nc + 1]);
            float xi = x[x_off + base + c * S];
            float p, d;
            if (sigmoid) {
                float e = exp(-fabs(xi));
                p = xi >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
                if (pass == 0) break;
                d = (p * (1.0f - p)) * q;
            } else {
                p = exp((xi - m) - lse);
                if (pass == 0) {
                    spq += p * q;
                    continue;
                }
                d = p * (q - spq);
            }
            ulong i = dx_off + base + c * S;
            dx[i] = beta ? dx[i] + d : d;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Label check: group g counts labels outside [0, C) other than ignore in its chunk and finds the
// first such position. out[4g..4g+3] = count, first index low, high word, value there.
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void label_check(global const int *lab, ulong lab_off, ulong n, int C, int ignore, ulong chunk,
                 global uint *out) {
    local uint cnt[WG];
    local ulong first[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0);
    ulong lo = g * chunk, hi = min(lo + chunk, n);
    uint c = 0;
    ulong f = ULONG_MAX;
    for (ulong i = lo + l; i < hi; i += WG) {
        int y = lab[lab_off + i];
        if (y != ignore && (y < 0 || y >= C)) {
            c++;
            if (i < f) f = i;
        }
    }
    cnt[l] = c;
    first[l] = f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) {
            cnt[l] += cnt[l + h];
            first[l] = min(first[l], first[l + h]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        out[4 * g] = cnt[0];
        out[4 * g + 1] = (uint)(first[0] & 0xffffffffUL);
        out[4 * g + 2] = (uint)(first[0] >> 32);
        out[4 * g + 3] = cnt[0] ? (uint)lab[lab_off + first[0]] : 0u;
    }
}
