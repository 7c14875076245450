//! requires: index
// cl/pool.cl — max and average pooling (2D as D = 1) forward and backward, global average
// pooling. One work-item per output element (forward) or per input element (backward: each
// input element gathers from the windows that contain it, in ascending (od, oh, ow) order,
// so there are no atomics and the result is reproducible). Global pooling: one work-group
// per (n, c) plane, fixed tree in local memory. Not here: dilation, ceil_mode.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

#define MODE_MAX 0
#define MODE_AVG 1

typedef struct {
    int D, H, W, Do, Ho, Wo, kd, kh, kw, sd, sh, sw, pd, ph, pw;
} geom;

// Index (d * H + h) * W + w of the window maximum of output (od, oh, ow) in plane p; the
// first maximum in scan order wins, a NaN replaces the running maximum (PyTorch's rule).
inline int window_argmax(global const float *p, geom g, int od, int oh, int ow, float *best) {
    int d0 = od * g.sd - g.pd, h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    int d1 = min(d0 + g.kd, g.D), h1 = min(h0 + g.kh, g.H), w1 = min(w0 + g.kw, g.W);
    d0 = max(d0, 0);
    h0 = max(h0, 0);
    w0 = max(w0, 0);
    float m = -INFINITY;
    int idx = (d0 * g.H + h0) * g.W + w0;
    for (int d = d0; d < d1; d++)
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) {
                int j = (d * g.H + h) * g.W + w;
                float v = p[j];
                if (v > m || isnan(v)) {
                    m = v;
                    idx = j;
                }
            }
    *best = m;
    return idx;
}

// Divisor of the average window of (od, oh, ow): PyTorch's pool_size (window clipped to the
// padded input) with count_include_pad, else the number of real elements.
inline int window_divisor(geom g, int od, int oh, int ow, int include_pad) {
    int d0 = od * g.sd - g.pd, h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    int d1 = min(d0 + g.kd, g.D + g.pd), h1 = min(h0 + g.kh, g.H + g.ph), w1 = min(w0 + g.kw, g.W + g.pw);
    if (include_pad) return (d1 - d0) * (h1 - h0) * (w1 - w0);
    d0 = max(d0, 0);
    h0 = max(h0, 0);
    w0 = max(w0, 0);
    d1 = min(d1, g.D);
    h1 = min(h1, g.H);
    w1 = min(w1, g.W);
    return (d1 - d0) * (h1 - h0) * (w1 - w0);
}

#define GEOM_ARGS                                                                          \
    int D, int H, int W, int Do, int Ho, int Wo, int kd, int kh, int kw, int sd, int sh,   \
        int sw, int pd, int ph, int pw
#define GEOM_MAKE                                                                          \
    geom g;                                                                                \
    g.D = D; g.H = H; g.W = W; g.Do = Do; g.Ho = Ho; g.Wo = Wo;                            \
    g.kd = kd; g.kh = kh; g.kw = kw; g.sd = sd; g.sh = sh; g.sw = sw;                      \
    g.pd = pd; g.ph = ph; g.pw = pw

// x (N*C planes of D*H*W), y and am (N*C planes of Do*Ho*Wo); total = N*C*Do*Ho*Wo
kernel void pool_fwd(global const float *x, ulong x_off, global float *y, ulong y_off,
                     global int *am, ulong am_off, ulong total, GEOM_ARGS, int mode,
                     int include_pad) {
    ulong i = get_global_id(0);
    if (i >= total) return;
    GEOM_MAKE;
    int od, oh, ow;
    ulong plane = decode4(i, Do, Ho, Wo, &od, &oh, &ow);
    global const float *p = x + x_off + plane * (ulong)D * (ulong)H * (ulong)W;
    if (mode == MODE_MAX) {
        float m;
        int idx = window_argmax(p, g, od, oh, ow, &m);
        y[y_off + i] = m;
        if (am) am[am_off + i] = idx;
        return;
    }
    int d0 = od * sd - pd, h0 = oh * sh - ph, w0 = ow * sw - pw;
    int d1 = min(d0 + kd, D), h1 = min(h0 + kh, H), w1 = min(w0 + kw, W);
    d0 = max(d0, 0);
    h0 = max(h0, 0);
    w0 = max(w0, 0);
    float s = 0.0f;
    for (int d = d0; d < d1; d++)
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) s += p[(d * H + h) * W + w];
    y[y_off + i] = s / (float)window_divisor(g, od, oh, ow, include_pad);
}

// Outputs along one axis whose window [o*s - p, o*s - p + k) contains input index v.
inline int2 out_range(int v, int k, int s, int p, int out) {
    int lo = (v + p < k) ? 0 : (v + p - k) / s + 1;
    int hi = min((v + p) / s, out - 1);
    return (int2)(lo, hi);
}

// dx: one work-item per input element; total = N*C*D*H*W. Max uses am when given, else
// recomputes each window's argmax from x.
kernel void pool_bwd(global const float *x, ulong x_off, global const int *am, ulong am_off,
                     global const float *dy, ulong dy_off, global float *dx, ulong dx_off,
                     ulong total, GEOM_ARGS, int mode, int include_pad) {
    ulong i = get_global_id(0);
    if (i >= total) return;
    GEOM_MAKE;
    int d, h, w;
    ulong plane = decode4(i, D, H, W, &d, &h, &w);
    int me = (d * H + h) * W + w;
    int2 rd = out_range(d, kd, sd, pd, Do), rh = out_range(h, kh, sh, ph, Ho),
         rw = out_range(w, kw, sw, pw, Wo);
    ulong obase = plane * (ulong)Do * (ulong)Ho * (ulong)Wo;
    global const float *p = x ? x + x_off + plane * (ulong)D * (ulong)H * (ulong)W : 0;
    float s = 0.0f;
    for (int od = rd.x; od <= rd.y; od++)
        for (int oh = rh.x; oh <= rh.y; oh++)
            for (int ow = rw.x; ow <= rw.y; ow++) {
                ulong o = obase + (ulong)((od * Ho + oh) * Wo + ow);
                if (mode == MODE_MAX) {
                    int win;
                    if (am) {
                        win = am[am_off + o];
                    } else {
                        float m;
                        win = window_argmax(p, g, od, oh, ow, &m);
                    }
                    if (win == me) s += dy[dy_off + o];
                } else {
                    s += dy[dy_off + o] / (float)window_divisor(g, od, oh, ow, include_pad);
                }
            }
    dx[dx_off + i] = s;
}

// y[plane] = mean of x over the plane (n elements); one work-group per plane.
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void global_avg_pool_fwd(global const float *x, ulong x_off, global float *y, ulong y_off,
                         ulong n) {
    local float s[WG];
    uint l = get_local_id(0);
    ulong plane = get_group_id(0);
    global const float *p = x + x_off + plane * n;
    float acc = 0.0f;
    for (ulong j = l; j < n; j += WG) acc += p[j];
    s[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] += s[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) y[y_off + plane] = s[0] / (float)n;
}

// dx = dy[plane] / n; total = planes * n
kernel void global_avg_pool_bwd(global const float *dy, ulong dy_off, global float *dx,
                                ulong dx_off, ulong n, ulong total) {
    ulong i = get_global_id(0);
    if (i >= total) return;
    dx[dx_off + i] = dy[dy_off + i / n] / (float)n;
}
