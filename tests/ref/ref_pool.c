/* tests/ref/ref_pool.c — float64 pooling references (naive loops over windows, scatter-form
 * backward: independent of the device's gather form). */
#include "ref_pool.h"

#include <math.h>
#include <string.h>

void ref_pool_geom_finish(ref_pool_geom *g) {
    g->Do = (g->D + 2 * g->p[0] - g->k[0]) / g->s[0] + 1;
    g->Ho = (g->H + 2 * g->p[1] - g->k[1]) / g->s[1] + 1;
    g->Wo = (g->W + 2 * g->p[2] - g->k[2]) / g->s[2] + 1;
}

static int64_t lo_of(int64_t o, int s, int p) { int64_t v = o * s - p; return v < 0 ? 0 : v; }
static int64_t hi_of(int64_t o, int k, int s, int p, int64_t n) { int64_t v = o * s - p + k; return v > n ? n : v; }

void ref_maxpool_forward(const ref_pool_geom *g, const double *x, double *y, int32_t *argmax) {
    int64_t in = g->D * g->H * g->W, on = g->Do * g->Ho * g->Wo;
    for (int64_t pl = 0; pl < g->N * g->C; pl++)
        for (int64_t od = 0; od < g->Do; od++)
            for (int64_t oh = 0; oh < g->Ho; oh++)
                for (int64_t ow = 0; ow < g->Wo; ow++) {
                    int64_t d0 = lo_of(od, g->s[0], g->p[0]), h0 = lo_of(oh, g->s[1], g->p[1]),
                            w0 = lo_of(ow, g->s[2], g->p[2]);
                    double m = -INFINITY;
                    int64_t idx = (d0 * g->H + h0) * g->W + w0;
                    for (int64_t d = d0; d < hi_of(od, g->k[0], g->s[0], g->p[0], g->D); d++)
                        for (int64_t h = h0; h < hi_of(oh, g->k[1], g->s[1], g->p[1], g->H); h++)
                            for (int64_t w = w0; w < hi_of(ow, g->k[2], g->s[2], g->p[2], g->W); w++) {
                                int64_t j = (d * g->H + h) * g->W + w;
                                double v = x[pl * in + j];
                                if (v > m || isnan(v)) m = v, idx = j;
                            }
                    int64_t o = pl * on + (od * g->Ho + oh) * g->Wo + ow;
                    y[o] = m;
                    if (argmax) argmax[o] = (int32_t)idx;
                }
}

void ref_maxpool_backward(const ref_pool_geom *g, const int32_t *argmax, const double *dy, double *dx) {
    int64_t in = g->D * g->H * g->W, on = g->Do * g->Ho * g->Wo;
    memset(dx, 0, sizeof(double) * (size_t)(g->N * g->C * in));
    for (int64_t pl = 0; pl < g->N * g->C; pl++)
        for (int64_t o = 0; o < on; o++) dx[pl * in + argmax[pl * on + o]] += dy[pl * on + o];
}

static double divisor(const ref_pool_geom *g, int incl, int64_t od, int64_t oh, int64_t ow) {
    int64_t o[3] = {od, oh, ow}, n[3] = {g->D, g->H, g->W};
    double div = 1;
    for (int a = 0; a < 3; a++) {
        int64_t s = o[a] * g->s[a] - g->p[a], e = s + g->k[a];
        if (incl) {
            if (e > n[a] + g->p[a]) e = n[a] + g->p[a];
        } else {
            if (s < 0) s = 0;
            if (e > n[a]) e = n[a];
        }
        div *= (double)(e - s);
    }
    return div;
}

void ref_avgpool_forward(const ref_pool_geom *g, int incl, const double *x, double *y) {
    int64_t in = g->D * g->H * g->W, on = g->Do * g->Ho * g->Wo;
    for (int64_t pl = 0; pl < g->N * g->C; pl++)
        for (int64_t od = 0; od < g->Do; od++)
            for (int64_t oh = 0; oh < g->Ho; oh++)
                for (int64_t ow = 0; ow < g->Wo; ow++) {
                    double s = 0;
                    for (int64_t d = lo_of(od, g->s[0], g->p[0]); d < hi_of(od, g->k[0], g->s[0], g->p[0], g->D); d++)
                        for (int64_t h = lo_of(oh, g->s[1], g->p[1]); h < hi_of(oh, g->k[1], g->s[1], g->p[1], g->H); h++)
                            for (int64_t w = lo_of(ow, g->s[2], g->p[2]); w < hi_of(ow, g->k[2], g->s[2], g->p[2], g->W); w++)
                                s += x[pl * in + (d * g->H + h) * g->W + w];
                    y[pl * on + (od * g->Ho + oh) * g->Wo + ow] = s / divisor(g, incl, od, oh, ow);
                }
}

void ref_avgpool_backward(const ref_pool_geom *g, int incl, const double *dy, double *dx) {
    int64_t in = g->D * g->H * g->W, on = g->Do * g->Ho * g->Wo;
    memset(dx, 0, sizeof(double) * (size_t)(g->N * g->C * in));
    for (int64_t pl = 0; pl < g->N * g->C; pl++)
        for (int64_t od = 0; od < g->Do; od++)
            for (int64_t oh = 0; oh < g->Ho; oh++)
                for (int64_t ow = 0; ow < g->Wo; ow++) {
                    double v = dy[pl * on + (od * g->Ho + oh) * g->Wo + ow] / divisor(g, incl, od, oh, ow);
                    for (int64_t d = lo_of(od, g->s[0], g->p[0]); d < hi_of(od, g->k[0], g->s[0], g->p[0], g->D); d++)
                        for (int64_t h = lo_of(oh, g->s[1], g->p[1]); h < hi_of(oh, g->k[1], g->s[1], g->p[1], g->H); h++)
                            for (int64_t w = lo_of(ow, g->s[2], g->p[2]); w < hi_of(ow, g->k[2], g->s[2], g->p[2], g->W); w++)
                                dx[pl * in + (d * g->H + h) * g->W + w] += v;
                }
}

void ref_global_avg_forward(int64_t planes, int64_t n, const double *x, double *y) {
    for (int64_t p = 0; p < planes; p++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) s += x[p * n + j];
        y[p] = s / (double)n;
    }
}

void ref_global_avg_backward(int64_t planes, int64_t n, const double *dy, double *dx) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t j = 0; j < n; j++) dx[p * n + j] = dy[p] / (double)n;
}
