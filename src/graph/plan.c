/* src/graph/plan.c — compile: autograd analysis (which nodes need gradients and backward
 * passes, which gradient edges assign and which go through a temporary and an add), the
 * liveness-based memory plan, allocation, parameter initialization and the build of every
 * program the graph uses.
 *
 * Memory plan: time runs forward 0..N-1 then backward N..2N-1 (node i's backward at 2N-1-i).
 * Each planned tensor (activations, their gradients, per-node scratch, temporary gradient
 * edges) lives over a closed interval of that timeline; tensors are placed largest first at
 * the lowest-waste offset that overlaps no placed tensor alive at the same time ("greedy by
 * size", Pisarchyk & Lee 2020, as in TFLite), in arenas no larger than the device's largest
 * allocation. Leaves out: in-place reuse of an input's buffer by its consumer, recomputation. */
#include "graph_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_ALIGN 256

typedef struct pitem {
    size_t bytes;
    int start, end;
    int arena;
    size_t off;
    medcl_tensor **slot;   /* where the view goes */
    const char *name;
    char label[GRAPH_NAME + 16];
    medcl_dtype dtype;
    int ndim;
    int64_t shape[MEDCL_MAX_DIMS];
} pitem;

typedef struct plan {
    pitem *items;
    int n, cap;
} plan;

static medcl_status plan_add(plan *p, medcl_tensor **slot, const char *label, medcl_dtype dt, int ndim,
                             const int64_t *shape, int start, int end) {
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        pitem *ni = realloc(p->items, (size_t)cap * sizeof *ni);
        if (!ni) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "memory plan: out of memory");
        p->items = ni;
        p->cap = cap;
    }
    pitem *it = &p->items[p->n++];
    memset(it, 0, sizeof *it);
    int64_t k = 1;
    for (int i = 0; i < ndim; i++) k *= shape[i];
    size_t bytes = (size_t)k * medcl_dtype_size(dt);
    it->bytes = (bytes + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
    it->start = start;
    it->end = end;
    it->slot = slot;
    snprintf(it->label, sizeof it->label, "%s", label);
    it->dtype = dt;
    it->ndim = ndim;
    for (int i = 0; i < ndim; i++) it->shape[i] = shape[i];
    return MEDCL_OK;
}

static const pitem *sort_base;
static int cmp_items(const void *a, const void *b) {
    const pitem *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}
static int cmp_off(const void *a, const void *b) {
    const pitem *x = *(pitem *const *)a, *y = *(pitem *const *)b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return 0;
}

/* Greedy by size; fills it->arena, it->off and arena sizes (at most p->n arenas). */
static medcl_status plan_place(plan *p, size_t cap_bytes, size_t *arena_size, int *narenas) {
    medcl_status st = MEDCL_OK;
    int *order = malloc((size_t)(p->n ? p->n : 1) * sizeof *order);
    pitem **live = malloc((size_t)(p->n ? p->n : 1) * sizeof *live);
    bool *placed = calloc((size_t)(p->n ? p->n : 1), 1);
    if (!order || !live || !placed) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "memory plan: out of memory");
    for (int i = 0; i < p->n; i++) order[i] = i;
    sort_base = p->items;
    qsort(order, (size_t)p->n, sizeof *order, cmp_items);
    *narenas = 0;
    for (int oi = 0; oi < p->n; oi++) {
        pitem *it = &p->items[order[oi]];
        if (it->bytes > cap_bytes)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "memory plan: tensor %s needs %zu bytes, above the "
                       "device's largest allocation (%zu bytes)", it->label, it->bytes, cap_bytes);
        for (int a = 0;; a++) {
            int nl = 0;
            for (int j = 0; j < p->n; j++) {
                pitem *q = &p->items[j];
                if (placed[j] && q->arena == a && !(q->end < it->start || it->end < q->start))
                    live[nl++] = q;
            }
            qsort(live, (size_t)nl, sizeof *live, cmp_off);
            size_t prev = 0, best = (size_t)-1, best_gap = (size_t)-1;
            for (int j = 0; j < nl; j++) {
                if (live[j]->off >= prev) {
                    size_t gap = live[j]->off - prev;
                    if (gap >= it->bytes && gap < best_gap) {
                        best = prev;
                        best_gap = gap;
                    }
                }
                size_t e = live[j]->off + live[j]->bytes;
                if (e > prev) prev = e;
            }
            if (best == (size_t)-1) best = prev;
            if (best + it->bytes <= cap_bytes) {
                it->arena = a;
                it->off = best;
                if (a >= *narenas) {
                    for (int k = *narenas; k <= a; k++) arena_size[k] = 0;
                    *narenas = a + 1;
                }
                if (best + it->bytes > arena_size[a]) arena_size[a] = best + it->bytes;
                placed[order[oi]] = true;
                break;
            }
        }
    }
