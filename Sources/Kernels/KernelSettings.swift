// The Kernels module: the engine's hot loops behind a small interface, and the only module that imports the C
// targets (CKernels: the AVX2/AVX-512 micro-kernels, dot products and data movement in intrinsics with
// per-function target attributes; CCPU: the processor's features). Tensors builds its ops on it:
//   GEMM.swift               packed, cache-blocked matrix product; micro-kernel chosen once at start-up
//   Unfold.swift             im2col / col2im (and the short copies they make)
//   ConvolutionEngine.swift  a convolution's batch in L2-sized chunks: forward, backward, shares summed in order
//   Pooling.swift            2x2 max pooling of a plane (C on AVX-512, Swift elsewhere)
//   Elementwise.swift        ReLU and its gradient, sums in a fixed order
//   Parallel.swift           parallelFor / elementwiseChunks over `KernelSettings.threads`
// Everything except `GEMM.multiply`, `GEMM.naive`, `GEMM.kernelName`, `Window2D`, `KernelSettings` and
// `PeakProbe` is `package`: visible to the package's modules and tests, not to a consumer.
import CCPU
import CKernels
import Foundation

/// The settings every kernel reads: fixed at start-up, or for a scope. No global variable to assign.
public enum KernelSettings {
  /// Whether the processor runs AVX-512 (F, BW, DQ, VL) and FMA; false on every other architecture.
  package static let hasAVX512: Bool = {
    #if arch(x86_64)
    return nl_cpu_has_avx512() != 0
    #else
    return false
    #endif
  }()

  /// Whether the processor runs AVX2 and FMA; false on every other architecture.
  package static let hasAVX2: Bool = {
    #if arch(x86_64)
    return nl_cpu_has_avx2_fma() != 0
    #else
    return false
    #endif
  }()

  /// The threads at start-up: `NEURAL_LESSONS_THREADS` when it is a positive number, else every core.
  public static let startupThreads: Int = {
    if let text = ProcessInfo.processInfo.environment["NEURAL_LESSONS_THREADS"], let n = Int(text), n > 0 { return min(n, 64) }
    return ProcessInfo.processInfo.activeProcessorCount
  }()

  @TaskLocal static var scopedThreads: Int?

  /// How many threads the kernels split work over: `startupThreads`, or the count given to `withThreads`
  /// around the current call. Results do not depend on it (every sum is taken in a fixed order).
  public static var threads: Int { scopedThreads ?? startupThreads }

  /// Runs `body` with the kernels split over `threads` threads (at least 1), e.g. to check that one and two
  /// threads give the same bits. Only the calling thread sees it (and the work it hands out).
  public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
    try $scopedThreads.withValue(max(1, threads), operation: body)
  }

  /// Keeps large freed blocks in the heap (glibc; nothing elsewhere), so big tensors reuse memory instead of
  /// taking fresh, zeroed pages from the kernel on every allocation. Runs once, whoever asks first.
  package static let largeBlocksKept: Bool = {
    nl_keep_large_blocks()
    return true
  }()
}

/// Whether the AVX-512 C kernels (CKernels) do the convolutions' data movement: where the GEMM's micro-kernel
/// is an AVX-512 one, so `NEURAL_LESSONS_KERNEL=avx2` (or `=portable`) takes the Swift paths for all of it (as
/// `make test`'s extra runs do).
package var cKernels: Bool { GEMM.kernel.usesAVX512 }

/// The peak-rate probe of the benchmark: `iterations` rounds of twelve independent fused multiply-adds on the
/// widest vectors the chosen micro-kernel uses.
public enum PeakProbe {
  /// Flops per round: 12 chains x lanes x 2.
  public static var flopsPerIteration: Double { GEMM.kernel.usesAVX512 ? 384 : 192 }
  /// What the chains are, for the report.
  public static var description: String { GEMM.kernel.usesAVX512 ? "12 chains of 16 lanes" : GEMM.kernel.name == GEMM.avx2.name ? "12 chains of 8 lanes" : "12 chains of SIMD8 (portable)" }

  /// Runs the probe (the result only keeps the loop from being optimised away).
  public static func run(iterations: Int, seed: Float = 1) -> Float {
    if GEMM.kernel.usesAVX512 { return nl_fma_loop_avx512(iterations, seed) }
    if GEMM.kernel.name == GEMM.avx2.name { return nl_fma_loop_avx2(iterations, seed) }
    return portableLoop(iterations: iterations, seed: seed)
  }

  @inline(never)
  static func portableLoop(iterations: Int, seed: Float) -> Float {
    var acc = (0..<12).map { SIMD8<Float>(repeating: seed + Float($0)) }
    let m = SIMD8<Float>(repeating: 0.999_999), a = SIMD8<Float>(repeating: 1e-7)
    var c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3], c4 = acc[4], c5 = acc[5]
    var c6 = acc[6], c7 = acc[7], c8 = acc[8], c9 = acc[9], c10 = acc[10], c11 = acc[11]
    for _ in 0..<iterations {
      c0 = a.addingProduct(c0, m); c1 = a.addingProduct(c1, m); c2 = a.addingProduct(c2, m); c3 = a.addingProduct(c3, m)
      c4 = a.addingProduct(c4, m); c5 = a.addingProduct(c5, m); c6 = a.addingProduct(c6, m); c7 = a.addingProduct(c7, m)
      c8 = a.addingProduct(c8, m); c9 = a.addingProduct(c9, m); c10 = a.addingProduct(c10, m); c11 = a.addingProduct(c11, m)
    }
    acc = [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11]
    return acc.reduce(SIMD8<Float>(), +).sum()
  }
}
