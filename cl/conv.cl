// cl/conv.cl — convolution as tiled implicit GEMM (2D as D = 1), f32, NCDHW.
//   conv_fwd        y[co, (n,o)]  = act(sum_k w[co, k] * im2col(x)[k, (n,o)] + b[co])
//                   M = Cout/g, N = N*outputs, K = Cin/g * kernel volume
//   conv_bwd_data   dx[ci, (n,i)] = sum_k w^T[ci, k] * gather(dy)[k, (n,i)], split by stride
//                   phase: the inputs i with i mod stride = r (per axis) receive only the taps
//                   kk with kk*dilation = r + pad (mod stride), so each phase is a dense GEMM
//                   over its own taps (M = Cin/g, N = N*inputs of the phase, K = Cout/g *
//                   taps of the phase); the phase is a grid dimension of one launch
//   conv_bwd_weight partial[c][co, k] = sum_{(n,o) in chunk c} dy[co, (n,o)] * im2col(x)[k, (n,o)]
//                   then conv_bwd_weight_reduce adds the chunks in fixed order into dw (+=)
//   conv_bias_grad  db[c] += sum over N and space (one work-group per channel, fixed tree)
//   conv_bias_act   y = act(y + b) in place (epilogue for the CLBlast 1x1 path)
//   conv_ktable / conv_ktable_phase: per-k offsets of the gathers (k = (channel, kd, kh, kw)),
//                   so the inner loops need no integer division
// Each work-group computes a TM x TN tile with (TM/WPTM)*(TN/WPTN) work-items, each WPTM x WPTN
// outputs (register blocking), through TK-deep tiles of A and B in local memory. Tile sizes and
// the two code shapes below come from the host's per-device table (src/ops/conv_tuning.c);
// shapes are runtime arguments.
//   VEC = 1 (CPU): a work-item's WPTN outputs of a row are adjacent and held as one floatWPTN
//           (PoCL does not vectorize across work-items around inner loops; explicit vectors
//           are what it turns into SIMD FMAs). conv_fwd loads its tiles as vectors too: A rows
//           of TK weights along k, and a work-item's WPTN columns of one row k of B as one
//           vector where they are adjacent (stride 1) or every other (stride 2) inputs of one
//           image row. The inner k loop carries a never-taken break on the local id: without
//           it PoCL adds implicit barriers to the loop (to vectorize across work-items), which
//           sends the accumulators to memory on every FMA (3x slower).
//   VEC = 0 (GPU): a work-item's columns are strided by TN/WPTN and held in scalar registers,
//           so a warp's local-memory reads hit consecutive banks (the classic 128x128 SGEMM).
//   DBUF = 1: the next tile's global loads go to registers before the current tile's FMAs and
//           into the other half of a double-buffered local tile after them (one barrier per
//           tile, global latency hidden behind compute); DBUF = 0: load, barrier, compute.
// No atomics: every output is written by one work-item, reductions run in fixed order.
// Offsets inside a tensor are int: the host rejects tensors above 2^31 - 1 elements.
#pragma OPENCL FP_CONTRACT OFF

#ifndef TM
#define TM 64
#endif
#ifndef TN
#define TN 64
#endif
#ifndef TK
#define TK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif
#ifndef APAD
#define APAD 0
#endif
#ifndef BWG
#define BWG 64
#endif
#ifndef VEC
#define VEC 1
#endif
#ifndef DBUF
#define DBUF 0
#endif

#define RTSM (TM / WPTM)
#define RTSN (TN / WPTN)
#define WGS (RTSM * RTSN)
#define NA (TM * TK / WGS) // A-tile elements each work-item loads
#define NB (TK * TN / WGS) // B-tile elements each work-item loads
#if DBUF
#define NBUF 2
#else
#define NBUF 1
#endif

#if !VEC && ((WGS % TK) != 0 || (WGS % TN) != 0 || ((TM * TK) % WGS) != 0 || ((TK * TN) % WGS) != 0)
#error "conv.cl: VEC = 0 tile sizes must satisfy WGS % TK == 0, WGS % TN == 0, TM*TK and TK*TN multiples of WGS"
#endif
#if VEC && TK != 1 && TK != 2 && TK != 4 && TK != 8 && (TK % 16) != 0
#error "conv.cl: VEC = 1 needs TK in {1, 2, 4, 8} or a multiple of 16"
#endif
#if VEC && WPTN != 1 && WPTN != 2 && WPTN != 4 && WPTN != 8 && WPTN != 16
#error "conv.cl: VEC = 1 needs WPTN in {1, 2, 4, 8, 16}"
#endif

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY 2
#define ACT_SIGMOID 3
#define ACT_TANH 4
#define ACT_GELU 5

inline float act_apply(float v, int act, float slope) {
    switch (act) {
    case ACT_RELU: return v < 0.0f ? 0.0f : v;
    case ACT_LEAKY: return v < 0.0f ? v * slope : v;
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-v));
    case ACT_TANH: return tanh(v);
    case ACT_GELU: return 0.5f * v * (1.0f + erf(v * 0.70710678118654752f));
    default: return v;
    }
}

// floor(n / d) for 0 <= n < 2^31 as (n * m) >> s, with m, s from the host (Granlund–Montgomery)
inline int fdiv(int n, uint m, uint s) { return (int)(((ulong)(uint)n * (ulong)m) >> s); }

