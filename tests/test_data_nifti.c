/* tests/test_data_nifti.c — the NIfTI reader and writer (src/data/nifti.c): round trips of every
 * datatype in both byte orders, NIfTI-1 and NIfTI-2, raw and gzip; scaling; affines from sform
 * and qform against hand-computed matrices; every NIfTI row of RELIABILITY.md's file table as a
 * crafted file; and the mricron templates when installed. Files are crafted here by an encoder
 * written independently of the library's, so a layout mistake in either shows up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "medcl/data_io.h"
#include "testutil.h"

/* ---- an independent NIfTI encoder for crafted files ---- */

typedef struct nb {
    int version, be, datatype, bitpix; /* bitpix 0: derived from datatype */
    int64_t dim[8];
    double pixdim[8];
    double vox_offset; /* 0: header size + 4 */
    double slope, inter;
    int qform_code, sform_code;
    double quatern[3], qoffset[3], srow[3][4];
    char magic_override[9];
} nb;

static int dt_size(int dt) {
    switch (dt) {
    case 2: case 256: return 1;
    case 4: case 512: return 2;
    case 8: case 16: return 4;
    case 64: return 8;
    default: return 4;
    }
}

static nb nb_default(int version, int be, int dt, int64_t x, int64_t y, int64_t z, int64_t t) {
    nb b;
    memset(&b, 0, sizeof b);
    b.version = version;
    b.be = be;
    b.datatype = dt;
    b.dim[0] = t > 1 ? 4 : 3;
    b.dim[1] = x;
    b.dim[2] = y;
    b.dim[3] = z;
    b.dim[4] = t;
    for (int i = 5; i < 8; i++) b.dim[i] = 1;
    b.pixdim[0] = 1;
    b.pixdim[1] = 1.5;
    b.pixdim[2] = 2.0;
    b.pixdim[3] = 2.5;
    b.pixdim[4] = 1;
    return b;
}

static void put(uint8_t *p, const void *v, int n, int be) {
    const uint8_t *s = v;
    for (int i = 0; i < n; i++) p[i] = be ? s[n - 1 - i] : s[i]; /* host is little-endian */
}
static void p16(uint8_t *p, int64_t v, int be) { int16_t x = (int16_t)v; put(p, &x, 2, be); }
static void p32(uint8_t *p, int64_t v, int be) { int32_t x = (int32_t)v; put(p, &x, 4, be); }
static void p64(uint8_t *p, int64_t v, int be) { put(p, &v, 8, be); }
static void pf(uint8_t *p, double v, int be) { float x = (float)v; put(p, &x, 4, be); }
static void pd(uint8_t *p, double v, int be) { put(p, &v, 8, be); }

static void encode_value(uint8_t *q, int dt, double v, int be) {
    switch (dt) {
    case 2: { uint8_t x = (uint8_t)v; *q = x; break; }
    case 256: { int8_t x = (int8_t)v; memcpy(q, &x, 1); break; }
    case 4: p16(q, (int64_t)v, be); break;
    case 512: { uint16_t x = (uint16_t)v; put(q, &x, 2, be); break; }
    case 8: p32(q, (int64_t)v, be); break;
    case 16: pf(q, v, be); break;
    case 64: pd(q, v, be); break;
    default: break;
    }
}

/* Header + 4 extension bytes + data (nvals values of b->datatype) + extra trailing bytes. */
static uint8_t *nb_build(const nb *b, const double *vals, int64_t nvals, size_t *n) {
    size_t hs = b->version == 1 ? 348 : 540;
    /* data sits at vox_offset when that is a sane gap (extension bytes), else right after */
    size_t off = b->vox_offset > (double)(hs + 4) && b->vox_offset <= 4096 &&
                         b->vox_offset == floor(b->vox_offset)
                     ? (size_t)b->vox_offset
                     : hs + 4;
    int es = dt_size(b->datatype);
    size_t total = off + (size_t)nvals * (size_t)es;
    uint8_t *p = calloc(1, total + 16);
    int be = b->be;
    int bitpix = b->bitpix ? b->bitpix : 8 * es;
    double vo = b->vox_offset != 0 ? b->vox_offset : (double)(hs + 4);
    if (b->version == 1) {
        p32(p, 348, be);
        for (int i = 0; i < 8; i++) p16(p + 40 + 2 * i, b->dim[i], be);
        p16(p + 70, b->datatype, be);
        p16(p + 72, bitpix, be);
        for (int i = 0; i < 8; i++) pf(p + 76 + 4 * i, b->pixdim[i], be);
        pf(p + 108, vo, be);
        pf(p + 112, b->slope, be);
        pf(p + 116, b->inter, be);
        p[123] = 10;
        p16(p + 252, b->qform_code, be);
        p16(p + 254, b->sform_code, be);
        for (int i = 0; i < 3; i++) pf(p + 256 + 4 * i, b->quatern[i], be);
        for (int i = 0; i < 3; i++) pf(p + 268 + 4 * i, b->qoffset[i], be);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) pf(p + 280 + 16 * r + 4 * c, b->srow[r][c], be);
        memcpy(p + 344, b->magic_override[0] ? b->magic_override : "n+1", 4);
    } else {
        p32(p, 540, be);
        memcpy(p + 4, b->magic_override[0] ? b->magic_override : "n+2\0\r\n\032\n", 8);
        p16(p + 12, b->datatype, be);
        p16(p + 14, bitpix, be);
        for (int i = 0; i < 8; i++) p64(p + 16 + 8 * i, b->dim[i], be);
        for (int i = 0; i < 8; i++) pd(p + 104 + 8 * i, b->pixdim[i], be);
        p64(p + 168, (int64_t)vo, be);
        pd(p + 176, b->slope, be);
        pd(p + 184, b->inter, be);
        p32(p + 344, b->qform_code, be);
        p32(p + 348, b->sform_code, be);
        for (int i = 0; i < 3; i++) pd(p + 352 + 8 * i, b->quatern[i], be);
        for (int i = 0; i < 3; i++) pd(p + 376 + 8 * i, b->qoffset[i], be);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++) pd(p + 400 + 32 * r + 8 * c, b->srow[r][c], be);
        p32(p + 500, 10, be);
    }
    for (int64_t i = 0; i < nvals; i++) encode_value(p + off + (size_t)i * es, b->datatype, vals[i], be);
    *n = total;
    return p;
}

