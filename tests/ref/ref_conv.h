/* tests/ref/ref_conv.h — float64 reference convolution (naive loops), NCDHW, 2D as D = 1:
 * forward (with bias and activation), backward-data, backward-weight (+ bias gradient), and
 * transposed convolution. Leaves out everything about speed. */
#ifndef MEDCL_REF_CONV_H
#define MEDCL_REF_CONV_H
#include <stddef.h>

/* One convolution x (N, Cin, Di, Hi, Wi) -> y (N, Cout, Do, Ho, Wo); weight
 * (Cout, Cin/groups, k[0], k[1], k[2]). For a transposed convolution the same struct describes
 * the convolution whose backward-data it is: its input is the transposed op's output. */
typedef struct ref_conv {
    int N, Cin, Di, Hi, Wi, Cout, Do, Ho, Wo;
    int k[3], s[3], p[3], dil[3], groups;
} ref_conv;

/* Fills Do, Ho, Wo by the convolution formula; returns 0 when an extent would be < 1. */
int ref_conv_init(ref_conv *g);
size_t ref_conv_x_numel(const ref_conv *g);
size_t ref_conv_y_numel(const ref_conv *g);
size_t ref_conv_w_numel(const ref_conv *g);

/* act: 0 none, 1 relu, 2 leaky relu (slope), 3 sigmoid, 4 tanh, 5 gelu (erf) */
double ref_act(double v, int act, double slope);

/* y = act(conv(x, w) + b); b may be NULL */
void ref_conv_forward(const ref_conv *g, const double *x, const double *w, const double *b,
                      int act, double slope, double *y);
/* dx = dL/dx given dy = dL/dy (pre-activation); assigns */
void ref_conv_backward_data(const ref_conv *g, const double *dy, const double *w, double *dx);
/* dw = dL/dw, db = sum dy (db may be NULL); assigns */
void ref_conv_backward_weight(const ref_conv *g, const double *x, const double *dy, double *dw,
                              double *db);

/* Transposed convolution: input xt has the shape of g's y, output yt the shape of g's x,
 * weight (Cout_of_g, Cin_of_g / groups, k) as torch's ConvTranspose (in, out/groups, k);
 * bias over yt's channels (g->Cin). Written as a scatter, independently of the gathers above. */
void ref_conv_transpose_forward(const ref_conv *g, const double *xt, const double *w,
                                const double *b, int act, double slope, double *yt);
void ref_conv_transpose_backward_data(const ref_conv *g, const double *dyt, const double *w,
                                      double *dxt);
void ref_conv_transpose_backward_weight(const ref_conv *g, const double *xt, const double *dyt,
                                        double *dw, double *db);
#endif
