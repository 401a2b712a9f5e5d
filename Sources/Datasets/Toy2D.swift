import Foundation
import Tensors

/// A small labelled data set of 2-D points, for classification lessons.
public struct PointSet {
  /// [n, 2] inputs.
  public let x: Tensor
  /// Class of each point.
  public let labels: [Int]
  /// The labels as a [n, 1] Float tensor (targets for binary losses).
  public var targets: Tensor { try! Tensor(labels.map(Float.init), shape: [labels.count, 1]) }
  /// The labels as a [n] Float tensor of class indices (targets for softmax cross-entropy).
  public var classIndices: Tensor { try! Tensor(labels.map(Float.init), shape: [labels.count]) }
  /// The x and y coordinates as Double arrays (for plotting).
  public var xs: [Double] { stride(from: 0, to: x.count, by: 2).map { Double(x.data[$0]) } }
  public var ys: [Double] { stride(from: 1, to: x.count, by: 2).map { Double(x.data[$0]) } }

  init(points: [(Float, Float)], labels: [Int]) {
    x = try! Tensor(points.flatMap { [$0.0, $0.1] }, shape: [points.count, 2])
    self.labels = labels
  }
}

/// The toy 2-D sets every lesson knows (scikit-learn's generators, re-made with the seeded generator).
public enum Toy2D {
  static func check(_ count: Int, _ noise: Float) throws {
    guard count >= 2 else { throw TensorError("toy data: need at least 2 points, got \(count)") }
    guard noise >= 0, noise.isFinite else { throw TensorError("toy data: the noise must be >= 0, got \(noise)") }
  }

  /// Two interleaved half circles (scikit-learn's make_moons): class 0 on top, class 1 below.
  public static func moons(count: Int = 200, noise: Float = 0.1, seed: UInt64 = 0) throws -> PointSet {
    try check(count, noise)
    var rng = SeededGenerator(seed: seed)
    let top = count / 2
    var points: [(Float, Float)] = [], labels: [Int] = []
    for i in 0..<count {
      let upper = i < top
      let n = upper ? top : count - top
      let t = Float.pi * Float(upper ? i : i - top) / Float(max(n - 1, 1))
      let p: (Float, Float) = upper ? (cos(t), sin(t)) : (1 - cos(t), 0.5 - sin(t))
      points.append((p.0 + noise * rng.normal(), p.1 + noise * rng.normal()))
      labels.append(upper ? 0 : 1)
    }
    return PointSet(points: points, labels: labels)
  }

  /// The four corners of the XOR problem, each repeated `copies` times with a little noise; class 1 where
  /// exactly one coordinate is positive.
  public static func xor(copies: Int = 1, noise: Float = 0, seed: UInt64 = 0) throws -> PointSet {
    try check(4 * copies, noise)
    var rng = SeededGenerator(seed: seed)
    var points: [(Float, Float)] = [], labels: [Int] = []
    for _ in 0..<copies {
      for (a, b) in [(Float(-1), Float(-1)), (-1, 1), (1, -1), (1, 1)] {
        points.append((a + noise * rng.normal(), b + noise * rng.normal()))
        labels.append((a > 0) != (b > 0) ? 1 : 0)
      }
    }
    return PointSet(points: points, labels: labels)
  }

  /// Two concentric circles (make_circles): class 0 outside (radius 1), class 1 inside (radius `factor`).
  public static func circles(count: Int = 200, noise: Float = 0.05, factor: Float = 0.5, seed: UInt64 = 0) throws -> PointSet {
    try check(count, noise)
    var rng = SeededGenerator(seed: seed)
    var points: [(Float, Float)] = [], labels: [Int] = []
    let outer = count / 2
    for i in 0..<count {
      let inner = i >= outer
      let k = inner ? i - outer : i, n = inner ? count - outer : outer
      let t = 2 * Float.pi * Float(k) / Float(n)
      let r: Float = inner ? factor : 1
      points.append((r * cos(t) + noise * rng.normal(), r * sin(t) + noise * rng.normal()))
      labels.append(inner ? 1 : 0)
    }
    return PointSet(points: points, labels: labels)
  }

  /// Two interleaved spirals (TensorFlow Playground's), `count` points in all.
  public static func spirals(count: Int = 200, noise: Float = 0.05, turns: Float = 1.75, seed: UInt64 = 0) throws -> PointSet {
    try check(count, noise)
    var rng = SeededGenerator(seed: seed)
    var points: [(Float, Float)] = [], labels: [Int] = []
    let half = count / 2
    for i in 0..<count {
      let cls = i < half ? 0 : 1
      let k = cls == 0 ? i : i - half, n = cls == 0 ? half : count - half
      let r = Float(k) / Float(max(n, 1)) * 5
      let t = turns * Float(k) / Float(max(n, 1)) * 2 * Float.pi + Float(cls) * Float.pi
      points.append((r * sin(t) / 5 * 1.5 + noise * rng.normal(), r * cos(t) / 5 * 1.5 + noise * rng.normal()))
      labels.append(cls)
    }
    return PointSet(points: points, labels: labels)
  }

  /// Gaussian blobs around `centers` with standard deviation `spread`, `count` points shared among them.
  public static func blobs(count: Int = 200, centers: [(Float, Float)] = [(-1.5, -1), (1.5, 1)], spread: Float = 0.6, seed: UInt64 = 0) throws -> PointSet {
    try check(count, spread)
    guard !centers.isEmpty else { throw TensorError("blobs: give at least one centre") }
    var rng = SeededGenerator(seed: seed)
    var points: [(Float, Float)] = [], labels: [Int] = []
    for i in 0..<count {
      let c = i * centers.count / count
      points.append((centers[c].0 + spread * rng.normal(), centers[c].1 + spread * rng.normal()))
      labels.append(c)
    }
    return PointSet(points: points, labels: labels)
  }
}
