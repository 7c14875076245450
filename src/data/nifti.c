/* src/data/nifti.c — a strict NIfTI-1/NIfTI-2 reader and a NIfTI-1 writer on zlib.
 *
 * The reader validates every header field that sizes an allocation before allocating, streams
 * gzip input with decompression capped a little past the size the header implies, converts the
 * seven integer/float datatypes to float with scl_slope/scl_inter, and keeps NaN/Inf voxels
 * (counted, never zeroed). Geometry follows the NIfTI-1 standard (nifti1.h): sform when
 * sform_code > 0, else the qform quaternion (Method 2), else the pixdim diagonal.
 *
 * Left out: Analyze 7.5 and .hdr/.img pairs, extensions (skipped), complex/RGB/64-bit-integer
 * datatypes, writing NIfTI-2 or big-endian, and streaming raw files (a .nii is read whole). */
#include "core/internal.h"
#include "medcl/data_io.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NII1_HDR 348
#define NII2_HDR 540
/* Extensions and padding between the header and the data are skipped; a gzip stream may not
 * claim more of them than this (raw files are bounded by their size). */
#define NII_MAX_VOX_OFFSET ((int64_t)256 << 20)
/* How far past the expected size a gzip stream is decompressed to report its actual length. */
#define NII_GZ_OVERRUN_CAP ((size_t)16 << 20)

/* ---- little helpers for byte order ---- */

static uint16_t ld16(const uint8_t *p, int swap) {
    return swap ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}
