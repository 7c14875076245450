/* tests/test_data_loader.c — patch sampling and background loading on crafted datasets:
 * nnU-Net's foreground oversampling (forced samples contain foreground, the fraction of
 * patches with foreground reaches the configured third), padding of patches larger than the
 * image, 2D slices along each axis (content checked through coordinate-coded voxels), the
 * source patch size, bitwise determinism across 1 and 3 threads and against the synchronous
 * medcl_loader_batch_host, device copies equal to the host batch, clean shutdown mid-epoch,
 * interrupt and stop, a worker's file error reported by medcl_loader_next with the file name,
 * and once the real ch2 template from mricron-data (skipped when absent). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "medcl/data.h"
#include "testutil.h"

enum { X = 20, Y = 18, Z = 16 };

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* voxel value = 1 + z*10000 + y*100 + x: any patch can be traced back to its origin */
static float code(int64_t z, int64_t y, int64_t x) { return (float)(1 + z * 10000 + y * 100 + x); }

/* n cases of X*Y*Z; case k has a 2x2x2 cube of class 1 at a case-dependent place and, for even
 * k, one voxel of class 2. Channel name "MRI" (z-score unless the loader overrides). */
static const char *make_dataset(char *buf, size_t cap, int n) {
    const char *root = tu_tmpdir(buf, cap, "loader");
    assert_non_null(root);
    char p[600];
    const char *sub[] = {"imagesTr", "labelsTr"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", root, sub[i]);
        mkdir(p, 0777);
    }
    snprintf(p, sizeof p, "%s/dataset.json", root);
    char js[512];
    snprintf(js, sizeof js,
             "{\"channel_names\": {\"0\": \"MRI\"}, \"labels\": {\"background\": 0, \"a\": 1, "
             "\"b\": 2}, \"numTraining\": %d, \"file_ending\": \".nii.gz\"}", n);
    write_text(p, js);
    int64_t dim[4] = {X, Y, Z, 1};
    for (int k = 0; k < n; k++) {
        medcl_volume *img = NULL, *lab = NULL;
        assert_int_equal(medcl_volume_create(dim, &img), MEDCL_OK);
        assert_int_equal(medcl_volume_create(dim, &lab), MEDCL_OK);
        for (int64_t z = 0; z < Z; z++)
            for (int64_t y = 0; y < Y; y++)
                for (int64_t x = 0; x < X; x++) {
                    int64_t i = (z * Y + y) * X + x;
                    img->data[i] = code(z, y, x);
                    int64_t cx = 2 + 5 * k % 15, cy = 3 + 3 * k % 13, cz = 1 + 4 * k % 12;
                    bool cube = x >= cx && x < cx + 2 && y >= cy && y < cy + 2 && z >= cz &&
                                z < cz + 2;
                    lab->data[i] = cube ? 1.0f : 0.0f;
                    if (k % 2 == 0 && x == X - 1 && y == 0 && z == Z - 1) lab->data[i] = 2.0f;
                }
        snprintf(p, sizeof p, "%s/imagesTr/c%02d_0000.nii.gz", root, k);
        assert_int_equal(medcl_nifti_write(p, img, MEDCL_NIFTI_F32, NULL), MEDCL_OK);
        snprintf(p, sizeof p, "%s/labelsTr/c%02d.nii.gz", root, k);
        assert_int_equal(medcl_nifti_write(p, lab, MEDCL_NIFTI_U8, NULL), MEDCL_OK);
        medcl_volume_free(img);
        medcl_volume_free(lab);
    }
    return root;
}

static const medcl_norm_scheme k_none[1] = {MEDCL_NORM_NONE};

static medcl_loader_options base_options(void) {
    medcl_loader_options o = MEDCL_LOADER_OPTIONS_INIT;
    o.batch_size = 3;
    o.threads = 2;
    o.prefetch = 3;
    o.batches_per_epoch = 50;
    o.seed = tu_seed();
    o.crop_foreground = false;
    o.schemes = k_none;
    o.sampler.patch[0] = 8;
    o.sampler.patch[1] = 8;
    o.sampler.patch[2] = 8;
    return o;
}

static bool has_fg(const float *lab, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (lab[i] > 0.0f) return true;
    return false;
}

