/* tests/test_nn_train.c — integration: a tiny 2D U-Net and a tiny 3D U-Net learn bright disks
 * (spheres) on noise (Dice > 0.9 on held-out images), a residual classifier learns disk vs no
 * disk, training is bitwise reproducible run to run, and 2N steps equal N steps + checkpoint
 * save + load into a fresh graph and optimizer + N steps, bit for bit. Data are generated on
 * the host from a seed per step, so every run sees the same batches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medcl/nn.h"
#include "testutil.h"

/* ---- synthetic data: disks (2D) / balls (3D) of intensity +1 on N(0, 0.3) noise ---- */
static void make_sample(tu_rng *r, int dims, int64_t S, float *img, int32_t *lab, bool with_object) {
    int64_t D = dims == 3 ? S : 1, n = D * S * S;
    double cz = dims == 3 ? 4 + tu_uniform(r) * (double)(S - 8) : 0, cy = 4 + tu_uniform(r) * (double)(S - 8),
           cx = 4 + tu_uniform(r) * (double)(S - 8), rad = 2.5 + tu_uniform(r) * (double)S / 6.0;
    for (int64_t i = 0; i < n; i++) {
        int64_t z = i / (S * S), y = (i / S) % S, x = i % S;
        double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy) + (dims == 3 ? (z - cz) * (z - cz) : 0.0);
        int in = with_object && d2 <= rad * rad;
        img[i] = (float)(0.3 * tu_normal(r) + (in ? 1.0 : 0.0));
        if (lab) lab[i] = in;
    }
}

typedef struct seg {
    medcl_graph *g;
    medcl_optim *o;
    medcl_node x, t, loss;
    medcl_unet u;
    int dims;
    int64_t S, N;
} seg;

static void seg_build(seg *s, int dims, int64_t S, int64_t N, int levels, int base, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->dims = dims;
    s->S = S;
    s->N = N;
    assert_int_equal(medcl_graph_create(td_ctx(), &s->g), MEDCL_OK);
    int64_t xs[5] = {N, 1, S, S, S}, ts[5] = {N, 1, S, S, S};
    if (dims == 2) {
        xs[2] = xs[3] = S;
        ts[2] = ts[3] = S;
    }
    s->x = medcl_graph_input(s->g, "image", MEDCL_DTYPE_F32, dims + 2, xs);
    s->t = medcl_graph_input(s->g, "label", MEDCL_DTYPE_I32, dims + 2, ts);
    medcl_unet_config c = MEDCL_UNET_CONFIG_INIT;
    c.dims = dims;
    c.levels = levels;
    c.base_features = base;
    c.num_classes = 2;
    if (medcl_unet_build(s->g, &c, s->x, &s->u) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    s->loss = medcl_unet_loss(s->g, &s->u, &s->t, NULL);
    medcl_graph_mark_output(s->g, s->u.logits);
    if (medcl_graph_set_loss(s->g, s->loss) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    medcl_graph_compile_options o = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    o.init_seed = seed;
    if (medcl_graph_compile(s->g, &o) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    medcl_optim_config oc = MEDCL_OPTIM_CONFIG_INIT;
    oc.kind = MEDCL_OPTIM_ADAMW;
    oc.weight_decay = 1e-4;
    oc.clip_norm = 12.0;
    assert_int_equal(medcl_optim_create(td_ctx(), &oc, &s->o), MEDCL_OK);
    assert_int_equal(medcl_optim_add_graph(s->o, s->g), MEDCL_OK);
}

static void seg_free(seg *s) {
    medcl_optim_destroy(s->o);
    medcl_graph_destroy(s->g);
}

/* one training step on the batch of step `step` (data from data_seed + step) */
static float seg_step(seg *s, uint64_t data_seed, int step, double lr) {
    int64_t per = (s->dims == 3 ? s->S : 1) * s->S * s->S;
    float *img = malloc((size_t)(s->N * per) * 4);
    int32_t *lab = malloc((size_t)(s->N * per) * 4);
    tu_rng r = tu_rng_make(data_seed * 1000003u + (uint64_t)step);
    for (int64_t n = 0; n < s->N; n++) make_sample(&r, s->dims, s->S, img + n * per, lab + n * per, true);
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(s->g, s->x), img, (size_t)(s->N * per) * 4), MEDCL_OK);
    assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(s->g, s->t), lab, (size_t)(s->N * per) * 4), MEDCL_OK);
    medcl_step_stats st;
    if (medcl_train_step(s->g, s->o, lr, &st) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_false(st.skipped);
    free(img);
    free(lab);
    return st.loss;
}

