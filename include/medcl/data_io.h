/* medcl/data_io.h — host-side image files: NIfTI-1/NIfTI-2 volumes (.nii, .nii.gz) and PNG
 * images and label maps. Everything here works on host memory and needs no OpenCL.
 *
 * Readers are strict: every header field that sizes an allocation is validated before the
 * allocation, and every error names the file, the field and the value. Readers never zero,
 * clip or drop NaN/Inf voxels; they count them.
 *
 * Left out: Analyze 7.5 and NIfTI header/image pairs (.hdr/.img), NIfTI extensions (skipped
 * on read, not written), complex/RGB NIfTI datatypes, 5-D and higher images with more than
 * one non-trivial dimension beyond z, PNG text/ICC metadata, and every other format. */
#ifndef MEDCL_DATA_IO_H
#define MEDCL_DATA_IO_H

#include "medcl/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NIfTI datatype codes this library reads (and writes). Values are the NIfTI standard's. */
typedef enum medcl_nifti_dtype {
    MEDCL_NIFTI_U8 = 2,
    MEDCL_NIFTI_I16 = 4,
    MEDCL_NIFTI_I32 = 8,
    MEDCL_NIFTI_F32 = 16,
    MEDCL_NIFTI_F64 = 64,
    MEDCL_NIFTI_I8 = 256,
    MEDCL_NIFTI_U16 = 512
} medcl_nifti_dtype;

/* The header fields of the source file that describe geometry and acquisition, kept so that a
 * prediction can be written with exactly the source geometry. medcl_nifti_write writes these
 * fields verbatim; the volume's affine and spacing are derived from them on read and are not
 * consulted on write. */
typedef struct medcl_nifti_geometry {
    int version;             /* 1 or 2: the NIfTI version read (writes are always NIfTI-1) */
    int qform_code;          /* 0 = unknown, 1 = scanner, 2 = aligned, 3 = talairach, 4 = mni */
    int sform_code;
    double quatern_b, quatern_c, quatern_d;
    double qoffset_x, qoffset_y, qoffset_z;
    double srow[3][4];       /* srow_x, srow_y, srow_z */
    double pixdim[8];        /* pixdim[0] = qfac (±1), [1..3] spacing in mm, [4] TR */
    int xyzt_units;          /* NIFTI_UNITS_* bits as in the file */
    int dim_info;
    int slice_code;
    int64_t slice_start, slice_end;
    double slice_duration, toffset;
    char descrip[80];        /* NUL-terminated copy (at most 79 characters kept) */
} medcl_nifti_geometry;

/* A host volume. data holds dim[0]*dim[1]*dim[2]*dim[3] floats, x fastest, then y, z, t. */
typedef struct medcl_volume {
    int64_t dim[4];          /* x, y, z, t/channels (NIfTI order, 1 when absent) */
    float *data;             /* x fastest; source values with scl_slope/scl_inter applied */
    double spacing[3];       /* mm, from pixdim[1..3] */
    double affine[4][4];     /* voxel (i, j, k, 1) → world mm (RAS+ as NIfTI): sform when
                              * sform_code > 0, else qform when qform_code > 0, else the
                              * pixdim diagonal */
    int datatype;            /* source NIfTI datatype code (medcl_nifti_dtype) */
    int64_t nonfinite;       /* count of NaN/Inf voxels seen on read (after scaling) */
    double scl_slope, scl_inter; /* as read; slope 0 or non-finite means no scaling */
    medcl_nifti_geometry nifti;  /* source header fields for writing with the same geometry */
} medcl_volume;

/* Allocates a volume of dim[0..3] floats (uninitialized: callers fill every voxel), with unit
 * spacing, identity affine and qform_code = sform_code = 0. dim[i] must be > 0. */
MEDCL_API medcl_status medcl_volume_create(const int64_t dim[4], medcl_volume **out);
/* Frees the volume and its data; NULL is accepted. */
MEDCL_API void medcl_volume_free(medcl_volume *v);

typedef struct medcl_nifti_read_options {
    size_t size;              /* sizeof(medcl_nifti_read_options) */
    size_t max_data_bytes;    /* cap on the float data the file may claim (default 2 GiB) */
    int allow_bad_pixdim;     /* 0 (default): pixdim[1..3] ≤ 0 or NaN on a present axis is an
                               * error. 1: such a pixdim is replaced by 1.0 and a warning is
                               * logged naming the file, field and value. */
} medcl_nifti_read_options;
#define MEDCL_NIFTI_READ_OPTIONS_INIT \
    { sizeof(medcl_nifti_read_options), (size_t)2 << 30, 0 }

/* Reads a NIfTI-1 or NIfTI-2 single-file image (.nii, or gzip-compressed .nii.gz; gzip is
 * detected by its magic bytes, a name ending in .gz that is not gzip is an error), in either
 * byte order. Datatypes u8, i8, i16, u16, i32, f32, f64 are converted to float with
 * scl_slope/scl_inter applied. dim[4..7]: at most one may exceed 1 and becomes dim[3] of the
 * volume (time points or vector components). The decompressed size must equal
 * vox_offset + data size exactly; decompression stops a little past that size.
 * opt may be NULL for defaults. *out is NULL on failure. */
