/* src/cli/cli_eval.h — the model-evaluation helpers of cli_eval.c shared with cli_demo.c:
 * open a checkpoint as a predictor, describe it, print results. */
#ifndef MEDCL_CLI_EVAL_H
#define MEDCL_CLI_EVAL_H

#include "cli/config.h"
#include "medcl/medcl.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct cli_eval_model cli_eval_model;
medcl_status cli_eval_model_open(const char *ckpt, const char *device, int batch, cli_eval_model **out);
void cli_eval_model_close(cli_eval_model *m);
medcl_context *cli_eval_model_context(const cli_eval_model *m);
const cli_config *cli_eval_model_config(const cli_eval_model *m);
const char *cli_eval_model_json(const cli_eval_model *m);
int64_t cli_eval_model_params(const cli_eval_model *m);
void cli_eval_model_infer(const cli_eval_model *m, medcl_infer_options *io);
medcl_status cli_eval_predict(void *user, const medcl_tensor *patch_batch, medcl_tensor *logits);
medcl_status cli_eval_curves_load(const char *csv, medcl_chart_series series[2], int *num, double **storage);
void cli_eval_model_describe(const cli_config *c, char *buf, size_t cap, char *train, size_t tcap);
void cli_eval_print(FILE *f, const medcl_eval_results *r, const medcl_eval_sweep_result *const *sw, int nsw,
                    bool json, const char *report_dir);

#endif
