/* medcl/report.h — report writers of the eval layer (host only): helpers that build the
 * sections of report.json with cJSON, a Markdown builder for report.md, SVG 1.1 charts from
 * our own small module (line charts for training curves, bar charts with interval bars per
 * domain or class, severity sweeps with interval bands or bars, heat maps of a matrix with
 * numbers) and PNG overlays of image, reference and prediction.
 *
 * Every writer is deterministic: the same input gives the same bytes (numbers are printed
 * with fixed formats in the C locale; nothing depends on time or addresses). Files are
 * written atomically. Text given to the SVG and Markdown writers is UTF-8; the writers escape
 * what their format needs (XML entities; '|' and line breaks in Markdown table cells).
 *
 * Non-finite numbers: JSON has no NaN or infinity, so NaN is written as null and +-inf as the
 * strings "inf" and "-inf" (a one-sided empty Hausdorff distance is +inf by convention,
 * docs/REFERENCE.md). Charts skip non-finite points (a line breaks there); Markdown prints
 * "n/a" and "inf".
 *
 * Left out: the content of a report (which sections and numbers: the CLI's eval command
 * decides), HTML and PDF output, raster charts, fonts and text measurement (label widths are
 * estimated from character counts). */
#ifndef MEDCL_REPORT_H
#define MEDCL_REPORT_H

#include "medcl/metrics.h"
#include "medcl/runtime.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MEDCL_REPORT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MEDCL_REPORT_PRINTF(a, b)
#endif

/* ---------------- report.json (cJSON) ---------------- */

/* cJSON's own type; include <cjson/cJSON.h> to build further on these objects. */
struct cJSON;

/* A number node with the non-finite convention above; NULL when out of memory. */
MEDCL_API struct cJSON *medcl_report_json_number(double v);
/* A fresh report object {"schema": "medcl-report/1", "library_version": "0.1.0"}. Free with
 * cJSON_Delete. */
MEDCL_API medcl_status medcl_report_json_root(struct cJSON **out);
/* The object member key of obj, created (empty) when absent; an existing non-object member
 * is MEDCL_ERR_INVALID_ARG. For nesting sections: "results" / "test" / "dice". */
MEDCL_API medcl_status medcl_report_json_section(struct cJSON *obj, const char *key,
                                                 struct cJSON **out);
/* obj[key] = v (replacing an existing member), with the non-finite convention. */
MEDCL_API medcl_status medcl_report_json_add_number(struct cJSON *obj, const char *key, double v);
/* obj[key] = {"estimate", "lower", "upper", "confidence", "n", "n_ignored"} from a bootstrap
 * interval; confidence is the level the interval was computed at (e.g. 0.95). */
MEDCL_API medcl_status medcl_report_json_add_ci(struct cJSON *obj, const char *key,
                                                const medcl_ci *ci, double confidence);
/* obj["device"] = {name, vendor, platform, version, driver, opencl_c, type, compute_units,
 * clock_mhz, global_mem_bytes, local_mem_bytes, max_alloc_bytes, fp16, fp64} and, when
 * kernel_hash is not NULL, obj["kernel_hash"]. */
MEDCL_API medcl_status medcl_report_json_add_device(struct cJSON *obj, const medcl_device_info *info,
                                                    const char *kernel_hash);
/* obj["metric_conventions"]: overlap empty mode, surface boundary and empty modes, the
 * robust-Hausdorff percentile, NSD tolerances, bootstrap resamples, level and seed, each
 * with the reference implementation it follows. Any pointer may be NULL (that part is
 * omitted). */
MEDCL_API medcl_status medcl_report_json_add_conventions(struct cJSON *obj,
                                                         const medcl_empty_mode *overlap,
                                                         const medcl_surface_options *surface,
                                                         const medcl_bootstrap_options *bootstrap);
/* obj[key] = {names[i]: counts[i]} (e.g. case counts per split or domain), in the given order. */
MEDCL_API medcl_status medcl_report_json_add_counts(struct cJSON *obj, const char *key,
                                                    const char *const *names,
                                                    const int64_t *counts, int n);
/* obj[key] = {"x": [...], "y": [...]} (x NULL: 0 .. n-1); for training curves. */
MEDCL_API medcl_status medcl_report_json_add_series(struct cJSON *obj, const char *key,
                                                    const double *x, const double *y, int64_t n);
/* obj[key] = [[row 0], [row 1], ...] from a row-major (rows, cols) matrix. */
MEDCL_API medcl_status medcl_report_json_add_matrix(struct cJSON *obj, const char *key,
                                                    const double *values, int rows, int cols);
/* obj[key] = {"hd", "hd_percentile", "assd", "masd", "nsd": {"<tol> mm": value}} with the
 * percentile and tolerances from opt (NULL: the defaults). */
MEDCL_API medcl_status medcl_report_json_add_surface(struct cJSON *obj, const char *key,
                                                     const medcl_surface_result *r,
                                                     const medcl_surface_options *opt);
/* Writes root formatted (two-space indentation as cJSON prints it, then a newline),
 * atomically. */
MEDCL_API medcl_status medcl_report_json_write(const struct cJSON *root, const char *path);

