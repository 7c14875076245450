/* tests/ref/ref_upsample.c — float64 resizing references: per output element, the source
 * indices and weights along each axis (PyTorch's rules in float), then a double sum. */
#include "ref_upsample.h"

#include <math.h>
#include <string.h>

/* up to two (index, weight) taps along one axis for output o */
typedef struct { int64_t i[2]; double w[2]; } taps;

static float axis_scale(const ref_upsample_cfg *c, int64_t in, int64_t out, double user) {
    if (c->linear && c->align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return user > 0 ? (float)(1.0 / user) : (float)in / (float)out;
}

static taps axis_taps(const ref_upsample_cfg *c, int64_t o, int64_t in, int64_t out, double user) {
    taps t;
    float sc = axis_scale(c, in, out, user);
    if (!c->linear) {
        int64_t s;
        if (out == in) s = o;
        else if (out == 2 * in) s = o >> 1;
        else {
            s = (int64_t)floorf((float)o * sc);
            if (s > in - 1) s = in - 1;
        }
        t.i[0] = t.i[1] = s;
        t.w[0] = 1;
        t.w[1] = 0;
        return t;
    }
    if (out == in) {
        t.i[0] = t.i[1] = o;
        t.w[0] = 1;
        t.w[1] = 0;
        return t;
    }
    float r;
    if (c->align_corners) r = sc * (float)o;
    else {
        r = sc * ((float)o + 0.5f) - 0.5f;
        if (r < 0) r = 0;
    }
    int64_t j = (int64_t)floorf(r);
    if (j > in - 1) j = in - 1;
    float l = r - (float)j;
    l = l < 0 ? 0 : (l > 1 ? 1 : l);
    t.i[0] = j;
    t.i[1] = j + (j < in - 1 ? 1 : 0);
    t.w[1] = l;
    t.w[0] = 1.0f - l;
    return t;
}

static void run(const ref_upsample_cfg *c, const double *src, double *dst, int backward) {
    int64_t in = c->D * c->H * c->W, on = c->Do * c->Ho * c->Wo;
    if (backward) memset(dst, 0, sizeof(double) * (size_t)(c->N * c->C * in));
    for (int64_t p = 0; p < c->N * c->C; p++)
        for (int64_t od = 0; od < c->Do; od++) {
            taps td = axis_taps(c, od, c->D, c->Do, c->scale[0]);
            for (int64_t oh = 0; oh < c->Ho; oh++) {
                taps th = axis_taps(c, oh, c->H, c->Ho, c->scale[1]);
                for (int64_t ow = 0; ow < c->Wo; ow++) {
                    taps tw = axis_taps(c, ow, c->W, c->Wo, c->scale[2]);
                    int64_t o = p * on + (od * c->Ho + oh) * c->Wo + ow;
                    double s = 0;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                            for (int e = 0; e < 2; e++) {
                                double w = td.w[a] * th.w[b] * tw.w[e];
                                int64_t i = p * in + (td.i[a] * c->H + th.i[b]) * c->W + tw.i[e];
                                if (backward) dst[i] += w * src[o];
                                else if (w != 0) s += w * src[i];
                            }
                    if (!backward) dst[o] = s;
                }
            }
        }
}

void ref_upsample_forward(const ref_upsample_cfg *c, const double *x, double *y) { run(c, x, y, 0); }
void ref_upsample_backward(const ref_upsample_cfg *c, const double *dy, double *dx) { run(c, dy, dx, 1); }
