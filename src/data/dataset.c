/* src/data/dataset.c — dataset layouts: the nnU-Net v2 raw layout (dataset.json, imagesTr,
 * labelsTr, imagesTs) with strict validation naming JSON paths, the classification CSV layout
 * (file,label[,domain]), domains per case, and accessors. Reading the image files of a case
 * and checking their geometry is in case.c. Leaves out nnU-Net's explicit "dataset" file list
 * and region-based labels. */
#include "data_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_JSON_BYTES ((size_t)64 << 20)
#define MAX_CSV_BYTES ((size_t)256 << 20)

char *medcl_data_strdupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

const char *medcl_norm_scheme_str(medcl_norm_scheme s) {
    switch (s) {
    case MEDCL_NORM_ZSCORE: return "zscore";
    case MEDCL_NORM_CT: return "CT";
    case MEDCL_NORM_RESCALE: return "rescale_to_0_1";
    case MEDCL_NORM_NONE: return "noNorm";
    case MEDCL_NORM_RGB_TO_01: return "rgb_to_0_1";
    default: return "unknown";
    }
}

static medcl_norm_scheme norm_from_channel(const char *name) {
    if (!strcmp(name, "CT")) return MEDCL_NORM_CT;
    if (!strcmp(name, "noNorm")) return MEDCL_NORM_NONE;
    if (!strcmp(name, "rescale_to_0_1")) return MEDCL_NORM_RESCALE;
    if (!strcmp(name, "rgb_to_0_1")) return MEDCL_NORM_RGB_TO_01;
    return MEDCL_NORM_ZSCORE;
}

static void free_cases(medcl_case *c, int n) {
    if (!c) return;
    for (int i = 0; i < n; i++) {
        free((char *)c[i].id);
        if (c[i].files)
            for (int j = 0; j < c[i].n_files; j++) free((char *)c[i].files[j]);
        free((char **)c[i].files);
        free((char *)c[i].label_file);
    }
    free(c);
}

static void free_strs(char **s, int n) {
    if (!s) return;
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

void medcl_dataset_destroy(medcl_dataset *d) {
    if (!d) return;
    free(d->root);
    free(d->name);
    free(d->file_ending);
    free_strs(d->channel_names, d->n_channels);
    free(d->norms);
    free_strs(d->class_names, d->n_classes);
    free_strs(d->domain_names, d->n_domains);
    free_cases(d->cases, d->n_cases);
    free_cases(d->test, d->n_test);
    free_strs(d->dom_map_case, d->n_dom_map);
    free(d->dom_map_domain);
    free(d);
}

/* Adds a domain name if new; returns its index or -1 on out of memory. */
static int domain_intern(medcl_dataset *d, const char *name) {
    for (int i = 0; i < d->n_domains; i++)
        if (!strcmp(d->domain_names[i], name)) return i;
    char **g = realloc(d->domain_names, (size_t)(d->n_domains + 1) * sizeof *g);
    if (!g) return -1;
    d->domain_names = g;
    if (!(g[d->n_domains] = strdup(name))) return -1;
    return d->n_domains++;
}

/* ---------------------------------------------------------------- dataset.json */

static const char *json_type(const cJSON *j) {
    if (cJSON_IsNumber(j)) return "number";
    if (cJSON_IsString(j)) return "string";
    if (cJSON_IsBool(j)) return "boolean";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "array";
    if (cJSON_IsObject(j)) return "object";
    return "invalid";
}

/* Integer value of a JSON number that is integral and within int range. */
static bool json_int(const cJSON *j, int *out) {
    if (!cJSON_IsNumber(j)) return false;
    double v = j->valuedouble;
    if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != (double)(long long)v) return false;
    *out = (int)v;
    return true;
}

static const char *const known_keys[] = {
    "channel_names", "modality", "labels", "numTraining", "file_ending", "domains",
    "name", "description", "reference", "licence", "license", "release", "tensorImageSize",
    "overwrite_image_reader_writer", "converted_by", "numTest", "dim"};

