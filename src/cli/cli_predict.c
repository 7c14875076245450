/* src/cli/cli_predict.c — `medcl predict --checkpoint CKPT INPUT... --out DIR`: the model
 * configuration comes from the checkpoint's metadata (medcl.model, written by `medcl train`),
 * each image (PNG or NIfTI; multi-channel cases as CASE_0000.ext, CASE_0001.ext, ...) is
 * normalized as in training and segmented by sliding-window inference, and the label map
 * (or the softmax probabilities) is written with the source geometry: NIfTI via
 * medcl_nifti_write(geometry_from = the input), PNG via medcl_png_write_labels.
 * Segmentation models only. Leaves out: CT normalization (needs the training set's
 * statistics), resampling to the training spacing, classification models. */
#include "cli.h"
#include "cli/config.h"
#include "cli/trainer.h"
#include "core/internal.h"
#include "medcl/data.h"
#include "medcl/infer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_predict(int argc, char **argv);

static void predict_usage(FILE *f) {
    fprintf(f,
            "usage: medcl predict --checkpoint CKPT --out DIR [options] INPUT...\n"
            "\n"
            "Segments each INPUT (.png, .nii, .nii.gz) with the model of a `medcl train` checkpoint\n"
            "and writes OUT/CASE.ext (CASE: the input's name without _0000 and extension) with the\n"
            "input's geometry. A case of several channels is named by its first file CASE_0000.ext;\n"
            "the others (CASE_0001.ext, ...) are read from the same folder.\n"
            "\n"
            "options:\n"
            "  --checkpoint CKPT   a .safetensors file written by medcl train (required)\n"
            "  --out DIR           output folder (required; created)\n"
            "  --probabilities     write softmax probabilities instead of labels: NIfTI as a 4-D\n"
            "                      float volume (x, y, z, class), PNG as CASE_prob<k>.png (16-bit)\n"
            "  --step F            sliding-window step as a fraction of the patch (default 0.5)\n"
            "  --mirror            mirroring test-time augmentation over every spatial axis\n"
            "  --batch N           patches per forward pass (default 2)\n"
            "  --device SEL        device (gpu, cpu, an index, P:D or a name substring)\n"
            "\n"
            "exit codes: 0 done, 1 error, 2 bad command line, 3 no device, 4 malformed checkpoint or\n"
            "            image\n");
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* "dir/CASE_0000.nii.gz" → case "CASE", ending ".nii.gz", prefix "dir/CASE" */
static const char *split_name(const char *path, char *case_id, size_t n, char *prefix, size_t pn) {
    const char *ending = ends_with(path, ".nii.gz") ? ".nii.gz" : ends_with(path, ".nii") ? ".nii"
                         : ends_with(path, ".png")  ? ".png"
                                                    : NULL;
    if (!ending) return NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base) - strlen(ending);
    size_t pl = strlen(path) - strlen(ending);
    bool ch = bl > 5 && base[bl - 5] == '_' && !strncmp(base + bl - 4, "0000", 4);
    if (ch) {
        bl -= 5;
        pl -= 5;
    }
    snprintf(case_id, n, "%.*s", (int)bl, base);
    snprintf(prefix, pn, "%.*s", (int)pl, path);
    return ending;
}

typedef struct predictor {
    medcl_graph *g;
    medcl_tensor *in, *logits;
} predictor;

static medcl_status predict_fn(void *user, const medcl_tensor *patch_batch, medcl_tensor *logits) {
    predictor *p = user;
    medcl_status st = medcl_tensor_copy(p->in, patch_batch);
    if (st == MEDCL_OK) st = medcl_graph_forward(p->g);
    if (st == MEDCL_OK) st = medcl_tensor_copy(logits, p->logits);
    return st;
}

static medcl_status normalize(float *x, int64_t n, int scheme, const char *file, int c) {
    switch ((medcl_norm_scheme)scheme) {
    case MEDCL_NORM_ZSCORE: return medcl_normalize_zscore(x, n, NULL);
    case MEDCL_NORM_RESCALE: return medcl_normalize_rescale(x, n);
    case MEDCL_NORM_NONE: return MEDCL_OK;
    case MEDCL_NORM_RGB_TO_01:
        for (int64_t i = 0; i < n; i++) x[i] /= 255.0f;
        return MEDCL_OK;
    default:
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: channel %d uses CT normalization, which predict cannot apply "
                          "(it needs the training set's statistics)", file, c);
    }
}