/* gzip of buf (one member). */
static uint8_t *gz(const uint8_t *buf, size_t n, size_t *out_n) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    uint8_t *o = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)buf;
    zs.avail_in = (uInt)n;
    zs.next_out = o;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    return o;
}

static double *random_values(tu_rng *r, int dt, int64_t n) {
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case 2: v[i] = tu_int(r, 0, 255); break;
        case 256: v[i] = tu_int(r, -128, 127); break;
        case 4: v[i] = tu_int(r, -32768, 32767); break;
        case 512: v[i] = tu_int(r, 0, 65535); break;
        case 8: v[i] = (double)tu_int(r, -32768, 32767) * 65536.0 + tu_int(r, 0, 65535); break;
        case 16: v[i] = (double)(float)(tu_normal(r) * 1000.0); break;
        default: v[i] = tu_normal(r) * 1e5; break;
        }
        if (v[i] == 0) v[i] = 1;
    }
    return v;
}

static const int dtypes[7] = {2, 256, 4, 512, 8, 16, 64};

/* Reads buf as `name` and expects failure with status st and an error mentioning name and
 * every further string given. */
static void expect_fail_v(const uint8_t *buf, size_t n, const char *name,
                          const medcl_nifti_read_options *opt, medcl_status st, const char *what1,
                          const char *what2) {
    medcl_volume *v = (medcl_volume *)(uintptr_t)1;
    medcl_status got = medcl_nifti_read_memory(buf, n, name, opt, &v);
    if (got != st || (what1 && !strstr(medcl_last_error(), what1)) ||
        (what2 && !strstr(medcl_last_error(), what2)))
        print_error("status %d (want %d), message: %s\n", got, st, medcl_last_error());
    assert_int_equal(got, st);
    assert_null(v);
    assert_non_null(strstr(medcl_last_error(), name));
    if (what1) assert_non_null(strstr(medcl_last_error(), what1));
    if (what2) assert_non_null(strstr(medcl_last_error(), what2));
}
#define expect_fail(buf, n, name, st, what) expect_fail_v(buf, n, name, NULL, st, what, NULL)

static void check_values(const medcl_volume *v, const double *vals, int64_t n, double slope,
                         double inter) {
    int scale = isfinite(slope) && slope != 0;
    for (int64_t i = 0; i < n; i++) {
        float want = (float)(scale ? vals[i] * slope + inter : vals[i]);
        if (v->data[i] != want) print_error("voxel %lld: %.9g != %.9g\n", (long long)i, v->data[i], want);
        assert_true(v->data[i] == want);
    }
}

/* ---- round trips ---- */

static void test_read_every_dtype_order_version(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed());
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "nifti_rt");
    for (int version = 1; version <= 2; version++)
        for (int be = 0; be <= 1; be++)
            for (int k = 0; k < 7; k++) {
                int dt = dtypes[k];
                int64_t x = tu_int(&r, 1, 7), y = tu_int(&r, 1, 6), z = tu_int(&r, 1, 5),
                        t = tu_int(&r, 1, 3);
                nb b = nb_default(version, be, dt, x, y, z, t);
                int64_t nv = x * y * z * t;
                double *vals = random_values(&r, dt, nv);
                size_t n, gn;
                uint8_t *buf = nb_build(&b, vals, nv, &n);
                uint8_t *gbuf = gz(buf, n, &gn);
                for (int pass = 0; pass < 4; pass++) {
                    medcl_volume *v = NULL;
                    int zipped = pass & 1, file = pass >> 1;
                    if (file) {
                        snprintf(path, sizeof path, "%s/v%d_be%d_dt%d.nii%s", dir, version, be, dt,
                                 zipped ? ".gz" : "");
                        FILE *f = fopen(path, "wb");
                        assert_non_null(f);
                        assert_int_equal(fwrite(zipped ? gbuf : buf, 1, zipped ? gn : n, f),
                                         zipped ? gn : n);
                        fclose(f);
                        assert_int_equal(medcl_nifti_read(path, NULL, &v), MEDCL_OK);
                    } else {
                        medcl_status s = medcl_nifti_read_memory(zipped ? gbuf : buf,
                                                                 zipped ? gn : n, "m.nii", NULL, &v);
                        if (s) print_error("%s\n", medcl_last_error());
                        assert_int_equal(s, MEDCL_OK);
                    }
                    assert_int_equal(v->dim[0], x);
                    assert_int_equal(v->dim[1], y);
                    assert_int_equal(v->dim[2], z);
                    assert_int_equal(v->dim[3], t);
                    assert_int_equal(v->datatype, dt);
                    assert_int_equal(v->nifti.version, version);
                    assert_true(v->spacing[0] == 1.5 && v->spacing[1] == 2.0 && v->spacing[2] == 2.5);
                    /* no sform/qform: pixdim diagonal */
                    assert_true(v->affine[0][0] == 1.5 && v->affine[1][1] == 2.0 &&
                                v->affine[2][2] == 2.5 && v->affine[3][3] == 1.0 &&
                                v->affine[0][1] == 0 && v->affine[0][3] == 0);
                    assert_int_equal(v->nonfinite, 0);
                    check_values(v, vals, nv, 0, 0);
                    medcl_volume_free(v);
                }
                free(vals);
                free(buf);
                free(gbuf);
            }
}

