/* tests/ref/ref_augment.c — see ref_augment.h. Naive loops in double; no OpenCL. */
#include "ref_augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REF_PI 3.14159265358979323846

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
static int tap(int i, int n, int border) {
    if (i >= 0 && i < n) return i;
    return border == 1 ? clampi(i, 0, n - 1) : -1;
}

static void bspline_w(float t, float *w) {
    float t2 = t * t, t3 = t2 * t, s = 1.0f - t;
    w[0] = s * s * s * 0.16666667f;
    w[1] = (3.0f * t3 - 6.0f * t2 + 4.0f) * 0.16666667f;
    w[2] = (-3.0f * t3 + 3.0f * t2 + 3.0f * t + 1.0f) * 0.16666667f;
    w[3] = t3 * 0.16666667f;
}

static double cubic_wd(double t, int k) {
    double t2 = t * t, t3 = t2 * t;
    switch (k) {
    case 0: return -0.5 * t3 + t2 - 0.5 * t;
    case 1: return 1.5 * t3 - 2.5 * t2 + 1.0;
    case 2: return -1.5 * t3 + 2.0 * t2 + 0.5 * t;
    default: return 0.5 * t3 - 0.5 * t2;
    }
}

void ref_aug_spatial(const medcl_augment_transform *t, int ti, const aug_geom *g, const float *blocks,
                     uint64_t seed, uint32_t epoch, uint32_t sample0, const float *x, const float *l,
                     double *y, float *lo) {
    const medcl_augment_spatial *s = &t->spatial;
    int ni[3] = {(int)g->in[0], (int)g->in[1], (int)g->in[2]}, no[3] = {(int)g->out[0], (int)g->out[1], (int)g->out[2]};
    int64_t vi = (int64_t)ni[0] * ni[1] * ni[2], vo = (int64_t)no[0] * no[1] * no[2];
    int dims = (ni[0] > 1 || no[0] > 1) ? 3 : 2, G = s->elastic_points;
    int sh[3];
    for (int a = 0; a < 3; a++) {
        int dd = ni[a] - no[a];
        sh[a] = dd >= 0 ? dd / 2 : -((-dd + 1) / 2);
    }
    float *grid = malloc(sizeof(float) * 3 * (size_t)G * G * G);
    for (int64_t n = 0; n < g->n; n++) {
        const float *p = blocks + n * AUG_PB;
        for (uint32_t j = 0; j < (uint32_t)(3 * G * G * G); j++)
            grid[j] = aug_elastic_coef(seed, ti, epoch, sample0 + (uint32_t)n, G, s->elastic_max, dims, j);
        for (int64_t r = 0; r < vo; r++) {
            int o[3] = {(int)(r / ((int64_t)no[1] * no[2])), (int)((r / no[2]) % no[1]), (int)(r % no[2])};
            const float *xn = x + n * g->c * vi;
            if (p[AUG_P_APPLIED] == 0.0f) {
                int q[3];
                int in = 1;
                for (int a = 0; a < 3; a++) {
                    q[a] = tap(o[a] + sh[a], ni[a], s->border);
                    in &= q[a] >= 0;
                }
                int64_t si = in ? ((int64_t)q[0] * ni[1] + q[1]) * ni[2] + q[2] : 0;
                for (int64_t c = 0; c < g->c; c++) y[(n * g->c + c) * vo + r] = in ? xn[c * vi + si] : s->fill;
                if (l) lo[n * vo + r] = in ? l[n * vi + si] : 0.0f;
                continue;
            }
            float e[3];
            for (int a = 0; a < 3; a++) e[a] = (float)o[a] - (float)(no[a] - 1) * 0.5f;
            if (p[AUG_P_ELASTIC] != 0.0f) {
                float u[3];
                for (int a = 0; a < 3; a++) u[a] = (float)o[a] * p[AUG_P_GSCALE + a];
                for (int comp = dims == 3 ? 0 : 1; comp < 3; comp++) {
                    float wz[4] = {1, 0, 0, 0}, wy[4], wx[4];
                    int iz = 0, iy = (int)floorf(u[1]), ix = (int)floorf(u[2]);
                    if (dims == 3) {
                        iz = (int)floorf(u[0]);
                        bspline_w(u[0] - (float)iz, wz);
                    }
                    bspline_w(u[1] - (float)iy, wy);
                    bspline_w(u[2] - (float)ix, wx);
                    float acc = 0.0f;
                    for (int a = 0; a < (dims == 3 ? 4 : 1); a++) {
                        int gz = dims == 3 ? clampi(iz - 1 + a, 0, G - 1) : 0;
                        for (int b = 0; b < 4; b++)
                            for (int c = 0; c < 4; c++) {
                                int gy = clampi(iy - 1 + b, 0, G - 1), gx = clampi(ix - 1 + c, 0, G - 1);
                                float w = wz[a] * wy[b] * wx[c];
                                acc = acc + w * grid[((comp * G + gz) * G + gy) * G + gx];
                            }
                    }
                    e[comp] = e[comp] + acc;
                }
            }
            float sc[3];
            for (int a = 0; a < 3; a++) {
                float v = p[AUG_P_MAT + 3 * a] * e[0] + p[AUG_P_MAT + 3 * a + 1] * e[1];
                v = v + p[AUG_P_MAT + 3 * a + 2] * e[2];
                v = v + p[AUG_P_OFF + a];
                sc[a] = v + ((float)(no[a] - 1) * 0.5f + (float)sh[a]);
            }
            int interp = (int)s->image_interp;
            int nt = interp == 2 ? 4 : interp == 1 ? 1 : 2;
            int tix[3][4];
            double tw[3][4];
            for (int a = 0; a < 3; a++) {
                if (interp == 1) {
                    tix[a][0] = tap((int)floorf(sc[a] + 0.5f), ni[a], s->border);
                    tw[a][0] = 1;
                } else {
                    int b0 = (int)floorf(sc[a]);
                    double f = (double)(sc[a] - (float)b0);
                    for (int k = 0; k < nt; k++) {
                        tix[a][k] = tap(b0 + (nt == 4 ? k - 1 : k), ni[a], s->border);
                        tw[a][k] = nt == 4 ? cubic_wd(f, k) : (k ? f : 1.0 - f);
                    }
                }
            }
            for (int64_t c = 0; c < g->c; c++) {
                double acc = 0;
                for (int a = 0; a < nt; a++)
                    for (int b = 0; b < nt; b++)
                        for (int k = 0; k < nt; k++) {
                            double w = tw[0][a] * tw[1][b] * tw[2][k];
                            if (w == 0) continue;
                            int in = tix[0][a] >= 0 && tix[1][b] >= 0 && tix[2][k] >= 0;
                            double v = in ? xn[c * vi + ((int64_t)tix[0][a] * ni[1] + tix[1][b]) * ni[2] + tix[2][k]] : s->fill;
                            acc += w * v;
                        }
                y[(n * g->c + c) * vo + r] = acc;
            }
            if (!l) continue;
            const float *ln = l + n * vi;
            float lab = 0.0f;
            if (s->label_interp == MEDCL_AUGMENT_LABEL_NEAREST) {
                int q[3], in = 1;
                for (int a = 0; a < 3; a++) {
                    q[a] = tap((int)floorf(sc[a] + 0.5f), ni[a], s->border);
                    in &= q[a] >= 0;
                }
                if (in) lab = ln[((int64_t)q[0] * ni[1] + q[1]) * ni[2] + q[2]];
            } else {
                /* one-hot linear interpolation then argmax (ties: smaller class), float weights
                 * as the kernel */
                float lv[8], lw[8], fw[3][2];
                int ti2[3][2], m = 0;
                for (int a = 0; a < 3; a++) {
                    int b0 = (int)floorf(sc[a]);
                    float f = sc[a] - (float)b0;
                    fw[a][0] = 1.0f - f;
                    fw[a][1] = f;
                    ti2[a][0] = tap(b0, ni[a], s->border);
                    ti2[a][1] = tap(b0 + 1, ni[a], s->border);
                }
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int k = 0; k < 2; k++) {
                            float w = fw[0][a] * fw[1][b] * fw[2][k];
                            if (w == 0.0f || ti2[0][a] < 0 || ti2[1][b] < 0 || ti2[2][k] < 0) continue;
                            lv[m] = ln[((int64_t)ti2[0][a] * ni[1] + ti2[1][b]) * ni[2] + ti2[2][k]];
                            lw[m++] = w;
                        }
                float best = -1.0f;
                for (int j = 0; j < m; j++) {
                    float tt = 0.0f;
                    for (int k = 0; k < m; k++)
                        if (lv[k] == lv[j]) tt = tt + lw[k];
                    if (tt > best || (tt == best && lv[j] < lab)) {
                        best = tt;
                        lab = lv[j];
                    }
                }
            }
            lo[n * vo + r] = lab;
        }
    }
    free(grid);
}

