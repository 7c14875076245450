/* src/eval/svg.c — our small SVG 1.1 chart module (medcl/report.h): line charts (training
 * curves), severity sweeps (markers, interval bands or bars), grouped bar charts with
 * interval bars, and heat maps with numbers. Output is plain SVG with presentation
 * attributes (no CSS, no scripts), well-formed XML with escaped text, and deterministic:
 * coordinates are printed with two decimals, tick labels with decimals chosen from the tick
 * step, in the C locale.
 *
 * Left out: text measurement (widths are estimated at 7 px per character of 12 px
 * sans-serif), log axes, dates, interactive features, raster output. */
#include "medcl/report.h"
#include "core/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string builder with a sticky out-of-memory flag ---- */

typedef struct sb {
    char *s;
    size_t n, cap;
    bool failed;
} sb;

static void sb_reserve(sb *b, size_t more) {
    if (b->failed || b->n + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1) cap *= 2;
    char *g = realloc(b->s, cap);
    if (!g) {
        b->failed = true;
        return;
    }
    b->s = g;
    b->cap = cap;
}

static void sb_printf(sb *b, const char *fmt, ...) MEDCL_PRINTF(2, 3);
static void sb_printf(sb *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        b->failed = true;
        return;
    }
    sb_reserve(b, (size_t)len);
    if (b->failed) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

/* XML character data / attribute value: the five entities; control characters that XML 1.0
 * forbids become spaces. */
static void sb_text(sb *b, const char *t) {
    for (const unsigned char *p = (const unsigned char *)(t ? t : ""); *p; p++) {
        switch (*p) {
        case '&': sb_printf(b, "&amp;"); break;
        case '<': sb_printf(b, "&lt;"); break;
        case '>': sb_printf(b, "&gt;"); break;
        case '"': sb_printf(b, "&quot;"); break;
        case '\'': sb_printf(b, "&apos;"); break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                sb_printf(b, " ");
            else
                sb_printf(b, "%c", *p);
        }
    }
}

/* a coordinate: two decimals, never "-0.00" */
static double cz(double v) { return fabs(v) < 0.005 ? 0.0 : v; }

static medcl_status sb_finish(sb *b, char **out, const char *what) {
    if (b->failed) {
        free(b->s);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    }
    *out = b->s;
    return MEDCL_OK;
}

static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

/* ---- axes ---- */

typedef struct axis {
    double lo, hi, step;
    int decimals;
} axis;

/* A "nice" axis over [lo, hi]: step 1, 2 or 5 times a power of ten giving about `target`
 * intervals; the range is widened to multiples of the step. */
static axis axis_make(double lo, double hi, int target, bool widen) {
    axis a;
    if (!isfinite(lo) || !isfinite(hi)) lo = 0.0, hi = 1.0;
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (hi == lo) {
        double d = fabs(lo) > 1e-12 ? fabs(lo) * 0.1 : 0.5;
        lo -= d;
        hi += d;
    }
    double raw = (hi - lo) / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nf = f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0;
    a.step = nf * mag;
    if (widen) {
        a.lo = floor(lo / a.step + 1e-9) * a.step;
        a.hi = ceil(hi / a.step - 1e-9) * a.step;
    } else {
        a.lo = lo;
        a.hi = hi;
    }
    if (a.hi <= a.lo) a.hi = a.lo + a.step;
    int d = -(int)floor(log10(a.step) + 1e-9);
    a.decimals = d < 0 ? 0 : d > 12 ? 12 : d;
    return a;
}

static void fmt_tick(char *buf, size_t cap, double v, int decimals) {
    snprintf(buf, cap, "%.*f", decimals, v);
    bool zero = true;
    for (const char *p = buf; *p; p++)
        if (*p >= '1' && *p <= '9') zero = false;
    if (zero && buf[0] == '-') memmove(buf, buf + 1, strlen(buf));
}

typedef struct frame {
    int width, height;
    double x0, x1, y0, y1; /* plot area in pixels: x0 left, x1 right, y0 top, y1 bottom */
    axis ax, ay;
} frame;

