/* tests/ref/ref_loss.c — float64 references of the losses (see ref_loss.h). Each forward is the
 * textbook / library formula written out; each backward is the analytic derivative, checked
 * against central differences of the forward in the tests. Left out: input validation. */
#include "ref/ref_loss.h"

#include <math.h>
#include <stdlib.h>

#define X(in, n, c, s) ((in)->x[((long)(n) * (in)->C + (c)) * (in)->S + (s)])
#define IDX(in, n, c, s) (((long)(n) * (in)->C + (c)) * (in)->S + (s))

/* log p_c (log-softmax over C) at voxel (n, s) into lp[C] */
static void log_softmax(const ref_loss_in *in, int n, long s, double *lp) {
    double m = -INFINITY, se = 0;
    for (int c = 0; c < in->C; c++) m = fmax(m, X(in, n, c, s));
    for (int c = 0; c < in->C; c++) se += exp(X(in, n, c, s) - m);
    for (int c = 0; c < in->C; c++) lp[c] = X(in, n, c, s) - m - log(se);
}

/* target of class c at (n, s); 0 for an ignored voxel */
static double tgt(const ref_loss_in *in, int n, int c, long s) {
    if (in->labels) return in->labels[(long)n * in->S + s] == c ? 1.0 : 0.0;
    return in->soft[IDX(in, n, c, s)];
}

static int kept(const ref_loss_in *in, int n, long s, int ignore) {
    return !in->labels || in->labels[(long)n * in->S + s] != ignore;
}

static double wc(const double *w, int c) { return w ? w[c] : 1.0; }

/* ---- cross-entropy, PyTorch's cross_entropy_loss_label_smoothing written out:
 * (1 - eps) * nll_loss(logp, y, w) + eps / C * (sum_v -sum_c w_c logp_c) / (sum_v w[y_v]) */
double ref_ce_forward(const ref_loss_in *in, const ref_xent_params *p) {
    double lp[256];
    int C = in->C;
    if (in->labels) {
        double nll = 0, smooth = 0, den = 0;
        for (int n = 0; n < in->N; n++)
            for (long s = 0; s < in->S; s++) {
                if (!kept(in, n, s, p->ignore)) continue;
                int y = in->labels[(long)n * in->S + s];
                log_softmax(in, n, s, lp);
                nll += wc(p->w, y) * -lp[y];
                den += wc(p->w, y);
                for (int c = 0; c < C; c++) smooth += -lp[c] * wc(p->w, c);
            }
        if (!p->sum) {
            if (den == 0) return 0;
            nll /= den;
            smooth /= den;
        }
        return (1 - p->eps) * nll + p->eps / C * smooth;
    }
    double sum = 0;
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            log_softmax(in, n, s, lp);
            for (int c = 0; c < C; c++) {
                double t = (1 - p->eps) * in->soft[IDX(in, n, c, s)] + p->eps / C;
                sum += -wc(p->w, c) * t * lp[c];
            }
        }
    return p->sum ? sum : sum / ((double)in->N * in->S);
}

/* d/dx_j of -sum_c u_c log p_c = sum_c u_c (p_j - [j = c]) */
void ref_ce_backward(const ref_loss_in *in, const ref_xent_params *p, double g, double *dx) {
    double lp[256];
    int C = in->C;
    double den = 0;
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            if (!kept(in, n, s, p->ignore)) continue;
            den += in->labels ? wc(p->w, in->labels[(long)n * in->S + s]) : 1.0;
        }
    double scale = p->sum ? g : (den == 0 ? 0 : g / den);
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            if (!kept(in, n, s, p->ignore)) {
                for (int c = 0; c < C; c++) dx[IDX(in, n, c, s)] = 0;
                continue;
            }
            log_softmax(in, n, s, lp);
            double u[256], su = 0;
            for (int c = 0; c < C; c++) {
                u[c] = wc(p->w, c) * ((1 - p->eps) * tgt(in, n, c, s) + p->eps / C);
                su += u[c];
            }
            for (int j = 0; j < C; j++) dx[IDX(in, n, j, s)] = scale * (exp(lp[j]) * su - u[j]);
        }
}

/* ---- focal, MONAI softmax_focal_loss: -alpha_c (1 - p_c)^gamma t_c log p_c summed over c;
 * alpha_c = 1 - alpha for class 0, alpha otherwise; mean over kept voxels */
static double focal_u(const ref_loss_in *in, const ref_xent_params *p, int n, int c, long s) {
    double a = p->alpha < 0 ? 1.0 : (c == 0 ? 1 - p->alpha : p->alpha);
    return a * wc(p->w, c) * tgt(in, n, c, s);
}

