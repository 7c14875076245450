/* src/runtime/bundle.c — kernel bundles: a folder with manifest.json and one binary per
 * program variant, for devices that cannot or should not compile (FPGAs, appliances).
 * In bundle mode the runtime never compiles: a missing variant, a variant built from other
 * sources, or a bundle made for another device is an error naming it. */
#include "runtime_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bundle_entry {
    char *program, *defines;
    uint64_t hi, lo;
    char *file;
} bundle_entry;

struct medcl_bundle {
    char *dir;
    bundle_entry *entries;
    int count;
};

void medcl_bundle_close(medcl_bundle *b) {
    if (!b) return;
    for (int i = 0; i < b->count; i++) {
        free(b->entries[i].program);
        free(b->entries[i].defines);
        free(b->entries[i].file);
    }
    free(b->entries);
    free(b->dir);
    free(b);
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool parse_key(const char *s, uint64_t *hi, uint64_t *lo) {
    if (!s || strlen(s) != 32) return false;
    char a[17], b[17];
    memcpy(a, s, 16);
    a[16] = '\0';
    memcpy(b, s + 16, 16);
    b[16] = '\0';
    char *e1, *e2;
    *hi = strtoull(a, &e1, 16);
    *lo = strtoull(b, &e2, 16);
    return *e1 == '\0' && *e2 == '\0';
}

medcl_status medcl_bundle_open(medcl_context *ctx, const char *dir) {
    medcl_status st = MEDCL_OK;
    char path[1024];
    void *text = NULL;
    size_t n = 0;
    cJSON *root = NULL;
    medcl_bundle *b = NULL;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    MEDCL_TRY(medcl_file_read_all(path, 64u << 20, &text, &n));
    root = cJSON_ParseWithLength(text, n);
    if (!root || !cJSON_IsObject(root))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: not a JSON object", path);
    const char *fmt = jstr(root, "format");
    if (!fmt || strcmp(fmt, "medcl-kernel-bundle") != 0)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.format is \"%s\", expected \"medcl-kernel-bundle\"", path,
                   fmt ? fmt : "(missing)");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(root, "device");
    const char *fields[][2] = {{"name", ctx->info.name},
                               {"platform", ctx->info.platform},
                               {"version", ctx->info.version},
                               {"driver", ctx->info.driver}};
    for (int i = 0; i < 4; i++) {
        const char *v = dev ? jstr(dev, fields[i][0]) : NULL;
        if (!v || strcmp(v, fields[i][1]) != 0)
            MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED,
                       "kernel bundle %s was built for another device: $.device.%s is \"%s\", this "
                       "device (%s) has \"%s\"; rebuild it with `medcl kernels build --out %s`",
                       dir, fields[i][0], v ? v : "(missing)", ctx->info.name, fields[i][1], dir);
    }
    const cJSON *progs = cJSON_GetObjectItemCaseSensitive(root, "programs");
    if (!cJSON_IsArray(progs)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.programs is not an array", path);
    b = calloc(1, sizeof *b);
    if (!b) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "bundle: out of memory");
    b->dir = strdup(dir);
    int cnt = cJSON_GetArraySize(progs);
    b->entries = calloc((size_t)(cnt ? cnt : 1), sizeof *b->entries);
    if (!b->dir || !b->entries) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "bundle: out of memory");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, progs) {
        const char *p = jstr(it, "program"), *d = jstr(it, "defines"), *k = jstr(it, "key"),
                   *f = jstr(it, "file");
        bundle_entry *e = &b->entries[i];
        if (!p || !d || !f || !parse_key(k, &e->hi, &e->lo))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.programs[%d] lacks program, defines, key or file", path, i);
        if (strchr(f, '/'))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.programs[%d].file \"%s\" must be a plain file name", path, i, f);
        e->program = strdup(p);
        e->defines = strdup(d);
        e->file = strdup(f);
        b->count = ++i;
        if (!e->program || !e->defines || !e->file)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "bundle: out of memory");
    }
    ctx->bundle = b;
    b = NULL;
    ctx->cache.bundle_mode = true;
    ctx->cache.disk_enabled = false;
    snprintf(ctx->cache.dir, sizeof ctx->cache.dir, "%s", dir);
cleanup:
    if (st != MEDCL_OK && b == NULL && ctx->bundle == NULL && st != MEDCL_OK) {
        /* keep the message */
    }
    medcl_bundle_close(b);
    cJSON_Delete(root);
    free(text);
    return st;
}

