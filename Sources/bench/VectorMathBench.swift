import Foundation
import Tensors

// The activations' vector maths (issue #19): each function's bandwidth as a fraction of relu's, timed side by
// side in the same run.
extension Suite {
  /// exp, log, sigmoid, tanh, GELU and SiLU forward over 4M floats (1M with --quick) in [-8, 8] (log: |x| +
  /// 0.001), 8 bytes a value (read and written), with relu timed first on the same values; each row carries
  /// `of_relu`, its GB/s over relu's. Every op splits large arrays over the cores, relu too.
  mutating func vectorMath() throws {
    let count = quick ? 1 << 20 : 1 << 22
    let shape = "\(count) floats in [-8, 8]"
    var rng = SeededGenerator(seed: 7)
    let a = try Tensor.uniform([count], in: -8...8, using: &rng)
    let positive = a.abs() + 0.001
    let cases: [(String, () -> Tensor)] = [
      ("relu", { a.relu() }), ("exp", { a.exp() }), ("log", { positive.log() }), ("sigmoid", { a.sigmoid() }),
      ("tanh", { a.tanh() }), ("gelu", { a.gelu() }), ("silu", { a.silu() }),
    ]
    var relu: Double?
    var ratios: [(String, Double, Double)] = []
    for (name, op) in cases where wants(name, shape) {
      let t = measure(minTime: minTime) { _ = op() }
      let gbps = 8 * Double(count) / t.median / 1e9
      if name == "relu" { relu = gbps }
      add(name, shape, threads: cores, t, bytes: 8 * Double(count), extra: relu.map { ["of_relu": gbps / $0] })
      if let relu, name != "relu" { ratios.append((name, gbps, gbps / relu)) }
    }
    if let relu, !ratios.isEmpty {
      print(String(format: "  vector maths against relu (%.1f GB/s): ", relu) + ratios.map { String(format: "%@ %.1f GB/s = %.2fx", $0.0, $0.1, $0.2) }.joined(separator: ", "))
    }
  }
}
