/* tests/test_eval_report.c — the report writers: SVG charts are well-formed XML (a tiny
 * checker: one root, balanced tags, quoted attributes, no duplicate attributes, escaped text
 * and entities), deterministic to the byte, and carry the numbers and labels they were given;
 * overlay PNGs read back with the expected colours at known contour pixels and the expected
 * window; report.json sections parse back with the non-finite convention; report.md text is
 * exact. Host only: no device needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcl/data_io.h"
#include "medcl/report.h"
#include "testutil.h"

static void assert_wellformed(const char *svg, const char *what) {
    int el = 0;
    const char *m = tu_xml_check(svg, &el);
    if (m) fail_msg("%s: not well-formed: %s", what, m);
    assert_true(el > 5);
}

/* Charts are also saved under the test's temporary folder for a look. */
static void save_chart(const char *svg, const char *name) {
    static char dir[512];
    if (!dir[0]) assert_non_null(tu_tmpdir(dir, sizeof dir, "charts"));
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(medcl_chart_save(path, svg), MEDCL_OK);
    printf("  wrote %s\n", path);
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_xml_checker(void **state) {
    (void)state;
    int el;
    assert_null(tu_xml_check("<svg a=\"1\"><g><text>a &amp; b</text></g></svg>", &el));
    assert_non_null(tu_xml_check("<svg><g></svg>", &el));
    assert_non_null(tu_xml_check("<svg><text>a & b</text></svg>", &el));
    assert_non_null(tu_xml_check("<svg><text>a < b</text></svg>", &el));
    assert_non_null(tu_xml_check("<svg a=\"1\" a=\"2\"/>", &el));
    assert_non_null(tu_xml_check("<svg a=1/>", &el));
    assert_non_null(tu_xml_check("<svg/><svg/>", &el));
}

/* ---- charts ---- */

static void test_line_chart(void **state) {
    (void)state;
    double x[50], loss[50], val[50];
    for (int i = 0; i < 50; i++) {
        x[i] = i * 20.0;
        loss[i] = 1.5 * exp(-i / 12.0) + 0.05;
        val[i] = (i % 10 == 9) ? 1.2 * exp(-i / 15.0) + 0.1 : NAN; /* sparse: gaps */
    }
    medcl_chart_series s[2] = {{"train loss", x, loss, NULL, NULL, 50}, {"val <loss> & \"dice\"", x, val, NULL, NULL, 50}};
    medcl_line_chart c = MEDCL_LINE_CHART_INIT;
    c.title = "Training curves: Dice & CE <2D>";
    c.x_label = "step";
    c.y_label = "loss";
    c.series = s;
    c.num_series = 2;
    char *a = NULL, *b = NULL;
    assert_int_equal(medcl_chart_line(&c, &a), MEDCL_OK);
    assert_int_equal(medcl_chart_line(&c, &b), MEDCL_OK);
    assert_string_equal(a, b); /* deterministic */
    assert_wellformed(a, "line");
    assert_non_null(strstr(a, "Training curves: Dice &amp; CE &lt;2D&gt;"));
    assert_non_null(strstr(a, "val &lt;loss&gt; &amp; &quot;dice&quot;"));
    assert_non_null(strstr(a, ">step</text>"));
    assert_non_null(strstr(a, ">loss</text>"));
    /* x axis 0..980 → ticks with a 200 step up to 1000; y ticks with decimals */
    assert_non_null(strstr(a, ">0</text>"));
    assert_non_null(strstr(a, ">1000</text>"));
    /* y 0.05..1.55 → step 0.2, widened to 0.0..1.6, one decimal */
    assert_non_null(strstr(a, ">0.0</text>"));
    assert_non_null(strstr(a, ">0.4</text>"));
    assert_non_null(strstr(a, ">1.6</text>"));
    assert_null(strstr(a, ">1.8</text>"));
    save_chart(a, "line.svg");
    /* one polyline for the full series; the sparse one has isolated points (dots) only */
    assert_int_equal(count(a, "<polyline"), 1);
    assert_int_equal(count(a, "<circle"), 5);
    printf("  line chart: %zu bytes\n", strlen(a));
    free(a);
    free(b);

    /* bad input names the field */
    c.width = 10;
    assert_int_equal(medcl_chart_line(&c, &a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "width"));
    assert_null(a);
    c.width = 640;
    c.num_series = 0;
    assert_int_equal(medcl_chart_line(&c, &a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "num_series"));
    c.num_series = 1;
    s[0].lower = loss;
    assert_int_equal(medcl_chart_line(&c, &a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "lower"));
}

static void test_sweep_chart(void **state) {
    (void)state;
    double strength[4] = {0, 0.1, 0.2, 0.4};
    double d1[4] = {0.93, 0.9, 0.81, 0.62}, l1[4] = {0.91, 0.87, 0.77, 0.55}, u1[4] = {0.95, 0.92, 0.85, 0.69};
    double d2[4] = {0.93, 0.92, 0.9, 0.85}, l2[4] = {0.91, 0.9, 0.87, 0.8}, u2[4] = {0.95, 0.94, 0.93, 0.9};
    medcl_chart_series s[2] = {{"noise", strength, d1, l1, u1, 4}, {"gamma", strength, d2, l2, u2, 4}};
    medcl_line_chart c = MEDCL_LINE_CHART_INIT;
    c.title = "Dice vs shift strength";
    c.x_label = "strength";
    c.y_label = "Dice";
    c.series = s;
    c.num_series = 2;
    c.fixed_y = true;
    c.y_min = 0.5;
    c.y_max = 1.0;
    char *a = NULL;
    assert_int_equal(medcl_chart_sweep(&c, &a), MEDCL_OK);
    assert_wellformed(a, "sweep band");
    assert_int_equal(count(a, "<polygon"), 2); /* one band per transform */
    assert_int_equal(count(a, "<circle"), 8);  /* markers */
    assert_non_null(strstr(a, ">0.4</text>"));  /* ticks at the strengths */
    assert_non_null(strstr(a, ">0.1</text>"));
    assert_non_null(strstr(a, ">noise</text>"));
    assert_non_null(strstr(a, ">gamma</text>"));
    save_chart(a, "sweep_band.svg");
    free(a);
    c.interval = MEDCL_CHART_INTERVAL_BARS;
    assert_int_equal(medcl_chart_sweep(&c, &a), MEDCL_OK);
    assert_wellformed(a, "sweep bars");
    assert_int_equal(count(a, "<polygon"), 0);
    assert_int_equal(count(a, "<path d=\"M"), 8); /* one error bar per point */
    save_chart(a, "sweep_bars.svg");
    free(a);
}

static void test_bar_chart(void **state) {
    (void)state;
    const char *domains[3] = {"in-domain", "bias field", "noise & blur"};
    const char *classes[2] = {"brain", "ventricles"};
    double v[6] = {0.912, 0.801, 0.856, 0.702, 0.633, NAN};
    double lo[6] = {0.89, 0.77, 0.83, 0.66, 0.58, NAN}, hi[6] = {0.93, 0.83, 0.88, 0.74, 0.68, NAN};
    medcl_bar_chart c = MEDCL_BAR_CHART_INIT;
    c.title = "Dice per domain (95% CI)";
    c.y_label = "Dice";
    c.num_groups = 3;
    c.group_names = domains;
    c.num_series = 2;
    c.series_names = classes;
    c.values = v;
    c.lower = lo;
    c.upper = hi;
    char *a = NULL, *b = NULL;
    assert_int_equal(medcl_chart_bar(&c, &a), MEDCL_OK);
    assert_int_equal(medcl_chart_bar(&c, &b), MEDCL_OK);
    assert_string_equal(a, b);
    assert_wellformed(a, "bar");
    assert_non_null(strstr(a, ">0.912</text>"));
    assert_non_null(strstr(a, ">0.633</text>"));
    assert_non_null(strstr(a, ">noise &amp; blur</text>"));
    assert_non_null(strstr(a, ">ventricles</text>"));
    assert_int_equal(count(a, "<path d=\"M"), 5);    /* interval bars: the NaN bar has none */
    assert_int_equal(count(a, "fill=\"#4e79a7\""), 4); /* 3 bars of series 0 + legend swatch */
    assert_non_null(strstr(a, ">1.0</text>"));        /* y axis up to 1.0 (0.93 widened) */
    printf("  bar chart: %zu bytes\n", strlen(a));
    save_chart(a, "bar.svg");
    free(a);
    free(b);
    c.num_groups = 0;
    assert_int_equal(medcl_chart_bar(&c, &a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "num_groups"));
}

static void test_heatmap(void **state) {
    (void)state;
    const char *stages[3] = {"after A", "after B", "after <C>"};
    const char *doms[3] = {"A", "B", "C"};
    double R[9] = {0.91, 0.42, 0.38, 0.85, 0.9, 0.47, 0.8, 0.86, 0.92};
    R[2] = NAN;
    medcl_heatmap c = MEDCL_HEATMAP_INIT;
    c.title = "R[i][j]: Dice on domain j after stage i";
    c.x_label = "test domain";
    c.y_label = "training stage";
    c.rows = 3;
    c.cols = 3;
    c.row_names = stages;
    c.col_names = doms;
    c.values = R;
    char *a = NULL, *b = NULL;
    assert_int_equal(medcl_chart_heatmap(&c, &a), MEDCL_OK);
    assert_int_equal(medcl_chart_heatmap(&c, &b), MEDCL_OK);
    assert_string_equal(a, b);
    assert_wellformed(a, "heatmap");
    assert_non_null(strstr(a, ">0.91</text>"));
    assert_non_null(strstr(a, ">0.42</text>"));
    assert_non_null(strstr(a, ">n/a</text>"));
    assert_non_null(strstr(a, ">after &lt;C&gt;</text>"));
    /* extremes get the ends of the ramp: min 0.42 dark, max 0.92 yellow */
    assert_non_null(strstr(a, "fill=\"#440154\""));
    assert_non_null(strstr(a, "fill=\"#fde725\""));
    assert_non_null(strstr(a, "fill=\"#cccccc\"")); /* the NaN cell */
    save_chart(a, "heatmap.svg");
    free(a);
    free(b);
    /* a single cell gets the minimum size; an unset values array is refused */
    double one = 0.5;
    c.rows = c.cols = 1;
    c.values = &one;
    c.title = NULL;
    assert_int_equal(medcl_chart_heatmap(&c, &a), MEDCL_OK);
    assert_wellformed(a, "heatmap 1x1");
    assert_non_null(strstr(a, ">0.50</text>"));
    free(a);
    c.values = NULL;
    assert_int_equal(medcl_chart_heatmap(&c, &a), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "values"));
}