// ---- register blocking: a work-item owns rows tm + wm*RTSM (wm < WPTM) and columns COLW(wn) ----
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VEC
#if WPTN == 1
#define VT float
#define VLD(p) (*(p))
#define VST(v, p) (*(p) = (v))
#else
#define VT CAT(float, WPTN)
#define VLD(p) CAT(vload, WPTN)(0, p)
#define VST(v, p) CAT(vstore, WPTN)(v, 0, p)
#endif
// fma where the device has it in hardware (the host passes FAST_FMA from CL_FP_FMA; PoCL
// lowers mad to a multiply and an add)
#ifndef FAST_FMA
#define FAST_FMA 0
#endif
#if defined(FP_FAST_FMAF) || FAST_FMA
#define FMA fma
#else
#define FMA mad
#endif
// A-tile row segments: AV = min(TK, 16) k-values as one vector
#if TK >= 16
#define AV 16
#else
#define AV TK
#endif
#if AV == 1
#define VTA float
#define VLDA(p) (*(p))
#define VSTA(v, p) (*(p) = (v))
#else
#define VTA CAT(float, AV)
#define VLDA(p) CAT(vload, AV)(0, p)
#define VSTA(v, p) CAT(vstore, AV)(v, 0, p)
#endif
// every other float of 2*WPTN (stride-2 rows of B): WPTN in {2, 4, 8, 16}
#if WPTN >= 2
#define SEG2 1
#if WPTN == 16
#define VLD_EVEN(p) ((float16)(vload16(0, p).even, vload16(0, (p) + 16).even))
#else
#define VLD_EVEN(p) ((VT)(CAT(vload, WPTN)(0, p).even, CAT(vload, WPTN)(0, (p) + WPTN).even))
#endif
#else
#define SEG2 0
#define VLD_EVEN(p) (*(p))
#endif
#if AV >= 2
#define VLDA_EVEN(p) ((VTA)(CAT(vload, AV)(0, p).even, CAT(vload, AV)(0, (p) + AV).even))
#else
#define VLDA_EVEN(p) (*(p))
#endif
#define NAS ((TM * (TK / AV) + WGS - 1) / WGS) // A segments per work-item
#define NBW ((TN * (TK / AV) + WGS - 1) / WGS) // backward-weight: B runs per work-item
#define NBS ((TK + RTSM - 1) / RTSM)            // B segments (rows of WPTN columns) per work-item
// A tiles: rows of TK k-values per output row m (loaded as vectors along k)
#define AS_DECL local float As[NBUF][TM][TK + APAD]
#define AS(bf, kk, m) As[bf][m][kk]
#define ZERO_ACC()                                                                         \
    VT acc[WPTM];                                                                          \
    for (int wm = 0; wm < WPTM; wm++) acc[wm] = (VT)(0.0f);
// acc += As^T * Bs over one TK-deep tile (buffer bf)
#define COMPUTE_TILE(bf)                                                                   \
    for (int kk = 0; kk < TK; kk++) {                                                      \
        if (lid >= WGS) break; /* never: keeps PoCL from adding implicit loop barriers */  \
        VT b_ = VLD(&Bs[bf][kk][tn * WPTN]);                                               \
        _Pragma("unroll") for (int wm = 0; wm < WPTM; wm++) acc[wm] = FMA((VT)(AS(bf, kk, tm + wm * RTSM)), b_, acc[wm]); \
    }
#define COLW(wn) (tn * WPTN + (wn))
#define ACC_ROW(wm, o_) VST(acc[wm], o_)
#else
#define AS_DECL local float As[NBUF][TK][TM + APAD]
#define AS(bf, kk, m) As[bf][kk][m]
#define ZERO_ACC()                                                                         \
    float acc[WPTM][WPTN];                                                                 \
    for (int wm = 0; wm < WPTM; wm++)                                                      \
        for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] = 0.0f;
#define COMPUTE_TILE(bf)                                                                   \
    for (int kk = 0; kk < TK; kk++) {                                                      \
        float a_[WPTM], b_[WPTN];                                                          \
        for (int wm = 0; wm < WPTM; wm++) a_[wm] = AS(bf, kk, tm + wm * RTSM);             \
        for (int wn = 0; wn < WPTN; wn++) b_[wn] = Bs[bf][kk][tn + wn * RTSN];             \
        for (int wm = 0; wm < WPTM; wm++)                                                  \
            for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] = mad(a_[wm], b_[wn], acc[wm][wn]); \
    }
#define COLW(wn) (tn + (wn) * RTSN)
#define ACC_ROW(wm, o_)                                                                    \
    for (int wn_ = 0; wn_ < WPTN; wn_++) o_[wn_] = acc[wm][wn_];
#endif

// The K loop shared by the three GEMM kernels. Each kernel defines LOAD_TILE(k0), which puts
// its NA A-values and NB B-values of the tile starting at k0 into ra[], rb[], and
// STORE_TILE(bf), which writes them to As[bf], Bs[bf].
#if DBUF
#define GEMM_LOOP(lo, hi)                                                                  \
    if ((lo) < (hi)) {                                                                     \
        LOAD_TILE(lo);                                                                     \
        STORE_TILE(0);                                                                     \
    }                                                                                      \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    for (int k0 = (lo), cur = 0; k0 < (hi); k0 += TK, cur ^= 1) {                          \
        const bool more = k0 + TK < (hi);                                                  \
        if (more) LOAD_TILE(k0 + TK);                                                      \
        COMPUTE_TILE(cur);                                                                 \
        if (more) STORE_TILE(cur ^ 1);                                                     \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
    }
#else
#define GEMM_LOOP(lo, hi)                                                                  \
    for (int k0 = (lo); k0 < (hi); k0 += TK) {                                             \
        LOAD_TILE(k0);                                                                     \
        STORE_TILE(0);                                                                     \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        COMPUTE_TILE(0);                                                                   \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
    }
#endif

