/* tests/ref/ref_conv.c — float64 reference convolution: direct sums over the definition
 * (torch.nn.Conv3d / ConvTranspose3d semantics, zero padding). No speed, no shortcuts. */
#include "ref_conv.h"

#include <math.h>
#include <string.h>

int ref_conv_init(ref_conv *g) {
    int in[3] = {g->Di, g->Hi, g->Wi}, out[3];
    for (int a = 0; a < 3; a++) {
        int num = in[a] + 2 * g->p[a] - g->dil[a] * (g->k[a] - 1) - 1;
        if (num < 0) return 0;
        out[a] = num / g->s[a] + 1;
    }
    g->Do = out[0];
    g->Ho = out[1];
    g->Wo = out[2];
    return 1;
}

size_t ref_conv_x_numel(const ref_conv *g) { return (size_t)g->N * g->Cin * g->Di * g->Hi * g->Wi; }
size_t ref_conv_y_numel(const ref_conv *g) { return (size_t)g->N * g->Cout * g->Do * g->Ho * g->Wo; }
size_t ref_conv_w_numel(const ref_conv *g) {
    return (size_t)g->Cout * (g->Cin / g->groups) * g->k[0] * g->k[1] * g->k[2];
}

double ref_act(double v, int act, double slope) {
    switch (act) {
    case 1: return v < 0 ? 0 : v;
    case 2: return v < 0 ? v * slope : v;
    case 3: return 1.0 / (1.0 + exp(-v));
    case 4: return tanh(v);
    case 5: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    default: return v;
    }
}

/* Calls fn for every (n, co, output o, ci, kernel tap) with a valid input position. */
#define FOR_EACH_TAP(g, BODY)                                                              \
    do {                                                                                   \
        int Cg_ = (g)->Cin / (g)->groups, Mg_ = (g)->Cout / (g)->groups;                   \
        for (int n = 0; n < (g)->N; n++)                                                   \
            for (int co = 0; co < (g)->Cout; co++)                                         \
                for (int od = 0; od < (g)->Do; od++)                                       \
                    for (int oh = 0; oh < (g)->Ho; oh++)                                   \
                        for (int ow = 0; ow < (g)->Wo; ow++)                               \
                            for (int cg = 0; cg < Cg_; cg++)                               \
                                for (int kd = 0; kd < (g)->k[0]; kd++)                     \
                                    for (int kh = 0; kh < (g)->k[1]; kh++)                 \
                                        for (int kw = 0; kw < (g)->k[2]; kw++) {           \
                                            int id = od * (g)->s[0] - (g)->p[0] + kd * (g)->dil[0]; \
                                            int ih = oh * (g)->s[1] - (g)->p[1] + kh * (g)->dil[1]; \
                                            int iw = ow * (g)->s[2] - (g)->p[2] + kw * (g)->dil[2]; \
                                            if (id < 0 || id >= (g)->Di || ih < 0 || ih >= (g)->Hi || \
                                                iw < 0 || iw >= (g)->Wi)                   \
                                                continue;                                  \
                                            int ci = (co / Mg_) * Cg_ + cg;                \
                                            size_t xi = ((((size_t)n * (g)->Cin + ci) * (g)->Di + id) * (g)->Hi + ih) * (g)->Wi + iw; \
                                            size_t yi = ((((size_t)n * (g)->Cout + co) * (g)->Do + od) * (g)->Ho + oh) * (g)->Wo + ow; \
                                            size_t wi = ((((size_t)co * Cg_ + cg) * (g)->k[0] + kd) * (g)->k[1] + kh) * (g)->k[2] + kw; \
                                            BODY;                                          \
                                        }                                                  \
    } while (0)

void ref_conv_forward(const ref_conv *g, const double *x, const double *w, const double *b,
                      int act, double slope, double *y) {
    size_t ny = ref_conv_y_numel(g), S = (size_t)g->Do * g->Ho * g->Wo;
    memset(y, 0, ny * sizeof *y);
    FOR_EACH_TAP(g, y[yi] += w[wi] * x[xi]);
    for (size_t i = 0; i < ny; i++) {
        int co = (int)((i / S) % (size_t)g->Cout);
        y[i] = ref_act(y[i] + (b ? b[co] : 0.0), act, slope);
    }
}

void ref_conv_backward_data(const ref_conv *g, const double *dy, const double *w, double *dx) {
    memset(dx, 0, ref_conv_x_numel(g) * sizeof *dx);
    FOR_EACH_TAP(g, dx[xi] += w[wi] * dy[yi]);
}

void ref_conv_backward_weight(const ref_conv *g, const double *x, const double *dy, double *dw,
                              double *db) {
    memset(dw, 0, ref_conv_w_numel(g) * sizeof *dw);
    FOR_EACH_TAP(g, dw[wi] += dy[yi] * x[xi]);
    if (db) {
        size_t S = (size_t)g->Do * g->Ho * g->Wo;
        for (int co = 0; co < g->Cout; co++) {
            double s = 0;
            for (int n = 0; n < g->N; n++)
                for (size_t o = 0; o < S; o++) s += dy[((size_t)n * g->Cout + co) * S + o];
            db[co] = s;
        }
    }
}

/* Transposed: every input element xt[n, co, o] scatters xt * w into yt at the positions the
 * convolution would have gathered from: the same taps, the other direction. */
void ref_conv_transpose_forward(const ref_conv *g, const double *xt, const double *w,
                                const double *b, int act, double slope, double *yt) {
    size_t ny = ref_conv_x_numel(g), S = (size_t)g->Di * g->Hi * g->Wi;
    memset(yt, 0, ny * sizeof *yt);
    FOR_EACH_TAP(g, yt[xi] += xt[yi] * w[wi]);
    for (size_t i = 0; i < ny; i++) {
        int c = (int)((i / S) % (size_t)g->Cin);
        yt[i] = ref_act(yt[i] + (b ? b[c] : 0.0), act, slope);
    }
}

void ref_conv_transpose_backward_data(const ref_conv *g, const double *dyt, const double *w,
                                      double *dxt) {
    memset(dxt, 0, ref_conv_y_numel(g) * sizeof *dxt);
    FOR_EACH_TAP(g, dxt[yi] += w[wi] * dyt[xi]);
}

void ref_conv_transpose_backward_weight(const ref_conv *g, const double *xt, const double *dyt,
                                        double *dw, double *db) {
    memset(dw, 0, ref_conv_w_numel(g) * sizeof *dw);
    FOR_EACH_TAP(g, dw[wi] += xt[yi] * dyt[xi]);
    if (db) {
        size_t S = (size_t)g->Di * g->Hi * g->Wi;
        for (int c = 0; c < g->Cin; c++) {
            double s = 0;
            for (int n = 0; n < g->N; n++)
                for (size_t o = 0; o < S; o++) s += dyt[((size_t)n * g->Cin + c) * S + o];
            db[c] = s;
        }
    }
}