/* ---------------- report.md ---------------- */

typedef struct medcl_md medcl_md;

MEDCL_API medcl_status medcl_md_create(medcl_md **out);
MEDCL_API void medcl_md_destroy(medcl_md *md); /* accepts NULL */
/* "#" x level (1..6) + text (line breaks become spaces), then a blank line. */
MEDCL_API medcl_status medcl_md_heading(medcl_md *md, int level, const char *text);
/* A paragraph of Markdown formatted by printf (not escaped), then a blank line. */
MEDCL_API medcl_status medcl_md_paragraph(medcl_md *md, const char *fmt, ...) MEDCL_REPORT_PRINTF(2, 3);
/* One "- " list item (consecutive bullets form a list; a paragraph or heading ends it). */
MEDCL_API medcl_status medcl_md_bullet(medcl_md *md, const char *fmt, ...) MEDCL_REPORT_PRINTF(2, 3);
/* A pipe table: header[cols], cells[rows * cols] row-major (NULL cells are empty); align is
 * NULL or a string of cols characters 'l', 'c', 'r'. Cells are escaped. */
MEDCL_API medcl_status medcl_md_table(medcl_md *md, int rows, int cols, const char *const *header,
                                      const char *const *cells, const char *align);
/* ![alt](path) as its own paragraph. */
MEDCL_API medcl_status medcl_md_image(medcl_md *md, const char *alt, const char *path);
/* A fenced code block (lang may be NULL). */
MEDCL_API medcl_status medcl_md_code(medcl_md *md, const char *lang, const char *text);
/* The text so far (valid until the next call on md). */
MEDCL_API const char *medcl_md_text(const medcl_md *md);
MEDCL_API medcl_status medcl_md_write(const medcl_md *md, const char *path);
/* Formats v with digits decimals ("n/a" for NaN, "inf", "-inf"); returns buf. */
MEDCL_API char *medcl_md_format_number(char *buf, size_t cap, double v, int digits);
/* "estimate [lower, upper]" with digits decimals, "n/a" when nothing was used; returns buf. */
MEDCL_API char *medcl_md_format_ci(char *buf, size_t cap, const medcl_ci *ci, int digits);

/* ---------------- SVG charts ---------------- */

/* One data series. x NULL means 0, 1, ..., n-1. A point whose x or y is not finite is
 * skipped (the line breaks there); an interval is drawn where lower and upper are finite. */
typedef struct medcl_chart_series {
    const char *name;     /* legend text (NULL: no legend entry) */
    const double *x;
    const double *y;
    const double *lower;  /* interval per point, or NULL */
    const double *upper;
    int64_t n;
} medcl_chart_series;

typedef enum medcl_chart_interval {
    MEDCL_CHART_INTERVAL_NONE = 0,
    MEDCL_CHART_INTERVAL_BAND = 1, /* translucent band between lower and upper */
    MEDCL_CHART_INTERVAL_BARS = 2, /* error bars with caps at each point */
    MEDCL_CHART_INTERVAL_COUNT
} medcl_chart_interval;

/* Line chart (training curves; severity sweeps: x = strength, one series per transform). */
typedef struct medcl_line_chart {
    size_t size;                       /* sizeof(medcl_line_chart) */
    const char *title, *x_label, *y_label;
    int width, height;                 /* pixels: 640 x 400 (each 200..8000) */
    const medcl_chart_series *series;
    int num_series;                    /* 1..32 */
    medcl_chart_interval interval;     /* how lower/upper are drawn: BAND */
    bool markers;                      /* a dot at each point: false */
    bool fixed_y;                      /* use y_min, y_max instead of the data range: false */
    double y_min, y_max;
} medcl_line_chart;
#define MEDCL_LINE_CHART_INIT                                                                \
    { sizeof(medcl_line_chart), NULL, NULL, NULL, 640, 400, NULL, 0,                        \
      MEDCL_CHART_INTERVAL_BAND, false, false, 0.0, 1.0 }

/* Grouped bar chart: one group per domain (or case set), one bar per series in each group
 * (class or metric), with interval bars. values, lower, upper are [group * num_series +
 * series]; lower/upper may be NULL; a non-finite value draws no bar. The y axis starts at 0
 * unless the data go below it. */
typedef struct medcl_bar_chart {
    size_t size;                       /* sizeof(medcl_bar_chart) */
    const char *title, *x_label, *y_label;
    int width, height;                 /* 640 x 400 */
    int num_groups;                    /* 1..256 */
    const char *const *group_names;    /* [num_groups] x-axis labels (NULL entries: none) */
    int num_series;                    /* 1..32 */
    const char *const *series_names;   /* [num_series] legend, or NULL (no legend) */
    const double *values;
    const double *lower, *upper;
    bool show_values;                  /* the value printed above each bar: true */
    int digits;                        /* decimals of printed values: 3 */
    bool fixed_y;                      /* false */
    double y_min, y_max;
} medcl_bar_chart;
#define MEDCL_BAR_CHART_INIT                                                                 \
    { sizeof(medcl_bar_chart), NULL, NULL, NULL, 640, 400, 0, NULL, 0, NULL, NULL, NULL, NULL, \
      true, 3, false, 0.0, 1.0 }

