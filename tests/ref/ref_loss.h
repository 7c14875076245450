/* tests/ref/ref_loss.h — float64 references of the losses (naive loops, written from the
 * PyTorch / MONAI / nnU-Net definitions in docs/REFERENCE.md and include/medcl/ops_loss.h):
 * forward values and analytic gradients d loss / d logits. Logits are (N, C, S), S = D*H*W;
 * class indices (N, S); soft targets (N, C, S). No validation: the caller passes sane input. */
#ifndef MEDCL_REF_LOSS_H
#define MEDCL_REF_LOSS_H

typedef struct ref_loss_in {
    int N, C;
    long S;
    const double *x;     /* (N, C, S) logits */
    const int *labels;   /* (N, S) class indices, or NULL */
    const double *soft;  /* (N, C, S) soft targets when labels is NULL */
} ref_loss_in;

/* Cross-entropy (torch cross_entropy): class weights w (C) or NULL, ignore_index, label
 * smoothing eps, sum (1) or mean (0). Mean with all voxels ignored gives 0.
 * Focal (MONAI softmax focal, mean over kept voxels): gamma, alpha (< 0: none), w. */
typedef struct ref_xent_params {
    const double *w;
    int ignore;
    double eps;
    double gamma, alpha;
    int sum;
} ref_xent_params;

double ref_ce_forward(const ref_loss_in *in, const ref_xent_params *p);
void ref_ce_backward(const ref_loss_in *in, const ref_xent_params *p, double g, double *dx);
double ref_focal_forward(const ref_loss_in *in, const ref_xent_params *p);
void ref_focal_backward(const ref_loss_in *in, const ref_xent_params *p, double g, double *dx);

/* BCE with logits (pos_weight per channel or NULL) and MSE; mean over N*C*S or sum. */
double ref_bce_forward(const ref_loss_in *in, const double *pos_weight, int sum);
void ref_bce_backward(const ref_loss_in *in, const double *pos_weight, int sum, double g, double *dx);
double ref_mse_forward(const ref_loss_in *in, int sum);
void ref_mse_backward(const ref_loss_in *in, int sum, double g, double *dx);

/* Region losses. kind 0 nnU-Net Dice (-mean dc), 1 MONAI Dice (1 - mean dc), 2 Tversky. */
typedef struct ref_region_params {
    int kind;
    int include_bg, batch, sigmoid, ignore;
    double snr, sdr, clip;  /* clip: Dice denominator lower bound (0 = none) */
    double alpha, beta;     /* Tversky */
} ref_region_params;

double ref_region_forward(const ref_loss_in *in, const ref_region_params *p);
void ref_region_backward(const ref_loss_in *in, const ref_region_params *p, double g, double *dx);

/* Central difference of f at element i of in->x (x is modified and restored). */
double ref_loss_fd(double (*f)(const ref_loss_in *, const void *), const ref_loss_in *in,
                   const void *p, long i, double h);

#endif