/* Dice of the foreground over held-out batches (argmax of the logits) */
static double seg_dice(seg *s, int batches) {
    int64_t per = (s->dims == 3 ? s->S : 1) * s->S * s->S;
    float *img = malloc((size_t)(s->N * per) * 4);
    int32_t *lab = malloc((size_t)(s->N * per) * 4);
    tu_rng r = tu_rng_make(987654321);
    double tp = 0, fp = 0, fn = 0;
    for (int b = 0; b < batches; b++) {
        for (int64_t n = 0; n < s->N; n++) make_sample(&r, s->dims, s->S, img + n * per, lab + n * per, true);
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(s->g, s->x), img, (size_t)(s->N * per) * 4), MEDCL_OK);
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(s->g, s->t), lab, (size_t)(s->N * per) * 4), MEDCL_OK);
        assert_int_equal(medcl_graph_forward(s->g), MEDCL_OK);
        float *lg = td_download(medcl_graph_tensor(s->g, s->u.logits));
        for (int64_t n = 0; n < s->N; n++)
            for (int64_t i = 0; i < per; i++) {
                int pred = lg[(n * 2 + 1) * per + i] > lg[(n * 2) * per + i];
                int t = lab[n * per + i];
                tp += pred && t;
                fp += pred && !t;
                fn += !pred && t;
            }
        free(lg);
    }
    free(img);
    free(lab);
    return 2 * tp / (2 * tp + fp + fn);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void train_unet(int dims, int64_t S, int64_t N, int levels, int base, int steps, double lr) {
    seg s;
    double t0 = now();
    seg_build(&s, dims, S, N, levels, base, 7);
    double t1 = now();
    float first = 0, last = 0;
    for (int k = 0; k < steps; k++) {
        float l = seg_step(&s, 11, k, lr);
        if (k == 0) first = l;
        last = l;
    }
    double t2 = now();
    double dice = seg_dice(&s, 2);
    medcl_graph_memory m = MEDCL_GRAPH_MEMORY_INIT;
    assert_int_equal(medcl_graph_memory_report(s.g, &m), MEDCL_OK);
    printf("%dD U-Net (%lld params): compile %.2f s, %d steps %.2f s, loss %.4f -> %.4f, held-out Dice %.4f, "
           "plan peak %zu / naive %zu bytes (%.0f%%)\n", dims, (long long)medcl_graph_param_numel(s.g), t1 - t0,
           steps, t2 - t1, first, last, dice, m.planned_peak, m.naive_sum,
           100.0 * (double)m.planned_peak / (double)m.naive_sum);
    assert_true(dice > 0.9);
    assert_true(m.planned_peak < m.naive_sum);
    seg_free(&s);
}

static void test_unet2d_learns(void **state) {
    (void)state;
    train_unet(2, 32, 4, 3, 8, 50, 1e-2);
}

static void test_unet3d_learns(void **state) {
    (void)state;
    train_unet(3, 16, 2, 3, 4, 60, 2e-2);
}

/* every parameter of g, concatenated (malloc'd) */
static float *all_params(medcl_graph *g, size_t *bytes) {
    size_t total = 0;
    for (int i = 0; i < medcl_graph_param_count(g); i++)
        total += medcl_tensor_bytes(medcl_graph_tensor(g, medcl_graph_param_at(g, i)));
    float *all = malloc(total), *p = all;
    for (int i = 0; i < medcl_graph_param_count(g); i++) {
        medcl_tensor *t = medcl_graph_tensor(g, medcl_graph_param_at(g, i));
        assert_int_equal(medcl_tensor_download(t, p, medcl_tensor_bytes(t)), MEDCL_OK);
        p += medcl_tensor_numel(t);
    }
    *bytes = total;
    return all;
}

