// cl/preprocess.cl — resampling of volumes to a new grid (target spacing): linear for images,
// nearest for labels. x holds nc volumes (D, H, W), y holds nc volumes (Do, Ho, Wo), W fastest.
// Pixel centres are aligned: output index o along an axis of n_in → n_out maps to the source
// coordinate ((2o + 1) n_in - n_out) / (2 n_out), clamped to [0, n_in - 1]; its integer part
// is computed in integers, only the fraction goes through one float divide.
// Nearest uses floor(((2o + 1) n_in) / (2 n_out)) in integers: exact on every device.
#pragma OPENCL FP_CONTRACT OFF

// Integer part and fraction of the source coordinate: the integer part is exact and the
// fraction is 0 exactly whenever the coordinate is an integer (e.g. the identity), whatever
// the accuracy of the device's float divide.
inline long rs_coord(long o, long n, long no, float *f) {
    long num = (2 * o + 1) * n - no, den = 2 * no;
    *f = 0.0f;
    if (num <= 0) return 0;
    long q = num / den;
    if (q >= n - 1) return n - 1;
    *f = (float)(num - q * den) / (float)den;
    return q;
}

kernel void resample_linear(global const float *x, ulong x_off, global float *y, ulong y_off,
                            ulong nc, long D, long H, long W, long Do, long Ho, long Wo) {
    ulong gid = get_global_id(0);
    ulong per = (ulong)(Do * Ho * Wo);
    if (gid >= nc * per) return;
    ulong v = gid / per;
    long r = (long)(gid - v * per);
    long ow = r % Wo, oh = (r / Wo) % Ho, od = r / (Wo * Ho);
    float fd, fh, fw;
    long d0 = rs_coord(od, D, Do, &fd), h0 = rs_coord(oh, H, Ho, &fh), w0 = rs_coord(ow, W, Wo, &fw);
    long d1 = min(d0 + 1, D - 1), h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
    global const float *s = x + x_off + v * (ulong)(D * H * W);
    float v000 = s[(d0 * H + h0) * W + w0], v001 = s[(d0 * H + h0) * W + w1];
    float v010 = s[(d0 * H + h1) * W + w0], v011 = s[(d0 * H + h1) * W + w1];
    float v100 = s[(d1 * H + h0) * W + w0], v101 = s[(d1 * H + h0) * W + w1];
    float v110 = s[(d1 * H + h1) * W + w0], v111 = s[(d1 * H + h1) * W + w1];
    float a00 = v000 + fw * (v001 - v000), a01 = v010 + fw * (v011 - v010);
    float a10 = v100 + fw * (v101 - v100), a11 = v110 + fw * (v111 - v110);
    float b0 = a00 + fh * (a01 - a00), b1 = a10 + fh * (a11 - a10);
    y[y_off + gid] = b0 + fd * (b1 - b0);
}

kernel void resample_nearest(global const float *x, ulong x_off, global float *y, ulong y_off,
                             ulong nc, long D, long H, long W, long Do, long Ho, long Wo) {
    ulong gid = get_global_id(0);
    ulong per = (ulong)(Do * Ho * Wo);
    if (gid >= nc * per) return;
    ulong v = gid / per;
    long r = (long)(gid - v * per);
    long ow = r % Wo, oh = (r / Wo) % Ho, od = r / (Wo * Ho);
    long sd = min(((2 * od + 1) * D) / (2 * Do), D - 1);
    long sh = min(((2 * oh + 1) * H) / (2 * Ho), H - 1);
    long sw = min(((2 * ow + 1) * W) / (2 * Wo), W - 1);
    y[y_off + gid] = x[x_off + v * (ulong)(D * H * W) + (ulong)((sd * H + sh) * W + sw)];
}
