/* tests/ref/ref_act.c — see ref_act.h. Definitions follow PyTorch (torch.nn.ReLU, LeakyReLU,
 * PReLU, Sigmoid, Tanh, GELU(approximate='none'), Softmax, LogSoftmax). */
#include "ref_act.h"

#include <math.h>
#include <stdlib.h>

double ref_act_value(int act, double slope, double x) {
    switch (act) {
    case 1: return x > 0 ? x : 0.0;
    case 2: return x > 0 ? x : slope * x;
    case 3: return 1.0 / (1.0 + exp(-x));
    case 4: return tanh(x);
    case 5: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return x;
    }
}

double ref_act_derivative(int act, double slope, double x) {
    switch (act) {
    case 1: return x > 0 ? 1.0 : 0.0;
    case 2: return x > 0 ? 1.0 : slope;
    case 3: {
        double s = 1.0 / (1.0 + exp(-x));
        return s * (1.0 - s);
    }
    case 4: {
        double t = tanh(x);
        return 1.0 - t * t;
    }
    case 5: return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / 2.5066282746310002;
    default: return 1.0;
    }
}

void ref_act_forward(int act, double slope, const double *x, double *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = ref_act_value(act, slope, x[i]);
}

void ref_act_backward(int act, double slope, const double *x, const double *dy, double *dx,
                      size_t n) {
    /* relu: +0 where x <= 0, as torch's threshold_backward (not 0 * dy, which may be -0) */
    for (size_t i = 0; i < n; i++)
        dx[i] = act == 1 && !(x[i] > 0) ? 0.0 : ref_act_derivative(act, slope, x[i]) * dy[i];
}

void ref_prelu_forward(const double *x, const double *w, int64_t cw, int64_t s, int64_t n,
                       double *y) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : w[(i / s) % cw] * x[i];
}

void ref_prelu_backward(const double *x, const double *w, const double *dy, int64_t cw, int64_t s,
                        int64_t n, double *dx, double *dw) {
    for (int64_t i = 0; i < n; i++) {
        int64_t c = (i / s) % cw;
        if (dx) dx[i] = x[i] > 0 ? dy[i] : w[c] * dy[i];
        if (dw && !(x[i] > 0)) dw[c] += x[i] * dy[i];
    }
}

void ref_softmax_forward(bool log_out, const double *x, int64_t N, int64_t C, int64_t S, double *y) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t s = 0; s < S; s++) {
            const double *xp = x + n * C * S + s;
            double *yp = y + n * C * S + s;
            double m = xp[0];
            for (int64_t c = 1; c < C; c++) m = fmax(m, xp[c * S]);
            double sum = 0;
            for (int64_t c = 0; c < C; c++) sum += exp(xp[c * S] - m);
            for (int64_t c = 0; c < C; c++)
                yp[c * S] = log_out ? xp[c * S] - m - log(sum) : exp(xp[c * S] - m) / sum;
        }
}

void ref_softmax_backward(bool log_out, const double *y, const double *dy, int64_t N, int64_t C,
                          int64_t S, double *dx) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t s = 0; s < S; s++) {
            int64_t b = n * C * S + s;
            double acc = 0;
            for (int64_t c = 0; c < C; c++) acc += log_out ? dy[b + c * S] : dy[b + c * S] * y[b + c * S];
            for (int64_t c = 0; c < C; c++)
                dx[b + c * S] = log_out ? dy[b + c * S] - exp(y[b + c * S]) * acc
                                        : y[b + c * S] * (dy[b + c * S] - acc);
        }
}

double ref_fd_grad(ref_fn f, void *ctx, double *x, size_t ny, const double *dy, size_t i,
                   double eps) {
    double *y = malloc(ny * sizeof *y);
    double keep = x[i], sp = 0, sm = 0;
    x[i] = keep + eps;
    f(x, y, ctx);
    for (size_t j = 0; j < ny; j++) sp += dy[j] * y[j];
    x[i] = keep - eps;
    f(x, y, ctx);
    for (size_t j = 0; j < ny; j++) sm += dy[j] * y[j];
    x[i] = keep;
    free(y);
    return (sp - sm) / (2 * eps);
}

double *ref_to_double(const float *x, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}