static medcl_status parse_channels(medcl_dataset *d, const cJSON *cn, const char *nm,
                                   const char *key) {
    if (!cJSON_IsObject(cn))
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.%s: expected an object, got %s", nm, key,
                          json_type(cn));
    int n = cJSON_GetArraySize(cn);
    if (n < 1)
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.%s: expected at least one channel", nm, key);
    d->channel_names = calloc((size_t)n, sizeof(char *));
    d->norms = calloc((size_t)n, sizeof(medcl_norm_scheme));
    if (!d->channel_names || !d->norms)
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
    d->n_channels = n;
    const cJSON *e;
    cJSON_ArrayForEach(e, cn) {
        const char *k = e->string ? e->string : "";
        char *end = NULL;
        errno = 0;
        long idx = strtol(k, &end, 10);
        if (!*k || *end || errno || idx < 0 || idx >= n || (k[0] == '0' && k[1]))
            return medcl_fail(MEDCL_ERR_FORMAT,
                              "%s: $.%s.%s: channel keys must be \"0\"..\"%d\" (got \"%s\")", nm,
                              key, k, n - 1, k);
        if (d->channel_names[idx])
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.%s.%s: duplicate channel", nm, key, k);
        if (!cJSON_IsString(e))
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.%s.%s: expected a string, got %s", nm, key,
                              k, json_type(e));
        if (!(d->channel_names[idx] = strdup(e->valuestring)))
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        d->norms[idx] = norm_from_channel(e->valuestring);
    }
    return MEDCL_OK;
}

static medcl_status parse_labels(medcl_dataset *d, const cJSON *lb, const char *nm) {
    if (!cJSON_IsObject(lb))
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels: expected an object, got %s", nm,
                          json_type(lb));
    int n = cJSON_GetArraySize(lb);
    if (n < 2)
        return medcl_fail(MEDCL_ERR_FORMAT,
                          "%s: $.labels: expected background and at least one class, got %d "
                          "entries", nm, n);
    const cJSON *bg = cJSON_GetObjectItemCaseSensitive(lb, "background");
    if (!bg) return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels.background: missing", nm);
    int maxv = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, lb) {
        int v;
        const char *k = e->string ? e->string : "";
        if (cJSON_IsArray(e))
            return medcl_fail(MEDCL_ERR_UNSUPPORTED,
                              "%s: $.labels.%s: region-based labels (lists) are not supported",
                              nm, k);
        if (!json_int(e, &v))
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels.%s: expected an integer, got %s",
                              nm, k, cJSON_IsNumber(e) ? "a non-integer number" : json_type(e));
        if (v < 0 || v > 65535)
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels.%s: value %d outside 0..65535", nm,
                              k, v);
        if (!strcmp(k, "background") && v != 0)
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels.background: must be 0, got %d", nm,
                              v);
        if (v > maxv) maxv = v;
    }
    if (maxv != n - 1)
        return medcl_fail(MEDCL_ERR_FORMAT,
                          "%s: $.labels: values must be consecutive 0..%d, largest is %d", nm,
                          n - 1, maxv);
    char **names = calloc((size_t)n, sizeof(char *));
    if (!names) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
    d->class_names = names;
    d->n_classes = n;
    d->ignore_label = -1;
    cJSON_ArrayForEach(e, lb) {
        int v = e->valueint;
        json_int(e, &v);
        if (names[v])
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels.%s: value %d already used by \"%s\"",
                              nm, e->string, v, names[v]);
        if (!(names[v] = strdup(e->string)))
            return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        if (!strcmp(e->string, "ignore")) {
            if (v != maxv)
                return medcl_fail(MEDCL_ERR_FORMAT,
                                  "%s: $.labels.ignore: must be the largest value (%d), got %d",
                                  nm, maxv, v);
            d->ignore_label = v;
        }
    }
    if (d->ignore_label >= 0) {
        if (n < 3)
            return medcl_fail(MEDCL_ERR_FORMAT, "%s: $.labels: no class besides background and "
                              "ignore", nm);
        d->n_classes = n - 1; /* the ignore name stays allocated at index n - 1 */
        free(names[n - 1]);
        names[n - 1] = NULL;
    }
    return MEDCL_OK;
}

