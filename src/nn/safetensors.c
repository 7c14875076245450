/* src/nn/safetensors.c — the safetensors format (huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
 * {string: string}}, then the byte buffer. The writer produces the reference implementation's
 * bytes exactly (tensors by dtype, larger first, then name; metadata keys sorted — the
 * reference's own metadata order is a hash map's; compact JSON escaped as serde_json does;
 * header padded with spaces to a multiple of 8). The reader validates everything
 * RELIABILITY.md lists and reports every problem it finds, naming the file.
 * Leaves out: dtypes other than F32, I32 and U8 (rejected by name), big-endian hosts,
 * memory mapping. */
#include "core/internal.h"
#include "medcl/nn.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_MAX_PROBLEMS 16

/* ---------------------------------------------------------------- growable text buffer */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* JSON string as serde_json writes it: ", \ and control characters escaped (\b \f \n \r \t
 * short, others \u00xx), everything else (including non-ASCII UTF-8 and DEL) raw. */
static void sb_json_string(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        switch (*c) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\b': sb_put(b, "\\b", 2); break;
        case '\f': sb_put(b, "\\f", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default:
            if (*c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *c);
                sb_put(b, esc, 6);
            } else {
                sb_put(b, (const char *)c, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

/* ---------------------------------------------------------------- dtypes */
static const char *dtype_tag(medcl_dtype d) {
    switch (d) {
    case MEDCL_DTYPE_F32: return "F32";
    case MEDCL_DTYPE_I32: return "I32";
    case MEDCL_DTYPE_U8: return "U8";
    default: return NULL;
    }
}
/* Position in the reference's Dtype enum (sort key: larger first). */
static int dtype_rank(medcl_dtype d) {
    switch (d) {
    case MEDCL_DTYPE_F32: return 15;
    case MEDCL_DTYPE_I32: return 13;
    case MEDCL_DTYPE_U8: return 4;
    default: return -1;
    }
}
/* Every dtype the format defines, to tell "unsupported" from "unknown". */
static const char *const known_tags[] = {"BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2",
                                         "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16", "I32",
                                         "U32", "F32", "F64", "I64", "U64", "C64"};

static bool tensor_bytes(int ndim, const int64_t *shape, medcl_dtype dt, size_t *out) {
    size_t k = medcl_dtype_size(dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return false;
        if (!medcl_mul_size(k, (size_t)shape[i], &k)) return false;
    }
    *out = k;
    return true;
}

/* ---------------------------------------------------------------- writer */
static const medcl_st_tensor *sort_t;
static int cmp_tensor(const void *a, const void *b) {
    const medcl_st_tensor *x = &sort_t[*(const int *)a], *y = &sort_t[*(const int *)b];
    int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);
    if (rx != ry) return ry - rx;
    return strcmp(x->name, y->name);
}
static int cmp_name_only(const void *a, const void *b) {
    return strcmp(sort_t[*(const int *)a].name, sort_t[*(const int *)b].name);
}
static const medcl_st_meta *sort_m;
static int cmp_meta(const void *a, const void *b) {
    return strcmp(sort_m[*(const int *)a].key, sort_m[*(const int *)b].key);
}

medcl_status medcl_safetensors_serialize(const medcl_st_tensor *t, int n, const medcl_st_meta *meta,
                                         int nmeta, void **out, size_t *len) {
    medcl_status st = MEDCL_OK;
    sbuf h = {0};
    int *ot = NULL, *om = NULL;
    unsigned char *buf = NULL;
    if (!out || !len) return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors: out is NULL");
    *out = NULL;
    *len = 0;
    if (n < 0 || nmeta < 0 || (n && !t) || (nmeta && !meta))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors: %d tensors, %d metadata entries", n, nmeta);
    ot = malloc((size_t)(n ? n : 1) * sizeof *ot);
    om = malloc((size_t)(nmeta ? nmeta : 1) * sizeof *om);
    if (!ot || !om) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors: out of memory");
    for (int i = 0; i < n; i++) {
        const medcl_st_tensor *x = &t[i];
        size_t bytes;
        if (!x->name || !x->name[0] || !strcmp(x->name, "__metadata__"))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "safetensors: tensor %d has name %s", i,
                       x->name ? (x->name[0] ? x->name : "\"\"") : "NULL");
        if (!dtype_tag(x->dtype))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "safetensors: tensor %s dtype = %d", x->name, (int)x->dtype);
        if (x->ndim < 0 || x->ndim > MEDCL_ST_MAX_DIMS || !tensor_bytes(x->ndim, x->shape, x->dtype, &bytes))
            MEDCL_FAIL(MEDCL_ERR_SHAPE, "safetensors: tensor %s has a bad shape (ndim %d)", x->name, x->ndim);
        if (bytes != x->bytes || (bytes && !x->data))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "safetensors: tensor %s: %zu bytes given, shape needs %zu",
                       x->name, x->bytes, bytes);
        ot[i] = i;
    }
    sort_t = t;
    qsort(ot, (size_t)n, sizeof *ot, cmp_name_only);
    for (int i = 1; i < n; i++)
        if (!strcmp(t[ot[i]].name, t[ot[i - 1]].name))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "safetensors: tensor name %s used twice", t[ot[i]].name);
    qsort(ot, (size_t)n, sizeof *ot, cmp_tensor);
    for (int i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value)
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "safetensors: metadata entry %d has a NULL key or value", i);
        om[i] = i;
    }
    sort_m = meta;
    qsort(om, (size_t)nmeta, sizeof *om, cmp_meta);
    for (int i = 1; i < nmeta; i++)
        if (!strcmp(meta[om[i]].key, meta[om[i - 1]].key))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "safetensors: metadata key %s used twice", meta[om[i]].key);

    sb_str(&h, "{");
    bool first = true;
    if (nmeta) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_string(&h, meta[om[i]].key);
            sb_str(&h, ":");
            sb_json_string(&h, meta[om[i]].value);
        }
        sb_str(&h, "}");
        first = false;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        const medcl_st_tensor *x = &t[ot[i]];
        char num[64];
        if (!first) sb_str(&h, ",");
        first = false;
        sb_json_string(&h, x->name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, dtype_tag(x->dtype));
        sb_str(&h, "\",\"shape\":[");
        for (int d = 0; d < x->ndim; d++) {
            snprintf(num, sizeof num, d ? ",%lld" : "%lld", (long long)x->shape[d]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + x->bytes);
        sb_str(&h, num);
        off += x->bytes;
    }
    sb_str(&h, "}");
    while (!h.oom && h.n % 8) sb_str(&h, " ");
    if (h.oom) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors: out of memory for the header");
    size_t total = 8 + h.n + off;
    buf = malloc(total);
    if (!buf) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors: out of memory (%zu bytes)", total);
    uint64_t hl = h.n;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, h.p, h.n);
    size_t pos = 8 + h.n;
    for (int i = 0; i < n; i++) {
        const medcl_st_tensor *x = &t[ot[i]];
        if (x->bytes) memcpy(buf + pos, x->data, x->bytes);
        pos += x->bytes;
    }
    *out = buf;
    *len = total;
    buf = NULL;
