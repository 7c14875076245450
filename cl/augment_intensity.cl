//! requires: philox augment_block
// cl/augment_intensity.cl — intensity augmentations on (N, C, D, H, W) images, in place:
// per-(sample, channel) statistics (mean, std, min, max; fixed-order trees), the pointwise
// transforms (noise, Rician noise, brightness, contrast, gamma, bias field, coarse dropout),
// one separable Gaussian-blur pass per axis and simulated low resolution. Parameters come
// from the per-sample blocks drawn on the host; noise draws Philox on the device (element
// i of the sample's stream, as medcl_philox_fill_normal). Untouched channels are not written.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

#define K_NOISE 1
#define K_RICIAN 2
#define K_MUL 4
#define K_ADD 5
#define K_CONTRAST 6
#define K_GAMMA 7
#define K_BIAS 9
#define K_DROPOUT 10
#define K_GAMMA_RESTORE 100

// stats[(n C + c) 4 + 0..3] = mean, std (population), min, max of x[n, c]; one group each.
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void aug_stats(global const float *x, ulong x_off, global float *st, ulong st_off, ulong V) {
    local float s0[WG], s1[WG], s2[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0);
    global const float *xc = x + x_off + g * V;
    float sum = 0.0f, mn = INFINITY, mx = -INFINITY;
    for (ulong i = l; i < V; i += WG) {
        float v = xc[i];
        sum += v;
        mn = fmin(mn, v);
        mx = fmax(mx, v);
    }
    s0[l] = sum;
    s1[l] = mn;
    s2[l] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) {
            s0[l] += s0[l + h];
            s1[l] = fmin(s1[l], s1[l + h]);
            s2[l] = fmax(s2[l], s2[l + h]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float mean = s0[0] / (float)V, lo = s1[0], hi = s2[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    float sq = 0.0f;
    for (ulong i = l; i < V; i += WG) {
        float d = xc[i] - mean;
        sq += d * d;
    }
    s0[l] = sq;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s0[l] += s0[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) {
        global float *o = st + st_off + g * 4;
        o[0] = mean;
        o[1] = sqrt(s0[0] / (float)V);
        o[2] = lo;
        o[3] = hi;
    }
}

inline float normal_at(ulong seed, uint stream, uint epoch, uint sample, ulong i) {
    ulong j = i & ~(ulong)1;
    float2 z = philox_normal2(philox_at(seed, stream, epoch, sample, j),
                              philox_at(seed, stream, epoch, sample, j + 1));
    return (i & 1) ? z.s1 : z.s0;
}

inline float bias_poly(global const float *cf, float z, float y, float x, int dims) {
    // terms i + j + k <= 3 in the order of tests/ref (k over z, j over y, i over x)
    float acc = 0.0f;
    int t = 0;
    float pz = 1.0f;
    for (int k = 0; k <= 3; k++) {
        float py = 1.0f;
        for (int j = 0; j + k <= 3; j++) {
            float px = 1.0f;
            for (int i = 0; i + j + k <= 3; i++) {
                if (dims == 3 || k == 0) acc = acc + cf[t] * (pz * py * px);
                t++;
                px = px * x;
            }
            py = py * y;
        }
        pz = pz * z;
    }
    return acc;
}

// One work-item per voxel of every (n, c).
kernel void aug_pointwise(global float *x, ulong x_off, global const float *prm, ulong prm_off,
                          global const float *st, ulong st_off, global const float *st2,
                          ulong st2_off, uint N, uint C, uint D, uint H, uint W, int kind,
                          int invert, int retain, int preserve, float value, ulong seed,
                          uint stream, uint epoch, uint sample0) {
    ulong V = (ulong)D * H * W;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * C * V) return;
    uint n = (uint)(i / ((ulong)C * V));
    uint c = (uint)((i / V) % C);
    ulong v = i % V;
    global const float *p = prm + prm_off + (ulong)n * PB;
    global const float *ch = p + P_CH + 4 * c;
    if (p[P_APPLIED] == 0.0f || ch[0] == 0.0f) return;
    global float *xp = x + x_off + i;
    float a = *xp, f = ch[1];
    global const float *s = st + st_off + ((ulong)n * C + c) * 4;
    switch (kind) {
    case K_NOISE: a = a + f * normal_at(seed, stream, epoch, sample0 + n, (ulong)c * V + v); break;
    case K_RICIAN: {
        ulong e = 2 * ((ulong)c * V + v);
        float2 z = philox_normal2(philox_at(seed, stream, epoch, sample0 + n, e),
                                  philox_at(seed, stream, epoch, sample0 + n, e + 1));
        float re = a + f * z.s0, im = f * z.s1;
        a = sqrt(re * re + im * im);
        break;
    }
    case K_MUL: a = a * f; break;
    case K_ADD: a = a + f; break;
    case K_CONTRAST:
        a = (a - s[0]) * f + s[0];
        if (preserve) a = fmin(fmax(a, s[2]), s[3]);
        break;
    case K_GAMMA: {
        float mn = invert ? -s[3] : s[2], mx = invert ? -s[2] : s[3];
        float rg = mx - mn;
        float t = ((invert ? -a : a) - mn) / fmax(rg, 1e-7f);
        a = pow(fmax(t, 0.0f), f) * rg + mn;
        if (invert && !retain) a = -a;
        break;
    }
    case K_GAMMA_RESTORE: { // st: before gamma (of x), st2: after gamma (of the possibly inverted image)
        global const float *s2 = st2 + st2_off + ((ulong)n * C + c) * 4;
        float m1 = invert ? -s[0] : s[0];
        a = (a - s2[0]) * (s[1] / fmax(s2[1], 1e-7f)) + m1;
        if (invert) a = -a;
        break;
    }
    case K_BIAS: {
        uint d = (uint)(v / ((ulong)H * W)), h = (uint)((v / W) % H), w = (uint)(v % W);
        float z = D > 1 ? 2.0f * (float)d / (float)(D - 1) - 1.0f : 0.0f;
        float y = H > 1 ? 2.0f * (float)h / (float)(H - 1) - 1.0f : 0.0f;
        float xx = W > 1 ? 2.0f * (float)w / (float)(W - 1) - 1.0f : 0.0f;
        a = a * exp(bias_poly(p + P_X, z, y, xx, D > 1 ? 3 : 2));
        break;
    }
    case K_DROPOUT: {
        float d = (float)(v / ((ulong)H * W)), h = (float)((v / W) % H), w = (float)(v % W);
        int nb = (int)p[P_X];
        for (int b = 0; b < nb; b++) {
            global const float *bx = p + P_X + 1 + 6 * b;
            if (d >= bx[0] && d < bx[1] && h >= bx[2] && h < bx[3] && w >= bx[4] && w < bx[5]) a = value;
        }
        break;
    }
    default: break;
    }
    *xp = a;
}

inline int reflect(int j, int n) { // scipy "reflect": d c b a | a b c d | d c b a
    int period = 2 * n;
    j = j % period;
    if (j < 0) j += period;
    return j < n ? j : period - 1 - j;
}

// One blur pass along axis (0 D, 1 H, 2 W): y = sum_k w_k x[reflect(i + k)], sigma per
// (sample, channel, axis) from the block; radius = int(4 sigma + 0.5) as scipy. Channels not
// hit are copied.
kernel void aug_blur_axis(global const float *x, ulong x_off, global float *y, ulong y_off,
                          global const float *prm, ulong prm_off, uint N, uint C, uint D, uint H,
                          uint W, int axis) {
    ulong V = (ulong)D * H * W;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * C * V) return;
    uint n = (uint)(i / ((ulong)C * V));
    uint c = (uint)((i / V) % C);
    ulong v = i % V;
    global const float *p = prm + prm_off + (ulong)n * PB;
    global const float *ch = p + P_CH + 4 * c;
    if (p[P_APPLIED] == 0.0f || ch[0] == 0.0f) {
        y[y_off + i] = x[x_off + i];
        return;
    }
    int pos[3] = {(int)(v / ((ulong)H * W)), (int)((v / W) % H), (int)(v % W)};
    int len = axis == 0 ? (int)D : axis == 1 ? (int)H : (int)W;
    ulong stride = axis == 0 ? (ulong)H * W : axis == 1 ? (ulong)W : 1;
    global const float *line = x + x_off + (i - (ulong)pos[axis] * stride);
    float sigma = ch[1 + axis];
    int rad = (int)(4.0f * sigma + 0.5f);
    if (rad > 64) rad = 64;
    float inv = -0.5f / (sigma * sigma), wsum = 0.0f, acc = 0.0f;
    for (int k = -rad; k <= rad; k++) {
        float w = exp((float)(k * k) * inv);
        wsum += w;
        acc += w * line[(ulong)reflect(pos[axis] + k, len) * stride];
    }
    y[y_off + i] = acc / wsum;
}