static medcl_status parse_json_doc(medcl_dataset *d, const char *text, size_t n, const char *nm,
                                   const medcl_dataset_options *o, int *num_training) {
    medcl_status st = MEDCL_OK;
    cJSON *root = cJSON_ParseWithLength(text, n);
    if (!root) {
        const char *ep = cJSON_GetErrorPtr();
        size_t off = (ep && ep >= text && ep <= text + n) ? (size_t)(ep - text) : 0;
        int line = 1;
        for (size_t i = 0; i < off; i++) line += text[i] == '\n';
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $: malformed JSON near line %d (byte %zu)", nm, line,
                   off);
    }
    if (!cJSON_IsObject(root))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $: expected an object, got %s", nm, json_type(root));
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        const char *k = e->string ? e->string : "";
        bool known = false;
        for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
            known = known || !strcmp(k, known_keys[i]);
        if (!known && !o->allow_unknown_keys)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.%s: unknown key", nm, k);
        for (const cJSON *f = e->next; f; f = f->next)
            if (f->string && !strcmp(f->string, k))
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.%s: duplicate key", nm, k);
    }
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(root, "channel_names");
    const char *cn_key = "channel_names";
    if (!cn) {
        cn = cJSON_GetObjectItemCaseSensitive(root, "modality");
        cn_key = "modality";
    }
    if (!cn) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.channel_names: missing", nm);
    MEDCL_TRY(parse_channels(d, cn, nm, cn_key));

    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(root, "labels");
    if (!lb) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.labels: missing", nm);
    MEDCL_TRY(parse_labels(d, lb, nm));

    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(root, "numTraining");
    if (!nt) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.numTraining: missing", nm);
    if (!json_int(nt, num_training) || *num_training < 0)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.numTraining: expected a non-negative integer, got %s",
                   nm, json_type(nt));

    const cJSON *fe = cJSON_GetObjectItemCaseSensitive(root, "file_ending");
    if (!fe) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.file_ending: missing", nm);
    if (!cJSON_IsString(fe))
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.file_ending: expected a string, got %s", nm,
                   json_type(fe));
    if (strcmp(fe->valuestring, ".nii.gz") && strcmp(fe->valuestring, ".nii") &&
        strcmp(fe->valuestring, ".png"))
        MEDCL_FAIL(MEDCL_ERR_UNSUPPORTED,
                   "%s: $.file_ending: \"%.40s\" is not supported (.nii.gz, .nii, .png)", nm,
                   fe->valuestring);
    if (!(d->file_ending = strdup(fe->valuestring)))
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);

    const cJSON *dm = cJSON_GetObjectItemCaseSensitive(root, "domains");
    if (dm) {
        if (!cJSON_IsObject(dm))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.domains: expected an object, got %s", nm,
                       json_type(dm));
        int m = cJSON_GetArraySize(dm);
        d->dom_map_case = calloc((size_t)m + 1, sizeof(char *));
        d->dom_map_domain = calloc((size_t)m + 1, sizeof(int));
        if (!d->dom_map_case || !d->dom_map_domain)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        cJSON_ArrayForEach(e, dm) {
            if (!cJSON_IsString(e))
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.domains.%s: expected a string, got %s", nm,
                           e->string, json_type(e));
            for (const cJSON *f = e->next; f; f = f->next)
                if (!strcmp(f->string, e->string))
                    MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.domains.%s: duplicate case", nm,
                               e->string);
            int k = domain_intern(d, e->valuestring);
            if (k < 0) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
            if (!(d->dom_map_case[d->n_dom_map] = strdup(e->string)))
                MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
            d->dom_map_domain[d->n_dom_map++] = k;
        }
    }
cleanup:
    cJSON_Delete(root);
    return st;
}

static medcl_dataset *dataset_new(medcl_dataset_kind kind, const char *root, const char *name) {
    medcl_dataset *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->kind = kind;
    d->ignore_label = -1;
    d->root = strdup(root ? root : ".");
    d->name = strdup(name);
    if (!d->root || !d->name) {
        medcl_dataset_destroy(d);
        return NULL;
    }
    return d;
}

static medcl_dataset_options opts_or_default(const medcl_dataset_options *opt) {
    medcl_dataset_options o = MEDCL_DATASET_OPTIONS_INIT;
    if (opt) {
        size_t n = opt->size < sizeof o ? opt->size : sizeof o;
        memcpy(&o, opt, n);
        o.size = sizeof o;
    }
    return o;
}

