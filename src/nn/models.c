/* src/nn/models.c — model builders on the graph: the U-Net (nnU-Net's PlainConvUNet layout,
 * optional residual encoder, transposed-conv or up-sampling decoder, deep-supervision heads and
 * weights) and a residual CNN classifier; He initialization as nnU-Net's InitWeights_He.
 * Leaves out: anisotropic kernels/strides per stage (nnU-Net plans), attention, dropout. */
#include "graph/graph_internal.h"
#include "medcl/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mb {
    medcl_graph *g;
    int dims;
    medcl_norm_kind norm;
    medcl_activation act;
    float slope;
    float rate;      /* dropout rate of the convolutions being built (0: none) */
    uint64_t seed;   /* dropout seed */
} mb;

static medcl_node param(mb *m, const char *name, int ndim, const int64_t *shape, medcl_init_kind k,
                        double value) {
    medcl_init in = MEDCL_INIT_INIT;
    in.kind = k;
    in.value = value;
    in.neg_slope = 1e-2;
    return medcl_graph_param(m->g, name, ndim, shape, &in);
}

/* conv weight + bias (bias zero-initialized, as InitWeights_He) */
static medcl_node conv(mb *m, const char *prefix, medcl_node x, int64_t cin, int64_t cout, int k,
                       int stride, bool transpose) {
    char nm[GRAPH_NAME];
    int64_t ws[5];
    int nd = m->dims + 2;
    ws[0] = transpose ? cin : cout;
    ws[1] = transpose ? cout : cin;
    for (int i = 2; i < nd; i++) ws[i] = k;
    snprintf(nm, sizeof nm, "%s.weight", prefix);
    medcl_node w = param(m, nm, nd, ws, MEDCL_INIT_HE_NORMAL, 0.0);
    snprintf(nm, sizeof nm, "%s.bias", prefix);
    medcl_node b = param(m, nm, 1, &cout, MEDCL_INIT_ZEROS, 0.0);
    medcl_conv_params p = MEDCL_CONV_PARAMS_INIT;
    int a0 = m->dims == 2 ? 1 : 0;
    for (int a = a0; a < 3; a++) {
        p.kernel[a] = k;
        p.stride[a] = stride;
        p.pad[a] = transpose ? 0 : k / 2;
    }
    return transpose ? medcl_graph_conv_transpose(m->g, x, w, b, &p) : medcl_graph_conv(m->g, x, w, b, &p);
}

static medcl_node norm(mb *m, const char *prefix, medcl_node x, int64_t c) {
    char nm[GRAPH_NAME];
    snprintf(nm, sizeof nm, "%s.weight", prefix);
    medcl_node ga = param(m, nm, 1, &c, MEDCL_INIT_ONES, 0.0);
    snprintf(nm, sizeof nm, "%s.bias", prefix);
    medcl_node be = param(m, nm, 1, &c, MEDCL_INIT_ZEROS, 0.0);
    medcl_norm_params p = MEDCL_NORM_PARAMS_INIT;
    p.kind = m->norm;
    p.eps = 1e-5f;
    p.affine = 1;
    p.groups = (m->norm == MEDCL_NORM_GROUP && c % 4 == 0) ? 4 : 1;
    medcl_node rm = MEDCL_NODE_NONE, rv = MEDCL_NODE_NONE;
    if (m->norm == MEDCL_NORM_BATCH) {
        medcl_init z = MEDCL_INIT_INIT, o = MEDCL_INIT_INIT;
        o.kind = MEDCL_INIT_ONES;
        snprintf(nm, sizeof nm, "%s.running_mean", prefix);
        rm = medcl_graph_buffer(m->g, nm, 1, &c, &z);
        snprintf(nm, sizeof nm, "%s.running_var", prefix);
        rv = medcl_graph_buffer(m->g, nm, 1, &c, &o);
    }
    return medcl_graph_norm(m->g, x, ga, be, rm, rv, &p);
}

static medcl_node act(mb *m, medcl_node x) {
    medcl_activation_params p = MEDCL_ACTIVATION_PARAMS_INIT;
    p.act = m->act;
    p.slope = m->slope;
    return medcl_graph_activation(m->g, x, &p);
}

