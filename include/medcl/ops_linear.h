/* medcl/ops_linear.h — the fully connected layer y = x W^T + b (torch.nn.Linear) on CLBlast
 * SGEMM: forward, backward-data, backward-weight (+=) and the bias gradient (+=, a fixed-order
 * reduction). x is (N, IN) or any rank whose extents after the first multiply to IN (a
 * flattened feature map). Not here: 1x1 convolution (conv), weight initialization (nn). */
#ifndef MEDCL_OPS_LINEAR_H
#define MEDCL_OPS_LINEAR_H

#include "medcl/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = x W^T + b (b may be NULL: no bias). */
MEDCL_API medcl_status medcl_linear_forward(const medcl_tensor *x /* (N, IN) */,
                                            const medcl_tensor *w /* (OUT, IN) */,
                                            const medcl_tensor *b /* (OUT) or NULL */,
                                            medcl_tensor *y /* (N, OUT) */);
/* dx = dy W (assigned). */
MEDCL_API medcl_status medcl_linear_backward_data(const medcl_tensor *dy /* (N, OUT) */,
                                                  const medcl_tensor *w /* (OUT, IN) */,
                                                  medcl_tensor *dx /* (N, IN) */);
/* dw += dy^T x; db += sum_n dy (db may be NULL). */
MEDCL_API medcl_status medcl_linear_backward_weight(const medcl_tensor *x /* (N, IN) */,
                                                    const medcl_tensor *dy /* (N, OUT) */,
                                                    medcl_tensor *dw /* (OUT, IN), += */,
                                                    medcl_tensor *db /* (OUT), +=, or NULL */);

#ifdef __cplusplus
}
#endif
#endif