/* Over 300 batches of 3: sample 2 of each batch is forced and contains foreground; at least a
 * third of all patches hold foreground; every image voxel is either padding (0) or the voxel
 * its coordinates say, consistent along the patch. */
static void test_foreground_oversampling(void **state) {
    (void)state;
    char buf[512];
    const char *root = make_dataset(buf, sizeof buf, 4);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_loader_options o = base_options();
    medcl_loader *l = NULL;
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o, &l), MEDCL_OK);
    int with_fg = 0, total = 0, random_fg = 0, random_total = 0;
    for (int b = 0; b < 300; b++) {
        medcl_batch bt;
        assert_int_equal(medcl_loader_next(l, &bt), MEDCL_OK);
        assert_int_equal(bt.epoch, (uint32_t)(b / 50));
        assert_int_equal(bt.index, (uint32_t)(b % 50));
        assert_null(bt.image_dev);
        for (int s = 0; s < 3; s++) {
            const float *lab = bt.label + s * 512;
            const float *img = bt.image + s * 512;
            bool f = has_fg(lab, 512);
            with_fg += f;
            total++;
            assert_int_equal(bt.forced_fg[s], s == 2);
            if (s == 2) assert_true(f);
            else random_fg += f, random_total++;
            /* coordinate-coded content: consecutive W voxels differ by 1 unless padding */
            for (int i = 0; i + 1 < 512; i++)
                if (i % 8 != 7 && img[i] != 0.0f && img[i + 1] != 0.0f)
                    assert_true(img[i + 1] - img[i] == 1.0f);
        }
    }
    double frac = (double)with_fg / total;
    printf("patches with foreground: %.3f (random ones %.3f)\n", frac,
           (double)random_fg / random_total);
    assert_true(frac >= 0.33);
    assert_true((double)random_fg / random_total < frac);
    medcl_loader_stats st;
    medcl_loader_stats_get(l, &st);
    assert_int_equal(st.batches, 300);
    printf("consumer waited %.3f s in total, max %.4f s\n", st.wait_s, st.max_wait_s);
    medcl_loader_destroy(l);
    assert_true(medcl_sampler_force_fg(2, 3, 0.33f) && !medcl_sampler_force_fg(1, 3, 0.33f));
    assert_true(medcl_sampler_force_fg(1, 2, 0.33f) && !medcl_sampler_force_fg(0, 2, 0.33f));
    assert_false(medcl_sampler_force_fg(1, 2, 0.0f));
    medcl_dataset_destroy(d);
}