static double focal_den(const ref_loss_in *in, const ref_xent_params *p) {
    double den = 0;
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) den += kept(in, n, s, p->ignore);
    return den;
}

double ref_focal_forward(const ref_loss_in *in, const ref_xent_params *p) {
    double lp[256], sum = 0;
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            if (!kept(in, n, s, p->ignore)) continue;
            log_softmax(in, n, s, lp);
            for (int c = 0; c < in->C; c++)
                sum += -focal_u(in, p, n, c, s) * pow(1 - exp(lp[c]), p->gamma) * lp[c];
        }
    if (p->sum) return sum;
    double den = focal_den(in, p);
    return den == 0 ? 0 : sum / den;
}

/* f(p) = -(1-p)^gamma log p, f'(p) = gamma (1-p)^(gamma-1) log p - (1-p)^gamma / p,
 * d p_k / d x_j = p_k ([j = k] - p_j) */
void ref_focal_backward(const ref_loss_in *in, const ref_xent_params *p, double g, double *dx) {
    double lp[256], pr[256], fk[256];
    int C = in->C;
    double den = p->sum ? 1 : focal_den(in, p);
    double scale = den == 0 ? 0 : g / den;
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            if (!kept(in, n, s, p->ignore)) {
                for (int c = 0; c < C; c++) dx[IDX(in, n, c, s)] = 0;
                continue;
            }
            log_softmax(in, n, s, lp);
            for (int k = 0; k < C; k++) {
                pr[k] = exp(lp[k]);
                double q = 1 - pr[k];
                double d = -pow(q, p->gamma) / pr[k];
                if (p->gamma != 0) d += p->gamma * pow(q, p->gamma - 1) * lp[k];
                fk[k] = focal_u(in, p, n, k, s) * d;
            }
            for (int j = 0; j < C; j++) {
                double a = 0;
                for (int k = 0; k < C; k++) a += fk[k] * pr[k] * ((j == k) - pr[j]);
                dx[IDX(in, n, j, s)] = scale * a;
            }
        }
}

/* ---- BCE with logits: -[pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] ---- */
static double ch_of(const ref_loss_in *in, long i) { return (double)((i / in->S) % in->C); }

double ref_bce_forward(const ref_loss_in *in, const double *pw, int sum) {
    long total = (long)in->N * in->C * in->S;
    double acc = 0;
    for (long i = 0; i < total; i++) {
        int c = (int)ch_of(in, i);
        int n = (int)(i / ((long)in->C * in->S));
        long s = i % in->S;
        double x = in->x[i], t = tgt(in, n, c, s), w = pw ? pw[c] : 1.0;
        double log_sig = -log1p(exp(-x)), log_1msig = -log1p(exp(x));
        acc += -(w * t * log_sig + (1 - t) * log_1msig);
    }
    return sum ? acc : acc / (double)total;
}

void ref_bce_backward(const ref_loss_in *in, const double *pw, int sum, double g, double *dx) {
    long total = (long)in->N * in->C * in->S;
    double scale = sum ? g : g / (double)total;
    for (long i = 0; i < total; i++) {
        int c = (int)ch_of(in, i);
        int n = (int)(i / ((long)in->C * in->S));
        long s = i % in->S;
        double x = in->x[i], t = tgt(in, n, c, s), w = pw ? pw[c] : 1.0;
        double sg = 1 / (1 + exp(-x));
        dx[i] = scale * (-w * t * (1 - sg) + (1 - t) * sg);
    }
}

double ref_mse_forward(const ref_loss_in *in, int sum) {
    long total = (long)in->N * in->C * in->S;
    double acc = 0;
    for (long i = 0; i < total; i++) {
        int n = (int)(i / ((long)in->C * in->S));
        double d = in->x[i] - tgt(in, n, (int)ch_of(in, i), i % in->S);
        acc += d * d;
    }
    return sum ? acc : acc / (double)total;
}

void ref_mse_backward(const ref_loss_in *in, int sum, double g, double *dx) {
    long total = (long)in->N * in->C * in->S;
    for (long i = 0; i < total; i++) {
        int n = (int)(i / ((long)in->C * in->S));
        double d = in->x[i] - tgt(in, n, (int)ch_of(in, i), i % in->S);
        dx[i] = (sum ? g : g / (double)total) * 2 * d;
    }
}

/* ---- region losses: nnU-Net MemoryEfficientSoftDiceLoss, MONAI DiceLoss / TverskyLoss ---- */

