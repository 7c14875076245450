/* tests/test_op_conv_transpose.c — transposed convolution forward (bias, activation),
 * backward-data and backward-weight (+ bias) against the float64 reference scatter form, both
 * tiers; shapes: nnU-Net's 2x2x2 stride-2 up-sampling, stride 2 with output padding, stride 3,
 * dilation with groups, depthwise, 1x1 (CLBlast path), anisotropic 3D, stride > kernel
 * (output phases with no taps get act(bias)), anisotropic stride with dilation; finite differences of
 * the reference backward; bad shapes. The case runner comes from tests/test_op_conv.c. */
#define CONV_TEST_NO_MAIN
#include "test_op_conv.c"

#define K3(a, b, c) {a, b, c}
static const conv_case tcases[] = {
    /* name                nd  N Cin Cout D  H  W   kernel      stride      pad         dil         out pad     g bias act */
    {"3d k2 s2 upsample",   5, 2, 8, 4, 4, 5, 3,   K3(2, 2, 2), K3(2, 2, 2), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    {"2d k3 s2 p1 op1",     4, 2, 6, 4, 1, 7, 6,   K3(1, 3, 3), K3(1, 2, 2), K3(0, 1, 1), K3(1, 1, 1), K3(0, 1, 1), 1, 1, MEDCL_ACT_RELU},
    {"2d k5 s3 op2",        4, 1, 3, 5, 1, 5, 4,   K3(1, 5, 5), K3(1, 3, 3), K3(0, 1, 2), K3(1, 1, 1), K3(0, 2, 1), 1, 0, MEDCL_ACT_NONE},
    {"2d dil 2 groups 2",   4, 1, 4, 6, 1, 9, 8,   K3(1, 3, 3), K3(1, 1, 1), K3(0, 2, 1), K3(1, 2, 2), K3(0, 0, 0), 2, 1, MEDCL_ACT_LEAKY_RELU},
    {"2d depthwise s2",     4, 2, 5, 5, 1, 6, 7,   K3(1, 3, 3), K3(1, 2, 2), K3(0, 1, 1), K3(1, 1, 1), K3(0, 1, 0), 5, 1, MEDCL_ACT_NONE},
    {"2d 1x1 clblast",      4, 2, 8, 5, 1, 6, 7,   K3(1, 1, 1), K3(1, 1, 1), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_RELU},
    {"3d 1x2x2 s(1,2,2)",   5, 2, 6, 3, 3, 4, 5,   K3(1, 2, 2), K3(1, 2, 2), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    {"3d k3 s2 p1 op1 13",  5, 1, 4, 3, 4, 6, 5,   K3(3, 3, 3), K3(2, 2, 2), K3(1, 1, 1), K3(1, 1, 1), K3(1, 0, 1), 1, 0, MEDCL_ACT_NONE},
    {"2d 70->40 tiles",     4, 1, 70, 40, 1, 6, 5, K3(1, 2, 2), K3(1, 2, 2), K3(0, 0, 0), K3(1, 1, 1), K3(0, 0, 0), 1, 1, MEDCL_ACT_NONE},
    /* stride > kernel: 3 of 4 output phases get no taps, only act(bias) */
    {"2d k1 s2 op1 bias",   4, 2, 4, 3, 1, 5, 6,   K3(1, 1, 1), K3(1, 2, 2), K3(0, 0, 0), K3(1, 1, 1), K3(0, 1, 1), 1, 1, MEDCL_ACT_LEAKY_RELU},
    {"3d s(1,2,2) dil 2",   5, 1, 3, 5, 3, 5, 4,   K3(3, 3, 3), K3(1, 2, 2), K3(1, 1, 2), K3(1, 2, 1), K3(0, 1, 1), 1, 1, MEDCL_ACT_NONE},
};

static void test_conv_transpose_cases(void **state) {
    (void)state;
    run_cases(tcases, sizeof tcases / sizeof tcases[0], 1);
}

static void test_conv_transpose_finite_differences(void **state) {
    (void)state;
    /* the convolution whose transpose is checked: input = the transposed op's output */
    ref_conv a = {.N = 2, .Cin = 3, .Cout = 2, .Di = 6, .Hi = 5, .Wi = 4, .k = {2, 3, 2}, .s = {2, 2, 1},
                  .p = {0, 1, 1}, .dil = {1, 1, 2}, .groups = 1};
    ref_conv b = {.N = 1, .Cin = 4, .Cout = 6, .Di = 1, .Hi = 8, .Wi = 9, .k = {1, 3, 3}, .s = {1, 2, 2},
                  .p = {0, 1, 1}, .dil = {1, 1, 1}, .groups = 2};
    fd_check(&a, 1, tu_seed() + 21);
    fd_check(&b, 1, tu_seed() + 22);
}

static void test_conv_transpose_bad_input(void **state) {
    (void)state;
    medcl_conv_params p = MEDCL_CONV_PARAMS_INIT;
    p.kernel[1] = p.kernel[2] = 2;
    p.stride[1] = p.stride[2] = 2;
    int64_t xs[4] = {2, 6, 5, 4}, ws[4] = {6, 3, 2, 2}, ys[4] = {2, 3, 10, 8}, bad_y[4] = {2, 3, 10, 9};
    int64_t bad_w[4] = {3, 6, 2, 2};
    medcl_tensor *x = td_tensor(4, xs, NULL, "low"), *w = td_tensor(4, ws, NULL, "up_w");
    medcl_tensor *y = td_tensor(4, ys, NULL, "high"), *yb = td_tensor(4, bad_y, NULL, "odd");
    medcl_tensor *wb = td_tensor(4, bad_w, NULL, "swapped");
    expect_error(medcl_conv_transpose_forward(x, w, NULL, yb, &p), MEDCL_ERR_SHAPE, "odd", "W = 9");
    expect_error(medcl_conv_transpose_forward(x, wb, NULL, y, &p), MEDCL_ERR_SHAPE, "swapped", "dim 0");
    medcl_conv_params q = p;
    q.output_pad[2] = 2;
    expect_error(medcl_conv_transpose_forward(x, w, NULL, y, &q), MEDCL_ERR_INVALID_ARG, "output_pad[2]", NULL);
    expect_error(medcl_conv_transpose_backward_data(yb, w, x, &p), MEDCL_ERR_SHAPE, "odd", NULL);
    expect_error(medcl_conv_transpose_backward_weight(x, y, NULL, NULL, &p), MEDCL_ERR_INVALID_ARG, "w", "NULL");
    int64_t out[4];
    q = p;
    q.output_pad[2] = 1;
    assert_int_equal(medcl_conv_transpose_output_shape(&q, 4, xs, 3, out), MEDCL_OK);
    assert_int_equal(out[2], 10);
    assert_int_equal(out[3], 9);
    medcl_tensor *ts[] = {x, w, y, yb, wb};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) medcl_tensor_destroy(ts[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_transpose_cases),
        cmocka_unit_test(test_conv_transpose_finite_differences),
        cmocka_unit_test(test_conv_transpose_bad_input),
    };
    return cmocka_run_group_tests(tests, td_group_setup, td_group_teardown);
}
