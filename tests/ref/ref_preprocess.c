/* tests/ref/ref_preprocess.c — naive float64 resampling: source coordinate of output o along an
 * axis n → no is (o + 0.5) n / no - 0.5 clamped to [0, n - 1]; linear blends the two
 * neighbours per axis as (1 - f) a + f b; nearest takes floor((o + 0.5) n / no). */
#include "ref_preprocess.h"

#include <math.h>

static double coord(int64_t o, int64_t n, int64_t no) {
    double c = ((double)o + 0.5) * (double)n / (double)no - 0.5;
    if (c < 0.0) c = 0.0;
    if (c > (double)(n - 1)) c = (double)(n - 1);
    return c;
}

static int64_t near_idx(int64_t o, int64_t n, int64_t no) {
    int64_t i = (int64_t)floor(((double)o + 0.5) * (double)n / (double)no);
    return i > n - 1 ? n - 1 : i;
}

void ref_resample(const float *x, int64_t nc, int64_t D, int64_t H, int64_t W, int64_t Do,
                  int64_t Ho, int64_t Wo, int nearest, double *y) {
    for (int64_t v = 0; v < nc; v++) {
        const float *s = x + v * D * H * W;
        double *t = y + v * Do * Ho * Wo;
        for (int64_t od = 0; od < Do; od++)
            for (int64_t oh = 0; oh < Ho; oh++)
                for (int64_t ow = 0; ow < Wo; ow++) {
                    double val;
                    if (nearest) {
                        val = s[(near_idx(od, D, Do) * H + near_idx(oh, H, Ho)) * W +
                                near_idx(ow, W, Wo)];
                    } else {
                        double c[3] = {coord(od, D, Do), coord(oh, H, Ho), coord(ow, W, Wo)};
                        int64_t n[3] = {D, H, W}, i0[3], i1[3];
                        double f[3];
                        for (int a = 0; a < 3; a++) {
                            i0[a] = (int64_t)floor(c[a]);
                            i1[a] = i0[a] + 1 < n[a] ? i0[a] + 1 : n[a] - 1;
                            f[a] = c[a] - (double)i0[a];
                        }
                        val = 0.0;
                        for (int k = 0; k < 8; k++) {
                            int64_t id = (k & 4) ? i1[0] : i0[0], ih = (k & 2) ? i1[1] : i0[1],
                                    iw = (k & 1) ? i1[2] : i0[2];
                            double w = ((k & 4) ? f[0] : 1.0 - f[0]) *
                                       ((k & 2) ? f[1] : 1.0 - f[1]) *
                                       ((k & 1) ? f[2] : 1.0 - f[2]);
                            val += w * s[(id * H + ih) * W + iw];
                        }
                    }
                    t[(od * Ho + oh) * Wo + ow] = val;
                }
    }
}
