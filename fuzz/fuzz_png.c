/* fuzz/fuzz_png.c — libFuzzer harness for the PNG image and label-map readers from memory.
 * Leaves out the writers. A 4 Mpixel budget keeps each run fast; the readers must never crash,
 * leak or read out of bounds. */
#include "medcl/data_io.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    medcl_png_read_options o = MEDCL_PNG_READ_OPTIONS_INIT;
    o.max_pixels = (int64_t)4 << 20;
    medcl_image2d *im = NULL;
    if (medcl_png_read_memory(data, size, "fuzz.png", &o, &im) == MEDCL_OK) {
        volatile float sink = im->data[0];
        (void)sink;
    }
    medcl_image2d_free(im);
    medcl_labels2d *lab = NULL;
    if (medcl_png_read_labels_memory(data, size, "fuzz.png", &o, &lab) == MEDCL_OK) {
        volatile uint16_t sink = lab->data[0];
        (void)sink;
    }
    medcl_labels2d_free(lab);
    return 0;
}
