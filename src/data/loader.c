/* src/data/loader.c — background loading: worker threads (pthreads) cut batches of patches
 * into pinned staging buffers (CL_MEM_ALLOC_HOST_PTR, mapped once), a bounded prefetch queue
 * (a ring of prefetch + 1 slots: workers run at most `prefetch` batches ahead of the batch the
 * consumer holds), asynchronous uploads on the transfer queue into two device buffer pairs,
 * a stop flag polled by workers and the consumer (clean shutdown on error or interrupt), and
 * wait-time statistics.
 *
 * Determinism: batch g (epoch g / batches_per_epoch, index g % batches_per_epoch) depends only
 * on (seed, epoch, index): sample s draws its case from Philox (seed, "CASE", epoch,
 * index * B + s) and its patch from (seed, "ZMPL", epoch, index * B + s). Cases are loaded
 * lazily and identically whichever thread loads them, so the bits never depend on the number
 * of threads.
 *
 * Device buffers: the upload into device pair g % 2 waits (on the host) for a marker on the
 * compute queue enqueued at the start of the previous call, i.e. for the work the consumer
 * queued on batch g - 2; the work queued on batch g - 1 keeps the device busy meanwhile.
 * Leaves out resampling inside workers (device work stays on the consumer's thread; the loader
 * resamples every case once at create when target_spacing is set). */
#include "data_internal.h"
#include "tensor/tensor_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_READY = 2 } slot_state;

typedef struct slot {
    float *image, *label;        /* pinned (mapped) or malloc'd */
    cl_mem pin_image, pin_label; /* NULL without a context */
    int *case_index, *class_label, *domain;
    uint8_t *forced;
    uint64_t batch;
    slot_state state;
} slot;

struct medcl_loader {
    medcl_context *ctx;
    const medcl_dataset *d;
    medcl_loader_options o;
    int *cases;
    int n_cases;
    int64_t src[3], fin[3], channels;
    int64_t img_per_sample, lab_per_sample;
    bool has_label;
    medcl_norm_scheme *schemes;
    medcl_ct_stats *ct;
    bool need_ct;

    /* case cache: loaded lazily under a per-case lock */
    medcl_case_data **cache;
    medcl_fg_index *fg;
    pthread_mutex_t *case_lock;
    bool case_locks_ok;

    /* queue */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_ready;
    bool sync_ok;
    pthread_t *threads;
    int n_started;
    int S;
    slot *slots;
    uint64_t next_claim, released, next_out;
    bool holding;
    atomic_bool stop, failed;
    medcl_status err;
    char errmsg[1024];

    /* device */
    medcl_tensor *dev_image[2], *dev_label[2];
    cl_event pending[2];
    medcl_loader_stats stats;
};

static bool interrupted(const medcl_loader *l) { return l->o.interrupt && *l->o.interrupt; }

/* ---------------------------------------------------------------- cases */

static medcl_status load_raw(medcl_loader *l, int ci, medcl_case_data **out) {
    medcl_status st = MEDCL_OK;
    medcl_case_data *cd = NULL;
    MEDCL_TRY(medcl_case_load(l->d, l->cases[ci], false, NULL, &cd));
    if (cd->channels != l->channels && l->channels > 0)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: %lld channels, the loader's first case has %lld",
                   medcl_dataset_case(l->d, l->cases[ci])->files[0], (long long)cd->channels,
                   (long long)l->channels);
    if (l->o.crop_foreground) {
        int64_t lo[3], hi[3];
        medcl_case_nonzero_bbox(cd, lo, hi);
        MEDCL_TRY(medcl_case_crop(cd, lo, hi));
    }
    *out = cd;
    cd = NULL;
cleanup:
    medcl_case_free(cd);
    return st;
}

