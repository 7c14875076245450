/* fuzz/fuzz_cache_entry.c — libFuzzer harness for the program-cache entry reader: any bytes
 * must decode or be rejected, never read out of bounds. The first 16 bytes choose the key. */
#include <stdint.h>
#include <string.h>

#include "runtime/runtime_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t hi = 0, lo = 0;
    if (size >= 16) {
        memcpy(&hi, data, 8);
        memcpy(&lo, data + 8, 8);
        data += 16;
        size -= 16;
    }
    const unsigned char *bin = NULL;
    size_t len = 0;
    if (medcl_cache_entry_decode(data, size, hi, lo, &bin, &len) == MEDCL_OK) {
        /* a decoded payload lies inside the input */
        if (bin < data || bin + len > data + size) __builtin_trap();
    }
    return 0;
}
