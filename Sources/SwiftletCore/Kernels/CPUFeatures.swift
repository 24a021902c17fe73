import CSwiftletSupport
import Glibc

/// What the processor can run, asked once; KernelTable.current is chosen from
/// it (the AVX2 set when `hasAVX2`, the AVX-512 VNNI set when `hasAVX512`).
///
/// Environment overrides, so the tests can check every path on one machine:
/// SWIFTLET_PORTABLE_KERNELS=1 forces the portable kernels; SWIFTLET_KERNELS=avx2
/// stops at AVX2 (prompts then take the dequantize-and-sgemm path).
public enum CPUFeatures {
    /// AVX2, FMA, F16C and BMI2: the Haswell set the AVX2 module is compiled for.
    static let hasAVX2: Bool = {
        #if arch(x86_64)
        if environment("SWIFTLET_PORTABLE_KERNELS") == "1" { return false }
        return slc_cpu_has_avx2_fma()
        #else
        return false
        #endif
    }()

    /// AVX-512 F/CD/BW/DQ/VL + VNNI: the Cascade Lake set the AVX-512 module is compiled for.
    static let hasAVX512: Bool = {
        #if arch(x86_64)
        guard hasAVX2, environment("SWIFTLET_KERNELS") != "avx2" else { return false }
        return slc_cpu_has_avx512_vnni()
        #else
        return false
        #endif
    }()

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

extension CPUFeatures {
    /// The kernel set this process runs (KernelTable.current), and the reason
    /// when it is not the best the CPU has, for swiftlet_system_info.
    public static var kernelSetDescription: String {
        switch KernelTable.current.set {
        case .avx512VNNI: return "avx512-vnni"
        case .avx2: return slc_cpu_has_avx512_vnni() ? "avx2 (SWIFTLET_KERNELS=avx2)" : "avx2"
        case .portable: return slc_cpu_has_avx2_fma() ? "portable (SWIFTLET_PORTABLE_KERNELS=1)" : "portable"
        }
    }

    /// The features the kernel choice looks at, as the CPU reports them.
    public static var featureNames: String {
        var buffer = [CChar](repeating: 0, count: 160)
        slc_cpu_feature_names(&buffer, buffer.count)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
