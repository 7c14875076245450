/* src/core/philox.c — Philox-4x32-10 and the portable float math used to turn its draws
 * into uniform and normal floats. The math uses only +, -, * and bit operations, so with FMA
 * contraction off it gives the same bits as cl/philox.cl on every OpenCL device (division,
 * sqrt, log and cos are not correctly rounded in OpenCL 1.2 and would differ).
 * Reference: Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11. */
#include "internal.h"

#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

medcl_philox_ctr medcl_philox4x32_10(medcl_philox_ctr x, medcl_philox_key k) {
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * x.c[0];
        uint64_t p1 = (uint64_t)PHILOX_M1 * x.c[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        medcl_philox_ctr y;
        y.c[0] = hi1 ^ x.c[1] ^ k.k[0];
        y.c[1] = lo1;
        y.c[2] = hi0 ^ x.c[3] ^ k.k[1];
        y.c[3] = lo0;
        x = y;
        k.k[0] += PHILOX_W0;
        k.k[1] += PHILOX_W1;
    }
    return x;
}

medcl_philox_key medcl_philox_make_key(uint64_t seed, uint32_t stream) {
    medcl_philox_key k;
    k.k[0] = (uint32_t)seed;
    k.k[1] = (uint32_t)(seed >> 32) ^ (stream * 0x9E3779B9u);
    return k;
}

float medcl_philox_u01(uint32_t u) {
    /* ((u >> 8) + 1) * 2^-24: 24-bit integers are exact in float, result in (0, 1]. */
    return (float)((u >> 8) + 1u) * (1.0f / 16777216.0f);
}

static float bits_to_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}
static uint32_t float_to_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* log(x) for finite x > 0: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
 * log(m) = 2 atanh(s), s = (m - 1) / (m + 1), the reciprocal by Newton steps (mul/add only). */
float medcl_pfloat_log(float x) {
    uint32_t b = float_to_bits(x);
    int e = (int)((b >> 23) & 0xffu) - 127;
    float m = bits_to_float((b & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    if (m > 1.41421356f) {
        m = m * 0.5f;
        e += 1;
    }
    float d = m + 1.0f;             /* [1.707, 2.414] */
    float r = 0.48528137f; /* ~ 2 / (d_min + d_max); Newton r = r (2 - d r), error squares */
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    float s = (m - 1.0f) * r;
    float s2 = s * s;
    /* 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + s^7/7 + s^9/9 + s^11/11), |s| <= 0.1716 */
    float p = 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    float lm = 2.0f * s * p;
    return (float)e * 0.693147180559945f + lm;
}

/* sqrt(x), x >= 0: reciprocal square root by Newton from a bit-level first guess. */
float medcl_pfloat_sqrt(float x) {
    if (!(x > 0.0f)) return 0.0f;
    float y = bits_to_float(0x5f3759dfu - (float_to_bits(x) >> 1));
    float hx = 0.5f * x;
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    return x * y;
}

/* sin and cos of 2*pi*u for u in [0, 1]: t = u - 0.5 so theta = 2 pi t in [-pi, pi], then
 * sin(2 pi u) = -sin(theta), cos(2 pi u) = -cos(theta); Taylor series to degree 23/22. */
void medcl_pfloat_sincos_2pi(float u, float *s, float *c) {
    float t = u - 0.5f;
    float th = t * 6.28318530717958f;
    float h = th * 0.5f; /* half angle: |h| <= pi/2, then double-angle formulas */
    float h2 = h * h;
    float sp = -1.0f / 39916800.0f;           /* -1/11! */
    sp = sp * h2 + 1.0f / 362880.0f;          /* 1/9! */
    sp = sp * h2 - 1.0f / 5040.0f;
    sp = sp * h2 + 1.0f / 120.0f;
    sp = sp * h2 - 1.0f / 6.0f;
    sp = sp * h2 + 1.0f;
    float sh = h * sp;
    float cp = 1.0f / 479001600.0f;           /* 1/12! */
    cp = cp * h2 - 1.0f / 3628800.0f;
    cp = cp * h2 + 1.0f / 40320.0f;
    cp = cp * h2 - 1.0f / 720.0f;
    cp = cp * h2 + 1.0f / 24.0f;
    cp = cp * h2 - 0.5f;
    cp = cp * h2 + 1.0f;
    float ch = cp;
    *s = -(2.0f * sh * ch);
    *c = -(ch * ch - sh * sh);
}

void medcl_philox_normal2(uint32_t u0, uint32_t u1, float *z0, float *z1) {
    float a = medcl_philox_u01(u0); /* (0, 1]: log is finite */
    float b = medcl_philox_u01(u1);
    float r = medcl_pfloat_sqrt(-2.0f * medcl_pfloat_log(a));
    float sn, cs;
    medcl_pfloat_sincos_2pi(b, &sn, &cs);
    *z0 = r * cs;
    *z1 = r * sn;
}

uint32_t medcl_philox_at(uint64_t seed, uint32_t stream, uint32_t c2, uint32_t c3,
                         uint64_t i) {
    medcl_philox_ctr ctr = {{(uint32_t)(i >> 2), (uint32_t)(i >> 34), c2, c3}};
    medcl_philox_ctr out = medcl_philox4x32_10(ctr, medcl_philox_make_key(seed, stream));
    return out.c[i & 3u];
}

void medcl_philox_fill_uniform(uint64_t seed, uint32_t stream, uint32_t c2, uint32_t c3,
                               float *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = medcl_philox_u01(medcl_philox_at(seed, stream, c2, c3, i));
}

void medcl_philox_fill_normal(uint64_t seed, uint32_t stream, uint32_t c2, uint32_t c3,
                              float *out, size_t n) {
    for (size_t j = 0; 2 * j < n; j++) {
        float z0, z1;
        medcl_philox_normal2(medcl_philox_at(seed, stream, c2, c3, 2 * j),
                             medcl_philox_at(seed, stream, c2, c3, 2 * j + 1), &z0, &z1);
        out[2 * j] = z0;
        if (2 * j + 1 < n) out[2 * j + 1] = z1;
    }
}
