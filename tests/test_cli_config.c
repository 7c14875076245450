/* tests/test_cli_config.c — the `medcl train` configuration parser (src/cli/config.c, compiled
 * in here because it belongs to the program, not the library): valid configs with defaults
 * and every field, the effective JSON round trip, overrides (--set and flags), and errors
 * naming the JSON path and the value (bad values, wrong types, unknown and duplicate keys,
 * missing required fields, malformed JSON with its line). Host only: no device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cli/config.c"
#include "testutil.h"

static cli_config cfg;

static int teardown(void **state) {
    (void)state;
    cli_config_free(&cfg);
    return 0;
}

static medcl_status parse(const char *text) { return cli_config_parse(text, strlen(text), "config.json", NULL, 0, &cfg); }

static medcl_status parse_set(const char *text, const char *const *sets, int n) {
    return cli_config_parse(text, strlen(text), "config.json", sets, n, &cfg);
}

/* the error is FORMAT and its message contains every given fragment */
static void expect_error(medcl_status st, const char *a, const char *b) {
    if (st != MEDCL_ERR_FORMAT) fail_msg("status %s, message: %s", medcl_status_str(st), medcl_last_error());
    const char *msg = medcl_last_error();
    printf("    message: %s\n", msg);
    if (a && !strstr(msg, a)) fail_msg("\"%s\" not in \"%s\"", a, msg);
    if (b && !strstr(msg, b)) fail_msg("\"%s\" not in \"%s\"", b, msg);
}

#define SEG2D "{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"/data/D1\"}, " \
              "\"training\": {\"patch\": [64, 64]}"