medcl_status medcl_dataset_parse_json(const char *text, size_t n, const char *name,
                                      const medcl_dataset_options *opt, medcl_dataset **out) {
    medcl_status st = MEDCL_OK;
    medcl_dataset *d = NULL;
    int nt = 0;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "dataset_parse_json: out is NULL");
    *out = NULL;
    if (!text) return medcl_fail(MEDCL_ERR_INVALID_ARG, "dataset_parse_json: text is NULL");
    medcl_dataset_options o = opts_or_default(opt);
    d = dataset_new(MEDCL_DATASET_SEGMENTATION, ".", name ? name : "dataset.json");
    if (!d) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset_parse_json: out of memory");
    MEDCL_TRY(parse_json_doc(d, text, n, d->name, &o, &nt));
    if (d->n_domains == 0 && domain_intern(d, "") < 0)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset_parse_json: out of memory");
    *out = d;
    d = NULL;
cleanup:
    medcl_dataset_destroy(d);
    return st;
}

/* ---------------------------------------------------------------- nnU-Net folders */

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the regular entries of dir ending in ending (names only, malloc'd). A
 * missing folder gives MEDCL_ERR_NOT_FOUND when required, else an empty list. */
static medcl_status list_dir(const char *dir, const char *ending, bool required, char ***out,
                             int *count) {
    medcl_status st = MEDCL_OK;
    char **v = NULL;
    int n = 0, cap = 0;
    *out = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        if (!required && errno == ENOENT) return MEDCL_OK;
        return medcl_fail(errno == ENOENT ? MEDCL_ERR_NOT_FOUND : MEDCL_ERR_IO,
                          "%s: cannot open folder: %s", dir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ending)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **g = realloc(v, (size_t)cap * sizeof *g);
            if (!g) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
            v = g;
        }
        if (!(v[n] = strdup(de->d_name))) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
        n++;
    }
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    *count = n;
    v = NULL;
cleanup:
    closedir(dp);
    free_strs(v, n);
    return st;
}

/* Image files of case id in dir: id_0000<ending>, id_0001..., contiguous. */
static medcl_status case_images(const medcl_dataset *d, const char *dir, const char *id,
                                medcl_case *c) {
    int maxf = d->n_channels;
    c->files = calloc((size_t)maxf, sizeof(char *));
    if (!c->files) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    char **files = (char **)c->files;
    for (int k = 0; k < maxf; k++) {
        char *p = medcl_data_strdupf("%s/%s_%04d%s", dir, id, k, d->file_ending);
        if (!p) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
        if (!is_file(p)) {
            /* a PNG file may hold several channels (RGB): only then may files stop early */
            bool ok = k > 0 && !strcmp(d->file_ending, ".png");
            if (!ok) {
                medcl_status st = medcl_fail(MEDCL_ERR_NOT_FOUND,
                                             "%s: missing image file %s (case %s, channel %d of %d)",
                                             d->name, p, id, k, d->n_channels);
                free(p);
                return st;
            }
            free(p);
            break;
        }
        files[k] = p;
        c->n_files = k + 1;
    }
    char *extra = medcl_data_strdupf("%s/%s_%04d%s", dir, id, maxf, d->file_ending);
    if (!extra) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    bool bad = is_file(extra);
    medcl_status st = MEDCL_OK;
    if (bad)
        st = medcl_fail(MEDCL_ERR_FORMAT, "%s: %s exists but channel_names lists %d channels",
                        d->name, extra, maxf);
    free(extra);
    return st;
}