MEDCL_API medcl_status medcl_nifti_read(const char *path, const medcl_nifti_read_options *opt,
                                        medcl_volume **out);
/* The same from a memory buffer (raw or gzip). name is used in error messages (may be NULL). */
MEDCL_API medcl_status medcl_nifti_read_memory(const void *data, size_t n, const char *name,
                                               const medcl_nifti_read_options *opt,
                                               medcl_volume **out);

/* Writes v as a little-endian NIfTI-1 single file, gzip-compressed when path ends in ".gz",
 * atomically (temporary file, fsync, rename). datatype is a medcl_nifti_dtype; float values are
 * rounded to nearest for integer types, and a value that is NaN/Inf or outside the type's range
 * is an error naming the voxel. The geometry header fields (qform, sform, pixdim, units, slice
 * timing, descrip) come from geometry_from->nifti, or v->nifti when geometry_from is NULL;
 * geometry_from must have the same x, y, z dims as v. scl_slope = 1, scl_inter = 0 are
 * written. Dims above 32767 (NIfTI-1's limit) are an error. */
MEDCL_API medcl_status medcl_nifti_write(const char *path, const medcl_volume *v, int datatype,
                                         const medcl_volume *geometry_from);

/* ---- PNG ---- */

/* A host 2-D image: width*height*channels floats, row-major, channels interleaved. */
typedef struct medcl_image2d {
    int64_t width, height;
    int channels;            /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int bit_depth;           /* 8 or 16: the value range of data (0..255 or 0..65535) */
    float *data;
} medcl_image2d;
MEDCL_API void medcl_image2d_free(medcl_image2d *img);

/* A 2-D label map: one integer class per pixel, row-major. */
typedef struct medcl_labels2d {
    int64_t width, height;
    uint16_t *data;
    int max_label;           /* largest class present */
} medcl_labels2d;
MEDCL_API void medcl_labels2d_free(medcl_labels2d *lab);

typedef struct medcl_png_read_options {
    size_t size;             /* sizeof(medcl_png_read_options) */
    int64_t max_pixels;      /* width*height budget, checked from the header before any pixel
                              * allocation (default 64 Mpixel) */
    size_t max_file_bytes;   /* cap on the file size (default 1 GiB) */
} medcl_png_read_options;
#define MEDCL_PNG_READ_OPTIONS_INIT \
    { sizeof(medcl_png_read_options), (int64_t)64 << 20, (size_t)1 << 30 }

/* Reads a PNG through libpng's simplified API. Conversions (libpng's, documented here):
 * - channels follow the file: gray → 1, gray+alpha → 2, RGB → 3, RGBA → 4; a palette image
 *   becomes RGB (RGBA when the palette has transparency); a tRNS chunk on gray/RGB adds alpha.
 * - 8-bit and lower files give values 0..255 (1/2/4-bit gray scaled up, e.g. 1-bit → 0/255);
 *   16-bit files give 0..65535. Files without gAMA/sRGB/iCCP or with sRGB-like gamma keep their
 *   values exactly; another gAMA is converted by libpng to sRGB (8-bit) or linear (16-bit).
 * - 16-bit with alpha: libpng returns colour premultiplied by alpha; the reader divides it back
 *   out (exact for opaque pixels, within rounding otherwise; colour 0 where alpha is 0).
 * - interlaced (Adam7) files are de-interlaced by libpng.
 * Truncated files, a bad signature, bad CRCs and other damage are MEDCL_ERR_FORMAT with the
 * file name and libpng's message. opt may be NULL. */
MEDCL_API medcl_status medcl_png_read(const char *path, const medcl_png_read_options *opt,
                                      medcl_image2d **out);
MEDCL_API medcl_status medcl_png_read_memory(const void *data, size_t n, const char *name,
                                             const medcl_png_read_options *opt,
                                             medcl_image2d **out);

/* Reads a label map: the file must be grayscale without alpha (8- or 16-bit, or 1/2/4-bit whose
 * stored values are the classes); each gray value is the class. Colour, palette and alpha files
 * are rejected with a message (convert them to gray label values first): mapping colours to
 * classes needs a table this reader does not guess. */
MEDCL_API medcl_status medcl_png_read_labels(const char *path, const medcl_png_read_options *opt,
                                             medcl_labels2d **out);
MEDCL_API medcl_status medcl_png_read_labels_memory(const void *data, size_t n, const char *name,
                                                    const medcl_png_read_options *opt,
                                                    medcl_labels2d **out);

/* Writers: 8-bit or 16-bit gray, 8-bit labels, 8-bit RGB (interleaved r, g, b), each written
 * atomically. width and height must be in 1..1000000. */
MEDCL_API medcl_status medcl_png_write_gray8(const char *path, int64_t width, int64_t height,
                                             const uint8_t *data);
MEDCL_API medcl_status medcl_png_write_gray16(const char *path, int64_t width, int64_t height,
                                              const uint16_t *data);
MEDCL_API medcl_status medcl_png_write_labels(const char *path, int64_t width, int64_t height,
                                              const uint8_t *labels);
MEDCL_API medcl_status medcl_png_write_rgb8(const char *path, int64_t width, int64_t height,
                                            const uint8_t *rgb);

#ifdef __cplusplus
}
#endif
#endif
