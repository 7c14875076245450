/* tests/test_data_png.c — the PNG reader and writers (src/data/png_io.c): round trips through
 * the writers, the conversions documented in data_io.h on files crafted with libpng's full write
 * API (16-bit, palette, gray+alpha, interlaced, low bit depths, a gAMA chunk), label maps, and
 * every PNG row of RELIABILITY.md's file table (truncation at every byte, bad signature, bad
 * IDAT CRC, a 100000×100000 header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "medcl/data_io.h"
#include "testutil.h"

/* ---- crafting PNGs with libpng's full API into memory ---- */

typedef struct membuf { uint8_t *p; size_t n, cap; } membuf;
static void mem_write(png_structp png, png_bytep data, png_size_t len) {
    membuf *m = png_get_io_ptr(png);
    if (m->n + len > m->cap) {
        m->cap = (m->n + len) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, data, len);
    m->n += len;
}
static void mem_flush(png_structp png) { (void)png; }

/* samples: width*height*channels values of the file's colour type at its bit depth (palette:
 * indices). Returns the encoded file. */
static uint8_t *make_png(int w, int h, int color_type, int bit_depth, int interlace,
                         const unsigned *samples, const png_color *palette, int npal,
                         const png_byte *trans, int ntrans, double gamma, size_t *n) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    membuf m = {NULL, 0, 0};
    int ch = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_PALETTE ? 1
             : color_type == PNG_COLOR_TYPE_GRAY_ALPHA                                  ? 2
             : color_type == PNG_COLOR_TYPE_RGB                                         ? 3
                                                                                        : 4;
    size_t rowbytes = ((size_t)w * ch * bit_depth + 7) / 8;
    uint8_t *rows = calloc((size_t)h, rowbytes);
    png_bytep *rp = malloc((size_t)h * sizeof *rp);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng write failed");
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, w, h, bit_depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npal);
    if (trans) png_set_tRNS(png, info, trans, ntrans, NULL);
    if (gamma > 0) png_set_gAMA(png, info, gamma);
    for (int y = 0; y < h; y++) {
        uint8_t *row = rows + (size_t)y * rowbytes;
        rp[y] = row;
        for (int i = 0; i < w * ch; i++) {
            unsigned v = samples[(size_t)y * w * ch + i];
            if (bit_depth == 16) {
                row[2 * i] = (uint8_t)(v >> 8);
                row[2 * i + 1] = (uint8_t)v;
            } else if (bit_depth == 8) {
                row[i] = (uint8_t)v;
            } else { /* packed, most significant first */
                int per = 8 / bit_depth, shift = 8 - bit_depth * (i % per + 1);
                row[i / per] |= (uint8_t)(v << shift);
            }
        }
    }
    png_set_rows(png, info, rp);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rp);
    *n = m.n;
    return m.p;
}

static unsigned *random_samples(tu_rng *r, size_t n, unsigned maxv) {
    unsigned *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) s[i] = (unsigned)tu_int(r, 0, (int)maxv);
    return s;
}

static void expect_fail(const uint8_t *buf, size_t n, const char *name, medcl_status st,
                        const char *what) {
    medcl_image2d *im = (medcl_image2d *)(uintptr_t)1;
    medcl_status got = medcl_png_read_memory(buf, n, name, NULL, &im);
    if (got != st || (what && !strstr(medcl_last_error(), what)))
        print_error("status %d (want %d): %s\n", got, st, medcl_last_error());
    assert_int_equal(got, st);
    assert_null(im);
    assert_non_null(strstr(medcl_last_error(), name));
    if (what) assert_non_null(strstr(medcl_last_error(), what));
}

/* ---- tests ---- */

