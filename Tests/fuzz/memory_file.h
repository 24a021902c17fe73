/* A file in memory for the targets whose input is a file (gguf, adapter):
** a memfd that the library opens by its /proc path and maps as it maps any
** file, rewritten with each input. The including target defines _GNU_SOURCE
** before its first include (memfd_create). */
#ifndef SWIFTLET_FUZZ_MEMORY_FILE_H
#define SWIFTLET_FUZZ_MEMORY_FILE_H

#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"

typedef struct {
    int fd;
    char path[64];
} fuzz_memory_file;

static inline void fuzz_memory_file_open(fuzz_memory_file *file, const char *name) {
    file->fd = memfd_create(name, 0);
    if (file->fd < 0) {
        perror("memfd_create");
        exit(2);
    }
    snprintf(file->path, sizeof file->path, "/proc/self/fd/%d", file->fd);
}

/* Makes the file hold exactly `data`. */
static inline void fuzz_memory_file_write(const fuzz_memory_file *file, const uint8_t *data, size_t size) {
    FUZZ_REQUIRE(ftruncate(file->fd, 0) == 0);
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(file->fd, data + done, size - done, (off_t)done);
        FUZZ_REQUIRE(n > 0);
        done += (size_t)n;
    }
}

#endif
