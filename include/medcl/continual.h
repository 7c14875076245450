/* medcl/continual.h — adversarial examples and continual-learning terms for training:
 *   - FGSM and PGD perturbations of a compiled graph's input (L∞ ball, Philox random start)
 *     and the mixed clean/adversarial backward for adversarial training;
 *   - EWC: diagonal Fisher from squared gradients, anchor weights, the quadratic penalty and
 *     its gradient, as device kernels; state as named tensors for checkpoints;
 *   - LwF: temperature-scaled distillation loss (forward and backward) between student and
 *     teacher logits, on the device, and its in-graph form;
 *   - experience replay: a seeded, deterministic selection of earlier domains' case indices,
 *     serialized to and from JSON.
 * Definitions follow docs/REFERENCE.md (Lifelong-nnU-Net, González et al. 2023; Goodfellow
 * et al. 2015 for FGSM; Madry et al. 2018 for PGD; Kirkpatrick et al. 2017 for EWC; Li &
 * Hoiem 2017 for LwF). Every reduction runs in a fixed order (bitwise reproducible on one
 * device); no atomics.
 *
 * One training step with every term (medcl_train_step cannot host them; spell it out):
 *   upload image and label;                      // student graph g, optimizer o
 *   if (lwf) { upload image to the teacher graph; medcl_graph_forward(teacher);
 *              medcl_lwf_teacher_probs(teacher_logits, &lp, medcl_graph_tensor(g, q)); }
 *   if (adv) medcl_adversary_train_backward(a, step);          // zero_grad + both passes
 *   else     { medcl_graph_zero_grad(g); medcl_graph_forward(g); medcl_graph_backward(g, 1); }
 *   if (ewc) medcl_ewc_add_grad(e, 1.0f);                      // penalty gradient (+=)
 *   medcl_optim_step(o, lr);
 * with the LwF term built into g's loss by medcl_lwf_graph_loss (so both passes include it).
 *
 * Leaves out: the training loop and the config parser (cli), data loading of replayed cases
 * (data), evaluation protocols and transfer metrics (eval, medcl/transfer.h). */
#ifndef MEDCL_CONTINUAL_H
#define MEDCL_CONTINUAL_H

#include "medcl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================== adversarial ====================================== */
typedef enum medcl_adv_method {
    MEDCL_ADV_NONE = 0,
    MEDCL_ADV_FGSM = 1, /* x' = clip(x + eps sign(grad_x L)) (Goodfellow et al. 2015) */
    MEDCL_ADV_PGD = 2,  /* steps of size alpha, each projected onto the eps-ball around x (Madry
                         * et al. 2018), optional uniform random start in the ball */
    MEDCL_ADV_METHOD_COUNT
} medcl_adv_method;

/* sign(0) = 0 (torch.sign): an element whose gradient is exactly 0 is not moved. Clipping to
 * [lo, hi] (the valid intensity range) is applied after the projection when clip is true; with
 * z-scored intensities there is usually no such range, hence off by default. */
typedef struct medcl_adv_config {
    size_t size;              /* sizeof(medcl_adv_config) */
    medcl_adv_method method;
    float epsilon;            /* L∞ radius in normalized intensity units, > 0 */
    float alpha;              /* PGD step; 0 means 2.5 * epsilon / steps (Madry et al.) */
    int steps;                /* PGD steps >= 1 (FGSM: one step of size epsilon) */
    bool random_start;        /* PGD: start at clip(x + U(-eps, eps]) */
    bool clip;                /* clip to [lo, hi] */
    float lo, hi;
    float weight;             /* adversarial training: L = (1 - weight) L(x) + weight L(x') */
    uint64_t seed;            /* random start: Philox (seed, stream 0x4144, c2 = step, c3 = 0) */
} medcl_adv_config;
#define MEDCL_ADV_CONFIG_INIT                                                              \
    {sizeof(medcl_adv_config), MEDCL_ADV_FGSM, 0.05f, 0.0f, 10, true, false, 0.0f, 1.0f, 0.5f, 0}

MEDCL_API const char *medcl_adv_method_str(medcl_adv_method m);
/* Checks the fields (size, method, epsilon > 0 and finite, steps >= 1, alpha >= 0, lo < hi
 * when clip, weight in [0, 1]); names the field and value. */
MEDCL_API medcl_status medcl_adv_config_check(const medcl_adv_config *c);
/* The loss scales of the mixed objective: clean = 1 - weight, adv = weight (0.5 each by
 * default); NONE gives clean = 1, adv = 0. */
