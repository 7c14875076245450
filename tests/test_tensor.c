/* tests/test_tensor.c — tensor creation rules, bounds-checked transfers, asynchronous
 * transfers, fill/copy for every dtype, views, and the buffer pool (size-class reuse, in-use
 * and peak bytes, allocations refused before the driver is asked). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"
#include "testutil.h"

static medcl_tensor *make(medcl_dtype dt, int ndim, const int64_t *shape, const char *name,
                          medcl_status expect) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = dt;
    d.ndim = ndim;
    for (int i = 0; i < ndim && i < MEDCL_MAX_DIMS; i++) d.shape[i] = shape[i];
    d.name = name;
    medcl_tensor *t = (medcl_tensor *)1;
    assert_int_equal(medcl_tensor_create(td_ctx(), &d, &t), expect);
    if (expect != MEDCL_OK) assert_null(t);
    return t;
}

static void test_create_rules(void **state) {
    (void)state;
    int64_t s5[5] = {2, 3, 4, 5, 6};
    medcl_tensor *t = make(MEDCL_DTYPE_F32, 5, s5, "five", MEDCL_OK);
    assert_int_equal(medcl_tensor_numel(t), 720);
    assert_int_equal(medcl_tensor_bytes(t), 2880);
    assert_int_equal(medcl_tensor_dim(t, 4), 6);
    assert_int_equal(medcl_tensor_dim(t, 5), 0);
    assert_string_equal(medcl_tensor_name(t), "five");
    medcl_tensor_destroy(t);
    int64_t s6[6] = {1, 1, 1, 1, 1, 1};
    make(MEDCL_DTYPE_F32, 6, s6, "six", MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "six"));
    make(MEDCL_DTYPE_F32, 0, s6, "zero", MEDCL_ERR_SHAPE);
    int64_t bad[2] = {4, 0};
    make(MEDCL_DTYPE_F32, 2, bad, "empty", MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "shape[1] = 0"));
    int64_t huge[5] = {1LL << 40, 1LL << 40, 1, 1, 1};
    make(MEDCL_DTYPE_F32, 5, huge, "huge", MEDCL_ERR_SHAPE);
    make((medcl_dtype)7, 1, s5, "dt", MEDCL_ERR_INVALID_ARG);
    assert_true(medcl_dtype_size(MEDCL_DTYPE_U8) == 1 && medcl_dtype_size(MEDCL_DTYPE_I32) == 4);
    medcl_tensor_destroy(NULL);
}

static void test_transfers_all_dtypes(void **state) {
    (void)state;
    int64_t n = 1001;
    medcl_tensor *f = make(MEDCL_DTYPE_F32, 1, &n, "f", MEDCL_OK);
    medcl_tensor *i = make(MEDCL_DTYPE_I32, 1, &n, "i", MEDCL_OK);
    medcl_tensor *u = make(MEDCL_DTYPE_U8, 1, &n, "u", MEDCL_OK);
    float fh[1001], fo[1001];
    int32_t ih[1001], io[1001];
    uint8_t uh[1001], uo[1001];
    tu_rng r = tu_rng_make(tu_seed());
    for (int k = 0; k < 1001; k++) {
        fh[k] = (float)tu_normal(&r);
        ih[k] = tu_int(&r, -100000, 100000);
        uh[k] = (uint8_t)tu_int(&r, 0, 255);
    }
    assert_int_equal(medcl_tensor_upload(f, fh, sizeof fh), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(i, ih, sizeof ih), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(u, uh, sizeof uh), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(f, fo, sizeof fo), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(i, io, sizeof io), MEDCL_OK);
    assert_int_equal(medcl_tensor_download(u, uo, sizeof uo), MEDCL_OK);
    assert_memory_equal(fh, fo, sizeof fh);
    assert_memory_equal(ih, io, sizeof ih);
    assert_memory_equal(uh, uo, sizeof uh);
    /* wrong byte counts and ranges are refused with the numbers */
    assert_int_equal(medcl_tensor_upload(f, fh, sizeof fh - 4), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "4000 bytes given"));
    assert_int_equal(medcl_tensor_download_range(f, 1000, 2, fo), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "[1000, 1002)"));
    assert_int_equal(medcl_tensor_upload_range(f, -1, 1, fh), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_tensor_download(f, NULL, sizeof fo), MEDCL_ERR_INVALID_ARG);
    /* ranges */
    float part[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(medcl_tensor_upload_range(f, 991, 10, part), MEDCL_OK);
    float back[10];
    assert_int_equal(medcl_tensor_download_range(f, 991, 10, back), MEDCL_OK);
    assert_memory_equal(back, part, sizeof part);
    /* fill per dtype */
    assert_int_equal(medcl_tensor_fill(i, -7), MEDCL_OK);
    assert_int_equal(medcl_tensor_fill(u, 200), MEDCL_OK);
    assert_int_equal(medcl_tensor_fill(f, 0.5), MEDCL_OK);
    medcl_tensor_download(i, io, sizeof io);
    medcl_tensor_download(u, uo, sizeof uo);
    medcl_tensor_download(f, fo, sizeof fo);
    for (int k = 0; k < 1001; k++) assert_true(io[k] == -7 && uo[k] == 200 && fo[k] == 0.5f);
    assert_int_equal(medcl_tensor_fill(u, 300), MEDCL_ERR_INVALID_ARG);
    /* copy: same dtype and size only */
    medcl_tensor *i2 = make(MEDCL_DTYPE_I32, 1, &n, "i2", MEDCL_OK);
    assert_int_equal(medcl_tensor_copy(i2, i), MEDCL_OK);
    medcl_tensor_download(i2, io, sizeof io);
    assert_true(io[500] == -7);
    assert_int_equal(medcl_tensor_copy(i2, f), MEDCL_ERR_SHAPE);
    medcl_tensor_destroy(i2);
    medcl_tensor_destroy(f);
    medcl_tensor_destroy(i);
    medcl_tensor_destroy(u);
}

