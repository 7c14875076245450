//! requires: philox augment_block
// cl/augment_spatial.cl — the spatial augmentation in one resampling pass: the per-sample
// matrix and translation (drawn on the host, src/augment/draw.c), the elastic displacement
// (cubic B-spline of a control grid of Philox draws), images by linear, nearest or
// Catmull-Rom cubic interpolation, labels by nearest neighbour or one-hot linear + argmax.
// Coordinates use only +, -, * in a fixed order (FP_CONTRACT off), so the float references
// in tests/ref find the same taps. Samples the transform misses are copied (centred crop).
#pragma OPENCL FP_CONTRACT OFF

#define P_MAT 72
#define P_OFF 81
#define P_ELASTIC 84
#define P_GSCALE 85

// Control-grid coefficients: g[n][comp][gz][gy][gx] = (2u - 1) maxd, borders locked at 0.
kernel void aug_elastic_grid(global float *g, ulong g_off, uint N, uint G, int dims, float maxd,
                             ulong seed, uint stream, uint epoch, uint sample0) {
    uint per = 3u * G * G * G;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * per) return;
    uint n = (uint)(i / per), j = (uint)(i % per);
    uint gx = j % G, gy = (j / G) % G, gz = (j / (G * G)) % G, comp = j / (G * G * G);
    uint last = G - 1;
    float v = 0.0f;
    bool locked = gx == 0 || gx == last || gy == 0 || gy == last ||
                  (dims == 3 && (gz == 0 || gz == last)) || (dims == 2 && (comp == 0 || gz != 0));
    if (!locked) {
        float u = philox_u01(philox_at(seed, stream, epoch, sample0 + n, (ulong)j));
        v = (2.0f * u - 1.0f) * maxd;
    }
    g[g_off + i] = v;
}

inline void bspline_w(float t, float *w) {
    float t2 = t * t, t3 = t2 * t, s = 1.0f - t;
    w[0] = s * s * s * 0.16666667f;
    w[1] = (3.0f * t3 - 6.0f * t2 + 4.0f) * 0.16666667f;
    w[2] = (-3.0f * t3 + 3.0f * t2 + 3.0f * t + 1.0f) * 0.16666667f;
    w[3] = t3 * 0.16666667f;
}

inline void cubic_w(float t, float *w) { // Catmull-Rom, a = -0.5
    float t2 = t * t, t3 = t2 * t;
    w[0] = -0.5f * t3 + t2 - 0.5f * t;
    w[1] = 1.5f * t3 - 2.5f * t2 + 1.0f;
    w[2] = -1.5f * t3 + 2.0f * t2 + 0.5f * t;
    w[3] = 0.5f * t3 - 0.5f * t2;
}

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// Displacement of output voxel (od, oh, ow) along comp, cubic B-spline of the control grid.
inline float elastic_disp(global const float *g, uint G, int comp, const float *u, int dims) {
    float wz[4] = {1.0f, 0.0f, 0.0f, 0.0f}, wy[4], wx[4];
    int iz = 0, iy = (int)floor(u[1]), ix = (int)floor(u[2]);
    if (dims == 3) {
        iz = (int)floor(u[0]);
        bspline_w(u[0] - (float)iz, wz);
    }
    bspline_w(u[1] - (float)iy, wy);
    bspline_w(u[2] - (float)ix, wx);
    int nz = dims == 3 ? 4 : 1;
    float acc = 0.0f;
    for (int a = 0; a < nz; a++) {
        int gz = dims == 3 ? clampi(iz - 1 + a, 0, (int)G - 1) : 0;
        for (int b = 0; b < 4; b++) {
            int gy = clampi(iy - 1 + b, 0, (int)G - 1);
            for (int c = 0; c < 4; c++) {
                int gx = clampi(ix - 1 + c, 0, (int)G - 1);
                float w = wz[a] * wy[b] * wx[c];
                acc = acc + w * g[(((uint)comp * G + (uint)gz) * G + (uint)gy) * G + (uint)gx];
            }
        }
    }
    return acc;
}

// Tap index along one axis: -1 when outside with a constant border.
inline int tap(int i, int n, int border) {
    if (i >= 0 && i < n) return i;
    return border == 1 ? clampi(i, 0, n - 1) : -1;
}

