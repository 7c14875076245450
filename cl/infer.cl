// cl/infer.cl — sliding-window inference kernels: patch extraction from the device volume
// (zero padding, optional mirroring), weighted accumulation of one tile's logits (flipped
// back) into the volume accumulator and the weight sum, normalization, softmax and argmax
// over the class axis. Shapes: volume (C, D, H, W), patch batch (B, C, pD, pH, pW); 2D is
// D = pD = 1. Tile positions come from an int table (num_tiles, 3) in the padded frame; the
// original volume starts at (oD, oH, oW) in that frame. One tile is accumulated per launch,
// so overlapping tiles are added in a fixed order without atomics.
// Left out: the network itself (a host callback), Gaussian map construction (host).
#pragma OPENCL FP_CONTRACT OFF

// Flip mask bits: 1 = D, 2 = H, 4 = W.
inline int flip_idx(int i, int n, int flip) { return flip ? n - 1 - i : i; }

// patches[b, c, z, y, x] = vol[c, t + F(z, y, x) - o] (0 outside the volume), with tile
// t = tiles[tile_first + min(b, n_valid - 1)]. One work-item per patch element.
kernel void infer_extract(global const float *vol, ulong vol_off, int C, int D, int H, int W,
                          int oD, int oH, int oW, global const int *tiles, ulong tiles_off,
                          int tile_first, int n_valid, int B, int pD, int pH, int pW, int flip,
                          global float *patches, ulong patches_off) {
    ulong gid = get_global_id(0);
    ulong pvol = (ulong)pD * (ulong)pH * (ulong)pW;
    ulong total = (ulong)B * (ulong)C * pvol;
    if (gid >= total) return;
    ulong r = gid % pvol;
    ulong bc = gid / pvol;
    int c = (int)(bc % (ulong)C);
    int b = (int)(bc / (ulong)C);
    int x = (int)(r % (ulong)pW);
    int y = (int)((r / (ulong)pW) % (ulong)pH);
    int z = (int)(r / ((ulong)pW * (ulong)pH));
    int t = tile_first + min(b, n_valid - 1);
    global const int *tp = tiles + tiles_off + 3 * (ulong)t;
    int sz = tp[0] + flip_idx(z, pD, flip & 1) - oD;
    int sy = tp[1] + flip_idx(y, pH, flip & 2) - oH;
    int sx = tp[2] + flip_idx(x, pW, flip & 4) - oW;
    float v = 0.0f;
    if (sz >= 0 && sz < D && sy >= 0 && sy < H && sx >= 0 && sx < W)
        v = vol[vol_off + (((ulong)c * (ulong)D + (ulong)sz) * (ulong)H + (ulong)sy) * (ulong)W +
                (ulong)sx];
    patches[patches_off + gid] = v;
}

// For slot b of the logits batch (B, K, pD, pH, pW) holding tile t:
//   acc[k, p + t - o] += (w[p] * scale) * logits[b, k, F(p)]   for p inside the volume
//   wsum[p + t - o]   += w[p]                                    (when add_weight, k = 0)
// One work-item per (k, p); different work-items touch different elements.
kernel void infer_accumulate(global const float *logits, ulong logits_off, int b, int K,
                             int pD, int pH, int pW, int flip, global const float *w, ulong w_off,
                             float scale, global const int *tiles, ulong tiles_off, int t, int D,
                             int H, int W, int oD, int oH, int oW, global float *acc,
                             ulong acc_off, global float *wsum, ulong wsum_off, int add_weight) {
    ulong gid = get_global_id(0);
    ulong pvol = (ulong)pD * (ulong)pH * (ulong)pW;
    if (gid >= (ulong)K * pvol) return;
    ulong p = gid % pvol;
    int k = (int)(gid / pvol);
    int x = (int)(p % (ulong)pW);
    int y = (int)((p / (ulong)pW) % (ulong)pH);
    int z = (int)(p / ((ulong)pW * (ulong)pH));
    global const int *tp = tiles + tiles_off + 3 * (ulong)t;
    int vz = tp[0] + z - oD, vy = tp[1] + y - oH, vx = tp[2] + x - oW;
    if (vz < 0 || vz >= D || vy < 0 || vy >= H || vx < 0 || vx >= W) return;
    int fz = flip_idx(z, pD, flip & 1), fy = flip_idx(y, pH, flip & 2),
        fx = flip_idx(x, pW, flip & 4);
    ulong src = (((ulong)b * (ulong)K + (ulong)k) * (ulong)pD + (ulong)fz) * (ulong)pH;
    src = (src + (ulong)fy) * (ulong)pW + (ulong)fx;
    ulong vox = ((ulong)vz * (ulong)H + (ulong)vy) * (ulong)W + (ulong)vx;
    ulong vvol = (ulong)D * (ulong)H * (ulong)W;
    float wp = w[w_off + p];
    float ws = wp * scale;
    float contrib = ws * logits[logits_off + src];
    global float *a = acc + acc_off + (ulong)k * vvol + vox;
    *a = *a + contrib;
    if (add_weight && k == 0) {
        global float *s = wsum + wsum_off + vox;
        *s = *s + wp;
    }
}

// out[k, v] = acc[k, v] / wsum[v] over (K, V); out may be acc.
kernel void infer_normalize(global const float *acc, ulong acc_off, global const float *wsum,
                            ulong wsum_off, int K, ulong V, global float *out, ulong out_off) {
    ulong gid = get_global_id(0);
    if (gid >= (ulong)K * V) return;
    ulong v = gid % V;
    out[out_off + gid] = acc[acc_off + gid] / wsum[wsum_off + v];
}

// In place softmax over k of x (K, V): exp(x - max) / sum, summed in k order.
kernel void infer_softmax(global float *x, ulong x_off, int K, ulong V) {
    ulong v = get_global_id(0);
    if (v >= V) return;
    global float *p = x + x_off + v;
    float m = p[0];
    for (int k = 1; k < K; k++) m = fmax(m, p[(ulong)k * V]);
    float s = 0.0f;
    for (int k = 0; k < K; k++) {
        float e = exp(p[(ulong)k * V] - m);
        p[(ulong)k * V] = e;
        s = s + e;
    }
    for (int k = 0; k < K; k++) p[(ulong)k * V] = p[(ulong)k * V] / s;
}

// labels[v] = argmax_k acc[k, v] / wsum[v] (first maximum on ties).
kernel void infer_argmax(global const float *acc, ulong acc_off, global const float *wsum,
                         ulong wsum_off, int K, ulong V, global int *labels, ulong labels_off) {
    ulong v = get_global_id(0);
    if (v >= V) return;
    float ws = wsum[wsum_off + v];
    float best = acc[acc_off + v] / ws;
    int arg = 0;
    for (int k = 1; k < K; k++) {
        float q = acc[acc_off + (ulong)k * V + v] / ws;
        if (q > best) {
            best = q;
            arg = k;
        }
    }
    labels[labels_off + v] = arg;
}