/* Reads one case: image (C, D, H, W) floats, normalized; src keeps the NIfTI geometry. */
static medcl_status read_case(const char *path, const char *ending, const char *prefix, const cli_config *c,
                              float **img, int64_t dim[3], medcl_volume **src) {
    medcl_status st = MEDCL_OK;
    medcl_image2d *p = NULL;
    medcl_volume *v = NULL;
    int C = c->model.in_channels;
    *img = NULL;
    *src = NULL;
    for (int ch = 0; ch < C;) {
        char f[2048];
        if (ch == 0) snprintf(f, sizeof f, "%s", path);
        else snprintf(f, sizeof f, "%s_%04d%s", prefix, ch, ending);
        int64_t got = 0, d[3];
        const float *data = NULL;
        int64_t stride = 1;
        if (!strcmp(ending, ".png")) {
            medcl_image2d_free(p);
            p = NULL;
            MEDCL_TRY(medcl_png_read(f, NULL, &p));
            d[0] = 1;
            d[1] = p->height;
            d[2] = p->width;
            got = p->channels;
            data = p->data;
            stride = p->channels;
        } else {
            medcl_volume_free(v);
            v = NULL;
            MEDCL_TRY(medcl_nifti_read(f, NULL, &v));
            d[0] = v->dim[2];
            d[1] = v->dim[1];
            d[2] = v->dim[0];
            got = v->dim[3];
            data = v->data;
            if (v->nonfinite)
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: %lld NaN/Inf voxels", f, (long long)v->nonfinite);
        }
        if (ch == 0) {
            memcpy(dim, d, sizeof d);
            *img = malloc((size_t)(C * d[0] * d[1] * d[2]) * sizeof(float));
            if (!*img) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", f);
        } else if (memcmp(dim, d, sizeof d)) {
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: size %lldx%lldx%lld differs from %s (%lldx%lldx%lld)", f, (long long)d[0],
                       (long long)d[1], (long long)d[2], path, (long long)dim[0], (long long)dim[1], (long long)dim[2]);
        }
        if (ch + got > C)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: %lld channel%s, the model takes %d in all", f, (long long)got,
                       got == 1 ? "" : "s", C);
        int64_t nv = d[0] * d[1] * d[2];
        for (int64_t k = 0; k < got; k++) {
            float *dst = *img + (ch + k) * nv;
            if (stride == 1) memcpy(dst, data + k * nv, (size_t)nv * sizeof(float));
            else
                for (int64_t i = 0; i < nv; i++) dst[i] = data[i * stride + k];
            MEDCL_TRY(normalize(dst, nv, c->norm_scheme[ch + k], f, (int)(ch + k)));
        }
        if (ch == 0 && v) {
            *src = v;
            v = NULL;
        }
        ch += (int)got;
    }
cleanup:
    medcl_image2d_free(p);
    medcl_volume_free(v);
    if (st != MEDCL_OK) {
        free(*img);
        *img = NULL;
        medcl_volume_free(*src);
        *src = NULL;
    }
    return st;
}