static void test_minimal_defaults(void **state) {
    (void)state;
    if (parse(SEG2D "}") != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(cfg.task, CLI_TASK_SEGMENTATION);
    assert_int_equal(cfg.dataset.kind, CLI_DATASET_NNUNET);
    assert_string_equal(cfg.dataset.path, "/data/D1");
    assert_int_equal(cfg.dataset.fold, 0);
    assert_int_equal(cfg.dataset.folds, 5);
    /* nnU-Net v2 recipe */
    assert_int_equal(cfg.optimizer.kind, MEDCL_OPTIM_SGD);
    assert_true(cfg.lr == 1e-2);
    assert_true(cfg.optimizer.momentum == 0.99);
    assert_true(cfg.optimizer.nesterov);
    assert_true(cfg.optimizer.weight_decay == 3e-5);
    assert_true(cfg.optimizer.clip_norm == 12.0);
    assert_int_equal(cfg.schedule.kind, MEDCL_LR_POLY);
    assert_true(cfg.schedule.exponent == 0.9);
    assert_true(cfg.schedule.lr0 == 1e-2);
    assert_int_equal(cfg.schedule.total, 1000);
    assert_int_equal(cfg.loss, CLI_LOSS_DICE_CE);
    assert_int_equal(cfg.training.epochs, 1000);
    assert_int_equal(cfg.training.iterations, 250);
    assert_int_equal(cfg.training.batch, 2);
    assert_int_equal(cfg.training.patch[0], 1);
    assert_int_equal(cfg.training.patch[1], 64);
    assert_int_equal(cfg.training.patch[2], 64);
    assert_int_equal(cfg.model.kind, CLI_MODEL_UNET);
    assert_int_equal(cfg.model.dims, 2);
    assert_int_equal(cfg.model.features, 32);
    assert_int_equal(cfg.model.max_features, 512);
    assert_int_equal(cfg.model.norm, MEDCL_NORM_INSTANCE);
    assert_int_equal(cfg.model.activation, MEDCL_ACT_LEAKY_RELU);
    assert_true(cfg.model.deep_supervision);
    assert_string_equal(cfg.augmentation_preset, "nnunet");
    assert_null(cfg.augmentation_json);
    assert_string_equal(cfg.device, "");
}

static void test_full_3d_and_roundtrip(void **state) {
    (void)state;
    const char *text =
        "{\"task\": \"segmentation\",\n"
        " \"dataset\": {\"kind\": \"folders\", \"images\": \"img\", \"labels\": \"lab\", \"num_classes\": 3,\n"
        "             \"fold\": 1, \"folds\": 3, \"train_domains\": [\"siteA\", \"siteB\"], \"normalization\": [\"CT\"]},\n"
        " \"model\": {\"dims\": 3, \"levels\": 3, \"features\": 8, \"convs_per_stage\": 1, \"norm\": \"group\",\n"
        "           \"activation\": \"relu\", \"decoder\": \"upsample\", \"deep_supervision\": false, \"residual\": true,\n"
        "           \"in_channels\": 1},\n"
        " \"augmentation\": {\"transforms\": [{\"type\": \"gaussian_noise\", \"p\": 0.1, \"sigma\": [0, 0.1]}]},\n"
        " \"optimizer\": {\"kind\": \"adamw\", \"lr\": 0.0003, \"weight_decay\": 0.01, \"clip_norm\": 0},\n"
        " \"schedule\": {\"kind\": \"cosine\", \"warmup\": 2, \"lr_min\": 1e-6},\n"
        " \"loss\": \"dice\",\n"
        " \"training\": {\"epochs\": 10, \"iterations\": 5, \"batch\": 4, \"patch\": [16, 32, 32], \"threads\": 1},\n"
        " \"validation\": {\"every\": 2, \"step\": 0.75, \"mirror\": true, \"max_cases\": 3},\n"
        " \"seed\": 1234567, \"device\": \"pocl\", \"output\": \"runs/x\"}";
    if (parse(text) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(cfg.dataset.kind, CLI_DATASET_FOLDERS);
    assert_int_equal(cfg.dataset.num_classes, 3);
    assert_int_equal(cfg.dataset.n_train_domains, 2);
    assert_string_equal(cfg.dataset.train_domains[1], "siteB");
    assert_int_equal(cfg.n_norm, 1);
    assert_int_equal(cfg.norm_scheme[0], 1);
    assert_int_equal(cfg.model.dims, 3);
    assert_int_equal(cfg.model.max_features, 320); /* 3D default */
    assert_int_equal(cfg.model.norm, MEDCL_NORM_GROUP);
    assert_false(cfg.model.transposed_decoder);
    assert_true(cfg.model.residual);
    assert_non_null(cfg.augmentation_json);
    assert_int_equal(cfg.optimizer.kind, MEDCL_OPTIM_ADAMW);
    assert_false(cfg.optimizer.nesterov);
    assert_true(cfg.lr == 3e-4);
    assert_int_equal(cfg.schedule.kind, MEDCL_LR_COSINE);
    assert_int_equal(cfg.schedule.total, 10);
    assert_int_equal(cfg.loss, CLI_LOSS_DICE);
    assert_int_equal(cfg.training.patch[0], 16);
    assert_int_equal(cfg.validation.every, 2);
    assert_true(cfg.validation.mirror);
    assert_int_equal((int)cfg.seed, 1234567);
    assert_string_equal(cfg.device, "pocl");
    /* effective JSON parses back to the same struct */
    char *json = NULL;
    assert_int_equal(cli_config_to_json(&cfg, &json), MEDCL_OK);
    cli_config a = cfg;
    cfg.augmentation_json = NULL; /* a owns it now */
    if (parse(json) != MEDCL_OK) fail_msg("%s\n%s", medcl_last_error(), json);
    assert_string_equal(a.augmentation_json, cfg.augmentation_json);
    char *keep_a = a.augmentation_json, *keep_b = cfg.augmentation_json;
    a.augmentation_json = cfg.augmentation_json = NULL;
    assert_memory_equal(&a, &cfg, sizeof a);
    cfg.augmentation_json = keep_b;
    free(keep_a);
    free(json);
}

static void test_classification(void **state) {
    (void)state;
    const char *text = "{\"task\": \"classification\", \"dataset\": {\"kind\": \"classification-csv\", "
                       "\"path\": \"x.csv\"}, \"model\": {\"stages\": 2, \"blocks_per_stage\": 2}, "
                       "\"training\": {\"patch\": [32, 32]}}";
    if (parse(text) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(cfg.model.kind, CLI_MODEL_CLASSIFIER);
    assert_int_equal(cfg.loss, CLI_LOSS_CE);
    assert_int_equal(cfg.model.stages, 2);
    /* classification patches need not be divisible by 2^(levels-1) */
    const char *odd = "{\"task\": \"classification\", \"dataset\": {\"kind\": \"classification-csv\", "
                      "\"path\": \"x.csv\"}, \"training\": {\"patch\": [30, 30]}}";
    if (parse(odd) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    expect_error(parse("{\"task\": \"classification\", \"dataset\": {\"kind\": \"classification-csv\", "
                       "\"path\": \"x.csv\"}, \"loss\": \"dice\", \"training\": {\"patch\": [32, 32]}}"),
                 "$.loss = \"dice\"", "needs \"ce\"");
    expect_error(parse("{\"task\": \"classification\", \"dataset\": {\"kind\": \"phantom\"}}"), "$.dataset.kind",
                 "classification-csv");
}

static void test_builtin_datasets(void **state) {
    (void)state;
    if (parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\", \"cases\": 8, \"size\": 32}}") !=
        MEDCL_OK)
        fail_msg("%s", medcl_last_error());
    assert_int_equal(cfg.dataset.cases, 8);
    assert_int_equal(cfg.training.patch[1], 0); /* whole slice */
    if (parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"demo-brain\", \"downsample\": 4}}") != MEDCL_OK)
        fail_msg("%s", medcl_last_error());
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"demo-brain\"}, \"model\": {\"dims\": 3}}"),
                 "$.model.dims = 3", "2D slices");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"demo-brain\", \"downsample\": 3}}"),
                 "$.dataset.downsample = 3", "1, 2 or 4");
}

