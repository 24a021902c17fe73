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

#endif