// Simulated low resolution: per (sample, channel) zoom z (ch[1]); low-resolution size
// m = max(1, rint(n z)) per axis (D kept for 2D); low-resolution voxel j takes the input at
// floor((j + 0.5) n / m) (nearest), the output interpolates them linearly with
// align_corners = false (as torch.nn.functional.interpolate). Channels not hit are copied.
kernel void aug_lowres(global const float *x, ulong x_off, global float *y, ulong y_off,
                       global const float *prm, ulong prm_off, uint N, uint C, uint D, uint H,
                       uint W) {
    ulong V = (ulong)D * H * W;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * C * V) return;
    uint n = (uint)(i / ((ulong)C * V));
    uint c = (uint)((i / V) % C);
    ulong v = i % V;
    global const float *p = prm + prm_off + (ulong)n * PB;
    global const float *ch = p + P_CH + 4 * c;
    if (p[P_APPLIED] == 0.0f || ch[0] == 0.0f) {
        y[y_off + i] = x[x_off + i];
        return;
    }
    int len[3] = {(int)D, (int)H, (int)W};
    int pos[3] = {(int)(v / ((ulong)H * W)), (int)((v / W) % H), (int)(v % W)};
    int src[3][2];
    float fr[3];
    for (int a = 0; a < 3; a++) {
        int nn = len[a];
        int m = nn == 1 ? 1 : (int)rint((float)nn * ch[1]);
        if (m < 1) m = 1;
        float u = ((float)pos[a] + 0.5f) * (float)m / (float)nn - 0.5f;
        if (u < 0.0f) u = 0.0f;
        int j0 = (int)floor(u);
        if (j0 > m - 1) j0 = m - 1;
        int j1 = j0 + 1 < m ? j0 + 1 : m - 1;
        fr[a] = u - (float)j0;
        int s0 = (int)floor(((float)j0 + 0.5f) * (float)nn / (float)m);
        int s1 = (int)floor(((float)j1 + 0.5f) * (float)nn / (float)m);
        src[a][0] = s0 < nn ? s0 : nn - 1;
        src[a][1] = s1 < nn ? s1 : nn - 1;
    }
    global const float *xc = x + x_off + (i - v);
    float acc = 0.0f;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 2; k++) {
                float w = (a ? fr[0] : 1.0f - fr[0]) * (b ? fr[1] : 1.0f - fr[1]) * (k ? fr[2] : 1.0f - fr[2]);
                if (w == 0.0f) continue;
                acc = acc + w * xc[((ulong)src[0][a] * H + (ulong)src[1][b]) * W + (ulong)src[2][k]];
            }
    y[y_off + i] = acc;
}