cleanup:
    free(h.p);
    free(ot);
    free(om);
    free(buf);
    return st;
}

medcl_status medcl_safetensors_write(const char *path, const medcl_st_tensor *t, int n,
                                     const medcl_st_meta *meta, int nmeta) {
    void *data = NULL;
    size_t len = 0;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors write: path is NULL");
    medcl_status st = medcl_safetensors_serialize(t, n, meta, nmeta, &data, &len);
    if (st == MEDCL_OK) {
        st = medcl_file_write_atomic(path, data, len);
        if (st != MEDCL_OK) medcl_error_prefix("safetensors write %s", path);
    } else {
        medcl_error_prefix("safetensors write %s", path);
    }
    free(data);
    return st;
}

/* ---------------------------------------------------------------- reader */
struct medcl_safetensors {
    unsigned char *bytes;
    size_t len;
    medcl_st_tensor *t;
    int n;
    medcl_st_meta *meta;
    int nmeta;
};

void medcl_safetensors_close(medcl_safetensors *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) free((char *)f->t[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->t);
    free(f->meta);
    free(f->bytes);
    free(f);
}

typedef struct problems {
    sbuf text;
    int count;
} problems;

static void problem(problems *p, const char *fmt, ...) MEDCL_PRINTF(2, 3);
static void problem(problems *p, const char *fmt, ...) {
    p->count++;
    if (p->count > ST_MAX_PROBLEMS) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sb_str(&p->text, "\n  - ");
    sb_str(&p->text, line);
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static bool json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (!(v >= 0.0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v) return false;
    *out = (uint64_t)v;
    return true;
}

typedef struct span {
    uint64_t begin, end;
    int idx;
} span;
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}
static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

