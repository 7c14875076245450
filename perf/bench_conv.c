/* perf/bench_conv.c — convolution forward, backward-data and backward-weight at the U-Net
 * shapes of PERFORMANCE.md (2D N=16, C 32…512, 256²…16²; 3D N=2, C 32…320, 128³…8³; 3×3(×3),
 * stride 1 and 2), with CLBlast SGEMM timed at each forward's M×N×K for comparison.
 * Validates against the float64 reference first (small shapes), warms up, times runs with
 * clFinish + monotonic clock, prints median, spread, GFLOP/s and the fraction of the
 * device's measured FMA peak.
 *   bench_conv [--small] [--json] [--runs N] [--only 2d|3d] [--shape S1,S2] [--op OP]
 *              [--no-clblast] [--tune [--candidates "C1;C2;..."]]
 * --small: a few reduced shapes (minutes on a 2-core CPU). --shape: shapes whose name contains
 * one of the comma-separated substrings. --op: fwd, bwd-data or bwd-weight only.
 * --no-clblast: skip the SGEMM comparison (CLBlast builds its kernels per shape; on a GPU
 * session with little time the cuDNN comparison of perf/torch_conv.py is what counts).
 * --tune: for each shape and op, times every candidate tile configuration (MEDCL_CONV_TUNE
 * strings "TM,TN,TK,WPTM,WPTN,APAD,VEC,DBUF", a built-in list per device type, the table's
 * entry first; each candidate is validated against the reference first) and prints the best
 * per shape and op and the best overall (geometric mean of time over the per-row best); the
 * winner goes into src/ops/conv_tuning.c. Without --shape, --tune uses a few shapes per size.
 * Shape names are those of perf/torch_conv.py (its --join merges both outputs).
 * Leaves out transposed convolution (it runs the same kernels). */
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "medcl/medcl.h"
#include "medcl/medcl_cl.h"
#include "medcl/ops_conv.h"
#include "ref/ref_conv.c"

/* tile table of src/ops/conv_tuning.c (linked from the static library) for the device line */
#include <stdbool.h>
bool medcl_conv_tuning_get(const medcl_device_info *info, int v[11]); /* TM..SHRINK */

typedef struct shape {
    const char *name;
    int nd, N, Cin, Cout, S, k, s; /* S: spatial extent per axis (cube/square), k kernel, s stride */
} shape;

static const shape full_shapes[] = {
    {"2d L0 32 256^2", 4, 16, 32, 32, 256, 3, 1},
    {"2d L1 64 128^2", 4, 16, 64, 64, 128, 3, 1},
    {"2d L2 128 64^2", 4, 16, 128, 128, 64, 3, 1},
    {"2d L3 256 32^2", 4, 16, 256, 256, 32, 3, 1},
    {"2d L4 512 16^2", 4, 16, 512, 512, 16, 3, 1},
    {"2d down 32->64 256^2 s2", 4, 16, 32, 64, 256, 3, 2},
    {"2d down 256->512 32^2 s2", 4, 16, 256, 512, 32, 3, 2},
    {"3d L0 32 128^3", 5, 2, 32, 32, 128, 3, 1},
    {"3d L1 64 64^3", 5, 2, 64, 64, 64, 3, 1},
    {"3d L2 128 32^3", 5, 2, 128, 128, 32, 3, 1},
    {"3d L3 256 16^3", 5, 2, 256, 256, 16, 3, 1},
    {"3d L4 320 8^3", 5, 2, 320, 320, 8, 3, 1},
    {"3d down 32->64 128^3 s2", 5, 2, 32, 64, 128, 3, 2},
};

static const shape small_shapes[] = {
    {"2d 64 64^2 (N=4)", 4, 4, 64, 64, 64, 3, 1},
    {"2d 256 16^2 (N=4)", 4, 4, 256, 256, 16, 3, 1},
    {"2d down 64->128 64^2 s2 (N=4)", 4, 4, 64, 128, 64, 3, 2},
    {"3d 32 32^3 (N=1)", 5, 1, 32, 32, 32, 3, 1},
    {"3d 128 8^3 (N=2)", 5, 2, 128, 128, 8, 3, 1},
};

