/* src/eval/report_md.c — the Markdown builder for report.md (medcl/report.h): headings,
 * paragraphs, bullet lists, pipe tables with escaped cells, images, code blocks, number and
 * interval formatting, atomic write. A failed append (out of memory) makes the builder
 * sticky: every later call returns the same error.
 *
 * Left out: which sections a report has, Markdown parsing, HTML rendering. */
#include "medcl/report.h"
#include "core/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct medcl_md {
    char *s;
    size_t n, cap;
    bool failed;
    bool in_list; /* the last block was a bullet: a blank line is owed before the next block */
};

static medcl_status md_oom(void) { return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory"); }

static medcl_status md_reserve(medcl_md *md, size_t more) {
    if (md->failed) return md_oom();
    if (md->n + more + 1 <= md->cap) return MEDCL_OK;
    size_t cap = md->cap ? md->cap : 1024;
    while (cap < md->n + more + 1) cap *= 2;
    char *g = realloc(md->s, cap);
    if (!g) {
        md->failed = true;
        return md_oom();
    }
    md->s = g;
    md->cap = cap;
    return MEDCL_OK;
}

static medcl_status md_put(medcl_md *md, const char *t, size_t len) {
    medcl_status st = md_reserve(md, len);
    if (st != MEDCL_OK) return st;
    memcpy(md->s + md->n, t, len);
    md->n += len;
    md->s[md->n] = 0;
    return MEDCL_OK;
}

static medcl_status md_str(medcl_md *md, const char *t) { return md_put(md, t, strlen(t)); }

static medcl_status md_vprintf(medcl_md *md, const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int len = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (len < 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: bad format \"%s\"", fmt);
    medcl_status st = md_reserve(md, (size_t)len);
    if (st != MEDCL_OK) return st;
    vsnprintf(md->s + md->n, (size_t)len + 1, fmt, ap);
    md->n += (size_t)len;
    return MEDCL_OK;
}

/* Text on one line: line breaks become spaces. */
static medcl_status md_line_text(medcl_md *md, const char *t) {
    medcl_status st = MEDCL_OK;
    for (const char *p = t; *p && st == MEDCL_OK; p++) {
        char c = (*p == '\n' || *p == '\r') ? ' ' : *p;
        st = md_put(md, &c, 1);
    }
    return st;
}

/* Ends a running list with a blank line before a new block. */
static medcl_status md_block(medcl_md *md) {
    if (!md) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: builder is NULL");
    if (md->failed) return md_oom();
    if (md->in_list) {
        md->in_list = false;
        return md_str(md, "\n");
    }
    return MEDCL_OK;
}

medcl_status medcl_md_create(medcl_md **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return md_oom();
    medcl_status st = md_reserve(*out, 0);
    if (st != MEDCL_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

void medcl_md_destroy(medcl_md *md) {
    if (!md) return;
    free(md->s);
    free(md);
}

medcl_status medcl_md_heading(medcl_md *md, int level, const char *text) {
    medcl_status st = md_block(md);
    if (st != MEDCL_OK) return st;
    if (level < 1 || level > 6 || !text)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: heading level = %d (must be 1..6) or text NULL", level);
    static const char hashes[] = "######";
    if ((st = md_put(md, hashes, (size_t)level)) != MEDCL_OK) return st;
    if ((st = md_str(md, " ")) != MEDCL_OK) return st;
    if ((st = md_line_text(md, text)) != MEDCL_OK) return st;
    return md_str(md, "\n\n");
}

medcl_status medcl_md_paragraph(medcl_md *md, const char *fmt, ...) {
    medcl_status st = md_block(md);
    if (st != MEDCL_OK) return st;
    if (!fmt) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: paragraph format is NULL");
    va_list ap;
    va_start(ap, fmt);
    st = md_vprintf(md, fmt, ap);
    va_end(ap);
    if (st != MEDCL_OK) return st;
    return md_str(md, "\n\n");
}

medcl_status medcl_md_bullet(medcl_md *md, const char *fmt, ...) {
    if (!md) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: builder is NULL");
    if (!fmt) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: bullet format is NULL");
    medcl_status st = md_str(md, "- ");
    if (st != MEDCL_OK) return st;
    va_list ap;
    va_start(ap, fmt);
    st = md_vprintf(md, fmt, ap);
    va_end(ap);
    if (st != MEDCL_OK) return st;
    md->in_list = true;
    return md_str(md, "\n");
}

/* A table cell: '|' escaped, '\' before it kept, line breaks as spaces, leading/trailing
 * spaces kept (they do not matter in a pipe table). */
static medcl_status md_cell(medcl_md *md, const char *t) {
    medcl_status st = md_str(md, " ");
    for (const char *p = t ? t : ""; *p && st == MEDCL_OK; p++) {
        if (*p == '|')
            st = md_str(md, "\\|");
        else
            st = md_put(md, (*p == '\n' || *p == '\r') ? " " : p, 1);
    }
    if (st == MEDCL_OK) st = md_str(md, " |");
    return st;
}

medcl_status medcl_md_table(medcl_md *md, int rows, int cols, const char *const *header,
                            const char *const *cells, const char *align) {
    medcl_status st = md_block(md);
    if (st != MEDCL_OK) return st;
    if (cols < 1 || rows < 0 || !header || (rows > 0 && !cells))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: table %d x %d (cols >= 1, rows >= 0) with NULL arrays",
                          rows, cols);
    if (align && strlen(align) != (size_t)cols)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: table align \"%s\" has %zu characters, expected %d",
                          align, strlen(align), cols);
    for (int c = 0; align && c < cols; c++)
        if (align[c] != 'l' && align[c] != 'r' && align[c] != 'c')
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: table align '%c' (must be l, c or r)", align[c]);
    if ((st = md_str(md, "|")) != MEDCL_OK) return st;
    for (int c = 0; c < cols; c++)
        if ((st = md_cell(md, header[c])) != MEDCL_OK) return st;
    if ((st = md_str(md, "\n|")) != MEDCL_OK) return st;
    for (int c = 0; c < cols; c++) {
        char a = align ? align[c] : 'l';
        const char *rule = a == 'r' ? " ---: |" : a == 'c' ? " :---: |" : " --- |";
        if ((st = md_str(md, rule)) != MEDCL_OK) return st;
    }
    if ((st = md_str(md, "\n")) != MEDCL_OK) return st;
    for (int r = 0; r < rows; r++) {
        if ((st = md_str(md, "|")) != MEDCL_OK) return st;
        for (int c = 0; c < cols; c++)
            if ((st = md_cell(md, cells[(size_t)r * (size_t)cols + (size_t)c])) != MEDCL_OK) return st;
        if ((st = md_str(md, "\n")) != MEDCL_OK) return st;
    }
    return md_str(md, "\n");
}

medcl_status medcl_md_image(medcl_md *md, const char *alt, const char *path) {
    medcl_status st = md_block(md);
    if (st != MEDCL_OK) return st;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: image path is NULL");
    if ((st = md_str(md, "![")) != MEDCL_OK) return st;
    for (const char *p = alt ? alt : ""; *p && st == MEDCL_OK; p++) {
        if (*p == '[' || *p == ']') st = md_str(md, "\\");
        if (st == MEDCL_OK) st = md_put(md, (*p == '\n' || *p == '\r') ? " " : p, 1);
    }
    if (st != MEDCL_OK) return st;
    if ((st = md_str(md, "](")) != MEDCL_OK) return st;
    /* spaces and parentheses in the path are percent-encoded */
    for (const char *p = path; *p && st == MEDCL_OK; p++) {
        if (*p == ' ')
            st = md_str(md, "%20");
        else if (*p == '(')
            st = md_str(md, "%28");
        else if (*p == ')')
            st = md_str(md, "%29");
        else
            st = md_put(md, p, 1);
    }
    if (st != MEDCL_OK) return st;
    return md_str(md, ")\n\n");
}

medcl_status medcl_md_code(medcl_md *md, const char *lang, const char *text) {
    medcl_status st = md_block(md);
    if (st != MEDCL_OK) return st;
    if (!text) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: code text is NULL");
    size_t n = strlen(text);
    if ((st = md_str(md, "```")) != MEDCL_OK) return st;
    if (lang && (st = md_line_text(md, lang)) != MEDCL_OK) return st;
    if ((st = md_str(md, "\n")) != MEDCL_OK) return st;
    if ((st = md_put(md, text, n)) != MEDCL_OK) return st;
    if (n == 0 || text[n - 1] != '\n')
        if ((st = md_str(md, "\n")) != MEDCL_OK) return st;
    return md_str(md, "```\n\n");
}

const char *medcl_md_text(const medcl_md *md) { return md && md->s ? md->s : ""; }

medcl_status medcl_md_write(const medcl_md *md, const char *path) {
    if (!md || !path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.md: builder or path is NULL");
    if (md->failed) return md_oom();
    medcl_status st = medcl_file_write_atomic(path, md->s, md->n);
    if (st != MEDCL_OK) medcl_error_prefix("report.md %s", path);
    return st;
}

char *medcl_md_format_number(char *buf, size_t cap, double v, int digits) {
    if (!buf || cap == 0) return buf;
    if (digits < 0) digits = 0;
    if (digits > 12) digits = 12;
    if (isnan(v))
        snprintf(buf, cap, "n/a");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else {
        snprintf(buf, cap, "%.*f", digits, v);
        /* no "-0.000": a value that rounds to zero prints as zero */
        bool zero = true;
        for (const char *p = buf; *p; p++)
            if (*p >= '1' && *p <= '9') zero = false;
        if (zero && buf[0] == '-') memmove(buf, buf + 1, strlen(buf));
    }
    return buf;
}

char *medcl_md_format_ci(char *buf, size_t cap, const medcl_ci *ci, int digits) {
    if (!buf || cap == 0) return buf;
    if (!ci || ci->num_used == 0) {
        snprintf(buf, cap, "n/a");
        return buf;
    }
    char e[64], l[64], u[64];
    medcl_md_format_number(e, sizeof e, ci->estimate, digits);
    medcl_md_format_number(l, sizeof l, ci->lower, digits);
    medcl_md_format_number(u, sizeof u, ci->upper, digits);
    snprintf(buf, cap, "%s [%s, %s]", e, l, u);
    return buf;
}
