/* tests/ref/ref_linear.c — see ref_linear.h. */
#include "ref_linear.h"

#include <stddef.h>

void ref_linear_forward(const double *x, const double *w, const double *b, int64_t N, int64_t IN,
                        int64_t OUT, double *y) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OUT; o++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t i = 0; i < IN; i++) acc += x[n * IN + i] * w[o * IN + i];
            y[n * OUT + o] = acc;
        }
}

void ref_linear_backward_data(const double *dy, const double *w, int64_t N, int64_t IN, int64_t OUT,
                              double *dx) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < IN; i++) {
            double acc = 0;
            for (int64_t o = 0; o < OUT; o++) acc += dy[n * OUT + o] * w[o * IN + i];
            dx[n * IN + i] = acc;
        }
}

void ref_linear_backward_weight(const double *x, const double *dy, int64_t N, int64_t IN,
                                int64_t OUT, double *dw, double *db) {
    for (int64_t o = 0; o < OUT; o++) {
        for (int64_t i = 0; i < IN; i++) {
            double acc = 0;
            for (int64_t n = 0; n < N; n++) acc += dy[n * OUT + o] * x[n * IN + i];
            dw[o * IN + i] += acc;
        }
        if (db) {
            double acc = 0;
            for (int64_t n = 0; n < N; n++) acc += dy[n * OUT + o];
            db[o] += acc;
        }
    }
}