typedef struct run_ctx {
    int op; /* 0 fwd, 1 bwd-data, 2 bwd-weight, 3 CLBlast SGEMM */
    medcl_tensor *x, *w, *b, *y, *dy, *dx, *dw, *db;
    medcl_conv_params p;
    medcl_context *ctx;
    size_t M, N, K;
    cl_mem A, B, C;
} run_ctx;

static bool run_once(void *u) {
    run_ctx *r = u;
    medcl_status st = MEDCL_OK;
    switch (r->op) {
    case 0: st = medcl_conv_forward(r->x, r->w, r->b, r->y, &r->p); break;
    case 1: st = medcl_conv_backward_data(r->dy, r->w, r->dx, &r->p); break;
    case 2: st = medcl_conv_backward_weight(r->x, r->dy, r->dw, r->db, &r->p); break;
    default: {
        cl_command_queue q = medcl_context_cl_queue(r->ctx);
        CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, r->M, r->N,
                                           r->K, 1.0f, r->A, 0, r->K, r->B, 0, r->N, 0.0f, r->C, 0, r->N, &q, NULL);
        if (s != CLBlastSuccess) {
            fprintf(stderr, "CLBlastSgemm failed: %d\n", (int)s);
            return false;
        }
        return true;
    }
    }
    if (st != MEDCL_OK) fprintf(stderr, "conv failed: %s\n", medcl_last_error());
    return st == MEDCL_OK;
}

static void fill_random(medcl_tensor *t, uint64_t seed) {
    medcl_random_normal(t, seed, 1, 0, 0, 0.0f, 1.0f);
}

static medcl_tensor *mk(medcl_context *ctx, int nd, const int64_t *s, const char *name) {
    medcl_tensor *t = NULL;
    if (medcl_tensor_create_f32(ctx, name, nd, s, &t) != MEDCL_OK) {
        fprintf(stderr, "%s: %s\n", name, medcl_last_error());
        exit(1);
    }
    return t;
}

static void params_for(const shape *sh, medcl_conv_params *p) {
    medcl_conv_params q = MEDCL_CONV_PARAMS_INIT;
    for (int a = (sh->nd == 5 ? 0 : 1); a < 3; a++) {
        q.kernel[a] = sh->k;
        q.stride[a] = sh->s;
        q.pad[a] = sh->k / 2;
    }
    *p = q;
}

/* ---- validation: small shapes against the float64 reference ---- */

static double nrms(const float *a, const double *b, size_t n) {
    double se = 0, ma = 0;
    for (size_t i = 0; i < n; i++) {
        se += (a[i] - b[i]) * (a[i] - b[i]);
        ma = fmax(ma, fmax(fabs(a[i]), fabs(b[i])));
    }
    return ma > 0 ? sqrt(se / (double)n) / ma : 0;
}

