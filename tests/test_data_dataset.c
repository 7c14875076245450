/* tests/test_data_dataset.c — dataset layouts on crafted folders (tu_tmpdir, files written with
 * medcl_nifti_write / medcl_png_write_*): the nnU-Net layout with multi-channel cases, domains
 * and imagesTs; malformed dataset.json documents (each error names its JSON path); missing
 * files; geometry mismatches between channels and labels; PNG datasets; the classification CSV
 * (line/column errors); k-fold partition properties and by-domain / leave-one-domain-out
 * splits. Host only (no device). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "medcl/data.h"
#include "testutil.h"

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void mkdirs(const char *root) {
    char p[512];
    const char *sub[] = {"imagesTr", "labelsTr", "imagesTs"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, sub[i]);
        mkdir(p, 0777);
    }
}

/* volume (x, y, z) with value v(i) = base + i, spacing sp */
static void write_vol(const char *path, int64_t x, int64_t y, int64_t z, float base, double sp_z,
                      int dtype) {
    int64_t dim[4] = {x, y, z, 1};
    medcl_volume *v = NULL;
    assert_int_equal(medcl_volume_create(dim, &v), MEDCL_OK);
    for (int64_t i = 0; i < x * y * z; i++) v->data[i] = base + (float)i;
    v->nifti.pixdim[3] = sp_z;
    v->nifti.srow[2][2] = sp_z;
    v->nifti.sform_code = 1;
    v->nifti.qform_code = 0;
    assert_int_equal(medcl_nifti_write(path, v, dtype, NULL), MEDCL_OK);
    medcl_volume_free(v);
}

static void write_label(const char *path, int64_t x, int64_t y, int64_t z, int seed, double sp_z) {
    int64_t dim[4] = {x, y, z, 1};
    medcl_volume *v = NULL;
    assert_int_equal(medcl_volume_create(dim, &v), MEDCL_OK);
    for (int64_t i = 0; i < x * y * z; i++) v->data[i] = (float)((i + seed) % 3);
    v->nifti.pixdim[3] = sp_z;
    v->nifti.srow[2][2] = sp_z;
    v->nifti.sform_code = 1;
    v->nifti.qform_code = 0;
    assert_int_equal(medcl_nifti_write(path, v, MEDCL_NIFTI_U8, NULL), MEDCL_OK);
    medcl_volume_free(v);
}

static const char *k_json =
    "{\"channel_names\": {\"0\": \"T2\", \"1\": \"CT\"},\n"
    " \"labels\": {\"background\": 0, \"liver\": 1, \"tumour\": 2},\n"
    " \"numTraining\": 4, \"file_ending\": \".nii.gz\", \"name\": \"crafted\",\n"
    " \"domains\": {\"case_b\": \"siteB\", \"case_a\": \"siteA\", \"case_c\": \"siteA\","
    " \"case_d\": \"siteC\"}}";

/* a 4-case, 2-channel dataset; returns root in buf */
static const char *make_nnunet(char *buf, size_t cap, const char *json) {
    const char *root = tu_tmpdir(buf, cap, "dataset");
    assert_non_null(root);
    mkdirs(root);
    char p[600];
    snprintf(p, sizeof p, "%s/dataset.json", root);
    write_text(p, json);
    const char *ids[] = {"case_c", "case_a", "case_d", "case_b"};
    for (int i = 0; i < 4; i++) {
        for (int c = 0; c < 2; c++) {
            snprintf(p, sizeof p, "%s/imagesTr/%s_%04d.nii.gz", root, ids[i], c);
            write_vol(p, 4, 3, 2, (float)(100 * c + 1000 * i), 2.0, MEDCL_NIFTI_I16);
        }
        snprintf(p, sizeof p, "%s/labelsTr/%s.nii.gz", root, ids[i]);
        write_label(p, 4, 3, 2, i, 2.0);
    }
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/imagesTs/test_x_%04d.nii.gz", root, c);
        write_vol(p, 4, 3, 2, 7.0f, 2.0, MEDCL_NIFTI_F32);
    }
    return root;
}