static double fx(const frame *f, double v) { return f->x0 + (v - f->ax.lo) / (f->ax.hi - f->ax.lo) * (f->x1 - f->x0); }
static double fy(const frame *f, double v) { return f->y1 - (v - f->ay.lo) / (f->ay.hi - f->ay.lo) * (f->y1 - f->y0); }

static void svg_open(sb *b, int w, int h, const char *title) {
    sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
                 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h, w, h);
    if (title && *title) {
        sb_printf(b, "<title>");
        sb_text(b, title);
        sb_printf(b, "</title>\n");
    }
    sb_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", w, h);
    if (title && *title) {
        sb_printf(b, "<text x=\"%.2f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">",
                  w / 2.0);
        sb_text(b, title);
        sb_printf(b, "</text>\n");
    }
}

static void svg_close(sb *b) { sb_printf(b, "</svg>\n"); }

/* y axis with grid lines and tick labels; x axis line; axis labels. xticks: draw numeric x
 * ticks from f->ax (false for bar charts, which label groups instead). explicit_x: ticks at
 * these values instead (severity sweeps). */
static void draw_axes(sb *b, const frame *f, const char *x_label, const char *y_label, bool xticks,
                      const double *explicit_x, int64_t n_explicit) {
    char t[64];
    sb_printf(b, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 0;; i++) {
        double v = f->ay.lo + i * f->ay.step;
        if (v > f->ay.hi + f->ay.step * 1e-6) break;
        sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", cz(f->x0), cz(fy(f, v)), cz(f->x1),
                  cz(fy(f, v)));
    }
    sb_printf(b, "</g>\n<g text-anchor=\"end\" fill=\"#333333\">\n");
    for (int i = 0;; i++) {
        double v = f->ay.lo + i * f->ay.step;
        if (v > f->ay.hi + f->ay.step * 1e-6) break;
        fmt_tick(t, sizeof t, v, f->ay.decimals);
        sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", cz(f->x0 - 6), cz(fy(f, v) + 4), t);
    }
    sb_printf(b, "</g>\n");
    if (xticks) {
        sb_printf(b, "<g text-anchor=\"middle\" fill=\"#333333\">\n");
        if (explicit_x) {
            for (int64_t i = 0; i < n_explicit; i++) {
                if (!isfinite(explicit_x[i])) continue;
                snprintf(t, sizeof t, "%g", explicit_x[i]);
                double x = fx(f, explicit_x[i]);
                sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>\n", cz(x),
                          cz(f->y1), cz(x), cz(f->y1 + 5));
                sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", cz(x), cz(f->y1 + 18), t);
            }
        } else {
            for (int i = 0;; i++) {
                double v = f->ax.lo + i * f->ax.step;
                if (v > f->ax.hi + f->ax.step * 1e-6) break;
                fmt_tick(t, sizeof t, v, f->ax.decimals);
                double x = fx(f, v);
                sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>\n", cz(x),
                          cz(f->y1), cz(x), cz(f->y1 + 5));
                sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", cz(x), cz(f->y1 + 18), t);
            }
        }
        sb_printf(b, "</g>\n");
    }
    sb_printf(b, "<g stroke=\"#333333\" stroke-width=\"1\" fill=\"none\">\n");
    sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", cz(f->x0), cz(f->y1), cz(f->x1), cz(f->y1));
    sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", cz(f->x0), cz(f->y0), cz(f->x0), cz(f->y1));
    sb_printf(b, "</g>\n");
    if (x_label && *x_label) {
        sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", cz((f->x0 + f->x1) / 2), cz(f->height - 10.0));
        sb_text(b, x_label);
        sb_printf(b, "</text>\n");
    }
    if (y_label && *y_label) {
        double x = 16, y = (f->y0 + f->y1) / 2;
        sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">", x, cz(y),
                  x, cz(y));
        sb_text(b, y_label);
        sb_printf(b, "</text>\n");
    }
}

