// Arena memory for the engine: weights converted at load time, KV caches and
// scratch buffers. Backed by a private, statically linked jemalloc when the
// build defines SWIFTLET_JEMALLOC (see scripts/build-jemalloc.sh), by the
// system allocator otherwise. Memory from one is never passed to the other.
#ifndef SWIFTLET_ALLOCATOR_H
#define SWIFTLET_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

// A private arena; 0 when the system allocator is in use.
typedef unsigned sla_arena;

// Creates an arena whose memory is released when the arena is destroyed.
// Returns 0 on success.
int sla_arena_create(sla_arena *out_arena);

// Returns every page of the arena to the system. All its blocks must have been freed.
void sla_arena_destroy(sla_arena arena);

// `size` bytes aligned to `alignment` (a power of two ≥ sizeof(void *)) from
// `arena`, or NULL. Counted in sla_bytes_allocated().
void *sla_allocate(sla_arena arena, size_t size, size_t alignment);

// Frees a block from sla_allocate; `size` must be the size it was allocated with.
void sla_free(void *pointer, size_t size);

// Bytes currently allocated through sla_allocate and not yet freed.
uint64_t sla_bytes_allocated(void);

// "jemalloc 5.3.0 (private)" or "system".
const char *sla_allocator_name(void);

#endif