static medcl_status finish_case(medcl_loader *l, int ci, medcl_case_data *cd) {
    medcl_status st = MEDCL_OK;
    const medcl_case *c = medcl_dataset_case(l->d, l->cases[ci]);
    st = medcl_case_normalize(cd, l->schemes, l->ct, l->o.norm_use_mask);
    if (st == MEDCL_OK && l->o.target_spacing[0] > 0.0)
        st = medcl_case_resample(l->ctx, cd, l->o.target_spacing);
    if (st == MEDCL_OK)
        st = medcl_fg_index_build(cd, medcl_dataset_class_count(l->d),
                                  medcl_dataset_ignore_label(l->d), l->o.sampler.max_fg_locations,
                                  &l->fg[ci]);
    if (st != MEDCL_OK) medcl_error_prefix("case %s (%s)", c->id, c->files[0]);
    return st;
}

static medcl_status get_case(medcl_loader *l, int ci, const medcl_case_data **out) {
    medcl_status st = MEDCL_OK;
    pthread_mutex_lock(&l->case_lock[ci]);
    if (!l->cache[ci]) {
        medcl_case_data *cd = NULL;
        st = load_raw(l, ci, &cd);
        if (st == MEDCL_OK) st = finish_case(l, ci, cd);
        if (st == MEDCL_OK)
            l->cache[ci] = cd;
        else
            medcl_case_free(cd);
    }
    *out = l->cache[ci];
    pthread_mutex_unlock(&l->case_lock[ci]);
    return st;
}

/* ---------------------------------------------------------------- batches */

static medcl_status fill_batch(medcl_loader *l, uint64_t g, float *image, float *label,
                               int *case_index, int *class_label, int *domain, uint8_t *forced) {
    medcl_status st = MEDCL_OK;
    int B = l->o.batch_size;
    uint32_t epoch = (uint32_t)(g / (uint64_t)l->o.batches_per_epoch);
    uint32_t index = (uint32_t)(g % (uint64_t)l->o.batches_per_epoch);
    for (int s = 0; s < B; s++) {
        if (l->stop || interrupted(l))
            return medcl_fail(MEDCL_ERR_INTERRUPTED, "loader: stopped");
        uint32_t sg = index * (uint32_t)B + (uint32_t)s;
        uint32_t u = medcl_philox_at(l->o.seed, MEDCL_STREAM_CASE, epoch, sg, 0);
        int ci = (int)(((uint64_t)u * (uint64_t)l->n_cases) >> 32);
        const medcl_case_data *cd = NULL;
        MEDCL_TRY(get_case(l, ci, &cd));
        uint8_t f = 0;
        bool force = medcl_sampler_force_fg(s, B, l->o.sampler.oversample_fg);
        MEDCL_TRY(medcl_sample_patch(cd, &l->fg[ci], &l->o.sampler, l->src, l->o.seed, epoch, sg,
                                     force, image + s * l->img_per_sample,
                                     label ? label + s * l->lab_per_sample : NULL, &f));
        if (case_index) case_index[s] = l->cases[ci];
        if (class_label) class_label[s] = cd->class_label;
        if (domain) domain[s] = cd->domain;
        if (forced) forced[s] = f;
    }
cleanup:
    return st;
}

static void *worker(void *arg) {
    medcl_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop && !l->failed) {
        if (interrupted(l)) {
            l->stop = true;
            pthread_cond_broadcast(&l->cv_ready);
            break;
        }
        uint64_t g = l->next_claim;
        if (g - l->released >= (uint64_t)l->S) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&l->cv_work, &l->mu, &ts);
            continue;
        }
        l->next_claim++;
        slot *sl = &l->slots[g % (uint64_t)l->S];
        sl->state = SLOT_FILLING;
        sl->batch = g;
        pthread_mutex_unlock(&l->mu);
        medcl_status st = fill_batch(l, g, sl->image, sl->label, sl->case_index, sl->class_label,
                                     sl->domain, sl->forced);
        char msg[1024];
        if (st != MEDCL_OK) snprintf(msg, sizeof msg, "%s", medcl_last_error());
        pthread_mutex_lock(&l->mu);
        if (st != MEDCL_OK && st != MEDCL_ERR_INTERRUPTED && !l->failed) {
            l->failed = true;
            l->err = st;
            snprintf(l->errmsg, sizeof l->errmsg, "loader: batch %llu: %s", (unsigned long long)g,
                     msg);
        }
        sl->state = SLOT_READY;
        pthread_cond_broadcast(&l->cv_ready);
    }
    pthread_cond_broadcast(&l->cv_ready);
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---------------------------------------------------------------- create / destroy */