/* Legend in the right margin, one row per named entry. */
static void draw_legend(sb *b, const frame *f, const char *const *names, int n, bool bars) {
    double x = f->x1 + 14, y = f->y0 + 8;
    int row = 0;
    for (int i = 0; i < n; i++) {
        if (!names[i]) continue;
        const char *c = palette[i % 10];
        double yy = y + row * 18;
        if (bars)
            sb_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"10\" fill=\"%s\"/>\n", cz(x), cz(yy - 5), c);
        else
            sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                      cz(x), cz(yy), cz(x + 14), cz(yy), c);
        sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\">", cz(x + 20), cz(yy + 4));
        sb_text(b, names[i]);
        sb_printf(b, "</text>\n");
        row++;
    }
}

static double legend_width(const char *const *names, int n, int width) {
    size_t longest = 0;
    bool any = false;
    for (int i = 0; i < n; i++)
        if (names && names[i]) {
            any = true;
            size_t l = strlen(names[i]);
            if (l > longest) longest = l;
        }
    if (!any) return 20;
    double w = 8.5 * (double)longest + 56; /* room for 12 px sans-serif text */
    return w > width / 3.0 ? width / 3.0 : w;
}

/* ---- line charts and sweeps ---- */

static medcl_status check_size(const char *what, int w, int h) {
    if (w < 200 || w > 8000 || h < 200 || h > 8000)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: width x height = %d x %d (each must be 200..8000)", what, w, h);
    return MEDCL_OK;
}

static double sx_at(const medcl_chart_series *s, int64_t i) { return s->x ? s->x[i] : (double)i; }

