//! requires: index
// cl/upsample.cl — nearest and linear (bilinear/trilinear) resizing, forward and backward,
// with PyTorch's index rules evaluated in float as PyTorch's CPU kernels do (so indices and
// weights agree bit for bit). Forward: one work-item per output element. Backward: one
// work-item per input element gathering from the outputs it fed; per axis those outputs form a
// contiguous range (the source index is monotone in the output index), found by binary
// search. No atomics. Not here: bicubic, area, antialias.
#pragma OPENCL FP_CONTRACT OFF

#define MODE_NEAREST 0
#define MODE_LINEAR 1

// PyTorch nearest_idx: identity and 2x special cases, else min(floor(o * scale), in - 1).
inline int near_src(int o, int in, int out, float scale) {
    if (out == in) return o;
    if (out == 2 * in) return o >> 1;
    return min((int)floor((float)o * scale), in - 1);
}

// PyTorch compute_source_index_and_lambda (linear): lower index i0, upper i1, weight l1 of i1.
inline void lin_src(int o, int in, int out, float scale, int align, int *i0, int *i1, float *l1) {
    if (out == in) {
        *i0 = o;
        *i1 = o;
        *l1 = 0.0f;
        return;
    }
    float r;
    if (align) {
        r = scale * (float)o;
    } else {
        float a = (float)o + 0.5f;
        r = scale * a - 0.5f;
        r = r < 0.0f ? 0.0f : r;
    }
    int j = min((int)floor(r), in - 1);
    float l = r - (float)j;
    l = min(max(l, 0.0f), 1.0f);
    *i0 = j;
    *i1 = j + ((j < in - 1) ? 1 : 0);
    *l1 = l;
}

inline int lin_lo(int o, int in, int out, float scale, int align) {
    int a, b;
    float l;
    lin_src(o, in, out, scale, align, &a, &b, &l);
    return a;
}

inline int src_of(int o, int in, int out, float scale, int align, int mode) {
    return mode == MODE_NEAREST ? near_src(o, in, out, scale) : lin_lo(o, in, out, scale, align);
}

// smallest o in [0, out] with src(o) >= v (out when none); src is monotone in o, so start
// from the inverse of the index rule and walk to the exact boundary (a step or two)
inline int first_at_least(int v, int in, int out, float scale, int align, int mode) {
    if (v <= 0) return 0;
    float g = 0.0f;
    if (scale > 0.0f)
        g = (mode == MODE_NEAREST || align) ? (float)v / scale : ((float)v + 0.5f) / scale - 0.5f;
    g = clamp(g, 0.0f, (float)out);
    int o = (int)g;
    while (o > 0 && src_of(o - 1, in, out, scale, align, mode) >= v) o--;
    while (o < out && src_of(o, in, out, scale, align, mode) < v) o++;
    return o;
}

// Range [lo, hi) of outputs along one axis that read input index v.
inline int2 src_range(int v, int in, int out, float scale, int align, int mode) {
    if (mode == MODE_NEAREST)
        return (int2)(first_at_least(v, in, out, scale, align, mode),
                      first_at_least(v + 1, in, out, scale, align, mode));
    // linear: outputs whose lower index is v - 1 or v
    return (int2)(first_at_least(v - 1, in, out, scale, align, mode),
                  first_at_least(v + 1, in, out, scale, align, mode));
}

// weight with which output o (along one axis) reads input v
inline float lin_weight(int v, int o, int in, int out, float scale, int align) {
    int i0, i1;
    float l1;
    lin_src(o, in, out, scale, align, &i0, &i1, &l1);
    float w = 0.0f;
    if (i0 == v) w += 1.0f - l1;
    if (i1 == v) w += l1;
    return w;
}

#define SIZE_ARGS                                                                          \
    int D, int H, int W, int Do, int Ho, int Wo, float sd, float sh, float sw, int align, int mode

// total = N*C*Do*Ho*Wo
kernel void upsample_fwd(global const float *x, ulong x_off, global float *y, ulong y_off,
                         ulong total, SIZE_ARGS) {
    ulong i = get_global_id(0);
    if (i >= total) return;
    int od, oh, ow;
    ulong plane = decode4(i, Do, Ho, Wo, &od, &oh, &ow);
    global const float *p = x + x_off + plane * (ulong)D * (ulong)H * (ulong)W;
    if (mode == MODE_NEAREST) {
        int d = near_src(od, D, Do, sd), h = near_src(oh, H, Ho, sh), w = near_src(ow, W, Wo, sw);
        y[y_off + i] = p[(d * H + h) * W + w];
        return;
    }
    int d0, d1, h0, h1, w0, w1;
    float ld, lh, lw;
    lin_src(od, D, Do, sd, align, &d0, &d1, &ld);
    lin_src(oh, H, Ho, sh, align, &h0, &h1, &lh);
    lin_src(ow, W, Wo, sw, align, &w0, &w1, &lw);
    float md = 1.0f - ld, mh = 1.0f - lh, mw = 1.0f - lw;
    // PyTorch's nesting: t0 * (h0 * (w0 * x000 + w1 * x001) + h1 * (...)) + t1 * (...)
    float a00 = mw * p[(d0 * H + h0) * W + w0] + lw * p[(d0 * H + h0) * W + w1];
    float a01 = mw * p[(d0 * H + h1) * W + w0] + lw * p[(d0 * H + h1) * W + w1];
    float a10 = mw * p[(d1 * H + h0) * W + w0] + lw * p[(d1 * H + h0) * W + w1];
    float a11 = mw * p[(d1 * H + h1) * W + w0] + lw * p[(d1 * H + h1) * W + w1];
    y[y_off + i] = md * (mh * a00 + lh * a01) + ld * (mh * a10 + lh * a11);
}

// total = N*C*D*H*W
kernel void upsample_bwd(global const float *dy, ulong dy_off, global float *dx, ulong dx_off,
                         ulong total, SIZE_ARGS) {
    ulong i = get_global_id(0);
    if (i >= total) return;
    int d, h, w;
    ulong plane = decode4(i, D, H, W, &d, &h, &w);
    global const float *g = dy + dy_off + plane * (ulong)Do * (ulong)Ho * (ulong)Wo;
    int2 rd = src_range(d, D, Do, sd, align, mode), rh = src_range(h, H, Ho, sh, align, mode),
         rw = src_range(w, W, Wo, sw, align, mode);
    float s = 0.0f;
    if (mode == MODE_NEAREST) {
        for (int od = rd.x; od < rd.y; od++)
            for (int oh = rh.x; oh < rh.y; oh++)
                for (int ow = rw.x; ow < rw.y; ow++) s += g[(od * Ho + oh) * Wo + ow];
    } else {
        for (int od = rd.x; od < rd.y; od++) {
            float wd = lin_weight(d, od, D, Do, sd, align);
            if (wd == 0.0f) continue;
            for (int oh = rh.x; oh < rh.y; oh++) {
                float wh = lin_weight(h, oh, H, Ho, sh, align);
                if (wh == 0.0f) continue;
                float wdh = wd * wh;
                for (int ow = rw.x; ow < rw.y; ow++) {
                    float ww = lin_weight(w, ow, W, Wo, sw, align);
                    if (ww == 0.0f) continue;
                    float c = wdh * ww;
                    s += c * g[(od * Ho + oh) * Wo + ow];
                }
            }
        }
    }
    dx[dx_off + i] = s;
}
