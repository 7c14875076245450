/* tests/ref/ref_broadcast.h — float64 references for add/mul with NumPy broadcasting and for
 * the fully connected layer (naive loops). Shapes align on the right; y has rank ry. */
#ifndef MEDCL_REF_BROADCAST_H
#define MEDCL_REF_BROADCAST_H
#include <stdint.h>

/* y = a + b (mul 0) or a * b (mul 1). */
void ref_broadcast_forward(int mul, const double *a, int ra, const int64_t *as, const double *b,
                           int rb, const int64_t *bs, double *y, int ry, const int64_t *ys);
/* da, db assigned (either may be NULL): sums of dy (add) or dy * other (mul) over the
 * broadcast axes. */
void ref_broadcast_backward(int mul, const double *a, int ra, const int64_t *as, const double *b,
                            int rb, const int64_t *bs, const double *dy, int ry, const int64_t *ys,
                            double *da, double *db);
#endif