/* per-channel statistics in double */
static void stats(const double *x, int64_t V, double *mean, double *sd, double *mn, double *mx) {
    double s = 0, lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < V; i++) {
        s += x[i];
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
    }
    double m = s / (double)V, q = 0;
    for (int64_t i = 0; i < V; i++) q += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = sqrt(q / (double)V);
    *mn = lo;
    *mx = hi;
}

static float normal_at(uint64_t seed, uint32_t stream, uint32_t epoch, uint32_t sample, uint64_t i) {
    uint64_t j = i & ~(uint64_t)1;
    float z0, z1;
    medcl_philox_normal2(medcl_philox_at(seed, stream, epoch, sample, j),
                         medcl_philox_at(seed, stream, epoch, sample, j + 1), &z0, &z1);
    return (i & 1) ? z1 : z0;
}

void ref_aug_pointwise(const medcl_augment_transform *t, int ti, const aug_geom *g, const float *blocks,
                       uint64_t seed, uint32_t epoch, uint32_t sample0, const float *x, double *y) {
    int64_t D = g->out[0], H = g->out[1], W = g->out[2], V = D * H * W;
    double *a = malloc(sizeof(double) * (size_t)V);
    for (int64_t n = 0; n < g->n; n++) {
        const float *p = blocks + n * AUG_PB;
        for (int64_t c = 0; c < g->c; c++) {
            const float *xc = x + (n * g->c + c) * V;
            double *yc = y + (n * g->c + c) * V;
            for (int64_t v = 0; v < V; v++) yc[v] = xc[v];
            const float *ch = p + AUG_P_CH + 4 * c;
            if (p[AUG_P_APPLIED] == 0.0f || ch[0] == 0.0f) continue;
            double f = ch[1], mean, sd, mn, mx;
            stats(yc, V, &mean, &sd, &mn, &mx);
            uint32_t stream = AUG_STREAM_DEV(ti), smp = sample0 + (uint32_t)n;
            for (int64_t v = 0; v < V; v++) {
                double xv = yc[v], r = xv;
                int64_t d = v / (H * W), h = (v / W) % H, w = v % W;
                switch (t->kind) {
                case MEDCL_AUGMENT_GAUSSIAN_NOISE: r = xv + f * normal_at(seed, stream, epoch, smp, (uint64_t)(c * V + v)); break;
                case MEDCL_AUGMENT_RICIAN_NOISE: {
                    uint64_t e = 2 * (uint64_t)(c * V + v);
                    float z0, z1;
                    medcl_philox_normal2(medcl_philox_at(seed, stream, epoch, smp, e),
                                         medcl_philox_at(seed, stream, epoch, smp, e + 1), &z0, &z1);
                    double re = xv + f * z0, im = f * z1;
                    r = sqrt(re * re + im * im);
                    break;
                }
                case MEDCL_AUGMENT_BRIGHTNESS_MUL: r = xv * f; break;
                case MEDCL_AUGMENT_BRIGHTNESS_ADD: r = xv + f; break;
                case MEDCL_AUGMENT_CONTRAST:
                    r = (xv - mean) * f + mean;
                    if (t->preserve_range) r = fmin(fmax(r, mn), mx);
                    break;
                case MEDCL_AUGMENT_GAMMA: {
                    double s = t->invert ? -1 : 1, lo = t->invert ? -mx : mn, rg = mx - mn;
                    r = pow(fmax((s * xv - lo) / fmax(rg, 1e-7), 0.0), f) * rg + lo;
                    break;
                }
                case MEDCL_AUGMENT_BIAS_FIELD: {
                    double z = D > 1 ? 2.0 * d / (D - 1) - 1 : 0, yy = H > 1 ? 2.0 * h / (H - 1) - 1 : 0,
                           xx = W > 1 ? 2.0 * w / (W - 1) - 1 : 0, acc = 0;
                    int k = 0;
                    for (int kz = 0; kz <= 3; kz++)
                        for (int jy = 0; jy + kz <= 3; jy++)
                            for (int ix = 0; ix + jy + kz <= 3; ix++, k++)
                                if (D > 1 || kz == 0) acc += p[AUG_P_COEF + k] * pow(z, kz) * pow(yy, jy) * pow(xx, ix);
                    r = xv * exp(acc);
                    break;
                }
                case MEDCL_AUGMENT_COARSE_DROPOUT:
                    for (int b = 0; b < (int)p[AUG_P_NBOX]; b++) {
                        const float *bx = p + AUG_P_BOX + 6 * b;
                        if (d >= bx[0] && d < bx[1] && h >= bx[2] && h < bx[3] && w >= bx[4] && w < bx[5]) r = t->value;
                    }
                    break;
                default: break;
                }
                a[v] = r;
            }
            if (t->kind == MEDCL_AUGMENT_GAMMA) {
                if (t->retain_stats) {
                    double m2, s2, l2, h2;
                    stats(a, V, &m2, &s2, &l2, &h2);
                    double m1 = t->invert ? -mean : mean;
                    for (int64_t v = 0; v < V; v++) a[v] = (a[v] - m2) * (sd / fmax(s2, 1e-7)) + m1;
                }
                if (t->invert)
                    for (int64_t v = 0; v < V; v++) a[v] = -a[v];
            }
            for (int64_t v = 0; v < V; v++) yc[v] = a[v];
        }
    }
    free(a);
}