cleanup:
    free(order);
    free(live);
    free(placed);
    return st;
}

/* A tensor object over bytes [off, off + n) of an arena. */
static medcl_status make_view(medcl_graph *g, medcl_tensor *arena, const pitem *it,
                              medcl_tensor **out) {
    medcl_tensor *v = calloc(1, sizeof *v);
    if (!v) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "graph: out of memory");
    if (g->nviews == g->cap_views) {
        int cap = g->cap_views ? g->cap_views * 2 : 64;
        medcl_tensor **nv = realloc(g->views, (size_t)cap * sizeof *nv);
        if (!nv) {
            free(v);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "graph: out of memory");
        }
        g->views = nv;
        g->cap_views = cap;
    }
    v->ctx = g->ctx;
    v->dtype = it->dtype;
    v->ndim = it->ndim;
    v->numel = 1;
    for (int i = 0; i < it->ndim; i++) {
        v->shape[i] = it->shape[i];
        v->numel *= it->shape[i];
    }
    v->mem = arena->mem;
    v->offset = (int64_t)(it->off / medcl_dtype_size(it->dtype));
    v->is_view = true;
    snprintf(v->name, sizeof v->name, "%s", it->label);
    g->views[g->nviews++] = v;
    *out = v;
    return MEDCL_OK;
}

static medcl_status own_tensor(medcl_graph *g, const char *name, medcl_dtype dt, int ndim,
                               const int64_t *shape, medcl_tensor **out) {
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.dtype = dt;
    d.ndim = ndim;
    for (int i = 0; i < ndim; i++) d.shape[i] = shape[i];
    d.name = name;
    medcl_status st = medcl_tensor_create(g->ctx, &d, out);
    if (st == MEDCL_OK) g->mem.persistent += medcl_tensor_bytes(*out);
    return st;
}

static medcl_status init_param(medcl_graph *g, gnode *n, uint64_t seed) {
    const medcl_init *in = &n->init;
    medcl_tensor *t = n->value;
    uint32_t stream = (uint32_t)n->param_index;
    switch (in->kind) {
    case MEDCL_INIT_ZEROS: return medcl_fill(t, 0.0f);
    case MEDCL_INIT_ONES: return medcl_fill(t, 1.0f);
    case MEDCL_INIT_CONSTANT: return medcl_fill(t, (float)in->value);
    case MEDCL_INIT_NORMAL: return medcl_random_normal(t, seed, stream, 0, 0, 0.0f, (float)in->std);
    case MEDCL_INIT_UNIFORM:
        return medcl_random_uniform(t, seed, stream, 0, 0, (float)in->lo, (float)in->hi);
    case MEDCL_INIT_HE_NORMAL: {
        int64_t fan = in->fan_in;
        if (fan <= 0) {
            fan = 1;
            for (int i = 1; i < n->ndim; i++) fan *= n->shape[i];
        }
        double gain = sqrt(2.0 / (1.0 + in->neg_slope * in->neg_slope));
        return medcl_random_normal(t, seed, stream, 0, 0, 0.0f, (float)(gain / sqrt((double)fan)));
    }
    default: return medcl_fail(MEDCL_ERR_INVALID_ARG, "init kind %d", (int)in->kind);
    }
}