medcl_status medcl_safetensors_parse(const void *data, size_t len, const char *name,
                                     medcl_safetensors **out) {
    medcl_status st = MEDCL_OK;
    problems pr = {{0}, 0};
    cJSON *root = NULL;
    medcl_safetensors *f = NULL;
    span *spans = NULL;
    const char **names = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && len) return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors %s: data is NULL", name);
    const unsigned char *b = data;
    if (len < 8)
        return medcl_fail(MEDCL_ERR_FORMAT, "safetensors %s: file is %zu bytes, shorter than the 8-byte "
                          "header length", name, len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)b[i] << (8 * i);
    if (hl > ST_MAX_HEADER)
        return medcl_fail(MEDCL_ERR_FORMAT, "safetensors %s: header length %llu is above the limit of "
                          "%u bytes", name, (unsigned long long)hl, ST_MAX_HEADER);
    if (hl > len - 8)
        return medcl_fail(MEDCL_ERR_FORMAT, "safetensors %s: header length %llu goes beyond the file "
                          "(%zu bytes after the length field)", name, (unsigned long long)hl, len - 8);
    if (hl < 2 || b[8] != '{')
        return medcl_fail(MEDCL_ERR_FORMAT, "safetensors %s: the header does not start with '{'", name);
    const char *end_ptr = NULL;
    root = cJSON_ParseWithLengthOpts((const char *)b + 8, (size_t)hl, &end_ptr, false);
    if (!root || !cJSON_IsObject(root))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "safetensors %s: the header is not a JSON object (error near byte %lld)",
                   name, end_ptr ? (long long)(end_ptr - (const char *)b) : -1LL);
    for (const char *c = end_ptr; c && c < (const char *)b + 8 + hl; c++)
        if (*c != ' ')
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "safetensors %s: bytes other than spaces after the header JSON "
                       "(at byte %lld)", name, (long long)(c - (const char *)b));
    uint64_t data_len = (uint64_t)(len - 8 - hl);

    f = calloc(1, sizeof *f);
    if (!f) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
    int nkeys = cJSON_GetArraySize(root);
    f->t = calloc((size_t)(nkeys ? nkeys : 1), sizeof *f->t);
    spans = calloc((size_t)(nkeys ? nkeys : 1), sizeof *spans);
    names = calloc((size_t)(nkeys ? nkeys : 1), sizeof *names);
    if (!f->t || !spans || !names) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
    int nnames = 0, nmeta_objs = 0;
    for (cJSON *e = root->child; e; e = e->next) {
        const char *key = e->string ? e->string : "";
        names[nnames++] = key;
        if (!strcmp(key, "__metadata__")) {
            if (nmeta_objs++) continue; /* reported as a duplicate key */
            if (!cJSON_IsObject(e)) {
                problem(&pr, "__metadata__ is not an object");
                continue;
            }
            int nm = cJSON_GetArraySize(e);
            f->meta = calloc((size_t)(nm ? nm : 1), sizeof *f->meta);
            if (!f->meta) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
            for (cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m)) {
                    problem(&pr, "metadata %s: value is not a string", m->string ? m->string : "?");
                    continue;
                }
                f->meta[f->nmeta].key = strdup(m->string);
                f->meta[f->nmeta].value = strdup(m->valuestring);
                f->nmeta++;
                if (!f->meta[f->nmeta - 1].key || !f->meta[f->nmeta - 1].value)
                    MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
            }
            continue;
        }
        if (!key[0]) problem(&pr, "a tensor has an empty name");
        if (!cJSON_IsObject(e)) {
            problem(&pr, "tensor %s: entry is not an object", key);
            continue;
        }
        const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsString(jd) || !cJSON_IsArray(js) || !cJSON_IsArray(jo)) {
            problem(&pr, "tensor %s: needs dtype (string), shape (array) and data_offsets (array)", key);
            continue;
        }
        medcl_st_tensor *t = &f->t[f->n];
        bool ok = true;
        if (!strcmp(jd->valuestring, "F32")) t->dtype = MEDCL_DTYPE_F32;
        else if (!strcmp(jd->valuestring, "I32")) t->dtype = MEDCL_DTYPE_I32;
        else if (!strcmp(jd->valuestring, "U8")) t->dtype = MEDCL_DTYPE_U8;
        else {
            bool known = false;
            for (size_t k = 0; k < sizeof known_tags / sizeof known_tags[0]; k++)
                known |= !strcmp(known_tags[k], jd->valuestring);
            problem(&pr, "tensor %s: dtype %s is %s", key, jd->valuestring,
                    known ? "not supported by medcl (F32, I32, U8)" : "unknown");
            ok = false;
        }
        int nd = cJSON_GetArraySize(js);
        if (nd > MEDCL_ST_MAX_DIMS) {
            problem(&pr, "tensor %s: %d dimensions (at most %d)", key, nd, MEDCL_ST_MAX_DIMS);
            ok = false;
        } else {
            int d = 0;
            for (cJSON *x = js->child; x; x = x->next, d++) {
                uint64_t v;
                if (!json_uint(x, &v) || v > (uint64_t)INT64_MAX) {
                    problem(&pr, "tensor %s: shape[%d] is not a non-negative integer", key, d);
                    ok = false;
                    break;
                }
                t->shape[d] = (int64_t)v;
            }
            t->ndim = nd;
        }
        uint64_t ob = 0, oe = 0;
        if (cJSON_GetArraySize(jo) != 2 || !json_uint(jo->child, &ob) || !json_uint(jo->child->next, &oe)) {
            problem(&pr, "tensor %s: data_offsets is not two non-negative integers", key);
            ok = false;
        } else if (ob > oe) {
            problem(&pr, "tensor %s: data_offsets [%llu, %llu] run backwards", key, (unsigned long long)ob,
                    (unsigned long long)oe);
            ok = false;
        }
        size_t bytes = 0;
        if (ok && !tensor_bytes(t->ndim, t->shape, t->dtype, &bytes)) {
            problem(&pr, "tensor %s: shape x dtype size overflows", key);
            ok = false;
        }
        if (ok && oe - ob != bytes) {
            problem(&pr, "tensor %s: data_offsets [%llu, %llu] hold %llu bytes, shape x dtype needs %zu",
                    key, (unsigned long long)ob, (unsigned long long)oe,
                    (unsigned long long)(oe - ob), bytes);
            ok = false;
        }
        if (!ok) continue;
        t->name = strdup(key);
        if (!t->name) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
        t->bytes = bytes;
        spans[f->n] = (span){ob, oe, f->n};
        f->n++;
    }
    /* duplicate metadata keys, by sorting (a pairwise check was quadratic) */
    if (f->nmeta > 1) {
        const char **mk = calloc((size_t)f->nmeta, sizeof *mk);
        if (!mk) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
        for (int k = 0; k < f->nmeta; k++) mk[k] = f->meta[k].key;
        qsort(mk, (size_t)f->nmeta, sizeof *mk, cmp_names);
        for (int k = 1; k < f->nmeta; k++)
            if (!strcmp(mk[k], mk[k - 1]) && (k < 2 || strcmp(mk[k], mk[k - 2])))
                problem(&pr, "metadata key %s appears twice", mk[k]);
        free(mk);
    }
    /* duplicate keys (cJSON keeps them all) */
    qsort(names, (size_t)nnames, sizeof *names, cmp_names);
    for (int i = 1; i < nnames; i++)
        if (!strcmp(names[i], names[i - 1]) && (i < 2 || strcmp(names[i], names[i - 2])))
            problem(&pr, "key %s appears more than once", names[i]);
    /* offsets: sorted, they must tile [0, data_len) exactly */
    if (pr.count == 0) {
        qsort(spans, (size_t)f->n, sizeof *spans, cmp_span);
        uint64_t pos = 0;
        for (int i = 0; i < f->n; i++) {
            const span *s = &spans[i];
            if (s->begin < pos)
                problem(&pr, "tensor %s: data_offsets [%llu, %llu] overlap the previous tensor (ends at %llu)",
                        f->t[s->idx].name, (unsigned long long)s->begin, (unsigned long long)s->end,
                        (unsigned long long)pos);
            else if (s->begin > pos)
                problem(&pr, "gap of %llu bytes before tensor %s (data_offsets start at %llu, previous end %llu)",
                        (unsigned long long)(s->begin - pos), f->t[s->idx].name,
                        (unsigned long long)s->begin, (unsigned long long)pos);
            if (s->end > pos) pos = s->end;
        }
        if (pos > data_len)
            problem(&pr, "tensors need %llu data bytes, the file has %llu", (unsigned long long)pos,
                    (unsigned long long)data_len);
        else if (pos < data_len)
            problem(&pr, "%llu bytes after the last tensor are not covered by any tensor",
                    (unsigned long long)(data_len - pos));
    }
    if (pr.count) {
        if (pr.text.oom) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory", name);
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "safetensors %s: %d problem%s:%s%s", name, pr.count,
                   pr.count == 1 ? "" : "s", pr.text.p,
                   pr.count > ST_MAX_PROBLEMS ? "\n  - (more not shown)" : "");
    }
    f->bytes = malloc(len);
    if (!f->bytes) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "safetensors %s: out of memory (%zu bytes)", name, len);
    memcpy(f->bytes, data, len);
    f->len = len;
    /* spans were sorted by offset above: one pass (a search per tensor was quadratic, hours
     * for a 100 MB header of tiny tensors) */
    for (int k = 0; k < f->n; k++) f->t[spans[k].idx].data = f->bytes + 8 + hl + spans[k].begin;
    *out = f;
    f = NULL;
