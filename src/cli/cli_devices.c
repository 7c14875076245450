/* src/cli/cli_devices.c — `medcl devices`: every OpenCL device as a table or JSON. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void json_device(FILE *f, const medcl_device_info *d, bool selected) {
    fprintf(f, "  {\"index\": %d, \"platform_index\": %d, \"device_index\": %d, ", d->index,
            d->platform_index, d->device_index);
    fprintf(f, "\"platform\": ");
    cli_json_str(f, d->platform);
    fprintf(f, ", \"vendor\": ");
    cli_json_str(f, d->vendor);
    fprintf(f, ", \"name\": ");
    cli_json_str(f, d->name);
    fprintf(f, ", \"type\": \"%s\", \"version\": ", medcl_device_type_str(d->type));
    cli_json_str(f, d->version);
    fprintf(f, ", \"driver\": ");
    cli_json_str(f, d->driver);
    fprintf(f, ", \"opencl_c\": ");
    cli_json_str(f, d->c_version);
    fprintf(f,
            ", \"compute_units\": %u, \"clock_mhz\": %u, \"global_mem_bytes\": %llu, "
            "\"local_mem_bytes\": %llu, \"max_alloc_bytes\": %llu, \"max_work_group\": %zu, "
            "\"fp16\": %s, \"fp64\": %s, \"subgroups\": %s, \"float_atomics\": %s, "
            "\"fast_fma\": %s, \"selected\": %s}",
            d->compute_units, d->clock_mhz, (unsigned long long)d->global_mem,
            (unsigned long long)d->local_mem, (unsigned long long)d->max_alloc, d->max_work_group,
            d->fp16 ? "true" : "false", d->fp64 ? "true" : "false",
            d->subgroups ? "true" : "false", d->float_atomics ? "true" : "false",
            d->fast_fma ? "true" : "false", selected ? "true" : "false");
}

int cli_devices(int argc, char **argv) {
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is(argv[i], "--json", NULL)) {
            json = true;
        } else if (cli_is(argv[i], "--help", "-h")) {
            printf("usage: medcl devices [--json]\n"
                   "Lists every OpenCL platform and device; '*' marks the one medcl would use\n"
                   "(MEDCL_DEVICE, else the first GPU, else the first device).\n");
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "medcl devices: unknown option \"%s\"\n", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    medcl_device_info *list = NULL;
    int n = 0;
    medcl_status st = medcl_devices_list(&list, &n);
    if (st != MEDCL_OK) {
        fprintf(stderr, "medcl devices: %s\n", medcl_last_error());
        return CLI_EXIT_NO_DEVICE;
    }
    medcl_device_info sel;
    int selected = -1;
    if (medcl_device_select(NULL, &sel) == MEDCL_OK) selected = sel.index;
    if (json) {
        printf("{\"medcl_version\": \"%s\", \"devices\": [\n", medcl_version());
        for (int i = 0; i < n; i++) {
            json_device(stdout, &list[i], i == selected);
            printf(i + 1 < n ? ",\n" : "\n");
        }
        printf("]}\n");
    } else {
        for (int i = 0; i < n; i++) {
            const medcl_device_info *d = &list[i];
            printf("%c [%d] %d:%d  %s\n", i == selected ? '*' : ' ', d->index, d->platform_index,
                   d->device_index, d->name);
            printf("      platform      %s (%s)\n", d->platform, d->vendor);
            printf("      type          %s\n", medcl_device_type_str(d->type));
            printf("      version       %s; driver %s; %s\n", d->version, d->driver, d->c_version);
            printf("      compute       %u units at %u MHz; max work-group %zu\n", d->compute_units,
                   d->clock_mhz, d->max_work_group);
            printf("      memory        global %.2f GiB, local %.1f KiB, max allocation %.2f GiB\n",
                   (double)d->global_mem / 1073741824.0, (double)d->local_mem / 1024.0,
                   (double)d->max_alloc / 1073741824.0);
            printf("      features      fp16 %s, fp64 %s, subgroups %s, float atomics %s, fma %s\n",
                   d->fp16 ? "yes" : "no", d->fp64 ? "yes" : "no", d->subgroups ? "yes" : "no",
                   d->float_atomics ? "yes" : "no", d->fast_fma ? "yes" : "no");
        }
        if (selected < 0) {
            fprintf(stderr, "medcl devices: %s\n", medcl_last_error());
            free(list);
            return CLI_EXIT_NO_DEVICE;
        }
    }
    free(list);
    return CLI_EXIT_OK;
}
