/* fuzz/fuzz_dataset_json.c — libFuzzer harness for the dataset.json parser (from memory, no
 * files touched), with and without allow_unknown_keys (chosen by the last byte), and for the
 * classification CSV parser on the same bytes. Every accessor is walked on success. The
 * parsers must never crash, leak or read out of bounds. Leaves out folder discovery. */
#include "medcl/data.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const medcl_dataset *d) {
    volatile size_t sink = 0;
    for (int c = 0; c < medcl_dataset_channel_count(d); c++) {
        sink += strlen(medcl_dataset_channel_name(d, c));
        sink += (size_t)medcl_dataset_channel_norm(d, c);
    }
    for (int k = 0; k < medcl_dataset_class_count(d); k++) {
        const char *n = medcl_dataset_class_name(d, k);
        sink += n ? strlen(n) : 0;
    }
    for (int k = 0; k < medcl_dataset_domain_count(d); k++)
        sink += strlen(medcl_dataset_domain_name(d, k));
    for (int i = 0; i < medcl_dataset_count(d); i++) {
        const medcl_case *c = medcl_dataset_case(d, i);
        sink += strlen(c->id) + strlen(c->files[0]) + (size_t)c->domain;
    }
    sink += strlen(medcl_dataset_file_ending(d));
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    medcl_dataset_options o = MEDCL_DATASET_OPTIONS_INIT;
    o.allow_unknown_keys = size > 0 && (data[size - 1] & 1);
    medcl_dataset *d = NULL;
    if (medcl_dataset_parse_json((const char *)data, size, "fuzz.json", &o, &d) == MEDCL_OK)
        walk(d);
    medcl_dataset_destroy(d);
    d = NULL;
    if (medcl_dataset_parse_csv((const char *)data, size, "fuzz.csv", "/data", &d) == MEDCL_OK)
        walk(d);
    medcl_dataset_destroy(d);
    return 0;
}