static void test_async(void **state) {
    (void)state;
    int64_t n = 300007;
    float *h = malloc((size_t)n * 4), *o = malloc((size_t)n * 4);
    tu_rng r = tu_rng_make(tu_seed() + 1);
    tu_fill_normal(&r, h, (size_t)n);
    medcl_tensor *a = td_tensor(1, &n, NULL, "a"), *b = td_tensor(1, &n, NULL, "b");
    medcl_event *ev = NULL;
    assert_int_equal(medcl_tensor_upload_async(a, h, (size_t)n * 4, &ev), MEDCL_OK);
    /* a kernel queued after the upload sees the uploaded data */
    assert_int_equal(medcl_scale(a, 2.0f, b), MEDCL_OK);
    assert_int_equal(medcl_event_wait(ev), MEDCL_OK);
    medcl_event_destroy(ev);
    assert_int_equal(medcl_tensor_download_async(b, o, (size_t)n * 4, &ev), MEDCL_OK);
    assert_int_equal(medcl_event_wait(ev), MEDCL_OK);
    medcl_event_destroy(ev);
    for (int64_t k = 0; k < n; k++) assert_true(o[k] == 2.0f * h[k]);
    assert_int_equal(medcl_tensor_upload_async(a, h, 8, &ev), MEDCL_ERR_INVALID_ARG);
    assert_null(ev);
    medcl_tensor_destroy(a);
    medcl_tensor_destroy(b);
    free(h);
    free(o);
}

static void test_views(void **state) {
    (void)state;
    int64_t s[4] = {4, 2, 3, 5};
    float h[120];
    for (int k = 0; k < 120; k++) h[k] = (float)k;
    medcl_tensor *t = td_tensor(4, s, h, "batch");
    medcl_tensor *v = NULL;
    assert_int_equal(medcl_tensor_view_n(t, 1, 2, &v), MEDCL_OK);
    assert_int_equal(medcl_tensor_numel(v), 60);
    float o[60];
    assert_int_equal(medcl_tensor_download(v, o, sizeof o), MEDCL_OK);
    for (int k = 0; k < 60; k++) assert_true(o[k] == (float)(30 + k));
    assert_int_equal(medcl_tensor_fill(v, -1), MEDCL_OK);
    float all[120];
    medcl_tensor_download(t, all, sizeof all);
    for (int k = 0; k < 120; k++) assert_true(all[k] == ((k >= 30 && k < 90) ? -1.0f : (float)k));
    medcl_tensor *bad = NULL;
    assert_int_equal(medcl_tensor_view_n(t, 3, 2, &bad), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "batch"));
    medcl_tensor *flat = NULL;
    int64_t fs[2] = {4, 30};
    assert_int_equal(medcl_tensor_view_reshape(t, 2, fs, &flat), MEDCL_OK);
    int64_t wrong[2] = {4, 31};
    assert_int_equal(medcl_tensor_view_reshape(t, 2, wrong, &bad), MEDCL_ERR_SHAPE);
    medcl_tensor_destroy(flat);
    medcl_tensor_destroy(v);
    medcl_tensor_destroy(t);
    int64_t o5[5];
    int64_t s3[3] = {2, 3, 7};
    medcl_tensor *t3 = td_tensor(3, s3, NULL, "t3");
    medcl_tensor_ncdhw(t3, o5);
    assert_true(o5[0] == 2 && o5[1] == 3 && o5[2] == 1 && o5[3] == 1 && o5[4] == 7);
    medcl_tensor_destroy(t3);
}

