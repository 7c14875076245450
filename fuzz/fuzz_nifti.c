/* fuzz/fuzz_nifti.c — libFuzzer harness for the NIfTI reader (raw and gzip) from memory.
 * Leaves out the writer and the file path (covered by tests/test_data_nifti.c). A small data
 * limit keeps each run fast; the reader must never crash, leak or read out of bounds. */
#include "medcl/data_io.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    medcl_nifti_read_options o = MEDCL_NIFTI_READ_OPTIONS_INIT;
    o.max_data_bytes = (size_t)64 << 20;
    o.allow_bad_pixdim = size > 0 && (data[size - 1] & 1);
    medcl_log_set_level(MEDCL_LOG_ERROR); /* allow_bad_pixdim warnings would flood the output */
    medcl_volume *v = NULL;
    if (medcl_nifti_read_memory(data, size, "fuzz.nii", &o, &v) == MEDCL_OK) {
        volatile float sink = v->data[0];
        (void)sink;
    }
    medcl_volume_free(v);
    return 0;
}
