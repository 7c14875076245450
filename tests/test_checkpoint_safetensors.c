/* tests/test_checkpoint_safetensors.c — the safetensors reader and writer (host only): our
 * writer's bytes equal the reference implementation's golden file byte for byte, the
 * reference's file with escaped/UTF-8 metadata loads, write/read round trip through the atomic
 * writer, and every malformed-file row of RELIABILITY.md is rejected with a list of problems
 * naming the file. Golden files: tools/golden/gen_safetensors_golden.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/nn.h"
#include "testutil.h"

/* the golden tensors (see the generator's docstring) */
static float g_w[108], g_b[4] = {1.5f, -2.0f, 0.0f, 3.25f}, g_s = 42.0f;
static int32_t g_counts[6];
static uint8_t g_mask[5];

static int golden_tensors(medcl_st_tensor *t) {
    for (int i = 0; i < 108; i++) g_w[i] = (float)(i * 0.25 - 10.0);
    for (int i = 0; i < 6; i++) g_counts[i] = i * 7 - 20;
    for (int i = 0; i < 5; i++) g_mask[i] = (uint8_t)(i * 50);
    /* deliberately not in file order: the writer sorts */
    t[0] = (medcl_st_tensor){"mask", MEDCL_DTYPE_U8, 1, {5}, g_mask, 5};
    t[1] = (medcl_st_tensor){"conv.weight", MEDCL_DTYPE_F32, 4, {4, 3, 3, 3}, g_w, sizeof g_w};
    t[2] = (medcl_st_tensor){"scalar", MEDCL_DTYPE_F32, 0, {0}, &g_s, 4};
    t[3] = (medcl_st_tensor){"counts", MEDCL_DTYPE_I32, 2, {2, 3}, g_counts, sizeof g_counts};
    t[4] = (medcl_st_tensor){"empty", MEDCL_DTYPE_F32, 2, {0, 2}, NULL, 0};
    t[5] = (medcl_st_tensor){"conv.bias", MEDCL_DTYPE_F32, 1, {4}, g_b, sizeof g_b};
    return 6;
}

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)len + 1);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

static const char *data_path(char *buf, size_t cap, const char *name) {
    const char *d = getenv("MEDCL_TEST_DATA");
    snprintf(buf, cap, "%s/safetensors/%s", d ? d : "tests/data", name);
    return buf;
}

static void test_writer_matches_reference_bytes(void **state) {
    (void)state;
    medcl_st_tensor t[6];
    int n = golden_tensors(t);
    medcl_st_meta m = {"format", "pt"};
    void *ours = NULL;
    size_t len = 0;
    assert_int_equal(medcl_safetensors_serialize(t, n, &m, 1, &ours, &len), MEDCL_OK);
    char path[1024];
    size_t glen;
    void *golden = read_file(data_path(path, sizeof path, "golden_single.safetensors"), &glen);
    assert_int_equal(len, glen);
    assert_memory_equal(ours, golden, len);
    free(ours);
    free(golden);
}

static void check_golden_values(const medcl_safetensors *f) {
    assert_int_equal(medcl_safetensors_count(f), 6);
    const medcl_st_tensor *w = medcl_safetensors_find(f, "conv.weight");
    assert_non_null(w);
    assert_int_equal(w->dtype, MEDCL_DTYPE_F32);
    assert_int_equal(w->ndim, 4);
    assert_int_equal(w->shape[1], 3);
    for (int i = 0; i < 108; i++) {
        float v;
        memcpy(&v, (const char *)w->data + 4 * i, 4);
        assert_true(v == (float)(i * 0.25 - 10.0));
    }
    const medcl_st_tensor *c = medcl_safetensors_find(f, "counts");
    assert_int_equal(c->dtype, MEDCL_DTYPE_I32);
    int32_t ci;
    memcpy(&ci, (const char *)c->data + 4 * 5, 4);
    assert_int_equal(ci, 15);
    const medcl_st_tensor *m = medcl_safetensors_find(f, "mask");
    assert_int_equal(((const uint8_t *)m->data)[4], 200);
    const medcl_st_tensor *s = medcl_safetensors_find(f, "scalar");
    assert_int_equal(s->ndim, 0);
    assert_int_equal(s->bytes, 4);
    const medcl_st_tensor *e = medcl_safetensors_find(f, "empty");
    assert_int_equal(e->bytes, 0);
    assert_int_equal(e->shape[0], 0);
}

