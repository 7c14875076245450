/* src/data/data_internal.h — the dataset structure and helpers shared by dataset.c, split.c,
 * preprocess.c, sampler.c and loader.c. Not installed. */
#ifndef MEDCL_DATA_INTERNAL_H
#define MEDCL_DATA_INTERNAL_H

#include "core/internal.h"
#include "medcl/data.h"

struct medcl_dataset {
    medcl_dataset_kind kind;
    char *root;                /* folder of the dataset (or of the CSV) */
    char *name;                /* dataset.json or CSV path, for messages */
    char *file_ending;
    int n_channels;
    char **channel_names;
    medcl_norm_scheme *norms;
    int n_classes;
    char **class_names;        /* index = class value */
    int ignore_label;
    int n_domains;
    char **domain_names;
    int n_cases, n_test;
    medcl_case *cases, *test;
    /* dataset.json "domains" entries before the cases are known */
    int n_dom_map;
    char **dom_map_case;
    int *dom_map_domain;
};

/* printf into a fresh malloc'd string (NULL on out of memory). */
char *medcl_data_strdupf(const char *fmt, ...) MEDCL_PRINTF(1, 2);

/* Sampling of one patch (sampler.c): the random draws of sample s of batch (epoch, index). */
typedef struct medcl_fg_index {
    int n_classes;             /* foreground classes 1..n_classes-1 tracked */
    int64_t *count;            /* (n_classes) locations kept per class */
    int64_t **loc;             /* (n_classes) flat voxel indices, D*H*W space */
} medcl_fg_index;
medcl_status medcl_fg_index_build(const medcl_case_data *cd, int n_classes, int ignore_label,
                                  int64_t max_per_class, medcl_fg_index *out);
void medcl_fg_index_free(medcl_fg_index *f);

/* Cuts one sample. img (C, sd, sh, sw), lab (1, sd, sh, sw) or NULL. Draws from Philox
 * (seed, MEDCL_STREAM_SAMPLER, epoch, sample_global); force_fg as decided by the caller.
 * Sets *forced to 1 when a foreground voxel was used. */
#define MEDCL_STREAM_SAMPLER 0x5A4D504Cu
#define MEDCL_STREAM_CASE 0x43415345u
medcl_status medcl_sample_patch(const medcl_case_data *cd, const medcl_fg_index *fg,
                                const medcl_sampler_options *o, const int64_t src[3],
                                uint64_t seed, uint32_t epoch, uint32_t sample_global,
                                bool force_fg, float *img, float *lab, uint8_t *forced);

#endif