static uint32_t ld32(const uint8_t *p, int swap) {
    if (swap) return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint64_t ld64(const uint8_t *p, int swap) {
    uint64_t lo = ld32(p + (swap ? 4 : 0), swap), hi = ld32(p + (swap ? 0 : 4), swap);
    return hi << 32 | lo;
}
static int16_t rd_i16(const uint8_t *p, int swap) { return (int16_t)ld16(p, swap); }
static int32_t rd_i32(const uint8_t *p, int swap) { return (int32_t)ld32(p, swap); }
static int64_t rd_i64(const uint8_t *p, int swap) { return (int64_t)ld64(p, swap); }
static double rd_f32(const uint8_t *p, int swap) {
    uint32_t u = ld32(p, swap);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double rd_f64(const uint8_t *p, int swap) {
    uint64_t u = ld64(p, swap);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* ---- header ---- */

typedef struct nii_header {
    int version, swap;
    size_t hdr_size;
    int datatype, bitpix, bytes_per_voxel;
    int64_t dim[8];
    double pixdim[8];
    int64_t vox_offset;
    double scl_slope, scl_inter;
    int qform_code, sform_code;
    double quatern[3], qoffset[3], srow[3][4];
    int xyzt_units, dim_info, slice_code;
    int64_t slice_start, slice_end;
    double slice_duration, toffset;
    char descrip[80];
    int64_t vdim[4];   /* the volume's x, y, z, t */
    int64_t nvox;
    size_t data_bytes; /* in the file */
} nii_header;

static const char *dtype_name(int dt) {
    switch (dt) {
    case MEDCL_NIFTI_U8: return "uint8";
    case MEDCL_NIFTI_I8: return "int8";
    case MEDCL_NIFTI_I16: return "int16";
    case MEDCL_NIFTI_U16: return "uint16";
    case MEDCL_NIFTI_I32: return "int32";
    case MEDCL_NIFTI_F32: return "float32";
    case MEDCL_NIFTI_F64: return "float64";
    case 1: return "binary";
    case 32: return "complex64";
    case 128: return "rgb24";
    case 768: return "uint32";
    case 1024: return "int64";
    case 1280: return "uint64";
    case 1536: return "float128";
    case 1792: return "complex128";
    case 2048: return "complex256";
    case 2304: return "rgba32";
    default: return "unknown";
    }
}

static int dtype_bytes(int dt) {
    switch (dt) {
    case MEDCL_NIFTI_U8:
    case MEDCL_NIFTI_I8: return 1;
    case MEDCL_NIFTI_I16:
    case MEDCL_NIFTI_U16: return 2;
    case MEDCL_NIFTI_I32:
    case MEDCL_NIFTI_F32: return 4;
    case MEDCL_NIFTI_F64: return 8;
    default: return 0;
    }
}

/* Decides version and byte order from the first 4 bytes (sizeof_hdr). */
static medcl_status nii_detect(const uint8_t *p, const char *name, nii_header *h) {
    int32_t le = rd_i32(p, 0), be = rd_i32(p, 1);
    if (le == NII1_HDR || le == NII2_HDR) {
        h->swap = 0;
        h->version = le == NII1_HDR ? 1 : 2;
    } else if (be == NII1_HDR || be == NII2_HDR) {
        h->swap = 1;
        h->version = be == NII1_HDR ? 1 : 2;
    } else {
        return medcl_fail(MEDCL_ERR_FORMAT,
                          "%s: sizeof_hdr = %d (expected 348 for NIfTI-1 or 540 for NIfTI-2, in "
                          "either byte order): not a NIfTI file",
                          name, (int)le);
    }
    h->hdr_size = h->version == 1 ? NII1_HDR : NII2_HDR;
    return MEDCL_OK;
}

/* Fills h from the raw header bytes (h->hdr_size of them) and validates every field. */
static medcl_status nii_parse(const uint8_t *p, const char *name,
                              const medcl_nifti_read_options *opt, nii_header *h) {
    int s = h->swap;
    double vox_offset_f = 0;
    if (h->version == 1) {
        if (memcmp(p + 344, "ni1\0", 4) == 0)
            return medcl_fail(MEDCL_ERR_UNSUPPORTED,
                              "%s: magic = \"ni1\": header/image pairs (.hdr/.img) are not "
                              "supported; convert to a single .nii file",
                              name);
        if (memcmp(p + 344, "n+1\0", 4) != 0)
            return medcl_fail(MEDCL_ERR_FORMAT,
                              "%s: magic = %02x %02x %02x %02x (expected \"n+1\"): not a NIfTI-1 "
                              "single file (Analyze 7.5 is not supported)",
                              name, p[344], p[345], p[346], p[347]);
        for (int i = 0; i < 8; i++) h->dim[i] = rd_i16(p + 40 + 2 * i, s);
        h->datatype = rd_i16(p + 70, s);
        h->bitpix = rd_i16(p + 72, s);
        h->slice_start = rd_i16(p + 74, s);
        for (int i = 0; i < 8; i++) h->pixdim[i] = rd_f32(p + 76 + 4 * i, s);
        vox_offset_f = rd_f32(p + 108, s);
        h->scl_slope = rd_f32(p + 112, s);
        h->scl_inter = rd_f32(p + 116, s);
        h->slice_end = rd_i16(p + 120, s);
        h->slice_code = p[122];
        h->xyzt_units = p[123];
        h->slice_duration = rd_f32(p + 132, s);
        h->toffset = rd_f32(p + 136, s);
        memcpy(h->descrip, p + 148, 79);
        h->qform_code = rd_i16(p + 252, s);
        h->sform_code = rd_i16(p + 254, s);
        for (int i = 0; i < 3; i++) h->quatern[i] = rd_f32(p + 256 + 4 * i, s);
        for (int i = 0; i < 3; i++) h->qoffset[i] = rd_f32(p + 268 + 4 * i, s);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) h->srow[r][c] = rd_f32(p + 280 + 16 * r + 4 * c, s);
        h->dim_info = p[39];
    } else {
        if (memcmp(p + 4, "ni2\0", 4) == 0)
            return medcl_fail(MEDCL_ERR_UNSUPPORTED,
                              "%s: magic = \"ni2\": header/image pairs are not supported", name);
        if (memcmp(p + 4, "n+2\0\r\n\032\n", 8) != 0)
            return medcl_fail(MEDCL_ERR_FORMAT,
                              "%s: magic = %02x %02x %02x %02x (expected \"n+2\" and \\r\\n\\032\\n)",
                              name, p[4], p[5], p[6], p[7]);
        h->datatype = rd_i16(p + 12, s);
        h->bitpix = rd_i16(p + 14, s);
        for (int i = 0; i < 8; i++) h->dim[i] = rd_i64(p + 16 + 8 * i, s);
        for (int i = 0; i < 8; i++) h->pixdim[i] = rd_f64(p + 104 + 8 * i, s);
        int64_t vo = rd_i64(p + 168, s);
        vox_offset_f = (double)vo;
        h->scl_slope = rd_f64(p + 176, s);
        h->scl_inter = rd_f64(p + 184, s);
        h->slice_duration = rd_f64(p + 208, s);
        h->toffset = rd_f64(p + 216, s);
        h->slice_start = rd_i64(p + 224, s);
        h->slice_end = rd_i64(p + 232, s);
        memcpy(h->descrip, p + 240, 79);
        h->qform_code = rd_i32(p + 344, s);
        h->sform_code = rd_i32(p + 348, s);
        for (int i = 0; i < 3; i++) h->quatern[i] = rd_f64(p + 352 + 8 * i, s);
        for (int i = 0; i < 3; i++) h->qoffset[i] = rd_f64(p + 376 + 8 * i, s);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) h->srow[r][c] = rd_f64(p + 400 + 32 * r + 8 * c, s);
        h->slice_code = rd_i32(p + 496, s);
        h->xyzt_units = rd_i32(p + 500, s);
        h->dim_info = p[524];
    }
    h->descrip[79] = '\0';

    /* dims */
    int64_t nd = h->dim[0];
    if (nd < 1 || nd > 7)
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: dim[0] = %lld (must be in 1..7)", name,
                          (long long)nd);
    int64_t d[8] = {nd, 1, 1, 1, 1, 1, 1, 1};
    int64_t nvox = 1;
    for (int i = 1; i <= nd; i++) {
        if (h->dim[i] <= 0)
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: dim[%d] = %lld (must be > 0)", name, i,
                              (long long)h->dim[i]);
        d[i] = h->dim[i];
        if (!medcl_mul_i64(nvox, d[i], &nvox))
            return medcl_fail(MEDCL_ERR_FORMAT,
                              "%s: dim[1..%lld] product overflows at dim[%d] = %lld", name,
                              (long long)nd, i, (long long)d[i]);
    }
    int extra = 0;
    for (int i = 4; i <= 7; i++) {
        if (d[i] > 1) {
            if (extra)
                return medcl_fail(MEDCL_ERR_UNSUPPORTED,
                                  "%s: dim[%d] = %lld and dim[%d] = %lld: at most one of dim[4..7] "
                                  "may exceed 1 (this reader keeps 4-D: x, y, z and one of "
                                  "time/components)",
                                  name, extra, (long long)d[extra], i, (long long)d[i]);
            extra = i;
        }
    }
    h->vdim[0] = d[1];
    h->vdim[1] = d[2];
    h->vdim[2] = d[3];
    h->vdim[3] = extra ? d[extra] : 1;
    h->nvox = nvox;

    /* datatype */
    h->bytes_per_voxel = dtype_bytes(h->datatype);
    if (h->bytes_per_voxel == 0)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED,
                          "%s: datatype = %d (%s) is not supported (uint8, int8, int16, uint16, "
                          "int32, float32, float64 are)",
                          name, h->datatype, dtype_name(h->datatype));
    if (h->bitpix != 8 * h->bytes_per_voxel)
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: bitpix = %d does not match datatype %d (%s, %d bits)",
                          name, h->bitpix, h->datatype, dtype_name(h->datatype),
                          8 * h->bytes_per_voxel);
    int64_t file_bytes, float_bytes;
    if (!medcl_mul_i64(nvox, h->bytes_per_voxel, &file_bytes) ||
        !medcl_mul_i64(nvox, (int64_t)sizeof(float), &float_bytes) ||
        (uint64_t)float_bytes > (uint64_t)opt->max_data_bytes)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY,
                          "%s: dims %lldx%lldx%lldx%lld = %lld voxels exceed the data limit of %zu "
                          "bytes as float (max_data_bytes)",
                          name, (long long)h->vdim[0], (long long)h->vdim[1],
                          (long long)h->vdim[2], (long long)h->vdim[3], (long long)nvox,
                          opt->max_data_bytes);
    h->data_bytes = (size_t)file_bytes;

    /* vox_offset: a float in NIfTI-1, so NaN, fractions and huge values are possible */
    if (!isfinite(vox_offset_f) || vox_offset_f < (double)h->hdr_size ||
        vox_offset_f != floor(vox_offset_f) || vox_offset_f > 9.0e15)
        return medcl_fail(MEDCL_ERR_FORMAT,
                          "%s: vox_offset = %g (must be a whole number >= the %zu-byte header)",
                          name, vox_offset_f, h->hdr_size);
    h->vox_offset = (int64_t)vox_offset_f;

    /* pixdim on the spatial axes present */
    for (int i = 1; i <= 3; i++) {
        double pd = h->pixdim[i];
        if (isfinite(pd) && pd > 0) continue;
        if (i > nd) {
            medcl_log(MEDCL_LOG_DEBUG, "%s: pixdim[%d] = %g on an absent axis; using 1.0", name, i,
                      pd);
        } else if (opt->allow_bad_pixdim) {
            medcl_log(MEDCL_LOG_WARN, "%s: pixdim[%d] = %g (must be > 0); using 1.0 "
                                      "(allow_bad_pixdim)", name, i, pd);
        } else {
            return medcl_fail(MEDCL_ERR_FORMAT,
                              "%s: pixdim[%d] = %g (voxel spacing must be finite and > 0; set "
                              "allow_bad_pixdim to read it as 1.0)",
                              name, i, pd);
        }
        h->pixdim[i] = 1.0;
    }

    /* the geometry that will be used must be finite */
    if (h->sform_code > 0) {
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                if (!isfinite(h->srow[r][c]))
                    return medcl_fail(MEDCL_ERR_FORMAT, "%s: srow_%c[%d] = %g with sform_code = %d",
                                      name, "xyz"[r], c, h->srow[r][c], h->sform_code);
    } else if (h->qform_code > 0) {
        static const char *qn[6] = {"quatern_b", "quatern_c", "quatern_d",
                                    "qoffset_x", "qoffset_y", "qoffset_z"};
        for (int i = 0; i < 6; i++) {
            double q = i < 3 ? h->quatern[i] : h->qoffset[i - 3];
            if (!isfinite(q))
                return medcl_fail(MEDCL_ERR_FORMAT, "%s: %s = %g with qform_code = %d", name, qn[i],
                                  q, h->qform_code);
        }
    }
    return MEDCL_OK;
}

