/* src/data/png_io.c — PNG images and label maps through libpng's simplified API, with a pixel
 * budget checked from the header before any pixel allocation, and atomic PNG writers.
 *
 * The colour-space chunks gAMA, sRGB, iCCP and cHRM are removed from (a copy of) the input
 * before libpng sees it: libpng then keeps 8-bit samples as they are (sRGB in, sRGB out) and
 * 16-bit samples as they are (linear in, linear out), so values are the stored samples, which
 * is what intensities and label maps need.
 *
 * Left out: text, time and other metadata chunks; APNG; writing anything but 8-bit gray/RGB and
 * 16-bit gray; palette label maps (colour → class tables). */
#include "core/internal.h"
#include "medcl/data_io.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

#define PNG_MAX_SIDE 1000000

static medcl_png_read_options png_options(const medcl_png_read_options *opt) {
    medcl_png_read_options o = MEDCL_PNG_READ_OPTIONS_INIT;
    if (opt) {
        if (opt->size >= offsetof(medcl_png_read_options, max_pixels) + sizeof(int64_t))
            o.max_pixels = opt->max_pixels;
        if (opt->size >= offsetof(medcl_png_read_options, max_file_bytes) + sizeof(size_t))
            o.max_file_bytes = opt->max_file_bytes;
    }
    return o;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Copies the PNG in src without its gAMA, sRGB, iCCP and cHRM chunks (they precede IDAT) and
 * tells whether the chunk walk reached IEND (libpng does not insist on it, we do: a file cut
 * after its last IDAT is truncated too). Malformed chunk framing is copied as is, for libpng
 * to report. */
static medcl_status png_strip_colorspace(const uint8_t *src, size_t n, const char *name,
                                         uint8_t **out, size_t *out_n, int *has_iend) {
    uint8_t *dst = malloc(n ? n : 1);
    if (!dst) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", name, n);
    size_t pos = n < 8 ? n : 8, w = pos;
    int before_idat = 1;
    *has_iend = 0;
    memcpy(dst, src, pos);
    while (pos + 12 <= n) {
        uint32_t len = be32(src + pos);
        const uint8_t *type = src + pos + 4;
        if (len > 0x7fffffffu || (size_t)len > n - pos - 12) break;
        size_t whole = 12 + (size_t)len;
        if (memcmp(type, "IDAT", 4) == 0) before_idat = 0;
        if (memcmp(type, "IEND", 4) == 0) *has_iend = 1;
        if (!before_idat || (memcmp(type, "gAMA", 4) != 0 && memcmp(type, "sRGB", 4) != 0 &&
                             memcmp(type, "iCCP", 4) != 0 && memcmp(type, "cHRM", 4) != 0)) {
            memcpy(dst + w, src + pos, whole);
            w += whole;
        }
        pos += whole;
        if (*has_iend) break;
    }
    memcpy(dst + w, src + pos, n - pos);
    *out = dst;
    *out_n = w + (n - pos);
    return MEDCL_OK;
}

/* Opens the image and checks the pixel budget; on success the caller must png_image_free. */
static medcl_status png_begin(png_image *img, const uint8_t *data, size_t n, const char *name,
                              const medcl_png_read_options *o) {
    memset(img, 0, sizeof *img);
    img->version = PNG_IMAGE_VERSION;
    if (n < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0)
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: bad PNG signature (not a PNG file)", name);
    if (!png_image_begin_read_from_memory(img, data, n)) {
        medcl_status st = medcl_fail(MEDCL_ERR_FORMAT, "%s: bad PNG header: %s", name,
                                     img->message);
        png_image_free(img);
        return st;
    }
    uint64_t pixels = (uint64_t)img->width * (uint64_t)img->height;
    if (o->max_pixels < 0 || pixels > (uint64_t)o->max_pixels) {
        medcl_status st = medcl_fail(MEDCL_ERR_OUT_OF_MEMORY,
                                     "%s: PNG header says %ux%u = %llu pixels, above the budget "
                                     "of %lld (max_pixels)",
                                     name, (unsigned)img->width, (unsigned)img->height,
                                     (unsigned long long)pixels, (long long)o->max_pixels);
        png_image_free(img);
        return st;
    }
    return MEDCL_OK;
}

static medcl_status png_decode(const uint8_t *data, size_t n, const char *name,
                               const medcl_png_read_options *o, medcl_image2d **out) {
    medcl_status st = MEDCL_OK;
    png_image img;
    int open = 0;
    uint8_t *clean = NULL, *pix = NULL;
    size_t clean_n = 0;
    medcl_image2d *im = NULL;
    int has_iend = 0;
    MEDCL_TRY(png_strip_colorspace(data, n, name, &clean, &clean_n, &has_iend));
    MEDCL_TRY(png_begin(&img, clean, clean_n, name, o));
    open = 1;
    png_uint_32 f = img.format;
    int color = (f & PNG_FORMAT_FLAG_COLOR) != 0, alpha = (f & PNG_FORMAT_FLAG_ALPHA) != 0;
    int wide = (f & PNG_FORMAT_FLAG_LINEAR) != 0;
    int ch = (color ? 3 : 1) + (alpha ? 1 : 0);
    img.format = (color ? PNG_FORMAT_FLAG_COLOR : 0) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0) |
                 (wide ? PNG_FORMAT_FLAG_LINEAR : 0);
    size_t npix = (size_t)img.width * img.height, nval = npix * (size_t)ch; /* ≤ budget */
    size_t bytes = nval * (wide ? 2 : 1);
    pix = malloc(bytes ? bytes : 1);
    im = calloc(1, sizeof *im);
    if (!pix || !im) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", name, bytes);
    im->data = malloc((nval ? nval : 1) * sizeof(float));
    if (!im->data)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu floats", name, nval);
    if (!png_image_finish_read(&img, NULL, pix, 0, NULL)) {
        open = 0; /* libpng frees the image on failure */
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: damaged PNG: %s", name, img.message);
    }
    open = 0; /* finish_read frees the image on success */
    if (!has_iend)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: truncated PNG: no IEND chunk after the image data", name);
    im->width = img.width;
    im->height = img.height;
    im->channels = ch;
    im->bit_depth = wide ? 16 : 8;
    if (!wide) {
        for (size_t i = 0; i < nval; i++) im->data[i] = pix[i];
    } else {
        const uint16_t *p16 = (const uint16_t *)(void *)pix;
        for (size_t i = 0; i < nval; i++) im->data[i] = p16[i];
        if (alpha) { /* linear output is premultiplied: divide alpha back out */
            for (size_t i = 0; i < npix; i++) {
                float *px = im->data + i * (size_t)ch;
                float a = px[ch - 1];
                for (int c = 0; c < ch - 1; c++) {
                    float u = a > 0 ? (float)(int)(px[c] * 65535.0f / a + 0.5f) : 0.0f;
                    px[c] = u > 65535.0f ? 65535.0f : u;
                }
            }
        }
    }
    *out = im;
    im = NULL;
cleanup:
    if (open) png_image_free(&img);
    free(clean);
    free(pix);
    medcl_image2d_free(im);
    return st;
}