static medcl_status line_chart(const medcl_line_chart *c, char **svg, bool sweep) {
    const char *what = sweep ? "chart sweep" : "chart line";
    if (!svg) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: svg is NULL", what);
    *svg = NULL;
    if (!c) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: chart is NULL", what);
    if (c->size < sizeof(medcl_line_chart))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: size = %zu, expected %zu", what, c->size, sizeof(medcl_line_chart));
    medcl_status st = check_size(what, c->width, c->height);
    if (st != MEDCL_OK) return st;
    if (c->num_series < 1 || c->num_series > 32 || !c->series)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_series = %d (must be 1..32 with series set)", what,
                          c->num_series);
    if ((int)c->interval < 0 || c->interval >= MEDCL_CHART_INTERVAL_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: interval = %d is not a medcl_chart_interval", what,
                          (int)c->interval);
    if (c->fixed_y && !(isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: fixed y range [%g, %g] (must be finite, y_max > y_min)", what,
                          c->y_min, c->y_max);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    const char *names[32];
    for (int s = 0; s < c->num_series; s++) {
        const medcl_chart_series *se = &c->series[s];
        names[s] = se->name;
        if (se->n < 0 || (se->n > 0 && !se->y))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: series %d (%s): n = %lld with y NULL", what, s,
                              se->name ? se->name : "unnamed", (long long)se->n);
        if ((se->lower == NULL) != (se->upper == NULL))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: series %d (%s): lower and upper must both be set or both NULL",
                              what, s, se->name ? se->name : "unnamed");
        for (int64_t i = 0; i < se->n; i++) {
            double x = sx_at(se, i), y = se->y[i];
            if (!isfinite(x)) continue;
            if (isfinite(y)) {
                xlo = fmin(xlo, x), xhi = fmax(xhi, x);
                ylo = fmin(ylo, y), yhi = fmax(yhi, y);
            }
            if (se->lower && c->interval != MEDCL_CHART_INTERVAL_NONE && isfinite(se->lower[i]) &&
                isfinite(se->upper[i])) {
                xlo = fmin(xlo, x), xhi = fmax(xhi, x);
                ylo = fmin(ylo, se->lower[i]), yhi = fmax(yhi, se->upper[i]);
            }
        }
    }
    frame f;
    f.width = c->width;
    f.height = c->height;
    f.x0 = 70;
    f.x1 = c->width - legend_width(names, c->num_series, c->width);
    f.y0 = (c->title && *c->title) ? 44 : 16;
    f.y1 = c->height - 50;
    f.ax = axis_make(xlo, xhi, (int)((f.x1 - f.x0) / 80) + 1, true);
    f.ay = c->fixed_y ? axis_make(c->y_min, c->y_max, 6, false) : axis_make(ylo, yhi, 6, true);
    if (c->fixed_y) {
        f.ay.lo = c->y_min;
        f.ay.hi = c->y_max;
    }

    sb b = {0};
    svg_open(&b, c->width, c->height, c->title);
    /* strengths of the first series as x ticks for a sweep */
    const medcl_chart_series *s0 = &c->series[0];
    double *xt = NULL;
    if (sweep && s0->n > 0) {
        xt = malloc((size_t)s0->n * sizeof(double));
        if (!xt) {
            free(b.s);
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
        }
        for (int64_t i = 0; i < s0->n; i++) xt[i] = sx_at(s0, i);
    }
    draw_axes(&b, &f, c->x_label, c->y_label, true, xt, xt ? s0->n : 0);
    free(xt);
    bool markers = c->markers || sweep;
    /* clip drawing to the plot area (fixed ranges may cut data) */
    sb_printf(&b, "<defs><clipPath id=\"plot\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/></clipPath></defs>\n",
              cz(f.x0), cz(f.y0 - 1), cz(f.x1 - f.x0 + 1), cz(f.y1 - f.y0 + 2));
    sb_printf(&b, "<g clip-path=\"url(#plot)\">\n");
    for (int s = 0; s < c->num_series; s++) {
        const medcl_chart_series *se = &c->series[s];
        const char *col = palette[s % 10];
        sb_printf(&b, "<g id=\"series%d\">\n", s);
        /* intervals under the line */
        if (se->lower && c->interval == MEDCL_CHART_INTERVAL_BAND) {
            int64_t i = 0;
            while (i < se->n) {
                int64_t j = i;
                while (j < se->n && isfinite(sx_at(se, j)) && isfinite(se->lower[j]) && isfinite(se->upper[j])) j++;
                if (j - i >= 2) {
                    sb_printf(&b, "<polygon fill=\"%s\" fill-opacity=\"0.2\" stroke=\"none\" points=\"", col);
                    for (int64_t k = i; k < j; k++)
                        sb_printf(&b, "%.2f,%.2f ", cz(fx(&f, sx_at(se, k))), cz(fy(&f, se->upper[k])));
                    for (int64_t k = j - 1; k >= i; k--)
                        sb_printf(&b, "%.2f,%.2f%s", cz(fx(&f, sx_at(se, k))), cz(fy(&f, se->lower[k])), k > i ? " " : "");
                    sb_printf(&b, "\"/>\n");
                } else if (j - i == 1) {
                    double x = fx(&f, sx_at(se, i));
                    sb_printf(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-opacity=\"0.4\" stroke-width=\"6\"/>\n",
                              cz(x), cz(fy(&f, se->lower[i])), cz(x), cz(fy(&f, se->upper[i])), col);
                }
                i = j > i ? j : i + 1;
            }
        } else if (se->lower && c->interval == MEDCL_CHART_INTERVAL_BARS) {
            for (int64_t i = 0; i < se->n; i++) {
                double x = sx_at(se, i);
                if (!isfinite(x) || !isfinite(se->lower[i]) || !isfinite(se->upper[i])) continue;
                double px = fx(&f, x), lo = fy(&f, se->lower[i]), hi = fy(&f, se->upper[i]);
                sb_printf(&b, "<path d=\"M%.2f %.2fV%.2fM%.2f %.2fH%.2fM%.2f %.2fH%.2f\" stroke=\"%s\" stroke-width=\"1.5\" fill=\"none\"/>\n",
                          cz(px), cz(lo), cz(hi), cz(px - 4), cz(lo), cz(px + 4), cz(px - 4), cz(hi), cz(px + 4), col);
            }
        }
        /* the line, broken at non-finite points */
        int64_t i = 0;
        while (i < se->n) {
            int64_t j = i;
            while (j < se->n && isfinite(sx_at(se, j)) && isfinite(se->y[j])) j++;
            if (j - i >= 2) {
                sb_printf(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", col);
                for (int64_t k = i; k < j; k++)
                    sb_printf(&b, "%.2f,%.2f%s", cz(fx(&f, sx_at(se, k))), cz(fy(&f, se->y[k])), k + 1 < j ? " " : "");
                sb_printf(&b, "\"/>\n");
            }
            if (j - i == 1 && !markers)
                sb_printf(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n", cz(fx(&f, sx_at(se, i))),
                          cz(fy(&f, se->y[i])), col);
            i = j > i ? j : i + 1;
        }
        if (markers)
            for (int64_t k = 0; k < se->n; k++)
                if (isfinite(sx_at(se, k)) && isfinite(se->y[k]))
                    sb_printf(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n",
                              cz(fx(&f, sx_at(se, k))), cz(fy(&f, se->y[k])), col);
        sb_printf(&b, "</g>\n");
    }
    sb_printf(&b, "</g>\n");
    draw_legend(&b, &f, names, c->num_series, false);
    svg_close(&b);
    return sb_finish(&b, svg, what);
}

