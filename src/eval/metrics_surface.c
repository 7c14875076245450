/* src/eval/metrics_surface.c — surface-distance metrics in millimetres between two binary
 * masks: Hausdorff (max), robust Hausdorff at a percentile (HD95), ASSD (pooled mean), MASD
 * (mean of the directed means) and normalized surface Dice at tolerances.
 *
 * Definitions follow REFERENCE.md "Surface metrics":
 *  - voxel boundary mode as MONAI's get_mask_edges + get_surface_distance: boundary = mask
 *    XOR binary erosion with the cross element, outside the volume is background (scipy
 *    border_value = 0); distances from the exact EDT (edt.c); numpy linear percentile;
 *  - surfel mode as DeepMind's surface-distance compute_surface_distances: corners of the
 *    voxel grid whose 2x2(x2) neighbourhood is mixed, with contour lengths (2D, DeepMind's
 *    table) or areas (3D, metrics_surfel_table.c) from the spacing; percentile = first
 *    sorted (distance, area) pair whose cumulative area fraction reaches p (numpy cumsum /
 *    np.sum, whose pairwise summation is reproduced so ties at p fall the same way);
 *  - empty masks by the named conventions of medcl_surface_empty.
 * Both modes first crop to the bounding box of ref | pred: voxels outside it are
 * background in both masks, so every distance is unchanged. Leaves out chessboard and
 * taxicab distances, directed-only results and MONAI's subvoxel NSD variant. */
#include "eval/metrics_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* numpy's pairwise summation (np.add.reduce on float64): blocks of 128 summed in 8 lanes. */
static double np_pairwise_sum(const double *a, int64_t n)
{
    if (n < 8) {
        double res = 0.0;
        for (int64_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_pairwise_sum(a, n2) + np_pairwise_sum(a + n2, n - n2);
}
static double np_sum(const double *a, int64_t n) { return 0.0 + np_pairwise_sum(a, n); }

/* One directed set: distances from the boundary of one mask to the other's, with the
 * boundary element weights (NULL in voxel mode: weight 1). */
typedef struct dir_set {
    double *d;
    double *w;
    int64_t n;
} dir_set;

typedef struct dw_pair {
    double d, w;
} dw_pair;

static int cmp_pair(const void *pa, const void *pb)
{
    const dw_pair *a = pa, *b = pb;
    if (a->d != b->d) return (a->d > b->d) - (a->d < b->d);
    return (a->w > b->w) - (a->w < b->w);
}

/* Sorts a set by (distance, weight), as DeepMind's _sort_distances_surfels. */
static medcl_status sort_set(dir_set *s)
{
    if (!s->w) {
        qsort(s->d, (size_t)s->n, sizeof(double), medcl_cmp_double);
        return MEDCL_OK;
    }
    dw_pair *p = malloc((size_t)(s->n ? s->n : 1) * sizeof(*p));
    if (!p) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "surface: sorting %lld surfels", (long long)s->n);
    for (int64_t i = 0; i < s->n; i++) p[i] = (dw_pair){s->d[i], s->w[i]};
    qsort(p, (size_t)s->n, sizeof(*p), cmp_pair);
    for (int64_t i = 0; i < s->n; i++) {
        s->d[i] = p[i].d;
        s->w[i] = p[i].w;
    }
    free(p);
    return MEDCL_OK;
}

/* Directed percentile of a sorted set. Voxel: numpy linear. Surfel: DeepMind's
 * searchsorted(cumsum(w) / sum(w), p / 100), clamped to the last element. */
static double set_percentile(const dir_set *s, double p)
{
    if (!s->w) return medcl_percentile_sorted(s->d, s->n, p);
    double total = np_sum(s->w, s->n), target = p / 100.0, cum = 0.0;
    for (int64_t i = 0; i < s->n; i++) {
        cum += s->w[i];
        if (cum / total >= target) return s->d[i];
    }
    return s->d[s->n - 1];
}

/* Weighted sum of distances and total weight, as numpy sums them. */
static medcl_status set_sums(const dir_set *s, double *sum_dw, double *sum_w)
{
    if (!s->w) {
        *sum_dw = np_sum(s->d, s->n);
        *sum_w = (double)s->n;
        return MEDCL_OK;
    }
    double *t = malloc((size_t)(s->n ? s->n : 1) * sizeof(*t));
    if (!t) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "surface: %lld surfel products", (long long)s->n);
    for (int64_t i = 0; i < s->n; i++) t[i] = s->d[i] * s->w[i];
    *sum_dw = np_sum(t, s->n);
    *sum_w = np_sum(s->w, s->n);
    free(t);
    return MEDCL_OK;
}

