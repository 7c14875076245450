/* src/runtime/device.c — enumerating OpenCL platforms and devices, describing each, choosing
 * one from a selector, and OpenCL error names. */
#include "runtime_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *medcl_cl_error_name(cl_int err) {
    switch (err) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
    E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
    E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
    E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
    E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
    E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
    E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
    E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
    E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
    E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
    E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
    E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "CL_UNKNOWN_ERROR";
    }
}

medcl_status medcl_cl_fail(cl_int err, const char *what, const char *file, int line) {
    const char *base = strrchr(file, '/');
    return medcl_fail(MEDCL_ERR_DEVICE, "%s failed: %s (%d) at %s:%d", what,
                      medcl_cl_error_name(err), (int)err, base ? base + 1 : file, line);
}

const char *medcl_device_type_str(medcl_device_type t) {
    switch (t) {
    case MEDCL_DEVICE_TYPE_CPU: return "cpu";
    case MEDCL_DEVICE_TYPE_GPU: return "gpu";
    case MEDCL_DEVICE_TYPE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

static void get_str(cl_device_id d, cl_device_info what, char *buf, size_t cap) {
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, cap, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[cap - 1] = '\0';
    /* trim trailing spaces some drivers leave */
    size_t n = strlen(buf);
    while (n > 0 && isspace((unsigned char)buf[n - 1])) buf[--n] = '\0';
}

static void describe(cl_platform_id p, cl_device_id d, medcl_device_info *inf) {
    char ext[8192];
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof inf->platform, inf->platform, NULL) !=
        CL_SUCCESS)
        inf->platform[0] = '\0';
    inf->platform[sizeof inf->platform - 1] = '\0';
    get_str(d, CL_DEVICE_VENDOR, inf->vendor, sizeof inf->vendor);
    get_str(d, CL_DEVICE_NAME, inf->name, sizeof inf->name);
    get_str(d, CL_DEVICE_VERSION, inf->version, sizeof inf->version);
    get_str(d, CL_DRIVER_VERSION, inf->driver, sizeof inf->driver);
    get_str(d, CL_DEVICE_OPENCL_C_VERSION, inf->c_version, sizeof inf->c_version);
    inf->c_major = 1;
    inf->c_minor = 0;
    sscanf(inf->c_version, "OpenCL C %d.%d", &inf->c_major, &inf->c_minor);
    cl_device_type t = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    inf->type = (t & CL_DEVICE_TYPE_GPU)           ? MEDCL_DEVICE_TYPE_GPU
                : (t & CL_DEVICE_TYPE_CPU)         ? MEDCL_DEVICE_TYPE_CPU
                : (t & CL_DEVICE_TYPE_ACCELERATOR) ? MEDCL_DEVICE_TYPE_ACCELERATOR
                                                   : MEDCL_DEVICE_TYPE_OTHER;
    cl_uint u = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL);
    inf->compute_units = u;
    u = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u, NULL);
    inf->clock_mhz = u;
    cl_ulong ul = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof ul, &ul, NULL);
    inf->global_mem = ul;
    ul = 0;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ul, &ul, NULL);
    inf->local_mem = ul;
    ul = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ul, &ul, NULL);
    inf->max_alloc = ul;
    size_t sz = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof sz, &sz, NULL);
    inf->max_work_group = sz;
    get_str(d, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    inf->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    inf->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
    inf->subgroups = strstr(ext, "cl_khr_subgroups") != NULL ||
                     strstr(ext, "cl_intel_subgroups") != NULL;
    inf->float_atomics = strstr(ext, "cl_ext_float_atomics") != NULL;
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    inf->fast_fma = (fp & CL_FP_FMA) && !(fp & CL_FP_SOFT_FLOAT);
}

/* Enumerates into a list with the matching cl handles. */
medcl_status medcl_devices_enumerate(medcl_device_info **out, cl_platform_id **plats,
                                     cl_device_id **devs, int *count);