static int validate_one(medcl_context *ctx, int nd, int stride) {
    shape sh = {"check", nd, 2, 5, 7, nd == 5 ? 7 : 13, 3, stride};
    medcl_conv_params p;
    params_for(&sh, &p);
    p.activation = MEDCL_ACT_LEAKY_RELU;
    int64_t xs[5], ys[5], ws[5], c = sh.Cout;
    xs[0] = sh.N;
    xs[1] = sh.Cin;
    for (int a = 2; a < nd; a++) xs[a] = sh.S + a; /* odd, unequal extents */
    if (medcl_conv_output_shape(&p, nd, xs, sh.Cout, ys) != MEDCL_OK) return 1;
    ws[0] = sh.Cout;
    ws[1] = sh.Cin;
    for (int a = 2; a < nd; a++) ws[a] = 3;
    ref_conv g = {.N = sh.N, .Cin = sh.Cin, .Cout = sh.Cout, .Di = nd == 5 ? (int)xs[2] : 1,
                  .Hi = (int)xs[nd - 2], .Wi = (int)xs[nd - 1], .groups = 1};
    for (int a = 0; a < 3; a++) {
        g.k[a] = p.kernel[a];
        g.s[a] = p.stride[a];
        g.p[a] = p.pad[a];
        g.dil[a] = 1;
    }
    ref_conv_init(&g);
    size_t nx = ref_conv_x_numel(&g), ny = ref_conv_y_numel(&g), nw = ref_conv_w_numel(&g);
    medcl_tensor *x = mk(ctx, nd, xs, "x"), *w = mk(ctx, nd, ws, "w"), *b = mk(ctx, 1, &c, "b");
    medcl_tensor *y = mk(ctx, nd, ys, "y"), *dy = mk(ctx, nd, ys, "dy"), *dx = mk(ctx, nd, xs, "dx");
    medcl_tensor *dw = mk(ctx, nd, ws, "dw"), *db = mk(ctx, 1, &c, "db");
    fill_random(x, 1);
    fill_random(w, 2);
    fill_random(b, 3);
    fill_random(dy, 4);
    medcl_fill(dw, 0.0f);
    medcl_fill(db, 0.0f);
    int bad = 0;
    float *hx = malloc(nx * 4), *hw = malloc(nw * 4), *hb = malloc((size_t)c * 4), *hdy = malloc(ny * 4);
    float *got = malloc((nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)) * 4);
    double *dxd = malloc(nx * 8), *dwd = malloc(nw * 8), *dbd = malloc((size_t)c * 8), *dyd = malloc(ny * 8);
    double *yref = malloc(ny * 8), *dxref = malloc(nx * 8), *dwref = malloc(nw * 8), *dbref = malloc((size_t)c * 8);
    medcl_tensor_download(x, hx, nx * 4);
    medcl_tensor_download(w, hw, nw * 4);
    medcl_tensor_download(b, hb, (size_t)c * 4);
    medcl_tensor_download(dy, hdy, ny * 4);
    for (size_t i = 0; i < nx; i++) dxd[i] = hx[i];
    for (size_t i = 0; i < nw; i++) dwd[i] = hw[i];
    for (int i = 0; i < c; i++) dbd[i] = hb[i];
    for (size_t i = 0; i < ny; i++) dyd[i] = hdy[i];
    ref_conv_forward(&g, dxd, dwd, dbd, 2, p.slope, yref);
    ref_conv_backward_data(&g, dyd, dwd, dxref);
    ref_conv_backward_weight(&g, dxd, dyd, dwref, dbref);
    double e[4];
    if (medcl_conv_forward(x, w, b, y, &p) || medcl_conv_backward_data(dy, w, dx, &p) ||
        medcl_conv_backward_weight(x, dy, dw, db, &p)) {
        fprintf(stderr, "validation: %s\n", medcl_last_error());
        bad = 1;
    } else {
        medcl_tensor_download(y, got, ny * 4);
        e[0] = nrms(got, yref, ny);
        medcl_tensor_download(dx, got, nx * 4);
        e[1] = nrms(got, dxref, nx);
        medcl_tensor_download(dw, got, nw * 4);
        e[2] = nrms(got, dwref, nw);
        medcl_tensor_download(db, got, (size_t)c * 4);
        e[3] = nrms(got, dbref, (size_t)c);
        bad = !(e[0] <= 1e-6 && e[1] <= 1e-6 && e[2] <= 1e-5 && e[3] <= 1e-5);
        fprintf(stderr, "validate %dD stride %d: nrms fwd %.1e, bwd-data %.1e, bwd-weight %.1e, bias %.1e%s\n",
                nd == 5 ? 3 : 2, stride, e[0], e[1], e[2], e[3], bad ? "  FAILED" : "");
    }
    medcl_tensor *ts[] = {x, w, b, y, dy, dx, dw, db};
    for (int i = 0; i < 8; i++) medcl_tensor_destroy(ts[i]);
    free(hx); free(hw); free(hb); free(hdy); free(got); free(dxd); free(dwd); free(dbd); free(dyd);
    free(yref); free(dxref); free(dwref); free(dbref);
    return bad;
}

static const char *opname[3] = {"fwd", "bwd-data", "bwd-weight"};

