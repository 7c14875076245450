/* src/runtime/program.c — kernel sources (embedded at build time or read from MEDCL_CL_DIR),
 * program keys, building with the device's build log on failure, and the in-memory program
 * and kernel caches. The on-disk cache is in cache.c, kernel bundles in bundle.c. */
#include "runtime_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; const char *text; size_t len; } medcl_cl_source;
extern const medcl_cl_source medcl_cl_sources[];
extern const int medcl_cl_source_count;

static medcl_status load_one(medcl_context *ctx, const char *program, char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    for (const char *p = program; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "program name \"%s\" has a character "
                              "outside [a-z0-9_]", program);
    if (ctx->cl_dir) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.cl", ctx->cl_dir, program);
        void *buf = NULL;
        size_t n = 0;
        medcl_status st = medcl_file_read_all(path, 16u << 20, &buf, &n);
        if (st != MEDCL_OK) {
            medcl_error_prefix("MEDCL_CL_DIR");
            return st;
        }
        char *t = realloc(buf, n + 1);
        if (!t) {
            free(buf);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        }
        t[n] = '\0';
        *text = t;
        *len = n;
        return MEDCL_OK;
    }
    for (int i = 0; i < medcl_cl_source_count; i++) {
        if (!strcmp(medcl_cl_sources[i].name, program)) {
            char *t = malloc(medcl_cl_sources[i].len + 1);
            if (!t) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "program %s: out of memory", program);
            memcpy(t, medcl_cl_sources[i].text, medcl_cl_sources[i].len);
            t[medcl_cl_sources[i].len] = '\0';
            *text = t;
            *len = medcl_cl_sources[i].len;
            return MEDCL_OK;
        }
    }
    return medcl_fail(MEDCL_ERR_NOT_FOUND, "no kernel program named \"%s\" in cl/", program);
}

/* A program may start with a line "//! requires: a b" naming programs whose text is
 * prepended (shared helpers such as philox). One level deep is enough for our kernels. */
medcl_status medcl_program_source(medcl_context *ctx, const char *program, char **text,
                                  size_t *len) {
    char *main_text = NULL;
    size_t main_len = 0;
    medcl_status st = load_one(ctx, program, &main_text, &main_len);
    if (st != MEDCL_OK) return st;
    const char *req = strstr(main_text, "//! requires:");
    if (!req) {
        *text = main_text;
        *len = main_len;
        return MEDCL_OK;
    }
    req += strlen("//! requires:");
    const char *eol = strchr(req, '\n');
    size_t rl = eol ? (size_t)(eol - req) : strlen(req);
    char names[256];
    if (rl >= sizeof names) rl = sizeof names - 1;
    memcpy(names, req, rl);
    names[rl] = '\0';
    char *out = NULL;
    size_t out_len = 0;
    char *save = NULL;
    for (char *tok = strtok_r(names, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        char *dep = NULL;
        size_t dl = 0;
        st = load_one(ctx, tok, &dep, &dl);
        if (st != MEDCL_OK) {
            medcl_error_prefix("program %s requires %s", program, tok);
            free(out);
            free(main_text);
            return st;
        }
        char *grown = realloc(out, out_len + dl + 2);
        if (!grown) {
            free(dep);
            free(out);
            free(main_text);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "program %s: out of memory", program);
        }
        out = grown;
        memcpy(out + out_len, dep, dl);
        out_len += dl;
        out[out_len++] = '\n';
        out[out_len] = '\0';
        free(dep);
    }
    char *grown = realloc(out, out_len + main_len + 1);
    if (!grown) {
        free(out);
        free(main_text);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "program %s: out of memory", program);
    }
    out = grown;
    memcpy(out + out_len, main_text, main_len + 1);
    out_len += main_len;
    free(main_text);
    *text = out;
    *len = out_len;
    return MEDCL_OK;
}