static medcl_status png_decode_labels(const uint8_t *data, size_t n, const char *name,
                                      const medcl_png_read_options *o, medcl_labels2d **out) {
    medcl_status st = MEDCL_OK;
    png_image img;
    int open = 0;
    uint8_t *clean = NULL, *pix = NULL;
    size_t clean_n = 0;
    medcl_labels2d *lab = NULL;
    int has_iend = 0;
    MEDCL_TRY(png_strip_colorspace(data, n, name, &clean, &clean_n, &has_iend));
    MEDCL_TRY(png_begin(&img, clean, clean_n, name, o));
    open = 1;
    /* the IHDR chunk follows the signature: bytes 24 and 25 are bit depth and colour type */
    int bit_depth = clean[24], color_type = clean[25];
    png_uint_32 f = img.format;
    if (f & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_COLORMAP | PNG_FORMAT_FLAG_ALPHA))
        MEDCL_FAIL(MEDCL_ERR_FORMAT,
                   "%s: label map has PNG colour type %d (%s%s): labels must be grayscale "
                   "without alpha or transparency, one class per gray value",
                   name, color_type, color_type == 3 ? "palette" : (f & PNG_FORMAT_FLAG_COLOR) ? "colour" : "gray",
                   (f & PNG_FORMAT_FLAG_ALPHA) ? " with alpha/tRNS" : "");
    int wide = bit_depth == 16;
    img.format = wide ? PNG_FORMAT_LINEAR_Y : PNG_FORMAT_GRAY;
    size_t npix = (size_t)img.width * img.height;
    pix = malloc((npix ? npix : 1) * (wide ? 2 : 1));
    lab = calloc(1, sizeof *lab);
    if (!pix || !lab) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu pixels", name, npix);
    lab->data = malloc((npix ? npix : 1) * sizeof(uint16_t));
    if (!lab->data) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu pixels", name, npix);
    if (!png_image_finish_read(&img, NULL, pix, 0, NULL)) {
        open = 0;
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: damaged PNG: %s", name, img.message);
    }
    open = 0;
    if (!has_iend)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: truncated PNG: no IEND chunk after the image data", name);
    /* libpng scales 1/2/4-bit gray up to 8 bits by an exact factor 255/(2^d - 1); undo it */
    int div = bit_depth < 8 ? 255 / ((1 << bit_depth) - 1) : 1;
    int maxl = 0;
    for (size_t i = 0; i < npix; i++) {
        int v = wide ? ((const uint16_t *)(void *)pix)[i] : pix[i] / div;
        lab->data[i] = (uint16_t)v;
        if (v > maxl) maxl = v;
    }
    lab->width = img.width;
    lab->height = img.height;
    lab->max_label = maxl;
    *out = lab;
    lab = NULL;
