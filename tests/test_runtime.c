/* tests/test_runtime.c — device enumeration and description, selection by every selector form
 * (and the message listing what was found when none matches), kernel sources read from
 * MEDCL_CL_DIR, and a failed build returning the device's build log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_internal.h"
#include "testutil.h"

static void test_list_and_describe(void **state) {
    (void)state;
    medcl_device_info *list = NULL;
    int n = 0;
    assert_int_equal(medcl_devices_list(&list, &n), MEDCL_OK);
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        assert_int_equal(list[i].index, i);
        assert_true(strlen(list[i].name) > 0);
        assert_true(strlen(list[i].platform) > 0);
        assert_true(list[i].c_major >= 1);
        assert_true(list[i].compute_units >= 1);
        assert_true(list[i].global_mem > 0 && list[i].max_alloc > 0);
        assert_true(list[i].max_alloc <= list[i].global_mem);
        assert_true(list[i].max_work_group >= 1);
    }
    medcl_devices_free(list);
}

static void test_select(void **state) {
    (void)state;
    medcl_device_info *list = NULL;
    int n = 0;
    assert_int_equal(medcl_devices_list(&list, &n), MEDCL_OK);
    medcl_device_info d;
    assert_int_equal(medcl_device_select("0", &d), MEDCL_OK);
    assert_string_equal(d.name, list[0].name);
    char pd[32];
    snprintf(pd, sizeof pd, "%d:%d", list[n - 1].platform_index, list[n - 1].device_index);
    assert_int_equal(medcl_device_select(pd, &d), MEDCL_OK);
    assert_int_equal(d.index, n - 1);
    /* case-insensitive substring of the name */
    char sub[8] = {0};
    for (int i = 0; i < 4 && list[0].name[i]; i++) sub[i] = (char)toupper((unsigned char)list[0].name[i]);
    assert_int_equal(medcl_device_select(sub, &d), MEDCL_OK);
    /* by type: whatever type device 0 has must be found */
    assert_int_equal(medcl_device_select(medcl_device_type_str(list[0].type), &d), MEDCL_OK);
    assert_int_equal(d.type, list[0].type);
    /* no match: NOT_FOUND listing every device found */
    assert_int_equal(medcl_device_select("no-such-device-xyz", &d), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "no-such-device-xyz"));
    assert_non_null(strstr(medcl_last_error(), list[0].name));
    assert_int_equal(medcl_device_select("99", &d), MEDCL_ERR_NOT_FOUND);
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.device = "no-such-device-xyz";
    medcl_context *ctx = (medcl_context *)1;
    assert_int_equal(medcl_context_create(&o, &ctx), MEDCL_ERR_NOT_FOUND);
    assert_null(ctx);
    assert_non_null(strstr(medcl_last_error(), list[0].name));
    medcl_devices_free(list);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cl_dir_and_build_log(void **state) {
    (void)state;
    char dir[512], path[700];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "cldir"));
    /* a replacement elementwise program read from disk: its fill adds one */
    snprintf(path, sizeof path, "%s/elementwise.cl", dir);
    write_file(path, "kernel void ew_fill(global float *y, ulong y_off, ulong n, float v) {\n"
                     "  ulong i = get_global_id(0); if (i < n) y[y_off + i] = v + 1.0f; }\n");
    snprintf(path, sizeof path, "%s/reduce.cl", dir);
    write_file(path, "kernel void reduce_stage1(global float *x) { x[0] = this_is_not_defined; }\n");
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.cl_dir = dir;
    o.disk_cache = 0;
    medcl_context *ctx = NULL;
    assert_int_equal(medcl_context_create(&o, &ctx), MEDCL_OK);
    int64_t n = 33;
    medcl_tensor *t = NULL;
    assert_int_equal(medcl_tensor_create_f32(ctx, "t", 1, &n, &t), MEDCL_OK);
    assert_int_equal(medcl_fill(t, 2.0f), MEDCL_OK);
    float h[33];
    assert_int_equal(medcl_tensor_download(t, h, sizeof h), MEDCL_OK);
    for (int i = 0; i < 33; i++) assert_true(h[i] == 3.0f);
    /* a broken program: MEDCL_ERR_BUILD with the device's build log naming the problem */
    double v;
    assert_int_equal(medcl_reduce_to_host(t, MEDCL_REDUCE_SUM, &v), MEDCL_ERR_BUILD);
    assert_non_null(strstr(medcl_last_error(), "reduce"));
    assert_non_null(strstr(medcl_last_error(), "this_is_not_defined"));
    /* a program missing from the folder */
    assert_int_equal(medcl_context_build_program(ctx, "random", ""), MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), "random.cl"));
    medcl_cache_stats cs;
    medcl_context_cache_stats(ctx, &cs);
    assert_false(cs.disk_enabled);
    medcl_tensor_destroy(t);
    medcl_context_destroy(ctx);
}

static void test_unknown_program(void **state) {
    (void)state;
    medcl_context *ctx = NULL;
    assert_int_equal(medcl_context_create(NULL, &ctx), MEDCL_OK);
    assert_int_equal(medcl_context_build_program(ctx, "no_such_program", ""), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "no_such_program"));
    assert_int_equal(medcl_context_build_program(ctx, "../etc", ""), MEDCL_ERR_INVALID_ARG);
    cl_kernel k;
    assert_int_equal(medcl_kernel_get(ctx, "elementwise", "", "no_such_kernel", &k), MEDCL_ERR_NOT_FOUND);
    assert_non_null(strstr(medcl_last_error(), "no_such_kernel"));
    /* the -cl-std option follows the device's OpenCL C version */
    assert_non_null(strstr(ctx->build_options, "-cl-std=CL1."));
    medcl_context_destroy(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_describe),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_cl_dir_and_build_log),
        cmocka_unit_test(test_unknown_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
