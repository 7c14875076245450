/* src/nn/replay.c — the experience-replay buffer: per finished domain, a seeded Philox-keyed
 * selection of case indices (see medcl/continual.h for the rule), composition queries, and
 * JSON serialization for checkpoints with path-naming validation on load.
 * Leaves out: loading the replayed cases (the data layer maps indices to files) and how
 * replayed and current cases are mixed in a batch (the training loop samples from the union). */
#include "medcl/continual.h"
#include "core/internal.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct replay_domain {
    char *name;
    int64_t cases, kept;
    int64_t *idx;
} replay_domain;

struct medcl_replay {
    medcl_replay_config cfg;
    replay_domain *d;
    int n, cap;
};

static medcl_status config_check(const medcl_replay_config *c) {
    if (c->size != sizeof *c)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "replay: config size %zu, expected %zu (initialize "
                          "with MEDCL_REPLAY_CONFIG_INIT)", c->size, sizeof *c);
    if (!(c->fraction >= 0.0 && c->fraction <= 1.0))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "replay: fraction = %g, must be in [0, 1]", c->fraction);
    if (c->min_per_domain < 0)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "replay: min_per_domain = %lld, must be >= 0",
                          (long long)c->min_per_domain);
    return MEDCL_OK;
}

medcl_status medcl_replay_create(const medcl_replay_config *c, medcl_replay **out) {
    medcl_replay_config def = MEDCL_REPLAY_CONFIG_INIT;
    if (out) *out = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "replay_create: out is NULL");
    if (!c) c = &def;
    medcl_status st = config_check(c);
    if (st != MEDCL_OK) return st;
    medcl_replay *r = calloc(1, sizeof *r);
    if (!r) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "replay_create: out of host memory");
    r->cfg = *c;
    *out = r;
    return MEDCL_OK;
}

void medcl_replay_destroy(medcl_replay *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free(r->d[i].name);
        free(r->d[i].idx);
    }
    free(r->d);
    free(r);
}

const medcl_replay_config *medcl_replay_get_config(const medcl_replay *r) { return r ? &r->cfg : NULL; }

int medcl_replay_find(const medcl_replay *r, const char *domain) {
    if (!r || !domain) return -1;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->d[i].name, domain) == 0) return i;
    return -1;
}

/* Appends a domain record taking ownership of idx. */
static medcl_status append(medcl_replay *r, const char *name, int64_t cases, int64_t kept, int64_t *idx) {
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 8;
        replay_domain *d = realloc(r->d, (size_t)cap * sizeof *d);
        if (!d) {
            free(idx);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "replay: out of host memory");
        }
        r->d = d;
        r->cap = cap;
    }
    size_t l = strlen(name) + 1;
    char *nm = malloc(l);
    if (!nm) {
        free(idx);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "replay: out of host memory");
    }
    memcpy(nm, name, l);
    r->d[r->n++] = (replay_domain){nm, cases, kept, idx};
    return MEDCL_OK;
}

typedef struct keyed {
    uint32_t key;
    int64_t i;
} keyed;

static int by_key(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

static int by_value(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : (x > y);
}

/* k of n kept: round half up, at least min(min_per_domain, n). */
static int64_t kept_count(const medcl_replay_config *c, int64_t n) {
    int64_t k = (int64_t)floor(c->fraction * (double)n + 0.5);
    int64_t lo = c->min_per_domain < n ? c->min_per_domain : n;
    if (k < lo) k = lo;
    if (k > n) k = n;
    return k;
}

medcl_status medcl_replay_add_domain(medcl_replay *r, const char *domain, int64_t num_cases) {
    medcl_status st = MEDCL_OK;
    keyed *keys = NULL;
    int64_t *idx = NULL;
    if (!r || !domain) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "replay_add_domain: NULL argument");
    if (!domain[0]) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "replay_add_domain: empty domain name");
    if (num_cases < 0 || num_cases > ((int64_t)1 << 40))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "replay_add_domain: domain %s: num_cases = %lld", domain,
                   (long long)num_cases);
    if (medcl_replay_find(r, domain) >= 0)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "replay_add_domain: domain %s was already added", domain);
    int64_t k = kept_count(&r->cfg, num_cases);
    uint32_t stream = (uint32_t)medcl_hash64(domain, strlen(domain), MEDCL_HASH64_INIT);
    keys = malloc((size_t)(num_cases > 0 ? num_cases : 1) * sizeof *keys);
    idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
    if (!keys || !idx) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_add_domain: out of host memory");
    for (int64_t i = 0; i < num_cases; i++)
        keys[i] = (keyed){medcl_philox_at(r->cfg.seed, stream, 0, 0, (uint64_t)i), i};
    qsort(keys, (size_t)num_cases, sizeof *keys, by_key);
    for (int64_t i = 0; i < k; i++) idx[i] = keys[i].i;
    qsort(idx, (size_t)k, sizeof *idx, by_value);
    st = append(r, domain, num_cases, k, idx);
    idx = NULL;