/* ---- overlays ---- */

static void rgb_at(const medcl_image2d *im, int64_t x, int64_t y, int out[3]) {
    for (int k = 0; k < 3; k++) out[k] = (int)im->data[(y * im->width + x) * 3 + k];
}

static void assert_rgb(const medcl_image2d *im, int64_t x, int64_t y, int r, int g, int b) {
    int c[3];
    rgb_at(im, x, y, c);
    if (c[0] != r || c[1] != g || c[2] != b)
        fail_msg("pixel (%lld, %lld) = (%d, %d, %d), expected (%d, %d, %d)", (long long)x, (long long)y, c[0], c[1], c[2],
                 r, g, b);
}

static void test_overlay(void **state) {
    (void)state;
    enum { W = 20, H = 16 };
    float img[W * H];
    int32_t ref[W * H], pred[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            img[y * W + x] = (float)(x + y * W);
            ref[y * W + x] = (x >= 4 && x <= 11 && y >= 3 && y <= 9) ? 1 : 0;
            pred[y * W + x] = (x >= 6 && x <= 13 && y >= 3 && y <= 9) ? 1 : 0;
        }
    char dir[512], path[600];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "overlay"));
    snprintf(path, sizeof path, "%s/side.png", dir);
    medcl_overlay_options o = MEDCL_OVERLAY_OPTIONS_INIT;
    o.window_lo = 0;
    o.window_hi = 100;
    assert_int_equal(medcl_overlay_write_png(path, img, ref, pred, W, H, &o), MEDCL_OK);
    medcl_image2d *im = NULL;
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_OK);
    assert_int_equal(im->width, 3 * W + 2 * 2);
    assert_int_equal(im->height, H);
    assert_int_equal(im->channels, 3);
    int64_t p1 = W + 2, p2 = 2 * (W + 2);