static medcl_status slot_alloc(medcl_loader *l, slot *sl) {
    medcl_status st = MEDCL_OK;
    int B = l->o.batch_size;
    size_t ib = (size_t)(l->img_per_sample * B) * sizeof(float);
    size_t lb = (size_t)(l->lab_per_sample * B) * sizeof(float);
    sl->case_index = calloc((size_t)B, sizeof(int));
    sl->class_label = calloc((size_t)B, sizeof(int));
    sl->domain = calloc((size_t)B, sizeof(int));
    sl->forced = calloc((size_t)B, 1);
    if (!sl->case_index || !sl->class_label || !sl->domain || !sl->forced)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "loader: out of memory");
    if (!l->ctx) {
        sl->image = malloc(ib);
        sl->label = l->has_label ? malloc(lb) : NULL;
        if (!sl->image || (l->has_label && !sl->label))
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "loader: cannot allocate %zu bytes", ib);
        return MEDCL_OK;
    }
    cl_int e = CL_SUCCESS;
    medcl_context *ctx = l->ctx;
    sl->pin_image = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, ib, NULL, &e);
    MEDCL_CL(e);
    sl->image = clEnqueueMapBuffer(ctx->xfer, sl->pin_image, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE,
                                   0, ib, 0, NULL, NULL, &e);
    MEDCL_CL(e);
    if (l->has_label) {
        sl->pin_label = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, lb,
                                       NULL, &e);
        MEDCL_CL(e);
        sl->label = clEnqueueMapBuffer(ctx->xfer, sl->pin_label, CL_TRUE,
                                       CL_MAP_READ | CL_MAP_WRITE, 0, lb, 0, NULL, NULL, &e);
        MEDCL_CL(e);
    }
cleanup:
    return st;
}

static void slot_free(medcl_loader *l, slot *sl) {
    if (l->ctx) {
        if (sl->pin_image) {
            if (sl->image) clEnqueueUnmapMemObject(l->ctx->xfer, sl->pin_image, sl->image, 0, NULL, NULL);
            clReleaseMemObject(sl->pin_image);
        }
        if (sl->pin_label) {
            if (sl->label) clEnqueueUnmapMemObject(l->ctx->xfer, sl->pin_label, sl->label, 0, NULL, NULL);
            clReleaseMemObject(sl->pin_label);
        }
    } else {
        free(sl->image);
        free(sl->label);
    }
    free(sl->case_index);
    free(sl->class_label);
    free(sl->domain);
    free(sl->forced);
}

void medcl_loader_stop(medcl_loader *l) {
    if (!l || !l->sync_ok) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cv_work);
    pthread_cond_broadcast(&l->cv_ready);
    pthread_mutex_unlock(&l->mu);
}