cleanup:
    free(keys);
    free(idx);
    return st;
}

int medcl_replay_domain_count(const medcl_replay *r) { return r ? r->n : 0; }
static const replay_domain *dom(const medcl_replay *r, int d) {
    return (r && d >= 0 && d < r->n) ? &r->d[d] : NULL;
}
const char *medcl_replay_domain_name(const medcl_replay *r, int d) {
    return dom(r, d) ? dom(r, d)->name : NULL;
}
int64_t medcl_replay_domain_cases(const medcl_replay *r, int d) { return dom(r, d) ? dom(r, d)->cases : 0; }
int64_t medcl_replay_domain_kept(const medcl_replay *r, int d) { return dom(r, d) ? dom(r, d)->kept : 0; }
const int64_t *medcl_replay_domain_indices(const medcl_replay *r, int d) {
    return dom(r, d) ? dom(r, d)->idx : NULL;
}

int64_t medcl_replay_total(const medcl_replay *r) {
    int64_t t = 0;
    for (int i = 0; r && i < r->n; i++) t += r->d[i].kept;
    return t;
}

medcl_status medcl_replay_entry(const medcl_replay *r, int64_t k, int *domain, int64_t *case_index) {
    if (!r || !domain || !case_index) return medcl_fail(MEDCL_ERR_INVALID_ARG, "replay_entry: NULL argument");
    int64_t total = medcl_replay_total(r);
    if (k < 0 || k >= total)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "replay_entry: k = %lld outside [0, %lld)", (long long)k,
                          (long long)total);
    for (int i = 0; i < r->n; i++) {
        if (k < r->d[i].kept) {
            *domain = i;
            *case_index = r->d[i].idx[k];
            return MEDCL_OK;
        }
        k -= r->d[i].kept;
    }
    return medcl_fail(MEDCL_ERR_STATE, "replay_entry: internal count mismatch");
}

/* ---- JSON ------------------------------------------------------------------------------------ */

medcl_status medcl_replay_to_json(const medcl_replay *r, char **out) {
    medcl_status st = MEDCL_OK;
    cJSON *root = NULL;
    if (out) *out = NULL;
    if (!r || !out) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "replay_to_json: NULL argument");
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, r->cfg.seed);
    root = cJSON_CreateObject();
    cJSON *doms = root ? cJSON_AddArrayToObject(root, "domains") : NULL;
    if (!doms || !cJSON_AddStringToObject(root, "format", "medcl.replay") ||
        !cJSON_AddNumberToObject(root, "version", 1) ||
        !cJSON_AddNumberToObject(root, "fraction", r->cfg.fraction) ||
        !cJSON_AddStringToObject(root, "seed", seed) ||
        !cJSON_AddNumberToObject(root, "min_per_domain", (double)r->cfg.min_per_domain))
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_to_json: out of host memory");
    for (int i = 0; i < r->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(doms, o))
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_to_json: out of host memory");
        cJSON *kept = cJSON_AddArrayToObject(o, "kept");
        if (!kept || !cJSON_AddStringToObject(o, "name", r->d[i].name) ||
            !cJSON_AddNumberToObject(o, "cases", (double)r->d[i].cases))
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_to_json: out of host memory");
        for (int64_t j = 0; j < r->d[i].kept; j++) {
            cJSON *v = cJSON_CreateNumber((double)r->d[i].idx[j]);
            if (!v || !cJSON_AddItemToArray(kept, v))
                MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_to_json: out of host memory");
        }
    }
    *out = cJSON_PrintUnformatted(root);
    if (!*out) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_to_json: out of host memory");
cleanup:
    cJSON_Delete(root);
    return st;
}

/* An integer-valued JSON number in [lo, hi]. */
static bool json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d)) return false;
    *out = (int64_t)d;
    return true;
}

