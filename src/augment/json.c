/* src/augment/json.c — pipelines to and from JSON, with errors that name the JSON path, and
 * the presets "none" and "nnunet" (REFERENCE.md, nnU-Net v2 default augmentation).
 * Format: {"transforms": [{"type": "<kind>", "<field>": value, ...}, ...]}; every field of a
 * kind is optional (defaults of MEDCL_AUGMENT_TRANSFORM_INIT); unknown keys are errors. */
#include "augment_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { F1, F2, I1, I2, B1, F3, I3, ROT, EIMG, ELAB, EBORD } ftype;
typedef struct {
    const char *name;
    ftype type;
    size_t off;
} field;

#define T(f) offsetof(medcl_augment_transform, f)
#define S(f) (offsetof(medcl_augment_transform, spatial) + offsetof(medcl_augment_spatial, f))

static const field spatial_fields[] = {
    {"p_rotation", F1, S(p_rotation)},   {"rotation", ROT, S(rotation)},
    {"p_scale", F1, S(p_scale)},         {"scale", F2, S(scale)},
    {"scale_per_axis", B1, S(scale_per_axis)},
    {"p_elastic", F1, S(p_elastic)},     {"elastic_points", I1, S(elastic_points)},
    {"elastic_max", F1, S(elastic_max)}, {"p_translate", F1, S(p_translate)},
    {"translate", F2, S(translate)},     {"p_mirror", F3, S(p_mirror)},
    {"p_rot90", F1, S(p_rot90)},         {"rot90_axes", I3, S(rot90_axes)},
    {"image_interp", EIMG, S(image_interp)}, {"label_interp", ELAB, S(label_interp)},
    {"border", EBORD, S(border)},        {"fill", F1, S(fill)},
};
static const field common_fields[] = {
    {"p", F1, T(p)}, {"per_channel", B1, T(per_channel)}, {"p_per_channel", F1, T(p_per_channel)},
    {"split_at_one", B1, T(split_at_one)},
};
/* name of the main range and the extra fields of each kind */
static const char *range_name[MEDCL_AUGMENT_KIND_COUNT] = {
    NULL, "sigma", "sigma", "sigma", "factor", "offset", "factor", "gamma", "zoom",
    "coefficient", "size", "translation", "intensity", "intensity"};
static const field f_invert = {"invert", B1, T(invert)}, f_retain = {"retain_stats", B1, T(retain_stats)},
                   f_preserve = {"preserve_range", B1, T(preserve_range)}, f_count = {"count", I2, T(count)},
                   f_value = {"value", F1, T(value)}, f_axis = {"axis", I1, T(axis)},
                   f_restore = {"restore", F1, T(restore)};

static int extra_fields(medcl_augment_kind k, field *out) {
    int n = 0;
    switch (k) {
    case MEDCL_AUGMENT_GAMMA: out[n++] = f_invert; out[n++] = f_retain; break;
    case MEDCL_AUGMENT_CONTRAST: out[n++] = f_preserve; break;
    case MEDCL_AUGMENT_COARSE_DROPOUT: out[n++] = f_count; out[n++] = f_value; break;
    case MEDCL_AUGMENT_MOTION: out[n++] = f_count; out[n++] = f_axis; break;
    case MEDCL_AUGMENT_GHOSTING: out[n++] = f_count; out[n++] = f_axis; out[n++] = f_restore; break;
    case MEDCL_AUGMENT_SPIKE: out[n++] = f_count; break;
    default: break;
    }
    return n;
}

/* every field of kind k (at most 24) */
static int fields_of(medcl_augment_kind k, field *out) {
    int n = 0;
    if (k == MEDCL_AUGMENT_SPATIAL) {
        for (size_t i = 0; i < sizeof spatial_fields / sizeof spatial_fields[0]; i++) out[n++] = spatial_fields[i];
        return n;
    }
    for (size_t i = 0; i < sizeof common_fields / sizeof common_fields[0]; i++) out[n++] = common_fields[i];
    out[n++] = (field){range_name[k], F2, T(range)};
    return n + extra_fields(k, out + n);
}

static const char *img_names[] = {"linear", "nearest", "cubic"};
static const char *lab_names[] = {"nearest", "onehot"};
static const char *bord_names[] = {"constant", "clamp"};