/* nifti1.h "Method 2": quaternion (b, c, d), a = sqrt(1 - b²-c²-d²), scaled by pixdim, with
 * qfac = pixdim[0] (taken as 1 unless it is -1) flipping the third column. */
static void nii_qform_affine(const nii_header *h, double A[4][4]) {
    double b = h->quatern[0], c = h->quatern[1], d = h->quatern[2];
    double a = 1.0 - (b * b + c * c + d * d);
    if (a < 1.0e-7) { /* special case from nifti1_io: renormalize, a = 0 */
        double r = 1.0 / sqrt(b * b + c * c + d * d);
        b *= r;
        c *= r;
        d *= r;
        a = 0.0;
    } else {
        a = sqrt(a);
    }
    double xd = h->pixdim[1], yd = h->pixdim[2], zd = h->pixdim[3];
    if (h->pixdim[0] < 0) zd = -zd;
    A[0][0] = (a * a + b * b - c * c - d * d) * xd;
    A[0][1] = 2.0 * (b * c - a * d) * yd;
    A[0][2] = 2.0 * (b * d + a * c) * zd;
    A[1][0] = 2.0 * (b * c + a * d) * xd;
    A[1][1] = (a * a + c * c - b * b - d * d) * yd;
    A[1][2] = 2.0 * (c * d - a * b) * zd;
    A[2][0] = 2.0 * (b * d - a * c) * xd;
    A[2][1] = 2.0 * (c * d + a * b) * yd;
    A[2][2] = (a * a + d * d - c * c - b * b) * zd;
    for (int r = 0; r < 3; r++) A[r][3] = h->qoffset[r];
    A[3][0] = A[3][1] = A[3][2] = 0.0;
    A[3][3] = 1.0;
}