static int reflect(int j, int n) {
    int period = 2 * n;
    j %= period;
    if (j < 0) j += period;
    return j < n ? j : period - 1 - j;
}

void ref_aug_blur(const aug_geom *g, const float *blocks, const float *x, double *y) {
    int64_t len[3] = {g->out[0], g->out[1], g->out[2]}, V = len[0] * len[1] * len[2];
    int64_t stride[3] = {len[1] * len[2], len[2], 1};
    double *a = malloc(sizeof(double) * (size_t)V), *b = malloc(sizeof(double) * (size_t)V);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < g->c; c++) {
            const float *p = blocks + n * AUG_PB, *ch = p + AUG_P_CH + 4 * c;
            const float *xc = x + (n * g->c + c) * V;
            for (int64_t v = 0; v < V; v++) a[v] = xc[v];
            if (p[AUG_P_APPLIED] != 0.0f && ch[0] != 0.0f)
                for (int ax = len[0] > 1 ? 0 : 1; ax < 3; ax++) {
                    double sg = ch[1 + ax];
                    int rad = (int)(4.0 * sg + 0.5);
                    for (int64_t v = 0; v < V; v++) {
                        int pos = (int)((v / stride[ax]) % len[ax]);
                        int64_t base = v - pos * stride[ax];
                        double acc = 0, ws = 0;
                        for (int k = -rad; k <= rad; k++) {
                            double w = exp(-0.5 * k * k / (sg * sg));
                            ws += w;
                            acc += w * a[base + reflect(pos + k, (int)len[ax]) * stride[ax]];
                        }
                        b[v] = acc / ws;
                    }
                    memcpy(a, b, sizeof(double) * (size_t)V);
                }
            memcpy(y + (n * g->c + c) * V, a, sizeof(double) * (size_t)V);
        }
    free(a);
    free(b);
}