static void test_nnunet_layout(void **state) {
    (void)state;
    char buf[512];
    const char *root = make_nnunet(buf, sizeof buf, k_json);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    assert_int_equal(medcl_dataset_kind_of(d), MEDCL_DATASET_SEGMENTATION);
    assert_int_equal(medcl_dataset_count(d), 4);
    assert_string_equal(medcl_dataset_case(d, 0)->id, "case_a"); /* sorted */
    assert_string_equal(medcl_dataset_case(d, 3)->id, "case_d");
    assert_int_equal(medcl_dataset_case(d, 0)->n_files, 2);
    assert_non_null(strstr(medcl_dataset_case(d, 0)->files[1], "imagesTr/case_a_0001.nii.gz"));
    assert_non_null(strstr(medcl_dataset_case(d, 0)->label_file, "labelsTr/case_a.nii.gz"));
    assert_int_equal(medcl_dataset_channel_count(d), 2);
    assert_string_equal(medcl_dataset_channel_name(d, 1), "CT");
    assert_int_equal(medcl_dataset_channel_norm(d, 0), MEDCL_NORM_ZSCORE);
    assert_int_equal(medcl_dataset_channel_norm(d, 1), MEDCL_NORM_CT);
    assert_int_equal(medcl_dataset_class_count(d), 3);
    assert_string_equal(medcl_dataset_class_name(d, 2), "tumour");
    assert_int_equal(medcl_dataset_ignore_label(d), -1);
    assert_string_equal(medcl_dataset_file_ending(d), ".nii.gz");
    assert_int_equal(medcl_dataset_domain_count(d), 3);
    int a = medcl_dataset_domain_find(d, "siteA"), b = medcl_dataset_domain_find(d, "siteB");
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(medcl_dataset_case(d, 0)->domain, a);
    assert_int_equal(medcl_dataset_case(d, 1)->domain, b);
    assert_int_equal(medcl_dataset_case(d, 2)->domain, a);
    assert_int_equal(medcl_dataset_test_count(d), 1);
    assert_string_equal(medcl_dataset_test_case(d, 0)->id, "test_x");
    assert_null(medcl_dataset_test_case(d, 0)->label_file);
    assert_int_equal(medcl_dataset_find(d, "case_c"), 2);

    /* load case_a (written as i = 1): channels stacked, label intact, geometry kept */
    medcl_case_data *cd = NULL;
    assert_int_equal(medcl_case_load(d, 0, false, NULL, &cd), MEDCL_OK);
    assert_int_equal(cd->channels, 2);
    assert_int_equal(cd->dim[0], 2); /* D = z */
    assert_int_equal(cd->dim[1], 3);
    assert_int_equal(cd->dim[2], 4); /* W = x */
    assert_true(fabs(cd->spacing[0] - 2.0) < 1e-9 && fabs(cd->spacing[2] - 1.0) < 1e-9);
    for (int i = 0; i < 24; i++) {
        assert_true(cd->image[i] == (float)(1000 + i));
        assert_true(cd->image[24 + i] == (float)(1100 + i));
        assert_true(cd->label[i] == (float)((i + 1) % 3));
    }
    assert_int_equal(cd->domain, a);
    medcl_case_free(cd);
    assert_int_equal(medcl_case_load(d, 0, true, NULL, &cd), MEDCL_OK);
    assert_null(cd->label);
    assert_true(cd->image[5] == 12.0f);
    medcl_case_free(cd);
    assert_int_equal(medcl_case_load(d, 4, false, NULL, &cd), MEDCL_ERR_INVALID_ARG);
    assert_null(cd);
    medcl_dataset_destroy(d);
}

typedef struct {
    const char *json;
    medcl_status st;
    const char *msg;
} json_case;