/* same seeds → same bits; 2N steps == N steps, save, load into fresh objects, N steps */
static void test_reproducible_and_resume(void **state) {
    (void)state;
    const int NS = 3;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "resume");
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    float *ref[2] = {NULL, NULL};
    size_t nbytes = 0;
    for (int run = 0; run < 2; run++) {
        seg s;
        seg_build(&s, 2, 16, 2, 2, 4, 99);
        for (int k = 0; k < 2 * NS; k++) seg_step(&s, 5, k, 1e-2);
        ref[run] = all_params(s.g, &nbytes);
        seg_free(&s);
    }
    assert_memory_equal(ref[0], ref[1], nbytes);
    /* N, save, fresh objects, load, N */
    seg a;
    seg_build(&a, 2, 16, 2, 2, 4, 99);
    for (int k = 0; k < NS; k++) seg_step(&a, 5, k, 1e-2);
    char *model = NULL;
    medcl_unet_config c = MEDCL_UNET_CONFIG_INIT;
    c.dims = 2;
    c.levels = 2;
    c.base_features = 4;
    assert_int_equal(medcl_unet_config_json(&c, &model), MEDCL_OK);
    medcl_checkpoint_info info = MEDCL_CHECKPOINT_INFO_INIT;
    info.model_json = model;
    info.step = NS;
    info.epoch = 1;
    info.rng_seed = 5;
    info.rng_counter = NS;
    if (medcl_checkpoint_save(path, a.g, a.o, &info) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    seg_free(&a);
    seg b;
    seg_build(&b, 2, 16, 2, 2, 4, 12345); /* different init: everything must come from the file */
    medcl_checkpoint_info got = MEDCL_CHECKPOINT_INFO_INIT;
    if (medcl_checkpoint_load(path, b.g, b.o, &got) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(got.step, NS);
    assert_int_equal(got.epoch, 1);
    assert_int_equal(got.rng_counter, NS);
    assert_string_equal(got.model_json, model);
    assert_int_equal(medcl_optim_steps(b.o), NS);
    for (int k = NS; k < 2 * NS; k++) seg_step(&b, 5, k, 1e-2);
    size_t nb2 = 0;
    float *res = all_params(b.g, &nb2);
    assert_int_equal(nb2, nbytes);
    assert_memory_equal(res, ref[0], nbytes);
    seg_free(&b);
    free(res);
    free(model);
    free(ref[0]);
    free(ref[1]);
}

/* a checkpoint of another model is rejected with the list of differences */
static void test_checkpoint_mismatch(void **state) {
    (void)state;
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "mismatch");
    snprintf(path, sizeof path, "%s/other.safetensors", dir);
    seg a, b;
    seg_build(&a, 2, 16, 2, 2, 4, 1);
    seg_build(&b, 2, 16, 2, 2, 8, 1); /* wider: every conv shape differs */
    assert_int_equal(medcl_checkpoint_save(path, a.g, NULL, NULL), MEDCL_OK);
    assert_int_equal(medcl_checkpoint_load(path, b.g, b.o, NULL), MEDCL_ERR_FORMAT);
    const char *msg = medcl_last_error();
    printf("mismatch: %.400s...\n", msg);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "enc0.conv0.weight"));
    assert_non_null(strstr(msg, "missing tensor optim.exp_avg."));
    assert_non_null(strstr(msg, "file has f32 (4, 1, 3, 3), the model needs f32 (8, 1, 3, 3)"));
    seg_free(&a);
    seg_free(&b);
}

static void test_classifier_learns(void **state) {
    (void)state;
    medcl_graph *g = NULL;
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    const int64_t N = 8, S = 16;
    int64_t xs[4] = {N, 1, S, S}, ts[2] = {N, 1};
    medcl_node x = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 4, xs);
    medcl_node t = medcl_graph_input(g, "label", MEDCL_DTYPE_I32, 2, ts);
    medcl_classifier_config c = MEDCL_CLASSIFIER_CONFIG_INIT;
    c.stages = 2;
    c.base_features = 8;
    medcl_node logits;
    if (medcl_classifier_build(g, &c, x, &logits) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    medcl_node loss = medcl_graph_ce_loss(g, logits, t, NULL);
    medcl_graph_mark_output(g, logits);
    assert_int_equal(medcl_graph_set_loss(g, loss), MEDCL_OK);
    medcl_graph_compile_options co = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    co.init_seed = 3;
    if (medcl_graph_compile(g, &co) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    medcl_optim_config oc = MEDCL_OPTIM_CONFIG_INIT;
    oc.kind = MEDCL_OPTIM_ADAM;
    medcl_optim *o = NULL;
    assert_int_equal(medcl_optim_create(td_ctx(), &oc, &o), MEDCL_OK);
    assert_int_equal(medcl_optim_add_graph(o, g), MEDCL_OK);
    float img[8 * 16 * 16];
    int32_t lab[8];
    tu_rng r = tu_rng_make(77);
    double t0 = now();
    float l0 = 0, l1 = 0;
    const int steps = 40;
    for (int k = 0; k < steps; k++) {
        for (int n = 0; n < N; n++) {
            lab[n] = n % 2;
            make_sample(&r, 2, S, img + n * S * S, NULL, lab[n]);
        }
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(g, x), img, sizeof img), MEDCL_OK);
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(g, t), lab, sizeof lab), MEDCL_OK);
        medcl_step_stats st;
        if (medcl_train_step(g, o, 3e-3, &st) != MEDCL_OK) fail_msg("%s", medcl_last_error());
        if (k == 0) l0 = st.loss;
        l1 = st.loss;
    }
    int correct = 0, total = 0;
    for (int b = 0; b < 4; b++) {
        for (int n = 0; n < N; n++) {
            lab[n] = (n + b) % 2;
            make_sample(&r, 2, S, img + n * S * S, NULL, lab[n]);
        }
        assert_int_equal(medcl_tensor_upload(medcl_graph_tensor(g, x), img, sizeof img), MEDCL_OK);
        assert_int_equal(medcl_graph_forward(g), MEDCL_OK);
        float *lg = td_download(medcl_graph_tensor(g, logits));
        for (int n = 0; n < N; n++) {
            correct += (lg[2 * n + 1] > lg[2 * n]) == lab[n];
            total++;
        }
        free(lg);
    }
    printf("classifier (%lld params): %d steps %.2f s, loss %.4f -> %.4f, held-out accuracy %d/%d\n",
           (long long)medcl_graph_param_numel(g), steps, now() - t0, l0, l1, correct, total);
    assert_true(correct >= total * 9 / 10);
    medcl_optim_destroy(o);
    medcl_graph_destroy(g);
}