MEDCL_API void medcl_adv_loss_weights(const medcl_adv_config *c, float *clean, float *adv);

/* One projected sign step, the kernel of both attacks (all tensors of the same element count):
 * out = clip(min(max(x + alpha sign(grad), x0 - eps), x0 + eps), lo, hi). out may alias x. */
typedef struct medcl_adv_step_params {
    size_t size;              /* sizeof(medcl_adv_step_params) */
    float epsilon, alpha;
    bool clip;
    float lo, hi;
} medcl_adv_step_params;
#define MEDCL_ADV_STEP_PARAMS_INIT {sizeof(medcl_adv_step_params), 0.05f, 0.05f, false, 0.0f, 1.0f}
MEDCL_API medcl_status medcl_adv_step(const medcl_adv_step_params *p, const medcl_tensor *x0,
                                      const medcl_tensor *x, const medcl_tensor *grad,
                                      medcl_tensor *out);

/* An attacker bound to one input of a compiled training graph on which
 * medcl_graph_input_requires_grad was called (d loss / d input is what it follows). */
typedef struct medcl_adversary medcl_adversary;
MEDCL_API medcl_status medcl_adversary_create(medcl_graph *g, medcl_node input,
                                              const medcl_adv_config *c, medcl_adversary **out);
MEDCL_API void medcl_adversary_destroy(medcl_adversary *a);
MEDCL_API const medcl_adv_config *medcl_adversary_config(const medcl_adversary *a);

/* Robustness evaluation and the crafting half of training. Before: the graph input holds the
 * clean batch (and the other inputs, e.g. labels, are set). After: the graph input holds x',
 * the clean batch is kept in medcl_adversary_clean(a), and the graph's value tensors hold the
 * forward of the last crafting step (not of x': run medcl_graph_forward for logits on x').
 * Runs `steps` forward/backward passes (FGSM: 1), which add to the parameter gradients and
 * loss sum: call medcl_graph_zero_grad before training on anything. step (the training step
 * or batch index) keys the random start. Enqueue only. */
MEDCL_API medcl_status medcl_adversary_perturb(medcl_adversary *a, uint32_t step);
/* The clean batch saved by the last perturb / train_backward (same shape as the input). */
MEDCL_API medcl_tensor *medcl_adversary_clean(const medcl_adversary *a);
/* Puts the saved clean batch back into the graph input. */
MEDCL_API medcl_status medcl_adversary_restore(medcl_adversary *a);

/* Adversarial training, everything before the optimizer step. Before: graph input = clean
 * batch. Does zero_grad, then gradients of (1 - w) L(x) + w L(x'): FGSM reuses the clean
 * pass's input gradient (sign is invariant to the positive scale 1 - w) so it costs two
 * forward/backward passes; PGD crafts first (steps passes), zero_grads, then runs the clean and
 * adversarial passes. Method NONE: one clean pass at scale 1. After: parameter gradients and
 * medcl_graph_loss_sum hold the mixed objective, graph input = x'. Add other terms (EWC) and
 * call medcl_optim_step. */
MEDCL_API medcl_status medcl_adversary_train_backward(medcl_adversary *a, uint32_t step);

/* ========================================== EWC ========================================== */
/* Elastic weight consolidation (Kirkpatrick et al. 2017; Lifelong-nnU-Net):
 *   penalty = lambda/2 * sum_i F_i (theta_i - theta*_i)^2,  d penalty/d theta_i = lambda F_i (theta_i - theta*_i),
 * F_i = mean over the batches of the previous domain of g_i^2 (g: the parameter gradient of
 * one batch, as left by medcl_graph_backward), theta* the weights at the end of that domain.
 * online = true keeps one running Fisher over all earlier domains (F += F_new, anchors moved to
 * the latest weights: "online EWC" with gamma = 1); false replaces F by the latest domain's. */
typedef struct medcl_ewc_config {
    size_t size;              /* sizeof(medcl_ewc_config) */
    double lambda;            /* 0.4 (Lifelong-nnU-Net) */
    bool online;
} medcl_ewc_config;
#define MEDCL_EWC_CONFIG_INIT {sizeof(medcl_ewc_config), 0.4, false}

typedef struct medcl_ewc medcl_ewc;
/* For every trainable parameter of a compiled training graph: Fisher, anchor and accumulator
 * tensors (zero); inactive (penalty 0, add_grad a no-op) until the first consolidate or load. */