static medcl_status predict_one(medcl_context *ctx, predictor *pr, const cli_config *c, const char *path,
                                const char *out_dir, bool probs, double step, int batch, bool mirror) {
    medcl_status st = MEDCL_OK;
    float *img = NULL, *res = NULL;
    medcl_volume *src = NULL, *ov = NULL;
    medcl_tensor *x = NULL, *y = NULL;
    uint8_t *lab8 = NULL;
    uint16_t *g16 = NULL;
    char case_id[512], prefix[1536], outp[2600];
    int64_t dim[3];
    const char *ending = split_name(path, case_id, sizeof case_id, prefix, sizeof prefix);
    if (!ending) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: not a .png, .nii or .nii.gz file", path);
    MEDCL_TRY(read_case(path, ending, prefix, c, &img, dim, &src));
    int C = c->model.in_channels, K = c->model.num_classes;
    int64_t nv = dim[0] * dim[1] * dim[2];
    int64_t xs[5] = {1, C, dim[0], dim[1], dim[2]};
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "predict.image", 5, xs, &x));
    MEDCL_TRY(medcl_tensor_upload(x, img, medcl_tensor_bytes(x)));
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.name = "predict.out";
    d.ndim = 5;
    d.dtype = probs ? MEDCL_DTYPE_F32 : MEDCL_DTYPE_I32;
    int64_t ys[5] = {1, probs ? K : 1, dim[0], dim[1], dim[2]};
    memcpy(d.shape, ys, sizeof ys);
    MEDCL_TRY(medcl_tensor_create(ctx, &d, &y));
    medcl_infer_options io = MEDCL_INFER_OPTIONS_INIT;
    memcpy(io.patch, c->training.patch, sizeof io.patch);
    io.num_classes = K;
    io.step = step;
    io.batch = batch;
    io.mirror_axes = mirror ? MEDCL_INFER_MIRROR_ALL : 0u;
    io.output = probs ? MEDCL_INFER_OUTPUT_PROBS : MEDCL_INFER_OUTPUT_LABELS;
    MEDCL_TRY(medcl_infer_sliding_window(x, &io, predict_fn, pr, y, NULL));
    int64_t nout = probs ? nv * K : nv;
    res = malloc((size_t)nout * sizeof(float));
    if (!res) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    MEDCL_TRY(medcl_tensor_download(y, res, (size_t)nout * sizeof(float)));
    if (!probs) { /* i32 → float in place (same size) */
        int32_t *li = (int32_t *)res;
        for (int64_t i = 0; i < nv; i++) res[i] = (float)li[i];
    }
    if (!strcmp(ending, ".png")) {
        if (!probs) {
            lab8 = malloc((size_t)nv);
            if (!lab8) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
            for (int64_t i = 0; i < nv; i++) lab8[i] = (uint8_t)res[i];
            snprintf(outp, sizeof outp, "%s/%s.png", out_dir, case_id);
            MEDCL_TRY(medcl_png_write_labels(outp, dim[2], dim[1], lab8));
            printf("%s\n", outp);
        } else {
            g16 = malloc((size_t)nv * sizeof *g16);
            if (!g16) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
            for (int k = 0; k < K; k++) {
                for (int64_t i = 0; i < nv; i++) g16[i] = (uint16_t)lrintf(res[k * nv + i] * 65535.0f);
                snprintf(outp, sizeof outp, "%s/%s_prob%d.png", out_dir, case_id, k);
                MEDCL_TRY(medcl_png_write_gray16(outp, dim[2], dim[1], g16));
                printf("%s\n", outp);
            }
        }
    } else {
        int64_t vd[4] = {dim[2], dim[1], dim[0], probs ? K : 1};
        MEDCL_TRY(medcl_volume_create(vd, &ov));
        memcpy(ov->data, res, (size_t)nout * sizeof(float));
        snprintf(outp, sizeof outp, "%s/%s%s", out_dir, case_id, ending);
        MEDCL_TRY(medcl_nifti_write(outp, ov, probs ? MEDCL_NIFTI_F32 : MEDCL_NIFTI_U8, src));
        printf("%s\n", outp);
    }
cleanup:
    free(img);
    free(res);
    free(lab8);
    free(g16);
    medcl_volume_free(src);
    medcl_volume_free(ov);
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(y);
    return st;
}

