/* perf/bench_train.c — U-Net training steps at PERFORMANCE.md's end-to-end shapes: 2D 1×256²,
 * features 32…512, 6 levels, batch 16; 3D 1×128³, features 32…320, 6 levels, batch 2;
 * InstanceNorm + LeakyReLU, 2 convs per stage, transposed-conv decoder, deep supervision with
 * nnU-Net's weights and targets down-sampled on the device, Dice + CE, SGD Nesterov (nnU-Net:
 * momentum 0.99, weight decay 3e-5, clipping at 12). Prints images/s (median of N steps after
 * warm-up; each step is medcl_train_step — zero_grad, forward, backward, optimizer, one loss
 * read-back — then clFinish, monotonic clock), peak device memory (the context pool's
 * high-water mark from graph creation on), parameter count, and the memory plan's peak against
 * the naive sum of its tensors (goal <= 60%).
 *   bench_train [--small] [--json] [--steps N] [--warmup N] [--only 2d|3d] [--no-ds]
 *               [--plan-only] [--torch] [--torch-device cpu|cuda] [--python PATH]
 * --plan-only: build and compile, print parameters and the memory plan, no steps (the full
 * shapes' plan on a machine too slow to train them).
 * --small: 2D 1×64², features 8…64, 5 levels, batch 4; 3D 1×32³, features 8…64, 5 levels,
 * batch 1 (minutes on a 2-core CPU through PoCL). --torch runs perf/torch_unet.py (the same
 * model, loss and optimizer in PyTorch, fp32, TF32 off) when python3 can import torch, and
 * prints both side by side. Validation before timing: the first step's loss and gradient norm
 * are finite and the update is not skipped. Leaves out: data loading and augmentation (batches
 * are two synthetic ones, alternated, uploaded outside the timed region). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "medcl/medcl.h"
#include "medcl/nn.h"

typedef struct cfg {
    const char *name;
    int dims, size, batch, base, max, levels;
} cfg;

static const cfg full_cfgs[] = {
    {"unet2d", 2, 256, 16, 32, 512, 6},
    {"unet3d", 3, 128, 2, 32, 320, 6},
};
static const cfg small_cfgs[] = {
    {"unet2d", 2, 64, 4, 8, 64, 5},
    {"unet3d", 3, 32, 1, 8, 64, 5},
};

typedef struct result {
    bool ok;
    double median_ms, min_ms, max_ms, images_per_s;
    double peak_bytes, params;
    double plan_peak, plan_naive, persistent;
    int planned_tensors, arenas;
    double compile_s, first_loss, last_loss;
    char framework[96], device[160], peak_kind[64];
} result;

static int64_t voxels(const cfg *c) {
    int64_t v = 1;
    for (int a = 0; a < c->dims; a++) v *= c->size;
    return v;
}

/* two synthetic batches: bright blobs (30% of voxels) on N(0, 0.3) noise */
static void make_batch(const cfg *c, uint64_t seed, float *img, int32_t *lab) {
    int64_t n = (int64_t)c->batch * voxels(c);
    for (int64_t i = 0; i < n; i++) {
        uint32_t u0 = medcl_philox_at(seed, 1, 0, 0, (uint64_t)i), u1 = medcl_philox_at(seed, 2, 0, 0, (uint64_t)i);
        uint32_t u2 = medcl_philox_at(seed, 3, 0, 0, (uint64_t)i);
        float z0, z1;
        medcl_philox_normal2(u0, u1, &z0, &z1);
        lab[i] = medcl_philox_u01(u2) > 0.7f;
        img[i] = 0.3f * z0 + (float)lab[i];
    }
}

