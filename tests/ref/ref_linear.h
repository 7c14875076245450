/* tests/ref/ref_linear.h — float64 reference of y = x W^T + b and its gradients (naive loops). */
#ifndef MEDCL_REF_LINEAR_H
#define MEDCL_REF_LINEAR_H
#include <stdint.h>

/* x (N, IN), w (OUT, IN), b (OUT) or NULL, y (N, OUT) */
void ref_linear_forward(const double *x, const double *w, const double *b, int64_t N, int64_t IN,
                        int64_t OUT, double *y);
/* dx (N, IN) = dy W (assigned) */
void ref_linear_backward_data(const double *dy, const double *w, int64_t N, int64_t IN, int64_t OUT,
                              double *dx);
/* dw (OUT, IN) += dy^T x; db (OUT) += sum_n dy (db may be NULL) */
void ref_linear_backward_weight(const double *x, const double *dy, int64_t N, int64_t IN,
                                int64_t OUT, double *dw, double *db);
#endif