/* Weight of the elements within tol (distance <= tol), as np.sum(w[d <= tol]). */
static medcl_status set_within(const dir_set *s, double tol, double *out)
{
    if (!s->w) {
        int64_t c = 0;
        for (int64_t i = 0; i < s->n; i++) c += s->d[i] <= tol;
        *out = (double)c;
        return MEDCL_OK;
    }
    double *t = malloc((size_t)(s->n ? s->n : 1) * sizeof(*t));
    if (!t) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "surface: %lld surfel weights", (long long)s->n);
    int64_t m = 0;
    for (int64_t i = 0; i < s->n; i++)
        if (s->d[i] <= tol) t[m++] = s->w[i];
    *out = np_sum(t, m);
    free(t);
    return MEDCL_OK;
}

/* Both masks non-empty: the metrics from the two directed sets (ref→pred, pred→ref). */
static medcl_status metrics_from_sets(dir_set *rp, dir_set *pr, const medcl_surface_options *o,
                                      medcl_surface_result *out)
{
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(sort_set(rp));
    MEDCL_TRY(sort_set(pr));
    /* both sets are non-empty: a non-empty mask always has a boundary */
    out->hd = fmax(rp->d[rp->n - 1], pr->d[pr->n - 1]);
    out->hd_percentile = fmax(set_percentile(rp, o->percentile), set_percentile(pr, o->percentile));
    double sdw_rp, sw_rp, sdw_pr, sw_pr;
    MEDCL_TRY(set_sums(rp, &sdw_rp, &sw_rp));
    MEDCL_TRY(set_sums(pr, &sdw_pr, &sw_pr));
    out->assd = (sdw_rp + sdw_pr) / (sw_rp + sw_pr);
    out->masd = 0.5 * (sdw_rp / sw_rp + sdw_pr / sw_pr);
    for (int32_t t = 0; t < o->num_tolerances; t++) {
        double in_rp, in_pr;
        MEDCL_TRY(set_within(rp, o->tolerance_mm[t], &in_rp));
        MEDCL_TRY(set_within(pr, o->tolerance_mm[t], &in_pr));
        out->nsd[t] = (in_rp + in_pr) / (sw_rp + sw_pr);
    }
cleanup:
    return st;
}

/* ---- boundary extraction on the cropped grid g (D, H, W), 2D when is2d ---- */

static inline uint8_t at(const uint8_t *m, const int64_t g[3], int64_t z, int64_t y, int64_t x)
{
    if (z < 0 || y < 0 || x < 0 || z >= g[0] || y >= g[1] || x >= g[2]) return 0;
    return m[(z * g[1] + y) * g[2] + x];
}

/* Voxel mode: edge = m AND NOT erosion(m), cross element, border_value 0. */
static void voxel_edges(const uint8_t *m, const int64_t g[3], int is2d, uint8_t *edge)
{
    for (int64_t z = 0; z < g[0]; z++)
        for (int64_t y = 0; y < g[1]; y++)
            for (int64_t x = 0; x < g[2]; x++) {
                int64_t i = (z * g[1] + y) * g[2] + x;
                if (!m[i]) {
                    edge[i] = 0;
                    continue;
                }
                int inner = at(m, g, z, y - 1, x) && at(m, g, z, y + 1, x) &&
                            at(m, g, z, y, x - 1) && at(m, g, z, y, x + 1);
                if (!is2d) inner = inner && at(m, g, z - 1, y, x) && at(m, g, z + 1, y, x);
                edge[i] = !inner;
            }
}

/* Surfel mode: neighbourhood code of each corner of grid c = g + 1 (2D: c[0] = 1), with
 * DeepMind's kernels (correlation, scipy origin for even sizes: voxels i-1 and i). */
