/* src/ops/registry.c — the list of every program variant the ops use on a device, collected
 * from each op family; `medcl kernels build` compiles exactly these into a bundle. */
#include "ops_internal.h"

#include <stdlib.h>
#include <string.h>


static const medcl_variants_fn families[] = {
    medcl_elementwise_variants,
    medcl_reduce_variants,
    medcl_random_variants,
    medcl_pool_variants,
    medcl_upsample_variants,
    medcl_norm_variants,
    medcl_loss_variants,
    medcl_conv_variants,
    medcl_activation_variants,
    medcl_softmax_variants,
    medcl_concat_variants,
    medcl_broadcast_variants,
    medcl_linear_variants,
    medcl_dropout_variants,
};

typedef struct {
    medcl_program_variant *v;
    int n, cap;
    /* defines strings are interned here so the caller can free one array */
    char **strings;
    int ns;
} acc_t;

static char *intern(acc_t *a, const char *s) {
    for (int i = 0; i < a->ns; i++)
        if (!strcmp(a->strings[i], s)) return a->strings[i];
    char **g = realloc(a->strings, (size_t)(a->ns + 1) * sizeof *g);
    if (!g) return NULL;
    a->strings = g;
    char *c = strdup(s);
    if (!c) return NULL;
    a->strings[a->ns++] = c;
    return c;
}

static medcl_status add(void *accp, const char *program, const char *defines) {
    acc_t *a = accp;
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].program, program) && !strcmp(a->v[i].defines, defines)) return MEDCL_OK;
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 32;
        medcl_program_variant *g = realloc(a->v, (size_t)cap * sizeof *g);
        if (!g) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
        a->v = g;
        a->cap = cap;
    }
    char *p = intern(a, program), *d = intern(a, defines);
    if (!p || !d) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
    a->v[a->n].program = p;
    a->v[a->n].defines = d;
    a->n++;
    return MEDCL_OK;
}

static void acc_free(acc_t *a) {
    free(a->v);
    for (int j = 0; j < a->ns; j++) free(a->strings[j]);
    free(a->strings);
}

/* One allocation: the array followed by its strings, so free(*out) releases everything. */
medcl_status medcl_ops_variants(medcl_context *ctx, medcl_program_variant **out, int *count) {
    acc_t a = {0};
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        medcl_status st = families[i](ctx, add, &a);
        if (st != MEDCL_OK) {
            acc_free(&a);
            return st;
        }
    }
    size_t bytes = (size_t)a.n * sizeof(medcl_program_variant);
    for (int i = 0; i < a.n; i++) bytes += strlen(a.v[i].program) + strlen(a.v[i].defines) + 2;
    medcl_program_variant *res = malloc(bytes ? bytes : 1);
    if (!res) {
        acc_free(&a);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "variants: out of memory");
    }
    char *p = (char *)(res + a.n);
    for (int i = 0; i < a.n; i++) {
        size_t lp = strlen(a.v[i].program) + 1, ld = strlen(a.v[i].defines) + 1;
        memcpy(p, a.v[i].program, lp);
        res[i].program = p;
        p += lp;
        memcpy(p, a.v[i].defines, ld);
        res[i].defines = p;
        p += ld;
    }
    *count = a.n;
    *out = res;
    acc_free(&a);
    return MEDCL_OK;
}