/* conv → [dropout] → norm → act, names "<prefix>.conv<k>", "<prefix>.norm<k>" */
static medcl_node cna(mb *m, const char *prefix, int k, medcl_node x, int64_t cin, int64_t cout, int stride,
                      bool with_act) {
    char c[GRAPH_NAME], n[GRAPH_NAME];
    snprintf(c, sizeof c, "%s.conv%d", prefix, k);
    snprintf(n, sizeof n, "%s.norm%d", prefix, k);
    medcl_node y = conv(m, c, x, cin, cout, 3, stride, false);
    if (m->rate > 0) {
        medcl_dropout_params dp = MEDCL_DROPOUT_PARAMS_INIT;
        dp.p = m->rate;
        dp.seed = m->seed;
        dp.stream = 0x44524f50u; /* "DROP"; the graph adds the node's ordinal */
        y = medcl_graph_dropout(m->g, y, &dp);
    }
    y = norm(m, n, y, cout);
    return with_act ? act(m, y) : y;
}

static medcl_status check_unet(const medcl_unet_config *c) {
    if (!c) return medcl_fail(MEDCL_ERR_INVALID_ARG, "unet: config is NULL");
    if (c->size < sizeof *c)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "unet: config.size = %zu, expected %zu", c->size, sizeof *c);
#define BAD(cond, f, v) \
    if (cond) return medcl_fail(MEDCL_ERR_INVALID_ARG, "unet: config." f " = %d", (int)(v))
    BAD(c->dims != 2 && c->dims != 3, "dims", c->dims);
    BAD(c->in_channels < 1, "in_channels", c->in_channels);
    BAD(c->num_classes < 1, "num_classes", c->num_classes);
    BAD(c->levels < 2 || c->levels > MEDCL_UNET_MAX_LEVELS, "levels", c->levels);
    BAD(c->base_features < 1, "base_features", c->base_features);
    BAD(c->max_features < c->base_features, "max_features", c->max_features);
    BAD(c->convs_per_stage < 1, "convs_per_stage", c->convs_per_stage);
#undef BAD
    return MEDCL_OK;
}

medcl_status medcl_unet_build(medcl_graph *g, const medcl_unet_config *c, medcl_node x, medcl_unet *out) {
    if (!g || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "unet: NULL argument");
    memset(out, 0, sizeof *out);
    medcl_status st = check_unet(c);
    if (st != MEDCL_OK) return st;
    st = medcl_graph_status(g);
    if (st != MEDCL_OK) return st;
    int nd = 0;
    int64_t xs[MEDCL_MAX_DIMS];
    st = medcl_graph_node_shape(g, x, &nd, xs);
    if (st != MEDCL_OK) return st;
    if (nd != c->dims + 2 || xs[1] != c->in_channels)
        return medcl_fail(MEDCL_ERR_SHAPE, "unet: input %s has %d dimensions and %lld channels, config "
                          "wants %d and %d", medcl_graph_node_name(g, x), nd, (long long)xs[1],
                          c->dims + 2, c->in_channels);
    int64_t div = (int64_t)1 << (c->levels - 1);
    for (int a = 2; a < nd; a++)
        if (xs[a] % div)
            return medcl_fail(MEDCL_ERR_SHAPE, "unet: input extent %lld (axis %d) is not divisible by "
                              "2^(levels-1) = %lld", (long long)xs[a], a, (long long)div);
    mb m = {g, c->dims, c->norm, c->act, c->slope, 0.0f, c->dropout_seed};
    int64_t f[MEDCL_UNET_MAX_LEVELS];
    medcl_node skip[MEDCL_UNET_MAX_LEVELS];
    char pre[GRAPH_NAME];
    medcl_node h = x;
    int64_t cin = c->in_channels;
    for (int s = 0; s < c->levels; s++) {
        m.rate = c->dropout[s];
        int64_t fs = (int64_t)c->base_features << s;
        f[s] = fs < c->max_features ? fs : c->max_features;
        snprintf(pre, sizeof pre, "enc%d", s);
        medcl_node first = cna(&m, pre, 0, h, cin, f[s], s ? 2 : 1, true);
        h = first;
        for (int k = 1; k < c->convs_per_stage; k++) {
            bool last = k == c->convs_per_stage - 1;
            bool res = c->residual_encoder && last;
            h = cna(&m, pre, k, h, f[s], f[s], 1, !res);
            if (res) h = act(&m, medcl_graph_add(g, first, h));
        }
        skip[s] = h;
        cin = f[s];
    }
    int nheads = 0;
    medcl_node heads_rev[MEDCL_UNET_MAX_LEVELS];
    for (int s = c->levels - 2; s >= 0; s--) {
        m.rate = c->dropout[s];
        snprintf(pre, sizeof pre, "dec%d.up", s);
        medcl_node up;
        if (c->transposed_decoder) {
            up = conv(&m, pre, h, cin, f[s], 2, 2, true);
        } else {
            medcl_upsample_params up_p = MEDCL_UPSAMPLE_PARAMS_INIT;
            for (int a = c->dims == 2 ? 1 : 0; a < 3; a++) up_p.scale[a] = 2.0;
            up = conv(&m, pre, medcl_graph_upsample(g, h, &up_p), cin, f[s], 1, 1, false);
        }
        medcl_node cat[2] = {up, skip[s]};
        h = medcl_graph_concat(g, cat, 2);
        snprintf(pre, sizeof pre, "dec%d", s);
        for (int k = 0; k < c->convs_per_stage; k++) h = cna(&m, pre, k, h, k ? f[s] : 2 * f[s], f[s], 1, true);
        cin = f[s];
        if (c->deep_supervision || s == 0) heads_rev[nheads++] = h;
    }
    /* heads: index 0 is full resolution */
    out->nheads = nheads;
    for (int i = 0; i < nheads; i++) {
        medcl_node hi = heads_rev[nheads - 1 - i];
        int64_t hc = f[i];  /* decoder stage i has f[i] features */
        snprintf(pre, sizeof pre, "seg%d", i);
        out->heads[i] = conv(&m, pre, hi, hc, c->num_classes, 1, 1, false);
    }
    out->logits = out->heads[0];
    /* nnU-Net deep supervision weights: 1/2^i, the coarsest 0, normalized */
    double sum = 0.0;
    for (int i = 0; i < nheads; i++) {
        out->head_weights[i] = (nheads > 1 && i == nheads - 1) ? 0.0 : 1.0 / (double)(1 << i);
        sum += out->head_weights[i];
    }
    for (int i = 0; i < nheads; i++) out->head_weights[i] /= sum;
    return medcl_graph_status(g);
}