#define GRAY(x, y) ((int)lround(255.0 * ((x) + (y)*W) / (W * H - 1.0)))
    /* panel 0: the plain windowed image */
    assert_rgb(im, 4, 5, GRAY(4, 5), GRAY(4, 5), GRAY(4, 5));
    assert_rgb(im, 19, 15, 255, 255, 255);
    assert_rgb(im, 0, 0, 0, 0, 0);
    /* panel 1: reference contour in green on its left edge, top edge and corner */
    assert_rgb(im, p1 + 4, 5, 0, 255, 0);
    assert_rgb(im, p1 + 11, 9, 0, 255, 0);
    assert_rgb(im, p1 + 7, 3, 0, 255, 0);
    assert_rgb(im, p1 + 7, 6, GRAY(7, 6), GRAY(7, 6), GRAY(7, 6)); /* inside: image */
    assert_rgb(im, p1 + 13, 5, GRAY(13, 5), GRAY(13, 5), GRAY(13, 5)); /* pred edge not drawn here */
    /* panel 2: prediction contour in red */
    assert_rgb(im, p2 + 13, 5, 255, 0, 0);
    assert_rgb(im, p2 + 6, 5, 255, 0, 0);
    assert_rgb(im, p2 + 4, 5, GRAY(4, 5), GRAY(4, 5), GRAY(4, 5));
    /* the gap is black */
    assert_rgb(im, W, 5, 0, 0, 0);
    medcl_image2d_free(im);

    /* blended, scaled by 2, with fill: yellow where both contours meet (top edge x 6..11) */
    o.layout = MEDCL_OVERLAY_BLENDED;
    o.scale = 2;
    o.fill_alpha = 0.5;
    snprintf(path, sizeof path, "%s/blend.png", dir);
    assert_int_equal(medcl_overlay_write_png(path, img, ref, pred, W, H, &o), MEDCL_OK);
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_OK);
    assert_int_equal(im->width, 2 * W);
    assert_int_equal(im->height, 2 * H);
    assert_rgb(im, 2 * 8, 2 * 3, 255, 255, 0);
    assert_rgb(im, 2 * 8 + 1, 2 * 3 + 1, 255, 255, 0);
    assert_rgb(im, 2 * 4, 2 * 5, 0, 255, 0);  /* reference only */
    assert_rgb(im, 2 * 13, 2 * 5, 255, 0, 0); /* prediction only */
    /* inside the prediction: half gray, half red */
    int g = GRAY(8, 6);
    assert_rgb(im, 2 * 8, 2 * 6, (int)lround(0.5 * g + 0.5 * 255), (int)lround(0.5 * g), (int)lround(0.5 * g));
    /* inside the reference only (x = 5): half green */
    g = GRAY(5, 6);
    assert_rgb(im, 2 * 5, 2 * 6, (int)lround(0.5 * g), (int)lround(0.5 * g + 0.5 * 255), (int)lround(0.5 * g));
    medcl_image2d_free(im);

    /* the same input gives the same bytes */
    uint8_t *r1 = NULL, *r2 = NULL;
    int64_t w1, h1, w2, h2;
    assert_int_equal(medcl_overlay_render(img, ref, pred, W, H, &o, &r1, &w1, &h1), MEDCL_OK);
    assert_int_equal(medcl_overlay_render(img, ref, pred, W, H, &o, &r2, &w2, &h2), MEDCL_OK);
    assert_memory_equal(r1, r2, (size_t)(w1 * h1 * 3));
    free(r1);
    free(r2);

    /* slice choice and bad input */
    int32_t vol[3 * 4] = {0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    int64_t shape[3] = {3, 2, 2}, sl = -1;
    assert_int_equal(medcl_overlay_pick_slice(vol, shape, -1, &sl), MEDCL_OK);
    assert_int_equal(sl, 2);
    assert_int_equal(medcl_overlay_pick_slice(vol, shape, 5, &sl), MEDCL_OK);
    assert_int_equal(sl, 1); /* absent: the middle */
    o.scale = 0;
    assert_int_equal(medcl_overlay_render(img, ref, pred, W, H, &o, &r1, &w1, &h1), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "scale"));
    assert_null(r1);
}