static void corner_codes(const uint8_t *m, const int64_t g[3], const int64_t c[3], int is2d,
                         uint8_t *code)
{
    for (int64_t z = 0; z < c[0]; z++)
        for (int64_t y = 0; y < c[1]; y++)
            for (int64_t x = 0; x < c[2]; x++) {
                unsigned v;
                if (is2d)
                    v = 8u * at(m, g, 0, y - 1, x - 1) + 4u * at(m, g, 0, y - 1, x) +
                        2u * at(m, g, 0, y, x - 1) + 1u * at(m, g, 0, y, x);
                else
                    v = 128u * at(m, g, z - 1, y - 1, x - 1) + 64u * at(m, g, z - 1, y - 1, x) +
                        32u * at(m, g, z - 1, y, x - 1) + 16u * at(m, g, z - 1, y, x) +
                        8u * at(m, g, z, y - 1, x - 1) + 4u * at(m, g, z, y - 1, x) +
                        2u * at(m, g, z, y, x - 1) + 1u * at(m, g, z, y, x);
                code[(z * c[1] + y) * c[2] + x] = (uint8_t)v;
            }
}

/* Boundary weight of each code: DeepMind's create_table_neighbour_code_to_contour_length
 * (2D, sp = (H, W) spacing) and create_table_neighbour_code_to_surface_area (3D). */
static void code_weights(int is2d, const double sp[3], double *wt /* [256] */)
{
    memset(wt, 0, 256 * sizeof(*wt));
    if (is2d) {
        double vert = sp[1], horiz = sp[2], diag = 0.5 * sqrt(sp[1] * sp[1] + sp[2] * sp[2]);
        static const int diag_codes[] = {1, 2, 4, 8, 7, 11, 13, 14};
        for (int i = 0; i < 8; i++) wt[diag_codes[i]] = diag;
        wt[3] = wt[12] = horiz;
        wt[5] = wt[10] = vert;
        wt[6] = wt[9] = 2.0 * diag;
        return;
    }
    for (int code = 0; code < 256; code++) {
        const medcl_surfel_code *e = &medcl_surfel_normals[code];
        double area = 0.0;
        for (int t = 0; t < e->n; t++) {
            double n0 = (e->v[t][0] / 8.0) * sp[1] * sp[2];
            double n1 = (e->v[t][1] / 8.0) * sp[0] * sp[2];
            double n2 = (e->v[t][2] / 8.0) * sp[0] * sp[1];
            area += sqrt(n0 * n0 + n1 * n1 + n2 * n2);
        }
        wt[code] = area;
    }
}

/* Distances from each boundary element of `from` to the nearest of `to` on grid c. */
static medcl_status directed(const uint8_t *from_b, const uint8_t *to_b, const uint8_t *from_code,
                             const double *wt, const int64_t c[3], int64_t nc,
                             const double spacing[3], double *f, dir_set *out)
{
    medcl_status st = MEDCL_OK;
    for (int64_t i = 0; i < nc; i++) f[i] = to_b[i] ? 0.0 : INFINITY;
    MEDCL_TRY(medcl_edt_squared(f, c, spacing));
    int64_t n = 0;
    for (int64_t i = 0; i < nc; i++) n += from_b[i] != 0;
    out->d = malloc((size_t)(n ? n : 1) * sizeof(double));
    out->w = from_code ? malloc((size_t)(n ? n : 1) * sizeof(double)) : NULL;
    if (!out->d || (from_code && !out->w))
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "surface: %lld boundary distances", (long long)n);
    out->n = n;
    int64_t k = 0;
    for (int64_t i = 0; i < nc; i++) {
        if (!from_b[i]) continue;
        out->d[k] = sqrt(f[i]);
        if (from_code) out->w[k] = wt[from_code[i]];
        k++;
    }
cleanup:
    return st;
}