static void test_write_read_every_dtype(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 1);
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "nifti_write");
    /* a source with full geometry: sform and qform */
    nb b = nb_default(1, 0, 16, 5, 4, 3, 1);
    b.qform_code = 1;
    b.sform_code = 2;
    b.quatern[2] = 0.5;
    b.qoffset[0] = -10;
    b.qoffset[1] = 20;
    b.qoffset[2] = -30.5;
    double srow[3][4] = {{-1.5, 0, 0, 90}, {0, 2, 0.25, -126}, {0, 0, 2.5, -72}};
    memcpy(b.srow, srow, sizeof srow);
    b.pixdim[0] = -1;
    double *sv = random_values(&r, 16, 60);
    size_t n;
    uint8_t *buf = nb_build(&b, sv, 60, &n);
    medcl_volume *src = NULL;
    assert_int_equal(medcl_nifti_read_memory(buf, n, "src.nii", NULL, &src), MEDCL_OK);
    free(buf);
    free(sv);

    for (int k = 0; k < 7; k++)
        for (int zipped = 0; zipped <= 1; zipped++) {
            int dt = dtypes[k];
            int64_t dim[4] = {5, 4, 3, tu_int(&r, 1, 3)};
            medcl_volume *v = NULL, *back = NULL;
            assert_int_equal(medcl_volume_create(dim, &v), MEDCL_OK);
            int64_t nv = dim[0] * dim[1] * dim[2] * dim[3];
            double *vals = random_values(&r, dt, nv);
            for (int64_t i = 0; i < nv; i++) v->data[i] = (float)vals[i];
            if (dt == 64) /* float64 written from float: compare with the float values */
                for (int64_t i = 0; i < nv; i++) vals[i] = v->data[i];
            snprintf(path, sizeof path, "%s/pred_dt%d.nii%s", dir, dt, zipped ? ".gz" : "");
            medcl_status s = medcl_nifti_write(path, v, dt, src);
            if (s) print_error("%s\n", medcl_last_error());
            assert_int_equal(s, MEDCL_OK);
            assert_int_equal(medcl_nifti_read(path, NULL, &back), MEDCL_OK);
            for (int i = 0; i < 4; i++) assert_int_equal(back->dim[i], dim[i]);
            assert_int_equal(back->datatype, dt);
            check_values(back, vals, nv, 0, 0);
            /* the geometry is the source's, bit for bit */
            assert_memory_equal(back->affine, src->affine, sizeof src->affine);
            assert_memory_equal(back->spacing, src->spacing, sizeof src->spacing);
            assert_int_equal(back->nifti.qform_code, 1);
            assert_int_equal(back->nifti.sform_code, 2);
            assert_true(back->nifti.quatern_d == src->nifti.quatern_d);
            assert_true(back->nifti.qoffset_z == -30.5);
            assert_true(back->nifti.pixdim[0] == -1);
            assert_true(back->affine[1][2] == 0.25 && back->affine[0][3] == 90);
            if (zipped) { /* really gzip */
                FILE *f = fopen(path, "rb");
                unsigned char m[2] = {0, 0};
                assert_int_equal(fread(m, 1, 2, f), 2);
                fclose(f);
                assert_true(m[0] == 0x1f && m[1] == 0x8b);
            }
            free(vals);
            medcl_volume_free(v);
            medcl_volume_free(back);
        }

    /* a value that does not fit the datatype is an error naming the voxel; nothing written */
    int64_t dim[4] = {2, 2, 1, 1};
    medcl_volume *v = NULL;
    assert_int_equal(medcl_volume_create(dim, &v), MEDCL_OK);
    for (int i = 0; i < 4; i++) v->data[i] = (float)(i + 1);
    v->data[3] = 300;
    snprintf(path, sizeof path, "%s/bad_u8.nii", dir);
    assert_int_equal(medcl_nifti_write(path, v, MEDCL_NIFTI_U8, NULL), MEDCL_ERR_NUMERIC);
    assert_non_null(strstr(medcl_last_error(), "bad_u8.nii"));
    assert_non_null(strstr(medcl_last_error(), "voxel 3"));
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
    v->data[3] = NAN;
    assert_int_equal(medcl_nifti_write(path, v, MEDCL_NIFTI_I16, NULL), MEDCL_ERR_NUMERIC);
    /* geometry from a volume of other x, y, z dims */
    assert_int_equal(medcl_nifti_write(path, v, MEDCL_NIFTI_F32, src), MEDCL_ERR_SHAPE);
    assert_non_null(strstr(medcl_last_error(), "geometry_from dim[1]"));
    /* own geometry of a fresh volume: identity, unit spacing, NaN kept in float32 */
    assert_int_equal(medcl_nifti_write(path, v, MEDCL_NIFTI_F32, NULL), MEDCL_OK);
    medcl_volume *back = NULL;
    assert_int_equal(medcl_nifti_read(path, NULL, &back), MEDCL_OK);
    assert_int_equal(back->nonfinite, 1);
    assert_true(isnan(back->data[3]) && back->data[2] == 3.0f);
    assert_true(back->affine[0][0] == 1 && back->affine[2][2] == 1 && back->spacing[1] == 1);
    medcl_volume_free(back);
    medcl_volume_free(v);
    medcl_volume_free(src);
}