/* shape filter: NULL or comma-separated substrings of shape names */
static bool shape_selected(const shape *sh, const char *only, const char *filter) {
    if (only && ((sh->nd == 5) != (strcmp(only, "3d") == 0))) return false;
    if (!filter) return true;
    const char *p = filter;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        for (const char *q = sh->name; *q; q++)
            if (n > 0 && !strncmp(q, p, n)) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

/* Allocates and fills the tensors of one shape; returns the forward GEMM's M, N, K. */
static void shape_setup(medcl_context *ctx, const shape *sh, size_t si, run_ctx *r) {
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    params_for(sh, &r->p);
    int nd = sh->nd;
    int64_t xs[5] = {sh->N, sh->Cin, sh->S, sh->S, sh->S}, ys[5], ws[5] = {sh->Cout, sh->Cin, sh->k, sh->k, sh->k};
    int64_t c = sh->Cout;
    medcl_conv_output_shape(&r->p, nd, xs, sh->Cout, ys);
    r->x = mk(ctx, nd, xs, "x");
    r->w = mk(ctx, nd, ws, "w");
    r->b = mk(ctx, 1, &c, "b");
    r->y = mk(ctx, nd, ys, "y");
    r->dy = mk(ctx, nd, ys, "dy");
    r->dx = mk(ctx, nd, xs, "dx");
    r->dw = mk(ctx, nd, ws, "dw");
    r->db = mk(ctx, 1, &c, "db");
    fill_random(r->x, 10 + si);
    fill_random(r->w, 20 + si);
    fill_random(r->b, 30 + si);
    fill_random(r->dy, 40 + si);
    medcl_fill(r->dw, 0.0f);
    medcl_fill(r->db, 0.0f);
    size_t So = 1, kv = 1;
    for (int a = 2; a < nd; a++) {
        So *= (size_t)ys[a];
        kv *= (size_t)sh->k;
    }
    r->M = (size_t)sh->Cout;
    r->N = (size_t)sh->N * So;
    r->K = (size_t)sh->Cin * kv;
}

static void shape_teardown(run_ctx *r) {
    if (r->A) clReleaseMemObject(r->A);
    if (r->B) clReleaseMemObject(r->B);
    if (r->C) clReleaseMemObject(r->C);
    medcl_tensor *ts[] = {r->x, r->w, r->b, r->y, r->dy, r->dx, r->dw, r->db};
    for (int i = 0; i < 8; i++) medcl_tensor_destroy(ts[i]);
}

static int validate_all(medcl_context *ctx) {
    return validate_one(ctx, 4, 1) || validate_one(ctx, 4, 2) || validate_one(ctx, 5, 1) || validate_one(ctx, 5, 2);
}

/* ---- --tune: candidate tile configurations ---- */

#define MAX_CAND 24
/* GPU: around the classic 128x128 / 8x8 SGEMM (VEC 0 = strided scalar columns), TK 8/16/32
 * (32 single-buffered: 33 KB of local memory), with and without double buffering, smaller
 * tiles for small problems, and the CPU-style vector layout for comparison. CPU: around the
 * PoCL default (TK 32, SHRINK 4). */
static const char *gpu_cands =
    "128,128,16,8,8,1,0,1;128,128,8,8,8,1,0,1;128,128,16,8,8,1,0,0;128,128,8,8,8,1,0,0;"
    "128,64,16,8,4,1,0,1;64,128,16,4,8,1,0,1;64,64,16,4,4,1,0,1;64,64,8,4,4,1,0,1;"
    "128,128,16,8,8,0,0,1;128,128,16,8,8,1,1,1;128,64,16,8,8,1,0,1;128,128,32,8,8,1,0,0;"
    "64,64,32,4,4,1,0,1";
static const char *cpu_cands =
    "128,64,32,8,16,0,1,0;128,64,16,8,16,0,1,0;128,128,32,8,16,0,1,0;64,64,32,8,16,0,1,0;"
    "128,64,64,8,16,0,1,0;128,64,32,8,16,0,1,1;256,64,32,16,16,0,1,0";

static int split_cands(const char *list, char out[MAX_CAND][64]) {
    int n = 0;
    const char *p = list;
    while (*p && n < MAX_CAND) {
        const char *e = strchr(p, ';');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0 && len < 64) {
            memcpy(out[n], p, len);
            out[n][len] = '\0';
            bool dup = false;
            for (int i = 0; i < n; i++) dup = dup || !strcmp(out[i], out[n]);
            if (!dup) n++;
        }
        if (!e) break;
        p = e + 1;
    }
    return n;
}