static void probs(const ref_loss_in *in, const ref_region_params *p, double *pr) {
    double lp[256];
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            if (p->sigmoid) {
                for (int c = 0; c < in->C; c++) pr[IDX(in, n, c, s)] = 1 / (1 + exp(-X(in, n, c, s)));
                continue;
            }
            log_softmax(in, n, s, lp);
            for (int c = 0; c < in->C; c++) pr[IDX(in, n, c, s)] = exp(lp[c]);
        }
}

/* per (n, c): I, G, P with the loss mask; then r and the derivatives dr/dI, dr/dP per row k
 * (k = n*C + c, or c with batch) */
static double region_eval(const ref_loss_in *in, const ref_region_params *p, const double *pr,
                          double *dI, double *dP) {
    int C = in->C, N = in->N;
    double *I = calloc((size_t)N * C, sizeof *I), *G = calloc((size_t)N * C, sizeof *G),
           *P = calloc((size_t)N * C, sizeof *P);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (long s = 0; s < in->S; s++) {
                double m = kept(in, n, s, p->ignore) ? 1.0 : 0.0;
                double t = m ? tgt(in, n, c, s) : 0.0, q = pr[IDX(in, n, c, s)];
                I[n * C + c] += q * t * m;
                G[n * C + c] += t * m;
                P[n * C + c] += q * m;
            }
    if (p->batch) {
        for (int c = 0; c < C; c++)
            for (int n = 1; n < N; n++) {
                I[c] += I[n * C + c];
                G[c] += G[n * C + c];
                P[c] += P[n * C + c];
            }
    }
    int rows = p->batch ? 1 : N, c0 = p->include_bg ? 0 : 1;
    double K = (double)rows * (C - c0), sum = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) {
            int k = r * C + c;
            double ri, di = 0, dp = 0;
            if (c < c0) {
                if (dI) dI[k] = dP[k] = 0;
                continue;
            }
            if (p->kind == 2) {
                double num = I[k] + p->snr;
                double den = I[k] + p->alpha * (P[k] - I[k]) + p->beta * (G[k] - I[k]) + p->sdr;
                ri = num / den;
                di = 1 / den - num * (1 - p->alpha - p->beta) / (den * den);
                dp = -num * p->alpha / (den * den);
            } else {
                double num = 2 * I[k] + p->snr, den = G[k] + P[k] + p->sdr;
                if (den < p->clip) {
                    den = p->clip;
                    di = 2 / den;
                } else {
                    di = 2 / den;
                    dp = -num / (den * den);
                }
                ri = num / den;
            }
            sum += ri;
            if (dI) {
                dI[k] = -di / K; /* every form is const - mean(r) */
                dP[k] = -dp / K;
            }
        }
    free(I);
    free(G);
    free(P);
    double mean = sum / K;
    return p->kind == 0 ? -mean : 1 - mean;
}

double ref_region_forward(const ref_loss_in *in, const ref_region_params *p) {
    double *pr = malloc((size_t)in->N * in->C * in->S * sizeof *pr);
    probs(in, p, pr);
    double l = region_eval(in, p, pr, NULL, NULL);
    free(pr);
    return l;
}

void ref_region_backward(const ref_loss_in *in, const ref_region_params *p, double g, double *dx) {
    int C = in->C;
    double *pr = malloc((size_t)in->N * C * in->S * sizeof *pr);
    double *dI = calloc((size_t)in->N * C, sizeof *dI), *dP = calloc((size_t)in->N * C, sizeof *dP);
    probs(in, p, pr);
    region_eval(in, p, pr, dI, dP);
    double dl[256];
    for (int n = 0; n < in->N; n++)
        for (long s = 0; s < in->S; s++) {
            double m = kept(in, n, s, p->ignore) ? 1.0 : 0.0;
            for (int c = 0; c < C; c++) {
                int k = (p->batch ? 0 : n) * C + c;
                dl[c] = m * (dI[k] * tgt(in, n, c, s) + dP[k]);
            }
            for (int j = 0; j < C; j++) {
                double pj = pr[IDX(in, n, j, s)], a;
                if (p->sigmoid) {
                    a = dl[j] * pj * (1 - pj);
                } else {
                    a = 0;
                    for (int k = 0; k < C; k++) a += dl[k] * pr[IDX(in, n, k, s)] * ((j == k) - pj);
                }
                dx[IDX(in, n, j, s)] = g * a;
            }
        }
    free(pr);
    free(dI);
    free(dP);
}

double ref_loss_fd(double (*f)(const ref_loss_in *, const void *), const ref_loss_in *in,
                   const void *p, long i, double h) {
    double *x = (double *)in->x;
    double x0 = x[i];
    x[i] = x0 + h;
    double fp = f(in, p);
    x[i] = x0 - h;
    double fm = f(in, p);
    x[i] = x0;
    return (fp - fm) / (2 * h);
}