static medcl_status discover_training(medcl_dataset *d, int num_training) {
    medcl_status st = MEDCL_OK;
    char **names = NULL;
    int n = 0;
    char *ldir = medcl_data_strdupf("%s/labelsTr", d->root);
    char *idir = medcl_data_strdupf("%s/imagesTr", d->root);
    if (!ldir || !idir) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    MEDCL_TRY(list_dir(ldir, d->file_ending, true, &names, &n));
    if (n != num_training)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.numTraining: %d, but %s holds %d files ending in %s",
                   d->name, num_training, ldir, n, d->file_ending);
    d->cases = calloc((size_t)n + 1, sizeof(medcl_case));
    if (!d->cases) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    for (int i = 0; i < n; i++) {
        medcl_case *c = &d->cases[i];
        d->n_cases = i + 1;
        size_t len = strlen(names[i]) - strlen(d->file_ending);
        char *id = malloc(len + 1);
        if (!id) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
        memcpy(id, names[i], len);
        id[len] = 0;
        c->id = id;
        c->class_label = -1;
        if (!(c->label_file = medcl_data_strdupf("%s/%s", ldir, names[i])))
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
        MEDCL_TRY(case_images(d, idir, id, c));
    }
    /* domains: every case named exactly once, no unknown case */
    if (d->n_dom_map > 0) {
        for (int j = 0; j < d->n_dom_map; j++) {
            int i = medcl_dataset_find(d, d->dom_map_case[j]);
            if (i < 0)
                MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.domains.%s: no such training case in %s",
                           d->name, d->dom_map_case[j], ldir);
            d->cases[i].domain = d->dom_map_domain[j];
        }
        if (d->n_dom_map != n)
            for (int i = 0; i < n; i++) {
                bool found = false;
                for (int j = 0; j < d->n_dom_map && !found; j++)
                    found = !strcmp(d->dom_map_case[j], d->cases[i].id);
                if (!found)
                    MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: $.domains: case %s has no domain", d->name,
                               d->cases[i].id);
            }
    }
cleanup:
    free_strs(names, n);
    free(ldir);
    free(idir);
    return st;
}

static medcl_status discover_test(medcl_dataset *d) {
    medcl_status st = MEDCL_OK;
    char **names = NULL;
    int n = 0;
    char *tdir = medcl_data_strdupf("%s/imagesTs", d->root);
    if (!tdir) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    MEDCL_TRY(list_dir(tdir, d->file_ending, false, &names, &n));
    d->test = calloc((size_t)n + 1, sizeof(medcl_case));
    if (!d->test) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]) - strlen(d->file_ending);
        if (len < 6 || names[i][len - 5] != '_' || strncmp(names[i] + len - 4, "0000", 4))
            continue; /* only the _0000 file starts a case */
        medcl_case *c = &d->test[d->n_test++];
        char *id = malloc(len - 4);
        if (!id) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
        memcpy(id, names[i], len - 5);
        id[len - 5] = 0;
        c->id = id;
        c->class_label = -1;
        MEDCL_TRY(case_images(d, tdir, id, c));
    }
cleanup:
    free_strs(names, n);
    free(tdir);
    return st;
}

static medcl_status open_nnunet(const char *dir, const medcl_dataset_options *o,
                                medcl_dataset **out) {
    medcl_status st = MEDCL_OK;
    medcl_dataset *d = NULL;
    char *text = NULL;
    size_t n = 0;
    int nt = 0;
    char *jp = medcl_data_strdupf("%s/dataset.json", dir);
    if (!jp) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    MEDCL_TRY(medcl_file_read_all(jp, MAX_JSON_BYTES, (void **)&text, &n));
    d = dataset_new(MEDCL_DATASET_SEGMENTATION, dir, jp);
    if (!d) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    MEDCL_TRY(parse_json_doc(d, text, n, jp, o, &nt));
    if (d->n_domains == 0 && domain_intern(d, "") < 0)
        MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    MEDCL_TRY(discover_training(d, nt));
    MEDCL_TRY(discover_test(d));
    *out = d;
    d = NULL;
cleanup:
    free(jp);
    free(text);
    medcl_dataset_destroy(d);
    return st;
}

/* ---------------------------------------------------------------- classification CSV */

typedef struct {
    char **f;
    int n, cap;
} csv_row;

static void row_clear(csv_row *r) {
    for (int i = 0; i < r->n; i++) free(r->f[i]);
    r->n = 0;
}

