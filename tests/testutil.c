/* tests/testutil.c — see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

uint64_t tu_seed(void) {
    static uint64_t seed = 0;
    static int have = 0;
    if (!have) {
        const char *e = getenv("MEDCL_TEST_SEED");
        seed = e ? strtoull(e, NULL, 10) : ((uint64_t)time(NULL) * 2654435761u) ^ (uint64_t)getpid();
        have = 1;
        fprintf(stderr, "test seed: MEDCL_TEST_SEED=%llu\n", (unsigned long long)seed);
    }
    return seed;
}

tu_rng tu_rng_make(uint64_t seed) {
    tu_rng r = {seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL};
    if (!r.s) r.s = 1;
    return r;
}

static uint64_t next64(tu_rng *r) {
    uint64_t x = r->s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double tu_uniform(tu_rng *r) { return (double)(next64(r) >> 11) * (1.0 / 9007199254740992.0); }

double tu_normal(tu_rng *r) {
    double u = tu_uniform(r), v = tu_uniform(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

int tu_int(tu_rng *r, int lo, int hi) { return lo + (int)(next64(r) % (uint64_t)(hi - lo + 1)); }

void tu_fill_normal(tu_rng *r, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_normal(r);
}

void tu_fill_int(tu_rng *r, float *x, size_t n, int lo, int hi) {
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_int(r, lo, hi);
}

double tu_nrms(const float *a, const double *b, size_t n) {
    double s = 0, ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
        if (fabs(a[i]) > ma) ma = fabs(a[i]);
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    double m = ma > mb ? ma : mb;
    if (isnan(s)) return INFINITY;
    if (m == 0) return 0;
    return sqrt(s) / (sqrt((double)n) * m);
}

double tu_nrms_ff(const float *a, const float *b, size_t n) {
    double s = 0, ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
        if (fabs(a[i]) > ma) ma = fabs(a[i]);
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    double m = ma > mb ? ma : mb;
    if (isnan(s)) return INFINITY;
    if (m == 0) return 0;
    return sqrt(s) / (sqrt((double)n) * m);
}

double tu_max_abs_diff(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (isnan(d)) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

double tu_zero_fraction(const float *a, size_t n) {
    size_t z = 0;
    for (size_t i = 0; i < n; i++) z += a[i] == 0.0f;
    return n ? (double)z / (double)n : 1.0;
}

const char *tu_tmpdir(char *buf, size_t cap, const char *tag) {
    const char *base = getenv("MEDCL_TEST_TMP");
    if (!base) base = "/tmp";
    mkdir(base, 0777);
    snprintf(buf, cap, "%s/%s-%ld-XXXXXX", base, tag, (long)getpid());
    if (!mkdtemp(buf)) return NULL;
    return buf;
}

/* ---- device helpers ---- */
#include <cmocka.h>
#include <setjmp.h>
#include <stdarg.h>

static medcl_context *g_ctx = NULL;

int td_group_setup(void **state) {
    (void)state;
    medcl_status st = medcl_context_create(NULL, &g_ctx);
    if (st != MEDCL_OK) {
        fprintf(stderr, "no device: %s\n", medcl_last_error());
        return -1;
    }
    fprintf(stderr, "device: %s\n", medcl_context_device(g_ctx)->name);
    return 0;
}

int td_group_teardown(void **state) {
    (void)state;
    medcl_context_destroy(g_ctx);
    g_ctx = NULL;
    return 0;
}

medcl_context *td_ctx(void) { return g_ctx; }

void td_poison(medcl_tensor *t) {
    medcl_status st = medcl_fill(t, NAN);
    if (st != MEDCL_OK) fail_msg("poison %s: %s", medcl_tensor_name(t), medcl_last_error());
}

medcl_tensor *td_tensor(int ndim, const int64_t *shape, const float *data, const char *name) {
    medcl_tensor *t = NULL;
    medcl_status st = medcl_tensor_create_f32(g_ctx, name, ndim, shape, &t);
    if (st != MEDCL_OK) fail_msg("create %s: %s", name, medcl_last_error());
    if (data) {
        st = medcl_tensor_upload(t, data, medcl_tensor_bytes(t));
        if (st != MEDCL_OK) fail_msg("upload %s: %s", name, medcl_last_error());
    } else {
        td_poison(t);
    }
    return t;
}

float *td_download(const medcl_tensor *t) {
    float *h = malloc(medcl_tensor_bytes(t) ? medcl_tensor_bytes(t) : 1);
    if (!h) fail_msg("out of memory");
    medcl_status st = medcl_tensor_download(t, h, medcl_tensor_bytes(t));
    if (st != MEDCL_OK) fail_msg("download %s: %s", medcl_tensor_name(t), medcl_last_error());
    return h;
}

/* ---- a tiny XML well-formedness checker ---- */

static int is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == ':' || c == '.';
}

