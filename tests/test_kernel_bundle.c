/* tests/test_kernel_bundle.c — kernel bundles with PoCL binaries: every variant the library
 * uses is written with a manifest; a context in bundle mode loads only from the bundle and
 * never compiles, gives the same results, names a missing variant, refuses a bundle made for
 * another device or from other sources, and reports a damaged binary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/runtime_internal.h"
#include "testutil.h"

static char g_bundle[512];

/* a computation touching the elementwise, reduce and random programs */
static medcl_status compute(medcl_context *ctx, double *out) {
    medcl_status st = MEDCL_OK;
    int64_t n = 12345;
    medcl_tensor *a = NULL, *b = NULL;
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "a", 1, &n, &a));
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "b", 1, &n, &b));
    MEDCL_TRY(medcl_random_uniform(a, 7, 0, 0, 0, 0.0f, 1.0f));
    MEDCL_TRY(medcl_scale(a, 3.0f, b));
    MEDCL_TRY(medcl_reduce_to_host(b, MEDCL_REDUCE_SUM, out));
cleanup:
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
    return st;
}

static medcl_context *bundle_ctx(const char *dir, medcl_status expect) {
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.bundle_dir = dir;
    medcl_context *ctx = NULL;
    assert_int_equal(medcl_context_create(&o, &ctx), expect);
    return ctx;
}

static void edit_manifest(const char *src_dir, const char *dst_dir, void (*edit)(cJSON *)) {
    char p[700];
    snprintf(p, sizeof p, "%s/manifest.json", src_dir);
    void *text;
    size_t n;
    assert_int_equal(medcl_file_read_all(p, 1 << 24, &text, &n), MEDCL_OK);
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    assert_non_null(root);
    edit(root);
    /* copy binaries */
    cJSON *progs = cJSON_GetObjectItem(root, "programs"), *it;
    cJSON_ArrayForEach(it, progs) {
        const char *f = cJSON_GetObjectItem(it, "file")->valuestring;
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/%s", src_dir, f);
        snprintf(b, sizeof b, "%s/%s", dst_dir, f);
        void *d;
        size_t l;
        assert_int_equal(medcl_file_read_all(a, 1u << 30, &d, &l), MEDCL_OK);
        assert_int_equal(medcl_file_write_atomic(b, d, l), MEDCL_OK);
        free(d);
    }
    char *out = cJSON_Print(root);
    snprintf(p, sizeof p, "%s/manifest.json", dst_dir);
    assert_int_equal(medcl_file_write_atomic(p, out, strlen(out)), MEDCL_OK);
    cJSON_free(out);
    cJSON_Delete(root);
}

static int setup(void **state) {
    (void)state;
    if (!tu_tmpdir(g_bundle, sizeof g_bundle, "bundle")) return -1;
    return 0;
}

static void test_write_and_load(void **state) {
    (void)state;
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.disk_cache = 0;
    medcl_context *ctx = NULL;
    assert_int_equal(medcl_context_create(&o, &ctx), MEDCL_OK);
    medcl_program_variant *v = NULL;
    int n = 0;
    assert_int_equal(medcl_library_variants(ctx, &v, &n), MEDCL_OK);
    assert_true(n >= 3);
    assert_int_equal(medcl_bundle_write(ctx, g_bundle, v, n), MEDCL_OK);
    free(v);
    double want;
    assert_int_equal(compute(ctx, &want), MEDCL_OK);
    medcl_context_destroy(ctx);

    medcl_context *b = bundle_ctx(g_bundle, MEDCL_OK);
    double got;
    assert_int_equal(compute(b, &got), MEDCL_OK);
    assert_memory_equal(&got, &want, sizeof got);
    medcl_cache_stats cs;
    medcl_context_cache_stats(b, &cs);
    assert_true(cs.bundle_mode);
    assert_int_equal(cs.misses, 0); /* nothing compiled */
    assert_true(cs.disk_hits >= 3);
    medcl_context_destroy(b);
}

static void drop_reduce(cJSON *root) {
    cJSON *progs = cJSON_GetObjectItem(root, "programs");
    for (int i = cJSON_GetArraySize(progs) - 1; i >= 0; i--) {
        cJSON *it = cJSON_GetArrayItem(progs, i);
        if (!strcmp(cJSON_GetObjectItem(it, "program")->valuestring, "reduce"))
            cJSON_DeleteItemFromArray(progs, i);
    }
}

static void test_missing_variant_named(void **state) {
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "bundle-missing"));
    edit_manifest(g_bundle, dir, drop_reduce);
    medcl_context *b = bundle_ctx(dir, MEDCL_OK);
    double got;
    assert_int_equal(compute(b, &got), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "reduce"));
    assert_non_null(strstr(medcl_last_error(), "-DWG="));
    assert_non_null(strstr(medcl_last_error(), "never compiles"));
    medcl_cache_stats cs;
    medcl_context_cache_stats(b, &cs);
    assert_int_equal(cs.misses, 0);
    medcl_context_destroy(b);
}

static void other_device(cJSON *root) {
    cJSON *dev = cJSON_GetObjectItem(root, "device");
    cJSON_ReplaceItemInObject(dev, "name", cJSON_CreateString("Imaginary FPGA 9000"));
}

static void test_other_device_refused(void **state) {
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "bundle-other"));
    edit_manifest(g_bundle, dir, other_device);
    bundle_ctx(dir, MEDCL_ERR_UNSUPPORTED);
    assert_non_null(strstr(medcl_last_error(), "Imaginary FPGA 9000"));
    assert_non_null(strstr(medcl_last_error(), "another device"));
}

static void other_key(cJSON *root) {
    cJSON *progs = cJSON_GetObjectItem(root, "programs"), *it;
    cJSON_ArrayForEach(it, progs) {
        if (!strcmp(cJSON_GetObjectItem(it, "program")->valuestring, "elementwise"))
            cJSON_ReplaceItemInObject(it, "key", cJSON_CreateString("0123456789abcdef0123456789abcdef"));
    }
}

static void test_other_sources_refused(void **state) {
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "bundle-key"));
    edit_manifest(g_bundle, dir, other_key);
    medcl_context *b = bundle_ctx(dir, MEDCL_OK);
    double got;
    assert_int_equal(compute(b, &got), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "elementwise"));
    assert_non_null(strstr(medcl_last_error(), "other sources"));
    medcl_context_destroy(b);
}

static void keep(cJSON *root) { (void)root; }

static void test_damaged_binary(void **state) {
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "bundle-damaged"));
    edit_manifest(g_bundle, dir, keep);
    /* truncate every binary */
    char p[700];
    snprintf(p, sizeof p, "%s/manifest.json", dir);
    void *text;
    size_t n;
    assert_int_equal(medcl_file_read_all(p, 1 << 24, &text, &n), MEDCL_OK);
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "programs")) {
        char f[800];
        snprintf(f, sizeof f, "%s/%s", dir, cJSON_GetObjectItem(it, "file")->valuestring);
        assert_int_equal(truncate(f, 30), 0);
    }
    cJSON_Delete(root);
    medcl_context *b = bundle_ctx(dir, MEDCL_OK);
    double got;
    assert_int_equal(compute(b, &got), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), dir));
    medcl_context_destroy(b);
    /* no manifest at all */
    bundle_ctx("/nonexistent-bundle-dir", MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), "/nonexistent-bundle-dir/manifest.json"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_load),        cmocka_unit_test(test_missing_variant_named),
        cmocka_unit_test(test_other_device_refused),  cmocka_unit_test(test_other_sources_refused),
        cmocka_unit_test(test_damaged_binary),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
