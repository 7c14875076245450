//! requires: index
// cl/concat.cl — channel-block copies for concat and slice along channels (axis 1 of
// (N, C, S), S = D*H*W), forward and backward. One work-item per copied element.
#pragma OPENCL FP_CONTRACT OFF

// dst[:, cd0 : cd0 + cc] = (or +=) src[:, cs0 : cs0 + cc]; src is (N, cs, S), dst (N, cd, S).
kernel void chan_copy(global const float *src, ulong src_off, global float *dst, ulong dst_off,
                      ulong N, ulong cs, ulong cs0, ulong cd, ulong cd0, ulong cc, ulong S,
                      int accumulate) {
    ulong i = get_global_id(0);
    ulong block = cc * S;
    if (i >= N * block) return;
    ulong n = qdiv(i, block), r = i - n * block;
    ulong c = qdiv(r, S), s = r - c * S;
    float v = src[src_off + (n * cs + cs0 + c) * S + s];
    ulong o = dst_off + (n * cd + cd0 + c) * S + s;
    dst[o] = accumulate ? dst[o] + v : v;
}

// Slice backward that writes all of dx (N, C, S): dy (N, cy, S) inside [start, start + cy),
// zero elsewhere.
kernel void slice_bwd(global const float *dy, ulong dy_off, global float *dx, ulong dx_off,
                      ulong N, ulong C, ulong start, ulong cy, ulong S) {
    ulong i = get_global_id(0);
    if (i >= N * C * S) return;
    ulong n = qdiv(i, C * S), r = i - n * C * S;
    ulong c = qdiv(r, S), s = r - c * S;
    dx[dx_off + i] = (c >= start && c < start + cy) ? dy[dy_off + (n * cy + c - start) * S + s]
                                                    : 0.0f;
}
