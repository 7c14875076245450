/* src/data/case.c — reading one case into memory: every image file (NIfTI or PNG) stacked as
 * channels (C, D, H, W), the label map, and the geometry check between them (dims, spacing,
 * affine within tolerance, each differing field listed). Normalization and cropping are in
 * preprocess.c. Leaves out reorientation: files are used in their stored voxel order. */
#include "data_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void medcl_case_free(medcl_case_data *c) {
    if (!c) return;
    free(c->image);
    free(c->label);
    free(c);
}

medcl_status medcl_volume_check_geometry(const medcl_volume *a, const char *name_a,
                                         const medcl_volume *b, const char *name_b,
                                         const medcl_geometry_tolerance *tol) {
    medcl_geometry_tolerance t = MEDCL_GEOMETRY_TOLERANCE_INIT;
    if (tol) t = *tol;
    if (!a || !b) return medcl_fail(MEDCL_ERR_INVALID_ARG, "check_geometry: volume is NULL");
    char msg[1024];
    size_t len = 0;
    int nd = 0;
#define ADD(...)                                                                           \
    do {                                                                                   \
        if (len < sizeof msg) {                                                            \
            int w_ = snprintf(msg + len, sizeof msg - len, __VA_ARGS__);                   \
            if (w_ > 0) len += (size_t)w_;                                                 \
        }                                                                                  \
        nd++;                                                                              \
    } while (0)
    if (a->dim[0] != b->dim[0] || a->dim[1] != b->dim[1] || a->dim[2] != b->dim[2])
        ADD("%sdims %lldx%lldx%lld vs %lldx%lldx%lld", nd ? "; " : "", (long long)a->dim[0],
            (long long)a->dim[1], (long long)a->dim[2], (long long)b->dim[0],
            (long long)b->dim[1], (long long)b->dim[2]);
    for (int i = 0; i < 3; i++) {
        double x = a->spacing[i], y = b->spacing[i];
        double scale = fmax(fabs(x), fabs(y));
        if (!(fabs(x - y) <= t.spacing_rel * scale))
            ADD("%sspacing[%d] %.6g vs %.6g", nd ? "; " : "", i, x, y);
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            double x = a->affine[r][c], y = b->affine[r][c];
            if (!(fabs(x - y) <= t.affine_abs))
                ADD("%saffine[%d][%d] %.6g vs %.6g", nd ? "; " : "", r, c, x, y);
        }
#undef ADD
    if (nd == 0) return MEDCL_OK;
    return medcl_fail(MEDCL_ERR_FORMAT, "geometry mismatch between %s and %s (%d fields): %s",
                      name_a ? name_a : "a", name_b ? name_b : "b", nd, msg);
}

static bool is_png(const char *p) {
    size_t n = strlen(p);
    return n >= 4 && !strcmp(p + n - 4, ".png");
}

/* Reads one file as a volume: NIfTI as is; PNG as x = width, y = height, z = 1 with the PNG
 * channels in dim[3] (channel-major after conversion), unit spacing, identity affine. */
static medcl_status read_any(const char *path, bool labels, medcl_volume **out) {
    medcl_status st = MEDCL_OK;
    medcl_image2d *img = NULL;
    medcl_labels2d *lab = NULL;
    *out = NULL;
    if (!is_png(path)) return medcl_nifti_read(path, NULL, out);
    if (labels) {
        MEDCL_TRY(medcl_png_read_labels(path, NULL, &lab));
        int64_t dim[4] = {lab->width, lab->height, 1, 1};
        MEDCL_TRY(medcl_volume_create(dim, out));
        for (int64_t i = 0; i < lab->width * lab->height; i++) (*out)->data[i] = lab->data[i];
    } else {
        MEDCL_TRY(medcl_png_read(path, NULL, &img));
        int64_t np = img->width * img->height, ch = img->channels;
        int64_t dim[4] = {img->width, img->height, 1, ch};
        MEDCL_TRY(medcl_volume_create(dim, out));
        for (int64_t c = 0; c < ch; c++)
            for (int64_t i = 0; i < np; i++) (*out)->data[c * np + i] = img->data[i * ch + c];
    }
cleanup:
    medcl_image2d_free(img);
    medcl_labels2d_free(lab);
    return st;
}