static void test_pool(void **state) {
    (void)state;
    medcl_context *ctx = td_ctx();
    medcl_context_trim_pool(ctx);
    medcl_memory_stats m0, m1, m2;
    medcl_context_memory_stats(ctx, &m0);
    int64_t n = 1000; /* 4000 bytes → class 4096 */
    medcl_tensor *a = td_tensor(1, &n, NULL, "a");
    medcl_context_memory_stats(ctx, &m1);
    assert_int_equal(m1.in_use - m0.in_use, 4096);
    medcl_tensor_destroy(a);
    int64_t n2 = 900; /* 3600 bytes → class 4096 again: served from the pool */
    medcl_tensor *b = td_tensor(1, &n2, NULL, "b");
    medcl_context_memory_stats(ctx, &m2);
    assert_int_equal(m2.reuses, m1.reuses + 1);
    assert_true(m2.peak >= m1.in_use);
    medcl_tensor_destroy(b);

    /* above the device's max allocation: refused by medcl with the sizes */
    int64_t big = (int64_t)(ctx->info.max_alloc / 4) + 1;
    medcl_tensor *t = NULL;
    assert_int_equal(medcl_tensor_create_f32(ctx, "too_big", 1, &big, &t), MEDCL_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(medcl_last_error(), "too_big"));
    assert_non_null(strstr(medcl_last_error(), "CL_DEVICE_MAX_MEM_ALLOC_SIZE"));
    /* above global memory: simulate a 1 MiB device so nothing large is ever allocated */
    uint64_t saved = ctx->info.global_mem;
    ctx->info.global_mem = 1 << 20;
    int64_t half = (1 << 20) / 4 / 2 + 1000;
    medcl_tensor *x = NULL, *y = NULL;
    assert_int_equal(medcl_tensor_create_f32(ctx, "first", 1, &half, &x), MEDCL_OK);
    assert_int_equal(medcl_tensor_create_f32(ctx, "second", 1, &half, &y), MEDCL_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(medcl_last_error(), "second"));
    assert_non_null(strstr(medcl_last_error(), "global memory of 1048576 bytes"));
    ctx->info.global_mem = saved;
    medcl_tensor_destroy(x);
}

static void test_broken_context(void **state) {
    (void)state;
    /* a context marked broken after a failed command refuses all later work */
    medcl_context *ctx = NULL;
    assert_int_equal(medcl_context_create(NULL, &ctx), MEDCL_OK);
    int64_t n = 10;
    medcl_tensor *t = NULL;
    assert_int_equal(medcl_tensor_create_f32(ctx, "t", 1, &n, &t), MEDCL_OK);
    medcl_context_mark_broken(ctx, "simulated: command status CL_OUT_OF_RESOURCES");
    assert_true(medcl_context_is_broken(ctx));
    assert_int_equal(medcl_fill(t, 1.0f), MEDCL_ERR_STATE);
    assert_non_null(strstr(medcl_last_error(), "CL_OUT_OF_RESOURCES"));
    float h[10];
    assert_int_equal(medcl_tensor_download(t, h, sizeof h), MEDCL_ERR_STATE);
    assert_int_equal(medcl_context_finish(ctx), MEDCL_ERR_STATE);
    medcl_tensor_destroy(t);
    medcl_context_destroy(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rules), cmocka_unit_test(test_transfers_all_dtypes),
        cmocka_unit_test(test_async),        cmocka_unit_test(test_views),
        cmocka_unit_test(test_pool),         cmocka_unit_test(test_broken_context),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
