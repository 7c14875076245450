/* medcl/sample_data.h — the built-in default data of the demo: 2D axial slices of the
 * Colin27 "ch2" T1 MRI with its brain mask (Debian package mricron-data, BSD licence), and a
 * synthetic phantom set used when that package is not installed. Host arrays only. */
#ifndef MEDCL_SAMPLE_DATA_H
#define MEDCL_SAMPLE_DATA_H

#include "medcl/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct medcl_slice_set {
    int64_t n, h, w;      /* n slices of h x w */
    float *images;        /* (n, h, w), z-scored over the head */
    uint8_t *labels;      /* (n, h, w), 0 background, 1 brain */
    int *index;           /* source slice number of each slice */
    double spacing[2];    /* mm along h, w */
    char source[512];     /* where the data came from */
} medcl_slice_set;

MEDCL_API void medcl_slice_set_free(medcl_slice_set *s);

typedef struct medcl_sample_brain_options {
    size_t size;             /* sizeof(medcl_sample_brain_options) */
    const char *dir;         /* NULL: MEDCL_DEMO_DATA_DIR, else /usr/share/mricron/templates */
    int downsample;          /* in-plane average-pooling factor (1, 2 or 4); default 2 */
    double min_brain_fraction; /* keep slices whose brain area exceeds this fraction; 0.01 */
    int multiple;            /* pad h and w up to a multiple of this (U-Net levels); 16 */
} medcl_sample_brain_options;
#define MEDCL_SAMPLE_BRAIN_OPTIONS_INIT {sizeof(medcl_sample_brain_options), NULL, 2, 0.01, 16}

/* Axial slices of ch2.nii.gz with labels ch2bet.nii.gz > 0. MEDCL_ERR_NOT_FOUND when the
 * files are absent (the caller falls back to the phantom). */
MEDCL_API medcl_status medcl_sample_brain(const medcl_sample_brain_options *opt,
                                          medcl_slice_set **out);

/* n synthetic "head" slices of size x size: an elliptical brain (label 1) with internal
 * structure inside a bright skull ring, random shapes and intensities from Philox(seed). */
MEDCL_API medcl_status medcl_sample_phantom(uint64_t seed, int64_t n, int64_t size,
                                            medcl_slice_set **out);

#ifdef __cplusplus
}
#endif
#endif