/* ---- report.json ---- */

static void test_report_json(void **state) {
    (void)state;
    cJSON *root = NULL, *results = NULL, *dom = NULL;
    assert_int_equal(medcl_report_json_root(&root), MEDCL_OK);
    medcl_device_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.name, sizeof info.name, "Test \"GPU\"");
    snprintf(info.driver, sizeof info.driver, "1.2.3");
    info.type = MEDCL_DEVICE_TYPE_GPU;
    info.global_mem = 8ull << 30;
    assert_int_equal(medcl_report_json_add_device(root, &info, "0123abcd"), MEDCL_OK);
    medcl_empty_mode em = MEDCL_EMPTY_NAN;
    medcl_surface_options so = MEDCL_SURFACE_OPTIONS_INIT;
    medcl_bootstrap_options bo = MEDCL_BOOTSTRAP_OPTIONS_INIT;
    bo.seed = 18446744073709551615ull;
    assert_int_equal(medcl_report_json_add_conventions(root, &em, &so, &bo), MEDCL_OK);
    const char *splits[3] = {"train", "val", "test"};
    int64_t counts[3] = {120, 30, 45};
    assert_int_equal(medcl_report_json_add_counts(root, "case_counts", splits, counts, 3), MEDCL_OK);
    assert_int_equal(medcl_report_json_section(root, "results", &results), MEDCL_OK);
    assert_int_equal(medcl_report_json_section(results, "bias field", &dom), MEDCL_OK);
    medcl_ci ci = {0.8125, 0.75, 0.875, 40, 2};
    assert_int_equal(medcl_report_json_add_ci(dom, "dice", &ci, 0.95), MEDCL_OK);
    medcl_surface_result sr = {INFINITY, 3.5, 1.25, NAN, {0.5}};
    assert_int_equal(medcl_report_json_add_surface(dom, "surface", &sr, &so), MEDCL_OK);
    double loss[3] = {1.0, 0.5, 0.25};
    assert_int_equal(medcl_report_json_add_series(root, "train_loss", NULL, loss, 3), MEDCL_OK);
    double m[4] = {0.9, NAN, -INFINITY, 0.7};
    assert_int_equal(medcl_report_json_add_matrix(root, "R", m, 2, 2), MEDCL_OK);
    assert_int_equal(medcl_report_json_add_number(root, "gap", 0.125), MEDCL_OK);
    assert_int_equal(medcl_report_json_add_number(root, "gap", 0.25), MEDCL_OK); /* replaces */
    /* the section helper finds the existing object; a scalar member is refused */
    cJSON *again = NULL;
    assert_int_equal(medcl_report_json_section(results, "bias field", &again), MEDCL_OK);
    assert_ptr_equal(again, dom);
    assert_int_equal(medcl_report_json_section(root, "gap", &again), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "gap"));

    char dir[512], p1[600], p2[600];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "report"));
    snprintf(p1, sizeof p1, "%s/a.json", dir);
    snprintf(p2, sizeof p2, "%s/b.json", dir);
    assert_int_equal(medcl_report_json_write(root, p1), MEDCL_OK);
    assert_int_equal(medcl_report_json_write(root, p2), MEDCL_OK);
    cJSON_Delete(root);

    FILE *f1 = fopen(p1, "rb"), *f2 = fopen(p2, "rb");
    assert_non_null(f1);
    assert_non_null(f2);
    static char b1[65536], b2[65536];
    size_t n1 = fread(b1, 1, sizeof b1 - 1, f1), n2 = fread(b2, 1, sizeof b2 - 1, f2);
    fclose(f1);
    fclose(f2);
    b1[n1] = b2[n2] = 0;
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    assert_true(b1[n1 - 1] == '\n');
    cJSON *doc = cJSON_Parse(b1);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "schema")->valuestring, "medcl-report/1");
    assert_string_equal(cJSON_GetObjectItem(doc, "library_version")->valuestring, medcl_version());
    cJSON *dev = cJSON_GetObjectItem(doc, "device");
    assert_string_equal(cJSON_GetObjectItem(dev, "name")->valuestring, "Test \"GPU\"");
    assert_string_equal(cJSON_GetObjectItem(dev, "type")->valuestring, medcl_device_type_str(MEDCL_DEVICE_TYPE_GPU));
    assert_true(cJSON_GetObjectItem(dev, "global_mem_bytes")->valuedouble == 8589934592.0);
    assert_string_equal(cJSON_GetObjectItem(doc, "kernel_hash")->valuestring, "0123abcd");
    cJSON *conv = cJSON_GetObjectItem(doc, "metric_conventions");
    assert_string_equal(cJSON_GetObjectItem(conv, "dice_iou_both_empty")->valuestring, "nan");
    assert_string_equal(cJSON_GetObjectItem(conv, "surface_boundary")->valuestring, "voxel");
    assert_true(cJSON_GetObjectItem(conv, "hausdorff_percentile")->valuedouble == 95.0);
    assert_string_equal(cJSON_GetObjectItem(conv, "bootstrap_seed")->valuestring, "18446744073709551615");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "case_counts"), "val")->valuedouble == 30);
    cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "results"), "bias field"), "dice");
    assert_true(cJSON_GetObjectItem(d, "estimate")->valuedouble == 0.8125);
    assert_true(cJSON_GetObjectItem(d, "lower")->valuedouble == 0.75);
    assert_true(cJSON_GetObjectItem(d, "n")->valuedouble == 40);
    assert_true(cJSON_GetObjectItem(d, "n_ignored")->valuedouble == 2);
    cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "results"), "bias field"), "surface");
    assert_string_equal(cJSON_GetObjectItem(s, "hd")->valuestring, "inf");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "masd")));
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "nsd"), "1 mm")->valuedouble == 0.5);
    cJSON *ser = cJSON_GetObjectItem(doc, "train_loss");
    assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(ser, "x"), 2)->valuedouble == 2.0);
    assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(ser, "y"), 2)->valuedouble == 0.25);
    cJSON *R = cJSON_GetObjectItem(doc, "R");
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetArrayItem(R, 0), 1)));
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(R, 1), 0)->valuestring, "-inf");
    assert_true(cJSON_GetObjectItem(doc, "gap")->valuedouble == 0.25);
    cJSON_Delete(doc);
}

