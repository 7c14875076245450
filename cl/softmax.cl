//! requires: index
// cl/softmax.cl — softmax and log-softmax over channels of (N, C, S) (S = D*H*W), forward and
// backward. One work-item per (n, s) walks its C channels (stride S) in order: max, then the
// sum of exp(x - max), then the outputs; no reduction across work-items, so results do not
// depend on the launch. Not here: losses built on softmax (loss.cl).
#pragma OPENCL FP_CONTRACT OFF

kernel void softmax_fwd(global const float *x, ulong x_off, global float *y, ulong y_off,
                        ulong N, ulong C, ulong S, int log_out) {
    ulong j = get_global_id(0);
    if (j >= N * S) return;
    ulong base = qdiv(j, S) * C * S + qmod(j, S);
    global const float *xp = x + x_off + base;
    global float *yp = y + y_off + base;
    float m = xp[0];
    for (ulong c = 1; c < C; c++) {
        float v = xp[c * S];
        m = (v > m || v != v) ? v : m;
    }
    float sum = 0.0f;
    for (ulong c = 0; c < C; c++) sum += exp(xp[c * S] - m);
    if (log_out) {
        float ls = log(sum);
        for (ulong c = 0; c < C; c++) yp[c * S] = (xp[c * S] - m) - ls;
    } else {
        for (ulong c = 0; c < C; c++) yp[c * S] = exp(xp[c * S] - m) / sum;
    }
}

// softmax: dx = y (dy - sum_c dy y); log-softmax: dx = dy - exp(y) sum_c dy. dx may alias dy.
kernel void softmax_bwd(global const float *y, ulong y_off, global const float *dy, ulong dy_off,
                        global float *dx, ulong dx_off, ulong N, ulong C, ulong S, int log_out) {
    ulong j = get_global_id(0);
    if (j >= N * S) return;
    ulong base = qdiv(j, S) * C * S + qmod(j, S);
    global const float *yp = y + y_off + base;
    global const float *gp = dy + dy_off + base;
    global float *dp = dx + dx_off + base;
    float acc = 0.0f;
    if (log_out) {
        for (ulong c = 0; c < C; c++) acc += gp[c * S];
        for (ulong c = 0; c < C; c++) dp[c * S] = gp[c * S] - exp(yp[c * S]) * acc;
    } else {
        for (ulong c = 0; c < C; c++) acc += gp[c * S] * yp[c * S];
        for (ulong c = 0; c < C; c++) dp[c * S] = yp[c * S] * (gp[c * S] - acc);
    }
}
