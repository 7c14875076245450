/* src/nn/checkpoint.c — checkpoints as safetensors files: the graph's parameters and buffers
 * under their names, optimizer state under "optim.<state>.<name>", and metadata (library
 * version, model and optimizer configuration, step, epoch, optimizer step count, RNG state).
 * Loading checks the file against the graph and lists every missing, extra or mis-shaped
 * tensor before changing anything. Leaves out: partial loading (fine-tuning with a new head),
 * dtype conversion. */
#include "graph/graph_internal.h"
#include "medcl/nn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    const char *name;
    medcl_tensor *t;
} entry;

/* Every tensor a checkpoint of (g, o) holds, in a fixed order. */
static medcl_status collect(const medcl_graph *g, const medcl_optim *o, entry **out, int *n) {
    int cap = medcl_graph_param_count(g) + medcl_optim_state_count(o);
    entry *e = calloc((size_t)(cap ? cap : 1), sizeof *e);
    if (!e) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
    int k = 0;
    for (int i = 0; i < medcl_graph_param_count(g); i++) {
        medcl_node nd = medcl_graph_param_at(g, i);
        e[k].name = medcl_graph_node_name(g, nd);
        e[k].t = medcl_graph_tensor(g, nd);
        k++;
    }
    for (int i = 0; i < medcl_optim_state_count(o); i++) {
        medcl_status st = medcl_optim_state_at(o, i, &e[k].name, &e[k].t);
        if (st != MEDCL_OK) {
            free(e);
            return st;
        }
        k++;
    }
    *out = e;
    *n = k;
    return MEDCL_OK;
}

medcl_status medcl_checkpoint_save(const char *path, const medcl_graph *g, const medcl_optim *o,
                                   const medcl_checkpoint_info *info) {
    medcl_status st = MEDCL_OK;
    entry *e = NULL;
    int n = 0;
    medcl_st_tensor *t = NULL;
    medcl_st_meta *meta = NULL;
    char *ojson = NULL;
    if (!path || !g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "checkpoint save: NULL argument");
    MEDCL_TRY(medcl_graph_status(g));
    if (!g->compiled) MEDCL_FAIL(MEDCL_ERR_STATE, "checkpoint save %s: the graph is not compiled", path);
    medcl_checkpoint_info def = MEDCL_CHECKPOINT_INFO_INIT;
    if (!info) info = &def;
    if (info->size < sizeof *info)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "checkpoint save %s: info.size = %zu, expected %zu", path,
                   info->size, sizeof *info);
    MEDCL_TRY(collect(g, o, &e, &n));
    t = calloc((size_t)(n ? n : 1), sizeof *t);
    meta = calloc((size_t)(8 + info->nextra), sizeof *meta);
    if (!t || !meta) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "checkpoint save: out of memory");
    for (int i = 0; i < n; i++) {
        medcl_tensor *x = e[i].t;
        t[i].name = e[i].name;
        t[i].dtype = medcl_tensor_dtype(x);
        t[i].ndim = medcl_tensor_ndim(x);
        for (int d = 0; d < t[i].ndim; d++) t[i].shape[d] = medcl_tensor_dim(x, d);
        t[i].bytes = medcl_tensor_bytes(x);
        void *h = malloc(t[i].bytes ? t[i].bytes : 1);
        if (!h) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "checkpoint save: out of memory for %s", e[i].name);
        t[i].data = h;
        MEDCL_TRY(medcl_tensor_download(x, h, t[i].bytes));
    }
    char step[32], epoch[32], ost[32], seed[32], ctr[32];
    snprintf(step, sizeof step, "%" PRId64, info->step);
    snprintf(epoch, sizeof epoch, "%" PRId64, info->epoch);
    snprintf(ost, sizeof ost, "%" PRId64, medcl_optim_steps(o));
    snprintf(seed, sizeof seed, "%" PRIu64, info->rng_seed);
    snprintf(ctr, sizeof ctr, "%" PRIu64, info->rng_counter);
    if (o) MEDCL_TRY(medcl_optim_config_json(o, &ojson));
    int nm = 0;
    meta[nm++] = (medcl_st_meta){"format", "pt"};
    meta[nm++] = (medcl_st_meta){"medcl.version", medcl_version()};
    meta[nm++] = (medcl_st_meta){"medcl.step", step};
    meta[nm++] = (medcl_st_meta){"medcl.epoch", epoch};
    meta[nm++] = (medcl_st_meta){"medcl.rng_seed", seed};
    meta[nm++] = (medcl_st_meta){"medcl.rng_counter", ctr};
    if (info->model_json) meta[nm++] = (medcl_st_meta){"medcl.model", info->model_json};
    if (o) meta[nm++] = (medcl_st_meta){"medcl.optimizer", ojson};
    for (int i = 0; i < info->nextra; i++) {
        if (!info->extra[i].key || !strncmp(info->extra[i].key, "medcl.", 6) ||
            !strcmp(info->extra[i].key, "format"))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "checkpoint save %s: extra metadata key %s is reserved",
                       path, info->extra[i].key ? info->extra[i].key : "(NULL)");
        meta[nm++] = info->extra[i];
    }
    if (o) {
        medcl_st_meta *m2 = realloc(meta, (size_t)(nm + 1) * sizeof *m2);
        if (!m2) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "checkpoint save: out of memory");
        meta = m2;
        meta[nm++] = (medcl_st_meta){"medcl.optim_steps", ost};
    }
    MEDCL_TRY(medcl_safetensors_write(path, t, n, meta, nm));
cleanup:
    if (t)
        for (int i = 0; i < n; i++) free((void *)t[i].data);
    free(t);
    free(meta);
    free(e);
    free(ojson);
    return st;
}