static float to_float_checked(double x) {
    if (x > FLT_MAX) return INFINITY;
    if (x < -FLT_MAX) return -INFINITY;
    return (float)x; /* NaN stays NaN */
}

/* Converts the raw data to float into v->data and fills the rest of v. */
static void nii_fill_volume(const nii_header *h, const uint8_t *raw, medcl_volume *v) {
    int s = h->swap;
    double slope = h->scl_slope, inter = h->scl_inter;
    int scale = isfinite(slope) && slope != 0.0;
    if (scale && !isfinite(inter)) inter = 0.0; /* reported by the caller */
    int64_t nonfinite = 0;
    for (int64_t i = 0; i < h->nvox; i++) {
        const uint8_t *q = raw + (size_t)i * (size_t)h->bytes_per_voxel;
        double x;
        switch (h->datatype) {
        case MEDCL_NIFTI_U8: x = q[0]; break;
        case MEDCL_NIFTI_I8: x = (int8_t)q[0]; break;
        case MEDCL_NIFTI_I16: x = rd_i16(q, s); break;
        case MEDCL_NIFTI_U16: x = ld16(q, s); break;
        case MEDCL_NIFTI_I32: x = rd_i32(q, s); break;
        case MEDCL_NIFTI_F32: x = rd_f32(q, s); break;
        default: x = rd_f64(q, s); break;
        }
        if (scale) x = x * slope + inter;
        float f = to_float_checked(x);
        if (!isfinite(f)) nonfinite++;
        v->data[i] = f;
    }
    memcpy(v->dim, h->vdim, sizeof v->dim);
    for (int i = 0; i < 3; i++) v->spacing[i] = h->pixdim[i + 1];
    memset(v->affine, 0, sizeof v->affine);
    if (h->sform_code > 0) {
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) v->affine[r][c] = h->srow[r][c];
        v->affine[3][3] = 1.0;
    } else if (h->qform_code > 0) {
        nii_qform_affine(h, v->affine);
    } else {
        for (int i = 0; i < 3; i++) v->affine[i][i] = h->pixdim[i + 1];
        v->affine[3][3] = 1.0;
    }
    v->datatype = h->datatype;
    v->nonfinite = nonfinite;
    v->scl_slope = h->scl_slope;
    v->scl_inter = h->scl_inter;
    medcl_nifti_geometry *g = &v->nifti;
    g->version = h->version;
    g->qform_code = h->qform_code;
    g->sform_code = h->sform_code;
    g->quatern_b = h->quatern[0];
    g->quatern_c = h->quatern[1];
    g->quatern_d = h->quatern[2];
    g->qoffset_x = h->qoffset[0];
    g->qoffset_y = h->qoffset[1];
    g->qoffset_z = h->qoffset[2];
    memcpy(g->srow, h->srow, sizeof g->srow);
    memcpy(g->pixdim, h->pixdim, sizeof g->pixdim);
    g->xyzt_units = h->xyzt_units;
    g->dim_info = h->dim_info;
    g->slice_code = h->slice_code;
    g->slice_start = h->slice_start;
    g->slice_end = h->slice_end;
    g->slice_duration = h->slice_duration;
    g->toffset = h->toffset;
    memcpy(g->descrip, h->descrip, sizeof g->descrip);
}