int cli_predict(int argc, char **argv) {
    const char *ckpt = NULL, *out = NULL, *device = NULL;
    bool probs = false, mirror = false;
    double step = 0.5;
    int batch = 2, rc = CLI_EXIT_OK, ninputs = 0;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    medcl_safetensors *f = NULL;
    medcl_context *ctx = NULL;
    medcl_graph *g = NULL;
    cli_config cfg;
    cli_config_init(&cfg);
    medcl_status st = MEDCL_OK;
    if (!inputs) return CLI_EXIT_ERROR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (cli_is(a, "--help", "-h")) {
            predict_usage(stdout);
            goto done;
        } else if (!strcmp(a, "--probabilities")) {
            probs = true;
        } else if (!strcmp(a, "--mirror")) {
            mirror = true;
        } else if (!strcmp(a, "--checkpoint") && has) {
            ckpt = argv[++i];
        } else if (!strcmp(a, "--out") && has) {
            out = argv[++i];
        } else if (!strcmp(a, "--device") && has) {
            device = argv[++i];
        } else if (!strcmp(a, "--step") && has) {
            char *end;
            step = strtod(argv[++i], &end);
            if (*end || !(step > 0 && step <= 1)) {
                fprintf(stderr, "medcl predict: --step %s: expected a number in (0, 1]\n", argv[i]);
                rc = CLI_EXIT_USAGE;
                goto done;
            }
        } else if (!strcmp(a, "--batch") && has) {
            char *end;
            long b = strtol(argv[++i], &end, 10);
            if (*end || b < 1 || b > 1024) {
                fprintf(stderr, "medcl predict: --batch %s: expected an integer in 1..1024\n", argv[i]);
                rc = CLI_EXIT_USAGE;
                goto done;
            }
            batch = (int)b;
        } else if (a[0] == '-') {
            fprintf(stderr, "medcl predict: unknown option or missing value: %s (see medcl predict --help)\n", a);
            rc = CLI_EXIT_USAGE;
            goto done;
        } else {
            inputs[ninputs++] = a;
        }
    }
    if (!ckpt || !out || !ninputs) {
        fprintf(stderr, "medcl predict: %s\n\n", !ckpt ? "--checkpoint is required" : !out ? "--out is required"
                                                                                          : "no input image");
        predict_usage(stderr);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    st = medcl_safetensors_read(ckpt, &f);
    if (st != MEDCL_OK) goto fail;
    const char *model = medcl_safetensors_meta(f, "medcl.model");
    if (!model) {
        st = medcl_fail(MEDCL_ERR_FORMAT, "%s: no medcl.model metadata (not a checkpoint of medcl train)", ckpt);
        goto fail;
    }
    char name[1200];
    snprintf(name, sizeof name, "%s: medcl.model", ckpt);
    st = cli_config_parse(model, strlen(model), name, NULL, 0, &cfg);
    if (st != MEDCL_OK) goto fail;
    medcl_safetensors_close(f);
    f = NULL;
    if (cfg.task != CLI_TASK_SEGMENTATION || !cfg.model.in_channels || !cfg.model.num_classes || !cfg.n_norm ||
        !cfg.training.patch[1]) {
        st = medcl_fail(cfg.task != CLI_TASK_SEGMENTATION ? MEDCL_ERR_UNSUPPORTED : MEDCL_ERR_FORMAT,
                        "%s: %s", ckpt, cfg.task != CLI_TASK_SEGMENTATION
                                            ? "predict handles segmentation models only"
                                            : "medcl.model lacks in_channels, num_classes, normalization or patch");
        goto fail;
    }
    medcl_context_options co = MEDCL_CONTEXT_OPTIONS_INIT;
    co.device = device ? device : (cfg.device[0] ? cfg.device : NULL);
    st = medcl_context_create(&co, &ctx);
    if (st != MEDCL_OK) goto fail;
    st = medcl_graph_create(ctx, &g);
    if (st != MEDCL_OK) goto fail;
    cli_model m;
    st = cli_model_build(g, &cfg, batch, false, &m);
    if (st != MEDCL_OK) goto fail;
    medcl_graph_compile_options gco = MEDCL_GRAPH_COMPILE_OPTIONS_INIT;
    gco.training = false;
    st = medcl_graph_compile(g, &gco);
    if (st == MEDCL_OK) st = cli_load_weights(ckpt, g);
    if (st == MEDCL_OK) st = medcl_mkdir_p(out);
    if (st != MEDCL_OK) goto fail;
    predictor pr = {g, medcl_graph_tensor(g, m.image), medcl_graph_tensor(g, m.logits)};
    for (int i = 0; i < ninputs; i++) {
        st = predict_one(ctx, &pr, &cfg, inputs[i], out, probs, step, batch, mirror);
        if (st != MEDCL_OK) goto fail;
    }
    goto done;
fail:
    rc = cli_report("predict", st);
done:
    medcl_safetensors_close(f);
    medcl_graph_destroy(g);
    medcl_context_destroy(ctx);
    cli_config_free(&cfg);
    free(inputs);
    return rc;
}
