/* medcl/medcl.h — the umbrella header: every public layer of medcl. */
#ifndef MEDCL_H
#define MEDCL_H

#include "medcl/core.h"
#include "medcl/runtime.h"
#include "medcl/tensor.h"
#include "medcl/ops.h"
#include "medcl/graph.h"
#include "medcl/nn.h"
#include "medcl/continual.h"
#include "medcl/transfer.h"
#include "medcl/data_io.h"
#include "medcl/data.h"
#include "medcl/metrics.h"
#include "medcl/sample_data.h"
#include "medcl/augment.h"
#include "medcl/eval_variants.h"
#include "medcl/infer.h"
#include "medcl/report.h"
#include "medcl/protocol.h"

#endif
