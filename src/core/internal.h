/* src/core/internal.h — helpers shared by every layer inside the library: error setting,
 * logging, small utilities. Not installed; not part of the public API. */
#ifndef MEDCL_CORE_INTERNAL_H
#define MEDCL_CORE_INTERNAL_H

#include "medcl/core.h"
#include <stdarg.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define MEDCL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MEDCL_PRINTF(a, b)
#endif

/* Sets this thread's last-error text and returns s. Usage:
 *   return medcl_fail(MEDCL_ERR_SHAPE, "conv: input D=%lld < kernel D=%d", ...); */
medcl_status medcl_fail(medcl_status s, const char *fmt, ...) MEDCL_PRINTF(2, 3);
/* Prefixes the current last-error text with "ctx: " (for adding file names on the way up). */
void medcl_error_prefix(const char *fmt, ...) MEDCL_PRINTF(1, 2);

void medcl_log(medcl_log_level level, const char *fmt, ...) MEDCL_PRINTF(2, 3);

/* Jump to `cleanup` with st set when the expression fails. Functions using these declare
 * `medcl_status st = MEDCL_OK;` and one `cleanup:` label. */
#define MEDCL_TRY(expr)                                                                    \
    do {                                                                                   \
        st = (expr);                                                                       \
        if (st != MEDCL_OK) goto cleanup;                                                  \
    } while (0)
#define MEDCL_FAIL(code, ...)                                                              \
    do {                                                                                   \
        st = medcl_fail((code), __VA_ARGS__);                                              \
        goto cleanup;                                                                      \
    } while (0)

/* Environment helpers: value or NULL when unset or empty. */
const char *medcl_env(const char *name);

/* Overflow-checked size arithmetic: returns false on overflow. */
bool medcl_mul_size(size_t a, size_t b, size_t *out);
bool medcl_mul_i64(int64_t a, int64_t b, int64_t *out);

/* Portable float math built from +, -, * only (no FMA contraction; compile with
 * -ffp-contract=off): bitwise identical to the same functions in cl/philox.cl. */
float medcl_pfloat_log(float x);
float medcl_pfloat_sqrt(float x);
void medcl_pfloat_sincos_2pi(float u, float *s, float *c);

/* Files: write atomically (temporary file in the same folder, fsync, rename, fsync folder). */
medcl_status medcl_file_write_atomic(const char *path, const void *data, size_t n);
/* Reads a whole file up to max_bytes; *out malloc'd. */
medcl_status medcl_file_read_all(const char *path, size_t max_bytes, void **out, size_t *n);
/* Creates the directory and its parents (mode 0777 & ~umask). */
medcl_status medcl_mkdir_p(const char *path);

#endif