medcl_status medcl_bundle_load(medcl_context *ctx, const char *program, const char *defines,
                               uint64_t hi, uint64_t lo, unsigned char **bin, size_t *len) {
    medcl_bundle *b = ctx->bundle;
    *bin = NULL;
    *len = 0;
    for (int i = 0; i < b->count; i++) {
        bundle_entry *e = &b->entries[i];
        if (strcmp(e->program, program) != 0 || strcmp(e->defines, defines ? defines : "") != 0)
            continue;
        if (e->hi != hi || e->lo != lo)
            return medcl_fail(MEDCL_ERR_NOT_FOUND,
                              "kernel bundle %s: program %s [%s] was built from other sources or "
                              "options (library %s expects key %016llx%016llx); rebuild the bundle",
                              b->dir, program, defines, MEDCL_VERSION_STRING,
                              (unsigned long long)hi, (unsigned long long)lo);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", b->dir, e->file);
        void *data = NULL;
        size_t n = 0;
        medcl_status st = medcl_file_read_all(path, 512u << 20, &data, &n);
        if (st != MEDCL_OK) return st;
        const unsigned char *payload;
        size_t pl;
        st = medcl_cache_entry_decode(data, n, hi, lo, &payload, &pl);
        if (st != MEDCL_OK) {
            medcl_error_prefix("kernel bundle entry %s", path);
            free(data);
            return st;
        }
        unsigned char *copy = malloc(pl ? pl : 1);
        if (!copy) {
            free(data);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        }
        memcpy(copy, payload, pl);
        free(data);
        *bin = copy;
        *len = pl;
        return MEDCL_OK;
    }
    return medcl_fail(MEDCL_ERR_NOT_FOUND,
                      "kernel bundle %s has no program %s [%s] for %s; bundle mode never compiles: "
                      "rebuild the bundle with `medcl kernels build`",
                      b->dir, program, defines, ctx->info.name);
}

medcl_status medcl_bundle_write(medcl_context *ctx, const char *dir,
                                const medcl_program_variant *variants, int count) {
    medcl_status st = MEDCL_OK;
    cJSON *root = NULL;
    char *text = NULL;
    char *src = NULL;
    unsigned char *bin = NULL, *entry = NULL;
    if (ctx->bundle)
        return medcl_fail(MEDCL_ERR_STATE, "cannot write a bundle from a context in bundle mode");
    MEDCL_TRY(medcl_mkdir_p(dir));
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "medcl-kernel-bundle");
    cJSON_AddNumberToObject(root, "format_version", 1);
    cJSON_AddStringToObject(root, "library_version", MEDCL_VERSION_STRING);
    cJSON *dev = cJSON_AddObjectToObject(root, "device");
    cJSON_AddStringToObject(dev, "name", ctx->info.name);
    cJSON_AddStringToObject(dev, "platform", ctx->info.platform);
    cJSON_AddStringToObject(dev, "version", ctx->info.version);
    cJSON_AddStringToObject(dev, "driver", ctx->info.driver);
    cJSON_AddStringToObject(root, "build_options", ctx->build_options);
    cJSON *progs = cJSON_AddArrayToObject(root, "programs");
    for (int i = 0; i < count; i++) {
        const char *defs = variants[i].defines ? variants[i].defines : "";
        size_t len = 0;
        MEDCL_TRY(medcl_program_source(ctx, variants[i].program, &src, &len));
        uint64_t hi, lo;
        medcl_program_key(ctx, src, len, defs, &hi, &lo);
        free(src);
        src = NULL;
        cl_program p;
        MEDCL_TRY(medcl_program_get(ctx, variants[i].program, defs, &p));
        size_t bl = 0, el = 0;
        MEDCL_TRY(medcl_program_binary(p, ctx->device, &bin, &bl));
        MEDCL_TRY(medcl_cache_entry_encode(hi, lo, bin, bl, &entry, &el));
        char key[40], file[48], path[1200];
        snprintf(key, sizeof key, "%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
        snprintf(file, sizeof file, "%s.bin", key);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        MEDCL_TRY(medcl_file_write_atomic(path, entry, el));
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "program", variants[i].program);
        cJSON_AddStringToObject(e, "defines", defs);
        cJSON_AddStringToObject(e, "key", key);
        cJSON_AddStringToObject(e, "file", file);
        cJSON_AddNumberToObject(e, "bytes", (double)bl);
        char h[20];
        snprintf(h, sizeof h, "%016llx", (unsigned long long)medcl_hash64(bin, bl, MEDCL_HASH64_INIT));
        cJSON_AddStringToObject(e, "binary_hash", h);
        cJSON_AddItemToArray(progs, e);
        free(bin);
        bin = NULL;
        free(entry);
        entry = NULL;
    }
    text = cJSON_Print(root);
    if (!text) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "bundle manifest: out of memory");
    char mpath[1200];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", dir);
    MEDCL_TRY(medcl_file_write_atomic(mpath, text, strlen(text)));
cleanup:
    cJSON_Delete(root);
    cJSON_free(text);
    free(src);
    free(bin);
    free(entry);
    return st;
}