static void test_bad_values_name_path_and_value(void **state) {
    (void)state;
    expect_error(parse(SEG2D ", \"optimizer\": {\"lr\": -1}}"), "config.json: $.optimizer.lr = -1 (must be > 0)", NULL);
    expect_error(parse(SEG2D ", \"optimizer\": {\"lr\": \"fast\"}}"), "$.optimizer.lr = \"fast\"", "expected a number");
    expect_error(parse(SEG2D ", \"optimizer\": {\"kind\": \"lion\"}}"), "$.optimizer.kind = \"lion\"", "\"adamw\"");
    expect_error(parse(SEG2D ", \"optimizer\": {\"momentum\": 0}}"), "$.optimizer: momentum 0", "nesterov");
    expect_error(parse(SEG2D ", \"optimizer\": {\"momentum\": 0, \"nesterov\": true}}"), "$.optimizer.nesterov = true",
                 "momentum > 0");
    expect_error(parse(SEG2D ", \"model\": {\"dims\": 4}}"), "$.model.dims = 4", "2..3");
    expect_error(parse(SEG2D ", \"model\": {\"levels\": 2.5}}"), "$.model.levels = 2.5", "integer");
    expect_error(parse(SEG2D ", \"model\": {\"norm\": \"weird\"}}"), "$.model.norm = \"weird\"", "\"instance\"");
    expect_error(parse(SEG2D ", \"model\": {\"deep_supervision\": 1}}"), "$.model.deep_supervision = 1", "true or false");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\"}, \"training\": {\"epochs\": 0}}"), "$.training.epochs = 0", "1..1000000");
    expect_error(parse(SEG2D ", \"seed\": -3}"), "$.seed = -3", NULL);
    expect_error(parse(SEG2D ", \"loss\": \"focal\"}"), "$.loss = \"focal\"", NULL);
    expect_error(parse(SEG2D ", \"augmentation\": \"heavy\"}"), "$.augmentation = \"heavy\"", "preset");
    expect_error(parse(SEG2D ", \"augmentation\": {\"transforms\": [{\"type\": \"gaussian_noise\", \"sigma\": 3}]}}"),
                 "$.augmentation", "sigma");
    expect_error(parse(SEG2D ", \"validation\": {\"step\": 1.5}}"), "$.validation.step = 1.5", NULL);
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\", \"fold\": 5}}"),
                 "$.dataset.fold = 5", "< folds = 5");
    /* patch: count, divisibility, D of a 2D patch */
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"p\"}, "
                       "\"model\": {\"dims\": 3}, \"training\": {\"patch\": [64, 64]}}"),
                 "$.training.patch = [64,64]", "3 positive integers");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"p\"}, "
                       "\"training\": {\"patch\": [60, 64]}}"),
                 "$.training.patch = [60,64]", "divisible by 2^(levels-1) = 16");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"p\"}, "
                       "\"training\": {\"patch\": [2, 64, 64]}}"),
                 "$.training.patch", "D = 1");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"p\"}, "
                       "\"model\": {\"kind\": \"classifier\"}, \"training\": {\"patch\": [64, 64]}}"),
                 "$.model.kind = \"classifier\"", "needs \"unet\"");
}