static medcl_status build_variant(void *acc, const char *program, const char *defines) {
    return medcl_context_build_program((medcl_context *)acc, program, defines);
}

medcl_status medcl_graph_compile(medcl_graph *g, const medcl_graph_compile_options *o) {
    medcl_status st = MEDCL_OK;
    plan p = {0};
    size_t *arena_size = NULL;
    bool *reach = NULL;
    if (!g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_compile: graph is NULL");
    MEDCL_TRY(medcl_graph_status(g));
    if (g->compiled) return medcl_fail(MEDCL_ERR_STATE, "medcl_graph_compile: already compiled");
    medcl_graph_compile_options def = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    if (!o) o = &def;
    if (o->size < sizeof *o)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_compile: options.size = %zu, expected %zu",
                          o->size, sizeof *o);
    if (o->training && g->loss < 0)
        return medcl_fail(MEDCL_ERR_STATE, "medcl_graph_compile: training needs a loss (medcl_graph_set_loss)");
    const int N = g->n;
    const bool tr = o->training;
    g->training = tr;

    /* ---- autograd analysis ---- */
    reach = calloc((size_t)(N ? N : 1), 1);
    if (!reach) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "graph compile: out of memory");
    for (int i = 0; i < N; i++) {
        gnode *n = &g->nodes[i];
        n->requires_grad = tr && (n->role == ROLE_PARAM || (n->role == ROLE_INPUT && n->input_grad));
        if (tr && n->role == ROLE_OP)
            for (int s = 0; s < n->ninputs; s++)
                if (!((n->kind->nograd_slots >> s) & 1u) && graph_in(g, n, s)->requires_grad)
                    n->requires_grad = true;
    }
    if (tr) {
        reach[g->loss] = true;
        for (int i = g->loss; i >= 0; i--) {
            gnode *n = &g->nodes[i];
            if (!reach[i] || n->role != ROLE_OP) continue;
            for (int s = 0; s < n->ninputs; s++)
                if (!((n->kind->nograd_slots >> s) & 1u)) reach[n->inputs[s]] = true;
        }
    }
    for (int i = 0; i < N; i++) {
        gnode *n = &g->nodes[i];
        n->needs_backward = tr && n->role == ROLE_OP && n->requires_grad && reach[i];
        n->persistent = n->role != ROLE_OP || n->output || i == g->loss || !o->plan_memory;
        if (n->role == ROLE_OP && n->ninputs) {
            n->edge_tmp = calloc((size_t)n->ninputs, sizeof *n->edge_tmp);
            if (!n->edge_tmp) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "graph compile: out of memory");
        }
    }
    if (tr)
        for (int i = g->loss + 1; i < N; i++)
            for (int s = 0; s < g->nodes[i].ninputs; s++)
                if (g->nodes[i].inputs[s] == g->loss && g->nodes[i].needs_backward)
                    MEDCL_FAIL(MEDCL_ERR_STATE, "graph compile: the loss %s feeds node %s that needs "
                               "a backward pass; the loss must be the last differentiated node",
                               g->nodes[g->loss].name, g->nodes[i].name);

    /* ---- persistent tensors ---- */
    g->mem.persistent = 0;
    for (int i = 0; i < N; i++) {
        gnode *n = &g->nodes[i];
        if (n->persistent) MEDCL_TRY(own_tensor(g, n->name, n->dtype, n->ndim, n->shape, &n->value));
        if (n->role == ROLE_PARAM || (n->role == ROLE_INPUT && n->input_grad && tr)) {
            char nm[GRAPH_NAME + 8];
            snprintf(nm, sizeof nm, "%s.grad", n->name);
            MEDCL_TRY(own_tensor(g, nm, MEDCL_DTYPE_F32, n->ndim, n->shape, &n->grad));
            n->grad_owned = true;
        }
    }
    {
        int64_t one = 1;
        MEDCL_TRY(own_tensor(g, "graph.loss_sum", MEDCL_DTYPE_F32, 1, &one, &g->loss_sum));
        MEDCL_TRY(own_tensor(g, "graph.seed", MEDCL_DTYPE_F32, 1, &one, &g->seed));
        if (tr) g->nodes[g->loss].grad = g->seed;
    }

    /* ---- gradient edges, in backward order: the first edge into a node assigns ---- */
    bool *visited = reach; /* reuse: reset */
    memset(visited, 0, (size_t)(N ? N : 1));
    for (int c = N - 1; c >= 0 && tr; c--) {
        gnode *n = &g->nodes[c];
        if (!n->needs_backward) continue;
        for (int s = 0; s < n->ninputs; s++) {
            gnode *x = graph_in(g, n, s);
            if (((n->kind->nograd_slots >> s) & 1u) || !x->requires_grad) continue;
            if ((n->kind->accum_slots >> s) & 1u) continue;  /* op accumulates into the param grad */
            if (x->role == ROLE_PARAM || visited[n->inputs[s]]) n->edge_tmp[s] = (medcl_tensor *)1;
            visited[n->inputs[s]] = true;
        }
    }

    /* ---- planned tensors with their live intervals ---- */
    for (int i = 0; i < N; i++) {
        gnode *n = &g->nodes[i];
        if (n->role != ROLE_OP) continue;
        const int bwd_i = 2 * N - 1 - i;
        char label[GRAPH_NAME + 16];
        if (!n->persistent) {
            int end = i;
            for (int c = i + 1; c < N; c++) {
                gnode *m = &g->nodes[c];
                for (int s = 0; s < m->ninputs; s++) {
                    if (m->inputs[s] != i) continue;
                    if (c > end) end = c;
                    if (m->needs_backward && ((m->kind->bwd_needs_inputs >> s) & 1u) &&
                        2 * N - 1 - c > end)
                        end = 2 * N - 1 - c;
                }
            }
            if (n->needs_backward && n->kind->bwd_needs_output && bwd_i > end) end = bwd_i;
            MEDCL_TRY(plan_add(&p, &n->value, n->name, n->dtype, n->ndim, n->shape, i, end));
        }
        if (n->needs_backward && i != g->loss) {
            int start = bwd_i;
            for (int c = N - 1; c > i; c--) {
                gnode *m = &g->nodes[c];
                bool uses = false;
                for (int s = 0; s < m->ninputs; s++) uses |= m->inputs[s] == i;
                if (uses && m->needs_backward) {
                    start = 2 * N - 1 - c;
                    break;
                }
            }
            snprintf(label, sizeof label, "%s.grad", n->name);
            if (o->plan_memory)
                MEDCL_TRY(plan_add(&p, &n->grad, label, MEDCL_DTYPE_F32, n->ndim, n->shape, start, bwd_i));
            else {
                MEDCL_TRY(own_tensor(g, label, MEDCL_DTYPE_F32, n->ndim, n->shape, &n->grad));
                n->grad_owned = true;
            }
        }
        for (int k = 0; k < n->naux; k++) {
            snprintf(label, sizeof label, "%s.aux%d", n->name, k);
            MEDCL_TRY(plan_add(&p, &n->aux[k], label, n->aux_dtype[k], n->aux_ndim[k], n->aux_shape[k],
                               i, n->needs_backward ? bwd_i : i));
        }
        for (int s = 0; s < n->ninputs; s++) {
            if (!n->edge_tmp || !n->edge_tmp[s]) continue;
            gnode *x = graph_in(g, n, s);
            n->edge_tmp[s] = NULL;
            snprintf(label, sizeof label, "%s.dx%d", n->name, s);
            MEDCL_TRY(plan_add(&p, &n->edge_tmp[s], label, MEDCL_DTYPE_F32, x->ndim, x->shape, bwd_i, bwd_i));
        }
    }

    /* ---- place and allocate ---- */
    {
        size_t cap = (size_t)g->ctx->info.max_alloc;
        if (cap == 0 || cap > ((size_t)1 << 40)) cap = (size_t)1 << 40;
        cap = cap / PLAN_ALIGN * PLAN_ALIGN;
        arena_size = calloc((size_t)(p.n ? p.n : 1), sizeof *arena_size);
        if (!arena_size) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "graph compile: out of memory");
        int na = 0;
        if (o->plan_memory) {
            MEDCL_TRY(plan_place(&p, cap, arena_size, &na));
        } else {
            for (int i = 0; i < p.n; i++) {
                p.items[i].arena = i;
                p.items[i].off = 0;
                arena_size[i] = p.items[i].bytes;
            }
            na = p.n;
        }
        g->arenas = calloc((size_t)(na ? na : 1), sizeof *g->arenas);
        if (!g->arenas) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "graph compile: out of memory");
        g->narenas = na;
        g->mem.planned_peak = 0;
        g->mem.naive_sum = 0;
        for (int a = 0; a < na; a++) {
            char nm[32];
            snprintf(nm, sizeof nm, "graph.arena%d", a);
            medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
            d.dtype = MEDCL_DTYPE_U8;
            d.ndim = 1;
            d.shape[0] = (int64_t)(arena_size[a] ? arena_size[a] : PLAN_ALIGN);
            d.name = nm;
            MEDCL_TRY(medcl_tensor_create(g->ctx, &d, &g->arenas[a]));
            g->mem.planned_peak += (size_t)d.shape[0];
        }
        for (int i = 0; i < p.n; i++) {
            g->mem.naive_sum += p.items[i].bytes;
            MEDCL_TRY(make_view(g, g->arenas[p.items[i].arena], &p.items[i], p.items[i].slot));
        }
        g->mem.planned_tensors = p.n;
        g->mem.arenas = na;
        g->mem.size = sizeof g->mem;
    }

    /* ---- parameters and buffers: initial values ---- */
    for (int i = 0; i < N; i++) {
        gnode *n = &g->nodes[i];
        if (n->role == ROLE_PARAM || n->role == ROLE_BUFFER) {
            st = init_param(g, n, o->init_seed);
            if (st != MEDCL_OK) {
                graph_error(g, n, st);
                goto cleanup;
            }
        }
        if (n->grad && n->role == ROLE_PARAM) MEDCL_TRY(medcl_fill(n->grad, 0.0f));
    }
    MEDCL_TRY(medcl_fill(g->loss_sum, 0.0f));

    /* ---- every program the nodes use, built now ---- */
    {
        const graph_kind *done[64];
        int nd = 0;
        MEDCL_TRY(medcl_elementwise_variants(g->ctx, build_variant, g->ctx));
        MEDCL_TRY(medcl_random_variants(g->ctx, build_variant, g->ctx));
        MEDCL_TRY(medcl_optim_variants(g->ctx, build_variant, g->ctx));
        for (int i = 0; i < N; i++) {
            const graph_kind *k = g->nodes[i].kind;
            if (!k || !k->variants) continue;
            bool seen = false;
            for (int j = 0; j < nd; j++) seen |= done[j] == k;
            if (seen) continue;
            if (nd < 64) done[nd++] = k;
            st = k->variants(g->ctx, build_variant, g->ctx);
            if (st != MEDCL_OK) {
                graph_error(g, &g->nodes[i], st);
                goto cleanup;
            }
        }
    }
    g->compiled = true;
cleanup:
    free(reach);
    free(p.items);
    free(arena_size);
    return st;
}