medcl_node medcl_unet_loss(medcl_graph *g, const medcl_unet *u, const medcl_node *targets,
                           const medcl_dice_ce_loss_params *dc) {
    if (!g || g->status != MEDCL_OK || !u || !targets) return MEDCL_NODE_NONE;
    medcl_node total = MEDCL_NODE_NONE;
    for (int i = 0; i < u->nheads; i++) {
        if (u->head_weights[i] == 0.0) continue;
        medcl_node l = medcl_graph_dice_ce_loss(g, u->heads[i], targets[i], dc);
        if (u->head_weights[i] != 1.0) l = medcl_graph_scale(g, l, (float)u->head_weights[i]);
        total = total.id < 0 ? l : medcl_graph_add(g, total, l);
    }
    return total;
}

medcl_node medcl_unet_loss_target(medcl_graph *g, const medcl_unet *u, medcl_node target,
                                  const medcl_dice_ce_loss_params *dc) {
    if (!g || g->status != MEDCL_OK) return MEDCL_NODE_NONE;
    if (!u || u->nheads < 1 || u->nheads > MEDCL_UNET_MAX_LEVELS) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "unet loss: the U-Net is %s", u ? "not built" : "NULL");
        graph_error(g, NULL, MEDCL_ERR_INVALID_ARG);
        return MEDCL_NODE_NONE;
    }
    medcl_node targets[MEDCL_UNET_MAX_LEVELS];
    int nd = 0;
    int64_t ts[MEDCL_MAX_DIMS];
    if (medcl_graph_node_shape(g, target, &nd, ts) != MEDCL_OK) return MEDCL_NODE_NONE;
    targets[0] = target;
    for (int i = 1; i < u->nheads; i++) {
        targets[i] = MEDCL_NODE_NONE;
        if (u->head_weights[i] == 0.0) continue; /* left out of the loss: no target needed */
        medcl_downsample_params p = MEDCL_DOWNSAMPLE_PARAMS_INIT;
        for (int a = 0; a < 3; a++) p.factor[a] = 1 << i;
        char nm[GRAPH_NAME];
        snprintf(nm, sizeof nm, "%s.ds%d", medcl_graph_node_name(g, target), i);
        targets[i] = medcl_graph_named(g, medcl_graph_downsample_nearest(g, target, &p), nm);
    }
    return medcl_unet_loss(g, u, targets, dc);
}