static const char *tune_default_shapes(int small) {
    return small ? "2d 64 64^2,2d down,3d 32 32^3,3d 128 8^3"
                 : "2d L1 64 128^2,2d L3 256 32^2,2d down 32->64,3d L0 32 128^3,3d L2 128 32^3,3d down";
}

static int run_tune(medcl_context *ctx, const shape *shapes, size_t nshapes, const char *only, const char *filter,
                    int oponly, int runs, const char *cand_list, int small) {
    const medcl_device_info *info = medcl_context_device(ctx);
    char cands[MAX_CAND][64];
    int tv[11];
    char first[256];
    medcl_conv_tuning_get(info, tv);
    snprintf(first, sizeof first, "%d,%d,%d,%d,%d,%d,%d,%d;%s", tv[0], tv[1], tv[2], tv[3], tv[4], tv[5], tv[8], tv[9],
             cand_list ? cand_list : info->type == MEDCL_DEVICE_TYPE_CPU ? cpu_cands : gpu_cands);
    int nc = split_cands(first, cands);
    bool ok[MAX_CAND];
    printf("tune: %d candidates (MEDCL_CONV_TUNE=TM,TN,TK,WPTM,WPTN,APAD,VEC,DBUF); table entry first\n", nc);
    for (int c = 0; c < nc; c++) {
        setenv("MEDCL_CONV_TUNE", cands[c], 1);
        double t0 = medcl_now();
        ok[c] = validate_all(ctx) == 0;
        printf("candidate %-28s %s (validation incl. program builds %.1f s)\n", cands[c], ok[c] ? "valid" : "REJECTED",
               medcl_now() - t0);
        if (!ok[c]) fprintf(stderr, "  %s\n", medcl_last_error());
        fflush(stdout);
    }
    /* logsum[c]: sum over rows of log(time / best time of the row); rows where c failed count
     * as 4x the best */
    double logsum[MAX_CAND] = {0};
    int rows = 0;
    if (!filter) filter = tune_default_shapes(small);
    printf("%-30s %-10s %-28s %9s %8s\n", "shape", "op", "best MEDCL_CONV_TUNE", "ms", "GFLOP/s");
    for (size_t si = 0; si < nshapes; si++) {
        const shape *sh = &shapes[si];
        if (!shape_selected(sh, only, filter)) continue;
        run_ctx r;
        shape_setup(ctx, sh, si, &r);
        double flops = 2.0 * (double)r.M * (double)r.N * (double)r.K;
        for (int op = 0; op < 3; op++) {
            if (oponly >= 0 && op != oponly) continue;
            double t[MAX_CAND];
            int best = -1;
            for (int c = 0; c < nc; c++) {
                t[c] = INFINITY;
                if (!ok[c]) continue;
                setenv("MEDCL_CONV_TUNE", cands[c], 1);
                r.op = op;
                bu_stats s;
                if (bu_time(ctx, run_once, &r, 1, runs, &s)) t[c] = s.median;
                if (getenv("BENCH_CONV_VERBOSE"))
                    fprintf(stderr, "  %s %s %s: %.3f ms\n", sh->name, opname[op], cands[c], t[c] * 1e3);
                if (t[c] < INFINITY && (best < 0 || t[c] < t[best])) best = c;
            }
            if (best < 0) {
                printf("%-30s %-10s no candidate ran\n", sh->name, opname[op]);
                continue;
            }
            rows++;
            for (int c = 0; c < nc; c++) logsum[c] += t[c] < INFINITY ? log(t[c] / t[best]) : log(4.0);
            printf("%-30s %-10s %-28s %9.3f %8.1f   table entry: %.3f ms (%.2fx)\n", sh->name, opname[op], cands[best],
                   t[best] * 1e3, flops / t[best] * 1e-9, t[0] * 1e3, t[0] / t[best]);
            fflush(stdout);
        }
        shape_teardown(&r);
    }
    unsetenv("MEDCL_CONV_TUNE");
    if (rows == 0) return 1;
    int bc = 0;
    printf("overall (geometric mean of time / best per row, %d rows):\n", rows);
    for (int c = 0; c < nc; c++) {
        if (ok[c] && logsum[c] < logsum[bc]) bc = c;
        printf("  %-28s %s%.3f\n", cands[c], ok[c] ? "" : "rejected ", exp(logsum[c] / rows));
    }
    printf("best overall: MEDCL_CONV_TUNE=%s (%.3f x the per-row best)\n", cands[bc], exp(logsum[bc] / rows));
    return 0;
}

