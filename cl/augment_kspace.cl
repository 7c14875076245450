//! requires: augment_block
// cl/augment_kspace.cl — k-space artifacts (motion, ghosting, spike) through a separable
// discrete Fourier transform written here (direct sums along one axis at a time: O(L) per
// output, fine for patch sizes; no clFFT so kernel bundles and the program cache cover it).
// Complex values are interleaved (re, im) in (N, C, D, H, W, 2) buffers. Only the samples
// and channels the transform hits are written back.
#pragma OPENCL FP_CONTRACT OFF

#ifndef WG
#define WG 256
#endif

#define K_MOTION 11
#define K_GHOSTING 12
#define K_SPIKE 13

kernel void aug_to_complex(global const float *x, ulong x_off, global float *z, ulong z_off,
                           ulong n) {
    ulong i = get_global_id(0);
    if (i >= n) return;
    z[z_off + 2 * i] = x[x_off + i];
    z[z_off + 2 * i + 1] = 0.0f;
}

// out[k] = sum_j in[j] exp(sign 2 pi i k j / L) along axis; one work-item per element.
kernel void aug_dft_axis(global const float *zi, ulong zi_off, global float *zo, ulong zo_off,
                         ulong NC, uint D, uint H, uint W, int axis, float sign) {
    ulong V = (ulong)D * H * W;
    ulong i = get_global_id(0);
    if (i >= NC * V) return;
    ulong v = i % V;
    uint pos[3] = {(uint)(v / ((ulong)H * W)), (uint)((v / W) % H), (uint)(v % W)};
    uint L = axis == 0 ? D : axis == 1 ? H : W;
    ulong stride = axis == 0 ? (ulong)H * W : axis == 1 ? (ulong)W : 1;
    ulong base = i - (ulong)pos[axis] * stride;
    uint k = pos[axis];
    float re = 0.0f, im = 0.0f;
    for (uint j = 0; j < L; j++) {
        uint m = (uint)(((ulong)k * j) % L);
        float ang = 2.0f * (float)m / (float)L; // in units of pi
        float c = cospi(ang), s = sign * sinpi(ang);
        float a = zi[zi_off + 2 * (base + j * stride)], b = zi[zi_off + 2 * (base + j * stride) + 1];
        re = re + (a * c - b * s);
        im = im + (a * s + b * c);
    }
    zo[zo_off + 2 * i] = re;
    zo[zo_off + 2 * i + 1] = im;
}

// max |X| per (n, c) into st[(n C + c) 4 + 3]; one group each.
kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void aug_cabsmax(global const float *z, ulong z_off, global float *st, ulong st_off, ulong V) {
    local float s[WG];
    uint l = get_local_id(0);
    ulong g = get_group_id(0);
    global const float *zc = z + z_off + 2 * g * V;
    float m = 0.0f;
    for (ulong i = l; i < V; i += WG) m = fmax(m, hypot(zc[2 * i], zc[2 * i + 1]));
    s[l] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (l < h) s[l] = fmax(s[l], s[l + h]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) st[st_off + g * 4 + 3] = s[0];
}

inline int freq(uint k, uint L) { return k <= L / 2 ? (int)k : (int)k - (int)L; }

kernel void aug_kspace_modify(global float *z, ulong z_off, global const float *prm, ulong prm_off,
                              global const float *st, ulong st_off, uint N, uint C, uint D, uint H,
                              uint W, int kind, int axis, float restore) {
    ulong V = (ulong)D * H * W;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * C * V) return;
    uint n = (uint)(i / ((ulong)C * V));
    uint c = (uint)((i / V) % C);
    ulong v = i % V;
    global const float *p = prm + prm_off + (ulong)n * PB;
    global const float *ch = p + P_CH + 4 * c;
    if (p[P_APPLIED] == 0.0f || ch[0] == 0.0f) return;
    uint pos[3] = {(uint)(v / ((ulong)H * W)), (uint)((v / W) % H), (uint)(v % W)};
    uint len[3] = {D, H, W};
    global float *zp = z + z_off + 2 * i;
    float re = zp[0], im = zp[1];
    if (kind == K_MOTION) {
        int ns = (int)p[P_X], seg = 0;
        for (int s = 1; s < ns; s++)
            if ((float)pos[axis] >= p[P_X + s]) seg = s;
        if (seg == 0) return;
        float ph = 0.0f; // phase of exp(-2 pi i f t / L), in units of pi
        for (int a = 0; a < 3; a++)
            ph = ph - 2.0f * (float)freq(pos[a], len[a]) * p[P_X + 4 + 3 * seg + a] / (float)len[a];
        float cs = cospi(ph), sn = sinpi(ph);
        zp[0] = re * cs - im * sn;
        zp[1] = re * sn + im * cs;
    } else if (kind == K_GHOSTING) {
        int g = (int)p[P_X];
        uint L = len[axis];
        int f = freq(pos[axis], L);
        if (g < 1 || pos[axis] % (uint)g != 0) return;
        if ((float)abs(f) <= restore * 0.5f * (float)L) return; // central band kept
        float k = 1.0f - ch[1];
        zp[0] = re * k;
        zp[1] = im * k;
    } else if (kind == K_SPIKE) {
        int ns = (int)p[P_X];
        float mx = st[st_off + ((ulong)n * C + c) * 4 + 3];
        for (int s = 0; s < ns; s++) {
            global const float *sp = p + P_X + 1 + 4 * s;
            if ((float)pos[0] == sp[0] && (float)pos[1] == sp[1] && (float)pos[2] == sp[2])
                re = re + mx * sp[3];
        }
        zp[0] = re;
    }
}

// x = Re(z) / V for the (n, c) the transform hits.
kernel void aug_from_complex(global const float *z, ulong z_off, global float *x, ulong x_off,
                             global const float *prm, ulong prm_off, uint N, uint C, ulong V) {
    ulong i = get_global_id(0);
    if (i >= (ulong)N * C * V) return;
    uint n = (uint)(i / ((ulong)C * V));
    uint c = (uint)((i / V) % C);
    global const float *p = prm + prm_off + (ulong)n * PB;
    if (p[P_APPLIED] == 0.0f || p[P_CH + 4 * c] == 0.0f) return;
    x[x_off + i] = z[z_off + 2 * i] * (1.0f / (float)V);
}
