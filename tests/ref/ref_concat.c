/* tests/ref/ref_concat.c — see ref_concat.h. */
#include "ref_concat.h"

void ref_concat_forward(const double *const *xs, const int64_t *cs, int count, int64_t N,
                        int64_t S, double *y) {
    int64_t C = 0;
    for (int i = 0; i < count; i++) C += cs[i];
    for (int64_t n = 0; n < N; n++) {
        int64_t c0 = 0;
        for (int i = 0; i < count; i++) {
            for (int64_t c = 0; c < cs[i]; c++)
                for (int64_t s = 0; s < S; s++)
                    y[(n * C + c0 + c) * S + s] = xs[i][(n * cs[i] + c) * S + s];
            c0 += cs[i];
        }
    }
}

void ref_concat_backward(const double *dy, const int64_t *cs, int count, int64_t N, int64_t S,
                         double *const *dxs) {
    int64_t C = 0;
    for (int i = 0; i < count; i++) C += cs[i];
    for (int64_t n = 0; n < N; n++) {
        int64_t c0 = 0;
        for (int i = 0; i < count; i++) {
            for (int64_t c = 0; c < cs[i]; c++)
                for (int64_t s = 0; s < S; s++)
                    dxs[i][(n * cs[i] + c) * S + s] = dy[(n * C + c0 + c) * S + s];
            c0 += cs[i];
        }
    }
}

void ref_slice_forward(const double *x, int64_t N, int64_t C, int64_t S, int64_t start, int64_t cy,
                       double *y) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < cy; c++)
            for (int64_t s = 0; s < S; s++) y[(n * cy + c) * S + s] = x[(n * C + start + c) * S + s];
}

void ref_slice_backward(const double *dy, int64_t N, int64_t C, int64_t S, int64_t start,
                        int64_t cy, double *dx) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++)
                dx[(n * C + c) * S + s] =
                    c >= start && c < start + cy ? dy[(n * cy + c - start) * S + s] : 0.0;
}