/* Parses one record starting at *p (RFC 4180 subset); advances *p past the line end. */
static medcl_status csv_record(const char **p, const char *end, const char *nm, int line,
                               csv_row *r) {
    const char *s = *p;
    row_clear(r);
    for (;;) {
        size_t cap = 16, len = 0;
        char *buf = malloc(cap);
        if (!buf) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        bool quoted = s < end && *s == '"';
        if (quoted) s++;
        for (;;) {
            if (s >= end) {
                if (quoted) {
                    free(buf);
                    return medcl_fail(MEDCL_ERR_FORMAT, "%s:%d: column %d: unterminated quote", nm,
                                      line, r->n + 1);
                }
                break;
            }
            char ch = *s;
            if (quoted) {
                if (ch == '"') {
                    if (s + 1 < end && s[1] == '"') {
                        s += 2;
                        ch = '"';
                    } else {
                        s++;
                        quoted = false;
                        if (s < end && *s != ',' && *s != '\n' && *s != '\r') {
                            free(buf);
                            return medcl_fail(MEDCL_ERR_FORMAT,
                                              "%s:%d: column %d: text after closing quote", nm,
                                              line, r->n + 1);
                        }
                        continue;
                    }
                } else {
                    s++;
                }
            } else {
                if (ch == ',' || ch == '\n' || ch == '\r') break;
                if (ch == '"') {
                    free(buf);
                    return medcl_fail(MEDCL_ERR_FORMAT, "%s:%d: column %d: quote inside an "
                                      "unquoted field", nm, line, r->n + 1);
                }
                s++;
            }
            if (len + 2 > cap) {
                cap *= 2;
                char *g = realloc(buf, cap);
                if (!g) {
                    free(buf);
                    return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
                }
                buf = g;
            }
            buf[len++] = ch;
        }
        buf[len] = 0;
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 4;
            char **g = realloc(r->f, (size_t)r->cap * sizeof *g);
            if (!g) {
                free(buf);
                return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
            }
            r->f = g;
        }
        r->f[r->n++] = buf;
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        break;
    }
    if (s < end && *s == '\r') s++;
    if (s < end && *s == '\n') s++;
    *p = s;
    return MEDCL_OK;
}

static bool parse_nonneg_int(const char *s, int *out) {
    if (!*s) return false;
    long v = 0;
    for (const char *q = s; *q; q++) {
        if (*q < '0' || *q > '9') return false;
        v = v * 10 + (*q - '0');
        if (v > 1000000) return false;
    }
    *out = (int)v;
    return true;
}