void medcl_loader_destroy(medcl_loader *l) {
    if (!l) return;
    medcl_loader_stop(l);
    for (int i = 0; i < l->n_started; i++) pthread_join(l->threads[i], NULL);
    free(l->threads);
    if (l->ctx) clFinish(l->ctx->xfer);
    for (int k = 0; k < 2; k++) {
        if (l->pending[k]) clReleaseEvent(l->pending[k]);
        medcl_tensor_destroy(l->dev_image[k]);
        medcl_tensor_destroy(l->dev_label[k]);
    }
    if (l->slots)
        for (int i = 0; i < l->S; i++) slot_free(l, &l->slots[i]);
    if (l->ctx) clFinish(l->ctx->xfer);
    free(l->slots);
    if (l->cache)
        for (int i = 0; i < l->n_cases; i++) medcl_case_free(l->cache[i]);
    if (l->fg)
        for (int i = 0; i < l->n_cases; i++) medcl_fg_index_free(&l->fg[i]);
    if (l->case_locks_ok)
        for (int i = 0; i < l->n_cases; i++) pthread_mutex_destroy(&l->case_lock[i]);
    if (l->sync_ok) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv_work);
        pthread_cond_destroy(&l->cv_ready);
    }
    free(l->case_lock);
    free(l->cache);
    free(l->fg);
    free(l->cases);
    free(l->schemes);
    free(l->ct);
    free(l);
}

/* Loads every case at create: CT statistics over the foreground of all cases (nnU-Net's
 * fingerprint, 10000 values per case) and/or device resampling need them all. */
static medcl_status preload(medcl_loader *l) {
    medcl_status st = MEDCL_OK;
    float **vals = NULL;
    int64_t *nv = NULL;
    int C = (int)l->channels;
    if (l->need_ct) {
        vals = calloc((size_t)C, sizeof *vals);
        nv = calloc((size_t)C, sizeof *nv);
        if (!vals || !nv) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader: out of memory");
    }
    for (int ci = 0; ci < l->n_cases; ci++) {
        if (l->cache[ci]) continue;
        MEDCL_TRY(load_raw(l, ci, &l->cache[ci]));
        if (l->need_ct)
            for (int c = 0; c < C; c++)
                if (l->schemes[c] == MEDCL_NORM_CT && l->cache[ci]->label)
                    MEDCL_TRY(medcl_case_foreground_values(l->cache[ci], c, 10000, &vals[c], &nv[c]));
    }
    if (l->need_ct) {
        l->ct = calloc((size_t)C, sizeof *l->ct);
        if (!l->ct) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader: out of memory");
        for (int c = 0; c < C; c++)
            if (l->schemes[c] == MEDCL_NORM_CT) {
                if (nv[c] == 0)
                    MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "loader: CT channel %d: no foreground voxel "
                               "in the loader's cases to compute statistics from", c);
                MEDCL_TRY(medcl_ct_stats_compute(vals[c], nv[c], &l->ct[c]));
            }
    }
    for (int ci = 0; ci < l->n_cases; ci++) MEDCL_TRY(finish_case(l, ci, l->cache[ci]));
cleanup:
    if (st != MEDCL_OK && l->cache)
        for (int ci = 0; ci < l->n_cases; ci++) {
            medcl_case_free(l->cache[ci]);
            l->cache[ci] = NULL;
        }
    for (int c = 0; vals && c < C; c++) free(vals[c]);
    free(vals);
    free(nv);
    return st;
}

