#include "SwiftletAllocator.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic uint64_t bytes_allocated;

#ifdef SWIFTLET_JEMALLOC
// Declared here rather than through jemalloc.h so the build needs only the archive.
// The names carry the private prefix given to configure (--with-jemalloc-prefix).
void *swiftlet_je_mallocx(size_t size, int flags);
void swiftlet_je_sdallocx(void *ptr, size_t size, int flags);
int swiftlet_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

// jemalloc's flag encodings (jemalloc_macros.h): log2 alignment in the low
// 6 bits, arena index + 1 shifted by 20, and "no thread cache" as tcache 1 (index -1 + 2).
#define SLA_MALLOCX_LG_ALIGN(la) ((int)(la))
#define SLA_MALLOCX_ARENA(a) ((int)(((unsigned)(a) + 1) << 20))
#define SLA_MALLOCX_TCACHE_NONE ((int)(1u << 8))

static int lg2(size_t v) {
    int r = 0;
    while (((size_t)1 << r) < v) r++;
    return r;
}

int sla_arena_create(sla_arena *out_arena) {
    unsigned index = 0;
    size_t length = sizeof(index);
    if (swiftlet_je_mallctl("arenas.create", &index, &length, NULL, 0) != 0) return -1;
    *out_arena = index;
    return 0;
}

void sla_arena_destroy(sla_arena arena) {
    // "arena.<i>.destroy" releases the arena's pages and recycles its index.
    char name[64];
    snprintf(name, sizeof name, "arena.%u.destroy", arena);
    swiftlet_je_mallctl(name, NULL, NULL, NULL, 0);
}

void *sla_allocate(sla_arena arena, size_t size, size_t alignment) {
    if (size == 0) size = 1;
    void *p = swiftlet_je_mallocx(size, SLA_MALLOCX_LG_ALIGN(lg2(alignment)) | SLA_MALLOCX_ARENA(arena) |
                                            SLA_MALLOCX_TCACHE_NONE);
    if (p) atomic_fetch_add(&bytes_allocated, size);
    return p;
}

void sla_free(void *pointer, size_t size) {
    if (!pointer) return;
    if (size == 0) size = 1;
    swiftlet_je_sdallocx(pointer, size, SLA_MALLOCX_TCACHE_NONE);
    atomic_fetch_sub(&bytes_allocated, size);
}

const char *sla_allocator_name(void) { return "jemalloc 5.3.0 (private)"; }

#else

int sla_arena_create(sla_arena *out_arena) {
    *out_arena = 0;
    return 0;
}

void sla_arena_destroy(sla_arena arena) { (void)arena; }

void *sla_allocate(sla_arena arena, size_t size, size_t alignment) {
    (void)arena;
    if (size == 0) size = 1;
    // aligned_alloc wants a size that is a multiple of the alignment.
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    void *p = aligned_alloc(alignment, rounded);
    if (p) atomic_fetch_add(&bytes_allocated, size);
    return p;
}

void sla_free(void *pointer, size_t size) {
    if (!pointer) return;
    if (size == 0) size = 1;
    free(pointer);
    atomic_fetch_sub(&bytes_allocated, size);
}

const char *sla_allocator_name(void) { return "system"; }

#endif

uint64_t sla_bytes_allocated(void) { return atomic_load(&bytes_allocated); }