static medcl_status num(const cJSON *j, const char *path, double *v) {
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: expected a finite number", path);
    *v = j->valuedouble;
    return MEDCL_OK;
}

static medcl_status nums(const cJSON *j, const char *path, int n, double *v) {
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != n)
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: expected %d numbers", path, n);
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(j, i);
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: expected %d numbers", path, n);
        v[i] = e->valuedouble;
    }
    return MEDCL_OK;
}

static medcl_status enum_of(const cJSON *j, const char *path, const char **names, int n, int *v) {
    if (cJSON_IsString(j))
        for (int i = 0; i < n; i++)
            if (!strcmp(j->valuestring, names[i])) {
                *v = i;
                return MEDCL_OK;
            }
    char list[128] = "";
    for (int i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return medcl_fail(MEDCL_ERR_FORMAT, "%s: expected one of %s", path, list);
}

static bool is_int(double v) { return v == floor(v) && fabs(v) < 1e9; }

static medcl_status read_field(const field *f, const cJSON *j, const char *path, medcl_augment_transform *t) {
    medcl_status st = MEDCL_OK;
    char *base = (char *)t + f->off;
    double v[6] = {0, 0, 0, 0, 0, 0};
    switch (f->type) {
    case F1: MEDCL_TRY(num(j, path, v)); *(float *)base = (float)v[0]; break;
    case F2: MEDCL_TRY(nums(j, path, 2, v)); for (int i = 0; i < 2; i++) ((float *)base)[i] = (float)v[i]; break;
    case F3: MEDCL_TRY(nums(j, path, 3, v)); for (int i = 0; i < 3; i++) ((float *)base)[i] = (float)v[i]; break;
    case I1:
        MEDCL_TRY(num(j, path, v));
        if (!is_int(v[0])) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: expected an integer", path);
        *(int *)base = (int)v[0];
        break;
    case I2:
    case I3: {
        int n = f->type == I2 ? 2 : 3;
        MEDCL_TRY(nums(j, path, n, v));
        for (int i = 0; i < n; i++) {
            if (!is_int(v[i])) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: expected %d integers", path, n);
            ((int *)base)[i] = (int)v[i];
        }
        break;
    }
    case B1:
        if (!cJSON_IsBool(j)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: expected true or false", path);
        *(int *)base = cJSON_IsTrue(j);
        break;
    case ROT: {
        if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 3)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: expected 3 ranges [lo, hi] (about D, H, W)", path);
        for (int a = 0; a < 3; a++) {
            char p2[160];
            snprintf(p2, sizeof p2, "%s[%d]", path, a);
            MEDCL_TRY(nums(cJSON_GetArrayItem(j, a), p2, 2, v));
            ((float *)base)[2 * a] = (float)v[0];
            ((float *)base)[2 * a + 1] = (float)v[1];
        }
        break;
    }
    case EIMG: MEDCL_TRY(enum_of(j, path, img_names, 3, (int *)base)); break;
    case ELAB: MEDCL_TRY(enum_of(j, path, lab_names, 2, (int *)base)); break;
    case EBORD: MEDCL_TRY(enum_of(j, path, bord_names, 2, (int *)base)); break;
    }
cleanup:
    return st;
}

static medcl_status parse_transform(const cJSON *o, int idx, medcl_augment_transform *t) {
    medcl_status st = MEDCL_OK;
    char path[160], where[64];
    snprintf(where, sizeof where, "$.transforms[%d]", idx);
    if (!cJSON_IsObject(o)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: expected an object", where);
    medcl_augment_transform init = MEDCL_AUGMENT_TRANSFORM_INIT;
    *t = init;
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    snprintf(path, sizeof path, "%s.type", where);
    if (!ty) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: missing", path);
    int kind = -1;
    if (cJSON_IsString(ty))
        for (int k = 0; k < MEDCL_AUGMENT_KIND_COUNT; k++)
            if (!strcmp(ty->valuestring, medcl_augment_kind_str((medcl_augment_kind)k))) kind = k;
    if (kind < 0) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: not a transform type (spatial, gaussian_noise, ...)", path);
    t->kind = (medcl_augment_kind)kind;
    field fs[32];
    int nf = fields_of(t->kind, fs);
    for (const cJSON *e = o->child; e; e = e->next) {
        if (!strcmp(e->string, "type")) continue;
        snprintf(path, sizeof path, "%s.%s", where, e->string);
        int hitf = -1;
        for (int i = 0; i < nf; i++)
            if (!strcmp(fs[i].name, e->string)) hitf = i;
        if (hitf < 0) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: unknown key for a %s transform", path, ty->valuestring);
        MEDCL_TRY(read_field(&fs[hitf], e, path, t));
    }
    st = aug_transform_check(t, where);
    if (st != MEDCL_OK) medcl_error_prefix("augment JSON");
cleanup:
    return st;
}

medcl_status medcl_augment_pipeline_from_json(const char *text, medcl_augment_pipeline **out) {
    medcl_status st = MEDCL_OK;
    cJSON *root = NULL;
    medcl_augment_pipeline *p = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_pipeline_from_json: out is NULL");
    *out = NULL;
    if (!text) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_pipeline_from_json: text is NULL");
    root = cJSON_Parse(text);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "$: not valid JSON (at byte %lld)", e ? (long long)(e - text) : -1LL);
    }
    if (!cJSON_IsObject(root)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "$: expected an object");
    for (const cJSON *e = root->child; e; e = e->next)
        if (strcmp(e->string, "transforms")) MEDCL_FAIL(MEDCL_ERR_FORMAT, "$.%s: unknown key", e->string);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "transforms");
    if (!cJSON_IsArray(arr)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "$.transforms: expected an array");
    MEDCL_TRY(medcl_augment_pipeline_create(&p));
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        medcl_augment_transform t;
        MEDCL_TRY(parse_transform(e, i, &t));
        MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    }
    *out = p;
    p = NULL;
