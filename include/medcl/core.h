/* medcl/core.h — status codes, last-error text, logging, version, hashing and the
 * Philox-4x32-10 counter-based RNG (host twin of cl/philox.cl).
 * Plain C, no OpenCL types. Everything here is thread-safe; the last error is per thread. */
#ifndef MEDCL_CORE_H
#define MEDCL_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MEDCL_BUILDING) && defined(__GNUC__)
#define MEDCL_API __attribute__((visibility("default")))
#else
#define MEDCL_API
#endif

#define MEDCL_VERSION_MAJOR 0
#define MEDCL_VERSION_MINOR 1
#define MEDCL_VERSION_PATCH 0
#define MEDCL_VERSION_STRING "0.1.0"

/* Every fallible call returns one of these; detail is in medcl_last_error(). Append-only. */
typedef enum medcl_status {
    MEDCL_OK = 0,
    MEDCL_ERR_INVALID_ARG = 1,   /* a caller passed a bad value */
    MEDCL_ERR_OUT_OF_MEMORY = 2, /* host or device allocation failed or would exceed a limit */
    MEDCL_ERR_IO = 3,            /* a file could not be opened, read or written */
    MEDCL_ERR_FORMAT = 4,        /* a file or document is malformed */
    MEDCL_ERR_SHAPE = 5,         /* tensor shapes do not fit the operation */
    MEDCL_ERR_DEVICE = 6,        /* an OpenCL call failed */
    MEDCL_ERR_BUILD = 7,         /* a kernel program failed to build */
    MEDCL_ERR_NOT_FOUND = 8,     /* no device, kernel, file or key of that name */
    MEDCL_ERR_UNSUPPORTED = 9,   /* valid request this build or device cannot do */
    MEDCL_ERR_NUMERIC = 10,      /* NaN/Inf where a finite value is required */
    MEDCL_ERR_INTERRUPTED = 11,  /* stopped by a signal or a callback */
    MEDCL_ERR_STATE = 12,        /* object unusable (e.g. context after a device fault) */
    MEDCL_STATUS_COUNT
} medcl_status;

MEDCL_API const char *medcl_status_str(medcl_status s);
/* Text of the last error on this thread ("" when none). Valid until the next medcl call. */
MEDCL_API const char *medcl_last_error(void);
MEDCL_API void medcl_clear_error(void);

/* Library version at run time, e.g. "0.1.0". */
MEDCL_API const char *medcl_version(void);

/* Seconds on a monotonic clock (CLOCK_MONOTONIC): for intervals, never wall time. */
MEDCL_API double medcl_now(void);

/* Logging. Levels are append-only. The default sink writes to stderr at or above the level
 * from MEDCL_LOG_LEVEL (error, warn, info, debug; default warn). Errors returned to the caller
 * are never logged by the library as well. */
typedef enum medcl_log_level {
    MEDCL_LOG_ERROR = 0,
    MEDCL_LOG_WARN = 1,
    MEDCL_LOG_INFO = 2,
    MEDCL_LOG_DEBUG = 3,
    MEDCL_LOG_LEVEL_COUNT
} medcl_log_level;
typedef void (*medcl_log_fn)(medcl_log_level level, const char *message, void *user);
/* fn NULL restores the default sink. */
MEDCL_API void medcl_log_set_callback(medcl_log_fn fn, void *user);
MEDCL_API void medcl_log_set_level(medcl_log_level level);
MEDCL_API medcl_log_level medcl_log_get_level(void);

/* 64-bit FNV-1a, chainable: h = medcl_hash64(data, n, h). Start with MEDCL_HASH64_INIT. */
#define MEDCL_HASH64_INIT 0xcbf29ce484222325ULL
MEDCL_API uint64_t medcl_hash64(const void *data, size_t n, uint64_t h);

/* Philox-4x32-10 (Salmon et al., SC'11). The same function is in cl/philox.cl.
 * Key = (seed low 32, seed high 32) mixed with stream; counter = 128-bit. */
typedef struct medcl_philox_key { uint32_t k[2]; } medcl_philox_key;
typedef struct medcl_philox_ctr { uint32_t c[4]; } medcl_philox_ctr;
MEDCL_API medcl_philox_ctr medcl_philox4x32_10(medcl_philox_ctr ctr, medcl_philox_key key);
/* Key for (seed, stream): k0 = lo32(seed), k1 = hi32(seed) ^ (stream * 0x9E3779B9). */
MEDCL_API medcl_philox_key medcl_philox_make_key(uint64_t seed, uint32_t stream);
/* Four uniform floats in (0, 1] from one 32-bit draw each: (u + 1) * 2^-32 rounded to float,
 * computed as ((u >> 8) + 1) * 2^-24 so it is exact in float. */
MEDCL_API float medcl_philox_u01(uint32_t u);
/* Normal draws by Box–Muller from two uniforms; returns two values. */
MEDCL_API void medcl_philox_normal2(uint32_t u0, uint32_t u1, float *z0, float *z1);
/* Element i of the stream (seed, stream): counter = (i/4 lo, i/4 hi, c2, c3) with c2, c3 as
 * the caller's extra key words (e.g. step, sample); returns lane i%4. */
MEDCL_API uint32_t medcl_philox_at(uint64_t seed, uint32_t stream, uint32_t c2, uint32_t c3,
                                   uint64_t i);
/* Fills n uniform (0,1] floats: element i = u01(philox_at(seed, stream, c2, c3, i)). */
MEDCL_API void medcl_philox_fill_uniform(uint64_t seed, uint32_t stream, uint32_t c2,
                                         uint32_t c3, float *out, size_t n);
/* Fills n N(0,1) floats: elements 2j, 2j+1 from Box–Muller of draws 2j, 2j+1. */
MEDCL_API void medcl_philox_fill_normal(uint64_t seed, uint32_t stream, uint32_t c2,
                                        uint32_t c3, float *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