static medcl_status parse_csv(medcl_dataset *d, const char *text, size_t n, const char *dir,
                              bool check_files) {
    medcl_status st = MEDCL_OK;
    const char *nm = d->name;
    const char *p = text, *end = text + n;
    csv_row r = {0};
    char **labels = NULL;
    int line = 1, col_file = -1, col_label = -1, col_domain = -1, ncols = 0, cap = 0;
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 BOM */
    MEDCL_TRY(csv_record(&p, end, nm, line, &r));
    ncols = r.n;
    for (int i = 0; i < r.n; i++) {
        int *slot = !strcmp(r.f[i], "file") ? &col_file
                    : !strcmp(r.f[i], "label") ? &col_label
                    : !strcmp(r.f[i], "domain") ? &col_domain
                                                 : NULL;
        if (!slot)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:1: column %d: unknown column \"%.40s\" (expected "
                       "file, label, domain)", nm, i + 1, r.f[i]);
        if (*slot >= 0)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:1: column %d: duplicate column \"%s\"", nm, i + 1,
                       r.f[i]);
        *slot = i;
    }
    if (col_file < 0 || col_label < 0)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:1: header must name the columns file and label", nm);
    while (p < end) {
        line++;
        const char *start = p;
        MEDCL_TRY(csv_record(&p, end, nm, line, &r));
        if (r.n == 1 && !r.f[0][0] && p - start <= 2) continue; /* blank line */
        if (r.n != ncols)
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:%d: %d columns, the header has %d", nm, line, r.n,
                       ncols);
        if (!r.f[col_file][0])
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:%d: column %d (file): empty", nm, line, col_file + 1);
        if (!r.f[col_label][0])
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:%d: column %d (label): empty", nm, line,
                       col_label + 1);
        const char *fn = r.f[col_file];
        if (!ends_with(fn, ".png") && !ends_with(fn, ".nii") && !ends_with(fn, ".nii.gz"))
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s:%d: column %d (file): \"%.80s\" is not .png, .nii "
                       "or .nii.gz", nm, line, col_file + 1, fn);
        if (d->n_cases == cap) {
            cap = cap ? 2 * cap : 64;
            medcl_case *g = realloc(d->cases, (size_t)cap * sizeof *g);
            char **gl = realloc(labels, (size_t)cap * sizeof *gl);
            if (gl) labels = gl;
            if (g) d->cases = g;
            if (!g || !gl) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        }
        medcl_case *c = &d->cases[d->n_cases];
        memset(c, 0, sizeof *c);
        labels[d->n_cases] = NULL;
        d->n_cases++;
        char **files = calloc(1, sizeof(char *));
        c->files = (const char *const *)files;
        if (!files) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        files[0] = fn[0] == '/' ? strdup(fn) : medcl_data_strdupf("%s/%s", dir, fn);
        c->n_files = 1;
        c->id = strdup(fn);
        labels[d->n_cases - 1] = strdup(r.f[col_label]);
        if (!files[0] || !c->id || !labels[d->n_cases - 1])
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        if (check_files && !is_file(files[0]))
            MEDCL_FAIL(MEDCL_ERR_NOT_FOUND, "%s:%d: column %d (file): %s does not exist", nm,
                       line, col_file + 1, files[0]);
        int dk = domain_intern(d, col_domain >= 0 ? r.f[col_domain] : "");
        if (dk < 0) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        c->domain = dk;
    }
    if (d->n_cases == 0) MEDCL_FAIL(MEDCL_ERR_FORMAT, "%s: no rows after the header", nm);
    /* classes: integers as given, else sorted distinct names */
    bool all_int = true;
    int maxc = -1;
    for (int i = 0; i < d->n_cases; i++) {
        int v;
        if (!parse_nonneg_int(labels[i], &v)) {
            all_int = false;
            break;
        }
        d->cases[i].class_label = v;
        if (v > maxc) maxc = v;
    }
    if (all_int) {
        d->n_classes = maxc + 1;
        d->class_names = calloc((size_t)d->n_classes, sizeof(char *));
        if (!d->class_names) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        for (int k = 0; k < d->n_classes; k++)
            if (!(d->class_names[k] = medcl_data_strdupf("%d", k)))
                MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
    } else {
        char **u = malloc((size_t)d->n_cases * sizeof *u);
        if (!u) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        memcpy(u, labels, (size_t)d->n_cases * sizeof *u);
        qsort(u, (size_t)d->n_cases, sizeof *u, cmp_str);
        int k = 0;
        for (int i = 0; i < d->n_cases; i++)
            if (i == 0 || strcmp(u[i], u[i - 1])) u[k++] = u[i];
        d->class_names = calloc((size_t)k, sizeof(char *));
        if (!d->class_names) {
            free(u);
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        }
        d->n_classes = k;
        for (int j = 0; j < k; j++) d->class_names[j] = strdup(u[j]);
        free(u);
        for (int j = 0; j < k; j++)
            if (!d->class_names[j]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", nm);
        for (int i = 0; i < d->n_cases; i++) {
            char **hit = bsearch(&labels[i], d->class_names, (size_t)k, sizeof(char *), cmp_str);
            d->cases[i].class_label = (int)(hit - d->class_names);
        }
    }
cleanup:
    row_clear(&r);
    free(r.f);
    if (labels)
        for (int i = 0; i < d->n_cases; i++) free(labels[i]);
    free(labels);
    return st;
}

static medcl_status csv_setup(medcl_dataset *d) {
    d->n_channels = 1;
    d->channel_names = calloc(1, sizeof(char *));
    d->norms = calloc(1, sizeof(medcl_norm_scheme));
    if (!d->channel_names || !d->norms || !(d->channel_names[0] = strdup("image")))
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    d->norms[0] = MEDCL_NORM_ZSCORE;
    return MEDCL_OK;
}

medcl_status medcl_dataset_parse_csv(const char *text, size_t n, const char *name,
                                     const char *dir, medcl_dataset **out) {
    medcl_status st = MEDCL_OK;
    medcl_dataset *d = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "dataset_parse_csv: out is NULL");
    *out = NULL;
    if (!text) return medcl_fail(MEDCL_ERR_INVALID_ARG, "dataset_parse_csv: text is NULL");
    d = dataset_new(MEDCL_DATASET_CLASSIFICATION, dir ? dir : ".", name ? name : "labels.csv");
    if (!d) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "dataset_parse_csv: out of memory");
    MEDCL_TRY(csv_setup(d));
    MEDCL_TRY(parse_csv(d, text, n, d->root, false));
    *out = d;
    d = NULL;
cleanup:
    medcl_dataset_destroy(d);
    return st;
}