medcl_status medcl_case_load(const medcl_dataset *d, int i, bool test,
                             const medcl_geometry_tolerance *tol, medcl_case_data **out) {
    medcl_status st = MEDCL_OK;
    medcl_case_data *cd = NULL;
    medcl_volume *first = NULL, *v = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_load: out is NULL");
    *out = NULL;
    const medcl_case *c = test ? medcl_dataset_test_case(d, i) : medcl_dataset_case(d, i);
    if (!c)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "case_load: %s case %d out of range (%d cases)",
                          test ? "test" : "training", i,
                          test ? medcl_dataset_test_count(d) : medcl_dataset_count(d));
    cd = calloc(1, sizeof *cd);
    if (!cd) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "case_load: out of memory");
    cd->class_label = c->class_label;
    cd->domain = c->domain;
    int64_t nvox = 0, ch = 0;
    for (int f = 0; f < c->n_files; f++) {
        medcl_volume *cur = NULL;
        MEDCL_TRY(read_any(c->files[f], false, &cur));
        if (f == 0) {
            first = cur;
            nvox = cur->dim[0] * cur->dim[1] * cur->dim[2];
            cd->dim[0] = cur->dim[2];
            cd->dim[1] = cur->dim[1];
            cd->dim[2] = cur->dim[0];
            for (int a = 0; a < 3; a++) cd->spacing[a] = cur->spacing[2 - a];
            memcpy(cd->affine, cur->affine, sizeof cd->affine);
            cd->nifti = cur->nifti;
        } else {
            v = cur;
            MEDCL_TRY(medcl_volume_check_geometry(first, c->files[0], v, c->files[f], tol));
        }
        medcl_volume *src = f == 0 ? first : v;
        if (src->nonfinite > 0)
            MEDCL_FAIL(MEDCL_ERR_NUMERIC, "%s: %lld NaN/Inf voxels", c->files[f],
                       (long long)src->nonfinite);
        int64_t add = src->dim[3];
        float *g = realloc(cd->image, (size_t)((ch + add) * nvox) * sizeof(float));
        if (!g) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", c->files[f]);
        cd->image = g;
        memcpy(cd->image + ch * nvox, src->data, (size_t)(add * nvox) * sizeof(float));
        ch += add;
        medcl_volume_free(v);
        v = NULL;
    }
    cd->channels = ch;
    int want = medcl_dataset_channel_count(d);
    if (d->kind == MEDCL_DATASET_SEGMENTATION && ch != want)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "case %s: %d image file(s) hold %lld channels, channel_names "
                   "lists %d", c->id, c->n_files, (long long)ch, want);
    if (c->label_file) {
        MEDCL_TRY(read_any(c->label_file, true, &v));
        MEDCL_TRY(medcl_volume_check_geometry(first, c->files[0], v, c->label_file, tol));
        if (v->dim[3] != 1)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: label map has %lld components (expected 1)",
                       c->label_file, (long long)v->dim[3]);
        int ncls = d->n_classes, ign = d->ignore_label;
        for (int64_t k = 0; k < nvox; k++) {
            float x = v->data[k];
            int xi = (int)x;
            if (!(x >= 0.0f && x < 65536.0f) || (float)xi != x || (xi >= ncls && xi != ign))
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: voxel %lld has label %g, not one of the %d "
                           "classes in dataset.json%s", c->label_file, (long long)k, (double)x,
                           ncls, ign >= 0 ? " or the ignore label" : "");
        }
        cd->label = v->data;
        v->data = NULL;
    }
    for (int a = 0; a < 3; a++) cd->source_dim[a] = cd->dim[a];
    *out = cd;
    cd = NULL;
cleanup:
    medcl_volume_free(first);
    medcl_volume_free(v);
    medcl_case_free(cd);
    return st;
}