static bool run_medcl(medcl_context *ctx, const cfg *c, bool ds, int warmup, int steps, bool plan_only,
                      result *r) {
    memset(r, 0, sizeof *r);
    medcl_graph *g = NULL;
    medcl_optim *o = NULL;
    float *img[2] = {NULL, NULL};
    int32_t *lab[2] = {NULL, NULL};
    double *t = NULL;
    bool ok = false;
    int64_t n = (int64_t)c->batch * voxels(c);
    medcl_context_trim_pool(ctx);
    medcl_context_reset_peak(ctx);
    double t0 = medcl_now();
    if (medcl_graph_create(ctx, &g) != MEDCL_OK) goto done;
    int64_t shape[5] = {c->batch, 1, c->size, c->size, c->size};
    medcl_node x = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, c->dims + 2, shape);
    medcl_node y = medcl_graph_input(g, "label", MEDCL_DTYPE_I32, c->dims + 2, shape);
    medcl_unet_config uc = MEDCL_UNET_CONFIG_INIT;
    uc.dims = c->dims;
    uc.num_classes = 2;
    uc.levels = c->levels;
    uc.base_features = c->base;
    uc.max_features = c->max;
    uc.deep_supervision = ds;
    medcl_unet u;
    if (medcl_unet_build(g, &uc, x, &u) != MEDCL_OK) goto done;
    medcl_node loss = medcl_unet_loss_target(g, &u, y, NULL);
    if (medcl_graph_set_loss(g, loss) != MEDCL_OK) goto done;
    medcl_graph_compile_options co = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    co.init_seed = 1;
    if (medcl_graph_compile(g, &co) != MEDCL_OK) goto done;
    medcl_optim_config oc = MEDCL_OPTIM_CONFIG_NNUNET;
    if (medcl_optim_create(ctx, &oc, &o) != MEDCL_OK || medcl_optim_add_graph(o, g) != MEDCL_OK) goto done;
    if (medcl_context_finish(ctx) != MEDCL_OK) goto done;
    r->compile_s = medcl_now() - t0;
    medcl_graph_memory m = MEDCL_GRAPH_MEMORY_INIT;
    if (medcl_graph_memory_report(g, &m) != MEDCL_OK) goto done;
    r->plan_peak = (double)m.planned_peak;
    r->plan_naive = (double)m.naive_sum;
    r->persistent = (double)m.persistent;
    r->planned_tensors = m.planned_tensors;
    r->arenas = m.arenas;
    r->params = (double)medcl_graph_param_numel(g);
    if (plan_only) {
        ok = true;
        goto done;
    }
    for (int b = 0; b < 2; b++) {
        img[b] = malloc((size_t)n * sizeof(float));
        lab[b] = malloc((size_t)n * sizeof(int32_t));
        if (!img[b] || !lab[b]) {
            fprintf(stderr, "out of host memory\n");
            goto done;
        }
        make_batch(c, 100 + (uint64_t)b, img[b], lab[b]);
    }
    t = malloc((size_t)(steps > 0 ? steps : 1) * sizeof *t);
    if (!t) goto done;
    medcl_tensor *xt = medcl_graph_tensor(g, x), *yt = medcl_graph_tensor(g, y);
    for (int k = 0; k < warmup + steps; k++) {
        if (medcl_tensor_upload(xt, img[k % 2], (size_t)n * 4) != MEDCL_OK ||
            medcl_tensor_upload(yt, lab[k % 2], (size_t)n * 4) != MEDCL_OK || medcl_context_finish(ctx) != MEDCL_OK)
            goto done;
        medcl_step_stats st;
        double s0 = medcl_now();
        if (medcl_train_step(g, o, 1e-2, &st) != MEDCL_OK || medcl_context_finish(ctx) != MEDCL_OK) goto done;
        double dt = medcl_now() - s0;
        if (k == 0) {
            /* validation before timing */
            if (!isfinite(st.loss) || !isfinite(st.grad_norm) || st.skipped) {
                fprintf(stderr, "%s: first step: loss %g, gradient norm %g, skipped %d: not timing\n", c->name,
                        (double)st.loss, (double)st.grad_norm, (int)st.skipped);
                goto done;
            }
            r->first_loss = st.loss;
        }
        r->last_loss = st.loss;
        if (k >= warmup) t[k - warmup] = dt;
    }
    bu_stats s = bu_summarize(t, steps);
    r->median_ms = s.median * 1e3;
    r->min_ms = s.min * 1e3;
    r->max_ms = s.max * 1e3;
    r->images_per_s = c->batch / s.median;
    medcl_memory_stats ms;
    medcl_context_memory_stats(ctx, &ms);
    r->peak_bytes = (double)ms.peak;
    const medcl_device_info *d = medcl_context_device(ctx);
    snprintf(r->framework, sizeof r->framework, "medcl %s", medcl_version());
    snprintf(r->device, sizeof r->device, "%s (%s)", d->name, d->driver);
    snprintf(r->peak_kind, sizeof r->peak_kind, "context pool high-water mark");
    ok = true;
done:
    if (!ok && medcl_last_error()[0]) fprintf(stderr, "%s: %s\n", c->name, medcl_last_error());
    free(t);
    for (int b = 0; b < 2; b++) {
        free(img[b]);
        free(lab[b]);
    }
    medcl_optim_destroy(o);
    medcl_graph_destroy(g);
    r->ok = ok;
    return ok;
}

/* ---- PyTorch side: perf/torch_unet.py through popen, its JSON parsed with cJSON ---- */
/* next to this source file when that tree is still there (the build machine), else
 * perf/torch_unet.py below the working directory (a build carried to another machine) */
static const char *script_path(void) {
    static char buf[1024];
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    if (!slash) return "perf/torch_unet.py";
    snprintf(buf, sizeof buf, "%.*s/torch_unet.py", (int)(slash - f), f);
    if (access(buf, R_OK) != 0) return "perf/torch_unet.py";
    return buf;
}

