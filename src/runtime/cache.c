/* src/runtime/cache.c — the on-disk program cache. One file per program variant, named by
 * its 128-bit key, holding a header (magic, key, payload length, checksum) and the driver's
 * binary. Written to a temporary file and renamed, so concurrent processes never see a
 * partial entry; checked on load, and any damaged or foreign entry is evicted and rebuilt.
 * A folder that cannot be used disables the cache with one warning. */
#include "runtime_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_MAGIC "MEDCLPC1"
#define ENTRY_HEADER 40 /* magic 8, key 16, length 8, checksum 8 */
#define ENTRY_MAX (512u << 20)

static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

medcl_status medcl_cache_entry_encode(uint64_t hi, uint64_t lo, const unsigned char *bin,
                                      size_t len, unsigned char **out, size_t *out_len) {
    unsigned char *b = malloc(ENTRY_HEADER + len);
    if (!b) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "cache entry: out of memory");
    memcpy(b, ENTRY_MAGIC, 8);
    put64(b + 8, hi);
    put64(b + 16, lo);
    put64(b + 24, (uint64_t)len);
    put64(b + 32, medcl_hash64(bin, len, MEDCL_HASH64_INIT));
    memcpy(b + ENTRY_HEADER, bin, len);
    *out = b;
    *out_len = ENTRY_HEADER + len;
    return MEDCL_OK;
}

medcl_status medcl_cache_entry_decode(const unsigned char *data, size_t n, uint64_t hi,
                                      uint64_t lo, const unsigned char **bin, size_t *len) {
    if (n < ENTRY_HEADER)
        return medcl_fail(MEDCL_ERR_FORMAT, "entry of %zu bytes is shorter than its %d-byte header",
                          n, ENTRY_HEADER);
    if (memcmp(data, ENTRY_MAGIC, 8) != 0)
        return medcl_fail(MEDCL_ERR_FORMAT, "bad magic (not a medcl program-cache entry)");
    if (get64(data + 8) != hi || get64(data + 16) != lo)
        return medcl_fail(MEDCL_ERR_FORMAT, "key in the entry differs from its file name");
    uint64_t l = get64(data + 24);
    if (l != n - ENTRY_HEADER)
        return medcl_fail(MEDCL_ERR_FORMAT, "length field says %llu bytes, file holds %zu",
                          (unsigned long long)l, n - ENTRY_HEADER);
    if (get64(data + 32) != medcl_hash64(data + ENTRY_HEADER, (size_t)l, MEDCL_HASH64_INIT))
        return medcl_fail(MEDCL_ERR_FORMAT, "checksum mismatch");
    *bin = data + ENTRY_HEADER;
    *len = (size_t)l;
    return MEDCL_OK;
}

static void disable(medcl_context *ctx, const char *why) {
    ctx->cache.disk_enabled = false;
    if (!ctx->cache_warned) {
        ctx->cache_warned = true;
        medcl_log(MEDCL_LOG_WARN, "program cache disabled, running uncached: %s", why);
    }
}

