/* fuzz/fuzz_config.c — libFuzzer harness for the `medcl train` config parser (src/cli/config.c,
 * compiled in): any bytes are a valid config or an error naming a JSON path, never a crash. */
#include <stdint.h>
#include <stdlib.h>

#include "../src/cli/config.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cli_config cfg;
    cli_config_init(&cfg);
    (void)cli_config_parse((const char *)data, size, "fuzz.json", NULL, 0, &cfg);
    cli_config_free(&cfg);
    return 0;
}
