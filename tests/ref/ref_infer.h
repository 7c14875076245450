/* tests/ref/ref_infer.h — float64 reference of sliding-window inference (naive loops): tile
 * positions by nnU-Net's formula, the Gaussian map, zero padding, mirroring, weighted
 * accumulation, softmax and argmax; and a deterministic probe "network" used both by the
 * device test (as the predictor) and by the reference. Leaves out everything about speed
 * and device memory. Volumes are (C, D, H, W), 2D as D = 1. */
#ifndef MEDCL_REF_INFER_H
#define MEDCL_REF_INFER_H
#include <stdint.h>

#define REF_PROBE_MAX 8

/* logits[k, q] = sum_c coef[k][c] x[c, q] + gamma[k] x[0, q + 1 along W] (0 at the patch
 * edge) + bias[k] + beta[k] (qz + 2 qy + 3 qx) / (pD + pH + pW), q the patch-local voxel:
 * neither mirror-symmetric nor position-independent. */
typedef struct ref_probe {
    int C, K;
    double coef[REF_PROBE_MAX][REF_PROBE_MAX];
    double gamma[REF_PROBE_MAX], bias[REF_PROBE_MAX], beta[REF_PROBE_MAX];
} ref_probe;

/* patch (C, pD, pH, pW) -> logits (K, pD, pH, pW) */
void ref_probe_predict(const ref_probe *s, const double *patch, const int64_t p[3], double *logits);

/* nnU-Net compute_steps_for_sliding_window for one axis (size padded to the patch first;
 * a patch of extent 1 visits every index). Returns the count; pos may be NULL. */
int64_t ref_infer_positions(int64_t size, int64_t patch, double step, int64_t *pos);

/* Gaussian map (pD, pH, pW): prod exp(-d^2 / (2 sigma^2)), sigma = scale * patch, centre
 * patch // 2, 0 beyond round-down(4 sigma + 0.5), zeros replaced by the smallest non-zero. */
void ref_infer_gaussian(const int64_t p[3], double sigma_scale, double *w);

typedef struct ref_infer_opts {
    int64_t patch[3];
    double step;
    int gaussian;        /* 1 Gaussian, 0 constant */
    double sigma_scale;
    unsigned mirror;     /* bits D, H, W; axes with patch extent 1 are skipped */
    const ref_probe *probe;
} ref_infer_opts;

/* image (C, D, H, W) -> averaged logits (K, D, H, W) */
void ref_sliding_window(const float *image, const int64_t ext[3], const ref_infer_opts *o,
                        double *logits);
/* in place softmax over K of x (K, V) */
void ref_softmax(double *x, int K, int64_t V);
/* labels[v] = first argmax over K of x (K, V) */
void ref_argmax(const double *x, int K, int64_t V, int32_t *labels);
#endif