static medcl_status check_options(const char *fn, const medcl_surface_options *o)
{
    if (o->size < sizeof(medcl_surface_options))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->size=%zu, expected %zu (use MEDCL_SURFACE_OPTIONS_INIT)",
                          fn, o->size, sizeof(medcl_surface_options));
    if ((int)o->boundary < 0 || o->boundary >= MEDCL_BOUNDARY_MODE_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->boundary=%d is not a medcl_boundary_mode",
                          fn, (int)o->boundary);
    if ((int)o->empty < 0 || o->empty >= MEDCL_SURFACE_EMPTY_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->empty=%d is not a medcl_surface_empty",
                          fn, (int)o->empty);
    if (!(o->percentile >= 0.0 && o->percentile <= 100.0))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->percentile=%g must be in [0, 100]", fn,
                          o->percentile);
    if (o->num_tolerances < 0 || o->num_tolerances > MEDCL_SURFACE_MAX_TOLERANCES)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: opt->num_tolerances=%d must be in [0, %d]",
                          fn, (int)o->num_tolerances, MEDCL_SURFACE_MAX_TOLERANCES);
    for (int32_t t = 0; t < o->num_tolerances; t++)
        if (!isfinite(o->tolerance_mm[t]) || o->tolerance_mm[t] < 0.0)
            return medcl_fail(MEDCL_ERR_INVALID_ARG,
                              "%s: opt->tolerance_mm[%d]=%g must be finite and >= 0", fn, (int)t,
                              o->tolerance_mm[t]);
    return MEDCL_OK;
}

static void fill_result(medcl_surface_result *out, double dist, double nsd)
{
    out->hd = out->hd_percentile = out->assd = out->masd = dist;
    for (int t = 0; t < MEDCL_SURFACE_MAX_TOLERANCES; t++) out->nsd[t] = nsd;
}

/* The work behind medcl_metrics_surface, on checked arguments. */
static medcl_status surface_checked(const uint8_t *ref, const uint8_t *pred, const int64_t shape[3],
                                    const double spacing[3], const medcl_surface_options *o,
                                    medcl_surface_result *out)
{
    medcl_status st = MEDCL_OK;
    uint8_t *buf = NULL;
    double *f = NULL;
    dir_set rp = {0}, pr = {0};
    const int64_t D = shape[0], H = shape[1], W = shape[2];
    const int is2d = D == 1;

    /* bounding box of ref | pred */
    int64_t lo[3] = {D, H, W}, hi[3] = {-1, -1, -1};
    int any_ref = 0, any_pred = 0;
    for (int64_t z = 0; z < D; z++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                int64_t i = (z * H + y) * W + x;
                int r = ref[i] != 0, p = pred[i] != 0;
                any_ref |= r;
                any_pred |= p;
                if (!(r | p)) continue;
                const int64_t q[3] = {z, y, x};
                for (int a = 0; a < 3; a++) {
                    if (q[a] < lo[a]) lo[a] = q[a];
                    if (q[a] > hi[a]) hi[a] = q[a];
                }
            }
    for (int t = 0; t < MEDCL_SURFACE_MAX_TOLERANCES; t++) out->nsd[t] = NAN;
    if (!any_ref && !any_pred) {
        if (o->empty == MEDCL_SURFACE_EMPTY_RELOADED) fill_result(out, 0.0, 1.0);
        else fill_result(out, NAN, NAN);
        return MEDCL_OK;
    }
    if (!any_ref || !any_pred) {
        fill_result(out, INFINITY, 0.0);
        return MEDCL_OK;
    }

    /* crop: g = box extent; surfel mode works on its corners c = g + 1 (not along D in 2D) */
    const int surfel = o->boundary == MEDCL_BOUNDARY_SURFEL;
    int64_t g[3], c[3];
    for (int a = 0; a < 3; a++) {
        g[a] = hi[a] - lo[a] + 1;
        c[a] = surfel && !(a == 0 && is2d) ? g[a] + 1 : g[a];
    }
    const int64_t ng = g[0] * g[1] * g[2], nc = c[0] * c[1] * c[2];
    buf = malloc((size_t)(2 * ng + 4 * nc));
    f = malloc((size_t)nc * sizeof(*f));
    if (!buf || !f)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "medcl_metrics_surface: work buffers for %lld voxels",
                   (long long)nc);
    uint8_t *mr = buf, *mp = buf + ng, *br = buf + 2 * ng, *bp = br + nc;
    uint8_t *code_r = bp + nc, *code_p = code_r + nc;
    for (int64_t z = 0; z < g[0]; z++)
        for (int64_t y = 0; y < g[1]; y++)
            for (int64_t x = 0; x < g[2]; x++) {
                int64_t src = ((z + lo[0]) * H + (y + lo[1])) * W + (x + lo[2]);
                int64_t dst = (z * g[1] + y) * g[2] + x;
                mr[dst] = ref[src] != 0;
                mp[dst] = pred[src] != 0;
            }

    double wt[256] = {0};
    if (surfel) {
        corner_codes(mr, g, c, is2d, code_r);
        corner_codes(mp, g, c, is2d, code_p);
        const unsigned full = is2d ? 15u : 255u;
        for (int64_t i = 0; i < nc; i++) {
            br[i] = code_r[i] != 0 && code_r[i] != full;
            bp[i] = code_p[i] != 0 && code_p[i] != full;
        }
        code_weights(is2d, spacing, wt);
    } else {
        voxel_edges(mr, g, is2d, br);
        voxel_edges(mp, g, is2d, bp);
    }
    MEDCL_TRY(directed(br, bp, surfel ? code_r : NULL, wt, c, nc, spacing, f, &rp));
    MEDCL_TRY(directed(bp, br, surfel ? code_p : NULL, wt, c, nc, spacing, f, &pr));
    MEDCL_TRY(metrics_from_sets(&rp, &pr, o, out));
