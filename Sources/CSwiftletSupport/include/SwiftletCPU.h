// Which instruction sets this processor has, asked once at run time so the
// engine picks its AVX2 kernels only where they can run.
#ifndef SWIFTLET_CPU_H
#define SWIFTLET_CPU_H

#include <stdbool.h>
#include <stddef.h>

// True if the CPU (and OS) support AVX2, FMA and F16C: the set the
// SwiftletKernelsAVX2 module is compiled for (-target-cpu haswell).
bool slc_cpu_has_avx2_fma(void);

// True if the CPU (and OS) also support AVX-512 F, CD, BW, DQ, VL and VNNI:
// the set the SwiftletKernelsAVX512 module is compiled for (-target-cpu cascadelake).
bool slc_cpu_has_avx512_vnni(void);

// Writes the CPU features the kernel choice looks at, space-separated ("avx
// avx2 fma ..."), or "none", into `names` (at least 160 bytes). For swiftlet_system_info.
void slc_cpu_feature_names(char *names, size_t size);

// Tells the core a spin-wait is running (x86 `pause`): saves power and
// yields to the sibling hyperthread. A no-op elsewhere.
static inline void slc_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Asks for the cache lines of the weight row SLC_WEIGHT_PREFETCH_ROWS rows
// after `row` (rows `row_bytes` apart) ahead of their use (x86 prefetcht0).
// The weight kernels call it once per row: weights are read from a file
// mapping in 4 KiB pages, and the hardware prefetchers stop at every page
// boundary. Measured on Zen 3, SmolLM2, 1 thread, alternating runs:
// generation Q8_0 48 -> 62 tok/s, Q4_1 53 -> 61; 4 rows ahead beat 2 and 8.
// (The same for the fp16 KV cache's rows in attention gained nothing.)
// Prefetches never fault, so rows past a matrix's end are harmless.
enum { SLC_WEIGHT_PREFETCH_ROWS = 4 };
static inline void slc_prefetch_weight_row(const void *row, size_t row_bytes) {
    const char *ahead = (const char *)row + SLC_WEIGHT_PREFETCH_ROWS * row_bytes;
    for (size_t offset = 0; offset < row_bytes; offset += 64) __builtin_prefetch(ahead + offset, 0, 3);
}

#endif