cleanup:
    if (open) png_image_free(&img);
    free(clean);
    free(pix);
    medcl_labels2d_free(lab);
    return st;
}

void medcl_image2d_free(medcl_image2d *img) {
    if (!img) return;
    free(img->data);
    free(img);
}

void medcl_labels2d_free(medcl_labels2d *lab) {
    if (!lab) return;
    free(lab->data);
    free(lab);
}

medcl_status medcl_png_read_memory(const void *data, size_t n, const char *name,
                                   const medcl_png_read_options *opt, medcl_image2d **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_read: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && n > 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: data is NULL", name);
    medcl_png_read_options o = png_options(opt);
    return png_decode(data ? data : (const void *)"", n, name, &o, out);
}

medcl_status medcl_png_read_labels_memory(const void *data, size_t n, const char *name,
                                          const medcl_png_read_options *opt, medcl_labels2d **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_read_labels: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && n > 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: data is NULL", name);
    medcl_png_read_options o = png_options(opt);
    return png_decode_labels(data ? data : (const void *)"", n, name, &o, out);
}

medcl_status medcl_png_read(const char *path, const medcl_png_read_options *opt,
                            medcl_image2d **out) {
    medcl_status st = MEDCL_OK;
    void *buf = NULL;
    size_t n = 0;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_read: out is NULL");
    *out = NULL;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_read: path is NULL");
    medcl_png_read_options o = png_options(opt);
    MEDCL_TRY(medcl_file_read_all(path, o.max_file_bytes, &buf, &n));
    MEDCL_TRY(png_decode(buf, n, path, &o, out));
cleanup:
    free(buf);
    return st;
}

medcl_status medcl_png_read_labels(const char *path, const medcl_png_read_options *opt,
                                   medcl_labels2d **out) {
    medcl_status st = MEDCL_OK;
    void *buf = NULL;
    size_t n = 0;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_read_labels: out is NULL");
    *out = NULL;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_read_labels: path is NULL");
    medcl_png_read_options o = png_options(opt);
    MEDCL_TRY(medcl_file_read_all(path, o.max_file_bytes, &buf, &n));
    MEDCL_TRY(png_decode_labels(buf, n, path, &o, out));
cleanup:
    free(buf);
    return st;
}

/* ---- writers ---- */

static medcl_status png_write(const char *path, int64_t width, int64_t height, const void *data,
                              png_uint_32 format) {
    medcl_status st = MEDCL_OK;
    png_image img;
    void *mem = NULL;
    png_alloc_size_t size = 0;
    if (!path || !data)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "png_write: path or data is NULL");
    if (width < 1 || width > PNG_MAX_SIDE || height < 1 || height > PNG_MAX_SIDE)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: size %lldx%lld (width and height must be in "
                                                 "1..%d)",
                          path, (long long)width, (long long)height, PNG_MAX_SIDE);
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)width;
    img.height = (png_uint_32)height;
    img.format = format;
    if (!png_image_write_get_memory_size(img, size, 0, data, 0, NULL))
        MEDCL_FAIL(MEDCL_ERR_IO, "%s: PNG encoding failed: %s", path, img.message);
    mem = malloc(size ? size : 1);
    if (!mem) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, (size_t)size);
    if (!png_image_write_to_memory(&img, mem, &size, 0, data, 0, NULL))
        MEDCL_FAIL(MEDCL_ERR_IO, "%s: PNG encoding failed: %s", path, img.message);
    MEDCL_TRY(medcl_file_write_atomic(path, mem, size));
cleanup:
    png_image_free(&img);
    free(mem);
    return st;
}

medcl_status medcl_png_write_gray8(const char *path, int64_t width, int64_t height,
                                   const uint8_t *data) {
    return png_write(path, width, height, data, PNG_FORMAT_GRAY);
}

medcl_status medcl_png_write_gray16(const char *path, int64_t width, int64_t height,
                                    const uint16_t *data) {
    return png_write(path, width, height, data, PNG_FORMAT_LINEAR_Y);
}

medcl_status medcl_png_write_labels(const char *path, int64_t width, int64_t height,
                                    const uint8_t *labels) {
    return png_write(path, width, height, labels, PNG_FORMAT_GRAY);
}

medcl_status medcl_png_write_rgb8(const char *path, int64_t width, int64_t height,
                                  const uint8_t *rgb) {
    return png_write(path, width, height, rgb, PNG_FORMAT_RGB);
}
