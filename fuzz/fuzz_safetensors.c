/* fuzz/fuzz_safetensors.c — libFuzzer harness for the safetensors reader
 * (medcl_safetensors_parse) from memory. Every accepted file must give tensors whose data lie
 * inside the buffer (first and last bytes are touched), and must serialize and parse again
 * (a round trip the writer has to accept); anything else is a finding (trap). Leaves out:
 * checkpoint loading into a graph (needs a device). */
#include "medcl/nn.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    medcl_safetensors *f = NULL;
    if (medcl_safetensors_parse(data, size, "fuzz.safetensors", &f) != MEDCL_OK) return 0;
    int n = medcl_safetensors_count(f), nm = medcl_safetensors_meta_count(f);
    medcl_st_tensor *t = malloc((size_t)(n ? n : 1) * sizeof *t);
    medcl_st_meta *m = malloc((size_t)(nm ? nm : 1) * sizeof *m);
    if (!t || !m) __builtin_trap();
    volatile uint8_t sink = 0;
    for (int i = 0; i < n; i++) {
        t[i] = *medcl_safetensors_at(f, i);
        if (t[i].bytes) {
            const uint8_t *b = t[i].data;
            sink ^= b[0];
            sink ^= b[t[i].bytes - 1];
        }
        if (medcl_safetensors_find(f, t[i].name) == NULL) __builtin_trap();
    }
    for (int i = 0; i < nm; i++) {
        m[i] = *medcl_safetensors_meta_at(f, i);
        if (medcl_safetensors_meta(f, m[i].key) == NULL) __builtin_trap();
    }
    (void)sink;
    void *out = NULL;
    size_t len = 0;
    if (medcl_safetensors_serialize(t, n, m, nm, &out, &len) != MEDCL_OK) __builtin_trap();
    medcl_safetensors *g = NULL;
    if (medcl_safetensors_parse(out, len, "roundtrip", &g) != MEDCL_OK) __builtin_trap();
    if (medcl_safetensors_count(g) != n || medcl_safetensors_meta_count(g) != nm) __builtin_trap();
    medcl_safetensors_close(g);
    free(out);
    free(t);
    free(m);
    medcl_safetensors_close(f);
    return 0;
}