static medcl_status open_csv(const char *path, const medcl_dataset_options *o,
                             medcl_dataset **out) {
    medcl_status st = MEDCL_OK;
    medcl_dataset *d = NULL;
    char *text = NULL, *dir = NULL;
    size_t n = 0;
    MEDCL_TRY(medcl_file_read_all(path, MAX_CSV_BYTES, (void **)&text, &n));
    if (o->image_dir) {
        dir = strdup(o->image_dir);
    } else {
        const char *slash = strrchr(path, '/');
        dir = slash ? medcl_data_strdupf("%.*s", (int)(slash - path), path) : strdup(".");
    }
    if (!dir) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    d = dataset_new(MEDCL_DATASET_CLASSIFICATION, dir, path);
    if (!d) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "dataset: out of memory");
    MEDCL_TRY(csv_setup(d));
    MEDCL_TRY(parse_csv(d, text, n, dir, o->check_files != 0));
    *out = d;
    d = NULL;
cleanup:
    free(text);
    free(dir);
    medcl_dataset_destroy(d);
    return st;
}

medcl_status medcl_dataset_open(const char *path, const medcl_dataset_options *opt,
                                medcl_dataset **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "dataset_open: out is NULL");
    *out = NULL;
    if (!path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "dataset_open: path is NULL");
    medcl_dataset_options o = opts_or_default(opt);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return medcl_fail(MEDCL_ERR_NOT_FOUND, "dataset_open: %s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return open_nnunet(path, &o, out);
    if (ends_with(path, ".csv")) return open_csv(path, &o, out);
    return medcl_fail(MEDCL_ERR_INVALID_ARG,
                      "dataset_open: %s is neither a folder with dataset.json nor a .csv file",
                      path);
}

/* ---------------------------------------------------------------- accessors */

medcl_dataset_kind medcl_dataset_kind_of(const medcl_dataset *d) { return d->kind; }
const char *medcl_dataset_root(const medcl_dataset *d) { return d->root; }
int medcl_dataset_count(const medcl_dataset *d) { return d ? d->n_cases : 0; }
const medcl_case *medcl_dataset_case(const medcl_dataset *d, int i) {
    return d && i >= 0 && i < d->n_cases ? &d->cases[i] : NULL;
}
int medcl_dataset_test_count(const medcl_dataset *d) { return d ? d->n_test : 0; }
const medcl_case *medcl_dataset_test_case(const medcl_dataset *d, int i) {
    return d && i >= 0 && i < d->n_test ? &d->test[i] : NULL;
}
int medcl_dataset_find(const medcl_dataset *d, const char *id) {
    for (int i = 0; d && id && i < d->n_cases; i++)
        if (!strcmp(d->cases[i].id, id)) return i;
    return -1;
}
int medcl_dataset_channel_count(const medcl_dataset *d) { return d ? d->n_channels : 0; }
const char *medcl_dataset_channel_name(const medcl_dataset *d, int c) {
    return d && c >= 0 && c < d->n_channels ? d->channel_names[c] : NULL;
}
medcl_norm_scheme medcl_dataset_channel_norm(const medcl_dataset *d, int c) {
    return d && c >= 0 && c < d->n_channels ? d->norms[c] : MEDCL_NORM_NONE;
}
int medcl_dataset_class_count(const medcl_dataset *d) { return d ? d->n_classes : 0; }
const char *medcl_dataset_class_name(const medcl_dataset *d, int k) {
    return d && k >= 0 && k < d->n_classes ? d->class_names[k] : NULL;
}
int medcl_dataset_ignore_label(const medcl_dataset *d) { return d ? d->ignore_label : -1; }
const char *medcl_dataset_file_ending(const medcl_dataset *d) {
    return d && d->file_ending ? d->file_ending : "";
}
int medcl_dataset_domain_count(const medcl_dataset *d) { return d ? d->n_domains : 0; }
const char *medcl_dataset_domain_name(const medcl_dataset *d, int k) {
    return d && k >= 0 && k < d->n_domains ? d->domain_names[k] : NULL;
}
int medcl_dataset_domain_find(const medcl_dataset *d, const char *name) {
    for (int i = 0; d && name && i < d->n_domains; i++)
        if (!strcmp(d->domain_names[i], name)) return i;
    return -1;
}