static void test_unknown_and_duplicate_keys(void **state) {
    (void)state;
    expect_error(parse(SEG2D ", \"optimizer\": {\"lrr\": 0.1}}"), "config.json: $.optimizer.lrr: unknown key",
                 "expected one of: kind, lr,");
    expect_error(parse(SEG2D ", \"epochs\": 3}"), "$.epochs: unknown key", NULL);
    expect_error(parse(SEG2D ", \"model\": {\"dims\": 2, \"dims\": 3}}"), "$.model.dims: duplicate key", NULL);
    expect_error(parse(SEG2D ", \"model\": [1]}"), "$.model = [1]", "expected an object");
}

static void test_missing_required(void **state) {
    (void)state;
    expect_error(parse("{}"), "config.json: $.task: missing", "segmentation");
    expect_error(parse("{\"task\": \"segmentation\"}"), "$.dataset: missing", NULL);
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {}}"), "$.dataset.kind: missing", "\"phantom\"");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\"}}"), "$.dataset.path: missing",
                 "nnunet");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"folders\", \"images\": \"i\"}}"),
                 "$.dataset.labels: missing", NULL);
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"folders\", \"images\": \"i\", "
                       "\"labels\": \"l\"}}"),
                 "$.dataset.num_classes: missing", NULL);
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"p\"}}"),
                 "$.training.patch: missing", NULL);
}

static void test_malformed_json(void **state) {
    (void)state;
    expect_error(parse("{\"task\": \"segmentation\",\n \"dataset\": {\"kind\": }\n}"), "config.json: line 2", "malformed JSON");
    expect_error(parse(""), "malformed JSON", NULL);
    expect_error(parse("[1, 2]"), "$ = [1,2]", "expected an object");
}

static void test_overrides(void **state) {
    (void)state;
    const char *sets[] = {"optimizer.lr=0.001", "training.epochs=3", "device=cpu", "training.patch=[32,32]",
                          "validation.every=0", "model.deep_supervision=false", "output=/tmp/out dir"};
    if (parse_set(SEG2D "}", sets, 7) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_true(cfg.lr == 0.001);
    assert_true(cfg.schedule.lr0 == 0.001);
    assert_int_equal(cfg.training.epochs, 3);
    assert_int_equal(cfg.schedule.total, 3);
    assert_string_equal(cfg.device, "cpu");
    assert_int_equal(cfg.training.patch[2], 32);
    assert_int_equal(cfg.validation.every, 0);
    assert_false(cfg.model.deep_supervision);
    assert_string_equal(cfg.output, "/tmp/out dir");
    /* an override creates missing objects and is validated like the file */
    const char *s2[] = {"schedule.kind=constant"};
    if (parse_set(SEG2D "}", s2, 1) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(cfg.schedule.kind, MEDCL_LR_CONSTANT);
    const char *s3[] = {"optimizer.lr=-1"};
    expect_error(parse_set(SEG2D "}", s3, 1), "$.optimizer.lr = -1 (must be > 0)", NULL);
    const char *s4[] = {"optimizer.lrr=1"};
    expect_error(parse_set(SEG2D "}", s4, 1), "$.optimizer.lrr: unknown key", NULL);
    const char *s5[] = {"noequals"};
    assert_int_equal(parse_set(SEG2D "}", s5, 1), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "KEY=VALUE"));
    const char *s6[] = {"task.x=1"};
    assert_int_equal(parse_set(SEG2D "}", s6, 1), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "$.task"));
}