int main(int argc, char **argv) {
    int small = 0, json = 0, runs = -1, tune = 0, oponly = -1, clblast = 1;
    const char *only = NULL, *filter = NULL, *cand_list = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--small")) small = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--tune")) tune = 1;
        else if (!strcmp(argv[i], "--no-clblast")) clblast = 0;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--candidates") && i + 1 < argc) cand_list = argv[++i];
        else if (!strcmp(argv[i], "--op") && i + 1 < argc) {
            const char *o = argv[++i];
            for (int k = 0; k < 3; k++)
                if (!strcmp(o, opname[k])) oponly = k;
            if (oponly < 0) {
                fprintf(stderr, "--op: fwd, bwd-data or bwd-weight\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_conv [--small] [--json] [--runs N] [--only 2d|3d] [--shape S1,S2] "
                            "[--op fwd|bwd-data|bwd-weight] [--no-clblast] [--tune [--candidates \"C1;C2\"]]\n");
            return 2;
        }
    }
    if (runs < 1) runs = small ? 3 : 5;
    medcl_context *ctx = NULL;
    medcl_context_options o = MEDCL_CONTEXT_OPTIONS_INIT;
    if (medcl_context_create(&o, &ctx) != MEDCL_OK) {
        fprintf(stderr, "%s\n", medcl_last_error());
        return 1;
    }
    const medcl_device_info *info = medcl_context_device(ctx);
    int tv[11] = {0};
    medcl_conv_tuning_get(info, tv);
    char tiles[128];
    snprintf(tiles, sizeof tiles, "TM=%d TN=%d TK=%d WPTM=%d WPTN=%d APAD=%d VEC=%d DBUF=%d SHRINK=%d", tv[0], tv[1],
             tv[2], tv[3], tv[4], tv[5], tv[8], tv[9], tv[10]);
    const shape *shapes = small ? small_shapes : full_shapes;
    size_t nshapes = small ? sizeof small_shapes / sizeof small_shapes[0] : sizeof full_shapes / sizeof full_shapes[0];
    FILE *out = json ? stdout : stderr;
    if (!json) {
        bu_print_device(stdout, ctx);
        printf("tiles: %s%s\n", tiles, getenv("MEDCL_CONV_TUNE") ? " (MEDCL_CONV_TUNE)" : "");
    }
    if (tune) {
        int rc = run_tune(ctx, shapes, nshapes, only, filter, oponly, runs, cand_list, small);
        medcl_context_destroy(ctx);
        return rc;
    }
    if (validate_all(ctx)) {
        fprintf(stderr, "validation failed: not timing\n");
        return 1;
    }
    double peak = medcl_device_fma_peak(ctx, false);
    if (json) {
        bu_json_begin(out, ctx, "conv");
        bu_json_top_num(out, "fma_peak_gflops", peak);
        fprintf(out, ", \"tiles\": \"%s\"", tiles);
    } else {
        printf("measured FMA peak: %.1f GFLOP/s\n", peak);
        printf("%-30s %-10s %6s %8s %8s %9s %6s %8s %6s %9s %7s\n", "shape", "op", "M", "N", "K", "ms", "sprd",
               "GFLOP/s", "%peak", "CLBlast", "ratio");
    }
    for (size_t si = 0; si < nshapes; si++) {
        const shape *sh = &shapes[si];
        if (!shape_selected(sh, only, filter)) continue;
        run_ctx r;
        shape_setup(ctx, sh, si, &r);
        size_t M = r.M, N = r.N, K = r.K;
        double flops = 2.0 * (double)M * (double)N * (double)K;
        /* CLBlast SGEMM at the forward's M x N x K */
        double gemm_gf = 0;
        cl_int err;
        cl_context cl = medcl_context_cl_context(ctx);
        /* CLBlast indexes with 32 bits and the device caps one allocation: skip the
         * comparison (reported as n/a) where an operand would exceed either (3D L0: the
         * K x N matrix alone is 14.5 GB and crashed the H100's queue) */
        const size_t cap = (size_t)1 << 31;
        size_t maxa = (size_t)medcl_context_device(ctx)->max_alloc;
        bool fits = M * K * 4 < cap && K * N * 4 < cap && M * N * 4 < cap && K * N * 4 <= maxa;
        if (clblast && oponly <= 0 && fits) {
            r.A = clCreateBuffer(cl, CL_MEM_READ_WRITE, M * K * 4, NULL, &err);
            r.B = clCreateBuffer(cl, CL_MEM_READ_WRITE, K * N * 4, NULL, &err);
            r.C = clCreateBuffer(cl, CL_MEM_READ_WRITE, M * N * 4, NULL, &err);
        }
        if (r.A && r.B && r.C) {
            float one = 0.5f;
            cl_command_queue q = medcl_context_cl_queue(ctx);
            clEnqueueFillBuffer(q, r.A, &one, 4, 0, M * K * 4, 0, NULL, NULL);
            clEnqueueFillBuffer(q, r.B, &one, 4, 0, K * N * 4, 0, NULL, NULL);
            r.op = 3;
            bu_stats gs;
            if (bu_time(ctx, run_once, &r, 1, runs, &gs)) gemm_gf = flops / gs.median * 1e-9;
        }
        for (int op = 0; op < 3; op++) {
            if (oponly >= 0 && op != oponly) continue;
            r.op = op;
            bu_stats s;
            if (!bu_time(ctx, run_once, &r, 1, runs, &s)) return 1;
            double gf = flops / s.median * 1e-9;
            double ratio = op == 0 && gemm_gf > 0 ? gf / gemm_gf : NAN;
            if (json) {
                bu_json_row_begin(out);
                bu_json_str(out, "shape", sh->name);
                bu_json_str(out, "op", opname[op]);
                bu_json_num(out, "N", sh->N);
                bu_json_num(out, "Cin", sh->Cin);
                bu_json_num(out, "Cout", sh->Cout);
                bu_json_num(out, "spatial", sh->S);
                bu_json_num(out, "dims", sh->nd == 5 ? 3 : 2);
                bu_json_num(out, "stride", sh->s);
                bu_json_num(out, "gemm_m", (double)M);
                bu_json_num(out, "gemm_n", (double)N);
                bu_json_num(out, "gemm_k", (double)K);
                bu_json_num(out, "median_ms", s.median * 1e3);
                bu_json_num(out, "min_ms", s.min * 1e3);
                bu_json_num(out, "max_ms", s.max * 1e3);
                bu_json_num(out, "runs", s.n);
                bu_json_num(out, "gflops", gf);
                bu_json_num(out, "fraction_of_peak", peak > 0 ? gf / peak : NAN);
                if (op == 0 && gemm_gf > 0) {
                    bu_json_num(out, "clblast_gflops", gemm_gf);
                    bu_json_num(out, "ratio_vs_clblast", ratio);
                }
                bu_json_row_end(out);
                fflush(out);
            } else {
                printf("%-30s %-10s %6zu %8zu %8zu %9.2f %5.0f%% %8.1f %5.1f%%", sh->name, opname[op], M, N, K,
                       s.median * 1e3, s.spread * 100, gf, peak > 0 ? 100 * gf / peak : 0);
                if (op == 0 && gemm_gf > 0) printf(" %9.1f %6.2fx", gemm_gf, ratio);
                printf("\n");
                fflush(stdout);
            }
        }
        shape_teardown(&r);
    }
    if (json) bu_json_end(out);
    medcl_context_destroy(ctx);
    return 0;
}