medcl_status medcl_loader_create(medcl_context *ctx, const medcl_dataset *d, const int *cases,
                                 int n, const medcl_loader_options *opt, medcl_loader **out) {
    medcl_status st = MEDCL_OK;
    medcl_loader *l = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: out is NULL");
    *out = NULL;
    if (!d) return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: dataset is NULL");
    if (!opt || opt->size != sizeof(medcl_loader_options))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: options NULL or size %zu (expected "
                          "%zu: use MEDCL_LOADER_OPTIONS_INIT)", opt ? opt->size : 0,
                          sizeof(medcl_loader_options));
    const medcl_sampler_options *so = &opt->sampler;
    if (opt->batch_size < 1 || opt->threads < 1 || opt->threads > 64 || opt->prefetch < 1 ||
        opt->prefetch > 1024 || opt->batches_per_epoch < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: batch_size %d, threads %d, "
                          "prefetch %d, batches_per_epoch %d (need >= 1; threads <= 64)",
                          opt->batch_size, opt->threads, opt->prefetch, opt->batches_per_epoch);
    if (so->slice_axis < -1 || so->slice_axis > 2)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: sampler.slice_axis = %d (-1..2)",
                          so->slice_axis);
    if (!(so->oversample_fg >= 0.0f && so->oversample_fg <= 1.0f) || so->max_fg_locations < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: sampler.oversample_fg = %g "
                          "(0..1), max_fg_locations = %lld", (double)so->oversample_fg,
                          (long long)so->max_fg_locations);
    if (opt->target_spacing[0] > 0.0 && !ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: target_spacing needs a context "
                          "(resampling runs on the device)");
    int nall = medcl_dataset_count(d);
    if (cases ? n < 1 : nall < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_create: no cases");
    l = calloc(1, sizeof *l);
    if (!l) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
    l->ctx = ctx;
    l->d = d;
    l->o = *opt;
    l->n_cases = cases ? n : nall;
    l->cases = malloc((size_t)l->n_cases * sizeof(int));
    if (!l->cases) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
    for (int i = 0; i < l->n_cases; i++) {
        l->cases[i] = cases ? cases[i] : i;
        if (l->cases[i] < 0 || l->cases[i] >= nall)
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "loader_create: cases[%d] = %d outside 0..%d", i,
                       l->cases[i], nall - 1);
    }
    for (int a = 0; a < 3; a++) {
        l->fin[a] = so->patch[a];
        l->src[a] = so->source_patch[a] > 0 ? so->source_patch[a] : so->patch[a];
        if (l->fin[a] < 1 || l->src[a] < l->fin[a])
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "loader_create: sampler axis %d: patch %lld, source "
                       "patch %lld (need patch >= 1 and source >= patch)", a,
                       (long long)l->fin[a], (long long)l->src[a]);
    }
    if (so->slice_axis >= 0 && (l->fin[0] != 1 || l->src[0] != 1))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "loader_create: 2D slices need patch[0] = source_patch[0] "
                   "= 1 (got %lld, %lld)", (long long)l->fin[0], (long long)l->src[0]);
    l->has_label = medcl_dataset_kind_of(d) == MEDCL_DATASET_SEGMENTATION;
    l->case_lock = calloc((size_t)l->n_cases, sizeof(pthread_mutex_t));
    l->cache = calloc((size_t)l->n_cases, sizeof(medcl_case_data *));
    l->fg = calloc((size_t)l->n_cases, sizeof(medcl_fg_index));
    if (!l->case_lock || !l->cache || !l->fg)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
    for (int i = 0; i < l->n_cases; i++) pthread_mutex_init(&l->case_lock[i], NULL);
    l->case_locks_ok = true;

    /* channels: the dataset's (segmentation) or the first case's (classification) */
    if (l->has_label) {
        l->channels = medcl_dataset_channel_count(d);
    } else {
        medcl_case_data *first = NULL;
        MEDCL_TRY(load_raw(l, 0, &first));
        l->channels = first->channels;
        l->cache[0] = first; /* raw: finished below (lazily) is not possible, so finish now */
    }
    l->schemes = malloc((size_t)l->channels * sizeof *l->schemes);
    if (!l->schemes) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
    for (int64_t c = 0; c < l->channels; c++) {
        l->schemes[c] = opt->schemes ? opt->schemes[c]
                        : l->has_label ? medcl_dataset_channel_norm(d, (int)c)
                                       : MEDCL_NORM_ZSCORE;
        if (l->schemes[c] == MEDCL_NORM_CT) l->need_ct = !opt->ct;
    }
    if (opt->ct) {
        l->ct = malloc((size_t)l->channels * sizeof *l->ct);
        if (!l->ct) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
        memcpy(l->ct, opt->ct, (size_t)l->channels * sizeof *l->ct);
    }
    if (l->need_ct || opt->target_spacing[0] > 0.0) {
        MEDCL_TRY(preload(l));
    } else if (l->cache[0]) {
        MEDCL_TRY(finish_case(l, 0, l->cache[0]));
    }
    l->img_per_sample = l->channels * l->src[0] * l->src[1] * l->src[2];
    l->lab_per_sample = l->has_label ? l->src[0] * l->src[1] * l->src[2] : 0;

    l->S = opt->prefetch + 1;
    l->slots = calloc((size_t)l->S, sizeof(slot));
    if (!l->slots) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
    for (int i = 0; i < l->S; i++) MEDCL_TRY(slot_alloc(l, &l->slots[i]));
    if (ctx) {
        int64_t shp[5] = {opt->batch_size, l->channels, l->src[0], l->src[1], l->src[2]};
        int64_t lshp[5] = {opt->batch_size, 1, l->src[0], l->src[1], l->src[2]};
        for (int k = 0; k < 2; k++) {
            MEDCL_TRY(medcl_tensor_create_f32(ctx, k ? "loader_image_1" : "loader_image_0", 5, shp,
                                              &l->dev_image[k]));
            if (l->has_label)
                MEDCL_TRY(medcl_tensor_create_f32(ctx, k ? "loader_label_1" : "loader_label_0", 5,
                                                  lshp, &l->dev_label[k]));
        }
    }
    if (pthread_mutex_init(&l->mu, NULL) != 0)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: pthread_mutex_init failed");
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_ready, NULL);
    l->sync_ok = true;
    l->threads = calloc((size_t)opt->threads, sizeof(pthread_t));
    if (!l->threads) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: out of memory");
    for (int i = 0; i < opt->threads; i++) {
        int e = pthread_create(&l->threads[i], NULL, worker, l);
        if (e != 0)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "loader_create: pthread_create: %s", strerror(e));
        l->n_started++;
    }
    *out = l;
    l = NULL;
