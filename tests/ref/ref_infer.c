/* tests/ref/ref_infer.c — float64 reference of sliding-window inference (see ref_infer.h).
 * Written from nnU-Net's description, independently of src/eval/sliding_window.c: the padded
 * volume is materialized, every tile and mirror is predicted and accumulated in double. */
#include "ref_infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ref_probe_predict(const ref_probe *s, const double *patch, const int64_t p[3], double *logits) {
    int64_t pv = p[0] * p[1] * p[2];
    double den = (double)(p[0] + p[1] + p[2]);
    for (int k = 0; k < s->K; k++)
        for (int64_t z = 0; z < p[0]; z++)
            for (int64_t y = 0; y < p[1]; y++)
                for (int64_t x = 0; x < p[2]; x++) {
                    int64_t q = (z * p[1] + y) * p[2] + x;
                    double v = s->bias[k] + s->beta[k] * (double)(z + 2 * y + 3 * x) / den;
                    for (int c = 0; c < s->C; c++) v += s->coef[k][c] * patch[c * pv + q];
                    if (x + 1 < p[2]) v += s->gamma[k] * patch[q + 1];
                    logits[k * pv + q] = v;
                }
}

int64_t ref_infer_positions(int64_t size, int64_t patch, double step, int64_t *pos) {
    if (size < patch) size = patch;
    if (patch == 1) {
        if (pos)
            for (int64_t i = 0; i < size; i++) pos[i] = i;
        return size;
    }
    double target = step * (double)patch;
    int64_t n = (int64_t)ceil((double)(size - patch) / target) + 1;
    double a = n > 1 ? (double)(size - patch) / (double)(n - 1) : 0.0;
    if (pos)
        for (int64_t i = 0; i < n; i++) {
            double v = a * (double)i, f = floor(v);
            int64_t r = (int64_t)f;
            if (v - f > 0.5 || (v - f == 0.5 && (r % 2) != 0)) r++; /* half to even */
            pos[i] = r;
        }
    return n;
}

void ref_infer_gaussian(const int64_t p[3], double sigma_scale, double *w) {
    double mn = INFINITY;
    int64_t n = p[0] * p[1] * p[2];
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[3] = {i / (p[1] * p[2]), (i / p[2]) % p[1], i % p[2]};
        double v = 1.0;
        for (int a = 0; a < 3; a++) {
            double sg = sigma_scale * (double)p[a], d = (double)(idx[a] - p[a] / 2);
            double radius = floor(4.0 * sg + 0.5);
            v *= fabs(d) <= radius ? exp(-d * d / (2.0 * sg * sg)) : 0.0;
        }
        w[i] = v;
        if (v > 0 && v < mn) mn = v;
    }
    for (int64_t i = 0; i < n; i++)
        if (w[i] == 0.0) w[i] = mn;
}