void ref_aug_lowres(const aug_geom *g, const float *blocks, const float *x, double *y) {
    int64_t len[3] = {g->out[0], g->out[1], g->out[2]}, V = len[0] * len[1] * len[2];
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < g->c; c++) {
            const float *p = blocks + n * AUG_PB, *ch = p + AUG_P_CH + 4 * c;
            const float *xc = x + (n * g->c + c) * V;
            double *yc = y + (n * g->c + c) * V;
            bool on = p[AUG_P_APPLIED] != 0.0f && ch[0] != 0.0f;
            for (int64_t v = 0; v < V; v++) {
                if (!on) {
                    yc[v] = xc[v];
                    continue;
                }
                int64_t pos[3] = {v / (len[1] * len[2]), (v / len[2]) % len[1], v % len[2]};
                int64_t src[3][2];
                double fr[3];
                for (int a = 0; a < 3; a++) {
                    int nn = (int)len[a];
                    int m = nn == 1 ? 1 : (int)rintf((float)nn * ch[1]);
                    if (m < 1) m = 1;
                    double u = (pos[a] + 0.5) * m / nn - 0.5;
                    if (u < 0) u = 0;
                    int j0 = (int)floor(u);
                    if (j0 > m - 1) j0 = m - 1;
                    int j1 = j0 + 1 < m ? j0 + 1 : m - 1;
                    fr[a] = u - j0;
                    for (int q = 0; q < 2; q++) {
                        int s = (int)floor(((q ? j1 : j0) + 0.5) * nn / m);
                        src[a][q] = s < nn ? s : nn - 1;
                    }
                }
                double acc = 0;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int k = 0; k < 2; k++) {
                            double w = (a ? fr[0] : 1 - fr[0]) * (b ? fr[1] : 1 - fr[1]) * (k ? fr[2] : 1 - fr[2]);
                            if (w == 0) continue;
                            acc += w * xc[(src[0][a] * len[1] + src[1][b]) * len[2] + src[2][k]];
                        }
                yc[v] = acc;
            }
        }
}