/* deep-supervision heads: shapes and nnU-Net's weights; residual encoder; parameter count */
static void test_unet_structure(void **state) {
    (void)state;
    medcl_graph *g = NULL;
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    int64_t xs[5] = {1, 2, 16, 32, 32};
    medcl_node x = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 5, xs);
    medcl_unet_config c = MEDCL_UNET_CONFIG_INIT;
    c.in_channels = 2;
    c.num_classes = 3;
    c.levels = 4;
    c.base_features = 4;
    c.max_features = 16;
    c.deep_supervision = true;
    c.residual_encoder = true;
    c.transposed_decoder = false;
    medcl_unet u;
    if (medcl_unet_build(g, &c, x, &u) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(u.nheads, 3);
    /* 1, 1/2, 0 normalized */
    assert_true(fabs(u.head_weights[0] - 2.0 / 3.0) < 1e-15);
    assert_true(fabs(u.head_weights[1] - 1.0 / 3.0) < 1e-15);
    assert_true(u.head_weights[2] == 0.0);
    for (int i = 0; i < 3; i++) {
        int nd;
        int64_t s[5];
        assert_int_equal(medcl_graph_node_shape(g, u.heads[i], &nd, s), MEDCL_OK);
        assert_int_equal(nd, 5);
        assert_int_equal(s[1], 3);
        assert_int_equal(s[2], 16 >> i);
        assert_int_equal(s[4], 32 >> i);
    }
    /* features 4, 8, 16, 16 (capped): encoder convs + norms, decoder 1x1 up-convs, heads */
    int64_t f[4] = {4, 8, 16, 16}, cin = 2, want = 0;
    for (int s = 0; s < 4; s++) {
        want += (cin * 27 + 1) * f[s] + 2 * f[s] + (f[s] * 27 + 1) * f[s] + 2 * f[s];
        cin = f[s];
    }
    for (int s = 2; s >= 0; s--) {
        want += (f[s + 1] + 1) * f[s];                                         /* up 1x1 */
        want += (2 * f[s] * 27 + 1) * f[s] + 2 * f[s] + (f[s] * 27 + 1) * f[s] + 2 * f[s];
        want += (f[s] + 1) * 3;                                                /* head */
    }
    printf("U-Net parameters: %lld (expected %lld)\n", (long long)medcl_graph_param_numel(g), (long long)want);
    assert_int_equal(medcl_graph_param_numel(g), want);
    /* extents not divisible by 2^(levels-1) */
    medcl_graph_destroy(g);
    assert_int_equal(medcl_graph_create(td_ctx(), &g), MEDCL_OK);
    xs[2] = 12;
    x = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 5, xs);
    assert_int_equal(medcl_unet_build(g, &c, x, &u), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "12"));
    medcl_graph_destroy(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unet_structure),
        cmocka_unit_test(test_unet2d_learns),
        cmocka_unit_test(test_unet3d_learns),
        cmocka_unit_test(test_classifier_learns),
        cmocka_unit_test(test_reproducible_and_resume),
        cmocka_unit_test(test_checkpoint_mismatch),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