cleanup:
    medcl_loader_destroy(l);
    return st;
}

/* ---------------------------------------------------------------- consumer */

static medcl_status sticky(medcl_loader *l) {
    if (l->failed) return medcl_fail(l->err, "%s", l->errmsg);
    return medcl_fail(MEDCL_ERR_INTERRUPTED, "loader: stopped (interrupt or medcl_loader_stop)");
}

medcl_status medcl_loader_next(medcl_loader *l, medcl_batch *out) {
    medcl_status st = MEDCL_OK;
    if (!l || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_next: NULL argument");
    memset(out, 0, sizeof *out);
    cl_event marker = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->holding) { /* the batch handed out last time goes back to the workers */
        l->slots[(l->next_out - 1) % (uint64_t)l->S].state = SLOT_FREE;
        l->released = l->next_out;
        l->holding = false;
        pthread_cond_broadcast(&l->cv_work);
    }
    uint64_t g = l->next_out;
    slot *sl = &l->slots[g % (uint64_t)l->S];
    double t0 = medcl_now();
    while (!l->failed && !l->stop && !(sl->state == SLOT_READY && sl->batch == g)) {
        if (interrupted(l)) {
            l->stop = true;
            pthread_cond_broadcast(&l->cv_work);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&l->cv_ready, &l->mu, &ts);
    }
    double waited = medcl_now() - t0;
    if (l->failed || l->stop) {
        l->stop = true;
        pthread_cond_broadcast(&l->cv_work);
        st = sticky(l);
        pthread_mutex_unlock(&l->mu);
        return st;
    }
    l->next_out++;
    l->holding = true;
    l->stats.batches++;
    l->stats.wait_s += waited;
    if (waited > l->stats.max_wait_s) l->stats.max_wait_s = waited;
    pthread_mutex_unlock(&l->mu);

    int B = l->o.batch_size;
    out->shape[0] = B;
    out->shape[1] = l->channels;
    out->shape[2] = l->src[0];
    out->shape[3] = l->src[1];
    out->shape[4] = l->src[2];
    out->image = sl->image;
    out->label = l->has_label ? sl->label : NULL;
    out->case_index = sl->case_index;
    out->class_label = sl->class_label;
    out->domain = sl->domain;
    out->forced_fg = sl->forced;
    out->epoch = (uint32_t)(g / (uint64_t)l->o.batches_per_epoch);
    out->index = (uint32_t)(g % (uint64_t)l->o.batches_per_epoch);
    out->wait_s = waited;
    if (l->ctx) {
        medcl_context *ctx = l->ctx;
        int k = (int)(g % 2);
        double t1 = medcl_now();
        /* marker: the compute work queued so far (on batch g - 1, device pair (g + 1) % 2) */
        MEDCL_CL(clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &marker));
        if (l->pending[k]) { /* work queued on batch g - 2 (pair k) must be done */
            MEDCL_CL(clWaitForEvents(1, &l->pending[k]));
            clReleaseEvent(l->pending[k]);
            l->pending[k] = NULL;
        }
        if (l->pending[1 - k]) clReleaseEvent(l->pending[1 - k]);
        l->pending[1 - k] = marker;
        marker = NULL;
        medcl_event *ev_i = NULL, *ev_l = NULL;
        MEDCL_TRY(medcl_tensor_upload_async(l->dev_image[k], sl->image,
                                            medcl_tensor_bytes(l->dev_image[k]), &ev_i));
        if (l->has_label) {
            st = medcl_tensor_upload_async(l->dev_label[k], sl->label,
                                           medcl_tensor_bytes(l->dev_label[k]), &ev_l);
            if (st != MEDCL_OK) {
                medcl_event_wait(ev_i);
                medcl_event_destroy(ev_i);
                goto cleanup;
            }
        }
        st = medcl_event_wait(ev_i);
        if (ev_l) {
            medcl_status s2 = medcl_event_wait(ev_l);
            if (st == MEDCL_OK) st = s2;
        }
        medcl_event_destroy(ev_i);
        medcl_event_destroy(ev_l);
        if (st != MEDCL_OK) goto cleanup;
        l->stats.upload_wait_s += medcl_now() - t1;
        out->image_dev = l->dev_image[k];
        out->label_dev = l->has_label ? l->dev_label[k] : NULL;
    }
