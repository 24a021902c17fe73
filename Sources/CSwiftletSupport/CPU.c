#include "SwiftletCPU.h"

#include <string.h>

bool slc_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
           __builtin_cpu_supports("bmi2");
#else
    return false;
#endif
}

bool slc_cpu_has_avx512_vnni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // __builtin_cpu_supports reports AVX-512 features only when the OS saves
    // their register state (XCR0), so this also checks the OS.
    return slc_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return false;
#endif
}

void slc_cpu_feature_names(char *names, size_t size) {
    // Every name below fits: 12 names of at most 10 bytes plus spaces < 160.
    if (size < 160) { if (size) names[0] = 0; return; }
    names[0] = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#define SLC_NOTE(feature) \
    if (__builtin_cpu_supports(feature)) { strcat(names, names[0] ? " " feature : feature); }
    SLC_NOTE("sse4.2") SLC_NOTE("avx") SLC_NOTE("avx2") SLC_NOTE("fma") SLC_NOTE("f16c") SLC_NOTE("bmi2")
    SLC_NOTE("avx512f") SLC_NOTE("avx512cd") SLC_NOTE("avx512bw") SLC_NOTE("avx512dq") SLC_NOTE("avx512vl")
    SLC_NOTE("avx512vnni")
#undef SLC_NOTE
#endif
    if (!names[0]) strcpy(names, "none");
}
