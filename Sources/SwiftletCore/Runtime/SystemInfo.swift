import CSwiftletSupport

/// What this process's engine runs on, in one line for support requests
/// (swiftlet_system_info): kernel set, CPU features, allocator, BLAS.
public enum SystemInfo {
    public static let description: String = {
        let blas = String(cString: slb_blas_description())
        let allocator = String(cString: Arena.allocatorName)
        return "kernels \(CPUFeatures.kernelSetDescription); cpu \(CPUFeatures.featureNames); "
            + "allocator \(allocator); blas \(blas)"
    }()
}
