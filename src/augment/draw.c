/* src/augment/draw.c — per-sample parameter draws on the host, from Philox keyed by
 * (seed, transform index, epoch, sample): probabilities, ranges, per-channel choices, the
 * composed spatial matrix, boxes, k-space segments and Beta(alpha, alpha) for mixing.
 * The kernels read the blocks as they are; the float64 test references read the same blocks.
 * Per-voxel draws (noise, elastic control grid) happen on the device, not here. */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

typedef struct {
    uint64_t seed;
    uint32_t stream, epoch, sample;
    uint64_t i;
} drawer;

static double u01(drawer *d) {
    return (double)medcl_philox_u01(medcl_philox_at(d->seed, d->stream, d->epoch, d->sample, d->i++));
}
static double unif(drawer *d, double a, double b) { return a + (b - a) * u01(d); }
/* hit with probability p: u in (0, 1] is <= p (p = 0 never, p = 1 always) */
static int hit(drawer *d, double p) { return u01(d) <= p; }
static int uint_in(drawer *d, int lo, int hi) {
    int v = lo + (int)floor(u01(d) * (double)(hi - lo + 1) - 1e-12);
    return v < lo ? lo : v > hi ? hi : v;
}

/* nnU-Net's BGContrast: with p 1/2 from [lo, 1) (when lo < 1), else [max(lo, 1), hi]. */
static double value(drawer *d, const medcl_augment_transform *t) {
    double lo = t->range[0], hi = t->range[1];
    if (t->split_at_one) {
        double u = u01(d);
        if (u <= 0.5 && lo < 1.0) return unif(d, lo, hi < 1.0 ? hi : 1.0);
        return unif(d, lo > 1.0 ? lo : 1.0, hi);
    }
    return unif(d, lo, hi);
}