static void test_json_errors(void **state) {
    (void)state;
    const json_case cases[] = {
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": \"zero\", \"a\": 1}, "
         "\"numTraining\": 1, \"file_ending\": \".nii.gz\"}",
         MEDCL_ERR_FORMAT, "$.labels.background: expected an integer, got string"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": 1, \"file_ending\": \".nii.gz\", \"colour\": 3}",
         MEDCL_ERR_FORMAT, "$.colour: unknown key"},
        {"{\"labels\": {\"background\": 0, \"a\": 1}, \"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.channel_names: missing"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.numTraining: missing"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": 1}",
         MEDCL_ERR_FORMAT, "$.file_ending: missing"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.labels: missing"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 2}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.labels: values must be consecutive"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1, \"b\": 1, "
         "\"c\": 3}, \"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.labels."},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1.5}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.labels.a: expected an integer, got a non-integer number"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": [1, 2]}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_UNSUPPORTED, "$.labels.a: region-based"},
        {"{\"channel_names\": {\"1\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.channel_names.1: channel keys"},
        {"{\"channel_names\": {\"0\": 5}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.channel_names.0: expected a string, got number"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": -3, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.numTraining: expected a non-negative integer"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": 1, \"file_ending\": \".mha\"}",
         MEDCL_ERR_UNSUPPORTED, "$.file_ending: \".mha\""},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\", \"domains\": {\"x\": 3}}",
         MEDCL_ERR_FORMAT, "$.domains.x: expected a string"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"ignore\": 1, "
         "\"b\": 2}, \"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.labels.ignore: must be the largest"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"numTraining\": 1, \"numTraining\": 2, "
         "\"labels\": {\"background\": 0, \"a\": 1}, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.numTraining: duplicate key"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, \"a\": 1}",
         MEDCL_ERR_FORMAT, "$: malformed JSON"},
        {"[1, 2]", MEDCL_ERR_FORMAT, "$: expected an object, got array"},
        {"{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 1, \"a\": 0}, "
         "\"numTraining\": 1, \"file_ending\": \".nii\"}",
         MEDCL_ERR_FORMAT, "$.labels.background: must be 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        medcl_dataset *d = (medcl_dataset *)1;
        medcl_status st = medcl_dataset_parse_json(cases[i].json, strlen(cases[i].json), "ds.json",
                                                   NULL, &d);
        if (st != cases[i].st || !strstr(medcl_last_error(), cases[i].msg) ||
            !strstr(medcl_last_error(), "ds.json"))
            fail_msg("case %zu: status %d (want %d), message \"%s\" (want \"%s\")", i, st,
                     cases[i].st, medcl_last_error(), cases[i].msg);
        assert_null(d);
    }
    /* unknown keys allowed on request; the ignore label; a valid v1-style "modality" */
    const char *ok = "{\"modality\": {\"0\": \"MRI\"}, \"labels\": {\"background\": 0, \"a\": 1, "
                     "\"ignore\": 2}, \"numTraining\": 1, \"file_ending\": \".png\", \"x\": 1}";
    medcl_dataset_options o = MEDCL_DATASET_OPTIONS_INIT;
    o.allow_unknown_keys = 1;
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_parse_json(ok, strlen(ok), NULL, &o, &d), MEDCL_OK);
    assert_int_equal(medcl_dataset_class_count(d), 2);
    assert_int_equal(medcl_dataset_ignore_label(d), 2);
    assert_int_equal(medcl_dataset_domain_count(d), 1);
    medcl_dataset_destroy(d);
    assert_int_equal(medcl_dataset_parse_json(ok, strlen(ok), NULL, NULL, &d), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "$.x: unknown key"));
}

static void test_missing_files_and_counts(void **state) {
    (void)state;
    char buf[512], p[600];
    /* a missing second channel */
    const char *root = make_nnunet(buf, sizeof buf, k_json);
    snprintf(p, sizeof p, "%s/imagesTr/case_b_0001.nii.gz", root);
    unlink(p);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "case_b_0001.nii.gz"));
    assert_null(d);
    /* an extra channel beyond channel_names */
    write_vol(p, 4, 3, 2, 0, 2.0, MEDCL_NIFTI_I16);
    snprintf(p, sizeof p, "%s/imagesTr/case_b_0002.nii.gz", root);
    write_vol(p, 4, 3, 2, 0, 2.0, MEDCL_NIFTI_I16);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "case_b_0002.nii.gz"));
    unlink(p);
    /* numTraining mismatch */
    snprintf(p, sizeof p, "%s/labelsTr/case_d.nii.gz", root);
    unlink(p);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "$.numTraining: 4"));
    /* domains naming a case that does not exist / missing a case */
    char js[1024];
    snprintf(js, sizeof js, "%s", k_json);
    char *q = strstr(js, "\"numTraining\": 4");
    q[15] = '3';
    snprintf(p, sizeof p, "%s/dataset.json", root);
    write_text(p, js);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "$.domains.case_d: no such training case"));
    const char *js2 = "{\"channel_names\": {\"0\": \"T2\", \"1\": \"CT\"}, \"labels\": "
                      "{\"background\": 0, \"a\": 1, \"b\": 2}, \"numTraining\": 3, "
                      "\"file_ending\": \".nii.gz\", \"domains\": {\"case_a\": \"s\", "
                      "\"case_b\": \"t\"}}";
    write_text(p, js2);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "$.domains: case case_c has no domain"));
    /* no dataset.json at all; not a folder nor csv */
    unlink(p);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), "dataset.json"));
    snprintf(p, sizeof p, "%s/nothing_here", root);
    assert_int_equal(medcl_dataset_open(p, NULL, &d), MEDCL_ERR_NOT_FOUND);
}

