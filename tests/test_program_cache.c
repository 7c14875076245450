/* tests/test_program_cache.c — the on-disk program cache across processes: a second process
 * hits it; truncated, bit-flipped and foreign entries are evicted and rebuilt with the same
 * results; a folder that is not a folder or not writable runs uncached with one warning;
 * several processes filling one cache leave no damaged entry; MEDCL_CACHE=off.
 * Child processes are this executable re-run with "child" arguments (posix_spawn), so no
 * OpenCL state crosses a fork. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"
#include "testutil.h"

extern char **environ;

typedef struct {
    unsigned long misses, disk_hits, evictions, writes;
    int disk_enabled, warnings;
    char result[64];
} child_report;

static int g_warnings = 0;
static void count_warn(medcl_log_level l, const char *m, void *u) {
    (void)u;
    (void)m;
    if (l == MEDCL_LOG_WARN) g_warnings++;
}

/* child: build random + reduce with the cache in dir, compute a sum, report to out_path */
static int child_main(const char *dir, const char *out_path) {
    medcl_log_set_callback(count_warn, NULL);
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    o.cache_dir = dir;
    o.disk_cache = 1;
    medcl_context *ctx = NULL;
    if (medcl_context_create(&o, &ctx) != MEDCL_OK) return 2;
    int64_t n = 50000;
    medcl_tensor *t = NULL;
    double v = 0;
    if (medcl_tensor_create_f32(ctx, "x", 1, &n, &t) != MEDCL_OK ||
        medcl_random_normal(t, 42, 1, 0, 0, 0.0f, 1.0f) != MEDCL_OK ||
        medcl_reduce_to_host(t, MEDCL_REDUCE_SUM, &v) != MEDCL_OK)
        return 3;
    medcl_cache_stats cs;
    medcl_context_cache_stats(ctx, &cs);
    FILE *f = fopen(out_path, "w");
    if (!f) return 4;
    fprintf(f, "%lu %lu %lu %lu %d %d %a\n", (unsigned long)cs.misses, (unsigned long)cs.disk_hits,
            (unsigned long)cs.evictions, (unsigned long)cs.disk_writes, cs.disk_enabled ? 1 : 0,
            g_warnings, v);
    fclose(f);
    medcl_tensor_destroy(t);
    medcl_context_destroy(ctx);
    return 0;
}

static pid_t spawn_child(const char *dir, const char *out) {
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    char *argv[] = {exe, "child", (char *)dir, (char *)out, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, exe, NULL, NULL, argv, environ), 0);
    return pid;
}

static child_report run_child(const char *dir, const char *tag) {
    char out[1024];
    char base[512];
    assert_non_null(tu_tmpdir(base, sizeof base, tag));
    snprintf(out, sizeof out, "%s/report.txt", base);
    pid_t pid = spawn_child(dir, out);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fail_msg("child exited %d", WEXITSTATUS(status));
    child_report r;
    memset(&r, 0, sizeof r);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu %lu %lu %lu %d %d %63s", &r.misses, &r.disk_hits, &r.evictions,
                            &r.writes, &r.disk_enabled, &r.warnings, r.result),
                     7);
    fclose(f);
    return r;
}

/* every .bin in dir; returns count */
static int list_entries(const char *dir, char names[][300], int cap) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l == 36 && !strcmp(e->d_name + 32, ".bin") && n < cap) snprintf(names[n++], 300, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static void test_second_process_hits(void **state) {
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "cache"));
    child_report a = run_child(dir, "c1");
    assert_int_equal(a.disk_enabled, 1);
    assert_true(a.misses == 2 && a.disk_hits == 0 && a.writes == 2);
    child_report b = run_child(dir, "c2");
    assert_true(b.misses == 0 && b.disk_hits == 2 && b.evictions == 0);
    assert_string_equal(a.result, b.result);
    assert_int_equal(a.warnings + b.warnings, 0);
}

static void test_damaged_entries_rebuilt(void **state) {
    (void)state;
    char dir[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "cache"));
    child_report ref = run_child(dir, "d0");
    char names[8][300];
    assert_int_equal(list_entries(dir, names, 8), 2);
    char p0[1200], p1[1200];
    snprintf(p0, sizeof p0, "%s/%s", dir, names[0]);
    snprintf(p1, sizeof p1, "%s/%s", dir, names[1]);
    /* truncate one entry in the middle */
    struct stat sb;
    assert_int_equal(stat(p0, &sb), 0);
    assert_int_equal(truncate(p0, sb.st_size / 2), 0);
    /* flip one bit deep in the other */
    FILE *f = fopen(p1, "r+b");
    assert_non_null(f);
    assert_int_equal(stat(p1, &sb), 0);
    fseek(f, sb.st_size - 10, SEEK_SET);
    int c = fgetc(f);
    fseek(f, sb.st_size - 10, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    child_report r = run_child(dir, "d1");
    assert_true(r.evictions == 2 && r.misses == 2 && r.disk_hits == 0);
    assert_string_equal(r.result, ref.result);
    /* rebuilt entries are good again */
    child_report r2 = run_child(dir, "d2");
    assert_true(r2.disk_hits == 2 && r2.evictions == 0);
    /* a foreign file under an entry's name (another program's key) is evicted too */
    assert_int_equal(list_entries(dir, names, 8), 2);
    snprintf(p0, sizeof p0, "%s/%s", dir, names[0]);
    snprintf(p1, sizeof p1, "%s/%s", dir, names[1]);
    void *data;
    size_t n;
    assert_int_equal(medcl_file_read_all(p1, 1u << 30, &data, &n), MEDCL_OK);
    assert_int_equal(medcl_file_write_atomic(p0, data, n), MEDCL_OK);
    free(data);
    child_report r3 = run_child(dir, "d3");
    assert_true(r3.evictions == 1 && r3.misses == 1 && r3.disk_hits == 1);
    assert_string_equal(r3.result, ref.result);
}