static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
static void jstr(const cJSON *o, const char *k, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "?");
}

static bool run_torch(const char *python, const char *script, const char *device, const cfg *c, bool ds, int warmup,
                      int steps, result *r) {
    memset(r, 0, sizeof *r);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s '%s' --dims %d --size %d --batch %d --base %d --max %d --levels %d --steps %d --warmup %d%s%s%s",
             python, script, c->dims, c->size, c->batch, c->base, c->max, c->levels, steps, warmup, ds ? "" : " --no-ds",
             device ? " --device " : "", device ? device : "");
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - 1 - len, p)) > 0) {
        len += got;
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
    }
    int rc = pclose(p);
    if (!buf) return false;
    buf[len] = 0;
    cJSON *j = rc == 0 ? cJSON_Parse(buf) : NULL;
    const cJSON *res = j ? cJSON_GetObjectItemCaseSensitive(j, "results") : NULL;
    const cJSON *row = cJSON_IsArray(res) ? cJSON_GetArrayItem(res, 0) : NULL;
    if (row) {
        r->median_ms = jnum(row, "median_ms");
        r->min_ms = jnum(row, "min_ms");
        r->max_ms = jnum(row, "max_ms");
        r->images_per_s = jnum(row, "images_per_s");
        r->peak_bytes = jnum(row, "peak_bytes");
        r->params = jnum(row, "params");
        r->first_loss = jnum(row, "first_loss");
        r->last_loss = jnum(row, "last_loss");
        jstr(row, "peak_kind", r->peak_kind, sizeof r->peak_kind);
        jstr(j, "framework", r->framework, sizeof r->framework);
        jstr(j, "device", r->device, sizeof r->device);
        r->ok = true;
    } else {
        fprintf(stderr, "torch_unet.py failed (exit %d): %s\n%.500s\n", rc, cmd, buf);
    }
    cJSON_Delete(j);
    free(buf);
    return r->ok;
}

static void print_gib(double b) { printf(" %10.3f GiB", b / (1024.0 * 1024.0 * 1024.0)); }

static void json_row(FILE *out, const cfg *c, bool ds, const result *r, bool medcl) {
    bu_json_row_begin(out);
    bu_json_str(out, "model", c->name);
    bu_json_str(out, "framework", r->framework);
    bu_json_str(out, "device_detail", r->device);
    fprintf(out, ", \"params\": %.0f", r->params);
    bu_json_num(out, "dims", c->dims);
    bu_json_num(out, "size", c->size);
    bu_json_num(out, "batch", c->batch);
    bu_json_num(out, "levels", c->levels);
    bu_json_num(out, "base_features", c->base);
    bu_json_num(out, "max_features", c->max);
    bu_json_num(out, "deep_supervision", ds);
    bu_json_num(out, "median_ms", r->median_ms);
    bu_json_num(out, "min_ms", r->min_ms);
    bu_json_num(out, "max_ms", r->max_ms);
    bu_json_num(out, "images_per_s", r->images_per_s);
    fprintf(out, ", \"peak_bytes\": %.0f", r->peak_bytes);
    bu_json_str(out, "peak_kind", r->peak_kind);
    bu_json_num(out, "first_loss", r->first_loss);
    bu_json_num(out, "last_loss", r->last_loss);
    if (medcl) {
        bu_json_num(out, "compile_s", r->compile_s);
        fprintf(out, ", \"plan_peak_bytes\": %.0f, \"plan_naive_bytes\": %.0f, \"persistent_bytes\": %.0f",
                r->plan_peak, r->plan_naive, r->persistent);
        bu_json_num(out, "plan_ratio", r->plan_naive > 0 ? r->plan_peak / r->plan_naive : NAN);
        bu_json_num(out, "planned_tensors", r->planned_tensors);
        bu_json_num(out, "arenas", r->arenas);
    }
    bu_json_row_end(out);
    fflush(out);
}