/* At p (just after '&'): a valid entity reference? Returns its length after '&' or 0. */
static size_t entity_len(const char *p) {
    static const char *const named[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
    for (int i = 0; i < 5; i++)
        if (!strncmp(p, named[i], strlen(named[i]))) return strlen(named[i]);
    if (p[0] == '#') {
        size_t i = 1;
        if (p[1] == 'x') i++;
        size_t s = i;
        while (p[i] && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F')))
            i++;
        if (i > s && p[i] == ';') return i + 1;
    }
    return 0;
}

/* Returns NULL when well-formed, else a static message. counts elements into *elements. */
const char *tu_xml_check(const char *s, int *elements) {
    static char msg[256];
    char stack[64][32];
    int depth = 0, roots = 0;
    *elements = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p) return "unterminated XML declaration";
        p += 2;
    }
    while (*p) {
        if (*p == '<') {
            if (p[1] == '/') {
                p += 2;
                const char *n = p;
                while (is_name_char(*p)) p++;
                size_t len = (size_t)(p - n);
                while (*p == ' ' || *p == '\n') p++;
                if (*p != '>') return "bad end tag";
                p++;
                if (depth == 0) return "end tag without start";
                depth--;
                if (strlen(stack[depth]) != len || strncmp(stack[depth], n, len)) {
                    snprintf(msg, sizeof msg, "end tag </%.*s> closes <%s>", (int)len, n, stack[depth]);
                    return msg;
                }
                continue;
            }
            if (p[1] == '!' || p[1] == '?') return "comment, doctype or PI inside the document";
            p++;
            const char *n = p;
            while (is_name_char(*p)) p++;
            size_t len = (size_t)(p - n);
            if (len == 0 || len >= 32) return "bad element name";
            if (depth == 0 && ++roots > 1) return "more than one root element";
            if (depth == 0 && strncmp(n, "svg", len)) return "root is not svg";
            (*elements)++;
            char attrs[64][32];
            int na = 0;
            for (;;) {
                int ws = 0;
                while (*p == ' ' || *p == '\n' || *p == '\t') p++, ws++;
                if (*p == '>' || (*p == '/' && p[1] == '>')) break;
                if (!ws) return "attributes not separated by white space";
                const char *an = p;
                while (is_name_char(*p)) p++;
                size_t al = (size_t)(p - an);
                if (al == 0 || al >= 32) return "bad attribute name";
                for (int i = 0; i < na; i++)
                    if (strlen(attrs[i]) == al && !strncmp(attrs[i], an, al)) return "duplicate attribute";
                if (na < 64) {
                    memcpy(attrs[na], an, al);
                    attrs[na++][al] = 0;
                }
                if (*p++ != '=') return "attribute without '='";
                char q = *p++;
                if (q != '"' && q != '\'') return "unquoted attribute value";
                while (*p && *p != q) {
                    if (*p == '<') return "'<' in an attribute value";
                    if (*p == '&') {
                        size_t e = entity_len(p + 1);
                        if (!e) return "bad entity in an attribute value";
                        p += e;
                    }
                    p++;
                }
                if (!*p) return "unterminated attribute value";
                p++;
            }
            if (*p == '/') {
                p += 2; /* empty element */
            } else {
                p++;
                if (depth >= 64) return "too deep";
                memcpy(stack[depth], n, len);
                stack[depth++][len] = 0;
            }
            continue;
        }
        if (*p == '&') {
            size_t e = entity_len(p + 1);
            if (!e) return "bad entity in text";
            p += e + 1;
            continue;
        }
        if (*p == '>') return "raw '>' in text";
        if (depth == 0 && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') return "text outside the root";
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') return "control character";
        p++;
    }
    if (depth != 0) return "unclosed element";
    if (roots != 1) return "no root element";
    return NULL;
}


/* ---- comparison helpers shared by the op tests ---- */
double *tu_to_double(const float *a, size_t n) {
    double *d = malloc(sizeof(double) * (n ? n : 1));
    if (!d) fail_msg("out of memory");
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

void tu_fill_nonzero_int(tu_rng *r, float *x, size_t n, int hi) {
    for (size_t i = 0; i < n; i++) {
        int v = tu_int(r, 1, hi);
        x[i] = (float)(tu_int(r, 0, 1) ? v : -v);
    }
}

void tu_expect_exact(const float *got, const double *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++) {
        float w = (float)want[i];
        if (memcmp(&got[i], &w, sizeof w) != 0)
            fail_msg("%s: element %zu = %.9g, expected %.9g", what, i, got[i], w);
    }
}

void tu_expect_close(const float *got, const double *want, size_t n, double tol, double elem_tol,
                     const char *what) {
    double e = tu_nrms(got, want, n), m = tu_max_abs_diff(got, want, n);
    print_message("  %-40s nrms %.2e  max|d| %.2e  (n = %zu)\n", what, e, m, n);
    assert_true(tu_zero_fraction(got, n) < 0.8);
    if (!(e <= tol)) fail_msg("%s: nrms %.3e > %.1e", what, e, tol);
    if (!(m <= elem_tol)) fail_msg("%s: max abs diff %.3e > %.1e", what, m, elem_tol);
}

void tu_expect_close_terms(const float *got, const double *want, const double *abssum, size_t n,
                           double tol, const char *what) {
    double e = tu_nrms(got, want, n), m = tu_max_abs_diff(got, want, n), rel = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / (abssum[i] > 0 ? abssum[i] : 1);
        rel = isnan(d) ? INFINITY : fmax(rel, d);
    }
    print_message("  %-40s nrms %.2e  max|d| %.2e  max|d|/sum|terms| %.2e  (n = %zu)\n", what, e, m,
                  rel, n);
    if (n >= 8) {
        assert_true(tu_zero_fraction(got, n) < 0.8);
        if (!(e <= tol)) fail_msg("%s: nrms %.3e > %.1e", what, e, tol);
    }
    if (!(rel <= tol)) fail_msg("%s: max |d| / sum |terms| = %.3e > %.1e", what, rel, tol);
}
