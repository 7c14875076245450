/* medcl/medcl_cl.h — OpenCL interop: the only public header that exposes OpenCL types.
 * Lets an application share medcl's context, queue and tensor buffers with its own kernels. */
#ifndef MEDCL_CL_H
#define MEDCL_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include "medcl/runtime.h"
#include "medcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

MEDCL_API cl_context medcl_context_cl_context(const medcl_context *ctx);
MEDCL_API cl_device_id medcl_context_cl_device(const medcl_context *ctx);
MEDCL_API cl_command_queue medcl_context_cl_queue(const medcl_context *ctx);
MEDCL_API cl_command_queue medcl_context_cl_transfer_queue(const medcl_context *ctx);
/* The tensor's buffer and its offset in bytes within that buffer (views share buffers). */
MEDCL_API cl_mem medcl_tensor_cl_mem(const medcl_tensor *t);
MEDCL_API size_t medcl_tensor_cl_offset(const medcl_tensor *t);
/* Name of an OpenCL error code, e.g. "CL_OUT_OF_RESOURCES". */
MEDCL_API const char *medcl_cl_error_name(cl_int err);

#ifdef __cplusplus
}
#endif
#endif