/* ---- gzip input, streamed with a cap ---- */

typedef struct gz_src {
    z_stream zs;
    int inited;
    const uint8_t *in;
    size_t n, fed; /* bytes of in handed to zlib so far */
    int ended;     /* no more output: stream end reached, or input exhausted */
    int truncated; /* input ended before the gzip end marker and CRC */
    size_t total;  /* decompressed bytes produced */
} gz_src;

/* Reads up to len decompressed bytes into dst (all of them unless the stream ends first). */
static medcl_status gz_read(gz_src *g, uint8_t *dst, size_t len, size_t *got, const char *name) {
    *got = 0;
    while (*got < len && !g->ended) {
        if (g->zs.avail_in == 0) {
            if (g->fed == g->n) { /* input exhausted before the stream's end: truncated */
                g->ended = 1;
                g->truncated = 1;
                break;
            }
            size_t chunk = g->n - g->fed;
            if (chunk > ((size_t)1 << 30)) chunk = (size_t)1 << 30;
            g->zs.next_in = (Bytef *)(uintptr_t)(g->in + g->fed);
            g->zs.avail_in = (uInt)chunk;
            g->fed += chunk;
        }
        size_t want = len - *got;
        if (want > ((size_t)1 << 30)) want = (size_t)1 << 30;
        g->zs.next_out = dst + *got;
        g->zs.avail_out = (uInt)want;
        int r = inflate(&g->zs, Z_NO_FLUSH);
        size_t produced = want - g->zs.avail_out;
        *got += produced;
        g->total += produced;
        if (r == Z_STREAM_END) {
            /* another gzip member follows (pigz, bgzip): continue with it */
            size_t pos = g->fed - g->zs.avail_in, left = g->n - pos;
            if (left >= 2 && g->in[pos] == 0x1f && g->in[pos + 1] == 0x8b) {
                if (inflateReset(&g->zs) != Z_OK)
                    return medcl_fail(MEDCL_ERR_FORMAT, "%s: gzip: cannot reset inflate", name);
                continue;
            }
            if (left > 0)
                return medcl_fail(MEDCL_ERR_FORMAT,
                                  "%s: %zu bytes of trailing data after the gzip stream", name,
                                  left);
            g->ended = 1;
        } else if (r == Z_BUF_ERROR) {
            if (g->zs.avail_in != 0)
                return medcl_fail(MEDCL_ERR_FORMAT, "%s: gzip: inflate made no progress", name);
        } else if (r != Z_OK) {
            return medcl_fail(MEDCL_ERR_FORMAT,
                              "%s: corrupt gzip stream after %zu decompressed bytes: %s", name,
                              g->total, g->zs.msg ? g->zs.msg : zError(r));
        }
    }
    return MEDCL_OK;
}

/* Decompresses the rest of the stream into a scratch buffer, up to cap bytes, to tell how long
 * it really is. */
static medcl_status gz_drain(gz_src *g, size_t cap, const char *name) {
    uint8_t scratch[16384];
    size_t seen = 0, got = 0;
    medcl_status st = MEDCL_OK;
    while (seen < cap && !g->ended) {
        MEDCL_TRY(gz_read(g, scratch, sizeof scratch, &got, name));
        if (got == 0) break;
        seen += got;
    }
cleanup:
    return st;
}

/* ---- the reader ---- */