static void test_writers_round_trip(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "png_rt");
    int w = tu_int(&r, 1, 40), h = tu_int(&r, 1, 30);
    size_t np = (size_t)w * h;
    uint8_t *g8 = malloc(np * 3);
    uint16_t *g16 = malloc(np * 2);
    for (size_t i = 0; i < np * 3; i++) g8[i] = (uint8_t)tu_int(&r, 0, 255);
    for (size_t i = 0; i < np; i++) g16[i] = (uint16_t)tu_int(&r, 0, 65535);
    medcl_image2d *im = NULL;

    snprintf(path, sizeof path, "%s/g8.png", dir);
    assert_int_equal(medcl_png_write_gray8(path, w, h, g8), MEDCL_OK);
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_OK);
    assert_true(im->width == w && im->height == h && im->channels == 1 && im->bit_depth == 8);
    for (size_t i = 0; i < np; i++) assert_true(im->data[i] == g8[i]);
    medcl_image2d_free(im);

    snprintf(path, sizeof path, "%s/g16.png", dir);
    assert_int_equal(medcl_png_write_gray16(path, w, h, g16), MEDCL_OK);
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_OK);
    assert_true(im->channels == 1 && im->bit_depth == 16);
    for (size_t i = 0; i < np; i++) assert_true(im->data[i] == g16[i]);
    medcl_image2d_free(im);
    medcl_labels2d *lab = NULL;
    assert_int_equal(medcl_png_read_labels(path, NULL, &lab), MEDCL_OK); /* 16-bit labels */
    for (size_t i = 0; i < np; i++) assert_int_equal(lab->data[i], g16[i]);
    medcl_labels2d_free(lab);

    snprintf(path, sizeof path, "%s/rgb.png", dir);
    assert_int_equal(medcl_png_write_rgb8(path, w, h, g8), MEDCL_OK);
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_OK);
    assert_true(im->channels == 3 && im->bit_depth == 8);
    for (size_t i = 0; i < np * 3; i++) assert_true(im->data[i] == g8[i]);
    medcl_image2d_free(im);

    uint8_t *labels = malloc(np);
    int maxl = 0;
    for (size_t i = 0; i < np; i++) {
        labels[i] = (uint8_t)tu_int(&r, 0, 4);
        if (labels[i] > maxl) maxl = labels[i];
    }
    snprintf(path, sizeof path, "%s/lab.png", dir);
    assert_int_equal(medcl_png_write_labels(path, w, h, labels), MEDCL_OK);
    assert_int_equal(medcl_png_read_labels(path, NULL, &lab), MEDCL_OK);
    assert_true(lab->width == w && lab->height == h && lab->max_label == maxl);
    for (size_t i = 0; i < np; i++) assert_int_equal(lab->data[i], labels[i]);
    medcl_labels2d_free(lab);

    /* writers reject bad sizes with the file name */
    assert_int_equal(medcl_png_write_gray8(path, 0, 5, g8), MEDCL_ERR_INVALID_ARG);
    assert_non_null(strstr(medcl_last_error(), "lab.png"));
    assert_int_equal(medcl_png_write_gray8(path, 2000000, 1, g8), MEDCL_ERR_INVALID_ARG);
    free(labels);
    free(g8);
    free(g16);
}