void medcl_cache_init(medcl_context *ctx, const medcl_context_options *opts) {
    ctx->cache.disk_enabled = false;
    ctx->cache.dir[0] = '\0';
    int on = opts->disk_cache;
    if (on < 0) {
        const char *e = medcl_env("MEDCL_CACHE");
        on = !(e && (!strcmp(e, "off") || !strcmp(e, "0") || !strcmp(e, "false")));
    }
    if (!on) return;
    char dir[512];
    const char *d = opts->cache_dir ? opts->cache_dir : medcl_env("MEDCL_CACHE_DIR");
    if (d) {
        snprintf(dir, sizeof dir, "%s", d);
    } else if (medcl_env("XDG_CACHE_HOME")) {
        snprintf(dir, sizeof dir, "%s/medcl", medcl_env("XDG_CACHE_HOME"));
    } else if (medcl_env("HOME")) {
        snprintf(dir, sizeof dir, "%s/.cache/medcl", medcl_env("HOME"));
    } else {
        disable(ctx, "no MEDCL_CACHE_DIR, XDG_CACHE_HOME or HOME");
        return;
    }
    snprintf(ctx->cache.dir, sizeof ctx->cache.dir, "%s", dir);
    if (medcl_mkdir_p(dir) != MEDCL_OK) {
        char why[700];
        snprintf(why, sizeof why, "MEDCL_CACHE_DIR=%s: %s", dir, medcl_last_error());
        medcl_clear_error();
        disable(ctx, why);
        return;
    }
    /* Probe: can we create a file here? (Permission bits do not stop root; a read-only
     * mount or a full disk does.) */
    char probe[600];
    snprintf(probe, sizeof probe, "%s/.probe.%ld", dir, (long)getpid());
    FILE *f = fopen(probe, "wb");
    if (!f) {
        char why[700];
        snprintf(why, sizeof why, "MEDCL_CACHE_DIR=%s is not writable: %s", dir, strerror(errno));
        disable(ctx, why);
        return;
    }
    fclose(f);
    unlink(probe);
    ctx->cache.disk_enabled = true;
}

static void entry_path(const medcl_context *ctx, uint64_t hi, uint64_t lo, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%016llx%016llx.bin", ctx->cache.dir, (unsigned long long)hi,
             (unsigned long long)lo);
}

medcl_status medcl_cache_load(medcl_context *ctx, uint64_t hi, uint64_t lo, unsigned char **bin,
                              size_t *len) {
    *bin = NULL;
    *len = 0;
    if (!ctx->cache.disk_enabled) return MEDCL_ERR_NOT_FOUND;
    char path[700];
    entry_path(ctx, hi, lo, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0) return MEDCL_ERR_NOT_FOUND;
    void *data = NULL;
    size_t n = 0;
    if (medcl_file_read_all(path, ENTRY_MAX, &data, &n) != MEDCL_OK) {
        medcl_clear_error();
        return MEDCL_ERR_NOT_FOUND;
    }
    const unsigned char *payload = NULL;
    size_t pl = 0;
    if (medcl_cache_entry_decode(data, n, hi, lo, &payload, &pl) != MEDCL_OK) {
        medcl_log(MEDCL_LOG_WARN, "program cache: evicting damaged entry %s: %s", path,
                  medcl_last_error());
        medcl_clear_error();
        unlink(path);
        pthread_mutex_lock(&ctx->lock);
        ctx->cache.evictions++;
        pthread_mutex_unlock(&ctx->lock);
        free(data);
        return MEDCL_ERR_NOT_FOUND;
    }
    unsigned char *copy = malloc(pl ? pl : 1);
    if (!copy) {
        free(data);
        return MEDCL_ERR_NOT_FOUND;
    }
    memcpy(copy, payload, pl);
    free(data);
    *bin = copy;
    *len = pl;
    return MEDCL_OK;
}

void medcl_cache_store(medcl_context *ctx, uint64_t hi, uint64_t lo, const unsigned char *bin,
                       size_t len) {
    if (!ctx->cache.disk_enabled) return;
    unsigned char *entry = NULL;
    size_t n = 0;
    if (medcl_cache_entry_encode(hi, lo, bin, len, &entry, &n) != MEDCL_OK) {
        medcl_clear_error();
        return;
    }
    char path[700];
    entry_path(ctx, hi, lo, path, sizeof path);
    if (medcl_file_write_atomic(path, entry, n) != MEDCL_OK) {
        char why[900];
        snprintf(why, sizeof why, "%s", medcl_last_error());
        medcl_clear_error();
        pthread_mutex_lock(&ctx->lock);
        disable(ctx, why);
        pthread_mutex_unlock(&ctx->lock);
    } else {
        pthread_mutex_lock(&ctx->lock);
        ctx->cache.disk_writes++;
        pthread_mutex_unlock(&ctx->lock);
    }
    free(entry);
}