static bool key_known(const char *k, const char *const *allowed) {
    for (; *allowed; allowed++)
        if (strcmp(k, *allowed) == 0) return true;
    return false;
}

medcl_status medcl_replay_from_json(const char *json, medcl_replay **out) {
    static const char *const top_keys[] = {"format", "version", "fraction", "seed", "min_per_domain",
                                           "domains", NULL};
    static const char *const dom_keys[] = {"name", "cases", "kept", NULL};
    medcl_status st = MEDCL_OK;
    cJSON *root = NULL;
    medcl_replay *r = NULL;
    int64_t *idx = NULL;
    if (out) *out = NULL;
    if (!json || !out) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "replay_from_json: NULL argument");
    root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $: not a JSON object");
    for (const cJSON *it = root->child; it; it = it->next)
        if (!key_known(it->string, top_keys))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.%s: unknown key", it->string);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "medcl.replay") != 0)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.format: missing or not \"medcl.replay\"");
    int64_t ver, minpd;
    if (!json_int(cJSON_GetObjectItemCaseSensitive(root, "version"), 1, 1, &ver))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.version: missing or not 1");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(root, "fraction");
    if (!cJSON_IsNumber(fr)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.fraction: missing or not a number");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "seed");
    char *end = NULL;
    if (!cJSON_IsString(sd) || !sd->valuestring[0] || sd->valuestring[0] == '-')
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.seed: missing or not a decimal string");
    unsigned long long seed = strtoull(sd->valuestring, &end, 10);
    if (*end) MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.seed: \"%s\" is not a decimal u64", sd->valuestring);
    if (!json_int(cJSON_GetObjectItemCaseSensitive(root, "min_per_domain"), 0, INT64_C(1) << 40, &minpd))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.min_per_domain: missing or not an integer >= 0");
    medcl_replay_config c = MEDCL_REPLAY_CONFIG_INIT;
    c.fraction = fr->valuedouble;
    c.seed = (uint64_t)seed;
    c.min_per_domain = minpd;
    if (!(c.fraction >= 0.0 && c.fraction <= 1.0))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.fraction: %g is not in [0, 1]", c.fraction);
    MEDCL_TRY(medcl_replay_create(&c, &r));
    const cJSON *doms = cJSON_GetObjectItemCaseSensitive(root, "domains");
    if (!cJSON_IsArray(doms)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains: missing or not an array");
    int di = 0;
    for (const cJSON *o = doms->child; o; o = o->next, di++) {
        if (!cJSON_IsObject(o)) MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d]: not an object", di);
        for (const cJSON *it = o->child; it; it = it->next)
            if (!key_known(it->string, dom_keys))
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].%s: unknown key", di, it->string);
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (!cJSON_IsString(nm) || !nm->valuestring[0])
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].name: missing or empty", di);
        if (medcl_replay_find(r, nm->valuestring) >= 0)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].name: duplicate domain \"%s\"", di,
                       nm->valuestring);
        int64_t cases;
        if (!json_int(cJSON_GetObjectItemCaseSensitive(o, "cases"), 0, INT64_C(1) << 40, &cases))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].cases: missing or not an integer >= 0", di);
        const cJSON *kept = cJSON_GetObjectItemCaseSensitive(o, "kept");
        if (!cJSON_IsArray(kept))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].kept: missing or not an array", di);
        int64_t k = cJSON_GetArraySize(kept);
        if (k > cases)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].kept: %lld indices for %lld cases", di,
                       (long long)k, (long long)cases);
        idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
        if (!idx) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "replay_from_json: out of host memory");
        int64_t j = 0;
        for (const cJSON *v = kept->child; v; v = v->next, j++) {
            if (!json_int(v, 0, cases - 1, &idx[j]))
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].kept[%lld]: not an integer in [0, %lld)",
                           di, (long long)j, (long long)cases);
            if (j > 0 && idx[j] <= idx[j - 1])
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "replay JSON: $.domains[%d].kept[%lld]: %lld not above the "
                           "previous index (must be ascending, no duplicates)", di, (long long)j,
                           (long long)idx[j]);
        }
        st = append(r, nm->valuestring, cases, k, idx);
        idx = NULL;
        if (st != MEDCL_OK) goto cleanup;
    }
    *out = r;
    r = NULL;
cleanup:
    free(idx);
    cJSON_Delete(root);
    medcl_replay_destroy(r);
    return st;
}