medcl_status medcl_chart_line(const medcl_line_chart *c, char **svg) { return line_chart(c, svg, false); }
medcl_status medcl_chart_sweep(const medcl_line_chart *c, char **svg) { return line_chart(c, svg, true); }

/* ---- bar charts ---- */

medcl_status medcl_chart_bar(const medcl_bar_chart *c, char **svg) {
    const char *what = "chart bar";
    if (!svg) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: svg is NULL", what);
    *svg = NULL;
    if (!c) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: chart is NULL", what);
    if (c->size < sizeof(medcl_bar_chart))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: size = %zu, expected %zu", what, c->size, sizeof(medcl_bar_chart));
    medcl_status st = check_size(what, c->width, c->height);
    if (st != MEDCL_OK) return st;
    if (c->num_groups < 1 || c->num_groups > 256)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_groups = %d (must be 1..256)", what, c->num_groups);
    if (c->num_series < 1 || c->num_series > 32)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_series = %d (must be 1..32)", what, c->num_series);
    if (!c->values) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: values is NULL", what);
    if ((c->lower == NULL) != (c->upper == NULL))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: lower and upper must both be set or both NULL", what);
    if (c->fixed_y && !(isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: fixed y range [%g, %g] (must be finite, y_max > y_min)", what,
                          c->y_min, c->y_max);
    int G = c->num_groups, S = c->num_series, digits = c->digits < 0 ? 0 : c->digits > 12 ? 12 : c->digits;
    double lo = 0.0, hi = -INFINITY;
    for (int i = 0; i < G * S; i++) {
        if (isfinite(c->values[i])) lo = fmin(lo, c->values[i]), hi = fmax(hi, c->values[i]);
        if (c->lower && isfinite(c->lower[i]) && isfinite(c->upper[i]))
            lo = fmin(lo, c->lower[i]), hi = fmax(hi, c->upper[i]);
    }
    if (!isfinite(hi)) hi = 1.0;
    frame f;
    f.width = c->width;
    f.height = c->height;
    f.x0 = 70;
    f.x1 = c->width - legend_width(c->series_names, c->series_names ? S : 0, c->width);
    f.y0 = (c->title && *c->title) ? 44 : 16;
    f.y1 = c->height - 50;
    f.ax = axis_make(0, G, 1, false);
    f.ay = c->fixed_y ? axis_make(c->y_min, c->y_max, 6, false) : axis_make(lo, hi, 6, true);
    if (c->fixed_y) {
        f.ay.lo = c->y_min;
        f.ay.hi = c->y_max;
    }
    sb b = {0};
    svg_open(&b, c->width, c->height, c->title);
    draw_axes(&b, &f, c->x_label, c->y_label, false, NULL, 0);
    double gw = (f.x1 - f.x0) / G, bw = 0.8 * gw / S;
    double base = fy(&f, fmin(fmax(0.0, f.ay.lo), f.ay.hi));
    char t[64];
    /* group labels */
    sb_printf(&b, "<g text-anchor=\"middle\" fill=\"#333333\">\n");
    for (int g = 0; g < G; g++) {
        if (!c->group_names || !c->group_names[g]) continue;
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\">", cz(f.x0 + (g + 0.5) * gw), cz(f.y1 + 18));
        sb_text(&b, c->group_names[g]);
        sb_printf(&b, "</text>\n");
    }
    sb_printf(&b, "</g>\n");
    for (int g = 0; g < G; g++) {
        sb_printf(&b, "<g id=\"group%d\">\n", g);
        for (int s = 0; s < S; s++) {
            int i = g * S + s;
            double v = c->values[i];
            if (!isfinite(v)) continue;
            double vc = fmin(fmax(v, f.ay.lo), f.ay.hi);
            double x = f.x0 + g * gw + 0.1 * gw + s * bw, y = fy(&f, vc);
            double top = fmin(y, base), h = fabs(base - y);
            sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n", cz(x), cz(top),
                      cz(bw * 0.92), cz(h), palette[s % 10]);
            double label_y = y;
            if (c->lower && isfinite(c->lower[i]) && isfinite(c->upper[i])) {
                double cx = x + bw * 0.46, l = fy(&f, fmax(c->lower[i], f.ay.lo)), u = fy(&f, fmin(c->upper[i], f.ay.hi));
                double cap = fmin(5.0, bw * 0.3);
                sb_printf(&b, "<path d=\"M%.2f %.2fV%.2fM%.2f %.2fH%.2fM%.2f %.2fH%.2f\" stroke=\"#222222\" stroke-width=\"1.2\" fill=\"none\"/>\n",
                          cz(cx), cz(l), cz(u), cz(cx - cap), cz(l), cz(cx + cap), cz(cx - cap), cz(u), cz(cx + cap));
                label_y = fmin(label_y, u);
            }
            if (c->show_values) {
                medcl_md_format_number(t, sizeof t, v, digits);
                sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"10\" fill=\"#222222\">%s</text>\n",
                          cz(x + bw * 0.46), cz(label_y - 4), t);
            }
        }
        sb_printf(&b, "</g>\n");
    }
    if (c->series_names) draw_legend(&b, &f, c->series_names, S, true);
    svg_close(&b);
    return sb_finish(&b, svg, what);
}