static medcl_status nii_read_buffer(const uint8_t *buf, size_t n, const char *name,
                                    const medcl_nifti_read_options *opt, medcl_volume **out) {
    medcl_status st = MEDCL_OK;
    nii_header h;
    gz_src g;
    uint8_t hdr[NII2_HDR];
    uint8_t *raw_alloc = NULL;
    const uint8_t *raw = NULL;
    medcl_volume *v = NULL;
    size_t got = 0;
    int gz = n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    size_t nl = strlen(name);
    memset(&h, 0, sizeof h);
    memset(&g, 0, sizeof g);
    if (!gz && nl > 3 && strcmp(name + nl - 3, ".gz") == 0)
        MEDCL_FAIL(MEDCL_ERR_FORMAT,
                   "%s: not gzip (first bytes %02x %02x, expected 1f 8b) although the name ends "
                   "in .gz",
                   name, n > 0 ? buf[0] : 0, n > 1 ? buf[1] : 0);

    if (gz) {
        g.in = buf;
        g.n = n;
        if (inflateInit2(&g.zs, 15 + 16) != Z_OK)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot initialize zlib", name);
        g.inited = 1;
        MEDCL_TRY(gz_read(&g, hdr, 4, &got, name));
        if (got < 4)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: decompressed stream is %zu bytes, shorter than a NIfTI header", name,
                       g.total);
        MEDCL_TRY(nii_detect(hdr, name, &h));
        MEDCL_TRY(gz_read(&g, hdr + 4, h.hdr_size - 4, &got, name));
        if (got < h.hdr_size - 4)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: decompressed stream is %zu bytes, shorter than the %zu-byte header",
                       name, g.total, h.hdr_size);
        MEDCL_TRY(nii_parse(hdr, name, opt, &h));
        if (h.vox_offset > NII_MAX_VOX_OFFSET)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: vox_offset = %lld (above the %lld-byte limit for "
                                         "extensions in a gzip stream)",
                       name, (long long)h.vox_offset, (long long)NII_MAX_VOX_OFFSET);
        size_t expected = (size_t)h.vox_offset + h.data_bytes;
        /* skip extensions */
        size_t skip = (size_t)h.vox_offset - h.hdr_size;
        while (skip > 0) {
            uint8_t scratch[4096];
            size_t step = skip < sizeof scratch ? skip : sizeof scratch;
            MEDCL_TRY(gz_read(&g, scratch, step, &got, name));
            if (got < step) break;
            skip -= step;
        }
        raw_alloc = malloc(h.data_bytes ? h.data_bytes : 1);
        if (!raw_alloc)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", name,
                       h.data_bytes);
        if (skip == 0) MEDCL_TRY(gz_read(&g, raw_alloc, h.data_bytes, &got, name));
        if (g.total < expected)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: decompressed data is short: expected %zu bytes (vox_offset %lld + "
                       "%zu bytes of data), got %zu%s",
                       name, expected, (long long)h.vox_offset, h.data_bytes, g.total,
                       g.truncated ? " (gzip stream truncated)" : "");
        MEDCL_TRY(gz_drain(&g, NII_GZ_OVERRUN_CAP, name));
        if (g.total > expected)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: decompressed data is longer than the header says: expected %zu bytes "
                       "(vox_offset %lld + %zu bytes of data), got %s%zu",
                       name, expected, (long long)h.vox_offset, h.data_bytes,
                       g.ended ? "" : "at least ", g.total);
        if (g.truncated)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: gzip stream is truncated: all %zu expected bytes decompressed but the "
                       "stream's end marker and CRC are missing",
                       name, expected);
        raw = raw_alloc;
    } else {
        if (n < 4)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: file is %zu bytes, too short for a NIfTI header",
                       name, n);
        MEDCL_TRY(nii_detect(buf, name, &h));
        if (n < h.hdr_size)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: file is %zu bytes, shorter than the %zu-byte header",
                       name, n, h.hdr_size);
        MEDCL_TRY(nii_parse(buf, name, opt, &h));
        if ((uint64_t)h.vox_offset > (uint64_t)n)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: vox_offset = %lld is beyond the end of the file "
                                         "(%zu bytes)",
                       name, (long long)h.vox_offset, n);
        size_t avail = n - (size_t)h.vox_offset;
        if (avail < h.data_bytes)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: data is short: expected %zu bytes (vox_offset %lld + %lld voxels x %d "
                       "bytes), got %zu",
                       name, (size_t)h.vox_offset + h.data_bytes, (long long)h.vox_offset,
                       (long long)h.nvox, h.bytes_per_voxel, n);
        if (avail > h.data_bytes)
            MEDCL_FAIL(MEDCL_ERR_FORMAT,
                       "%s: file is longer than the header says: expected %zu bytes (vox_offset "
                       "%lld + %zu bytes of data), got %zu",
                       name, (size_t)h.vox_offset + h.data_bytes, (long long)h.vox_offset,
                       h.data_bytes, n);
        raw = buf + h.vox_offset;
    }

    if (isfinite(h.scl_slope) && h.scl_slope != 0.0 && !isfinite(h.scl_inter))
        medcl_log(MEDCL_LOG_WARN, "%s: scl_inter = %g with scl_slope = %g; using scl_inter = 0",
                  name, h.scl_inter, h.scl_slope);
    v = calloc(1, sizeof *v);
    if (!v) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    v->data = malloc((size_t)h.nvox * sizeof(float));
    if (!v->data)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %lld voxels", name,
                   (long long)h.nvox);
    nii_fill_volume(&h, raw, v);
    *out = v;
    v = NULL;
cleanup:
    if (g.inited) inflateEnd(&g.zs);
    free(raw_alloc);
    medcl_volume_free(v);
    return st;
}

