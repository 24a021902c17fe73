// Test driver for kernels whose accuracy is checked value by value against
// numpy (the forward-pass tests see them only through the logits):
//   kernel-check exp IN.f32 OUT.f32     avx2Exp over raw little-endian floats
//   kernel-check gelu-erf IN.f32 OUT.f32 avx2GeluErf over raw little-endian floats
// Exits 2 with a message when the CPU lacks the kernel's instruction set.
import CSwiftletSupport
import Glibc
import SwiftletKernelsAVX2

func fail(_ message: String, status: Int32 = 1) -> Never {
    fputs("kernel-check: \(message)\n", stderr)
    exit(status)
}

func readFloats(_ path: String) -> [Float] {
    guard let file = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(file) }
    var values: [Float] = []
    var chunk = [Float](repeating: 0, count: 65536)
    while true {
        let read = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 4, 65536, file) }
        values.append(contentsOf: chunk[0..<read])
        if read < 65536 { break }
    }
    return values
}

func writeFloats(_ values: [Float], _ path: String) {
    guard let file = fopen(path, "wb") else { fail("cannot create \(path)") }
    defer { fclose(file) }
    _ = values.withUnsafeBytes { fwrite($0.baseAddress, 4, values.count, file) }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, ["exp", "gelu-erf"].contains(arguments[1]) else {
    fail("usage: kernel-check exp|gelu-erf IN.f32 OUT.f32")
}
#if arch(x86_64)
guard slc_cpu_has_avx2_fma() else { fail("this CPU lacks AVX2/FMA", status: 2) }
let input = readFloats(arguments[2])
var output = [Float](repeating: 0, count: input.count)
if arguments[1] == "exp" {
    for (i, x) in input.enumerated() { output[i] = avx2Exp(SIMD8<Float>(repeating: x))[0] }
} else {
    output = input
    output.withUnsafeMutableBufferPointer { avx2GeluErf($0.baseAddress!, count: $0.count) }
}
writeFloats(output, arguments[3])
#else
fail("no AVX2 kernels on this architecture", status: 2)
#endif