static void test_unusable_folders(void **state) {
    (void)state;
    char base[512], file[700];
    assert_non_null(tu_tmpdir(base, sizeof base, "cache"));
    child_report ref = run_child(base, "u0");
    /* not a folder */
    snprintf(file, sizeof file, "%s/plainfile", base);
    FILE *f = fopen(file, "w");
    fputs("x", f);
    fclose(f);
    child_report a = run_child(file, "u1");
    assert_int_equal(a.disk_enabled, 0);
    assert_int_equal(a.warnings, 1);
    assert_true(a.misses == 2);
    assert_string_equal(a.result, ref.result);
    /* a read-only place: a read-only mount (root ignores permission bits) */
    child_report b = run_child("/proc/medcl-cache-test", "u2");
    assert_int_equal(b.disk_enabled, 0);
    assert_int_equal(b.warnings, 1);
    assert_string_equal(b.result, ref.result);
    /* a folder without write permission, for a non-root user */
    if (geteuid() != 0) {
        char ro[700];
        snprintf(ro, sizeof ro, "%s/ro", base);
        mkdir(ro, 0555);
        child_report c = run_child(ro, "u3");
        assert_int_equal(c.disk_enabled, 0);
        assert_int_equal(c.warnings, 1);
    }
}

static void test_concurrent_fill(void **state) {
    (void)state;
    char dir[512], base[512];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "cache"));
    assert_non_null(tu_tmpdir(base, sizeof base, "conc"));
    enum { K = 4 };
    pid_t pids[K];
    char outs[K][1024];
    for (int i = 0; i < K; i++) {
        snprintf(outs[i], sizeof outs[i], "%s/r%d.txt", base, i);
        pids[i] = spawn_child(dir, outs[i]);
    }
    for (int i = 0; i < K; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* every entry decodes, under the name of its own key; no temporary files remain */
    char names[16][300];
    int n = list_entries(dir, names, 16);
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++) {
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        void *data;
        size_t len;
        assert_int_equal(medcl_file_read_all(p, 1u << 30, &data, &len), MEDCL_OK);
        char hi[17], lo[17];
        memcpy(hi, names[i], 16);
        hi[16] = 0;
        memcpy(lo, names[i] + 16, 16);
        lo[16] = 0;
        const unsigned char *bin;
        size_t bl;
        assert_int_equal(medcl_cache_entry_decode(data, len, strtoull(hi, NULL, 16),
                                                  strtoull(lo, NULL, 16), &bin, &bl),
                         MEDCL_OK);
        free(data);
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
    child_report r = run_child(dir, "c9");
    assert_true(r.disk_hits == 2 && r.misses == 0);
}

static void test_cache_off(void **state) {
    (void)state;
    setenv("MEDCL_CACHE", "off", 1);
    medcl_context *ctx = NULL;
    assert_int_equal(medcl_context_create(NULL, &ctx), MEDCL_OK);
    medcl_cache_stats cs;
    medcl_context_cache_stats(ctx, &cs);
    assert_false(cs.disk_enabled);
    assert_int_equal(medcl_context_build_program(ctx, "elementwise", ""), MEDCL_OK);
    assert_int_equal(medcl_context_build_program(ctx, "elementwise", ""), MEDCL_OK);
    medcl_context_cache_stats(ctx, &cs);
    assert_true(cs.misses == 1 && cs.memory_hits == 1 && cs.disk_writes == 0);
    medcl_context_destroy(ctx);
    unsetenv("MEDCL_CACHE");
}

static void test_entry_format(void **state) {
    (void)state;
    unsigned char bin[100];
    for (int i = 0; i < 100; i++) bin[i] = (unsigned char)i;
    unsigned char *e;
    size_t n;
    assert_int_equal(medcl_cache_entry_encode(1, 2, bin, 100, &e, &n), MEDCL_OK);
    const unsigned char *p;
    size_t l;
    assert_int_equal(medcl_cache_entry_decode(e, n, 1, 2, &p, &l), MEDCL_OK);
    assert_int_equal(l, 100);
    assert_memory_equal(p, bin, 100);
    assert_int_equal(medcl_cache_entry_decode(e, n, 1, 3, &p, &l), MEDCL_ERR_FORMAT);
    for (size_t cut = 0; cut < n; cut += 7)
        assert_int_equal(medcl_cache_entry_decode(e, cut, 1, 2, &p, &l), MEDCL_ERR_FORMAT);
    for (size_t i = 0; i < n; i++) {
        e[i] ^= 1;
        assert_int_equal(medcl_cache_entry_decode(e, n, 1, 2, &p, &l), MEDCL_ERR_FORMAT);
        e[i] ^= 1;
    }
    free(e);
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "child")) return child_main(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_format),       cmocka_unit_test(test_second_process_hits),
        cmocka_unit_test(test_damaged_entries_rebuilt), cmocka_unit_test(test_unusable_folders),
        cmocka_unit_test(test_concurrent_fill),    cmocka_unit_test(test_cache_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
