import CKernels

/// exp, log, sigmoid, tanh, GELU and SiLU over arrays by range reduction and polynomials (CKernels'
/// nl_vecmath: AVX-512, AVX2 + FMA or portable C vectors), instead of a libm call per value. The three builds
/// give the same bits for every input, so a result does not depend on the processor's path, the thread count
/// or how the array is split. Accuracy against Float64 (every float): README, "Speed", and VectorMathTests.
package enum VectorMath {
  /// The functions (raw values as nl_vecmath.h numbers them).
  package enum Function: Int32, CaseIterable, Sendable {
    case exp = 0, log, sigmoid, tanh, gelu, silu
  }

  /// Which build runs.
  package enum Path: String, CaseIterable, Sendable {
    case avx512, avx2, portable
  }

  /// The path in use, chosen once with the GEMM's micro-kernel: AVX-512 where it runs an AVX-512 one, AVX2 + FMA
  /// where the processor has it (so `NEURAL_LESSONS_KERNEL=avx2` takes it on AVX-512 machines), else portable
  /// (also with `NEURAL_LESSONS_KERNEL=portable`).
  package static let path: Path = {
    if GEMM.kernel.usesAVX512 { return .avx512 }
    if GEMM.kernel.name == GEMM.avx2.name { return .avx2 }
    return .portable
  }()

  /// Every path this processor can run (the tests compare them).
  package static var available: [Path] {
    [.portable] + (KernelSettings.hasAVX2 ? [.avx2] : []) + (KernelSettings.hasAVX512 ? [.avx512] : [])
  }

  /// y[i] = f(x[i]) for i < count (x and y may be the same array).
  package static func apply(_ f: Function, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, path: Path = path) {
    switch path {
    case .avx512: nl_vmath_avx512(f.rawValue, x, y, count)
    case .avx2: nl_vmath_avx2(f.rawValue, x, y, count)
    case .portable: nl_vmath_portable(f.rawValue, x, y, count)
    }
  }

  /// dx[i] = g[i] f'(x[i]) for i < count, for `.gelu` and `.silu` (the others' derivatives come from their
  /// output: the ops compute them without calling this).
  package static func gradient(_ f: Function, _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int, path: Path = path) {
    precondition(f == .gelu || f == .silu, "VectorMath.gradient serves gelu and silu")
    switch path {
    case .avx512: nl_vmath_grad_avx512(f.rawValue, g, x, dx, count)
    case .avx2: nl_vmath_grad_avx2(f.rawValue, g, x, dx, count)
    case .portable: nl_vmath_grad_portable(f.rawValue, g, x, dx, count)
    }
  }
}
