import CSwiftletSupport
import Glibc

/// What the processor can run, asked once. Kernels with an AVX2 variant
/// (SwiftletKernelsAVX2) pick it only when `hasAVX2` is true.
enum CPUFeatures {
    /// AVX2, FMA, F16C and BMI2: the Haswell set the AVX2 module is compiled for.
    /// SWIFTLET_PORTABLE_KERNELS=1 in the environment forces the portable
    /// kernels, so the tests can check them on machines that have AVX2.
    static let hasAVX2: Bool = {
        #if arch(x86_64)
        if let force = getenv("SWIFTLET_PORTABLE_KERNELS"), String(cString: force) == "1" { return false }
        return slc_cpu_has_avx2_fma()
        #else
        return false
        #endif
    }()
}
