/* src/core/status.c — status names, the thread-local last-error text, logging and the
 * environment helpers. The library never prints errors it returns; only warnings and
 * debug messages go through the log sink. */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEDCL_ERROR_CAP 4096

static _Thread_local char tl_error[MEDCL_ERROR_CAP];

const char *medcl_status_str(medcl_status s) {
    switch (s) {
    case MEDCL_OK: return "ok";
    case MEDCL_ERR_INVALID_ARG: return "invalid argument";
    case MEDCL_ERR_OUT_OF_MEMORY: return "out of memory";
    case MEDCL_ERR_IO: return "input/output error";
    case MEDCL_ERR_FORMAT: return "malformed data";
    case MEDCL_ERR_SHAPE: return "shape mismatch";
    case MEDCL_ERR_DEVICE: return "device error";
    case MEDCL_ERR_BUILD: return "kernel build failed";
    case MEDCL_ERR_NOT_FOUND: return "not found";
    case MEDCL_ERR_UNSUPPORTED: return "unsupported";
    case MEDCL_ERR_NUMERIC: return "non-finite value";
    case MEDCL_ERR_INTERRUPTED: return "interrupted";
    case MEDCL_ERR_STATE: return "object unusable";
    case MEDCL_STATUS_COUNT: break;
    }
    return "unknown status";
}

const char *medcl_last_error(void) { return tl_error; }
void medcl_clear_error(void) { tl_error[0] = '\0'; }

medcl_status medcl_fail(medcl_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_error, sizeof tl_error, fmt, ap);
    va_end(ap);
    return s;
}

void medcl_error_prefix(const char *fmt, ...) {
    char prefix[1024];
    char old[MEDCL_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tl_error, sizeof old);
    size_t pl = strlen(prefix);
    if (pl > sizeof tl_error - 3) pl = sizeof tl_error - 3;
    memcpy(tl_error, prefix, pl);
    tl_error[pl] = ':';
    tl_error[pl + 1] = ' ';
    size_t room = sizeof tl_error - pl - 3;
    size_t ol = strnlen(old, room);
    memcpy(tl_error + pl + 2, old, ol);
    tl_error[pl + 2 + ol] = '\0';
}

const char *medcl_version(void) { return MEDCL_VERSION_STRING; }

const char *medcl_env(const char *name) {
    const char *v = getenv(name);
    return (v && v[0]) ? v : NULL;
}

bool medcl_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

bool medcl_mul_i64(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return false;
    if (a != 0 && b > INT64_MAX / a) return false;
    *out = a * b;
    return true;
}

/* ---- logging ---- */
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static medcl_log_fn log_fn = NULL;
static void *log_user = NULL;
static int log_level = -1; /* -1: read MEDCL_LOG_LEVEL on first use */

static int level_from_env(void) {
    const char *v = medcl_env("MEDCL_LOG_LEVEL");
    if (!v) return MEDCL_LOG_WARN;
    if (!strcmp(v, "error") || !strcmp(v, "0")) return MEDCL_LOG_ERROR;
    if (!strcmp(v, "warn") || !strcmp(v, "warning") || !strcmp(v, "1")) return MEDCL_LOG_WARN;
    if (!strcmp(v, "info") || !strcmp(v, "2")) return MEDCL_LOG_INFO;
    if (!strcmp(v, "debug") || !strcmp(v, "3")) return MEDCL_LOG_DEBUG;
    return MEDCL_LOG_WARN;
}

void medcl_log_set_callback(medcl_log_fn fn, void *user) {
    pthread_mutex_lock(&log_mutex);
    log_fn = fn;
    log_user = user;
    pthread_mutex_unlock(&log_mutex);
}

void medcl_log_set_level(medcl_log_level level) {
    pthread_mutex_lock(&log_mutex);
    log_level = (int)level;
    pthread_mutex_unlock(&log_mutex);
}

medcl_log_level medcl_log_get_level(void) {
    pthread_mutex_lock(&log_mutex);
    if (log_level < 0) log_level = level_from_env();
    int l = log_level;
    pthread_mutex_unlock(&log_mutex);
    return (medcl_log_level)l;
}

void medcl_log(medcl_log_level level, const char *fmt, ...) {
    if ((int)level > (int)medcl_log_get_level()) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_mutex);
    medcl_log_fn fn = log_fn;
    void *user = log_user;
    pthread_mutex_unlock(&log_mutex);
    if (fn) {
        fn(level, msg, user);
    } else {
        static const char *names[] = {"error", "warning", "info", "debug"};
        fprintf(stderr, "medcl: %s: %s\n", names[level], msg);
    }
}

uint64_t medcl_hash64(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

double medcl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