#if VEC
// VEC = 1 tile loads shared by conv_fwd and conv_bwd_data. A: rows m0 + r (r < TM) of a
// row-major matrix asrc with leading dimension ald, valid for rows < amrows and k < akend, AV
// k-values per vector. B: row k of this work-item's WPTN columns (per-column origins cd, ch,
// cw, cb; seg = 1 or 2 when they are outputs of one row at stride 1 or 2, else 0) gathered
// from bsrc over extents (bD, bH, bW) with the offsets table kt.
#define VEC_LOAD_TILE(k0_, asrc, ald, amrows, akend, bsrc, bD, bH, bW)                     \
    {                                                                                      \
        for (int i = 0; i < NAS; i++) {                                                    \
            const int s_ = lid + i * WGS, r_ = s_ / (TK / AV);                             \
            const int ka = (k0_) + (s_ - r_ * (TK / AV)) * AV, m = m0 + r_;                \
            if (s_ < TM * (TK / AV)) {                                                     \
                if (m < (amrows) && ka + AV <= (akend)) {                                  \
                    ra[i] = VLDA(asrc + m * (ald) + ka);                                   \
                } else {                                                                   \
                    float t_[AV];                                                          \
                    for (int e = 0; e < AV; e++)                                           \
                        t_[e] = (m < (amrows) && ka + e < (akend)) ? asrc[m * (ald) + ka + e] : 0.0f; \
                    ra[i] = VLDA(t_);                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        for (int i = 0; i < NBS; i++) {                                                    \
            const int kr = tm + i * RTSM, k = (k0_) + kr;                                  \
            VT v = (VT)(0.0f);                                                             \
            if (kr < TK && k < K) {                                                        \
                const int4 t = vload4(k, kt);                                              \
                const int iw = cw0 + t.z;                                                  \
                if (seg == 1 && iw >= 0 && iw + WPTN <= (bW)) {                            \
                    if ((uint)(cd0 + t.x) < (uint)(bD) && (uint)(ch0 + t.y) < (uint)(bH))  \
                        v = VLD(bsrc + cb0 + t.w);                                         \
                } else if (SEG2 && seg == 2 && iw >= 0 && iw + 2 * WPTN <= (bW)) {         \
                    if ((uint)(cd0 + t.x) < (uint)(bD) && (uint)(ch0 + t.y) < (uint)(bH))  \
                        v = VLD_EVEN(bsrc + cb0 + t.w);                                    \
                } else {                                                                   \
                    float t_[WPTN];                                                        \
                    for (int j = 0; j < WPTN; j++)                                         \
                        t_[j] = ((uint)(cd[j] + t.x) < (uint)(bD) && (uint)(ch[j] + t.y) < (uint)(bH) && \
                                 (uint)(cw[j] + t.z) < (uint)(bW)) ? bsrc[cb[j] + t.w] : 0.0f; \
                    v = VLD(t_);                                                           \
                }                                                                          \
            }                                                                              \
            rb[i] = v;                                                                     \
        }                                                                                  \
    }
#define VEC_STORE_A(bf)                                                                    \
    for (int i = 0; i < NAS; i++) {                                                        \
        const int s_ = lid + i * WGS, r_ = s_ / (TK / AV);                                 \
        if (s_ < TM * (TK / AV)) VSTA(ra[i], &As[bf][r_][(s_ - r_ * (TK / AV)) * AV]);     \
    }
#define VEC_STORE_TILE(bf)                                                                 \
    {                                                                                      \
        VEC_STORE_A(bf);                                                                   \
        for (int i = 0; i < NBS; i++)                                                      \
            if (tm + i * RTSM < TK) VST(rb[i], &Bs[bf][tm + i * RTSM][tn * WPTN]);          \
    }

#endif

#if !VEC
// VEC = 0 tile loads shared by conv_fwd and conv_bwd_data: this work-item's B column (bc) at
// rows br + i*(WGS/TN), gathered from bsrc around the column's origin (c0, c1, c2) over extents
// (bD, bH, bW) with the offsets table kt; A and B values go to the tiles as loaded.
#define SCALAR_LOAD_B(k0_, bsrc, c0, c1, c2, bD, bH, bW)                                   \
    for (int i = 0; i < NB; i++) {                                                         \
        int k = (k0_) + br + i * (WGS / TN);                                               \
        float v = 0.0f;                                                                    \
        if (colok && k < K) {                                                              \
            int4 t = vload4(k, kt);                                                        \
            if ((uint)((c0) + t.x) < (uint)(bD) && (uint)((c1) + t.y) < (uint)(bH) &&      \
                (uint)((c2) + t.z) < (uint)(bW))                                           \
                v = bsrc[colbase + t.w];                                                   \
        }                                                                                  \
        rb[i] = v;                                                                         \
    }
#define SCALAR_STORE_TILE(bf)                                                              \
    {                                                                                      \
        for (int i = 0; i < NA; i++) AS(bf, ac, ar + i * (WGS / TK)) = ra[i];              \
        for (int i = 0; i < NB; i++) Bs[bf][br + i * (WGS / TN)][bc] = rb[i];              \
    }
#endif

// Epilogue of conv_fwd and conv_bwd_data: this work-item's rows m < mrows of the accumulators,
// plus bias and activation, to out[base[wn] + m * stride] (base -1: column outside the output).
#define STORE_OUTPUT(out, base, mrows, stride)                                             \
    for (int wm = 0; wm < WPTM; wm++) {                                                    \
        int m = m0 + tm + wm * RTSM;                                                       \
        if (m >= (mrows)) continue;                                                        \
        float bv = has_bias ? bias[b_off + g * (mrows) + m] : 0.0f;                        \
        float o_[WPTN];                                                                    \
        ACC_ROW(wm, o_);                                                                   \
        for (int wn = 0; wn < WPTN; wn++)                                                  \
            if (base[wn] >= 0) (out)[base[wn] + m * (stride)] = act_apply(o_[wn] + bv, act, slope); \
    }

// Offsets table for the forward / weight gathers (k = (ci, kd, kh, kw) over x):
// (kd*dd, kh*dh, kw*dw, ci*plane + kd*dd*HW + kh*dh*W + kw*dw).
kernel void conv_ktable(global int *kt, ulong kt_off, int K, int kvol, int kH, int kW,
                        int dild, int dilh, int dilw, int plane, int HW, int W) {
    int k = get_global_id(0);
    if (k >= K) return;
    kt += kt_off;
    int kv = kH * kW;
    int c = k / kvol, r = k - c * kvol;
    int kd = r / kv, r2 = r - kd * kv;
    int kh = r2 / kW, kw = r2 - kh * kW;
    int dd = kd * dild, dh = kh * dilh, dw = kw * dilw;
    vstore4((int4)(dd, dh, dw, c * plane + dd * HW + dh * W + dw), k, kt);
}

// Taps of one axis for backward-data phase r (input positions i = r + s*t): the kk in [0, kA)
// with kk*dil = r + pad (mod s), in increasing order; for those, the output index is
// o = t + (r + pad - kk*dil) / s (exact division). Returns their count; *kj = the j-th one.
inline int phase_taps(int r, int pad, int s, int dil, int kA, int j, int *kj) {
    int want = (r + pad) % s, n = 0;
    *kj = 0;
    for (int kk = 0; kk < kA; kk++) {
        if ((kk * dil) % s != want) continue;
        if (n == j) *kj = kk;
        n++;
    }
    return n;
}

// Phase tables for backward-data: for phase ph = (rd*sh + rh)*sw + rw and k < Kmax, k = (co,
// jd, jh, jw) over the phase's taps: int4 (od, oh, ow offsets, co*So + od*HWo + oh*Wo + ow) at
// ph*Kmax + k; after the nph*Kmax int4 entries, the weight offsets co*wstride + tap; after
// those, each phase's K = Cog * its tap count (so conv_bwd_data itself has no tap loops,
// which made PoCL's code generation 10x slower).
kernel void conv_ktable_phase(global int *kt, ulong kt_off, int Kmax, int nph, int Cog, int kD, int kH,
                              int kW, int sd, int sh, int sw, int pd, int ph_, int pw, int dild,
                              int dilh, int dilw, int So, int HWo, int Wo, int wstride) {
    int id = get_global_id(0);
    if (id >= nph * Kmax) return;
    kt += kt_off;
    int ph = id / Kmax, k = id - ph * Kmax;
    int rw = ph % sw, rh = (ph / sw) % sh, rd = ph / (sw * sh);
    int kd, kh, kw;
    int nd = phase_taps(rd, pd, sd, dild, kD, 0, &kd);
    int nh = phase_taps(rh, ph_, sh, dilh, kH, 0, &kh);
    int nw = phase_taps(rw, pw, sw, dilw, kW, 0, &kw);
    int ntap = nd * nh * nw;
    if (k == 0) kt[5 * nph * Kmax + ph] = Cog * ntap;
    if (k >= Cog * ntap) { // past this phase's K: never read
        vstore4((int4)(-1 << 28, 0, 0, 0), id, kt); // never in range
        kt[4 * nph * Kmax + id] = 0;
        return;
    }
    int co = k / ntap, j = k - co * ntap;
    int jd = j / (nh * nw), j2 = j - jd * nh * nw;
    int jh = j2 / nw, jw = j2 - jh * nw;
    phase_taps(rd, pd, sd, dild, kD, jd, &kd);
    phase_taps(rh, ph_, sh, dilh, kH, jh, &kh);
    phase_taps(rw, pw, sw, dilw, kW, jw, &kw);
    int od = (rd + pd - kd * dild) / sd, oh = (rh + ph_ - kh * dilh) / sh, ow = (rw + pw - kw * dilw) / sw;
    vstore4((int4)(od, oh, ow, co * So + od * HWo + oh * Wo + ow), id, kt);
    kt[4 * nph * Kmax + id] = co * wstride + (kd * kH + kh) * kW + kw;
}

// Each stride phase's weights as dense rows for conv_bwd_data's vector loads (VEC = 1):
// wp[((ph*groups + g)*Cg + m)*Kmax + k] = w[g's block][woff(ph, k) + m*kvol] for k below the
// phase's K, else 0 (kt: conv_ktable_phase).
kernel void conv_wphase(global const float *w, ulong w_off, global const int *kt, ulong kt_off,
                        global float *wp, ulong wp_off, int Kmax, int nph, int groups, int Cg,
                        int Cog, int kvol, int total) {
    int id = get_global_id(0);
    if (id >= total) return;
    int r = id / Kmax, k = id - r * Kmax;
    int q = r / Cg, m = r - q * Cg;
    int ph = q / groups, g = q - ph * groups;
    kt += kt_off;
    float v = 0.0f;
    if (k < kt[5 * nph * Kmax + ph])
        v = w[w_off + (ulong)g * Cog * Cg * kvol + kt[4 * nph * Kmax + ph * Kmax + k] + m * kvol];
    wp[wp_off + id] = v;
}

kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void conv_fwd(global const float *x, ulong x_off,      // (N, Cin, Di, Hi, Wi)
              global const float *w, ulong w_off,      // (Cout, Cin/g, kD, kH, kW)
              global const float *bias, ulong b_off,   // (Cout) when has_bias
              global float *y, ulong y_off,            // (N, Cout, Do, Ho, Wo)
              global const int *kt, ulong kt_off,      // conv_ktable
              int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
              int sd, int sh, int sw, int pd, int ph, int pw, int groups, int K,
              int has_bias, int act, float slope) {
    AS_DECL;
    local float Bs[NBUF][TK][TN + APAD];
    const int lid = get_local_id(0);
    const int tn = lid % RTSN, tm = lid / RTSN;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM, g = get_group_id(2);
    const int Mg = Cout / groups, Cg = Cin / groups;
    const int HWo = Ho * Wo, So = Do * HWo, HWi = Hi * Wi, Si = Di * HWi;
    const int Ntot = N * So;
    x += x_off;
    w += w_off + (ulong)g * Mg * K;
    kt += kt_off;

#if VEC
    // A: row segments of AV k-values (vectors along k); B: this work-item's own WPTN columns
    // (tn) at rows tm + i*RTSM of the tile. Each column's gather origin is fixed over the K
    // loop.
    int cd[WPTN], ch[WPTN], cw[WPTN], cb[WPTN];
    for (int j = 0; j < WPTN; j++) {
        const int n = n0 + tn * WPTN + j;
        if (n < Ntot) {
            int b = n / So, o = n - b * So;
            int od = o / HWo, r = o - od * HWo;
            int oh = r / Wo, ow = r - oh * Wo;
            cd[j] = od * sd - pd;
            ch[j] = oh * sh - ph;
            cw[j] = ow * sw - pw;
            cb[j] = (b * Cin + g * Cg) * Si + cd[j] * HWi + ch[j] * Wi + cw[j];
        } else {
            cd[j] = -1 << 28; // never in range
            ch[j] = cw[j] = cb[j] = 0;
        }
    }
    const int cd0 = cd[0], ch0 = ch[0], cw0 = cw[0], cb0 = cb[0];
    // seg: 1 or 2 when the WPTN columns are outputs of one row with stride 1 or 2 along W
    // (one or two vector loads per row of B inside the image), 0 otherwise (per element)
    int seg = (sw == 1 || sw == 2) && n0 + tn * WPTN + WPTN <= Ntot ? sw : 0;
    for (int j = 1; j < WPTN; j++)
        if (cd[j] != cd0 || ch[j] != ch0 || cb[j] != cb0 + j * sw) seg = 0;
    VTA ra[NAS];
    VT rb[NBS];
#define LOAD_TILE(k0_) VEC_LOAD_TILE(k0_, w, K, Mg, K, x, Di, Hi, Wi)
#define STORE_TILE(bf) VEC_STORE_TILE(bf)
#else
    // this work-item's B column: fixed over the K loop
    const int bc = lid % TN, br = lid / TN;
    const int ncol = n0 + bc;
    const bool colok = ncol < Ntot;
    int id0, ih0, iw0, colbase;
    {
        int n = colok ? ncol : 0;
        int b = n / So, o = n - b * So;
        int od = o / HWo, r = o - od * HWo;
        int oh = r / Wo, ow = r - oh * Wo;
        id0 = od * sd - pd;
        ih0 = oh * sh - ph;
        iw0 = ow * sw - pw;
        colbase = (b * Cin + g * Cg) * Si + id0 * HWi + ih0 * Wi + iw0;
    }
    const int ac = lid % TK, ar = lid / TK;
    float ra[NA], rb[NB];
#define LOAD_TILE(k0_)                                                                     \
    {                                                                                      \
        const int ka = (k0_) + ac;                                                         \
        for (int i = 0; i < NA; i++) {                                                     \
            int m = ar + i * (WGS / TK);                                                   \
            ra[i] = (m0 + m < Mg && ka < K) ? w[(m0 + m) * K + ka] : 0.0f;                 \
        }                                                                                  \
        SCALAR_LOAD_B(k0_, x, id0, ih0, iw0, Di, Hi, Wi);                                  \
    }
#define STORE_TILE(bf) SCALAR_STORE_TILE(bf)
#endif
    ZERO_ACC();
    GEMM_LOOP(0, K);
#undef LOAD_TILE
#undef STORE_TILE
    int ybase[WPTN];
    for (int wn = 0; wn < WPTN; wn++) {
        int n = n0 + COLW(wn);
        int b = n / So, o = n - b * So;
        ybase[wn] = n < Ntot ? (b * Cout + g * Mg) * So + o : -1;
    }
    STORE_OUTPUT(y + y_off, ybase, Mg, So);
}

// Grid: (column tiles of the largest phase, Cin/g tiles, groups * phases). Phase ph covers the
// inputs (rd + sd*td, rh + sh*th, rw + sw*tw); its columns (n, td, th, tw) run over the largest
// phase's extents (ceil(D/sd), ...) and those outside its own extents are skipped.
kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void conv_bwd_data(global const float *dy, ulong dy_off,  // (N, Cout, Do, Ho, Wo)
                   global const float *w, ulong w_off,    // (Cout, Cin/g, kD, kH, kW)
                   global const float *bias, ulong b_off, // (Cin) when has_bias (transposed conv)
                   global float *dx, ulong dx_off,        // (N, Cin, Di, Hi, Wi), assigned
                   global const int *kt, ulong kt_off,    // conv_ktable_phase
                   global const float *wp, ulong wp_off,  // conv_wphase (VEC = 1 only)
                   int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
                   int sd, int sh, int sw, int pd, int ph_, int pw, int groups, int kD, int kH,
                   int kW, int Kmax, int has_bias, int act, float slope) {
    AS_DECL;
    local float Bs[NBUF][TK][TN + APAD];
    const int lid = get_local_id(0);
    const int tn = lid % RTSN, tm = lid / RTSN;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM;
    const int g = get_group_id(2) % groups, ph = get_group_id(2) / groups;
    const int nph = sd * sh * sw;
    const int Cog = Cout / groups, Cg = Cin / groups; // K side, M side
    const int kvol = kD * kH * kW;
    const int HWo = Ho * Wo, So = Do * HWo, HWi = Hi * Wi, Si = Di * HWi;
    // this phase: residues, extents, taps
    const int rw = ph % sw, rh = (ph / sw) % sh, rd = ph / (sw * sh);
    const int Tdm = (Di + sd - 1) / sd, Thm = (Hi + sh - 1) / sh, Twm = (Wi + sw - 1) / sw;
    const int Td = (Di - rd + sd - 1) / sd, Th = (Hi - rh + sh - 1) / sh, Tw = (Wi - rw + sw - 1) / sw;
    const int Thw = Thm * Twm, Ts = Tdm * Thw;
    const int Ntot = N * Ts;
    const int K = kt[kt_off + 5 * nph * Kmax + ph];
    dy += dy_off;
    w += w_off + (ulong)g * Cog * Cg * kvol;
    global const int *woff = kt + kt_off + 4 * nph * Kmax + ph * Kmax;
    kt += kt_off + 4 * ph * Kmax;

#if VEC
    // A: rows of this phase's weights, dense along k (conv_wphase); B: this work-item's WPTN
    // columns (tn), adjacent positions of one row of dy where they share (b, td, th)
    wp += wp_off + (ulong)(get_group_id(2) * Cg) * Kmax; // rows of (phase, group) ph*groups + g
    int cd[WPTN], ch[WPTN], cw[WPTN], cb[WPTN];
    for (int j = 0; j < WPTN; j++) {
        const int n = n0 + tn * WPTN + j;
        int b = n / Ts, t = n - b * Ts;
        int td = t / Thw, r = t - td * Thw;
        int th = r / Twm, tw = r - th * Twm;
        if (n < Ntot && td < Td && th < Th && tw < Tw) {
            cd[j] = td;
            ch[j] = th;
            cw[j] = tw;
            cb[j] = (b * Cout + g * Cog) * So + td * HWo + th * Wo + tw;
        } else {
            cd[j] = -1 << 28; // never in range
            ch[j] = cw[j] = cb[j] = 0;
        }
    }
    const int cd0 = cd[0], ch0 = ch[0], cw0 = cw[0], cb0 = cb[0];
    int seg = cd0 >= 0 ? 1 : 0;
    for (int j = 1; j < WPTN; j++)
        if (cd[j] != cd0 || ch[j] != ch0 || cb[j] != cb0 + j) seg = 0;
    VTA ra[NAS];
    VT rb[NBS];
#define LOAD_TILE(k0_) VEC_LOAD_TILE(k0_, wp, Kmax, Cg, Kmax, dy, Do, Ho, Wo)
#define STORE_TILE(bf) VEC_STORE_TILE(bf)
#else
    const int bc = lid % TN, br = lid / TN;
    const int ncol = n0 + bc;
    bool colok = ncol < Ntot;
    int td, th, tw, colbase;
    {
        int n = colok ? ncol : 0;
        int b = n / Ts, t = n - b * Ts;
        td = t / Thw;
        int r = t - td * Thw;
        th = r / Twm;
        tw = r - th * Twm;
        colok = colok && td < Td && th < Th && tw < Tw;
        colbase = (b * Cout + g * Cog) * So + td * HWo + th * Wo + tw;
    }
    const int ac = lid % TK, ar = lid / TK;
    float ra[NA], rb[NB];
#define LOAD_TILE(k0_)                                                                     \
    {                                                                                      \
        const int ka = (k0_) + ac;                                                         \
        const int wo = ka < K ? woff[ka] : 0;                                              \
        for (int i = 0; i < NA; i++) {                                                     \
            int m = ar + i * (WGS / TK);                                                   \
            ra[i] = (m0 + m < Cg && ka < K) ? w[wo + (m0 + m) * kvol] : 0.0f;              \
        }                                                                                  \
        SCALAR_LOAD_B(k0_, dy, td, th, tw, Do, Ho, Wo);                                   \
    }
#define STORE_TILE(bf) SCALAR_STORE_TILE(bf)
#endif
    ZERO_ACC();
    GEMM_LOOP(0, K);
#undef LOAD_TILE
#undef STORE_TILE
    int xbase[WPTN];
    for (int wn = 0; wn < WPTN; wn++) {
        int n = n0 + COLW(wn);
        int b = n / Ts, t = n - b * Ts;
        int d = t / Thw, r = t - d * Thw;
        int h = r / Twm, ww = r - h * Twm;
        bool ok = n < Ntot && d < Td && h < Th && ww < Tw;
        xbase[wn] = ok ? (b * Cin + g * Cg) * Si + (rd + sd * d) * HWi + (rh + sh * h) * Wi + rw + sw * ww : -1;
    }
    STORE_OUTPUT(dx + dx_off, xbase, Cg, Si);
}

// Column k = (ci, kd, kh, kw) of backward-weight's im2col: (dd, dh, dw, offset in x) as in
// conv_ktable; out-of-range columns get a d offset that is never in range.
inline int4 wcol(int k, int Ncol, int kvol, int kv, int kW, int dild, int dilh, int dilw, int Si,
                 int HWi, int Wi) {
    if (k >= Ncol) return (int4)(-1 << 28, 0, 0, 0);
    int ci = k / kvol, r = k - ci * kvol;
    int kd = r / kv, r2 = r - kd * kv;
    int kh = r2 / kW, kw = r2 - kh * kW;
    int dd = kd * dild, dh = kh * dilh, dw = kw * dilw;
    return (int4)(dd, dh, dw, ci * Si + dd * HWi + dh * Wi + dw);
}

kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void conv_bwd_weight(global const float *x, ulong x_off,   // (N, Cin, Di, Hi, Wi)
                     global const float *dy, ulong dy_off, // (N, Cout, Do, Ho, Wo)
                     global float *out, ulong out_off,     // dw (+=) or partials (chunks, dw)
                     int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
                     int sd, int sh, int sw, int pd, int ph, int pw,
                     int dild, int dilh, int dilw, int kD, int kH, int kW, int groups,
                     int chunk, uint mS, uint sS, uint mHW, uint sHW, uint mW, uint sW,
                     int direct) {
    AS_DECL;
    local float Bs[NBUF][TK][TN + APAD];
    const int lid = get_local_id(0);
    const int tn = lid % RTSN, tm = lid / RTSN;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM;
    const int g = get_group_id(2) % groups, c = get_group_id(2) / groups;
    const int Cog = Cout / groups, Cg = Cin / groups;
    const int kv = kH * kW, kvol = kD * kv, Ncol = Cg * kvol;
    const int HWo = Ho * Wo, So = Do * HWo, HWi = Hi * Wi, Si = Di * HWi;
    const int Kred = N * So;
    const int j_lo = c * chunk, j_hi = min(Kred, j_lo + chunk);
    x += x_off;
    dy += dy_off;

#if VEC
    // Both operands are contiguous along the reduction j (output positions): A rows of dy as
    // vectors of AV positions; B as runs of AV positions of one column k (one vector load where
    // the run is one output row inside the image, stride 1 or 2), spread into Bs[j][k].
    int4 bcol[NBW];
    for (int i = 0; i < NBW; i++) {
        const int k = n0 + (lid + i * WGS) % TN;
        bcol[i] = wcol(k, Ncol, kvol, kv, kW, dild, dilh, dilw, Si, HWi, Wi);
    }
    VTA ra[NAS], rb[NBW];
#define LOAD_TILE(j0_)                                                                     \
    {                                                                                      \
        for (int i = 0; i < NAS; i++) {                                                    \
            const int s_ = lid + i * WGS, r_ = s_ / (TK / AV);                             \
            const int j = (j0_) + (s_ - r_ * (TK / AV)) * AV, m = m0 + r_;                 \
            if (s_ < TM * (TK / AV)) {                                                     \
                const int b = fdiv(j, mS, sS), o = j - b * So;                             \
                const int arow = (b * Cout + g * Cog + m) * So + o;                        \
                if (m < Cog && j + AV <= j_hi && o + AV <= So) {                           \
                    ra[i] = VLDA(dy + arow);                                               \
                } else {                                                                   \
                    float t_[AV];                                                          \
                    for (int e = 0; e < AV; e++) {                                         \
                        const int je = j + e, be = fdiv(je, mS, sS);                       \
                        t_[e] = (m < Cog && je < j_hi)                                     \
                                    ? dy[(be * Cout + g * Cog + m) * So + je - be * So] : 0.0f; \
                    }                                                                      \
                    ra[i] = VLDA(t_);                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        for (int i = 0; i < NBW; i++) {                                                    \
            const int s_ = lid + i * WGS, q_ = s_ / TN;                                    \
            const int j = (j0_) + q_ * AV;                                                 \
            const int4 t = bcol[i];                                                        \
            if (s_ < TN * (TK / AV)) {                                                     \
                const int b = fdiv(j, mS, sS), o = j - b * So;                             \
                const int od = fdiv(o, mHW, sHW), r = o - od * HWo;                        \
                const int oh = fdiv(r, mW, sW), ow = r - oh * Wo;                          \
                const int id = od * sd - pd + t.x, ih = oh * sh - ph + t.y;                \
                const int iw = ow * sw - pw + t.z;                                         \
                const int xo = (b * Cin + g * Cg) * Si + (od * sd - pd) * HWi +            \
                               (oh * sh - ph) * Wi + ow * sw - pw + t.w;                   \
                if (j + AV <= j_hi && ow + AV <= Wo) { /* one output row */                \
                    if ((uint)id < (uint)Di && (uint)ih < (uint)Hi) {                      \
                        if (sw == 1 && iw >= 0 && iw + AV <= Wi) {                         \
                            rb[i] = VLDA(x + xo);                                          \
                        } else if (AV > 1 && sw == 2 && iw >= 0 && iw + 2 * AV <= Wi) {    \
                            rb[i] = VLDA_EVEN(x + xo);                                     \
                        } else {                                                           \
                            float t_[AV];                                                  \
                            for (int e = 0; e < AV; e++)                                   \
                                t_[e] = (uint)(iw + e * sw) < (uint)Wi ? x[xo + e * sw] : 0.0f; \
                            rb[i] = VLDA(t_);                                              \
                        }                                                                  \
                    } else {                                                               \
                        rb[i] = (VTA)(0.0f);                                               \
                    }                                                                      \
                } else {                                                                   \
                    float t_[AV];                                                          \
                    for (int e = 0; e < AV; e++) {                                         \
                        const int je = j + e;                                              \
                        const int be = fdiv(je, mS, sS), oe = je - be * So;                \
                        const int ode = fdiv(oe, mHW, sHW), re = oe - ode * HWo;           \
                        const int ohe = fdiv(re, mW, sW), owe = re - ohe * Wo;             \
                        const int i0 = ode * sd - pd, i1 = ohe * sh - ph, i2 = owe * sw - pw; \
                        t_[e] = (je < j_hi && (uint)(i0 + t.x) < (uint)Di &&               \
                                 (uint)(i1 + t.y) < (uint)Hi && (uint)(i2 + t.z) < (uint)Wi) \
                                    ? x[(be * Cin + g * Cg) * Si + i0 * HWi + i1 * Wi + i2 + t.w] \
                                    : 0.0f;                                                \
                    }                                                                      \
                    rb[i] = VLDA(t_);                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }
#define STORE_TILE(bf)                                                                     \
    {                                                                                      \
        VEC_STORE_A(bf);                                                                   \
        for (int i = 0; i < NBW; i++) {                                                    \
            const int s_ = lid + i * WGS, q_ = s_ / TN, c_ = s_ - q_ * TN;                 \
            if (s_ < TN * (TK / AV)) {                                                     \
                float t_[AV];                                                              \
                VSTA(rb[i], t_);                                                           \
                _Pragma("clang loop vectorize(disable)") _Pragma("unroll")                 \
                for (int e = 0; e < AV; e++) Bs[bf][q_ * AV + e][c_] = t_[e];              \
            }                                                                              \
        }                                                                                  \
    }
#else
    // this work-item's B columns (k = (ci, kd, kh, kw)): fixed over the reduction
    const int jr = lid % TK, bcr = lid / TK;
    int4 bcol[NB];
    for (int i = 0; i < NB; i++) {
        int k = n0 + bcr + i * (WGS / TK);
        bcol[i] = wcol(k, Ncol, kvol, kv, kW, dild, dilh, dilw, Si, HWi, Wi);
    }
    float ra[NA], rb[NB];
#define LOAD_TILE(j0_)                                                                     \
    {                                                                                      \
        const int j = (j0_) + jr;                                                          \
        const bool jok = j < j_hi;                                                         \
        int b = fdiv(j, mS, sS), o = j - b * So;                                           \
        int od = fdiv(o, mHW, sHW), r = o - od * HWo;                                      \
        int oh = fdiv(r, mW, sW), ow = r - oh * Wo;                                        \
        int id0 = od * sd - pd, ih0 = oh * sh - ph, iw0 = ow * sw - pw;                    \
        int xrow = (b * Cin + g * Cg) * Si + id0 * HWi + ih0 * Wi + iw0;                   \
        int arow = (b * Cout + g * Cog) * So + o;                                          \
        for (int i = 0; i < NA; i++) {                                                     \
            int m = bcr + i * (WGS / TK);                                                  \
            ra[i] = (jok && m0 + m < Cog) ? dy[arow + (m0 + m) * So] : 0.0f;               \
        }                                                                                  \
        for (int i = 0; i < NB; i++) {                                                     \
            int4 t = bcol[i];                                                              \
            float v = 0.0f;                                                                \
            if (jok && (uint)(id0 + t.x) < (uint)Di && (uint)(ih0 + t.y) < (uint)Hi &&     \
                (uint)(iw0 + t.z) < (uint)Wi)                                              \
                v = x[xrow + t.w];                                                         \
            rb[i] = v;                                                                     \
        }                                                                                  \
    }
#define STORE_TILE(bf)                                                                     \
    {                                                                                      \
        for (int i = 0; i < NA; i++) AS(bf, jr, bcr + i * (WGS / TK)) = ra[i];             \
        for (int i = 0; i < NB; i++) Bs[bf][jr][bcr + i * (WGS / TK)] = rb[i];             \
    }
#endif
    ZERO_ACC();
    GEMM_LOOP(j_lo, j_hi);
#undef LOAD_TILE
#undef STORE_TILE
    const int total = Cout * Ncol;
    out += out_off;
    if (!direct) out += (ulong)c * total;
    for (int wm = 0; wm < WPTM; wm++) {
        int m = m0 + tm + wm * RTSM;
        if (m >= Cog) continue;
        float o_[WPTN];
        ACC_ROW(wm, o_);
        for (int wn = 0; wn < WPTN; wn++) {
            int k = n0 + COLW(wn);
            if (k >= Ncol) continue;
            int idx = (g * Cog + m) * Ncol + k;
            if (direct) out[idx] += o_[wn];
            else out[idx] = o_[wn];
        }
    }
}

#if VEC
// Backward-weight for small outputs (few channels: the GEMM tiles would be mostly padding):
// one work-item per (chunk, co, ci) holds the kH*kW <= 9 taps of one kd as WPTN-lane vectors
// along output positions: per run of WPTN outputs of one row, one dy vector and one x vector
// per tap (a vector load inside the image, stride 1 or 2; per element at borders). A chunk is
// a range of output rows (b, od, oh); lanes are summed in a fixed tree at the end. Writes
// out[c][co][ci, kd, kh, kw] (partials) or adds into dw (direct).
kernel void conv_bwd_weight_dot(global const float *x, ulong x_off,   // (N, Cin, Di, Hi, Wi)
                                global const float *dy, ulong dy_off, // (N, Cout, Do, Ho, Wo)
                                global float *out, ulong out_off,
                                int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
                                int sd, int sh, int sw, int pd, int ph, int pw,
                                int dild, int dilh, int dilw, int kD, int kH, int kW, int groups,
                                int rows_per_chunk, int chunks, int direct) {
    const int Cg = Cin / groups, Cog = Cout / groups;
    const int id = get_global_id(0);
    if (id >= chunks * Cout * Cg) return;
    const int ci = id % Cg, co = (id / Cg) % Cout, c = id / (Cg * Cout);
    const int g = co / Cog;
    const int HWo = Ho * Wo, So = Do * HWo, HWi = Hi * Wi, Si = Di * HWi;
    const int kv = kH * kW, kvol = kD * kv, Ncol = Cg * kvol;
    const int rows = N * Do * Ho, DHo = Do * Ho;
    const int r_lo = c * rows_per_chunk, r_hi = min(rows, r_lo + rows_per_chunk);
    int th[9], tw[9]; // tap t = (kh, kw): input row and column offsets
    for (int t = 0; t < 9; t++) {
        const int kh = t < kv ? t / kW : 0, kw = t < kv ? t - kh * kW : 0;
        th[t] = kh * dilh - ph;
        tw[t] = kw * dilw - pw;
    }
    out += out_off + (direct ? 0 : (ulong)c * Cout * Ncol) + (ulong)co * Ncol + ci * kvol;
    for (int kd = 0; kd < kD; kd++) {
        VT acc[9];
        for (int t = 0; t < 9; t++) acc[t] = (VT)(0.0f);
        for (int row = r_lo; row < r_hi; row++) {
            const int b = row / DHo, rr = row - b * DHo, od = rr / Ho, oh = rr - od * Ho;
            const int idd = od * sd - pd + kd * dild;
            if ((uint)idd >= (uint)Di) continue;
            global const float *dyr = dy + dy_off + (ulong)(b * Cout + co) * So + od * HWo + oh * Wo;
            global const float *xr = x + x_off + (ulong)(b * Cin + g * Cg + ci) * Si + idd * HWi;
            const int ih0 = oh * sh;
            for (int ow0 = 0; ow0 < Wo; ow0 += WPTN) {
                const int L = min(WPTN, Wo - ow0);
                VT d;
                if (L == WPTN) {
                    d = VLD(dyr + ow0);
                } else {
                    float t_[WPTN];
                    for (int e = 0; e < WPTN; e++) t_[e] = e < L ? dyr[ow0 + e] : 0.0f;
                    d = VLD(t_);
                }
                _Pragma("unroll") for (int t = 0; t < 9; t++) {
                    const int ih = ih0 + th[t], iw = ow0 * sw + tw[t];
                    global const float *p = xr + ih * Wi + iw;
                    VT v = (VT)(0.0f);
                    if (t < kv && (uint)ih < (uint)Hi) {
                        if (L == WPTN && sw == 1 && iw >= 0 && iw + WPTN <= Wi) {
                            v = VLD(p);
                        } else if (SEG2 && L == WPTN && sw == 2 && iw >= 0 && iw + 2 * WPTN <= Wi) {
                            v = VLD_EVEN(p);
                        } else {
                            float t_[WPTN];
                            for (int e = 0; e < WPTN; e++)
                                t_[e] = e < L && (uint)(iw + e * sw) < (uint)Wi ? p[e * sw] : 0.0f;
                            v = VLD(t_);
                        }
                    }
                    acc[t] = FMA(d, v, acc[t]);
                }
            }
        }
        for (int t = 0; t < kv; t++) {
            float l_[WPTN];
            VST(acc[t], l_);
            for (int h = WPTN / 2; h > 0; h >>= 1) // fixed tree over the lanes
                for (int e = 0; e < h; e++) l_[e] += l_[e + h];
            if (direct) out[kd * kv + t] += l_[0];
            else out[kd * kv + t] = l_[0];
        }
    }
}
#endif

// dw[i] += part[0][i] + part[1][i] + ... (left to right)
kernel void conv_bwd_weight_reduce(global const float *part, ulong part_off,
                                   global float *dw, ulong dw_off, int total, int chunks) {
    int i = get_global_id(0);
    if (i >= total) return;
    part += part_off;
    float s = part[i];
    for (int c = 1; c < chunks; c++) s += part[(ulong)c * total + i];
    dw[dw_off + i] += s;
}

// db[c] += sum_{n, o} dy[n, c, o]: one work-group per channel, strided sums then a fixed tree.
kernel __attribute__((reqd_work_group_size(BWG, 1, 1)))
void conv_bias_grad(global const float *dy, ulong dy_off, global float *db, ulong db_off,
                    int N, int C, int S) {
    local float s[BWG];
    const int l = get_local_id(0), c = get_group_id(0);
    float acc = 0.0f;
    for (int b = 0; b < N; b++) {
        global const float *p = dy + dy_off + ((ulong)b * C + c) * S;
        for (int o = l; o < S; o += BWG) acc += p[o];
    }
    s[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = BWG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] += s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) db[db_off + c] += s[0];
}

// y = act(y + b[c]) in place over (N, C, S)
kernel void conv_bias_act(global float *y, ulong y_off, global const float *bias, ulong b_off,
                          int C, int S, int total, int has_bias, int act, float slope) {
    int i = get_global_id(0);
    if (i >= total) return;
    int c = (i / S) % C;
    float v = y[y_off + i];
    if (has_bias) v += bias[b_off + c];
    y[y_off + i] = act_apply(v, act, slope);
}
