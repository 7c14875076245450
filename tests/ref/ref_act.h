/* tests/ref/ref_act.h — float64 references for activations, PReLU and softmax (naive loops),
 * and the central finite-difference helper every backward test of this family uses. */
#ifndef MEDCL_REF_ACT_H
#define MEDCL_REF_ACT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* act: medcl_activation codes (0 none, 1 relu, 2 leaky relu, 3 sigmoid, 4 tanh, 5 gelu). */
double ref_act_value(int act, double slope, double x);
double ref_act_derivative(int act, double slope, double x);
void ref_act_forward(int act, double slope, const double *x, double *y, size_t n);
void ref_act_backward(int act, double slope, const double *x, const double *dy, double *dx,
                      size_t n);

/* PReLU with x viewed as (n / (cw * s), cw, s); slope w[(i / s) % cw]. dw is accumulated. */
void ref_prelu_forward(const double *x, const double *w, int64_t cw, int64_t s, int64_t n,
                       double *y);
void ref_prelu_backward(const double *x, const double *w, const double *dy, int64_t cw, int64_t s,
                        int64_t n, double *dx, double *dw);

/* Softmax / log-softmax over C of (N, C, S). Backward from the output y. */
void ref_softmax_forward(bool log_out, const double *x, int64_t N, int64_t C, int64_t S, double *y);
void ref_softmax_backward(bool log_out, const double *y, const double *dy, int64_t N, int64_t C,
                          int64_t S, double *dx);

/* d/dx_i of sum_j dy_j f(x)_j by central differences (x is restored). */
typedef void (*ref_fn)(const double *x, double *y, void *ctx);
double ref_fd_grad(ref_fn f, void *ctx, double *x, size_t ny, const double *dy, size_t i,
                   double eps);

/* malloc'd double copy of a float array */
double *ref_to_double(const float *x, size_t n);
#endif