/* Patches larger than the image are padded with zeros, centred; 2D slices along each axis. */
static void test_padding_and_slices(void **state) {
    (void)state;
    char buf[512];
    const char *root = make_dataset(buf, sizeof buf, 2);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_loader_options o = base_options();
    o.sampler.patch[0] = Z + 4; /* D: 4 more than the image → 2 each side */
    o.sampler.patch[1] = 4;
    o.sampler.patch[2] = X + 1; /* W: 1 more → pad 0 before... nnU-Net: lb in [0, 1] - ... */
    o.sampler.oversample_fg = 0.0f;
    medcl_loader *l = NULL;
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o, &l), MEDCL_OK);
    for (int b = 0; b < 5; b++) {
        medcl_batch bt;
        assert_int_equal(medcl_loader_next(l, &bt), MEDCL_OK);
        const int64_t pd = Z + 4, ph = 4, pw = X + 1;
        for (int s = 0; s < 3; s++) {
            const float *img = bt.image + s * pd * ph * pw;
            for (int64_t w = 0; w < pw; w++) {
                /* D axis: rows 0, 1 and pd-2, pd-1 are padding; row 2 is z = 0 */
                assert_true(img[(0 * ph + 0) * pw + w] == 0.0f);
                assert_true(img[((pd - 1) * ph + 0) * pw + w] == 0.0f);
            }
            /* one W column is padding (lb -1 → first, or lb 0 → last) */
            float first = img[(2 * ph) * pw], last = img[(2 * ph) * pw + pw - 1];
            assert_true((first == 0.0f) != (last == 0.0f));
            float v = first != 0.0f ? first : img[(2 * ph) * pw + 1];
            int64_t x0 = ((int64_t)v - 1) % 100;
            assert_int_equal(x0, 0);
            assert_true(((int64_t)v - 1) / 10000 == 0); /* z = 0 at row 2 */
        }
    }
    medcl_loader_destroy(l);

    /* 2D slices along each axis: every voxel of a slice shares the slice coordinate */
    for (int axis = 0; axis < 3; axis++) {
        medcl_loader_options o2 = base_options();
        o2.sampler.slice_axis = axis;
        o2.sampler.patch[0] = 1;
        o2.sampler.patch[1] = 6;
        o2.sampler.patch[2] = 7;
        assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o2, &l), MEDCL_OK);
        for (int b = 0; b < 10; b++) {
            medcl_batch bt;
            assert_int_equal(medcl_loader_next(l, &bt), MEDCL_OK);
            assert_int_equal(bt.shape[2], 1);
            assert_int_equal(bt.shape[3], 6);
            assert_int_equal(bt.shape[4], 7);
            for (int s = 0; s < 3; s++) {
                const float *img = bt.image + s * 42;
                int64_t div = axis == 0 ? 10000 : axis == 1 ? 100 : 1;
                int64_t mod = axis == 0 ? 1000000 : 100;
                int64_t c0 = -1;
                for (int i = 0; i < 42; i++) {
                    if (img[i] == 0.0f) continue;
                    int64_t c = (((int64_t)img[i] - 1) / div) % mod;
                    if (c0 < 0) c0 = c;
                    assert_int_equal(c, c0);
                }
                assert_true(c0 >= 0);
                if (s == 2) assert_true(has_fg(bt.label + s * 42, 42));
            }
        }
        medcl_loader_destroy(l);
    }
    /* bad options */
    medcl_loader_options o3 = base_options();
    o3.sampler.slice_axis = 1; /* patch[0] = 8 for slices */
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o3, &l), MEDCL_ERR_INVALID_ARG);
    assert_null(l);
    o3 = base_options();
    o3.sampler.source_patch[1] = 4; /* smaller than the patch */
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o3, &l), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "source patch 4"));
    int bad_case = 7;
    o3 = base_options();
    assert_int_equal(medcl_loader_create(NULL, d, &bad_case, 1, &o3, &l), MEDCL_ERR_INVALID_ARG);
    medcl_dataset_destroy(d);
}

/* Same seed → the same bits with 1 and 3 threads, equal to batch_host and to the device copy. */
static void test_determinism_and_device(void **state) {
    (void)state;
    char buf[512];
    const char *root = make_dataset(buf, sizeof buf, 5);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_loader_options o = base_options();
    o.schemes = NULL; /* the dataset's z-score */
    o.crop_foreground = true;
    o.sampler.source_patch[0] = 10;
    o.sampler.source_patch[1] = 12;
    o.sampler.source_patch[2] = 12;
    o.batches_per_epoch = 4; /* crosses epochs */
    medcl_loader *l1 = NULL, *l3 = NULL;
    o.threads = 1;
    assert_int_equal(medcl_loader_create(td_ctx(), d, NULL, 0, &o, &l1), MEDCL_OK);
    o.threads = 3;
    assert_int_equal(medcl_loader_create(td_ctx(), d, NULL, 0, &o, &l3), MEDCL_OK);
    int64_t src[3], fin[3];
    medcl_loader_patch(l3, src, fin);
    assert_int_equal(src[1], 12);
    assert_int_equal(fin[1], 8);
    size_t ni = 3 * 10 * 12 * 12;
    float *hi = malloc(ni * sizeof(float)), *hl = malloc(ni * sizeof(float));
    int hc[3];
    for (int b = 0; b < 10; b++) {
        medcl_batch a, c;
        assert_int_equal(medcl_loader_next(l1, &a), MEDCL_OK);
        assert_int_equal(medcl_loader_next(l3, &c), MEDCL_OK);
        assert_int_equal(c.shape[2], 10);
        assert_int_equal(c.shape[4], 12);
        assert_memory_equal(a.image, c.image, ni * sizeof(float));
        assert_memory_equal(a.label, c.label, ni * sizeof(float));
        assert_memory_equal(a.case_index, c.case_index, 3 * sizeof(int));
        assert_true(tu_zero_fraction(c.image, ni) < 0.8);
        assert_int_equal(medcl_loader_batch_host(l3, c.epoch, c.index, hi, hl, hc), MEDCL_OK);
        assert_memory_equal(hi, c.image, ni * sizeof(float));
        assert_memory_equal(hl, c.label, ni * sizeof(float));
        assert_memory_equal(hc, c.case_index, 3 * sizeof(int));
        float *dev = td_download(c.image_dev), *devl = td_download(c.label_dev);
        assert_memory_equal(dev, c.image, ni * sizeof(float));
        assert_memory_equal(devl, c.label, ni * sizeof(float));
        free(dev);
        free(devl);
        if (b == 5) assert_int_equal(c.epoch, 1);
    }
    /* a different seed gives a different stream */
    medcl_loader *l4 = NULL;
    o.seed ^= 0x9E3779B97F4A7C15ULL;
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o, &l4), MEDCL_OK);
    medcl_batch e;
    assert_int_equal(medcl_loader_next(l4, &e), MEDCL_OK);
    assert_int_equal(medcl_loader_batch_host(l3, 0, 0, hi, hl, hc), MEDCL_OK);
    assert_true(memcmp(hi, e.image, ni * sizeof(float)) != 0);
    medcl_loader_stats st;
    medcl_loader_stats_get(l3, &st);
    printf("3 threads: waited %.4f s for data, %.4f s for uploads over %llu batches\n", st.wait_s,
           st.upload_wait_s, (unsigned long long)st.batches);
    free(hi);
    free(hl);
    medcl_loader_destroy(l1);
    medcl_loader_destroy(l3);
    medcl_loader_destroy(l4);
    medcl_dataset_destroy(d);
}

