/* tests/ref/ref_broadcast.c — see ref_broadcast.h: every output element visited in order, its
 * operand indices found from the right-aligned shapes. */
#include "ref_broadcast.h"

#include <stddef.h>

static int64_t numel(int r, const int64_t *s) {
    int64_t n = 1;
    for (int k = 0; k < r; k++) n *= s[k];
    return n;
}

/* operand index of output element i */
static int64_t src_index(int64_t i, int ry, const int64_t *ys, int r, const int64_t *s) {
    int64_t idx = 0, stride = 1;
    for (int k = ry - 1; k >= 0; k--) {
        int64_t c = i % ys[k];
        i /= ys[k];
        int ko = k - (ry - r);
        if (ko < 0) continue;
        if (s[ko] != 1) idx += c * stride;
        stride *= s[ko];
    }
    return idx;
}

void ref_broadcast_forward(int mul, const double *a, int ra, const int64_t *as, const double *b,
                           int rb, const int64_t *bs, double *y, int ry, const int64_t *ys) {
    int64_t n = numel(ry, ys);
    for (int64_t i = 0; i < n; i++) {
        double va = a[src_index(i, ry, ys, ra, as)], vb = b[src_index(i, ry, ys, rb, bs)];
        y[i] = mul ? va * vb : va + vb;
    }
}

void ref_broadcast_backward(int mul, const double *a, int ra, const int64_t *as, const double *b,
                            int rb, const int64_t *bs, const double *dy, int ry, const int64_t *ys,
                            double *da, double *db) {
    int64_t n = numel(ry, ys);
    if (da)
        for (int64_t j = 0; j < numel(ra, as); j++) da[j] = 0;
    if (db)
        for (int64_t j = 0; j < numel(rb, bs); j++) db[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = src_index(i, ry, ys, ra, as), ib = src_index(i, ry, ys, rb, bs);
        if (da) da[ia] += mul ? dy[i] * b[ib] : dy[i];
        if (db) db[ib] += mul ? dy[i] * a[ia] : dy[i];
    }
}