/* ---- heat maps ---- */

static void ramp(double t, int rgb[3]) {
    static const int stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    double p = t * 4;
    int k = (int)p;
    if (k > 3) k = 3;
    double u = p - k;
    for (int i = 0; i < 3; i++) rgb[i] = (int)lround(stops[k][i] + (stops[k + 1][i] - stops[k][i]) * u);
}

medcl_status medcl_chart_heatmap(const medcl_heatmap *c, char **svg) {
    const char *what = "chart heatmap";
    if (!svg) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: svg is NULL", what);
    *svg = NULL;
    if (!c) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: chart is NULL", what);
    if (c->size < sizeof(medcl_heatmap))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: size = %zu, expected %zu", what, c->size, sizeof(medcl_heatmap));
    if (c->rows < 1 || c->rows > 64 || c->cols < 1 || c->cols > 64)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: rows x cols = %d x %d (each must be 1..64)", what, c->rows, c->cols);
    if (!c->values) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: values is NULL", what);
    if (c->fixed_range && !(isfinite(c->v_min) && isfinite(c->v_max) && c->v_max > c->v_min))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: fixed range [%g, %g] (must be finite, v_max > v_min)", what,
                          c->v_min, c->v_max);
    int R = c->rows, C = c->cols, digits = c->digits < 0 ? 0 : c->digits > 12 ? 12 : c->digits;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < R * C; i++)
        if (isfinite(c->values[i])) lo = fmin(lo, c->values[i]), hi = fmax(hi, c->values[i]);
    if (c->fixed_range) lo = c->v_min, hi = c->v_max;
    if (!isfinite(lo)) lo = 0, hi = 1;
    size_t lrow = 2;
    for (int r = 0; r < R; r++)
        if (c->row_names && c->row_names[r] && strlen(c->row_names[r]) > lrow) lrow = strlen(c->row_names[r]);
    double left = 7.0 * (double)lrow + 24 + ((c->y_label && *c->y_label) ? 24 : 0);
    double top = (c->title && *c->title) ? 44 : 16, right = 90, bottom = 50;
    int width = c->width, height = c->height;
    if (width == 0) width = (int)fmax(200.0, left + C * 64 + right);
    if (height == 0) height = (int)fmax(200.0, top + R * 40 + bottom);
    medcl_status st = check_size(what, width, height);
    if (st != MEDCL_OK) return st;
    double cw = (width - left - right) / C, ch = (height - top - bottom) / R;
    sb b = {0};
    svg_open(&b, width, height, c->title);
    char t[64];
    for (int r = 0; r < R; r++) {
        for (int k = 0; k < C; k++) {
            double v = c->values[r * C + k], x = left + k * cw, y = top + r * ch;
            int rgb[3] = {204, 204, 204};
            bool finite = isfinite(v);
            if (finite) ramp(hi > lo ? (v - lo) / (hi - lo) : 0.5, rgb);
            sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#%02x%02x%02x\" stroke=\"#ffffff\"/>\n",
                      cz(x), cz(y), cz(cw), cz(ch), rgb[0], rgb[1], rgb[2]);
            double lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
            medcl_md_format_number(t, sizeof t, v, digits);
            sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n", cz(x + cw / 2),
                      cz(y + ch / 2 + 4), lum < 128 ? "#ffffff" : "#000000", t);
        }
    }
    /* row and column names */
    sb_printf(&b, "<g fill=\"#333333\">\n");
    for (int r = 0; r < R; r++) {
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", cz(left - 6), cz(top + (r + 0.5) * ch + 4));
        if (c->row_names && c->row_names[r])
            sb_text(&b, c->row_names[r]);
        else
            sb_printf(&b, "%d", r);
        sb_printf(&b, "</text>\n");
    }
    for (int k = 0; k < C; k++) {
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", cz(left + (k + 0.5) * cw),
                  cz(top + R * ch + 16));
        if (c->col_names && c->col_names[k])
            sb_text(&b, c->col_names[k]);
        else
            sb_printf(&b, "%d", k);
        sb_printf(&b, "</text>\n");
    }
    sb_printf(&b, "</g>\n");
    if (c->x_label && *c->x_label) {
        sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", cz(left + C * cw / 2), cz(height - 10.0));
        sb_text(&b, c->x_label);
        sb_printf(&b, "</text>\n");
    }
    if (c->y_label && *c->y_label) {
        double y = top + R * ch / 2;
        sb_printf(&b, "<text x=\"16\" y=\"%.2f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.2f)\">", cz(y), cz(y));
        sb_text(&b, c->y_label);
        sb_printf(&b, "</text>\n");
    }
    /* colour bar: 16 steps from hi (top) to lo (bottom) */
    double bx = width - right + 20, by = top, bh = R * ch;
    for (int i = 0; i < 16; i++) {
        int rgb[3];
        ramp(1.0 - (i + 0.5) / 16.0, rgb);
        sb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"#%02x%02x%02x\"/>\n", cz(bx),
                  cz(by + i * bh / 16), cz(bh / 16 + 0.5), rgb[0], rgb[1], rgb[2]);
    }
    medcl_md_format_number(t, sizeof t, hi, digits);
    sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", cz(bx + 18), cz(by + 10), t);
    medcl_md_format_number(t, sizeof t, lo, digits);
    sb_printf(&b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", cz(bx + 18), cz(by + bh), t);
    svg_close(&b);
    return sb_finish(&b, svg, what);
}

medcl_status medcl_chart_save(const char *path, const char *svg) {
    if (!path || !svg) return medcl_fail(MEDCL_ERR_INVALID_ARG, "chart save: path or svg is NULL");
    medcl_status st = medcl_file_write_atomic(path, svg, strlen(svg));
    if (st != MEDCL_OK) medcl_error_prefix("chart %s", path);
    return st;
}