cleanup:
    if (marker) clReleaseEvent(marker);
    if (st != MEDCL_OK) {
        medcl_error_prefix("loader: upload of batch %llu", (unsigned long long)g);
        memset(out, 0, sizeof *out);
    }
    return st;
}

void medcl_loader_stats_get(const medcl_loader *l, medcl_loader_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!l) return;
    medcl_loader *m = (medcl_loader *)l;
    pthread_mutex_lock(&m->mu);
    *out = l->stats;
    pthread_mutex_unlock(&m->mu);
}

void medcl_loader_patch(const medcl_loader *l, int64_t source[3], int64_t final_[3]) {
    for (int a = 0; a < 3; a++) {
        if (source) source[a] = l ? l->src[a] : 0;
        if (final_) final_[a] = l ? l->fin[a] : 0;
    }
}

medcl_status medcl_loader_batch_host(medcl_loader *l, uint32_t epoch, uint32_t index, float *image,
                                     float *label, int *case_index) {
    if (!l || !image)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_batch_host: loader or image is NULL");
    if (index >= (uint32_t)l->o.batches_per_epoch)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "loader_batch_host: index %u >= batches_per_epoch "
                          "%d", index, l->o.batches_per_epoch);
    uint64_t g = (uint64_t)epoch * (uint64_t)l->o.batches_per_epoch + index;
    float *lab = label;
    float *tmp = NULL;
    if (!lab && l->has_label) {
        tmp = malloc((size_t)(l->lab_per_sample * l->o.batch_size) * sizeof(float));
        if (!tmp) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "loader_batch_host: out of memory");
        lab = tmp;
    }
    medcl_status st = fill_batch(l, g, image, l->has_label ? lab : NULL, case_index, NULL, NULL,
                                 NULL);
    free(tmp);
    return st;
}