static void test_conversions(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 1);
    const int w = 13, h = 9;
    size_t np = (size_t)w * h, n;
    medcl_image2d *im = NULL;

    /* 16-bit RGB and gray: values kept 0..65535 */
    for (int ct = 0; ct < 2; ct++) {
        int color = ct ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, ch = ct ? 3 : 1;
        unsigned *s = random_samples(&r, np * ch, 65535);
        uint8_t *f = make_png(w, h, color, 16, PNG_INTERLACE_NONE, s, NULL, 0, NULL, 0, 0, &n);
        assert_int_equal(medcl_png_read_memory(f, n, "w16.png", NULL, &im), MEDCL_OK);
        assert_true(im->channels == ch && im->bit_depth == 16);
        for (size_t i = 0; i < np * ch; i++) assert_true(im->data[i] == (float)s[i]);
        medcl_image2d_free(im);
        free(f);
        free(s);
    }
    /* 8-bit gray+alpha and RGBA: straight (not premultiplied) */
    for (int ct = 0; ct < 2; ct++) {
        int color = ct ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_GRAY_ALPHA, ch = ct ? 4 : 2;
        unsigned *s = random_samples(&r, np * ch, 255);
        uint8_t *f = make_png(w, h, color, 8, PNG_INTERLACE_NONE, s, NULL, 0, NULL, 0, 0, &n);
        assert_int_equal(medcl_png_read_memory(f, n, "ga.png", NULL, &im), MEDCL_OK);
        assert_true(im->channels == ch && im->bit_depth == 8);
        for (size_t i = 0; i < np * ch; i++) assert_true(im->data[i] == (float)s[i]);
        medcl_image2d_free(im);
        free(f);
        free(s);
    }
    /* 16-bit gray+alpha: libpng premultiplies, the reader divides back out */
    {
        unsigned *s = random_samples(&r, np * 2, 65535);
        for (size_t i = 0; i < np; i += 2) s[2 * i + 1] = 65535; /* opaque: exact */
        s[3] = 0;                                                 /* transparent: gray 0 */
        uint8_t *f = make_png(w, h, PNG_COLOR_TYPE_GRAY_ALPHA, 16, PNG_INTERLACE_NONE, s, NULL, 0,
                              NULL, 0, 0, &n);
        assert_int_equal(medcl_png_read_memory(f, n, "ga16.png", NULL, &im), MEDCL_OK);
        assert_true(im->channels == 2 && im->bit_depth == 16);
        for (size_t i = 0; i < np; i++) {
            float a = (float)s[2 * i + 1];
            assert_true(im->data[2 * i + 1] == a);
            if (a == 65535) assert_true(im->data[2 * i] == (float)s[2 * i]);
            else if (a == 0) assert_true(im->data[2 * i] == 0);
            else assert_true(fabsf(im->data[2 * i] - (float)s[2 * i]) <= 65535.0f / a + 1.0f);
        }
        medcl_image2d_free(im);
        free(f);
        free(s);
    }
    /* palette → RGB; palette with tRNS → RGBA */
    {
        png_color pal[5] = {{10, 20, 30}, {200, 0, 0}, {0, 200, 0}, {0, 0, 200}, {255, 255, 255}};
        png_byte trans[2] = {0, 128};
        unsigned *s = random_samples(&r, np, 4);
        for (int t = 0; t < 2; t++) {
            uint8_t *f = make_png(w, h, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, s, pal, 5,
                                  t ? trans : NULL, 2, 0, &n);
            assert_int_equal(medcl_png_read_memory(f, n, "pal.png", NULL, &im), MEDCL_OK);
            int ch = t ? 4 : 3;
            assert_int_equal(im->channels, ch);
            for (size_t i = 0; i < np; i++) {
                const png_color *c = &pal[s[i]];
                assert_true(im->data[i * ch] == c->red && im->data[i * ch + 1] == c->green &&
                            im->data[i * ch + 2] == c->blue);
                if (t) assert_true(im->data[i * ch + 3] == (s[i] < 2 ? trans[s[i]] : 255));
            }
            medcl_image2d_free(im);
            /* palette label maps are rejected with the policy in the message */
            medcl_labels2d *lab = NULL;
            assert_int_equal(medcl_png_read_labels_memory(f, n, "pal.png", NULL, &lab),
                             MEDCL_ERR_FORMAT);
            assert_null(lab);
            assert_non_null(strstr(medcl_last_error(), "pal.png"));
            assert_non_null(strstr(medcl_last_error(), "palette"));
            free(f);
        }
        free(s);
    }
    /* interlaced (Adam7) 8-bit RGB and 16-bit gray: identical values */
    for (int k = 0; k < 2; k++) {
        int ch = k ? 1 : 3, bd = k ? 16 : 8;
        unsigned *s = random_samples(&r, np * ch, k ? 65535 : 255);
        uint8_t *f = make_png(w, h, k ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, bd,
                              PNG_INTERLACE_ADAM7, s, NULL, 0, NULL, 0, 0, &n);
        assert_int_equal(medcl_png_read_memory(f, n, "adam7.png", NULL, &im), MEDCL_OK);
        assert_true(im->channels == ch && im->bit_depth == bd);
        for (size_t i = 0; i < np * ch; i++) assert_true(im->data[i] == (float)s[i]);
        medcl_image2d_free(im);
        free(f);
        free(s);
    }
    /* 1/2/4-bit gray: images scaled to 0..255, labels keep the stored values */
    for (int bd = 1; bd <= 4; bd *= 2) {
        unsigned maxv = (1u << bd) - 1;
        unsigned *s = random_samples(&r, np, maxv);
        uint8_t *f = make_png(w, h, PNG_COLOR_TYPE_GRAY, bd, PNG_INTERLACE_NONE, s, NULL, 0, NULL,
                              0, 0, &n);
        assert_int_equal(medcl_png_read_memory(f, n, "low.png", NULL, &im), MEDCL_OK);
        assert_true(im->channels == 1 && im->bit_depth == 8);
        for (size_t i = 0; i < np; i++) assert_true(im->data[i] == (float)(s[i] * (255 / maxv)));
        medcl_image2d_free(im);
        medcl_labels2d *lab = NULL;
        assert_int_equal(medcl_png_read_labels_memory(f, n, "low.png", NULL, &lab), MEDCL_OK);
        for (size_t i = 0; i < np; i++) assert_int_equal(lab->data[i], s[i]);
        medcl_labels2d_free(lab);
        free(f);
        free(s);
    }
    /* a gAMA chunk (1.0 on 8-bit, 1/2.2 on 16-bit) does not change the stored values */
    for (int k = 0; k < 2; k++) {
        int bd = k ? 16 : 8;
        unsigned *s = random_samples(&r, np, k ? 65535 : 255);
        uint8_t *f = make_png(w, h, PNG_COLOR_TYPE_GRAY, bd, PNG_INTERLACE_NONE, s, NULL, 0, NULL,
                              0, k ? 0.45455 : 1.0, &n);
        assert_int_equal(medcl_png_read_memory(f, n, "gamma.png", NULL, &im), MEDCL_OK);
        for (size_t i = 0; i < np; i++) assert_true(im->data[i] == (float)s[i]);
        medcl_image2d_free(im);
        medcl_labels2d *lab = NULL;
        assert_int_equal(medcl_png_read_labels_memory(f, n, "gamma.png", NULL, &lab), MEDCL_OK);
        for (size_t i = 0; i < np; i++) assert_int_equal(lab->data[i], s[i]);
        medcl_labels2d_free(lab);
        free(f);
        free(s);
    }
}