void ref_sliding_window(const float *image, const int64_t ext[3], const ref_infer_opts *o,
                        double *logits) {
    const ref_probe *s = o->probe;
    int C = s->C, K = s->K;
    const int64_t *p = o->patch;
    int64_t P[3], off[3];
    for (int a = 0; a < 3; a++) {
        P[a] = ext[a] > p[a] ? ext[a] : p[a];
        off[a] = (P[a] - ext[a]) / 2;
    }
    int64_t PV = P[0] * P[1] * P[2], V = ext[0] * ext[1] * ext[2], pv = p[0] * p[1] * p[2];
    double *pad = calloc((size_t)(C * PV), sizeof(double));
    double *acc = calloc((size_t)(K * PV), sizeof(double));
    double *wsum = calloc((size_t)PV, sizeof(double));
    double *w = malloc((size_t)pv * sizeof(double));
    double *patch = malloc((size_t)(C * pv) * sizeof(double));
    double *lg = malloc((size_t)(K * pv) * sizeof(double));
    for (int c = 0; c < C; c++)
        for (int64_t z = 0; z < ext[0]; z++)
            for (int64_t y = 0; y < ext[1]; y++)
                for (int64_t x = 0; x < ext[2]; x++)
                    pad[c * PV + ((z + off[0]) * P[1] + y + off[1]) * P[2] + x + off[2]] =
                        image[((c * ext[0] + z) * ext[1] + y) * ext[2] + x];
    if (o->gaussian)
        ref_infer_gaussian(p, o->sigma_scale, w);
    else
        for (int64_t i = 0; i < pv; i++) w[i] = 1.0;
    unsigned eff = 0;
    for (int a = 0; a < 3; a++)
        if ((o->mirror >> a & 1u) && p[a] > 1) eff |= 1u << a;
    int nm = 0;
    for (unsigned m = 0; m < 8; m++) nm += (m & ~eff) == 0;
    int64_t *pos[3], n[3];
    for (int a = 0; a < 3; a++) {
        n[a] = ref_infer_positions(ext[a], p[a], o->step, NULL);
        pos[a] = malloc((size_t)n[a] * sizeof(int64_t));
        ref_infer_positions(ext[a], p[a], o->step, pos[a]);
    }
    for (int64_t tz = 0; tz < n[0]; tz++)
        for (int64_t ty = 0; ty < n[1]; ty++)
            for (int64_t tx = 0; tx < n[2]; tx++) {
                int64_t s0[3] = {pos[0][tz], pos[1][ty], pos[2][tx]};
                for (unsigned m = 0; m < 8; m++) {
                    if ((m & ~eff) != 0) continue;
                    /* patch from the flipped tile: q -> s0 + F(q) */
                    for (int c = 0; c < C; c++)
                        for (int64_t q = 0; q < pv; q++) {
                            int64_t qi[3] = {q / (p[1] * p[2]), (q / p[2]) % p[1], q % p[2]};
                            for (int a = 0; a < 3; a++)
                                if (m >> a & 1u) qi[a] = p[a] - 1 - qi[a];
                            patch[c * pv + q] =
                                pad[c * PV + ((s0[0] + qi[0]) * P[1] + s0[1] + qi[1]) * P[2] + s0[2] + qi[2]];
                        }
                    ref_probe_predict(s, patch, p, lg);
                    /* flip back: value at q comes from F(q) */
                    for (int64_t q = 0; q < pv; q++) {
                        int64_t qi[3] = {q / (p[1] * p[2]), (q / p[2]) % p[1], q % p[2]}, fi[3];
                        for (int a = 0; a < 3; a++) fi[a] = (m >> a & 1u) ? p[a] - 1 - qi[a] : qi[a];
                        int64_t fq = (fi[0] * p[1] + fi[1]) * p[2] + fi[2];
                        int64_t dst = ((s0[0] + qi[0]) * P[1] + s0[1] + qi[1]) * P[2] + s0[2] + qi[2];
                        for (int k = 0; k < K; k++) acc[k * PV + dst] += w[q] * lg[k * pv + fq] / nm;
                        if (m == 0) wsum[dst] += w[q];
                    }
                }
            }
    for (int k = 0; k < K; k++)
        for (int64_t z = 0; z < ext[0]; z++)
            for (int64_t y = 0; y < ext[1]; y++)
                for (int64_t x = 0; x < ext[2]; x++) {
                    int64_t src = ((z + off[0]) * P[1] + y + off[1]) * P[2] + x + off[2];
                    logits[k * V + (z * ext[1] + y) * ext[2] + x] = acc[k * PV + src] / wsum[src];
                }
    for (int a = 0; a < 3; a++) free(pos[a]);
    free(pad);
    free(acc);
    free(wsum);
    free(w);
    free(patch);
    free(lg);
}

void ref_softmax(double *x, int K, int64_t V) {
    for (int64_t v = 0; v < V; v++) {
        double m = x[v], s = 0;
        for (int k = 1; k < K; k++) m = fmax(m, x[k * V + v]);
        for (int k = 0; k < K; k++) s += exp(x[k * V + v] - m);
        for (int k = 0; k < K; k++) x[k * V + v] = exp(x[k * V + v] - m) / s;
    }
}

void ref_argmax(const double *x, int K, int64_t V, int32_t *labels) {
    for (int64_t v = 0; v < V; v++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (x[k * V + v] > x[best * V + v]) best = k;
        labels[v] = best;
    }
}