static void test_geometry_mismatch(void **state) {
    (void)state;
    char buf[512], p[600];
    const char *root = make_nnunet(buf, sizeof buf, k_json);
    medcl_dataset *d = NULL;
    /* case_a channel 1 with another z spacing; case_b label with other dims */
    snprintf(p, sizeof p, "%s/imagesTr/case_a_0001.nii.gz", root);
    write_vol(p, 4, 3, 2, 0, 2.5, MEDCL_NIFTI_I16);
    snprintf(p, sizeof p, "%s/labelsTr/case_b.nii.gz", root);
    write_label(p, 4, 3, 3, 0, 2.0);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_case_data *cd = NULL;
    assert_int_equal(medcl_case_load(d, 0, false, NULL, &cd), MEDCL_ERR_FORMAT);
    const char *e = medcl_last_error();
    assert_non_null(strstr(e, "case_a_0000.nii.gz"));
    assert_non_null(strstr(e, "case_a_0001.nii.gz"));
    assert_non_null(strstr(e, "spacing[2] 2 vs 2.5"));
    assert_non_null(strstr(e, "affine[2][2] 2 vs 2.5"));
    assert_null(strstr(e, "dims"));
    assert_null(cd);
    assert_int_equal(medcl_case_load(d, 1, false, NULL, &cd), MEDCL_ERR_FORMAT);
    e = medcl_last_error();
    assert_non_null(strstr(e, "labelsTr/case_b.nii.gz"));
    assert_non_null(strstr(e, "dims 4x3x2 vs 4x3x3"));
    /* a looser tolerance accepts the spacing difference */
    medcl_geometry_tolerance tol = {0.5, 1.0};
    assert_int_equal(medcl_case_load(d, 0, false, &tol, &cd), MEDCL_OK);
    medcl_case_free(cd);
    /* a label value outside the labels of dataset.json */
    snprintf(p, sizeof p, "%s/labelsTr/case_c.nii.gz", root);
    int64_t dim[4] = {4, 3, 2, 1};
    medcl_volume *v = NULL;
    assert_int_equal(medcl_volume_create(dim, &v), MEDCL_OK);
    for (int i = 0; i < 24; i++) v->data[i] = i == 17 ? 7.0f : 0.0f;
    v->nifti.pixdim[3] = 2.0;
    v->nifti.srow[2][2] = 2.0;
    v->nifti.sform_code = 1;
    assert_int_equal(medcl_nifti_write(p, v, MEDCL_NIFTI_U8, NULL), MEDCL_OK);
    medcl_volume_free(v);
    assert_int_equal(medcl_case_load(d, 2, false, NULL, &cd), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "voxel 17 has label 7"));
    medcl_dataset_destroy(d);
}

static void test_png_dataset(void **state) {
    (void)state;
    char buf[512], p[600];
    const char *root = tu_tmpdir(buf, sizeof buf, "pngds");
    mkdirs(root);
    snprintf(p, sizeof p, "%s/dataset.json", root);
    write_text(p, "{\"channel_names\": {\"0\": \"R\", \"1\": \"G\", \"2\": \"B\"}, \"labels\": "
                  "{\"background\": 0, \"cell\": 1}, \"numTraining\": 2, \"file_ending\": \".png\"}");
    uint8_t rgb[5 * 4 * 3], lab[5 * 4];
    for (int i = 0; i < 60; i++) rgb[i] = (uint8_t)(i * 4);
    for (int i = 0; i < 20; i++) lab[i] = (uint8_t)(i % 2);
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/imagesTr/img%d_0000.png", root, k);
        assert_int_equal(medcl_png_write_rgb8(p, 5, 4, rgb), MEDCL_OK);
        snprintf(p, sizeof p, "%s/labelsTr/img%d.png", root, k);
        assert_int_equal(medcl_png_write_labels(p, 5, 4, lab), MEDCL_OK);
    }
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    assert_int_equal(medcl_dataset_count(d), 2);
    assert_int_equal(medcl_dataset_case(d, 0)->n_files, 1);
    medcl_case_data *cd = NULL;
    assert_int_equal(medcl_case_load(d, 1, false, NULL, &cd), MEDCL_OK);
    assert_int_equal(cd->channels, 3);
    assert_int_equal(cd->dim[0], 1);
    assert_int_equal(cd->dim[1], 4);
    assert_int_equal(cd->dim[2], 5);
    for (int i = 0; i < 20; i++) {
        for (int c = 0; c < 3; c++) assert_true(cd->image[c * 20 + i] == (float)rgb[i * 3 + c]);
        assert_true(cd->label[i] == (float)lab[i]);
    }
    medcl_case_free(cd);
    medcl_dataset_destroy(d);
    /* a gray PNG for a 3-channel dataset: wrong channel count at load */
    snprintf(p, sizeof p, "%s/imagesTr/img0_0000.png", root);
    assert_int_equal(medcl_png_write_gray8(p, 5, 4, lab), MEDCL_OK);
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    assert_int_equal(medcl_case_load(d, 0, false, NULL, &cd), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "1 channels, channel_names lists 3"));
    medcl_dataset_destroy(d);
}