MEDCL_API medcl_status medcl_ewc_create(medcl_graph *g, const medcl_ewc_config *c, medcl_ewc **out);
MEDCL_API void medcl_ewc_destroy(medcl_ewc *e);
MEDCL_API bool medcl_ewc_active(const medcl_ewc *e);
MEDCL_API medcl_status medcl_ewc_set_lambda(medcl_ewc *e, double lambda);

/* Fisher estimation over the previous domain:
 *   medcl_ewc_fisher_begin(e);
 *   for each batch: zero_grad, forward, backward(1), medcl_ewc_fisher_accumulate(e);
 *   medcl_ewc_consolidate(e);   // F = acc / batches (or F += ..), anchors = current weights */
MEDCL_API medcl_status medcl_ewc_fisher_begin(medcl_ewc *e);
MEDCL_API medcl_status medcl_ewc_fisher_accumulate(medcl_ewc *e);
MEDCL_API int64_t medcl_ewc_fisher_batches(const medcl_ewc *e);
MEDCL_API medcl_status medcl_ewc_consolidate(medcl_ewc *e);

/* The penalty into a one-element f32 tensor (terms F (theta - theta*)^2 per parameter, then a
 * fixed-order sum, then times lambda/2); 0 when inactive. Enqueue only. */
MEDCL_API medcl_status medcl_ewc_penalty(medcl_ewc *e, medcl_tensor *out /* (1) */);
/* grad_i += scale * lambda * F_i (theta_i - theta*_i) for every parameter (after backward,
 * before medcl_optim_step; scale is the loss scale, 1 normally). No-op when inactive. */
MEDCL_API medcl_status medcl_ewc_add_grad(medcl_ewc *e, float scale);

/* State for checkpoints: 2 tensors per parameter, "ewc.fisher.<param>" and
 * "ewc.anchor.<param>", in parameter order. Count is 0 while inactive. */
MEDCL_API int medcl_ewc_state_count(const medcl_ewc *e);
MEDCL_API medcl_status medcl_ewc_state_at(const medcl_ewc *e, int i, const char **name,
                                          medcl_tensor **t);
/* Loads every ewc.* tensor of a parameter from a safetensors file (all must be present with
 * the parameter's element count; else MEDCL_ERR_FORMAT listing them, nothing changed) and
 * activates. */
MEDCL_API medcl_status medcl_ewc_load_state(medcl_ewc *e, const medcl_safetensors *f);
/* The state as its own safetensors file (written atomically; metadata medcl.ewc.lambda and
 * medcl.ewc.batches), and back. medcl_checkpoint_load rejects tensors it does not know, so
 * until checkpoints carry extra tensors the EWC state lives next to the checkpoint. Saving an
 * inactive state is MEDCL_ERR_STATE. */
MEDCL_API medcl_status medcl_ewc_save(const medcl_ewc *e, const char *path);
MEDCL_API medcl_status medcl_ewc_load(medcl_ewc *e, const char *path);

/* ========================================== LwF ========================================== */
/* Learning without forgetting (Li & Hoiem 2017; Hinton et al. 2015 for the T^2 factor):
 *   L = T^2 / V * sum_v sum_c q_vc (log q_vc - log p_vc),
 *   q = softmax(teacher / T), p = softmax(student / T) over the channel axis, V = N*D*H*W the
 *   number of voxels (N for (N, C) classification logits): KL(q || p) summed over classes and
 *   averaged over voxels (PyTorch: T*T * kl_div(log p, q, reduction="sum") / V).
 *   dL/d student_vc = T / V * (p_vc - q_vc), times dloss.
 * The teacher is frozen: a second compiled graph of the previous model (inference compile) or a
 * stored forward output; no gradient flows into it. */
typedef struct medcl_lwf_params {
    size_t size;              /* sizeof(medcl_lwf_params) */
    float temperature;        /* T > 0; 2 (Lifelong-nnU-Net) */
} medcl_lwf_params;
#define MEDCL_LWF_PARAMS_INIT {sizeof(medcl_lwf_params), 2.0f}

MEDCL_API medcl_status medcl_lwf_loss_forward(const medcl_tensor *student /* (N, C, ...) */,
                                              const medcl_tensor *teacher /* (N, C, ...) */,
                                              const medcl_lwf_params *p,
                                              medcl_tensor *loss /* (1) */);