static void test_shutdown_and_interrupt(void **state) {
    (void)state;
    char buf[512];
    const char *root = make_dataset(buf, sizeof buf, 3);
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_loader_options o = base_options();
    o.threads = 3;
    o.prefetch = 2;
    medcl_loader *l = NULL;
    /* destroy mid-epoch with workers busy and the queue full */
    assert_int_equal(medcl_loader_create(td_ctx(), d, NULL, 0, &o, &l), MEDCL_OK);
    medcl_batch bt;
    assert_int_equal(medcl_loader_next(l, &bt), MEDCL_OK);
    nanosleep(&(struct timespec){0, 20000000L}, NULL);
    medcl_loader_destroy(l);
    /* an interrupt flag set by a signal handler */
    volatile sig_atomic_t flag = 0;
    o.interrupt = &flag;
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o, &l), MEDCL_OK);
    assert_int_equal(medcl_loader_next(l, &bt), MEDCL_OK);
    flag = 1;
    medcl_status st = MEDCL_OK;
    for (int i = 0; i < 10 && st == MEDCL_OK; i++) st = medcl_loader_next(l, &bt);
    assert_int_equal(st, MEDCL_ERR_INTERRUPTED);
    assert_null(bt.image);
    assert_int_equal(medcl_loader_next(l, &bt), MEDCL_ERR_INTERRUPTED);
    medcl_loader_destroy(l);
    /* medcl_loader_stop */
    o.interrupt = NULL;
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o, &l), MEDCL_OK);
    medcl_loader_stop(l);
    assert_int_equal(medcl_loader_next(l, &bt), MEDCL_ERR_INTERRUPTED);
    assert_non_null(strstr(medcl_last_error(), "stopped"));
    medcl_loader_destroy(l);
    medcl_loader_destroy(NULL);
    medcl_dataset_destroy(d);
}

static void test_worker_error(void **state) {
    (void)state;
    char buf[512], p[600];
    const char *root = make_dataset(buf, sizeof buf, 2);
    snprintf(p, sizeof p, "%s/imagesTr/c01_0000.nii.gz", root);
    write_text(p, "this is not a NIfTI file at all");
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_loader_options o = base_options();
    medcl_loader *l = NULL;
    assert_int_equal(medcl_loader_create(NULL, d, NULL, 0, &o, &l), MEDCL_OK);
    medcl_status st = MEDCL_OK;
    medcl_batch bt;
    int got = 0;
    for (; got < 100 && st == MEDCL_OK; got++) st = medcl_loader_next(l, &bt);
    assert_true(st != MEDCL_OK);
    assert_non_null(strstr(medcl_last_error(), "c01_0000.nii.gz"));
    printf("error after %d batches: %s\n", got - 1, medcl_last_error());
    assert_int_equal(medcl_loader_next(l, &bt), st); /* sticky */
    medcl_loader_destroy(l);
    medcl_dataset_destroy(d);
}