static void test_csv(void **state) {
    (void)state;
    char buf[512], p[600];
    const char *root = tu_tmpdir(buf, sizeof buf, "csvds");
    uint8_t px[12];
    for (int i = 0; i < 12; i++) px[i] = (uint8_t)(i * 20);
    const char *files[] = {"a.png", "b.png", "c d.png"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        assert_int_equal(medcl_png_write_gray8(p, 4, 3, px), MEDCL_OK);
    }
    snprintf(p, sizeof p, "%s/labels.csv", root);
    write_text(p, "domain,file,label\r\nhospA,a.png,pneumonia\r\nhospB,b.png,normal\r\n"
                  "hospA,\"c d.png\",pneumonia\r\n\r\n");
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(p, NULL, &d), MEDCL_OK);
    assert_int_equal(medcl_dataset_kind_of(d), MEDCL_DATASET_CLASSIFICATION);
    assert_int_equal(medcl_dataset_count(d), 3);
    assert_int_equal(medcl_dataset_class_count(d), 2);
    assert_string_equal(medcl_dataset_class_name(d, 0), "normal"); /* sorted names */
    assert_int_equal(medcl_dataset_case(d, 0)->class_label, 1);
    assert_int_equal(medcl_dataset_case(d, 1)->class_label, 0);
    assert_int_equal(medcl_dataset_domain_count(d), 2);
    assert_int_equal(medcl_dataset_case(d, 2)->domain, medcl_dataset_domain_find(d, "hospA"));
    medcl_case_data *cd = NULL;
    assert_int_equal(medcl_case_load(d, 2, false, NULL, &cd), MEDCL_OK);
    assert_int_equal(cd->class_label, 1);
    assert_true(cd->image[11] == 220.0f);
    medcl_case_free(cd);
    /* by-domain split on the CSV */
    const char *names[] = {"hospA"};
    medcl_split s;
    assert_int_equal(medcl_split_by_domain(d, names, 1, &s), MEDCL_OK);
    assert_int_equal(s.n_train, 2);
    assert_int_equal(s.n_val, 1);
    assert_int_equal(s.val[0], 1);
    medcl_split_free(&s);
    medcl_dataset_destroy(d);

    /* integer labels; errors with line and column */
    const char *t1 = "file,label\nx.png,3\ny.png,0\n";
    assert_int_equal(medcl_dataset_parse_csv(t1, strlen(t1), "t.csv", "/data", &d), MEDCL_OK);
    assert_int_equal(medcl_dataset_class_count(d), 4);
    assert_int_equal(medcl_dataset_case(d, 0)->class_label, 3);
    assert_string_equal(medcl_dataset_case(d, 1)->files[0], "/data/y.png");
    medcl_dataset_destroy(d);
    const struct {
        const char *text, *msg;
    } bad[] = {
        {"file,label\nx.png,1\ny.png\n", "t.csv:3: 1 columns, the header has 2"},
        {"file,labels\nx.png,1\n", "t.csv:1: column 2: unknown column \"labels\""},
        {"file,domain\nx.png,a\n", "header must name the columns file and label"},
        {"file,label\nx.png,1\n,2\n", "t.csv:3: column 1 (file): empty"},
        {"file,label\nx.jpg,1\n", "t.csv:2: column 1 (file): \"x.jpg\""},
        {"file,label\n\"x.png,1\n", "t.csv:2: column 1: unterminated quote"},
        {"file,label\nx.png,\n", "t.csv:2: column 2 (label): empty"},
        {"file,label\n", "no rows"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        medcl_status st = medcl_dataset_parse_csv(bad[i].text, strlen(bad[i].text), "t.csv", ".", &d);
        if (st != MEDCL_ERR_FORMAT || !strstr(medcl_last_error(), bad[i].msg))
            fail_msg("csv case %zu: status %d, \"%s\" (want \"%s\")", i, st, medcl_last_error(),
                     bad[i].msg);
        assert_null(d);
    }
    /* a missing image file is named with its line */
    snprintf(p, sizeof p, "%s/bad.csv", root);
    write_text(p, "file,label\na.png,0\nmissing.png,1\n");
    assert_int_equal(medcl_dataset_open(p, NULL, &d), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "bad.csv:3"));
    assert_non_null(strstr(medcl_last_error(), "missing.png does not exist"));
}