cleanup:
    medcl_augment_pipeline_destroy(p);
    cJSON_Delete(root);
    return st;
}

static cJSON *farr(const float *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}
static cJSON *iarr(const int *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

medcl_status medcl_augment_pipeline_to_json(const medcl_augment_pipeline *p, char **out) {
    medcl_status st = MEDCL_OK;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_pipeline_to_json: out is NULL");
    *out = NULL;
    if (!p) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_pipeline_to_json: pipeline is NULL");
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "transforms");
    if (!root || !arr) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "augment_pipeline_to_json: out of memory");
    for (int i = 0; i < p->n; i++) {
        const medcl_augment_transform *t = &p->t[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "augment_pipeline_to_json: out of memory");
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "type", medcl_augment_kind_str(t->kind));
        field fs[32];
        int nf = fields_of(t->kind, fs);
        for (int f = 0; f < nf; f++) {
            const char *base = (const char *)t + fs[f].off;
            cJSON *v = NULL;
            switch (fs[f].type) {
            case F1: v = cJSON_CreateNumber((double)*(const float *)base); break;
            case F2: v = farr((const float *)base, 2); break;
            case F3: v = farr((const float *)base, 3); break;
            case I1: v = cJSON_CreateNumber((double)*(const int *)base); break;
            case I2: v = iarr((const int *)base, 2); break;
            case I3: v = iarr((const int *)base, 3); break;
            case B1: v = cJSON_CreateBool(*(const int *)base); break;
            case ROT:
                v = cJSON_CreateArray();
                for (int a = 0; v && a < 3; a++) cJSON_AddItemToArray(v, farr((const float *)base + 2 * a, 2));
                break;
            case EIMG: v = cJSON_CreateString(img_names[*(const int *)base]); break;
            case ELAB: v = cJSON_CreateString(lab_names[*(const int *)base]); break;
            case EBORD: v = cJSON_CreateString(bord_names[*(const int *)base]); break;
            }
            if (!v) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "augment_pipeline_to_json: out of memory");
            cJSON_AddItemToObject(o, fs[f].name, v);
        }
    }
    *out = cJSON_Print(root);
    if (!*out) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "augment_pipeline_to_json: out of memory");
cleanup:
    cJSON_Delete(root);
    return st;
}