medcl_status medcl_devices_enumerate(medcl_device_info **out, cl_platform_id **plats,
                                     cl_device_id **devs, int *count) {
    medcl_status st = MEDCL_OK;
    cl_uint np = 0;
    cl_platform_id *pl = NULL;
    medcl_device_info *list = NULL;
    cl_platform_id *lp = NULL;
    cl_device_id *ld = NULL;
    int n = 0, cap = 0;
    *out = NULL;
    *count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 || np == 0)
        MEDCL_FAIL(MEDCL_ERR_NOT_FOUND,
                   "no OpenCL platform found (clGetPlatformIDs: %s; ICD files in "
                   "/etc/OpenCL/vendors or OCL_ICD_VENDORS); install pocl-opencl-icd for CPUs",
                   medcl_cl_error_name(err));
    MEDCL_CL(err);
    pl = calloc(np, sizeof *pl);
    if (!pl) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "devices: out of memory");
    MEDCL_CL(clGetPlatformIDs(np, pl, NULL));
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(pl[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        cl_device_id *ds = calloc(nd, sizeof *ds);
        if (!ds) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "devices: out of memory");
        if (clGetDeviceIDs(pl[p], CL_DEVICE_TYPE_ALL, nd, ds, NULL) != CL_SUCCESS) {
            free(ds);
            continue;
        }
        for (cl_uint d = 0; d < nd; d++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                medcl_device_info *nl = realloc(list, (size_t)cap * sizeof *nl);
                cl_platform_id *np2 = realloc(lp, (size_t)cap * sizeof *np2);
                if (np2) lp = np2;
                cl_device_id *nd2 = realloc(ld, (size_t)cap * sizeof *nd2);
                if (nd2) ld = nd2;
                if (!nl || !np2 || !nd2) {
                    if (nl) list = nl;
                    free(ds);
                    MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "devices: out of memory");
                }
                list = nl;
            }
            memset(&list[n], 0, sizeof list[n]);
            describe(pl[p], ds[d], &list[n]);
            list[n].index = n;
            list[n].platform_index = (int)p;
            list[n].device_index = (int)d;
            lp[n] = pl[p];
            ld[n] = ds[d];
            n++;
        }
        free(ds);
    }
    if (n == 0)
        MEDCL_FAIL(MEDCL_ERR_NOT_FOUND, "no OpenCL device found on %u platform(s)", (unsigned)np);
    *out = list;
    list = NULL;
    *count = n;
    if (plats) { *plats = lp; lp = NULL; }
    if (devs) { *devs = ld; ld = NULL; }
cleanup:
    free(pl);
    free(list);
    free(lp);
    free(ld);
    return st;
}

medcl_status medcl_devices_list(medcl_device_info **out, int *count) {
    return medcl_devices_enumerate(out, NULL, NULL, count);
}

void medcl_devices_free(medcl_device_info *list) { free(list); }

static bool icontains(const char *hay, const char *needle) {
    size_t nl = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < nl && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl) return true;
    }
    return nl == 0;
}

/* Index of the device matching selector in list, or -1. */
int medcl_device_match(const medcl_device_info *list, int n, const char *sel);
int medcl_device_match(const medcl_device_info *list, int n, const char *sel) {
    if (!sel || !sel[0]) {
        for (int i = 0; i < n; i++)
            if (list[i].type == MEDCL_DEVICE_TYPE_GPU) return i;
        return n > 0 ? 0 : -1;
    }
    medcl_device_type want = MEDCL_DEVICE_TYPE_COUNT;
    if (!strcmp(sel, "gpu") || !strcmp(sel, "GPU")) want = MEDCL_DEVICE_TYPE_GPU;
    if (!strcmp(sel, "cpu") || !strcmp(sel, "CPU")) want = MEDCL_DEVICE_TYPE_CPU;
    if (!strcmp(sel, "accelerator") || !strcmp(sel, "fpga")) want = MEDCL_DEVICE_TYPE_ACCELERATOR;
    if (want != MEDCL_DEVICE_TYPE_COUNT) {
        for (int i = 0; i < n; i++)
            if (list[i].type == want) return i;
        return -1;
    }
    int p, d, used = 0;
    if (sscanf(sel, "%d:%d%n", &p, &d, &used) == 2 && sel[used] == '\0') {
        for (int i = 0; i < n; i++)
            if (list[i].platform_index == p && list[i].device_index == d) return i;
        return -1;
    }
    char *end = NULL;
    long idx = strtol(sel, &end, 10);
    if (end && *end == '\0' && end != sel) return (idx >= 0 && idx < n) ? (int)idx : -1;
    for (int i = 0; i < n; i++)
        if (icontains(list[i].name, sel)) return i;
    for (int i = 0; i < n; i++)
        if (icontains(list[i].platform, sel) || icontains(list[i].vendor, sel)) return i;
    return -1;
}

/* Message listing the devices found, for NOT_FOUND errors. */
medcl_status medcl_device_not_found(const medcl_device_info *list, int n, const char *sel);
medcl_status medcl_device_not_found(const medcl_device_info *list, int n, const char *sel) {
    char buf[3000];
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < sizeof buf - 1; i++) {
        int w = snprintf(buf + used, sizeof buf - used, "%s[%d] %d:%d %s (%s, %s)",
                         i ? "; " : "", i, list[i].platform_index, list[i].device_index,
                         list[i].name, medcl_device_type_str(list[i].type), list[i].platform);
        if (w < 0) break;
        used += (size_t)w;
    }
    return medcl_fail(MEDCL_ERR_NOT_FOUND,
                      "MEDCL_DEVICE=\"%s\" matches no OpenCL device; found %d: %s "
                      "(use gpu, cpu, accelerator, an index, platform:device or a name substring)",
                      sel, n, buf);
}

medcl_status medcl_device_select(const char *selector, medcl_device_info *out) {
    medcl_device_info *list = NULL;
    int n = 0;
    medcl_status st = medcl_devices_list(&list, &n);
    if (st != MEDCL_OK) return st;
    const char *sel = (selector && selector[0]) ? selector : medcl_env("MEDCL_DEVICE");
    int i = medcl_device_match(list, n, sel);
    if (i < 0) {
        st = medcl_device_not_found(list, n, sel ? sel : "");
    } else {
        *out = list[i];
    }
    free(list);
    return st;
}
