import Foundation
import Tensors

// The activations' vector maths (issue #19): each function's bandwidth as a fraction of relu's, timed side by
// side in the same run.
extension Suite {
  /// exp, log, sigmoid, tanh, GELU and SiLU forward over 4M floats (1M with --quick) in [-8, 8] (log: |x| +
  /// 0.001), 8 bytes a value (read and written), with relu timed on the same values (a row when the filter asks for it); each row carries
  /// `of_relu`, its GB/s over relu's (timed in alternating rounds with relu). Every op splits large arrays over
  /// the cores, relu too.
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
    // In alternating rounds with relu (the shared machine's drift weighs on both sides of each ratio).
    let chosen = cases.filter { wants($0.0, shape) }
    guard !chosen.isEmpty else { return }
    let withRelu = chosen.first?.0 == "relu" ? chosen : [cases[0]] + chosen
    let t = try measureInterleaved(rounds: quick ? 2 : 5, minTime: minTime * Double(withRelu.count), withRelu.map { c in { _ = c.1() } })
    let relu = 8 * Double(count) / t[0].median / 1e9
    var ratios: [(String, Double, Double)] = []
    for (i, (name, _)) in withRelu.enumerated() where i > 0 || chosen.first?.0 == "relu" {
      let gbps = 8 * Double(count) / t[i].median / 1e9
      add(name, shape, threads: cores, t[i], bytes: 8 * Double(count), extra: ["of_relu": gbps / relu])
      if name != "relu" { ratios.append((name, gbps, gbps / relu)) }
    }
    if !ratios.isEmpty {
      print(String(format: "  vector maths against relu (%.1f GB/s): ", relu) + ratios.map { String(format: "%@ %.1f GB/s = %.2fx", $0.0, $0.1, $0.2) }.joined(separator: ", "))
    }
  }
}