static void test_scaling(void **state) {
    (void)state;
    tu_rng r = tu_rng_make(tu_seed() + 2);
    double slopes[4] = {2.5, 0.0, NAN, -0.125};
    for (int version = 1; version <= 2; version++)
        for (int k = 0; k < 4; k++) {
            nb b = nb_default(version, k & 1, MEDCL_NIFTI_I16, 4, 3, 2, 1);
            b.slope = slopes[k];
            b.inter = -10.0;
            double *vals = random_values(&r, MEDCL_NIFTI_I16, 24);
            size_t n;
            uint8_t *buf = nb_build(&b, vals, 24, &n);
            medcl_volume *v = NULL;
            assert_int_equal(medcl_nifti_read_memory(buf, n, "s.nii", NULL, &v), MEDCL_OK);
            check_values(v, vals, 24, slopes[k], -10.0);
            /* hand-checked voxel */
            if (k == 0) assert_true(v->data[0] == (float)(vals[0] * 2.5 - 10.0));
            if (k == 1 || k == 2) assert_true(v->data[5] == (float)vals[5]);
            medcl_volume_free(v);
            free(vals);
            free(buf);
        }
    /* scaling of float64 data beyond float range gives Inf, counted */
    nb b = nb_default(1, 0, MEDCL_NIFTI_F64, 2, 1, 1, 1);
    double vals[2] = {1e300, 3.0};
    size_t n;
    uint8_t *buf = nb_build(&b, vals, 2, &n);
    medcl_volume *v = NULL;
    assert_int_equal(medcl_nifti_read_memory(buf, n, "big.nii", NULL, &v), MEDCL_OK);
    assert_true(isinf(v->data[0]) && v->data[1] == 3.0f);
    assert_int_equal(v->nonfinite, 1);
    medcl_volume_free(v);
    free(buf);
}

static medcl_volume *read_header_only(nb *b) {
    int64_t nv = b->dim[1] * b->dim[2] * b->dim[3];
    double *vals = calloc((size_t)nv, sizeof *vals);
    size_t n;
    uint8_t *buf = nb_build(b, vals, nv, &n);
    medcl_volume *v = NULL;
    medcl_status s = medcl_nifti_read_memory(buf, n, "g.nii", NULL, &v);
    if (s) print_error("%s\n", medcl_last_error());
    assert_int_equal(s, MEDCL_OK);
    free(buf);
    free(vals);
    return v;
}

static void test_affine_sform_qform(void **state) {
    (void)state;
    for (int version = 1; version <= 2; version++) {
        /* sform: the rows themselves */
        nb b = nb_default(version, version == 2, MEDCL_NIFTI_U8, 3, 3, 3, 1);
        double srow[3][4] = {{-1.5, 0.5, 0, 90}, {0, 2, 0.25, -126}, {0.125, 0, 2.5, -72}};
        memcpy(b.srow, srow, sizeof srow);
        b.sform_code = 4;
        b.qform_code = 1;
        b.quatern[0] = 0.5; /* ignored: sform wins */
        medcl_volume *v = read_header_only(&b);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) assert_true(v->affine[i][j] == srow[i][j]);
        assert_true(v->affine[3][0] == 0 && v->affine[3][3] == 1);
        medcl_volume_free(v);

        /* qform: 90° about z, a = d = 1/√2 → R = [[0,-1,0],[1,0,0],[0,0,1]], pixdim (2, 3, 4),
         * qfac = -1 flips the third column: A = [[0,-3,0,10],[2,0,0,-20],[0,0,-4,30.5]] */
        b.sform_code = 0;
        b.qform_code = 2;
        b.quatern[0] = 0;
        b.quatern[1] = 0;
        b.quatern[2] = sqrt(0.5);
        b.qoffset[0] = 10;
        b.qoffset[1] = -20;
        b.qoffset[2] = 30.5;
        b.pixdim[0] = -1;
        b.pixdim[1] = 2;
        b.pixdim[2] = 3;
        b.pixdim[3] = 4;
        v = read_header_only(&b);
        double want[3][4] = {{0, -3, 0, 10}, {2, 0, 0, -20}, {0, 0, -4, 30.5}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) assert_true(fabs(v->affine[i][j] - want[i][j]) < 1e-6);
        assert_true(v->spacing[0] == 2 && v->spacing[1] == 3 && v->spacing[2] == 4);
        medcl_volume_free(v);

        /* qform: 180° about x (b = 1, a = 0) with qfac 1: diag(2, -3, -4) */
        b.quatern[0] = 1;
        b.quatern[2] = 0;
        b.pixdim[0] = 1;
        v = read_header_only(&b);
        double want2[3][4] = {{2, 0, 0, 10}, {0, -3, 0, -20}, {0, 0, -4, 30.5}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) assert_true(fabs(v->affine[i][j] - want2[i][j]) < 1e-6);
        medcl_volume_free(v);
    }
}