void medcl_program_key(const medcl_context *ctx, const char *src, size_t len,
                       const char *defines, uint64_t *hi, uint64_t *lo) {
    const char *parts[] = {defines ? defines : "", ctx->build_options, ctx->info.platform,
                           ctx->info.name, ctx->info.version, ctx->info.driver,
                           MEDCL_VERSION_STRING};
    uint64_t a = medcl_hash64(src, len, MEDCL_HASH64_INIT);
    uint64_t b = medcl_hash64(src, len, 0x84222325cbf29ce4ULL);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t n = strlen(parts[i]) + 1; /* include the NUL as a separator */
        a = medcl_hash64(parts[i], n, a);
        b = medcl_hash64(parts[i], n, b ^ (uint64_t)i);
    }
    *hi = a;
    *lo = b;
}

static medcl_status build_log_fail(medcl_context *ctx, cl_program prog, const char *program,
                                   const char *defines, cl_int err) {
    size_t n = 0;
    clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = malloc(n + 1);
    if (log) {
        if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) !=
            CL_SUCCESS)
            n = 0;
        log[n] = '\0';
    }
    medcl_status st = medcl_fail(MEDCL_ERR_BUILD, "building program %s [%s] for %s: %s (%d); build log:\n%s",
                                 program, defines ? defines : "", ctx->info.name,
                                 medcl_cl_error_name(err), (int)err, log ? log : "(unavailable)");
    free(log);
    return st;
}

medcl_status medcl_program_binary(cl_program prog, cl_device_id dev, unsigned char **bin,
                                  size_t *len) {
    medcl_status st = MEDCL_OK;
    size_t sz = 0;
    *bin = NULL;
    *len = 0;
    (void)dev;
    MEDCL_CL(clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof sz, &sz, NULL));
    if (sz == 0) MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED, "the driver returned an empty program binary");
    unsigned char *b = malloc(sz);
    if (!b) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "program binary: out of memory");
    unsigned char *ptrs[1] = {b};
    cl_int err = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof ptrs, ptrs, NULL);
    if (err != CL_SUCCESS) {
        free(b);
        MEDCL_CL(err);
    }
    *bin = b;
    *len = sz;
cleanup:
    return st;
}

static medcl_status from_binary(medcl_context *ctx, const unsigned char *bin, size_t len,
                                const char *opts, cl_program *out) {
    cl_int err = CL_SUCCESS, bstatus = CL_SUCCESS;
    cl_program p = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, &bin, &bstatus, &err);
    if (err != CL_SUCCESS || bstatus != CL_SUCCESS || !p) {
        if (p) clReleaseProgram(p);
        return medcl_fail(MEDCL_ERR_FORMAT, "program binary rejected by the driver: %s",
                          medcl_cl_error_name(err != CL_SUCCESS ? err : bstatus));
    }
    err = clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(p);
        return medcl_fail(MEDCL_ERR_FORMAT, "program binary failed to build: %s",
                          medcl_cl_error_name(err));
    }
    *out = p;
    return MEDCL_OK;
}