static void test_load_file(void **state) {
    (void)state;
    char dir[512], path[700];
    tu_tmpdir(dir, sizeof dir, "cli_config");
    snprintf(path, sizeof path, "%s/my-run.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(SEG2D ", \"optimizer\": {\"lr\": 0}}", f);
    fclose(f);
    medcl_status st = cli_config_load(path, NULL, 0, &cfg);
    expect_error(st, path, "$.optimizer.lr = 0 (must be > 0)");
    f = fopen(path, "w");
    fputs(SEG2D "}", f);
    fclose(f);
    if (cli_config_load(path, NULL, 0, &cfg) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_string_equal(cfg.output, "runs/my-run");
    snprintf(path, sizeof path, "%s/absent.json", dir);
    assert_int_equal(cli_config_load(path, NULL, 0, &cfg), MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), "absent.json"));
}

/* regularizers, continual and evaluation sections: values, defaults, the JSON round trip */
static void test_generalization_sections(void **state) {
    (void)state;
    const char *text =
        "{\"task\": \"segmentation\",\n"
        " \"dataset\": {\"kind\": \"phantom\", \"scanners\": [\"site_a\", \"site_b\", \"site_c\"]},\n"
        " \"model\": {\"levels\": 3},\n"
        " \"regularizers\": {\"dropout\": [0.0, 0.1, 0.3], \"label_smoothing\": 0.1,\n"
        "                  \"mixup\": {\"alpha\": 0.4, \"p\": 0.5}, \"cutmix\": {\"alpha\": 1.0},\n"
        "                  \"adversarial\": {\"method\": \"pgd\", \"epsilon\": 0.1, \"alpha\": 0.02, \"steps\": 5,\n"
        "                                  \"weight\": 0.3, \"random_start\": false}},\n"
        " \"continual\": {\"method\": \"lwf\", \"lambda\": 2.5, \"temperature\": 3, \"replay_fraction\": 0.5,\n"
        "               \"fisher_batches\": 4, \"domains\": [\"site_a\", \"site_c\", \"site_b\"]},\n"
        " \"evaluation\": {\"domains\": true, \"bootstrap\": 200,\n"
        "                \"robustness\": {\"method\": \"pgd\", \"epsilon\": [0.05, 0.1], \"steps\": 4}}}";
    if (parse(text) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_int_equal(cfg.dataset.n_scanners, 3);
    assert_string_equal(cfg.dataset.scanners[2], "site_c");
    assert_int_equal(cfg.regularizers.n_dropout, 3);
    assert_true(cli_dropout_at(&cfg, 0) == 0.0 && cli_dropout_at(&cfg, 2) == 0.3);
    assert_true(cfg.regularizers.label_smoothing == 0.1);
    assert_true(cfg.regularizers.mixup_alpha == 0.4 && cfg.regularizers.mixup_p == 0.5);
    assert_true(cfg.regularizers.cutmix_alpha == 1.0 && cfg.regularizers.cutmix_p == 1.0); /* p defaults to 1 */
    assert_int_equal(cfg.regularizers.adversarial.method, MEDCL_ADV_PGD);
    assert_true(cfg.regularizers.adversarial.epsilon == 0.1f);
    assert_int_equal(cfg.regularizers.adversarial.steps, 5);
    assert_false(cfg.regularizers.adversarial.random_start);
    assert_int_equal(medcl_adv_config_check(&cfg.regularizers.adversarial), MEDCL_OK);
    assert_int_equal(cfg.continual.method, CLI_CONTINUAL_LWF);
    assert_true(cfg.continual.lambda == 2.5 && cfg.continual.temperature == 3.0);
    assert_int_equal(cfg.continual.n_domains, 3);
    assert_string_equal(cfg.continual.domains[1], "site_c");
    assert_true(cfg.evaluation.domains);
    assert_int_equal(cfg.evaluation.bootstrap, 200);
    assert_int_equal(cfg.evaluation.robust_method, MEDCL_ADV_PGD);
    assert_int_equal(cfg.evaluation.n_epsilons, 2);
    char *json = NULL;
    assert_int_equal(cli_config_to_json(&cfg, &json), MEDCL_OK);
    cli_config a = cfg;
    if (parse(json) != MEDCL_OK) fail_msg("%s\n%s", medcl_last_error(), json);
    assert_memory_equal(&a, &cfg, sizeof a);
    free(json);
    /* one dropout rate for every stage; defaults: no regularizer, no continual stages */
    if (parse(SEG2D ", \"regularizers\": {\"dropout\": 0.25}}") != MEDCL_OK) fail_msg("%s", medcl_last_error());
    assert_true(cli_dropout_at(&cfg, 4) == 0.25);
    assert_int_equal(cfg.continual.method, CLI_CONTINUAL_NONE);
    assert_int_equal(cfg.regularizers.adversarial.method, MEDCL_ADV_NONE);
    assert_true(cfg.regularizers.mixup_p == 0.0 && cfg.regularizers.cutmix_p == 0.0);
    assert_false(cfg.evaluation.domains);
}

/* every error of the new sections names its JSON path and value */
static void test_generalization_errors(void **state) {
    (void)state;
#define PH "{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\"}, "
    static const struct {
        const char *json, *a, *b;
    } cases[] = {
        {PH "\"regularizers\": {\"dropout\": 1.0}}", "$.regularizers.dropout = 1", "[0, 1)"},
        {PH "\"regularizers\": {\"dropout\": [0.1, \"x\"]}}", "$.regularizers.dropout[1] = \"x\"", NULL},
        {PH "\"regularizers\": {\"dropout\": [0.1, 0.2]}}", "$.regularizers.dropout", "model.levels is 5"},
        {PH "\"regularizers\": {\"dropout\": true}}", "$.regularizers.dropout = true", NULL},
        {PH "\"regularizers\": {\"label_smoothing\": 1}}", "$.regularizers.label_smoothing = 1", NULL},
        {PH "\"loss\": \"dice\", \"regularizers\": {\"label_smoothing\": 0.1}}", "$.regularizers.label_smoothing",
         "cross-entropy"},
        {PH "\"regularizers\": {\"mixup\": {\"alpha\": 0}}}", "$.regularizers.mixup.alpha = 0", "(0, 1000]"},
        {PH "\"regularizers\": {\"cutmix\": {\"p\": 2}}}", "$.regularizers.cutmix.p = 2", NULL},
        {PH "\"regularizers\": {\"cutmix\": {\"beta\": 2}}}", "$.regularizers.cutmix.beta: unknown key", NULL},
        {PH "\"regularizers\": {\"adversarial\": {\"epsilon\": 0.1}}}", "$.regularizers.adversarial.method: missing",
         NULL},
        {PH "\"regularizers\": {\"adversarial\": {\"method\": \"cw\"}}}", "$.regularizers.adversarial.method = \"cw\"",
         "\"fgsm\""},
        {PH "\"regularizers\": {\"adversarial\": {\"method\": \"fgsm\", \"epsilon\": -0.1}}}",
         "$.regularizers.adversarial.epsilon = -0.1", NULL},
        {PH "\"regularizers\": {\"adversarial\": {\"method\": \"pgd\", \"steps\": 0}}}",
         "$.regularizers.adversarial.steps = 0", NULL},
        {PH "\"regularizers\": {\"adversarial\": {\"method\": \"fgsm\", \"weight\": 1.5}}}",
         "$.regularizers.adversarial.weight = 1.5", NULL},
        {PH "\"regularizers\": {\"weight_decay\": 1}}", "$.regularizers.weight_decay: unknown key", NULL},
        {PH "\"continual\": {\"domains\": [\"a\", \"b\"]}}", "$.continual.method: missing", NULL},
        {PH "\"continual\": {\"method\": \"si\", \"domains\": [\"a\", \"b\"]}}", "$.continual.method = \"si\"", NULL},
        {PH "\"continual\": {\"method\": \"none\", \"domains\": [\"a\", \"b\"]}}", "$.continual.method = \"none\"",
         NULL},
        {PH "\"continual\": {\"method\": \"ewc\"}}", "$.continual.domains: missing", NULL},
        {PH "\"continual\": {\"method\": \"ewc\", \"domains\": [\"a\"]}}", "$.continual.domains", "2.."},
        {PH "\"continual\": {\"method\": \"ewc\", \"domains\": [\"a\", \"a\"]}}", "$.continual.domains[1] = \"a\"",
         "listed twice"},
        {PH "\"continual\": {\"method\": \"ewc\", \"domains\": [\"a\", 3]}}", "$.continual.domains[1] = 3", NULL},
        {PH "\"continual\": {\"method\": \"ewc\", \"lambda\": -1, \"domains\": [\"a\", \"b\"]}}",
         "$.continual.lambda = -1", NULL},
        {PH "\"continual\": {\"method\": \"lwf\", \"temperature\": 0, \"domains\": [\"a\", \"b\"]}}",
         "$.continual.temperature = 0", NULL},
        {PH "\"continual\": {\"method\": \"replay\", \"replay_fraction\": 1.5, \"domains\": [\"a\", \"b\"]}}",
         "$.continual.replay_fraction = 1.5", NULL},
        {PH "\"continual\": {\"method\": \"ewc\", \"fisher_batches\": 0, \"domains\": [\"a\", \"b\"]}}",
         "$.continual.fisher_batches = 0", NULL},
        {PH "\"evaluation\": {\"domains\": 1}}", "$.evaluation.domains = 1", "true or false"},
        {PH "\"evaluation\": {\"bootstrap\": 5}}", "$.evaluation.bootstrap = 5", NULL},
        {PH "\"evaluation\": {\"robustness\": {\"method\": \"fgsm\"}}}", "$.evaluation.robustness.epsilon: missing",
         NULL},
        {PH "\"evaluation\": {\"robustness\": {\"epsilon\": [0.1, 0]}}}", "$.evaluation.robustness.epsilon[1] = 0",
         NULL},
        {PH "\"evaluation\": {\"robustness\": {\"method\": \"x\", \"epsilon\": [0.1]}}}",
         "$.evaluation.robustness.method = \"x\"", NULL},
    };
#undef PH
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        printf("  case %zu\n", i);
        expect_error(parse(cases[i].json), cases[i].a, cases[i].b);
    }
    /* cross-section rules */
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"nnunet\", \"path\": \"/d\", "
                       "\"scanners\": [\"noise\"]}, \"training\": {\"patch\": [64, 64]}}"),
                 "$.dataset.scanners", "demo-brain");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\", \"scanners\": [\"mri\"]}}"),
                 "$.dataset.scanners[0] = \"mri\"", "\"site_a\"");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\", \"scanners\": [\"noise\", "
                       "\"noise\"]}}"),
                 "$.dataset.scanners[1] = \"noise\"", "listed twice");
    expect_error(parse("{\"task\": \"segmentation\", \"dataset\": {\"kind\": \"phantom\", \"train_domains\": [\"a\"]}, "
                       "\"continual\": {\"method\": \"ewc\", \"domains\": [\"a\", \"b\"]}}"),
                 "$.dataset.train_domains", "continual");
    expect_error(parse("{\"task\": \"classification\", \"dataset\": {\"kind\": \"classification-csv\", \"path\": \"x.csv\"}, "
                       "\"training\": {\"patch\": [32, 32]}, \"regularizers\": {\"mixup\": {\"alpha\": 1}}}"),
                 "$.regularizers", "segmentation only");
}