/* ---- RELIABILITY.md file table ---- */

static uint8_t *small_file(int version, size_t *n, nb *out_b) {
    nb b = nb_default(version, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
    double vals[24];
    for (int i = 0; i < 24; i++) vals[i] = i * 7 - 50;
    if (out_b) *out_b = b;
    return nb_build(&b, vals, 24, n);
}

static uint8_t *build_b(nb *b, size_t *n) {
    int64_t nv = 1;
    for (int i = 1; i <= 3; i++) nv *= b->dim[i] > 0 && b->dim[i] < 100 ? b->dim[i] : 1;
    double *vals = calloc((size_t)nv, sizeof *vals);
    uint8_t *buf = nb_build(b, vals, nv, n);
    free(vals);
    return buf;
}

static void test_bad_dims(void **state) {
    (void)state;
    for (int version = 1; version <= 2; version++) {
        nb b;
        size_t n;
        uint8_t *buf;
        int64_t d0[2] = {0, 8};
        for (int k = 0; k < 2; k++) {
            b = nb_default(version, k, MEDCL_NIFTI_I16, 4, 3, 2, 1);
            b.dim[0] = d0[k];
            buf = build_b(&b, &n);
            expect_fail(buf, n, "dims.nii", MEDCL_ERR_FORMAT, "dim[0]");
            free(buf);
        }
        int64_t bad[2] = {0, -1};
        for (int k = 0; k < 2; k++) {
            b = nb_default(version, k, MEDCL_NIFTI_I16, 4, 3, 2, 1);
            b.dim[2] = bad[k];
            buf = build_b(&b, &n);
            expect_fail_v(buf, n, "dims.nii", NULL, MEDCL_ERR_FORMAT,
                          k ? "dim[2] = -1" : "dim[2] = 0", "must be > 0");
            free(buf);
        }
        /* a dim beyond dim[0] is ignored whatever it holds */
        b = nb_default(version, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
        b.dim[5] = -7;
        buf = build_b(&b, &n);
        medcl_volume *v = NULL;
        assert_int_equal(medcl_nifti_read_memory(buf, n, "x.nii", NULL, &v), MEDCL_OK);
        medcl_volume_free(v);
        free(buf);
        /* too large for the data limit (a small limit here; default 2 GiB) */
        b = nb_default(version, 0, MEDCL_NIFTI_I16, 30000, 30000, 30000, 1);
        buf = build_b(&b, &n);
        expect_fail(buf, n, "huge.nii", MEDCL_ERR_OUT_OF_MEMORY, "max_data_bytes");
        free(buf);
        b = nb_default(version, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
        buf = build_b(&b, &n);
        medcl_nifti_read_options o = MEDCL_NIFTI_READ_OPTIONS_INIT;
        o.max_data_bytes = 95; /* 24 voxels need 96 */
        expect_fail_v(buf, n, "small.nii", &o, MEDCL_ERR_OUT_OF_MEMORY, "max_data_bytes", NULL);
        o.max_data_bytes = 96;
        assert_int_equal(medcl_nifti_read_memory(buf, n, "small.nii", &o, &v), MEDCL_OK);
        medcl_volume_free(v);
        free(buf);
        /* dims 5..7: one of dim[4..7] may exceed 1 and becomes the 4th volume dim */
        b = nb_default(version, 0, MEDCL_NIFTI_U8, 2, 2, 2, 1);
        b.dim[0] = 5;
        b.dim[5] = 3;
        double vals[24];
        for (int i = 0; i < 24; i++) vals[i] = i;
        buf = nb_build(&b, vals, 24, &n);
        assert_int_equal(medcl_nifti_read_memory(buf, n, "vec.nii", NULL, &v), MEDCL_OK);
        assert_int_equal(v->dim[3], 3);
        assert_true(v->data[23] == 23.0f);
        medcl_volume_free(v);
        free(buf);
        b.dim[4] = 2;
        buf = build_b(&b, &n);
        expect_fail_v(buf, n, "vec.nii", NULL, MEDCL_ERR_UNSUPPORTED, "dim[4] = 2", "dim[5] = 3");
        free(buf);
    }
    /* product overflow needs NIfTI-2's 64-bit dims */
    nb b = nb_default(2, 0, MEDCL_NIFTI_U8, (int64_t)1 << 40, (int64_t)1 << 40, 1, 1);
    size_t n;
    uint8_t *buf = build_b(&b, &n);
    expect_fail_v(buf, n, "ovf.nii", NULL, MEDCL_ERR_FORMAT, "overflow", "dim[2]");
    free(buf);
    b = nb_default(1, 0, MEDCL_NIFTI_U8, 32767, 32767, 32767, 32767);
    b.dim[0] = 7;
    b.dim[5] = b.dim[6] = b.dim[7] = 32767;
    buf = build_b(&b, &n);
    expect_fail_v(buf, n, "ovf1.nii", NULL, MEDCL_ERR_FORMAT, "overflow", NULL);
    free(buf);
}

static void test_bad_header_fields(void **state) {
    (void)state;
    size_t n;
    uint8_t *buf;
    nb b;
    for (int version = 1; version <= 2; version++) {
        /* vox_offset: NaN (NIfTI-1 only: it is a float there), negative, beyond the file,
         * inside the header, fractional */
        double offs[5] = {NAN, -1, 1e5, 100, 352.5};
        for (int k = 0; k < 5; k++) {
            if (version == 2 && (k == 0 || k == 4)) continue;
            b = nb_default(version, k & 1, MEDCL_NIFTI_I16, 4, 3, 2, 1);
            b.vox_offset = offs[k];
            buf = build_b(&b, &n);
            expect_fail(buf, n, "off.nii", MEDCL_ERR_FORMAT, "vox_offset");
            /* the same through gzip: beyond the decompressed stream */
            size_t gn;
            uint8_t *g = gz(buf, n, &gn);
            expect_fail(g, gn, "off.nii.gz", MEDCL_ERR_FORMAT, k == 2 ? "expected" : "vox_offset");
            free(g);
            free(buf);
        }
        /* pixdim zero, negative, NaN: rejected by default, 1.0 with a warning on request */
        double pds[3] = {0, -1, NAN};
        for (int k = 0; k < 3; k++) {
            b = nb_default(version, k & 1, MEDCL_NIFTI_I16, 4, 3, 2, 1);
            b.pixdim[2] = pds[k];
            buf = build_b(&b, &n);
            expect_fail_v(buf, n, "pix.nii", NULL, MEDCL_ERR_FORMAT, "pixdim[2]",
                          "allow_bad_pixdim");
            free(buf);
        }
        /* bitpix not matching datatype, unsupported datatypes */
        b = nb_default(version, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
        b.bitpix = 8;
        buf = build_b(&b, &n);
        expect_fail_v(buf, n, "bp.nii", NULL, MEDCL_ERR_FORMAT, "bitpix = 8", "int16");
        free(buf);
        int bad_dt[3] = {32, 128, 1024};
        for (int k = 0; k < 3; k++) {
            b = nb_default(version, 0, bad_dt[k], 4, 3, 2, 1);
            b.bitpix = 64;
            buf = build_b(&b, &n);
            expect_fail(buf, n, "dt.nii", MEDCL_ERR_UNSUPPORTED, "datatype");
            free(buf);
        }
        /* magic: .hdr/.img pair and garbage */
        b = nb_default(version, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
        memcpy(b.magic_override, version == 1 ? "ni1" : "ni2", 4);
        buf = build_b(&b, &n);
        expect_fail(buf, n, "pair.nii", MEDCL_ERR_UNSUPPORTED, "magic");
        free(buf);
        memcpy(b.magic_override, "xyz", 4);
        buf = build_b(&b, &n);
        expect_fail(buf, n, "magic.nii", MEDCL_ERR_FORMAT, "magic");
        free(buf);
        /* non-finite sform used for the affine */
        b = nb_default(version, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
        b.sform_code = 1;
        b.srow[1][3] = NAN;
        buf = build_b(&b, &n);
        expect_fail(buf, n, "sform.nii", MEDCL_ERR_FORMAT, "srow_y[3]");
        free(buf);
        b.sform_code = 0;
        b.qform_code = 1;
        b.srow[1][3] = 0;
        b.quatern[1] = INFINITY;
        buf = build_b(&b, &n);
        expect_fail(buf, n, "qform.nii", MEDCL_ERR_FORMAT, "quatern_c");
        free(buf);
    }
    /* sizeof_hdr */
    buf = small_file(1, &n, NULL);
    buf[0] = 0x22;
    expect_fail(buf, n, "size.nii", MEDCL_ERR_FORMAT, "sizeof_hdr");
    free(buf);
}

typedef struct log_capture { int warnings; char last[512]; } log_capture;
static void capture_log(medcl_log_level level, const char *message, void *user) {
    log_capture *c = user;
    if (level == MEDCL_LOG_WARN) {
        c->warnings++;
        snprintf(c->last, sizeof c->last, "%s", message);
    }
}

static void test_pixdim_policy(void **state) {
    (void)state;
    double pds[3] = {0, -1, NAN};
    for (int k = 0; k < 3; k++) {
        nb b = nb_default(1, 0, MEDCL_NIFTI_I16, 4, 3, 2, 1);
        b.pixdim[3] = pds[k];
        size_t n;
        uint8_t *buf = build_b(&b, &n);
        medcl_nifti_read_options o = MEDCL_NIFTI_READ_OPTIONS_INIT;
        o.allow_bad_pixdim = 1;
        log_capture c = {0, ""};
        medcl_log_set_callback(capture_log, &c);
        medcl_volume *v = NULL;
        assert_int_equal(medcl_nifti_read_memory(buf, n, "pix.nii", &o, &v), MEDCL_OK);
        medcl_log_set_callback(NULL, NULL);
        assert_true(v->spacing[2] == 1.0 && v->spacing[0] == 1.5);
        assert_true(v->affine[2][2] == 1.0);
        assert_int_equal(c.warnings, 1); /* never silent */
        assert_non_null(strstr(c.last, "pix.nii"));
        assert_non_null(strstr(c.last, "pixdim[3]"));
        medcl_volume_free(v);
        free(buf);
    }
}

static void test_short_long_truncated(void **state) {
    (void)state;
    for (int version = 1; version <= 2; version++) {
        size_t n, gn;
        uint8_t *buf = small_file(version, &n, NULL);
        char want[64];
        snprintf(want, sizeof want, "expected %zu bytes", n);
        /* raw: data shorter by one byte, and one byte longer */
        expect_fail_v(buf, n - 1, "short.nii", NULL, MEDCL_ERR_FORMAT, want, "got");
        expect_fail_v(buf, n + 1, "long.nii", NULL, MEDCL_ERR_FORMAT, want, "got");
        /* raw truncated at every byte */
        for (size_t cut = 0; cut < n; cut++) {
            medcl_volume *v = NULL;
            assert_int_not_equal(medcl_nifti_read_memory(buf, cut, "cut.nii", NULL, &v), MEDCL_OK);
            assert_null(v);
            assert_non_null(strstr(medcl_last_error(), "cut.nii"));
        }
        /* gzip shorter and longer than the header says */
        uint8_t *g = gz(buf, n - 10, &gn);
        char got[64];
        snprintf(got, sizeof got, "got %zu", n - 10);
        expect_fail_v(g, gn, "short.nii.gz", NULL, MEDCL_ERR_FORMAT, want, got);
        free(g);
        uint8_t *longer = calloc(1, n + 1000);
        memcpy(longer, buf, n);
        g = gz(longer, n + 1000, &gn);
        snprintf(got, sizeof got, "got %zu", n + 1000);
        expect_fail_v(g, gn, "long.nii.gz", NULL, MEDCL_ERR_FORMAT, want, got);
        free(g);
        free(longer);
        /* gzip truncated at every byte of the compressed stream, and corrupted */
        g = gz(buf, n, &gn);
        for (size_t cut = 0; cut < gn; cut++) {
            medcl_volume *v = NULL;
            assert_int_not_equal(medcl_nifti_read_memory(g, cut, "cut.nii.gz", NULL, &v), MEDCL_OK);
            assert_null(v);
            assert_non_null(strstr(medcl_last_error(), "cut.nii.gz"));
        }
        medcl_volume *v = NULL;
        assert_int_equal(medcl_nifti_read_memory(g, gn, "ok.nii.gz", NULL, &v), MEDCL_OK);
        medcl_volume_free(v);
        g[gn - 6] ^= 0x55; /* CRC32 in the gzip trailer */
        expect_fail(g, gn, "crc.nii.gz", MEDCL_ERR_FORMAT, "gzip");
        /* trailing garbage after the stream */
        g[gn - 6] ^= 0x55;
        uint8_t *tr = malloc(gn + 3);
        memcpy(tr, g, gn);
        memcpy(tr + gn, "xyz", 3);
        expect_fail(tr, gn + 3, "trail.nii.gz", MEDCL_ERR_FORMAT, "trailing");
        free(tr);
        /* two gzip members (pigz, bgzip) are one stream */
        size_t g1n, g2n;
        uint8_t *g1 = gz(buf, 200, &g1n), *g2 = gz(buf + 200, n - 200, &g2n);
        uint8_t *multi = malloc(g1n + g2n);
        memcpy(multi, g1, g1n);
        memcpy(multi + g1n, g2, g2n);
        assert_int_equal(medcl_nifti_read_memory(multi, g1n + g2n, "multi.nii.gz", NULL, &v),
                         MEDCL_OK);
        assert_true(v->data[23] == 23 * 7 - 50);
        medcl_volume_free(v);
        free(g1);
        free(g2);
        free(multi);
        free(g);
        /* not gzip although named .gz */
        expect_fail(buf, n, "plain.nii.gz", MEDCL_ERR_FORMAT, "not gzip");
        free(buf);
    }
    /* files on disk: missing, not gzip */
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "nifti_bad");
    snprintf(path, sizeof path, "%s/missing.nii", dir);
    medcl_volume *v = NULL;
    assert_int_equal(medcl_nifti_read(path, NULL, &v), MEDCL_ERR_IO);
    assert_non_null(strstr(medcl_last_error(), "missing.nii"));
    snprintf(path, sizeof path, "%s/text.nii.gz", dir);
    FILE *f = fopen(path, "wb");
    fputs("this is not gzip", f);
    fclose(f);
    assert_int_equal(medcl_nifti_read(path, NULL, &v), MEDCL_ERR_FORMAT);
    assert_non_null(strstr(medcl_last_error(), "text.nii.gz"));
    assert_non_null(strstr(medcl_last_error(), "not gzip"));
    assert_null(v);
}

static void test_nonfinite_counted(void **state) {
    (void)state;
    for (int dt = 16; dt <= 64; dt += 48) {
        nb b = nb_default(1, dt == 64, dt, 4, 3, 2, 1);
        double vals[24];
        for (int i = 0; i < 24; i++) vals[i] = i + 0.5;
        vals[3] = NAN;
        vals[7] = NAN;
        vals[11] = INFINITY;
        vals[20] = -INFINITY;
        vals[23] = NAN;
        size_t n;
        uint8_t *buf = nb_build(&b, vals, 24, &n);
        medcl_volume *v = NULL;
        assert_int_equal(medcl_nifti_read_memory(buf, n, "nan.nii", NULL, &v), MEDCL_OK);
        assert_int_equal(v->nonfinite, 5);
        assert_true(isnan(v->data[3]) && isnan(v->data[7]) && isnan(v->data[23]));
        assert_true(isinf(v->data[11]) && v->data[11] > 0 && isinf(v->data[20]) && v->data[20] < 0);
        assert_true(v->data[4] == 4.5f); /* neighbours untouched */
        medcl_volume_free(v);
        free(buf);
    }
}

static void test_real_templates(void **state) {
    (void)state;
    const char *files[2] = {"/usr/share/mricron/templates/ch2.nii.gz",
                            "/usr/share/mricron/templates/ch2bet.nii.gz"};
    struct stat sb;
    if (stat(files[0], &sb) != 0) skip();
    for (int k = 0; k < 2; k++) {
        medcl_volume *v = NULL;
        medcl_status s = medcl_nifti_read(files[k], NULL, &v);
        if (s) print_error("%s\n", medcl_last_error());
        assert_int_equal(s, MEDCL_OK);
        for (int i = 0; i < 3; i++) assert_in_range(v->dim[i], 150, 260);
        assert_int_equal(v->dim[3], 1);
        for (int i = 0; i < 3; i++) assert_true(v->spacing[i] > 0.5 && v->spacing[i] < 2.0);
        assert_int_equal(v->nonfinite, 0);
        int64_t nv = v->dim[0] * v->dim[1] * v->dim[2];
        double sum = 0, mx = 0;
        for (int64_t i = 0; i < nv; i++) {
            assert_true(isfinite(v->data[i]));
            sum += v->data[i];
            if (v->data[i] > mx) mx = v->data[i];
        }
        assert_true(mx > 0 && sum > 0); /* a brain, not an empty volume */
        /* MNI-like world: the volume's centre lies within 60 mm of the origin */
        for (int r = 0; r < 3; r++) {
            double c = v->affine[r][3];
            for (int j = 0; j < 3; j++) c += v->affine[r][j] * (double)(v->dim[j] - 1) / 2;
            assert_true(fabs(c) < 60);
        }
        /* write it back with its own geometry and read again: identical */
        char dir[512], path[600];
        tu_tmpdir(dir, sizeof dir, "nifti_real");
        snprintf(path, sizeof path, "%s/copy%d.nii.gz", dir, k);
        assert_int_equal(medcl_nifti_write(path, v, MEDCL_NIFTI_F32, NULL), MEDCL_OK);
        medcl_volume *w = NULL;
        assert_int_equal(medcl_nifti_read(path, NULL, &w), MEDCL_OK);
        assert_memory_equal(w->data, v->data, (size_t)nv * sizeof(float));
        assert_memory_equal(w->affine, v->affine, sizeof v->affine);
        medcl_volume_free(w);
        medcl_volume_free(v);
    }
}

static void test_null_arguments(void **state) {
    (void)state;
    medcl_volume *v = NULL;
    assert_int_equal(medcl_nifti_read(NULL, NULL, &v), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_nifti_read_memory(NULL, 10, "x.nii", NULL, &v), MEDCL_ERR_INVALID_ARG);
    assert_int_equal(medcl_nifti_read_memory(NULL, 0, "x.nii", NULL, &v), MEDCL_ERR_FORMAT);
    assert_int_equal(medcl_nifti_write("x.nii", NULL, MEDCL_NIFTI_U8, NULL), MEDCL_ERR_INVALID_ARG);
    int64_t bad[4] = {2, 0, 1, 1};
    assert_int_equal(medcl_volume_create(bad, &v), MEDCL_ERR_INVALID_ARG);
    assert_null(v);
    medcl_volume_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_every_dtype_order_version),
        cmocka_unit_test(test_write_read_every_dtype),
        cmocka_unit_test(test_scaling),
        cmocka_unit_test(test_affine_sform_qform),
        cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_pixdim_policy),
        cmocka_unit_test(test_short_long_truncated),
        cmocka_unit_test(test_nonfinite_counted),
        cmocka_unit_test(test_real_templates),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