int main(int argc, char **argv) {
    int small = 0, json = 0, steps = -1, warmup = -1, torch = 0, ds = 1, plan_only = 0;
    const char *only = NULL, *tdev = NULL, *python = "python3";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--small")) small = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--torch")) torch = 1;
        else if (!strcmp(argv[i], "--no-ds")) ds = 0;
        else if (!strcmp(argv[i], "--plan-only")) plan_only = 1;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--torch-device") && i + 1 < argc) tdev = argv[++i];
        else if (!strcmp(argv[i], "--python") && i + 1 < argc) python = argv[++i];
        else {
            fprintf(stderr, "usage: bench_train [--small] [--json] [--steps N] [--warmup N] [--only 2d|3d] "
                            "[--no-ds] [--plan-only] [--torch] [--torch-device cpu|cuda] [--python PATH]\n");
            return 2;
        }
    }
    if (steps < 1) steps = small ? 5 : 10;
    if (warmup < 1) warmup = 2;
    medcl_context *ctx = NULL;
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    if (medcl_context_create(&o, &ctx) != MEDCL_OK) {
        fprintf(stderr, "%s\n", medcl_last_error());
        return 1;
    }
    if (torch) {
        char check[1200];
        snprintf(check, sizeof check, "%s -c 'import torch' > /dev/null 2>&1", python);
        if (system(check) != 0) {
            fprintf(stderr, "--torch: %s cannot import torch; PyTorch side skipped\n", python);
            torch = 0;
        }
    }
    FILE *out = stdout;
    if (json) {
        bu_json_begin(out, ctx, "train");
        bu_json_top_num(out, "steps", steps);
        bu_json_top_num(out, "warmup", warmup);
    } else {
        bu_print_device(stdout, ctx);
        printf("steps: median of %d after %d warm-up; deep supervision %s; SGD Nesterov 0.99, wd 3e-5, clip 12\n",
               steps, warmup, ds ? "on" : "off");
    }
    const cfg *cfgs = small ? small_cfgs : full_cfgs;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        const cfg *c = &cfgs[i];
        if (only && ((c->dims == 3) != (strcmp(only, "3d") == 0))) continue;
        result m, t;
        memset(&t, 0, sizeof t);
        bool okm = run_medcl(ctx, c, ds, warmup, steps, plan_only, &m);
        if (plan_only) {
            printf("%s: batch %d x 1 x %d^%d, features %d..%d, %d levels: %.0f parameters, compile %.2f s, memory plan "
                   "peak %.1f MiB of a naive %.1f MiB (%.0f%%), %d tensors, %d arena(s), persistent %.1f MiB\n",
                   c->name, c->batch, c->size, c->dims, c->base, c->max, c->levels, m.params, m.compile_s,
                   m.plan_peak / 1048576.0, m.plan_naive / 1048576.0,
                   m.plan_naive > 0 ? 100 * m.plan_peak / m.plan_naive : 0.0, m.planned_tensors, m.arenas,
                   m.persistent / 1048576.0);
            continue;
        }
        bool okt = torch && run_torch(python, script_path(), tdev, c, ds, warmup, steps, &t);
        if (!okm) rc = 1;
        if (json) {
            if (okm) json_row(out, c, ds, &m, true);
            if (okt) json_row(out, c, ds, &t, false);
            continue;
        }
        printf("\n%s: batch %d x 1 x %d^%d, features %d..%d, %d levels\n", c->name, c->batch, c->size, c->dims, c->base,
               c->max, c->levels);
        printf("%-26s %16s", "", "medcl");
        if (okt) printf(" %16s", "PyTorch");
        printf("\n%-26s %16.0f", "parameters", m.params);
        if (okt) printf(" %16.0f", t.params);
        printf("\n%-26s %9.1f (%3.0f%%)", "step ms (median, spread)", m.median_ms,
               m.median_ms > 0 ? 100 * (m.max_ms - m.min_ms) / m.median_ms : 0.0);
        if (okt)
            printf(" %9.1f (%3.0f%%)", t.median_ms, t.median_ms > 0 ? 100 * (t.max_ms - t.min_ms) / t.median_ms : 0.0);
        printf("\n%-26s %16.2f", "images/s", m.images_per_s);
        if (okt) printf(" %16.2f", t.images_per_s);
        printf("\n%-26s", "peak memory");
        print_gib(m.peak_bytes);
        if (okt) print_gib(t.peak_bytes);
        printf("\n%-26s %16.4f", "loss first -> last", m.first_loss);
        if (okt) printf(" %16.4f", t.first_loss);
        printf("\n%-26s %16.4f", "", m.last_loss);
        if (okt) printf(" %16.4f", t.last_loss);
        printf("\nmedcl compile %.2f s; memory plan: peak %.1f MiB of a naive %.1f MiB (%.0f%%, goal <= 60%%), "
               "%d tensors in %d arena(s); persistent %.1f MiB\n",
               m.compile_s, m.plan_peak / 1048576.0, m.plan_naive / 1048576.0,
               m.plan_naive > 0 ? 100 * m.plan_peak / m.plan_naive : 0.0, m.planned_tensors, m.arenas,
               m.persistent / 1048576.0);
        printf("peak memory: medcl %s; PyTorch %s\n", m.peak_kind, okt ? t.peak_kind : "(not run)");
        if (okt) {
            printf("PyTorch: %s on %s; medcl / PyTorch images/s = %.2f\n", t.framework, t.device,
                   m.images_per_s / t.images_per_s);
            if (t.params != m.params) printf("WARNING: parameter counts differ: not the same model\n");
        }
        fflush(stdout);
    }
    if (json) bu_json_end(out);
    medcl_context_destroy(ctx);
    return rc;
}
