/* medcl/eval_variants.h — the complete list of kernel program variants of the library on a
 * device (ops and every layer above), for kernel bundles. */
#ifndef MEDCL_EVAL_VARIANTS_H
#define MEDCL_EVAL_VARIANTS_H

#include "medcl/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* *out is one malloc'd block (array and strings): free(*out). */
MEDCL_API medcl_status medcl_library_variants(medcl_context *ctx, medcl_program_variant **out,
                                              int *count);

#ifdef __cplusplus
}
#endif
#endif