cleanup:
    free(pr.text.p);
    free(spans);
    free(names);
    cJSON_Delete(root);
    medcl_safetensors_close(f);
    return st;
}

medcl_status medcl_safetensors_read(const char *path, medcl_safetensors **out) {
    void *data = NULL;
    size_t n = 0;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors read: out is NULL");
    *out = NULL;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "safetensors read: path is NULL");
    /* 100 MB of header plus data: tensors are bounded by host memory, not by a format limit */
    medcl_status st = medcl_file_read_all(path, (size_t)1 << 40, &data, &n);
    if (st == MEDCL_OK) st = medcl_safetensors_parse(data, n, path, out);
    free(data);
    return st;
}

int medcl_safetensors_count(const medcl_safetensors *f) { return f ? f->n : 0; }
const medcl_st_tensor *medcl_safetensors_at(const medcl_safetensors *f, int i) {
    return f && i >= 0 && i < f->n ? &f->t[i] : NULL;
}
const medcl_st_tensor *medcl_safetensors_find(const medcl_safetensors *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}
int medcl_safetensors_meta_count(const medcl_safetensors *f) { return f ? f->nmeta : 0; }
const medcl_st_meta *medcl_safetensors_meta_at(const medcl_safetensors *f, int i) {
    return f && i >= 0 && i < f->nmeta ? &f->meta[i] : NULL;
}
const char *medcl_safetensors_meta(const medcl_safetensors *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}