/* ---- report.md ---- */

static void test_report_md(void **state) {
    (void)state;
    medcl_md *md = NULL;
    assert_int_equal(medcl_md_create(&md), MEDCL_OK);
    assert_int_equal(medcl_md_heading(md, 1, "medcl report"), MEDCL_OK);
    assert_int_equal(medcl_md_paragraph(md, "Trained for %d epochs on %s.", 3, "brain"), MEDCL_OK);
    assert_int_equal(medcl_md_bullet(md, "device: %s", "PoCL"), MEDCL_OK);
    assert_int_equal(medcl_md_bullet(md, "seed: %d", 7), MEDCL_OK);
    assert_int_equal(medcl_md_heading(md, 2, "Per-domain\nresults"), MEDCL_OK);
    medcl_ci ci = {0.91234, 0.9, 0.925, 10, 0}, none = {NAN, NAN, NAN, 0, 3};
    char c1[64], c2[64], c3[64];
    const char *hdr[3] = {"domain", "Dice [95% CI]", "HD95 (mm)"};
    const char *cells[6] = {"a|b", medcl_md_format_ci(c1, sizeof c1, &ci, 3), medcl_md_format_number(c2, sizeof c2, INFINITY, 2),
                            "empty", medcl_md_format_ci(c3, sizeof c3, &none, 3), NULL};
    assert_int_equal(medcl_md_table(md, 2, 3, hdr, cells, "lrr"), MEDCL_OK);
    assert_int_equal(medcl_md_image(md, "Dice [per domain]", "figures/dice domain.svg"), MEDCL_OK);
    assert_int_equal(medcl_md_code(md, "json", "{\"a\": 1}"), MEDCL_OK);
    const char *want = "# medcl report\n\n"
                       "Trained for 3 epochs on brain.\n\n"
                       "- device: PoCL\n"
                       "- seed: 7\n\n"
                       "## Per-domain results\n\n"
                       "| domain | Dice [95% CI] | HD95 (mm) |\n"
                       "| --- | ---: | ---: |\n"
                       "| a\\|b | 0.912 [0.900, 0.925] | inf |\n"
                       "| empty | n/a |  |\n\n"
                       "![Dice \\[per domain\\]](figures/dice%20domain.svg)\n\n"
                       "```json\n{\"a\": 1}\n```\n\n";
    assert_string_equal(medcl_md_text(md), want);
    char dir[512], path[600];
    assert_non_null(tu_tmpdir(dir, sizeof dir, "md"));
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_int_equal(medcl_md_write(md, path), MEDCL_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    assert_string_equal(buf, want);
    char z[16];
    assert_string_equal(medcl_md_format_number(z, sizeof z, -0.0001, 2), "0.00");
    assert_string_equal(medcl_md_format_number(z, sizeof z, NAN, 2), "n/a");
    assert_int_equal(medcl_md_heading(md, 7, "x"), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_md_table(md, 1, 2, hdr, cells, "lx"), MEDCL_ERR_INVALID_ARG);
    medcl_md_destroy(md);
    medcl_md_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_checker),
        cmocka_unit_test(test_line_chart),
        cmocka_unit_test(test_sweep_chart),
        cmocka_unit_test(test_bar_chart),
        cmocka_unit_test(test_heatmap),
        cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_report_md),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