static void test_kfold(void **state) {
    (void)state;
    const int n = 23, k = 5;
    int seen[23] = {0};
    for (int f = 0; f < k; f++) {
        medcl_split s, s2;
        assert_int_equal(medcl_split_kfold(n, k, f, MEDCL_KFOLD_SEED, &s), MEDCL_OK);
        assert_int_equal(s.n_val, f < 3 ? 5 : 4); /* KFold sizes: 23 = 5+5+5+4+4 */
        assert_int_equal(s.n_train + s.n_val, n);
        bool in_val[23] = {false};
        for (int i = 0; i < s.n_val; i++) {
            assert_in_range(s.val[i], 0, n - 1);
            seen[s.val[i]]++;
            in_val[s.val[i]] = true;
            if (i) assert_true(s.val[i] > s.val[i - 1]);
        }
        for (int i = 0; i < s.n_train; i++) assert_false(in_val[s.train[i]]);
        /* deterministic */
        assert_int_equal(medcl_split_kfold(n, k, f, MEDCL_KFOLD_SEED, &s2), MEDCL_OK);
        assert_memory_equal(s.val, s2.val, (size_t)s.n_val * sizeof(int));
        medcl_split_free(&s2);
        medcl_split_free(&s);
    }
    for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1); /* disjoint and covering */
    /* shuffled: fold 0 is not the first five cases, and another seed changes it */
    medcl_split a, b;
    assert_int_equal(medcl_split_kfold(n, k, 0, MEDCL_KFOLD_SEED, &a), MEDCL_OK);
    assert_int_equal(medcl_split_kfold(n, k, 0, 7, &b), MEDCL_OK);
    bool first5 = true, same = true;
    for (int i = 0; i < 5; i++) {
        first5 = first5 && a.val[i] == i;
        same = same && a.val[i] == b.val[i];
    }
    assert_false(first5);
    assert_false(same);
    medcl_split_free(&a);
    medcl_split_free(&b);
    assert_int_equal(medcl_split_kfold(3, 5, 0, 1, &a), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_split_kfold(10, 5, 5, 1, &a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "fold = 5"));
}

static void test_domain_splits(void **state) {
    (void)state;
    char buf[512];
    const char *root = make_nnunet(buf, sizeof buf, k_json);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    /* cases sorted: a (siteA), b (siteB), c (siteA), d (siteC) */
    const char *tr[] = {"siteA", "siteC"};
    medcl_split s;
    assert_int_equal(medcl_split_by_domain(d, tr, 2, &s), MEDCL_OK);
    assert_int_equal(s.n_train, 3);
    assert_int_equal(s.n_val, 1);
    assert_int_equal(s.val[0], 1);
    medcl_split_free(&s);
    int a = medcl_dataset_domain_find(d, "siteA");
    assert_int_equal(medcl_split_leave_one_domain_out(d, a, &s), MEDCL_OK);
    assert_int_equal(s.n_val, 2);
    assert_int_equal(s.val[0], 0);
    assert_int_equal(s.val[1], 2);
    assert_int_equal(s.n_train, 2);
    medcl_split_free(&s);
    const char *badn[] = {"siteZ"};
    assert_int_equal(medcl_split_by_domain(d, badn, 1, &s), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "\"siteZ\""));
    assert_non_null(strstr(medcl_last_error(), "\"siteB\""));
    assert_int_equal(medcl_split_leave_one_domain_out(d, 9, &s), MEDCL_ERR_INVALID_ARG);
    medcl_dataset_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nnunet_layout),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_missing_files_and_counts),
        cmocka_unit_test(test_geometry_mismatch),
        cmocka_unit_test(test_png_dataset),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_kfold),
        cmocka_unit_test(test_domain_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