static void test_labels_policy(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 2);
    size_t n;
    const int w = 6, h = 5;
    int cts[3] = {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGBA};
    const char *what[3] = {"colour", "alpha", "alpha"};
    for (int k = 0; k < 3; k++) {
        int ch = k == 0 ? 3 : k == 1 ? 2 : 4;
        unsigned *s = random_samples(&r, (size_t)w * h * ch, 3);
        uint8_t *f = make_png(w, h, cts[k], 8, PNG_INTERLACE_NONE, s, NULL, 0, NULL, 0, 0, &n);
        medcl_labels2d *lab = NULL;
        assert_int_equal(medcl_png_read_labels_memory(f, n, "seg.png", NULL, &lab), MEDCL_ERR_FORMAT);
        assert_null(lab);
        assert_non_null(strstr(medcl_last_error(), "seg.png"));
        assert_non_null(strstr(medcl_last_error(), what[k]));
        assert_non_null(strstr(medcl_last_error(), "grayscale"));
        free(f);
        free(s);
    }
}

static uint8_t *valid_png(size_t *n) {
    tu_rng r = tu_rng_make(7);
    unsigned *s = random_samples(&r, 20 * 10 * 3, 255);
    uint8_t *f = make_png(20, 10, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, s, NULL, 0, NULL, 0,
                          0, n);
    free(s);
    return f;
}

