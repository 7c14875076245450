/* src/eval/protocol_internal.h — what the report files of the evaluation protocol share
 * (protocol_report.c writes report.md and the figures, protocol_json.c builds report.json).
 * Not installed. */
#ifndef MEDCL_EVAL_PROTOCOL_INTERNAL_H
#define MEDCL_EVAL_PROTOCOL_INTERNAL_H

#include "core/internal.h"
#include "medcl/protocol.h"

struct cJSON;

#define MEDCL_REPORT_MAX_FIGURES 1024

/* Name of class k for the report ("class <k>" without names). */
const char *medcl_protocol_class_name(const medcl_eval_run_info *info, int32_t k, char *buf, size_t cap);
/* Label of a metric for people: "Dice", "HD95 (mm)", "NSD@1mm". */
const char *medcl_protocol_metric_label(const medcl_eval_options *o, medcl_eval_metric m, char *buf, size_t cap);

/* The whole report.json document. figures: the file names written (may be NULL/0);
 * kernel_hash NULL when there is no context. */
medcl_status medcl_protocol_json(const medcl_eval_run_info *info, const medcl_eval_results *results,
                                 const medcl_eval_sweep_result *const *sweeps, int num_sweeps,
                                 const char *const *figures, int num_figures, const char *kernel_hash,
                                 struct cJSON **out);

#endif
