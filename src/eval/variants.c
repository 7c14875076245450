/* src/eval/variants.c — every program variant the whole library uses on a device: the ops'
 * list plus those of the layers above ops (augmentation, optimizers, preprocessing, inference).
 * It lives at the top library layer because it reaches into all the others. Used by
 * `medcl kernels build` to write complete kernel bundles. */
#include "core/internal.h"
#include "medcl/eval_variants.h"
#include "ops/ops_internal.h"

#include <stdlib.h>
#include <string.h>

medcl_status medcl_augment_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_infer_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_optim_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_preprocess_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_continual_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);

/* Families above ops; each has the medcl_variants_fn signature. */
static const medcl_variants_fn upper[] = {
    medcl_augment_variants,
    medcl_infer_variants,
    medcl_optim_variants,
    medcl_preprocess_variants,
    medcl_continual_variants,
};

typedef struct {
    medcl_program_variant *v;
    int n, cap;
    char **owned;
    int nowned;
} list_t;

static medcl_status add(void *accp, const char *program, const char *defines) {
    list_t *l = accp;
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].program, program) && !strcmp(l->v[i].defines, defines)) return MEDCL_OK;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        medcl_program_variant *g = realloc(l->v, (size_t)cap * sizeof *g);
        if (!g) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
        l->v = g;
        l->cap = cap;
    }
    char **o = realloc(l->owned, (size_t)(l->nowned + 2) * sizeof *o);
    if (!o) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
    l->owned = o;
    char *p = strdup(program), *d = strdup(defines);
    if (!p || !d) {
        free(p);
        free(d);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
    }
    l->owned[l->nowned++] = p;
    l->owned[l->nowned++] = d;
    l->v[l->n].program = p;
    l->v[l->n].defines = d;
    l->n++;
    return MEDCL_OK;
}

static void list_free(list_t *l) {
    for (int i = 0; i < l->nowned; i++) free(l->owned[i]);
    free(l->owned);
    free(l->v);
}

medcl_status medcl_library_variants(medcl_context *ctx, medcl_program_variant **out, int *count) {
    medcl_status st = MEDCL_OK;
    list_t l = {0};
    medcl_program_variant *ops = NULL;
    int nops = 0;
    if (!out || !count) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_library_variants: NULL out");
    *out = NULL;
    *count = 0;
    MEDCL_TRY(medcl_ops_variants(ctx, &ops, &nops));
    for (int i = 0; i < nops; i++) MEDCL_TRY(add(&l, ops[i].program, ops[i].defines));
    for (size_t i = 0; i < sizeof upper / sizeof upper[0]; i++) MEDCL_TRY(upper[i](ctx, add, &l));
    /* one allocation: array then strings, so free(*out) releases everything */
    size_t bytes = (size_t)l.n * sizeof(medcl_program_variant);
    for (int i = 0; i < l.n; i++) bytes += strlen(l.v[i].program) + strlen(l.v[i].defines) + 2;
    medcl_program_variant *res = malloc(bytes ? bytes : 1);
    if (!res) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
    char *p = (char *)(res + l.n);
    for (int i = 0; i < l.n; i++) {
        size_t a = strlen(l.v[i].program) + 1, b = strlen(l.v[i].defines) + 1;
        memcpy(p, l.v[i].program, a);
        res[i].program = p;
        p += a;
        memcpy(p, l.v[i].defines, b);
        res[i].defines = p;
        p += b;
    }
    *out = res;
    *count = l.n;
cleanup:
    free(ops);
    list_free(&l);
    return st;
}