/* The real ch2 T1 template and its brain mask as a one-case dataset; a batch of axial 2D
 * slices on the device. */
static void test_ch2_slices(void **state) {
    (void)state;
    const char *img_path = "/usr/share/mricron/templates/ch2.nii.gz";
    const char *bet_path = "/usr/share/mricron/templates/ch2bet.nii.gz";
    if (access(img_path, R_OK) != 0 || access(bet_path, R_OK) != 0) skip();
    char buf[512], p[600];
    const char *root = tu_tmpdir(buf, sizeof buf, "ch2");
    snprintf(p, sizeof p, "%s/imagesTr", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/labelsTr", root);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/imagesTr/ch2_0000.nii.gz", root);
    assert_int_equal(symlink(img_path, p), 0);
    medcl_volume *img = NULL, *bet = NULL;
    assert_int_equal(medcl_nifti_read(img_path, NULL, &img), MEDCL_OK);
    assert_int_equal(medcl_nifti_read(bet_path, NULL, &bet), MEDCL_OK);
    int64_t n = bet->dim[0] * bet->dim[1] * bet->dim[2];
    for (int64_t i = 0; i < n; i++) bet->data[i] = bet->data[i] > 0.0f ? 1.0f : 0.0f;
    snprintf(p, sizeof p, "%s/labelsTr/ch2.nii.gz", root);
    assert_int_equal(medcl_nifti_write(p, bet, MEDCL_NIFTI_U8, img), MEDCL_OK);
    medcl_volume_free(img);
    medcl_volume_free(bet);
    snprintf(p, sizeof p, "%s/dataset.json", root);
    write_text(p, "{\"channel_names\": {\"0\": \"T1\"}, \"labels\": {\"background\": 0, "
                  "\"brain\": 1}, \"numTraining\": 1, \"file_ending\": \".nii.gz\", "
                  "\"name\": \"ch2\"}");
    medcl_dataset *d = NULL;
    assert_int_equal(medcl_dataset_open(root, NULL, &d), MEDCL_OK);
    medcl_loader_options o = MEDCL_LOADER_OPTIONS_INIT;
    o.batch_size = 4;
    o.seed = tu_seed();
    o.sampler.slice_axis = 0;
    o.sampler.patch[0] = 1;
    o.sampler.patch[1] = 160;
    o.sampler.patch[2] = 160;
    medcl_loader *l = NULL;
    assert_int_equal(medcl_loader_create(td_ctx(), d, NULL, 0, &o, &l), MEDCL_OK);
    medcl_batch bt;
    assert_int_equal(medcl_loader_next(l, &bt), MEDCL_OK);
    assert_int_equal(bt.shape[0], 4);
    assert_int_equal(bt.shape[1], 1);
    assert_int_equal(bt.shape[2], 1);
    assert_int_equal(bt.shape[3], 160);
    size_t nb = 4 * 160 * 160;
    float *dev = td_download(bt.image_dev);
    assert_memory_equal(dev, bt.image, nb * sizeof(float));
    free(dev);
    double sum = 0;
    for (size_t i = 0; i < nb; i++) {
        assert_true(isfinite(bt.image[i]));
        assert_true(bt.label[i] == 0.0f || bt.label[i] == 1.0f);
        sum += bt.image[i];
    }
    assert_true(has_fg(bt.label + 3 * 160 * 160, 160 * 160)); /* the forced slice */
    assert_true(tu_zero_fraction(bt.image, nb) < 0.8);
    printf("ch2: batch mean %.3f, wait %.3f s\n", sum / (double)nb, bt.wait_s);
    medcl_loader_destroy(l);
    medcl_dataset_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreground_oversampling),
        cmocka_unit_test(test_padding_and_slices),
        cmocka_unit_test(test_determinism_and_device),
        cmocka_unit_test(test_shutdown_and_interrupt),
        cmocka_unit_test(test_worker_error),
        cmocka_unit_test(test_ch2_slices),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
