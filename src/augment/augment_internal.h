/* src/augment/augment_internal.h — the pipeline structure, the layout of the per-sample
 * parameter blocks the kernels read, the host parameter draws (shared with the float64
 * test references, which apply the same drawn parameters) and the launch helpers of each
 * transform family. Not installed. */
#ifndef MEDCL_AUGMENT_INTERNAL_H
#define MEDCL_AUGMENT_INTERNAL_H

#include "medcl/augment.h"
#include "ops/ops_internal.h"

/* One block of AUG_PB floats per (transform, sample), uploaded once per apply call. */
#define AUG_PB 128
#define AUG_P_APPLIED 0          /* 1 when the transform hits the sample */
#define AUG_P_CH 8               /* per channel c: [AUG_P_CH + 4c] on, [+1..+3] values */
#define AUG_P_X 72               /* kind-specific fields from here */
/* spatial */
#define AUG_P_MAT (AUG_P_X + 0)  /* 3x3 row-major, rows/cols (D, H, W) */
#define AUG_P_OFF (AUG_P_X + 9)  /* translation (D, H, W) */
#define AUG_P_ELASTIC (AUG_P_X + 12)
#define AUG_P_GSCALE (AUG_P_X + 13) /* (G - 1)/(n_out - 1) per axis */
/* bias field: 20 coefficients; dropout: count then 6 per box (d0, d1, h0, h1, w0, w1);
 * motion: segments, 3 starts, 4 x 3 translations; ghosting: g; spike: count, 4 x (kd kh kw i) */
#define AUG_P_COEF (AUG_P_X + 0)
#define AUG_P_NBOX (AUG_P_X + 0)
#define AUG_P_BOX (AUG_P_X + 1)
#define AUG_P_NSEG (AUG_P_X + 0)
#define AUG_P_SEGSTART (AUG_P_X + 1)
#define AUG_P_SEGT (AUG_P_X + 4)
#define AUG_P_GHOSTS (AUG_P_X + 0)
#define AUG_P_NSPIKE (AUG_P_X + 0)
#define AUG_P_SPIKE (AUG_P_X + 1)
#define AUG_MAX_SEG 4
#define AUG_MAX_SPIKE 4
#define AUG_BIAS_TERMS 20

/* Philox streams: host parameter draws 2t, device draws 2t + 1; the mixing transforms use
 * AUG_MIX_STREAM. Counter words: (epoch, sample). */
#define AUG_STREAM_HOST(t) (2u * (uint32_t)(t))
#define AUG_STREAM_DEV(t) (2u * (uint32_t)(t) + 1u)
#define AUG_MIX_STREAM 0x4D495855u

struct medcl_augment_pipeline {
    medcl_augment_transform *t;
    int n, cap;
};

/* Geometry of one apply call: channels and (D, H, W) of the input and the output. */
typedef struct aug_geom {
    int64_t n, c;
    int64_t in[3], out[3];
} aug_geom;

/* Draws the parameters of transform t (index ti in its pipeline) for one sample into a block
 * of AUG_PB floats: host stream AUG_STREAM_HOST(ti), counter (epoch, sample). */
void aug_draw(const medcl_augment_transform *t, int ti, const aug_geom *g, uint64_t seed,
              uint32_t epoch, uint32_t sample, float *block);
/* Elastic control-grid coefficient j = ((comp G + gz) G + gy) G + gx of (seed, ti, epoch,
 * sample): the device kernel aug_elastic_grid computes the same bits. */
float aug_elastic_coef(uint64_t seed, int ti, uint32_t epoch, uint32_t sample, int G, float maxd,
                       int dims, uint32_t j);
/* lambda ~ Beta(alpha, alpha) from the draws of (seed, AUG_MIX_STREAM, epoch, sample). */
double aug_beta(uint64_t seed, uint32_t epoch, uint32_t sample, double alpha);
/* Parameters of the mixing transform for sample n of a batch: partner, lambda, box. */
void aug_mix_draw(const medcl_augment_mix *o, int64_t N, const int64_t dhw[3], uint64_t seed,
                  uint32_t epoch, uint32_t sample_index0, int64_t n, float *block);

/* Checks of one transform (used by pipeline_add and the JSON reader). */
medcl_status aug_transform_check(const medcl_augment_transform *t, const char *where);

/* Launch helpers (params: the uploaded blocks of this transform, N x AUG_PB floats). */
typedef struct aug_run {
    medcl_context *ctx;
    const aug_geom *g;
    const medcl_augment_transform *t;
    int ti;
    uint64_t seed;
    uint32_t epoch, sample0;
    const medcl_tensor *params; /* (N, AUG_PB) */
    medcl_tensor *scratch;      /* image-sized */
    medcl_tensor *scratch2;     /* complex k-space: 2 x image-sized, or NULL */
    medcl_tensor *stats;        /* (N, C, 4) */
    medcl_tensor *stats2;       /* (N, C, 4) */
} aug_run;

medcl_status aug_spatial_run(const aug_run *r, const medcl_tensor *img_in, const medcl_tensor *lab_in,
                             medcl_tensor *img_out, medcl_tensor *lab_out);
medcl_status aug_intensity_run(const aug_run *r, medcl_tensor *img);
medcl_status aug_kspace_run(const aug_run *r, medcl_tensor *img);

medcl_status medcl_augment_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);

#endif