cleanup:
    free(buf);
    free(f);
    free(rp.d);
    free(rp.w);
    free(pr.d);
    free(pr.w);
    return st;
}

MEDCL_API medcl_status medcl_metrics_surface(const uint8_t *ref, const uint8_t *pred,
                                             const int64_t shape[3], const double spacing[3],
                                             const medcl_surface_options *opt,
                                             medcl_surface_result *out)
{
    static const char fn[] = "medcl_metrics_surface";
    const medcl_surface_options defaults = MEDCL_SURFACE_OPTIONS_INIT;
    const medcl_surface_options *o = opt ? opt : &defaults;
    int64_t n = 0;
    medcl_status st = medcl_metrics_check_shape(fn, shape, &n);
    if (st != MEDCL_OK) return st;
    if ((st = medcl_metrics_check_spacing(fn, spacing)) != MEDCL_OK) return st;
    if ((st = check_options(fn, o)) != MEDCL_OK) return st;
    if (!ref) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: ref is NULL", fn);
    if (!pred) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: pred is NULL", fn);
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    return surface_checked(ref, pred, shape, spacing, o, out);
}

MEDCL_API medcl_status medcl_metrics_surface_labels(const int32_t *ref, const int32_t *pred,
                                                    const int64_t shape[3],
                                                    const double spacing[3],
                                                    int32_t num_classes,
                                                    const medcl_surface_options *opt,
                                                    medcl_surface_result *out)
{
    static const char fn[] = "medcl_metrics_surface_labels";
    const medcl_surface_options defaults = MEDCL_SURFACE_OPTIONS_INIT;
    const medcl_surface_options *o = opt ? opt : &defaults;
    int64_t n = 0;
    medcl_status st = medcl_metrics_check_shape(fn, shape, &n);
    if (st != MEDCL_OK) return st;
    if ((st = medcl_metrics_check_spacing(fn, spacing)) != MEDCL_OK) return st;
    if ((st = check_options(fn, o)) != MEDCL_OK) return st;
    if (!ref) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: ref is NULL", fn);
    if (!pred) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: pred is NULL", fn);
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: out is NULL", fn);
    if (num_classes < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_classes=%d must be >= 1", fn,
                          (int)num_classes);
    for (int64_t i = 0; i < n; i++) {
        if (ref[i] < 0 || ref[i] >= num_classes)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: ref[%lld]=%d outside [0, num_classes=%d)",
                              fn, (long long)i, (int)ref[i], (int)num_classes);
        if (pred[i] < 0 || pred[i] >= num_classes)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: pred[%lld]=%d outside [0, num_classes=%d)",
                              fn, (long long)i, (int)pred[i], (int)num_classes);
    }
    uint8_t *mr = malloc((size_t)n * 2);
    if (!mr)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: masks of %lld voxels", fn, (long long)n);
    uint8_t *mp = mr + n;
    for (int32_t k = 0; k < num_classes && st == MEDCL_OK; k++) {
        for (int64_t i = 0; i < n; i++) {
            mr[i] = ref[i] == k;
            mp[i] = pred[i] == k;
        }
        st = surface_checked(mr, mp, shape, spacing, o, &out[k]);
        if (st != MEDCL_OK) medcl_error_prefix("%s: class %d", fn, (int)k);
    }
    free(mr);
    return st;
}