static medcl_nifti_read_options nii_options(const medcl_nifti_read_options *opt) {
    medcl_nifti_read_options o = MEDCL_NIFTI_READ_OPTIONS_INIT;
    if (opt) {
        /* fields present in the caller's (possibly older, smaller) struct */
        if (opt->size >= offsetof(medcl_nifti_read_options, max_data_bytes) + sizeof(size_t))
            o.max_data_bytes = opt->max_data_bytes;
        if (opt->size >= offsetof(medcl_nifti_read_options, allow_bad_pixdim) + sizeof(int))
            o.allow_bad_pixdim = opt->allow_bad_pixdim;
    }
    return o;
}

medcl_status medcl_nifti_read_memory(const void *data, size_t n, const char *name,
                                     const medcl_nifti_read_options *opt, medcl_volume **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "nifti_read: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && n > 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: data is NULL", name);
    medcl_nifti_read_options o = nii_options(opt);
    return nii_read_buffer(data ? data : (const void *)"", n, name, &o, out);
}

medcl_status medcl_nifti_read(const char *path, const medcl_nifti_read_options *opt,
                              medcl_volume **out) {
    medcl_status st = MEDCL_OK;
    void *buf = NULL;
    size_t n = 0;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "nifti_read: out is NULL");
    *out = NULL;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "nifti_read: path is NULL");
    medcl_nifti_read_options o = nii_options(opt);
    /* a raw file holds at most header + extensions + float64 data for the allowed voxels */
    size_t cap = o.max_data_bytes > SIZE_MAX / 2 - NII_MAX_VOX_OFFSET
                     ? SIZE_MAX
                     : 2 * o.max_data_bytes + (size_t)NII_MAX_VOX_OFFSET;
    MEDCL_TRY(medcl_file_read_all(path, cap, &buf, &n));
    MEDCL_TRY(nii_read_buffer(buf, n, path, &o, out));
cleanup:
    free(buf);
    return st;
}

/* ---- the writer ---- */

static void st16(uint8_t *p, int v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)((v >> 8) & 0xff);
}
static void st32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void stf32(uint8_t *p, double d) {
    float f = to_float_checked(d);
    uint32_t u;
    memcpy(&u, &f, 4);
    st32(p, u);
}
static void stf64(uint8_t *p, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(u >> (8 * i));
}
static int clamp16(int64_t x) { return x < -32768 || x > 32767 ? 0 : (int)x; }

static medcl_status nii_encode_data(const char *path, const medcl_volume *v, int datatype,
                                    uint8_t *dst, int64_t nvox) {
    double lo = 0, hi = 0;
    switch (datatype) {
    case MEDCL_NIFTI_U8: lo = 0; hi = 255; break;
    case MEDCL_NIFTI_I8: lo = -128; hi = 127; break;
    case MEDCL_NIFTI_I16: lo = -32768; hi = 32767; break;
    case MEDCL_NIFTI_U16: lo = 0; hi = 65535; break;
    case MEDCL_NIFTI_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    default: break;
    }
    int bpv = dtype_bytes(datatype);
    for (int64_t i = 0; i < nvox; i++) {
        double x = v->data[i];
        uint8_t *q = dst + (size_t)i * (size_t)bpv;
        if (datatype == MEDCL_NIFTI_F32) {
            stf32(q, x);
            continue;
        }
        if (datatype == MEDCL_NIFTI_F64) {
            stf64(q, x);
            continue;
        }
        double r = round(x);
        if (!(r >= lo && r <= hi))
            return medcl_fail(MEDCL_ERR_NUMERIC,
                              "%s: voxel %lld = %g does not fit datatype %d (%s, %g..%g)", path,
                              (long long)i, x, datatype, dtype_name(datatype), lo, hi);
        int64_t k = (int64_t)r;
        for (int b = 0; b < bpv; b++) q[b] = (uint8_t)((uint64_t)k >> (8 * b));
    }
    return MEDCL_OK;
}

static medcl_status gz_compress(const char *path, const uint8_t *src, size_t n, uint8_t **out,
                                size_t *out_n) {
    medcl_status st = MEDCL_OK;
    z_stream zs;
    int inited = 0;
    uint8_t *buf = NULL;
    size_t cap = n + n / 1000 + 1024, fed = 0;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot initialize zlib", path);
    inited = 1;
    buf = malloc(cap);
    if (!buf) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, cap);
    size_t done = 0;
    for (;;) {
        if (zs.avail_in == 0 && fed < n) {
            size_t chunk = n - fed < ((size_t)1 << 30) ? n - fed : (size_t)1 << 30;
            zs.next_in = (Bytef *)(uintptr_t)(src + fed);
            zs.avail_in = (uInt)chunk;
            fed += chunk;
        }
        if (done == cap) {
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, ncap);
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - done < ((size_t)1 << 30) ? cap - done : (size_t)1 << 30;
        zs.next_out = buf + done;
        zs.avail_out = (uInt)room;
        int r = deflate(&zs, fed == n ? Z_FINISH : Z_NO_FLUSH);
        done += room - zs.avail_out;
        if (r == Z_STREAM_END) break;
        if (r != Z_OK && r != Z_BUF_ERROR)
            MEDCL_FAIL(MEDCL_ERR_IO, "%s: deflate failed: %s", path, zError(r));
    }
    *out = buf;
    *out_n = done;
    buf = NULL;