/* every committed example config parses */
static void test_examples_parse(void **state) {
    (void)state;
    const char *names[] = {"seg2d.json", "seg3d.json", "classify.json", "demo.json", "study_regularizers.json",
                           "study_continual.json"};
    for (int i = 0; i < 6; i++) {
        char path[1024];
        const char *data = getenv("MEDCL_TEST_DATA"); /* tests/data */
        if (!data) skip();
        snprintf(path, sizeof path, "%s/../../examples/configs/%s", data, names[i]);
        if (cli_config_load(path, NULL, 0, &cfg) != MEDCL_OK) fail_msg("%s", medcl_last_error());
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_minimal_defaults, teardown),
        cmocka_unit_test_teardown(test_full_3d_and_roundtrip, teardown),
        cmocka_unit_test_teardown(test_classification, teardown),
        cmocka_unit_test_teardown(test_builtin_datasets, teardown),
        cmocka_unit_test_teardown(test_bad_values_name_path_and_value, teardown),
        cmocka_unit_test_teardown(test_unknown_and_duplicate_keys, teardown),
        cmocka_unit_test_teardown(test_missing_required, teardown),
        cmocka_unit_test_teardown(test_malformed_json, teardown),
        cmocka_unit_test_teardown(test_overrides, teardown),
        cmocka_unit_test_teardown(test_load_file, teardown),
        cmocka_unit_test_teardown(test_generalization_sections, teardown),
        cmocka_unit_test_teardown(test_generalization_errors, teardown),
        cmocka_unit_test_teardown(test_examples_parse, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