/* nnU-Net v2 defaults (REFERENCE.md table, in its order). */
static medcl_status nnunet(int dims, const int64_t patch[3], medcl_augment_pipeline *p) {
    medcl_status st = MEDCL_OK;
    const medcl_augment_transform init = MEDCL_AUGMENT_TRANSFORM_INIT;
    medcl_augment_transform t = init;
    /* 1: rotation and scaling in one resampling */
    t.kind = MEDCL_AUGMENT_SPATIAL;
    t.spatial.p_rotation = 0.2f;
    t.spatial.p_scale = 0.2f;
    t.spatial.scale[0] = 0.7f;
    t.spatial.scale[1] = 1.4f;
    if (dims == 3) {
        for (int a = 0; a < 3; a++) t.spatial.rotation[a][0] = -30.0f, t.spatial.rotation[a][1] = 30.0f;
    } else {
        double lo = (double)(patch[1] < patch[2] ? patch[1] : patch[2]);
        double hi = (double)(patch[1] < patch[2] ? patch[2] : patch[1]);
        float r = hi / lo > 1.5 ? 15.0f : 180.0f;
        t.spatial.rotation[0][0] = -r;
        t.spatial.rotation[0][1] = r;
    }
    t.spatial.label_interp = MEDCL_AUGMENT_LABEL_ONEHOT;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 2: Gaussian noise, one sigma for all channels */
    t = init;
    t.kind = MEDCL_AUGMENT_GAUSSIAN_NOISE;
    t.p = 0.1f;
    t.range[1] = 0.1f;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 3: Gaussian blur, sigma per axis and channel, p_per_channel 0.5 */
    t = init;
    t.kind = MEDCL_AUGMENT_GAUSSIAN_BLUR;
    t.p = 0.2f;
    t.per_channel = 1;
    t.p_per_channel = 0.5f;
    t.range[0] = 0.5f;
    t.range[1] = 1.0f;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 4: multiplicative brightness */
    t = init;
    t.kind = MEDCL_AUGMENT_BRIGHTNESS_MUL;
    t.p = 0.15f;
    t.per_channel = 1;
    t.range[0] = 0.75f;
    t.range[1] = 1.25f;
    t.split_at_one = 1;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 5: contrast, clamped to the original range */
    t.kind = MEDCL_AUGMENT_CONTRAST;
    t.preserve_range = 1;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 6: simulated low resolution */
    t = init;
    t.kind = MEDCL_AUGMENT_LOW_RES;
    t.p = 0.25f;
    t.per_channel = 1;
    t.p_per_channel = 0.5f;
    t.range[0] = 0.5f;
    t.range[1] = 1.0f;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 7, 8: gamma on the inverted image, then gamma */
    t = init;
    t.kind = MEDCL_AUGMENT_GAMMA;
    t.p = 0.1f;
    t.range[0] = 0.7f;
    t.range[1] = 1.5f;
    t.split_at_one = 1;
    t.invert = 1;
    t.retain_stats = 1;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    t.p = 0.3f;
    t.invert = 0;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
    /* 9: mirroring, each axis with p = 0.5 (exact: an index permutation) */
    t = init;
    t.kind = MEDCL_AUGMENT_SPATIAL;
    for (int a = 0; a < 3; a++) t.spatial.p_mirror[a] = 0.5f;
    MEDCL_TRY(medcl_augment_pipeline_add(p, &t));
cleanup:
    return st;
}

medcl_status medcl_augment_preset(const char *name, int dims, const int64_t patch[3],
                                  medcl_augment_pipeline **out) {
    medcl_status st = MEDCL_OK;
    medcl_augment_pipeline *p = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_preset: out is NULL");
    *out = NULL;
    if (!name) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_preset: name is NULL");
    if (dims != 2 && dims != 3) return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_preset: dims = %d (2 or 3)", dims);
    if (!patch || patch[0] < 1 || patch[1] < 1 || patch[2] < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "augment_preset: patch (D, H, W) must be >= 1");
    MEDCL_TRY(medcl_augment_pipeline_create(&p));
    if (!strcmp(name, "nnunet")) MEDCL_TRY(nnunet(dims, patch, p));
    else if (strcmp(name, "none"))
        MEDCL_FAIL(MEDCL_ERR_NOT_FOUND, "augment_preset: no preset \"%s\" (presets: nnunet, none)", name);
    *out = p;
    p = NULL;
cleanup:
    medcl_augment_pipeline_destroy(p);
    return st;
}