static void matmul(double a[9], const double b[9]) {
    double r[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
    memcpy(a, r, sizeof r);
}

static void draw_spatial(drawer *d, const medcl_augment_spatial *s, const aug_geom *g, float *b) {
    int dims3 = g->in[0] > 1 || g->out[0] > 1;
    double m[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    int any = 0;
    /* S R R90 F: built right to left as m = S * R * R90 * F */
    double f[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (int a = dims3 ? 0 : 1; a < 3; a++)
        if (hit(d, s->p_mirror[a])) {
            f[4 * a] = -1;
            any = 1;
        }
    double r90[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    if (hit(d, s->p_rot90)) {
        int ax[3], na = 0;
        for (int a = dims3 ? 0 : 1; a < 3; a++)
            if (s->rot90_axes[a]) ax[na++] = a;
        if (na >= 2) {
            int pairs[3][2], np = 0;
            for (int i = 0; i < na; i++)
                for (int j = i + 1; j < na; j++) {
                    pairs[np][0] = ax[i];
                    pairs[np][1] = ax[j];
                    np++;
                }
            int pi = uint_in(d, 0, np - 1), k = uint_in(d, 1, 3);
            int a0 = pairs[pi][0], a1 = pairs[pi][1];
            for (int q = 0; q < k; q++) { /* (e_a0, e_a1) -> (-e_a1, e_a0) */
                double t90[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
                t90[4 * a0] = 0;
                t90[4 * a1] = 0;
                t90[3 * a0 + a1] = -1;
                t90[3 * a1 + a0] = 1;
                matmul(r90, t90);
            }
            any = 1;
        }
    }
    double rot[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    if (hit(d, s->p_rotation)) {
        const double deg = 3.14159265358979323846 / 180.0;
        for (int a = 0; a < (dims3 ? 3 : 1); a++) {
            double ang = unif(d, s->rotation[a][0], s->rotation[a][1]) * deg;
            double c = cos(ang), sn = sin(ang);
            int p0 = a == 0 ? 1 : 0, p1 = a == 2 ? 1 : 2; /* plane of the rotation about axis a */
            double ra[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
            ra[4 * p0] = c;
            ra[3 * p0 + p1] = -sn;
            ra[3 * p1 + p0] = sn;
            ra[4 * p1] = c;
            double tmp[9];
            memcpy(tmp, ra, sizeof tmp);
            matmul(tmp, rot); /* R = R_a ... R_d: later axes applied after */
            memcpy(rot, tmp, sizeof tmp);
        }
        any = 1;
    }
    double sc[3] = {1, 1, 1};
    if (hit(d, s->p_scale)) {
        double v = unif(d, s->scale[0], s->scale[1]);
        for (int a = dims3 ? 0 : 1; a < 3; a++) sc[a] = s->scale_per_axis ? unif(d, s->scale[0], s->scale[1]) : v;
        any = 1;
    }
    matmul(m, (double[9]){sc[0], 0, 0, 0, sc[1], 0, 0, 0, sc[2]});
    matmul(m, rot);
    matmul(m, r90);
    matmul(m, f);
    double off[3] = {0, 0, 0};
    if (hit(d, s->p_translate)) {
        for (int a = dims3 ? 0 : 1; a < 3; a++) off[a] = unif(d, s->translate[0], s->translate[1]);
        any = 1;
    }
    int el = hit(d, s->p_elastic);
    any |= el;
    b[AUG_P_APPLIED] = (float)any;
    for (int i = 0; i < 9; i++) b[AUG_P_MAT + i] = (float)m[i];
    for (int a = 0; a < 3; a++) b[AUG_P_OFF + a] = (float)off[a];
    b[AUG_P_ELASTIC] = (float)el;
    for (int a = 0; a < 3; a++)
        b[AUG_P_GSCALE + a] = g->out[a] > 1 ? (float)(s->elastic_points - 1) / (float)(g->out[a] - 1) : 0.0f;
}

void aug_draw(const medcl_augment_transform *t, int ti, const aug_geom *g, uint64_t seed,
              uint32_t epoch, uint32_t sample, float *b) {
    drawer d = {seed, AUG_STREAM_HOST(ti), epoch, sample, 0};
    memset(b, 0, AUG_PB * sizeof *b);
    int dims3 = g->in[0] > 1 || g->out[0] > 1;
    if (t->kind == MEDCL_AUGMENT_SPATIAL) {
        draw_spatial(&d, &t->spatial, g, b);
        return;
    }
    if (!hit(&d, t->p)) return;
    b[AUG_P_APPLIED] = 1;
    /* per-channel choice and values: v0 (and v1, v2 per axis for blur) */
    double shared[3];
    for (int a = 0; a < 3; a++) shared[a] = value(&d, t);
    for (int64_t c = 0; c < g->c; c++) {
        float *ch = b + AUG_P_CH + 4 * c;
        ch[0] = (float)hit(&d, t->p_per_channel);
        for (int a = 0; a < 3; a++) ch[1 + a] = (float)(t->per_channel ? value(&d, t) : shared[a]);
    }
    switch (t->kind) {
    case MEDCL_AUGMENT_BIAS_FIELD:
        for (int k = 0; k < AUG_BIAS_TERMS; k++) b[AUG_P_COEF + k] = (float)unif(&d, t->range[0], t->range[1]);
        break;
    case MEDCL_AUGMENT_COARSE_DROPOUT: {
        int nb = uint_in(&d, t->count[0], t->count[1]);
        b[AUG_P_NBOX] = (float)nb;
        for (int k = 0; k < nb; k++)
            for (int a = 0; a < 3; a++) {
                int64_t n = g->out[a];
                int64_t e = (int64_t)llround(unif(&d, t->range[0], t->range[1]) * (double)n);
                if (e < 1) e = 1;
                if (e > n) e = n;
                int64_t lo = (int64_t)floor(u01(&d) * (double)(n - e + 1) - 1e-12);
                if (lo < 0) lo = 0;
                if (a == 0 && !dims3) lo = 0, e = 1;
                b[AUG_P_BOX + 6 * k + 2 * a] = (float)lo;
                b[AUG_P_BOX + 6 * k + 2 * a + 1] = (float)(lo + e);
            }
        break;
    }
    case MEDCL_AUGMENT_MOTION: {
        int ns = uint_in(&d, t->count[0], t->count[1]) + 1; /* count = moves; segments = moves + 1 */
        if (ns > AUG_MAX_SEG) ns = AUG_MAX_SEG;
        int64_t L = g->out[t->axis];
        double st[AUG_MAX_SEG] = {0};
        for (int s = 1; s < ns; s++) st[s] = u01(&d);
        for (int s = 1; s < ns; s++) /* sort the starts */
            for (int q = s + 1; q < ns; q++)
                if (st[q] < st[s]) {
                    double x = st[q];
                    st[q] = st[s];
                    st[s] = x;
                }
        b[AUG_P_NSEG] = (float)ns;
        for (int s = 1; s < ns; s++) b[AUG_P_SEGSTART + s - 1] = (float)floor(st[s] * (double)L);
        for (int s = 1; s < ns; s++)
            for (int a = dims3 ? 0 : 1; a < 3; a++) b[AUG_P_SEGT + 3 * s + a] = (float)unif(&d, t->range[0], t->range[1]);
        break;
    }
    case MEDCL_AUGMENT_GHOSTING:
        b[AUG_P_GHOSTS] = (float)uint_in(&d, t->count[0], t->count[1]);
        break;
    case MEDCL_AUGMENT_SPIKE: {
        int ns = uint_in(&d, t->count[0], t->count[1]);
        if (ns > AUG_MAX_SPIKE) ns = AUG_MAX_SPIKE;
        b[AUG_P_NSPIKE] = (float)ns;
        for (int s = 0; s < ns; s++) {
            for (int a = 0; a < 3; a++) {
                int64_t n = g->out[a];
                b[AUG_P_SPIKE + 4 * s + a] = (float)uint_in(&d, 0, (int)(n - 1));
            }
            b[AUG_P_SPIKE + 4 * s + 3] = (float)unif(&d, t->range[0], t->range[1]);
        }
        break;
    }
    default: break;
    }
}

float aug_elastic_coef(uint64_t seed, int ti, uint32_t epoch, uint32_t sample, int G, float maxd,
                       int dims, uint32_t j) {
    uint32_t gx = j % (uint32_t)G, gy = (j / (uint32_t)G) % (uint32_t)G;
    uint32_t gz = (j / (uint32_t)(G * G)) % (uint32_t)G, comp = j / (uint32_t)(G * G * G);
    uint32_t last = (uint32_t)G - 1;
    /* locked borders (TorchIO): the outermost control points do not move */
    if (gx == 0 || gx == last || gy == 0 || gy == last) return 0.0f;
    if (dims == 3 && (gz == 0 || gz == last)) return 0.0f;
    if (dims == 2 && (comp == 0 || gz != 0)) return 0.0f;
    float u = medcl_philox_u01(medcl_philox_at(seed, AUG_STREAM_DEV(ti), epoch, sample, j));
    return (2.0f * u - 1.0f) * maxd;
}

/* Gamma(a) by Marsaglia and Tsang (2000), a >= 1; a < 1 through Gamma(a + 1) U^(1/a). */
static double gamma_draw(drawer *d, double a) {
    double boost = 1.0;
    if (a < 1.0) {
        boost = pow(u01(d), 1.0 / a);
        a += 1.0;
    }
    double dd = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (int it = 0; it < 1000; it++) {
        double u1 = u01(d), u2 = u01(d);
        double x = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        double v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = u01(d);
        if (log(u) < 0.5 * x * x + dd - dd * v + dd * log(v)) return dd * v * boost;
    }
    return dd * boost;
}

double aug_beta(uint64_t seed, uint32_t epoch, uint32_t sample, double alpha) {
    drawer d = {seed, AUG_MIX_STREAM, epoch, sample, 16};
    if (alpha == 1.0) return u01(&d) - 0x1p-25; /* U(0, 1): (0, 1] shifted off 1 */
    double x = gamma_draw(&d, alpha), y = gamma_draw(&d, alpha);
    return x + y > 0 ? x / (x + y) : 0.5;
}

/* block: [0] hit, [1] partner, [2] lambda (image weight of sample n), [3..8] box (d0 d1 h0 h1 w0 w1) */
void aug_mix_draw(const medcl_augment_mix *o, int64_t N, const int64_t dhw[3], uint64_t seed,
                  uint32_t epoch, uint32_t sample_index0, int64_t n, float *b) {
    memset(b, 0, AUG_PB * sizeof *b);
    drawer batch = {seed, AUG_MIX_STREAM, epoch, sample_index0, 1u << 20};
    int64_t shift = N > 1 ? uint_in(&batch, 1, (int)(N - 1)) : 0;
    drawer d = {seed, AUG_MIX_STREAM, epoch, sample_index0 + (uint32_t)n, 0};
    b[1] = (float)((n + shift) % N);
    b[2] = 1.0f;
    if (!hit(&d, o->p) || N < 2) return;
    b[0] = 1;
    double lam = aug_beta(seed, epoch, sample_index0 + (uint32_t)n, o->alpha);
    b[2] = (float)lam;
    if (o->mode == MEDCL_AUGMENT_CUTMIX) {
        int dims = dhw[0] > 1 ? 3 : 2;
        double r = pow(1.0 - lam, 1.0 / dims);
        int64_t vol = 1, cut = 1;
        for (int a = 0; a < 3; a++) {
            int64_t L = dhw[a];
            int64_t e = (a == 0 && dims == 2) ? 1 : (int64_t)llround(r * (double)L);
            if (e > L) e = L;
            int64_t c = (int64_t)floor(u01(&d) * (double)L);
            int64_t lo = c - e / 2, hi = lo + e;
            if (a == 0 && dims == 2) lo = 0, hi = 1;
            if (lo < 0) lo = 0;
            if (hi > L) hi = L;
            b[3 + 2 * a] = (float)lo;
            b[4 + 2 * a] = (float)hi;
            vol *= L;
            cut *= hi > lo ? hi - lo : 0;
        }
        b[2] = (float)(1.0 - (double)cut / (double)vol); /* area-corrected lambda (as CutMix) */
    }
}
