import CSwiftletSupport

/// What the processor can run, asked once. Kernels with an AVX2 variant
/// (SwiftletKernelsAVX2) pick it only when `hasAVX2` is true.
enum CPUFeatures {
    /// AVX2, FMA, F16C and BMI2: the Haswell set the AVX2 module is compiled for.
    static let hasAVX2: Bool = {
        #if arch(x86_64)
        return slc_cpu_has_avx2_fma()
        #else
        return false
        #endif
    }()
}
