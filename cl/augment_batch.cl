//! requires: augment_block
// cl/augment_batch.cl — batch-level mixing: mixup (convex combination of two samples and of
// their one-hot labels) and cutmix (a box taken from the partner sample), writing images and
// (N, K, D, H, W) soft labels. Per-sample partner, lambda and box come from the host.
#pragma OPENCL FP_CONTRACT OFF

// One work-item per (n, voxel); mode 0 mixup, 1 cutmix.
kernel void aug_mix(global const float *x, ulong x_off, global const float *l, ulong l_off,
                    global float *y, ulong y_off, global float *s, ulong s_off,
                    global const float *prm, ulong prm_off, uint N, uint C, uint K, uint D,
                    uint H, uint W, int mode) {
    ulong V = (ulong)D * H * W;
    ulong i = get_global_id(0);
    if (i >= (ulong)N * V) return;
    uint n = (uint)(i / V);
    ulong v = i % V;
    global const float *p = prm + prm_off + (ulong)n * PB;
    uint m = (uint)p[1];
    float lam = p[2], mu = 1.0f - lam;
    float la = l[l_off + (ulong)n * V + v], lb = l[l_off + (ulong)m * V + v];
    bool from_b = false;
    if (mode == 1 && p[0] != 0.0f) {
        float d = (float)(v / ((ulong)H * W)), h = (float)((v / W) % H), w = (float)(v % W);
        from_b = d >= p[3] && d < p[4] && h >= p[5] && h < p[6] && w >= p[7] && w < p[8];
    }
    for (uint c = 0; c < C; c++) {
        float a = x[x_off + ((ulong)n * C + c) * V + v], b = x[x_off + ((ulong)m * C + c) * V + v];
        float r;
        if (p[0] == 0.0f) r = a;
        else if (mode == 1) r = from_b ? b : a;
        else r = lam * a + mu * b;
        y[y_off + ((ulong)n * C + c) * V + v] = r;
    }
    for (uint k = 0; k < K; k++) {
        float fk = (float)k, r;
        if (p[0] == 0.0f) r = la == fk ? 1.0f : 0.0f;
        else if (mode == 1) r = (from_b ? lb : la) == fk ? 1.0f : 0.0f;
        else if (la == lb) r = la == fk ? 1.0f : 0.0f;
        else r = (la == fk ? lam : 0.0f) + (lb == fk ? mu : 0.0f);
        s[s_off + ((ulong)n * K + k) * V + v] = r;
    }
}