static int freq(int64_t k, int64_t L) { return k <= L / 2 ? (int)k : (int)(k - L); }

/* separable DFT along every axis of length > 1: z (re, im) interleaved, V elements */
static void dft3(double *z, const int64_t len[3], double sign) {
    int64_t V = len[0] * len[1] * len[2], stride[3] = {len[1] * len[2], len[2], 1};
    double *t = malloc(sizeof(double) * 2 * (size_t)V);
    for (int ax = 0; ax < 3; ax++) {
        if (len[ax] == 1) continue;
        int64_t L = len[ax];
        for (int64_t v = 0; v < V; v++) {
            int64_t k = (v / stride[ax]) % L, base = v - k * stride[ax];
            double re = 0, im = 0;
            for (int64_t j = 0; j < L; j++) {
                double ang = 2.0 * REF_PI * (double)((k * j) % L) / (double)L;
                double c = cos(ang), s = sign * sin(ang), a = z[2 * (base + j * stride[ax])], b = z[2 * (base + j * stride[ax]) + 1];
                re += a * c - b * s;
                im += a * s + b * c;
            }
            t[2 * v] = re;
            t[2 * v + 1] = im;
        }
        memcpy(z, t, sizeof(double) * 2 * (size_t)V);
    }
    free(t);
}

