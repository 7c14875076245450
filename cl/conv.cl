// cl/conv.cl — convolution as tiled implicit GEMM (2D as D = 1), f32, NCDHW.
//   conv_fwd        y[co, (n,o)]  = act(sum_k w[co, k] * im2col(x)[k, (n,o)] + b[co])
//                   M = Cout/g, N = N*outputs, K = Cin/g * kernel volume
//   conv_bwd_data   dx[ci, (n,i)] = sum_k w^T[ci, k] * gather(dy)[k, (n,i)]
//                   K = Cout/g * kernel volume; gathers, for each input, the outputs that
//                   touch it (works for any stride; with stride > 1 some taps are zero)
//   conv_bwd_weight partial[c][co, k] = sum_{(n,o) in chunk c} dy[co, (n,o)] * im2col(x)[k, (n,o)]
//                   then conv_bwd_weight_reduce adds the chunks in fixed order into dw (+=)
//   conv_bias_grad  db[c] += sum over N and space (one work-group per channel, fixed tree)
//   conv_bias_act   y = act(y + b) in place (epilogue for the CLBlast 1x1 path)
//   conv_ktable     per-k offsets of the gathers (k = (channel, kd, kh, kw)), so the inner
//                   loops need no integer division
// Each work-group computes a TM x TN tile with (TM/WPTM)*(TN/WPTN) work-items, each WPTM x WPTN
// outputs (register blocking), through TK-deep tiles of A and B in local memory. Tile sizes come
// from the host's per-device table (src/ops/conv_tuning.c); shapes are runtime arguments.
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

#define RTSM (TM / WPTM)
#define RTSN (TN / WPTN)
#define WGS (RTSM * RTSN)

#if (WGS % TK) != 0 || (WGS % TN) != 0 || ((TM * TK) % WGS) != 0 || ((TK * TN) % WGS) != 0
#error "conv.cl: tile sizes must satisfy WGS % TK == 0, WGS % TN == 0, TM*TK and TK*TN multiples of WGS"
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

// Each work-item owns rows tm + wm*RTSM (wm < WPTM) and the WPTN adjacent columns
// tn*WPTN + [0, WPTN), held as one floatWPTN vector per row: explicit vectors are what a CPU
// driver turns into SIMD FMAs (PoCL does not vectorize across work-items around inner loops).
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if WPTN == 1
#define VT float
#define VLD(p) (*(p))
#define VST(v, p) (*(p) = (v))
#else
#define VT CAT(float, WPTN)
#define VLD(p) CAT(vload, WPTN)(0, p)
#define VST(v, p) CAT(vstore, WPTN)(v, 0, p)
#endif

// acc += As^T * Bs over one TK-deep tile
#define COMPUTE_TILE()                                                                     \
    for (int kk = 0; kk < TK; kk++) {                                                      \
        VT b_ = VLD(&Bs[kk][tn * WPTN]);                                                   \
        for (int wm = 0; wm < WPTM; wm++) acc[wm] = mad((VT)(As[kk][tm + wm * RTSM]), b_, acc[wm]); \
    }

#define ZERO_ACC()                                                                         \
    VT acc[WPTM];                                                                          \
    for (int wm = 0; wm < WPTM; wm++) acc[wm] = (VT)(0.0f);

// Offsets table for the gathers. mode 0 (forward / weight: k = (ci, kd, kh, kw) over x):
// (kd*dd, kh*dh, kw*dw, ci*plane + kd*dd*HW + kh*dh*W + kw*dw). mode 1 (backward-data:
// k = (co, kd, kh, kw) over dy): (kd*dd, kh*dh, kw*dw, co*plane) and, after the K int4
// entries, the weight offset co*wstride + (kd, kh, kw).
kernel void conv_ktable(global int *kt, ulong kt_off, int K, int kvol, int kH, int kW,
                        int dild, int dilh, int dilw, int plane, int HW, int W, int mode,
                        int wstride) {
    int k = get_global_id(0);
    if (k >= K) return;
    kt += kt_off;
    int kv = kH * kW;
    int c = k / kvol, r = k - c * kvol;
    int kd = r / kv, r2 = r - kd * kv;
    int kh = r2 / kW, kw = r2 - kh * kW;
    int dd = kd * dild, dh = kh * dilh, dw = kw * dilw;
    int off = mode ? c * plane : c * plane + dd * HW + dh * W + dw;
    vstore4((int4)(dd, dh, dw, off), k, kt);
    if (mode) kt[4 * K + k] = c * wstride + r;
}

kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void conv_fwd(global const float *x, ulong x_off,      // (N, Cin, Di, Hi, Wi)
              global const float *w, ulong w_off,      // (Cout, Cin/g, kD, kH, kW)
              global const float *bias, ulong b_off,   // (Cout) when has_bias
              global float *y, ulong y_off,            // (N, Cout, Do, Ho, Wo)
              global const int *kt, ulong kt_off,      // conv_ktable mode 0
              int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
              int sd, int sh, int sw, int pd, int ph, int pw, int groups, int K,
              int has_bias, int act, float slope) {
    local float As[TK][TM + APAD];
    local float Bs[TK][TN + APAD];
    const int lid = get_local_id(0);
    const int tn = lid % RTSN, tm = lid / RTSN;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM, g = get_group_id(2);
    const int Mg = Cout / groups, Cg = Cin / groups;
    const int HWo = Ho * Wo, So = Do * HWo, HWi = Hi * Wi, Si = Di * HWi;
    const int Ntot = N * So;
    x += x_off;
    w += w_off + (ulong)g * Mg * K;
    kt += kt_off;

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
    ZERO_ACC();
    for (int k0 = 0; k0 < K; k0 += TK) {
        const int ka = k0 + ac;
        for (int i = 0; i < TM * TK / WGS; i++) {
            int m = ar + i * (WGS / TK);
            As[ac][m] = (m0 + m < Mg && ka < K) ? w[(m0 + m) * K + ka] : 0.0f;
        }
        for (int i = 0; i < TK * TN / WGS; i++) {
            int r = br + i * (WGS / TN);
            int k = k0 + r;
            float v = 0.0f;
            if (colok && k < K) {
                int4 t = vload4(k, kt);
                if ((uint)(id0 + t.x) < (uint)Di && (uint)(ih0 + t.y) < (uint)Hi &&
                    (uint)(iw0 + t.z) < (uint)Wi)
                    v = x[colbase + t.w];
            }
            Bs[r][bc] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        COMPUTE_TILE();
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    int ybase[WPTN];
    for (int wn = 0; wn < WPTN; wn++) {
        int n = n0 + tn * WPTN + wn;
        int b = n / So, o = n - b * So;
        ybase[wn] = n < Ntot ? (b * Cout + g * Mg) * So + o : -1;
    }
    for (int wm = 0; wm < WPTM; wm++) {
        int m = m0 + tm + wm * RTSM;
        if (m >= Mg) continue;
        float bv = has_bias ? bias[b_off + g * Mg + m] : 0.0f;
        float o_[WPTN];
        VST(acc[wm], o_);
        for (int wn = 0; wn < WPTN; wn++)
            if (ybase[wn] >= 0) y[y_off + ybase[wn] + m * So] = act_apply(o_[wn] + bv, act, slope);
    }
}

kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void conv_bwd_data(global const float *dy, ulong dy_off,  // (N, Cout, Do, Ho, Wo)
                   global const float *w, ulong w_off,    // (Cout, Cin/g, kD, kH, kW)
                   global const float *bias, ulong b_off, // (Cin) when has_bias (transposed conv)
                   global float *dx, ulong dx_off,        // (N, Cin, Di, Hi, Wi), assigned
                   global const int *kt, ulong kt_off,    // conv_ktable mode 1
                   int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
                   int sd, int sh, int sw, int pd, int ph, int pw, int groups, int K, int kvol,
                   int has_bias, int act, float slope) {
    local float As[TK][TM + APAD];
    local float Bs[TK][TN + APAD];
    const int lid = get_local_id(0);
    const int tn = lid % RTSN, tm = lid / RTSN;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM, g = get_group_id(2);
    const int Cog = Cout / groups, Cg = Cin / groups; // K side, M side
    const int HWo = Ho * Wo, So = Do * HWo, HWi = Hi * Wi, Si = Di * HWi;
    const int Ntot = N * Si;
    const bool unit = sd == 1 && sh == 1 && sw == 1;
    dy += dy_off;
    w += w_off + (ulong)g * Cog * Cg * kvol;
    kt += kt_off;
    global const int *woff = kt + 4 * K;

    const int bc = lid % TN, br = lid / TN;
    const int ncol = n0 + bc;
    const bool colok = ncol < Ntot;
    int td, th, tw, colbase;
    {
        int n = colok ? ncol : 0;
        int b = n / Si, i = n - b * Si;
        int id = i / HWi, r = i - id * HWi;
        int ih = r / Wi, iw = r - ih * Wi;
        td = id + pd;
        th = ih + ph;
        tw = iw + pw;
        colbase = (b * Cout + g * Cog) * So;
    }
    const int ac = lid % TK, ar = lid / TK;
    ZERO_ACC();
    for (int k0 = 0; k0 < K; k0 += TK) {
        const int ka = k0 + ac;
        const int wo = ka < K ? woff[ka] : 0;
        for (int i = 0; i < TM * TK / WGS; i++) {
            int m = ar + i * (WGS / TK);
            As[ac][m] = (m0 + m < Cg && ka < K) ? w[wo + (m0 + m) * kvol] : 0.0f;
        }
        for (int i = 0; i < TK * TN / WGS; i++) {
            int r = br + i * (WGS / TN);
            int k = k0 + r;
            float v = 0.0f;
            if (colok && k < K) {
                int4 t = vload4(k, kt);
                int ud = td - t.x, uh = th - t.y, uw = tw - t.z;
                bool ok = (ud | uh | uw) >= 0;
                if (!unit) {
                    ok = ok && (ud % sd) == 0 && (uh % sh) == 0 && (uw % sw) == 0;
                    ud /= sd;
                    uh /= sh;
                    uw /= sw;
                }
                if (ok && ud < Do && uh < Ho && uw < Wo) v = dy[colbase + t.w + ud * HWo + uh * Wo + uw];
            }
            Bs[r][bc] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        COMPUTE_TILE();
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    int xbase[WPTN];
    for (int wn = 0; wn < WPTN; wn++) {
        int n = n0 + tn * WPTN + wn;
        int b = n / Si, i = n - b * Si;
        xbase[wn] = n < Ntot ? (b * Cin + g * Cg) * Si + i : -1;
    }
    for (int wm = 0; wm < WPTM; wm++) {
        int m = m0 + tm + wm * RTSM;
        if (m >= Cg) continue;
        float bv = has_bias ? bias[b_off + g * Cg + m] : 0.0f;
        float o_[WPTN];
        VST(acc[wm], o_);
        for (int wn = 0; wn < WPTN; wn++)
            if (xbase[wn] >= 0) dx[dx_off + xbase[wn] + m * Si] = act_apply(o_[wn] + bv, act, slope);
    }
}

#define NBCOL (TK * TN / WGS)

kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void conv_bwd_weight(global const float *x, ulong x_off,   // (N, Cin, Di, Hi, Wi)
                     global const float *dy, ulong dy_off, // (N, Cout, Do, Ho, Wo)
                     global float *out, ulong out_off,     // dw (+=) or partials (chunks, dw)
                     int N, int Cin, int Di, int Hi, int Wi, int Cout, int Do, int Ho, int Wo,
                     int sd, int sh, int sw, int pd, int ph, int pw,
                     int dild, int dilh, int dilw, int kD, int kH, int kW, int groups,
                     int chunk, uint mS, uint sS, uint mHW, uint sHW, uint mW, uint sW,
                     int direct) {
    local float As[TK][TM + APAD];
    local float Bs[TK][TN + APAD];
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

    // this work-item's B columns (k = (ci, kd, kh, kw)): fixed over the reduction
    const int jr = lid % TK, bcr = lid / TK;
    int4 bcol[NBCOL];
    for (int i = 0; i < NBCOL; i++) {
        int k = n0 + bcr + i * (WGS / TK);
        if (k < Ncol) {
            int ci = k / kvol, r = k - ci * kvol;
            int kd = r / kv, r2 = r - kd * kv;
            int kh = r2 / kW, kw = r2 - kh * kW;
            int dd = kd * dild, dh = kh * dilh, dw = kw * dilw;
            bcol[i] = (int4)(dd, dh, dw, ci * Si + dd * HWi + dh * Wi + dw);
        } else {
            bcol[i] = (int4)(-1 << 28, 0, 0, 0); // never in range
        }
    }
    ZERO_ACC();
    for (int j0 = j_lo; j0 < j_hi; j0 += TK) {
        const int j = j0 + jr;
        const bool jok = j < j_hi;
        int b = fdiv(j, mS, sS), o = j - b * So;
        int od = fdiv(o, mHW, sHW), r = o - od * HWo;
        int oh = fdiv(r, mW, sW), ow = r - oh * Wo;
        int id0 = od * sd - pd, ih0 = oh * sh - ph, iw0 = ow * sw - pw;
        int xrow = (b * Cin + g * Cg) * Si + id0 * HWi + ih0 * Wi + iw0;
        int arow = (b * Cout + g * Cog) * So + o;
        for (int i = 0; i < TM * TK / WGS; i++) {
            int m = bcr + i * (WGS / TK);
            As[jr][m] = (jok && m0 + m < Cog) ? dy[arow + (m0 + m) * So] : 0.0f;
        }
        for (int i = 0; i < NBCOL; i++) {
            int4 t = bcol[i];
            float v = 0.0f;
            if (jok && (uint)(id0 + t.x) < (uint)Di && (uint)(ih0 + t.y) < (uint)Hi &&
                (uint)(iw0 + t.z) < (uint)Wi)
                v = x[xrow + t.w];
            Bs[jr][bcr + i * (WGS / TK)] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        COMPUTE_TILE();
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const int total = Cout * Ncol;
    out += out_off;
    if (!direct) out += (ulong)c * total;
    for (int wm = 0; wm < WPTM; wm++) {
        int m = m0 + tm + wm * RTSM;
        if (m >= Cog) continue;
        float o_[WPTN];
        VST(acc[wm], o_);
        for (int wn = 0; wn < WPTN; wn++) {
            int k = n0 + tn * WPTN + wn;
            if (k >= Ncol) continue;
            int idx = (g * Cog + m) * Ncol + k;
            if (direct) out[idx] += o_[wn];
            else out[idx] = o_[wn];
        }
    }
}

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