static medcl_status build_new(medcl_context *ctx, const char *program, const char *defines,
                              cl_program *out) {
    medcl_status st = MEDCL_OK;
    char *src = NULL;
    size_t len = 0;
    cl_program p = NULL;
    unsigned char *bin = NULL;
    size_t bin_len = 0;
    char opts[1024];
    *out = NULL;
    MEDCL_TRY(medcl_program_source(ctx, program, &src, &len));
    snprintf(opts, sizeof opts, "%s %s", ctx->build_options, defines ? defines : "");
    uint64_t hi, lo;
    medcl_program_key(ctx, src, len, defines, &hi, &lo);

    if (ctx->bundle) {
        MEDCL_TRY(medcl_bundle_load(ctx, program, defines, hi, lo, &bin, &bin_len));
        st = from_binary(ctx, bin, bin_len, opts, &p);
        if (st != MEDCL_OK) {
            medcl_error_prefix("kernel bundle: program %s [%s]", program, defines ? defines : "");
            goto cleanup;
        }
        pthread_mutex_lock(&ctx->lock);
        ctx->cache.disk_hits++;
        pthread_mutex_unlock(&ctx->lock);
        goto done;
    }
    if (medcl_cache_load(ctx, hi, lo, &bin, &bin_len) == MEDCL_OK) {
        if (from_binary(ctx, bin, bin_len, opts, &p) == MEDCL_OK) {
            pthread_mutex_lock(&ctx->lock);
            ctx->cache.disk_hits++;
            pthread_mutex_unlock(&ctx->lock);
            goto done;
        }
        /* a binary the driver refuses is as good as damaged */
        medcl_log(MEDCL_LOG_WARN, "program cache: entry for %s rejected by the driver; rebuilding",
                  program);
        pthread_mutex_lock(&ctx->lock);
        ctx->cache.evictions++;
        pthread_mutex_unlock(&ctx->lock);
    }
    free(bin);
    bin = NULL;
    cl_int err = CL_SUCCESS;
    const char *srcs[1] = {src};
    p = clCreateProgramWithSource(ctx->cl, 1, srcs, &len, &err);
    MEDCL_CL(err);
    err = clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        st = build_log_fail(ctx, p, program, defines, err);
        goto cleanup;
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->cache.misses++;
    pthread_mutex_unlock(&ctx->lock);
    if (ctx->cache.disk_enabled && medcl_program_binary(p, ctx->device, &bin, &bin_len) == MEDCL_OK)
        medcl_cache_store(ctx, hi, lo, bin, bin_len);
    medcl_clear_error();
done:;
    medcl_prog_entry *e = calloc(1, sizeof *e);
    if (!e) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "program %s: out of memory", program);
    e->key_hi = hi;
    e->key_lo = lo;
    e->program = strdup(program);
    e->defines = strdup(defines ? defines : "");
    e->prog = p;
    pthread_mutex_lock(&ctx->lock);
    e->next = ctx->programs;
    ctx->programs = e;
    pthread_mutex_unlock(&ctx->lock);
    *out = p;
    p = NULL;
cleanup:
    if (p) clReleaseProgram(p);
    free(src);
    free(bin);
    return st;
}

medcl_status medcl_program_get(medcl_context *ctx, const char *program, const char *defines,
                               cl_program *out) {
    medcl_status st = medcl_context_check(ctx);
    if (st != MEDCL_OK) return st;
    if (!defines) defines = "";
    pthread_mutex_lock(&ctx->lock);
    for (medcl_prog_entry *e = ctx->programs; e; e = e->next) {
        if (!strcmp(e->program, program) && !strcmp(e->defines, defines)) {
            ctx->cache.memory_hits++;
            *out = e->prog;
            pthread_mutex_unlock(&ctx->lock);
            return MEDCL_OK;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return build_new(ctx, program, defines, out);
}

medcl_status medcl_context_build_program(medcl_context *ctx, const char *program,
                                         const char *defines) {
    cl_program p;
    return medcl_program_get(ctx, program, defines, &p);
}

medcl_status medcl_kernel_get(medcl_context *ctx, const char *program, const char *defines,
                              const char *kernel, cl_kernel *out) {
    cl_program p = NULL;
    medcl_status st = medcl_program_get(ctx, program, defines, &p);
    if (st != MEDCL_OK) return st;
    pthread_mutex_lock(&ctx->lock);
    for (medcl_kernel_entry *k = ctx->kernels; k; k = k->next) {
        if (k->prog == p && !strcmp(k->name, kernel)) {
            *out = k->kernel;
            pthread_mutex_unlock(&ctx->lock);
            return MEDCL_OK;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(p, kernel, &err);
    if (err != CL_SUCCESS)
        return medcl_fail(MEDCL_ERR_NOT_FOUND, "kernel %s in program %s [%s]: %s", kernel,
                          program, defines, medcl_cl_error_name(err));
    medcl_kernel_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->name = strdup(kernel))) {
        free(e);
        clReleaseKernel(k);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "kernel %s: out of memory", kernel);
    }
    e->prog = p;
    e->kernel = k;
    pthread_mutex_lock(&ctx->lock);
    e->next = ctx->kernels;
    ctx->kernels = e;
    pthread_mutex_unlock(&ctx->lock);
    *out = k;
    return MEDCL_OK;
}
