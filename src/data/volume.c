/* src/data/volume.c — the host volume type: creation with neutral geometry and freeing.
 * File formats live in nifti.c; resampling and normalization are elsewhere in src/data. */
#include "core/internal.h"
#include "medcl/data_io.h"

#include <stdlib.h>
#include <string.h>

medcl_status medcl_volume_create(const int64_t dim[4], medcl_volume **out) {
    medcl_status st = MEDCL_OK;
    medcl_volume *v = NULL;
    int64_t n = 1;
    size_t bytes = 0;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "volume_create: out is NULL");
    *out = NULL;
    if (!dim) return medcl_fail(MEDCL_ERR_INVALID_ARG, "volume_create: dim is NULL");
    for (int i = 0; i < 4; i++) {
        if (dim[i] <= 0)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "volume_create: dim[%d] = %lld (must be > 0)",
                              i, (long long)dim[i]);
        if (!medcl_mul_i64(n, dim[i], &n))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "volume_create: dims %lldx%lldx%lldx%lld overflow",
                              (long long)dim[0], (long long)dim[1], (long long)dim[2],
                              (long long)dim[3]);
    }
    if ((uint64_t)n > SIZE_MAX / sizeof(float))
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "volume_create: %lld voxels do not fit memory",
                          (long long)n);
    bytes = (size_t)n * sizeof(float);
    v = calloc(1, sizeof *v);
    if (!v) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "volume_create: out of memory");
    v->data = malloc(bytes);
    if (!v->data)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "volume_create: cannot allocate %zu bytes", bytes);
    memcpy(v->dim, dim, sizeof v->dim);
    for (int i = 0; i < 3; i++) v->spacing[i] = 1.0;
    for (int i = 0; i < 4; i++) v->affine[i][i] = 1.0;
    v->datatype = MEDCL_NIFTI_F32;
    v->scl_slope = 1.0;
    v->nifti.version = 1;
    v->nifti.pixdim[0] = 1.0;
    for (int i = 1; i < 8; i++) v->nifti.pixdim[i] = 1.0;
    v->nifti.xyzt_units = 2 | 8; /* mm, s */
    for (int i = 0; i < 3; i++) v->nifti.srow[i][i] = 1.0;
    *out = v;
    v = NULL;
cleanup:
    medcl_volume_free(v);
    return st;
}

void medcl_volume_free(medcl_volume *v) {
    if (!v) return;
    free(v->data);
    free(v);
}
