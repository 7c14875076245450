// cl/philox.cl — Philox-4x32-10 and the portable float math that turns its draws into uniform
// and normal floats. Only +, -, * and bit operations (FP_CONTRACT off), so every device gives
// the same bits as src/core/philox.c on the host. Included by other programs through
// "//! requires: philox". Reference: Salmon et al., SC'11.
#pragma OPENCL FP_CONTRACT OFF

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

inline uint4 philox4x32_10(uint4 x, uint2 k) {
    for (int r = 0; r < 10; r++) {
        uint hi0 = mul_hi(PHILOX_M0, x.s0), lo0 = PHILOX_M0 * x.s0;
        uint hi1 = mul_hi(PHILOX_M1, x.s2), lo1 = PHILOX_M1 * x.s2;
        x = (uint4)(hi1 ^ x.s1 ^ k.s0, lo1, hi0 ^ x.s3 ^ k.s1, lo0);
        k += (uint2)(PHILOX_W0, PHILOX_W1);
    }
    return x;
}

inline uint2 philox_key(ulong seed, uint stream) {
    return (uint2)((uint)seed, (uint)(seed >> 32) ^ (stream * 0x9E3779B9u));
}

// Draw i of stream (seed, stream, c2, c3): lane i%4 of block i/4.
inline uint philox_at(ulong seed, uint stream, uint c2, uint c3, ulong i) {
    uint4 r = philox4x32_10((uint4)((uint)(i >> 2), (uint)(i >> 34), c2, c3), philox_key(seed, stream));
    uint lane = (uint)(i & 3);
    return lane == 0 ? r.s0 : lane == 1 ? r.s1 : lane == 2 ? r.s2 : r.s3;
}

inline float philox_u01(uint u) { return (float)((u >> 8) + 1u) * (1.0f / 16777216.0f); }

inline float pfloat_log(float x) {
    uint b = as_uint(x);
    int e = (int)((b >> 23) & 0xffu) - 127;
    float m = as_float((b & 0x007fffffu) | 0x3f800000u);
    if (m > 1.41421356f) {
        m = m * 0.5f;
        e += 1;
    }
    float d = m + 1.0f;
    float r = 0.48528137f;
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    float s = (m - 1.0f) * r;
    float s2 = s * s;
    float p = 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    float lm = 2.0f * s * p;
    return (float)e * 0.693147180559945f + lm;
}

inline float pfloat_sqrt(float x) {
    if (!(x > 0.0f)) return 0.0f;
    float y = as_float(0x5f3759dfu - (as_uint(x) >> 1));
    float hx = 0.5f * x;
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    y = y * (1.5f - hx * y * y);
    return x * y;
}

inline void pfloat_sincos_2pi(float u, float *s, float *c) {
    float t = u - 0.5f;
    float th = t * 6.28318530717958f;
    float h = th * 0.5f;
    float h2 = h * h;
    float sp = -1.0f / 39916800.0f;
    sp = sp * h2 + 1.0f / 362880.0f;
    sp = sp * h2 - 1.0f / 5040.0f;
    sp = sp * h2 + 1.0f / 120.0f;
    sp = sp * h2 - 1.0f / 6.0f;
    sp = sp * h2 + 1.0f;
    float sh = h * sp;
    float cp = 1.0f / 479001600.0f;
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

inline float2 philox_normal2(uint u0, uint u1) {
    float a = philox_u01(u0);
    float b = philox_u01(u1);
    float r = pfloat_sqrt(-2.0f * pfloat_log(a));
    float sn, cs;
    pfloat_sincos_2pi(b, &sn, &cs);
    return (float2)(r * cs, r * sn);
}
