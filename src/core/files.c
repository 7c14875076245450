/* src/core/files.c — whole-file reads with a size cap, atomic writes (temporary file in the
 * same folder, fsync, rename, fsync the folder) and mkdir -p. POSIX only. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

medcl_status medcl_file_read_all(const char *path, size_t max_bytes, void **out, size_t *n) {
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return medcl_fail(MEDCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return medcl_fail(MEDCL_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)max_bytes) {
        fclose(f);
        return medcl_fail(MEDCL_ERR_FORMAT, "%s: file size %lld exceeds the limit %zu bytes",
                          path, (long long)sb.st_size, max_bytes);
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (got != size || err) {
        free(buf);
        return medcl_fail(MEDCL_ERR_IO, "%s: read %zu of %zu bytes", path, got, size);
    }
    *out = buf;
    *n = size;
    return MEDCL_OK;
}

medcl_status medcl_file_write_atomic(const char *path, const void *data, size_t n) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 32);
    char *dircopy = strdup(path);
    int fd = -1;
    medcl_status st = MEDCL_OK;
    if (!tmp || !dircopy) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    snprintf(tmp, len + 32, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    fd = mkstemp(tmp);
    if (fd < 0)
        MEDCL_FAIL(MEDCL_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
    const unsigned char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            fd = -1;
            unlink(tmp);
            MEDCL_FAIL(MEDCL_ERR_IO, "%s: write failed after %zu of %zu bytes: %s", path,
                       n - left, n, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    /* mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask) */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) {
        int e = errno;
        close(fd);
        fd = -1;
        unlink(tmp);
        MEDCL_FAIL(MEDCL_ERR_IO, "%s: chmod of the temporary file failed: %s", path, strerror(e));
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        fd = -1;
        unlink(tmp);
        MEDCL_FAIL(MEDCL_ERR_IO, "%s: fsync/close failed: %s", path, strerror(e));
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        MEDCL_FAIL(MEDCL_ERR_IO, "%s: rename failed: %s", path, strerror(e));
    }
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
cleanup:
    if (fd >= 0) close(fd);
    free(tmp);
    free(dircopy);
    return st;
}

medcl_status medcl_mkdir_p(const char *path) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "mkdir: path length %zu out of range", len);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return medcl_fail(MEDCL_ERR_IO, "%s: cannot create folder %s: %s", path, buf,
                                  strerror(errno));
            buf[i] = c;
        }
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return medcl_fail(MEDCL_ERR_IO, "%s: not a folder", path);
    return MEDCL_OK;
}