void ref_aug_kspace(const medcl_augment_transform *t, const aug_geom *g, const float *blocks, const float *x,
                    double *y) {
    int64_t len[3] = {g->out[0], g->out[1], g->out[2]}, V = len[0] * len[1] * len[2];
    double *z = malloc(sizeof(double) * 2 * (size_t)V);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < g->c; c++) {
            const float *p = blocks + n * AUG_PB, *ch = p + AUG_P_CH + 4 * c;
            const float *xc = x + (n * g->c + c) * V;
            double *yc = y + (n * g->c + c) * V;
            for (int64_t v = 0; v < V; v++) yc[v] = xc[v];
            if (p[AUG_P_APPLIED] == 0.0f || ch[0] == 0.0f) continue;
            for (int64_t v = 0; v < V; v++) z[2 * v] = xc[v], z[2 * v + 1] = 0;
            dft3(z, len, -1);
            double mx = 0;
            for (int64_t v = 0; v < V; v++) mx = fmax(mx, hypot(z[2 * v], z[2 * v + 1]));
            for (int64_t v = 0; v < V; v++) {
                int64_t pos[3] = {v / (len[1] * len[2]), (v / len[2]) % len[1], v % len[2]};
                double re = z[2 * v], im = z[2 * v + 1];
                if (t->kind == MEDCL_AUGMENT_MOTION) {
                    int seg = 0;
                    for (int s = 1; s < (int)p[AUG_P_NSEG]; s++)
                        if (pos[t->axis] >= p[AUG_P_SEGSTART + s - 1]) seg = s;
                    if (!seg) continue;
                    double ph = 0;
                    for (int a = 0; a < 3; a++) ph -= 2 * REF_PI * freq(pos[a], len[a]) * p[AUG_P_SEGT + 3 * seg + a] / len[a];
                    z[2 * v] = re * cos(ph) - im * sin(ph);
                    z[2 * v + 1] = re * sin(ph) + im * cos(ph);
                } else if (t->kind == MEDCL_AUGMENT_GHOSTING) {
                    int gh = (int)p[AUG_P_GHOSTS];
                    int64_t L = len[t->axis];
                    int f = freq(pos[t->axis], L);
                    if (gh < 1 || pos[t->axis] % gh != 0 || abs(f) <= t->restore * 0.5 * L) continue;
                    z[2 * v] = re * (1 - ch[1]);
                    z[2 * v + 1] = im * (1 - ch[1]);
                } else {
                    for (int s = 0; s < (int)p[AUG_P_NSPIKE]; s++) {
                        const float *sp = p + AUG_P_SPIKE + 4 * s;
                        if (pos[0] == sp[0] && pos[1] == sp[1] && pos[2] == sp[2]) z[2 * v] += mx * sp[3];
                    }
                }
            }
            dft3(z, len, 1);
            for (int64_t v = 0; v < V; v++) yc[v] = z[2 * v] / (double)V;
        }
    free(z);
}

void ref_aug_mix(const medcl_augment_mix *o, int64_t N, int64_t C, const int64_t dhw[3], const float *blocks,
                 const float *x, const float *l, double *y, double *soft) {
    int64_t V = dhw[0] * dhw[1] * dhw[2], K = o->num_classes;
    for (int64_t n = 0; n < N; n++) {
        const float *p = blocks + n * AUG_PB;
        int64_t m = (int64_t)p[1];
        double lam = p[2];
        for (int64_t v = 0; v < V; v++) {
            int64_t d = v / (dhw[1] * dhw[2]), h = (v / dhw[2]) % dhw[1], w = v % dhw[2];
            int inb = o->mode == MEDCL_AUGMENT_CUTMIX && p[0] != 0 && d >= p[3] && d < p[4] && h >= p[5] &&
                      h < p[6] && w >= p[7] && w < p[8];
            for (int64_t c = 0; c < C; c++) {
                double a = x[(n * C + c) * V + v], b = x[(m * C + c) * V + v];
                y[(n * C + c) * V + v] = p[0] == 0 ? a : o->mode == MEDCL_AUGMENT_CUTMIX ? (inb ? b : a) : lam * a + (1 - lam) * b;
            }
            double la = l[n * V + v], lb = l[m * V + v];
            for (int64_t k = 0; k < K; k++) {
                double r;
                if (p[0] == 0) r = la == k;
                else if (o->mode == MEDCL_AUGMENT_CUTMIX) r = (inb ? lb : la) == k;
                else r = lam * (la == k) + (1 - lam) * (lb == k);
                soft[(n * K + k) * V + v] = r;
            }
        }
    }
}