static void test_damaged_files(void **state) {
    (void)state;
    size_t n;
    uint8_t *f = valid_png(&n);
    medcl_image2d *im = NULL;
    assert_int_equal(medcl_png_read_memory(f, n, "ok.png", NULL, &im), MEDCL_OK);
    medcl_image2d_free(im);
    /* truncated at every byte */
    for (size_t cut = 0; cut < n; cut++) {
        im = NULL;
        medcl_status st = medcl_png_read_memory(f, cut, "cut.png", NULL, &im);
        if (st != MEDCL_ERR_FORMAT) print_error("cut at %zu of %zu: %d\n", cut, n, st);
        assert_int_equal(st, MEDCL_ERR_FORMAT);
        assert_null(im);
        assert_non_null(strstr(medcl_last_error(), "cut.png"));
        medcl_labels2d *lab = NULL;
        assert_int_not_equal(medcl_png_read_labels_memory(f, cut, "cut.png", NULL, &lab), MEDCL_OK);
        assert_null(lab);
    }
    /* bad signature */
    f[1] ^= 0x20;
    expect_fail(f, n, "sig.png", MEDCL_ERR_FORMAT, "signature");
    f[1] ^= 0x20;
    /* bad CRC on the IDAT chunk */
    size_t pos = 8, idat = 0;
    while (pos + 12 <= n) {
        uint32_t len = (uint32_t)f[pos] << 24 | (uint32_t)f[pos + 1] << 16 | f[pos + 2] << 8 | f[pos + 3];
        if (memcmp(f + pos + 4, "IDAT", 4) == 0) {
            idat = pos + 8 + len; /* its CRC */
            break;
        }
        pos += 12 + len;
    }
    assert_true(idat > 0);
    f[idat + 2] ^= 0x01;
    expect_fail(f, n, "crc.png", MEDCL_ERR_FORMAT, "CRC");
    f[idat + 2] ^= 0x01;
    /* a flipped byte inside the compressed data (with its CRC fixed) */
    f[idat - 3] ^= 0xff;
    uint32_t crc = (uint32_t)crc32(0, f + pos + 4, (uInt)(idat - pos - 4));
    uint8_t save[4];
    memcpy(save, f + idat, 4);
    f[idat] = (uint8_t)(crc >> 24);
    f[idat + 1] = (uint8_t)(crc >> 16);
    f[idat + 2] = (uint8_t)(crc >> 8);
    f[idat + 3] = (uint8_t)crc;
    im = NULL;
    assert_int_equal(medcl_png_read_memory(f, n, "zlib.png", NULL, &im), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "zlib.png"));
    free(f);
    /* files: missing, empty */
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "png_bad");
    snprintf(path, sizeof path, "%s/missing.png", dir);
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), "missing.png"));
    snprintf(path, sizeof path, "%s/empty.png", dir);
    FILE *fp = fopen(path, "wb");
    fclose(fp);
    assert_int_equal(medcl_png_read(path, NULL, &im), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "empty.png"));
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_pixel_budget(void **state) {
    (void)state;
    /* signature + IHDR 100000×100000 gray 8-bit + a tiny IDAT + IEND, CRCs correct */
    uint8_t f[8 + 25 + 12 + 12 + 12];
    memcpy(f, "\x89PNG\r\n\x1a\n", 8);
    uint8_t *p = f + 8;
    put32(p, 13);
    memcpy(p + 4, "IHDR", 4);
    put32(p + 8, 100000);
    put32(p + 12, 100000);
    p[16] = 8;
    p[17] = 0;
    p[18] = p[19] = p[20] = 0;
    put32(p + 21, (uint32_t)crc32(0, p + 4, 17));
    p += 25;
    put32(p, 0);
    memcpy(p + 4, "IDAT", 4);
    put32(p + 8, (uint32_t)crc32(0, p + 4, 4));
    p += 12;
    put32(p, 0);
    memcpy(p + 4, "IEND", 4);
    put32(p + 8, (uint32_t)crc32(0, p + 4, 4));
    size_t n = 8 + 25 + 12 + 12;
    expect_fail(f, n, "huge.png", MEDCL_ERR_OUT_OF_MEMORY, "max_pixels");
    assert_non_null(strstr(medcl_last_error(), "100000x100000"));
    medcl_labels2d *lab = NULL;
    assert_int_equal(medcl_png_read_labels_memory(f, n, "huge.png", NULL, &lab),
                     MEDCL_ERR_OUT_OF_MEMORY);
    /* a caller's budget */
    size_t vn;
    uint8_t *v = valid_png(&vn); /* 20×10 */
    medcl_png_read_options o = MEDCL_PNG_READ_OPTIONS_INIT;
    o.max_pixels = 199;
    medcl_image2d *im = NULL;
    assert_int_equal(medcl_png_read_memory(v, vn, "small.png", &o, &im), MEDCL_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(medcl_last_error(), "small.png"));
    o.max_pixels = 200;
    assert_int_equal(medcl_png_read_memory(v, vn, "small.png", &o, &im), MEDCL_OK);
    medcl_image2d_free(im);
    free(v);
}

static void test_null_arguments(void **state) {
    (void)state;
    medcl_image2d *im = NULL;
    assert_int_equal(medcl_png_read(NULL, NULL, &im), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_png_read_memory(NULL, 5, "x.png", NULL, &im), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_png_read_memory(NULL, 0, "x.png", NULL, &im), MEDCL_ERR_FORMAT);
    assert_int_equal(medcl_png_write_rgb8("x.png", 2, 2, NULL), MEDCL_ERR_INVALID_ARG);
    medcl_image2d_free(NULL);
    medcl_labels2d_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writers_round_trip),
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_labels_policy),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_pixel_budget),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