/* dstudent assigned; dloss (1) or NULL for 1. */
MEDCL_API medcl_status medcl_lwf_loss_backward(const medcl_tensor *student /* (N, C, ...) */,
                                               const medcl_tensor *teacher /* (N, C, ...) */,
                                               const medcl_lwf_params *p,
                                               const medcl_tensor *dloss /* (1) or NULL */,
                                               medcl_tensor *dstudent /* (N, C, ...) */);
/* q = softmax(teacher / T) over channels, for the in-graph form below. */
MEDCL_API medcl_status medcl_lwf_teacher_probs(const medcl_tensor *teacher /* (N, C, ...) */,
                                               const medcl_lwf_params *p,
                                               medcl_tensor *probs /* (N, C, ...) */);
/* The in-graph form: weight * T^2 * CE_soft(student / T, q) with q an f32 input node of the
 * student logits' shape (fill it with medcl_lwf_teacher_probs each step). Its gradient equals
 * weight * dL/d student above; its value is weight * (L + T^2 * mean_v H(q_v)) (the teacher's
 * entropy, constant in the student). Returns the loss node (add it to the task loss). */
MEDCL_API medcl_node medcl_lwf_graph_loss(medcl_graph *g, medcl_node student_logits,
                                          medcl_node teacher_probs, const medcl_lwf_params *p,
                                          float weight);

/* ======================================== replay ========================================= */
/* Experience replay (rehearsal): of each earlier domain with n cases, k = round(fraction * n)
 * case indices are kept (at least min(min_per_domain, n)). Selection: case i gets the key
 * philox_at(seed, stream = lo32(hash64(domain name)), 0, 0, i); the k smallest keys (ties by
 * index) are kept, listed ascending. Same seed → same indices on every machine; a domain's
 * selection does not depend on the order in which domains are added. */
typedef struct medcl_replay_config {
    size_t size;              /* sizeof(medcl_replay_config) */
    double fraction;          /* in [0, 1]; 0.25 (Lifelong-nnU-Net) */
    uint64_t seed;
    int64_t min_per_domain;   /* 1 */
} medcl_replay_config;
#define MEDCL_REPLAY_CONFIG_INIT {sizeof(medcl_replay_config), 0.25, 0, 1}

typedef struct medcl_replay medcl_replay;
MEDCL_API medcl_status medcl_replay_create(const medcl_replay_config *c, medcl_replay **out);
MEDCL_API void medcl_replay_destroy(medcl_replay *r);
MEDCL_API const medcl_replay_config *medcl_replay_get_config(const medcl_replay *r);
/* Adds a finished domain of num_cases cases (indices 0..num_cases-1 in the caller's case order);
 * names are unique. */
MEDCL_API medcl_status medcl_replay_add_domain(medcl_replay *r, const char *domain,
                                               int64_t num_cases);
MEDCL_API int medcl_replay_domain_count(const medcl_replay *r);
/* Domain d (in the order added): name, its case count and its kept indices (ascending). */
MEDCL_API const char *medcl_replay_domain_name(const medcl_replay *r, int d);
MEDCL_API int64_t medcl_replay_domain_cases(const medcl_replay *r, int d);
MEDCL_API int64_t medcl_replay_domain_kept(const medcl_replay *r, int d);
MEDCL_API const int64_t *medcl_replay_domain_indices(const medcl_replay *r, int d);
/* Position of a domain by name, or -1. */
MEDCL_API int medcl_replay_find(const medcl_replay *r, const char *domain);
/* Kept cases over all domains, and entry k of the buffer (domains in order, indices ascending). */
MEDCL_API int64_t medcl_replay_total(const medcl_replay *r);
MEDCL_API medcl_status medcl_replay_entry(const medcl_replay *r, int64_t k, int *domain,
                                          int64_t *case_index);

/* JSON for checkpoints (malloc'd text):
 * {"format":"medcl.replay","version":1,"fraction":f,"seed":"<decimal u64>","min_per_domain":m,
 *  "domains":[{"name":s,"cases":n,"kept":[i,...]},...]} */
MEDCL_API medcl_status medcl_replay_to_json(const medcl_replay *r, char **out);
/* Parses and validates (unknown keys, missing fields, indices out of range, not ascending or
 * duplicated → MEDCL_ERR_FORMAT with the JSON path). */
MEDCL_API medcl_status medcl_replay_from_json(const char *json, medcl_replay **out);

#ifdef __cplusplus
}
#endif
#endif
