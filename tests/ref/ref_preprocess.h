/* tests/ref/ref_preprocess.h — float64 references for the data layer's device preprocessing:
 * resampling (linear, nearest) with the pixel-centre convention of cl/preprocess.cl. */
#ifndef MEDCL_REF_PREPROCESS_H
#define MEDCL_REF_PREPROCESS_H
#include <stdint.h>

/* x: nc volumes (D, H, W); y: nc volumes (Do, Ho, Wo), W fastest. nearest: 0 linear, 1 nearest. */
void ref_resample(const float *x, int64_t nc, int64_t D, int64_t H, int64_t W, int64_t Do,
                  int64_t Ho, int64_t Wo, int nearest, double *y);
#endif