medcl_status medcl_unet_config_json(const medcl_unet_config *c, char **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "unet config json: out is NULL");
    *out = NULL;
    medcl_status st = check_unet(c);
    if (st != MEDCL_OK) return st;
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"model\":\"unet\",\"dims\":%d,\"in_channels\":%d,\"num_classes\":%d,\"levels\":%d,"
             "\"base_features\":%d,\"max_features\":%d,\"convs_per_stage\":%d,\"norm\":%d,"
             "\"activation\":%d,\"slope\":%.9g,\"transposed_decoder\":%s,\"deep_supervision\":%s,"
             "\"residual_encoder\":%s}",
             c->dims, c->in_channels, c->num_classes, c->levels, c->base_features, c->max_features,
             c->convs_per_stage, (int)c->norm, (int)c->act, (double)c->slope,
             c->transposed_decoder ? "true" : "false", c->deep_supervision ? "true" : "false",
             c->residual_encoder ? "true" : "false");
    *out = strdup(buf);
    return *out ? MEDCL_OK : medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "unet config json: out of memory");
}

medcl_status medcl_classifier_build(medcl_graph *g, const medcl_classifier_config *c, medcl_node x,
                                    medcl_node *logits) {
    if (!g || !c || !logits) return medcl_fail(MEDCL_ERR_INVALID_ARG, "classifier: NULL argument");
    *logits = MEDCL_NODE_NONE;
    if (c->size < sizeof *c)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "classifier: config.size = %zu, expected %zu", c->size,
                          sizeof *c);
    if ((c->dims != 2 && c->dims != 3) || c->in_channels < 1 || c->num_classes < 1 || c->stages < 1 ||
        c->base_features < 1 || c->blocks_per_stage < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "classifier: config dims %d, in_channels %d, num_classes %d, "
                          "stages %d, base_features %d, blocks_per_stage %d", c->dims, c->in_channels,
                          c->num_classes, c->stages, c->base_features, c->blocks_per_stage);
    medcl_status st = medcl_graph_status(g);
    if (st != MEDCL_OK) return st;
    mb m = {g, c->dims, c->norm, c->act, c->slope, 0.0f, 0};
    char pre[GRAPH_NAME];
    int64_t f = c->base_features;
    medcl_node h = cna(&m, "stem", 0, x, c->in_channels, f, 1, true);
    for (int s = 0; s < c->stages; s++) {
        int64_t fs = (int64_t)c->base_features << s;
        if (s > 0) {
            snprintf(pre, sizeof pre, "stage%d.down", s);
            h = cna(&m, pre, 0, h, f, fs, 2, true);
            f = fs;
        }
        for (int b = 0; b < c->blocks_per_stage; b++) {
            snprintf(pre, sizeof pre, "stage%d.block%d", s, b);
            medcl_node y = cna(&m, pre, 0, h, f, f, 1, true);
            y = cna(&m, pre, 1, y, f, f, 1, false);
            h = act(&m, medcl_graph_add(g, h, y));
        }
    }
    medcl_node pooled = medcl_graph_global_avg_pool(g, h);
    int nd = 0;
    int64_t ps[MEDCL_MAX_DIMS];
    st = medcl_graph_node_shape(g, pooled, &nd, ps);
    if (st != MEDCL_OK) return st;
    int64_t flat[2] = {ps[0], ps[1]};
    medcl_node v = medcl_graph_reshape(g, pooled, 2, flat);
    int64_t ws[2] = {c->num_classes, f};
    int64_t nc = c->num_classes;
    /* linear head: PyTorch's default init is Kaiming-uniform; He-normal with fan_in here */
    medcl_node w = param(&m, "head.weight", 2, ws, MEDCL_INIT_HE_NORMAL, 0.0);
    medcl_node b = param(&m, "head.bias", 1, &nc, MEDCL_INIT_ZEROS, 0.0);
    *logits = medcl_graph_linear(g, v, w, b);
    return medcl_graph_status(g);
}