/* Heat map of a (rows, cols) matrix with the value printed in each cell (continual
 * learning: R[i][j] = metric on domain j after training stage i). Colours follow a
 * viridis-like ramp over [v_min, v_max] (data range unless fixed_range); NaN cells are grey
 * with "n/a". width, height 0: sized from the number of cells. */
typedef struct medcl_heatmap {
    size_t size;                       /* sizeof(medcl_heatmap) */
    const char *title, *x_label, *y_label;
    int width, height;                 /* 0, 0 */
    int rows, cols;                    /* 1..64 each */
    const char *const *row_names;      /* [rows] or NULL (then 0, 1, ...) */
    const char *const *col_names;      /* [cols] or NULL */
    const double *values;              /* [rows * cols] row-major */
    int digits;                        /* 2 */
    bool fixed_range;                  /* false */
    double v_min, v_max;
} medcl_heatmap;
#define MEDCL_HEATMAP_INIT                                                                    \
    { sizeof(medcl_heatmap), NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, 2, false, 0.0, 1.0 }

/* Each renders a complete SVG 1.1 document into *svg (malloc'd, NUL-terminated; free()). */
MEDCL_API medcl_status medcl_chart_line(const medcl_line_chart *c, char **svg);
/* A severity sweep: a line chart with markers, x ticks at the strengths of the first
 * series, and intervals as c->interval says (BAND or BARS). */
MEDCL_API medcl_status medcl_chart_sweep(const medcl_line_chart *c, char **svg);
MEDCL_API medcl_status medcl_chart_bar(const medcl_bar_chart *c, char **svg);
MEDCL_API medcl_status medcl_chart_heatmap(const medcl_heatmap *c, char **svg);
/* Writes a rendered chart atomically. */
MEDCL_API medcl_status medcl_chart_save(const char *path, const char *svg);

/* ---------------- PNG overlays ---------------- */

typedef enum medcl_overlay_layout {
    MEDCL_OVERLAY_SIDE_BY_SIDE = 0, /* panels: image | image + reference | image + prediction */
    MEDCL_OVERLAY_BLENDED = 1,      /* one panel: image with both contours */
    MEDCL_OVERLAY_LAYOUT_COUNT
} medcl_overlay_layout;

typedef struct medcl_overlay_options {
    size_t size;                   /* sizeof(medcl_overlay_options) */
    medcl_overlay_layout layout;   /* SIDE_BY_SIDE */
    double window_lo, window_hi;   /* intensity window as percentiles of the finite pixels
                                    * (numpy linear interpolation): 0.5, 99.5 */
    uint8_t ref_rgb[3];            /* reference contour: green (0, 255, 0) */
    uint8_t pred_rgb[3];           /* prediction contour: red (255, 0, 0) */
    uint8_t both_rgb[3];           /* blended layout, pixel on both contours: yellow */
    double fill_alpha;             /* 0..1: translucent fill inside the masks (0: contours only) */
    int32_t label;                 /* the class drawn; -1: every non-zero label */
    int32_t scale;                 /* integer up-scaling (nearest), 1..16: 1 */
    int32_t gap;                   /* black pixels between panels (before scaling): 2 */
} medcl_overlay_options;
#define MEDCL_OVERLAY_OPTIONS_INIT                                                           \
    { sizeof(medcl_overlay_options), MEDCL_OVERLAY_SIDE_BY_SIDE, 0.5, 99.5, {0, 255, 0},     \
      {255, 0, 0}, {255, 255, 0}, 0.0, -1, 1, 2 }

/* Renders a 2D slice. image: (height, width) floats, row-major; ref, pred: (height, width)
 * label maps, either may be NULL (its panel or contour is left out). A contour pixel is a
 * pixel of the drawn class with a 4-neighbour outside it (the image border counts as
 * outside), as the voxel boundary of medcl/metrics.h. Gray = round(255 * (v - lo) /
 * (hi - lo)) clamped to 0..255 (0 for non-finite pixels and when hi <= lo). *rgb (malloc'd,
 * interleaved r, g, b) is out_width x out_height. */
MEDCL_API medcl_status medcl_overlay_render(const float *image, const int32_t *ref,
                                            const int32_t *pred, int64_t width, int64_t height,
                                            const medcl_overlay_options *opt, uint8_t **rgb,
                                            int64_t *out_width, int64_t *out_height);
/* Renders and writes a PNG (medcl_png_write_rgb8). opt NULL: defaults. */
MEDCL_API medcl_status medcl_overlay_write_png(const char *path, const float *image,
                                               const int32_t *ref, const int32_t *pred,
                                               int64_t width, int64_t height,
                                               const medcl_overlay_options *opt);
/* The slice (index along D of a (D, H, W) label map) with the largest area of label (-1:
 * any non-zero label); the first on ties, the middle slice when the label is absent. */
MEDCL_API medcl_status medcl_overlay_pick_slice(const int32_t *labels, const int64_t shape[3],
                                                int32_t label, int64_t *slice);

#ifdef __cplusplus
}
#endif
#endif
