/* tests/test_core.c — status names, the thread-local last error, logging (callback and
 * MEDCL_LOG_LEVEL), version, hashing, atomic file writes and size overflow checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "testutil.h"

static void test_status_names(void **state) {
    (void)state;
    for (int s = 0; s < MEDCL_STATUS_COUNT; s++) {
        const char *n = medcl_status_str((medcl_status)s);
        assert_non_null(n);
        assert_string_not_equal(n, "unknown status");
    }
    assert_string_equal(medcl_status_str((medcl_status)999), "unknown status");
    assert_string_equal(medcl_status_str(MEDCL_ERR_SHAPE), "shape mismatch");
}

static void *other_thread(void *arg) {
    (void)arg;
    /* a fresh thread starts without an error and its errors stay its own */
    int clean = medcl_last_error()[0] == '\0';
    medcl_fail(MEDCL_ERR_IO, "thread error");
    return (void *)(intptr_t)clean;
}

static void test_last_error_thread_local(void **state) {
    (void)state;
    assert_int_equal(medcl_fail(MEDCL_ERR_SHAPE, "conv: input D=%d < kernel D=%d", 2, 3),
                     MEDCL_ERR_SHAPE);
    assert_string_equal(medcl_last_error(), "conv: input D=2 < kernel D=3");
    pthread_t th;
    void *ret = NULL;
    pthread_create(&th, NULL, other_thread, NULL);
    pthread_join(th, &ret);
    assert_int_equal((int)(intptr_t)ret, 1);
    assert_string_equal(medcl_last_error(), "conv: input D=2 < kernel D=3");
    medcl_error_prefix("file %s", "a.nii");
    assert_string_equal(medcl_last_error(), "file a.nii: conv: input D=2 < kernel D=3");
    medcl_clear_error();
    assert_string_equal(medcl_last_error(), "");
}

typedef struct {
    int count;
    medcl_log_level last;
    char msg[256];
} log_capture;

static void capture(medcl_log_level level, const char *message, void *user) {
    log_capture *c = user;
    c->count++;
    c->last = level;
    snprintf(c->msg, sizeof c->msg, "%s", message);
}

static void test_logging(void **state) {
    (void)state;
    log_capture c = {0};
    medcl_log_set_callback(capture, &c);
    medcl_log_set_level(MEDCL_LOG_WARN);
    medcl_log(MEDCL_LOG_INFO, "hidden %d", 1);
    assert_int_equal(c.count, 0);
    medcl_log(MEDCL_LOG_WARN, "shown %d", 2);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.last, MEDCL_LOG_WARN);
    assert_string_equal(c.msg, "shown 2");
    medcl_log_set_level(MEDCL_LOG_DEBUG);
    medcl_log(MEDCL_LOG_DEBUG, "debug");
    assert_int_equal(c.count, 2);
    medcl_log_set_callback(NULL, NULL);
    medcl_log_set_level(MEDCL_LOG_WARN);
}

static void test_version_and_hash(void **state) {
    (void)state;
    assert_string_equal(medcl_version(), MEDCL_VERSION_STRING);
    /* FNV-1a 64 known answers */
    assert_true(medcl_hash64("", 0, MEDCL_HASH64_INIT) == 0xcbf29ce484222325ULL);
    assert_true(medcl_hash64("a", 1, MEDCL_HASH64_INIT) == 0xaf63dc4c8601ec8cULL);
    assert_true(medcl_hash64("foobar", 6, MEDCL_HASH64_INIT) == 0x85944171f73967e8ULL);
}

static void test_overflow_checks(void **state) {
    (void)state;
    size_t s;
    int64_t i;
    assert_true(medcl_mul_size(1u << 20, 1u << 10, &s) && s == (size_t)1 << 30);
    assert_false(medcl_mul_size(SIZE_MAX / 2, 3, &s));
    assert_true(medcl_mul_i64(3, 5, &i) && i == 15);
    assert_false(medcl_mul_i64(INT64_MAX / 2, 3, &i));
    assert_false(medcl_mul_i64(-1, 3, &i));
}

static void test_atomic_write(void **state) {
    (void)state;
    char dir[512], path[600];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "core"));
    snprintf(path, sizeof path, "%s/sub/x.bin", dir);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(medcl_mkdir_p(sub), MEDCL_OK);
    assert_int_equal(medcl_file_write_atomic(path, "hello", 5), MEDCL_OK);
    assert_int_equal(medcl_file_write_atomic(path, "world!", 6), MEDCL_OK);
    void *data = NULL;
    size_t n = 0;
    assert_int_equal(medcl_file_read_all(path, 100, &data, &n), MEDCL_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(data, "world!", 6);
    free(data);
    assert_int_equal(medcl_file_read_all(path, 3, &data, &n), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), path));
    /* a folder that does not exist: error names the file, nothing half-written appears */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/missing/x.bin", dir);
    assert_int_equal(medcl_file_write_atomic(bad, "x", 1), MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), bad));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),   cmocka_unit_test(test_last_error_thread_local),
        cmocka_unit_test(test_logging),        cmocka_unit_test(test_version_and_hash),
        cmocka_unit_test(test_overflow_checks), cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
