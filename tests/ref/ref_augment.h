/* tests/ref/ref_augment.h — float64 host references of the augmentation transforms. They
 * take the parameter blocks drawn by aug_draw (the same draws as the device) and apply them
 * in double with naive loops. The spatial reference computes the source coordinates in float
 * with the kernel's operation order (so both pick the same taps) and interpolates in double. */
#ifndef REF_AUGMENT_H
#define REF_AUGMENT_H
#include <stdint.h>

#include "augment/augment_internal.h"

/* geometry: N, C, in (D, H, W), out (D, H, W); blocks: N x AUG_PB floats of transform ti. */
void ref_aug_spatial(const medcl_augment_transform *t, int ti, const aug_geom *g, const float *blocks,
                     uint64_t seed, uint32_t epoch, uint32_t sample0, const float *x, const float *l,
                     double *y, float *lo);
/* intensity kinds (not blur / low-res): y = x transformed */
void ref_aug_pointwise(const medcl_augment_transform *t, int ti, const aug_geom *g, const float *blocks,
                       uint64_t seed, uint32_t epoch, uint32_t sample0, const float *x, double *y);
void ref_aug_blur(const aug_geom *g, const float *blocks, const float *x, double *y);
void ref_aug_lowres(const aug_geom *g, const float *blocks, const float *x, double *y);
void ref_aug_kspace(const medcl_augment_transform *t, const aug_geom *g, const float *blocks, const float *x,
                    double *y);
void ref_aug_mix(const medcl_augment_mix *o, int64_t N, int64_t C, const int64_t dhw[3], const float *blocks,
                 const float *x, const float *l, double *y, double *soft);
#endif