cleanup:
    if (inited) deflateEnd(&zs);
    free(buf);
    return st;
}

medcl_status medcl_nifti_write(const char *path, const medcl_volume *v, int datatype,
                               const medcl_volume *geometry_from) {
    medcl_status st = MEDCL_OK;
    uint8_t *file = NULL, *gzbuf = NULL;
    size_t gz_n = 0;
    if (!path || !v || !v->data)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "nifti_write: path, volume or data is NULL");
    const medcl_volume *gv = geometry_from ? geometry_from : v;
    const medcl_nifti_geometry *g = &gv->nifti;
    int bpv = dtype_bytes(datatype);
    if (bpv == 0)
        return medcl_fail(MEDCL_ERR_UNSUPPORTED, "%s: datatype = %d (%s) cannot be written", path,
                          datatype, dtype_name(datatype));
    int64_t nvox = 1;
    for (int i = 0; i < 4; i++) {
        if (v->dim[i] <= 0 || v->dim[i] > 32767)
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "%s: dim[%d] = %lld (NIfTI-1 needs 1..32767)", path, i + 1,
                              (long long)v->dim[i]);
        nvox *= v->dim[i]; /* ≤ 32767^4 < 2^60 */
    }
    if (geometry_from)
        for (int i = 0; i < 3; i++)
            if (geometry_from->dim[i] != v->dim[i])
                return medcl_fail(MEDCL_ERR_SHAPE,
                                  "%s: geometry_from dim[%d] = %lld differs from the volume's %lld",
                                  path, i + 1, (long long)geometry_from->dim[i],
                                  (long long)v->dim[i]);
    size_t data_bytes;
    if (!medcl_mul_size((size_t)nvox, (size_t)bpv, &data_bytes) || data_bytes > SIZE_MAX - 352)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: %lld voxels too large", path,
                          (long long)nvox);
    size_t total = 352 + data_bytes;
    file = calloc(1, total);
    if (!file) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, total);

    uint8_t *p = file;
    st32(p + 0, NII1_HDR);
    p[39] = (uint8_t)g->dim_info;
    int nd = v->dim[3] > 1 ? 4 : 3;
    st16(p + 40, nd);
    for (int i = 0; i < 4; i++) st16(p + 42 + 2 * i, (int)v->dim[i]);
    for (int i = 4; i < 7; i++) st16(p + 42 + 2 * i, 1);
    st16(p + 70, datatype);
    st16(p + 72, 8 * bpv);
    st16(p + 74, clamp16(g->slice_start));
    for (int i = 0; i < 8; i++) stf32(p + 76 + 4 * i, g->pixdim[i]);
    stf32(p + 108, 352.0);
    stf32(p + 112, 1.0);
    stf32(p + 116, 0.0);
    st16(p + 120, clamp16(g->slice_end));
    p[122] = (uint8_t)g->slice_code;
    p[123] = (uint8_t)g->xyzt_units;
    stf32(p + 132, g->slice_duration);
    stf32(p + 136, g->toffset);
    size_t dl = strnlen(g->descrip, 79);
    memcpy(p + 148, g->descrip, dl);
    st16(p + 252, clamp16(g->qform_code));
    st16(p + 254, clamp16(g->sform_code));
    stf32(p + 256, g->quatern_b);
    stf32(p + 260, g->quatern_c);
    stf32(p + 264, g->quatern_d);
    stf32(p + 268, g->qoffset_x);
    stf32(p + 272, g->qoffset_y);
    stf32(p + 276, g->qoffset_z);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) stf32(p + 280 + 16 * r + 4 * c, g->srow[r][c]);
    memcpy(p + 344, "n+1\0", 4);
    /* bytes 348..351: extension flag 0 (no extensions) */
    MEDCL_TRY(nii_encode_data(path, v, datatype, file + 352, nvox));

    size_t pl = strlen(path);
    if (pl > 3 && strcmp(path + pl - 3, ".gz") == 0) {
        MEDCL_TRY(gz_compress(path, file, total, &gzbuf, &gz_n));
        MEDCL_TRY(medcl_file_write_atomic(path, gzbuf, gz_n));
    } else {
        MEDCL_TRY(medcl_file_write_atomic(path, file, total));
    }
cleanup:
    free(file);
    free(gzbuf);
    return st;
}