static _Thread_local char *last_model_json;

static bool parse_i64(const char *s, int64_t *v) {
    if (!s || !*s) return false;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (*end) return false;
    *v = x;
    return true;
}

medcl_status medcl_checkpoint_load(const char *path, medcl_graph *g, medcl_optim *o,
                                   medcl_checkpoint_info *info) {
    medcl_status st = MEDCL_OK;
    medcl_safetensors *f = NULL;
    entry *e = NULL;
    int n = 0;
    char *list = NULL;
    size_t lcap = 0, llen = 0;
    int nprob = 0;
    if (!path || !g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "checkpoint load: NULL argument");
    MEDCL_TRY(medcl_graph_status(g));
    if (!g->compiled) MEDCL_FAIL(MEDCL_ERR_STATE, "checkpoint load %s: the graph is not compiled", path);
    if (info && info->size < sizeof *info)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "checkpoint load %s: info.size = %zu", path, info->size);
    MEDCL_TRY(medcl_safetensors_read(path, &f));
    MEDCL_TRY(collect(g, o, &e, &n));
#define PROBLEM(...)                                                                             \
    do {                                                                                         \
        char line_[512];                                                                         \
        int k_ = snprintf(line_, sizeof line_, __VA_ARGS__);                                     \
        if (k_ < 0) k_ = 0;                                                                      \
        if ((size_t)k_ >= sizeof line_) k_ = (int)sizeof line_ - 1;                              \
        nprob++;                                                                                 \
        if (nprob <= 32) {                                                                       \
            if (llen + (size_t)k_ + 8 > lcap) {                                                  \
                size_t c_ = lcap ? lcap * 2 : 1024;                                              \
                while (c_ < llen + (size_t)k_ + 8) c_ *= 2;                                      \
                char *nl_ = realloc(list, c_);                                                   \
                if (!nl_) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "checkpoint load: out of memory"); \
                list = nl_;                                                                      \
                lcap = c_;                                                                       \
            }                                                                                    \
            llen += (size_t)snprintf(list + llen, lcap - llen, "\n  - %s", line_);               \
        }                                                                                        \
    } while (0)
    for (int i = 0; i < n; i++) {
        const medcl_st_tensor *s = medcl_safetensors_find(f, e[i].name);
        medcl_tensor *x = e[i].t;
        if (!s) {
            PROBLEM("missing tensor %s", e[i].name);
            continue;
        }
        bool same = s->dtype == medcl_tensor_dtype(x) && s->ndim == medcl_tensor_ndim(x);
        for (int d = 0; same && d < s->ndim; d++) same = s->shape[d] == medcl_tensor_dim(x, d);
        if (!same) {
            char a[128] = "", b[128] = "";
            size_t pa = 0, pb = 0;
            for (int d = 0; d < s->ndim && pa < sizeof a; d++)
                pa += (size_t)snprintf(a + pa, sizeof a - pa, d ? ", %lld" : "%lld", (long long)s->shape[d]);
            for (int d = 0; d < medcl_tensor_ndim(x) && pb < sizeof b; d++)
                pb += (size_t)snprintf(b + pb, sizeof b - pb, d ? ", %lld" : "%lld",
                                       (long long)medcl_tensor_dim(x, d));
            PROBLEM("tensor %s: file has %s (%s), the model needs %s (%s)", e[i].name,
                    medcl_dtype_str(s->dtype), a, medcl_dtype_str(medcl_tensor_dtype(x)), b);
        }
    }
    for (int i = 0; i < medcl_safetensors_count(f); i++) {
        const char *nm = medcl_safetensors_at(f, i)->name;
        bool known = false;
        for (int k = 0; k < n && !known; k++) known = !strcmp(e[k].name, nm);
        if (!known) PROBLEM("extra tensor %s (not in the model%s)", nm, o ? " or optimizer" : "");
    }
    int64_t ost = 0;
    const char *ost_s = medcl_safetensors_meta(f, "medcl.optim_steps");
    if (o && (!ost_s || !parse_i64(ost_s, &ost) || ost < 0))
        PROBLEM("metadata medcl.optim_steps is %s", ost_s ? ost_s : "missing");
    if (nprob)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "checkpoint %s does not fit the model: %d difference%s:%s%s", path,
                   nprob, nprob == 1 ? "" : "s", list, nprob > 32 ? "\n  - (more not shown)" : "");
#undef PROBLEM
    for (int i = 0; i < n; i++) {
        const medcl_st_tensor *s = medcl_safetensors_find(f, e[i].name);
        MEDCL_TRY(medcl_tensor_upload(e[i].t, s->data, s->bytes));
    }
    if (o) medcl_optim_set_steps(o, ost);
    if (info) {
        int64_t v;
        uint64_t u;
        info->step = parse_i64(medcl_safetensors_meta(f, "medcl.step"), &v) ? v : 0;
        info->epoch = parse_i64(medcl_safetensors_meta(f, "medcl.epoch"), &v) ? v : 0;
        const char *s = medcl_safetensors_meta(f, "medcl.rng_seed");
        info->rng_seed = s && sscanf(s, "%" SCNu64, &u) == 1 ? u : 0;
        s = medcl_safetensors_meta(f, "medcl.rng_counter");
        info->rng_counter = s && sscanf(s, "%" SCNu64, &u) == 1 ? u : 0;
        free(last_model_json);
        last_model_json = NULL;
        s = medcl_safetensors_meta(f, "medcl.model");
        if (s) last_model_json = strdup(s);
        info->model_json = last_model_json;
        info->extra = NULL;
        info->nextra = 0;
    }
cleanup:
    medcl_safetensors_close(f);
    free(e);
    free(list);
    return st;
}