static void test_reference_file_loads(void **state) {
    (void)state;
    char path[1024];
    medcl_safetensors *f = NULL;
    assert_int_equal(medcl_safetensors_read(data_path(path, sizeof path, "golden_meta.safetensors"), &f),
                     MEDCL_OK);
    check_golden_values(f);
    assert_int_equal(medcl_safetensors_meta_count(f), 4);
    assert_string_equal(medcl_safetensors_meta(f, "medcl.step"), "17");
    assert_string_equal(medcl_safetensors_meta(f, "quote\"back\\slash"), "line\nbreak\ttab\x01");
    assert_string_equal(medcl_safetensors_meta(f, "unicode"), "Dice \xe2\x89\xa5 0.9 \xc3\xa9");
    assert_null(medcl_safetensors_meta(f, "nope"));
    medcl_safetensors_close(f);
}

static void test_roundtrip(void **state) {
    (void)state;
    medcl_st_tensor t[6];
    int n = golden_tensors(t);
    medcl_st_meta m[3] = {{"z", "last"}, {"a", "first \"quoted\"\n"}, {"format", "pt"}};
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "safetensors");
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    if (medcl_safetensors_write(path, t, n, m, 3) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    medcl_safetensors *f = NULL;
    assert_int_equal(medcl_safetensors_read(path, &f), MEDCL_OK);
    check_golden_values(f);
    assert_string_equal(medcl_safetensors_meta(f, "a"), "first \"quoted\"\n");
    /* metadata written in sorted key order (deterministic bytes) */
    assert_string_equal(medcl_safetensors_meta_at(f, 0)->key, "a");
    assert_string_equal(medcl_safetensors_meta_at(f, 2)->key, "z");
    medcl_safetensors_close(f);
    /* duplicate names are refused by the writer */
    t[1].name = "mask";
    assert_int_equal(medcl_safetensors_write(path, t, n, m, 3), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "mask"));
}

/* A file from a header text (padded to 8) and data_len data bytes. */
static unsigned char *make_file(const char *header, size_t data_len, uint64_t hl_override, size_t *len) {
    size_t h = strlen(header), hp = (h + 7) / 8 * 8;
    *len = 8 + hp + data_len;
    unsigned char *b = calloc(1, *len);
    uint64_t hl = hl_override ? hl_override : hp;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', hp - h);
    return b;
}

static void expect_bad(const char *header, size_t data_len, uint64_t hl, const char *const *words) {
    size_t len;
    unsigned char *b = make_file(header, data_len, hl, &len);
    medcl_safetensors *f = (medcl_safetensors *)1;
    medcl_status st = medcl_safetensors_parse(b, len, "bad.safetensors", &f);
    if (st != MEDCL_ERR_FORMAT) fail_msg("header %s: status %d, expected FORMAT", header, (int)st);
    assert_null(f);
    const char *msg = medcl_last_error();
    assert_non_null(strstr(msg, "bad.safetensors"));
    for (int i = 0; words[i]; i++)
        if (!strstr(msg, words[i])) fail_msg("message lacks \"%s\": %s", words[i], msg);
    free(b);
}

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_malformed_files(void **state) {
    (void)state;
    /* shorter than the length field */
    medcl_safetensors *f = NULL;
    assert_int_equal(medcl_safetensors_parse("abc", 3, "tiny.safetensors", &f), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "tiny.safetensors"));
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    /* header length beyond the file, above 100 MB */
    expect_bad(ok, 8, 4096, W("beyond the file", "4096"));
    expect_bad(ok, 8, 200000000ull, W("above the limit", "200000000"));
    /* overlapping and gapped offsets */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, 0, W("overlap", "tensor b"));
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
               20, 0, W("gap of 4 bytes", "tensor b"));
    /* data not covered / too short */
    expect_bad(ok, 16, 0, W("8 bytes after the last tensor"));
    expect_bad(ok, 4, 0, W("need 8 data bytes", "has 4"));
    /* shape x dtype overflow */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, 0,
               W("overflow", "tensor a"));
    /* offsets that do not match the shape */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0,
               W("tensor a", "needs 12"));
    /* duplicate keys */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, 0, W("key a appears more than once"));
    /* dtypes: unsupported and unknown */
    expect_bad("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, 0,
               W("F16", "not supported"));
    expect_bad("{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, 0, W("Q7", "unknown"));
    /* not JSON, not an object, negative and fractional numbers, missing fields */
    expect_bad("{\"a\":", 0, 0, W("not a JSON object"));
    expect_bad("[1,2]", 0, 0, W("start with"));
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, 0, W("shape[0]"));
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8]}}", 8, 0, W("data_offsets"));
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, 0, W("tensor a", "shape"));
    expect_bad("{\"__metadata__\":{\"k\":3},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               0, W("metadata k", "not a string"));
    /* several problems are all listed */
    expect_bad("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,8]}}",
               8, 0, W("2 problems", "tensor a", "tensor b"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_matches_reference_bytes),
        cmocka_unit_test(test_reference_file_loads),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_malformed_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
