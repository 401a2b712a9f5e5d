import CKernels

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

  /// Flops per round of the bfloat16 probe: 12 chains x 16 lanes x 2 multiply-adds x 2.
  public static let bfloat16FlopsPerIteration: Double = 768
  /// The same loop on VDPBF16PS (bfloat16 pairs, float32 sums), where `Precision.bfloat16` runs natively;
  /// nil elsewhere.
  public static func runBFloat16(iterations: Int, seed: Float = 1) -> Float? {
    Precision.bfloat16.isNative ? nl_bf16_dot_loop(iterations, seed) : nil
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