// interp 0 linear, 1 nearest, 2 cubic; label_mode 0 nearest, 1 one-hot argmax
kernel void aug_spatial(global const float *xi, ulong xi_off, global const float *li, ulong li_off,
                        global float *xo, ulong xo_off, global float *lo, ulong lo_off,
                        global const float *grid, ulong grid_off, global const float *prm,
                        ulong prm_off, uint N, uint C, uint Di, uint Hi, uint Wi, uint Do, uint Ho,
                        uint Wo, uint G, int has_label, int interp, int label_mode, int border,
                        float fill) {
    ulong vo = (ulong)Do * Ho * Wo, vi = (ulong)Di * Hi * Wi;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * vo) return;
    uint n = (uint)(i / vo);
    ulong r = i % vo;
    int o[3] = {(int)(r / ((ulong)Ho * Wo)), (int)((r / Wo) % Ho), (int)(r % Wo)};
    int ni[3] = {(int)Di, (int)Hi, (int)Wi}, no[3] = {(int)Do, (int)Ho, (int)Wo};
    int sh[3];
    for (int a = 0; a < 3; a++) { // floor((n_in - n_out) / 2)
        int dd = ni[a] - no[a];
        sh[a] = dd >= 0 ? dd / 2 : -((-dd + 1) / 2);
    }
    global const float *p = prm + prm_off + (ulong)n * PB;
    global const float *x = xi + xi_off + (ulong)n * C * vi;
    global float *y = xo + xo_off + (ulong)n * C * vo;
    if (p[P_APPLIED] == 0.0f) { // centred crop / pad, exact
        int s[3];
        bool in = true;
        for (int a = 0; a < 3; a++) {
            s[a] = tap(o[a] + sh[a], ni[a], border);
            in = in && s[a] >= 0;
        }
        ulong si = in ? ((ulong)s[0] * Hi + (ulong)s[1]) * Wi + (ulong)s[2] : 0;
        for (uint c = 0; c < C; c++) y[(ulong)c * vo + r] = in ? x[(ulong)c * vi + si] : fill;
        if (has_label) lo[lo_off + (ulong)n * vo + r] = in ? li[li_off + (ulong)n * vi + si] : 0.0f;
        return;
    }
    int dims = (Di > 1 || Do > 1) ? 3 : 2;
    float e[3];
    for (int a = 0; a < 3; a++) e[a] = (float)o[a] - (float)(no[a] - 1) * 0.5f;
    if (p[P_ELASTIC] != 0.0f) {
        float u[3];
        for (int a = 0; a < 3; a++) u[a] = (float)o[a] * p[P_GSCALE + a];
        global const float *gn = grid + grid_off + (ulong)n * 3 * G * G * G;
        for (int a = dims == 3 ? 0 : 1; a < 3; a++) e[a] = e[a] + elastic_disp(gn, G, a, u, dims);
    }
    float s[3];
    for (int a = 0; a < 3; a++) {
        float v = p[P_MAT + 3 * a] * e[0] + p[P_MAT + 3 * a + 1] * e[1];
        v = v + p[P_MAT + 3 * a + 2] * e[2];
        v = v + p[P_OFF + a];
        s[a] = v + ((float)(no[a] - 1) * 0.5f + (float)sh[a]);
    }
    // ---- image ----
    int nt = interp == 2 ? 4 : interp == 1 ? 1 : 2;
    int ti[3][4];
    float tw[3][4];
    for (int a = 0; a < 3; a++) {
        if (interp == 1) {
            ti[a][0] = tap((int)floor(s[a] + 0.5f), ni[a], border);
            tw[a][0] = 1.0f;
        } else {
            int b0 = (int)floor(s[a]);
            float f = s[a] - (float)b0;
            if (interp == 2) {
                cubic_w(f, tw[a]);
                for (int k = 0; k < 4; k++) ti[a][k] = tap(b0 - 1 + k, ni[a], border);
            } else {
                tw[a][0] = 1.0f - f;
                tw[a][1] = f;
                ti[a][0] = tap(b0, ni[a], border);
                ti[a][1] = tap(b0 + 1, ni[a], border);
            }
        }
    }
    for (uint c = 0; c < C; c++) {
        global const float *xc = x + (ulong)c * vi;
        float acc = 0.0f;
        for (int a = 0; a < nt; a++) {
            if (tw[0][a] == 0.0f) continue;
            for (int b = 0; b < nt; b++) {
                if (tw[1][b] == 0.0f) continue;
                for (int k = 0; k < nt; k++) {
                    float w = tw[0][a] * tw[1][b] * tw[2][k];
                    if (w == 0.0f) continue;
                    bool in = ti[0][a] >= 0 && ti[1][b] >= 0 && ti[2][k] >= 0;
                    float v = in ? xc[((ulong)ti[0][a] * Hi + (ulong)ti[1][b]) * Wi + (ulong)ti[2][k]] : fill;
                    acc = acc + w * v;
                }
            }
        }
        y[(ulong)c * vo + r] = acc;
    }
    if (!has_label) return;
    // ---- label ----
    global const float *l = li + li_off + (ulong)n * vi;
    float lab = 0.0f;
    if (label_mode == 0) {
        int q[3];
        bool in = true;
        for (int a = 0; a < 3; a++) {
            q[a] = tap((int)floor(s[a] + 0.5f), ni[a], border);
            in = in && q[a] >= 0;
        }
        if (in) lab = l[((ulong)q[0] * Hi + (ulong)q[1]) * Wi + (ulong)q[2]];
    } else {
        float lv[8], lw[8];
        int m = 0;
        for (int a = 0; a < 3; a++) {
            int b0 = (int)floor(s[a]);
            float f = s[a] - (float)b0;
            tw[a][0] = 1.0f - f;
            tw[a][1] = f;
            ti[a][0] = tap(b0, ni[a], border);
            ti[a][1] = tap(b0 + 1, ni[a], border);
        }
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                for (int k = 0; k < 2; k++) {
                    float w = tw[0][a] * tw[1][b] * tw[2][k];
                    if (w == 0.0f || ti[0][a] < 0 || ti[1][b] < 0 || ti[2][k] < 0) continue;
                    lv[m] = l[((ulong)ti[0][a] * Hi + (ulong)ti[1][b]) * Wi + (ulong)ti[2][k]];
                    lw[m] = w;
                    m++;
                }
        float best = -1.0f;
        for (int j = 0; j < m; j++) {
            float t = 0.0f;
            for (int k = 0; k < m; k++)
                if (lv[k] == lv[j]) t = t + lw[k];
            if (t > best || (t == best && lv[j] < lab)) {
                best = t;
                lab = lv[j];
            }
        }
    }
    lo[lo_off + (ulong)n * vo + r] = lab;
}
