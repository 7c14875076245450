/* src/nn/schedule.c — learning-rate schedules: constant, step, poly (nnU-Net v2's
 * PolyLRScheduler: lr0 (1 - t/total)^0.9) and cosine with linear warm-up. Host arithmetic in
 * double; the optimizer rounds the result to float once. Leaves out: plateau schedules
 * (they need validation metrics), cyclic schedules. */
#include "core/internal.h"
#include "medcl/nn.h"

#include <math.h>

medcl_status medcl_lr_check(const medcl_lr_schedule *s) {
    if (!s) return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule is NULL");
    if (s->size < sizeof *s)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule: size = %zu, expected %zu", s->size, sizeof *s);
    if ((int)s->kind < 0 || s->kind >= MEDCL_LR_KIND_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule: kind = %d", (int)s->kind);
    if (!(s->lr0 >= 0.0 && isfinite(s->lr0)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule: lr0 = %g", s->lr0);
    if (s->kind == MEDCL_LR_STEP && (s->step_size < 1 || !(s->gamma > 0.0 && isfinite(s->gamma))))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule step: step_size = %lld, gamma = %g",
                          (long long)s->step_size, s->gamma);
    if ((s->kind == MEDCL_LR_POLY || s->kind == MEDCL_LR_COSINE) && s->total < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule: total = %lld", (long long)s->total);
    if (s->kind == MEDCL_LR_POLY && !(s->exponent > 0.0 && isfinite(s->exponent)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule poly: exponent = %g", s->exponent);
    if (s->kind == MEDCL_LR_COSINE && (s->warmup < 0 || s->warmup >= s->total ||
                                       !(s->lr_min >= 0.0 && s->lr_min <= s->lr0)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "lr schedule cosine: warmup = %lld (total %lld), "
                          "lr_min = %g", (long long)s->warmup, (long long)s->total, s->lr_min);
    return MEDCL_OK;
}

double medcl_lr_at(const medcl_lr_schedule *s, int64_t t) {
    if (!s || medcl_lr_check(s) != MEDCL_OK) return NAN;
    if (t < 0) t = 0;
    switch (s->kind) {
    case MEDCL_LR_CONSTANT: return s->lr0;
    case MEDCL_LR_STEP: return s->lr0 * pow(s->gamma, (double)(t / s->step_size));
    case MEDCL_LR_POLY:
        if (t >= s->total) return 0.0;
        return s->lr0 * pow(1.0 - (double)t / (double)s->total, s->exponent);
    case MEDCL_LR_COSINE: {
        if (t < s->warmup) return s->lr0 * (double)(t + 1) / (double)s->warmup;
        if (t >= s->total) return s->lr_min;
        double x = (double)(t - s->warmup) / (double)(s->total - s->warmup);
        return s->lr_min + (s->lr0 - s->lr_min) * 0.5 * (1.0 + cos(3.14159265358979323846 * x));
    }
    default: return NAN;
    }
}
