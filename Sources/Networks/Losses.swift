import Foundation
import Tensors

/// Loss functions: each reduces to the mean over all values (or over the batch for cross-entropy).
public enum Loss {
  static func checkSame(_ op: String, _ a: Tensor, _ b: Tensor) throws {
    guard a.shape == b.shape else { throw TensorError("\(op): predictions \(a.shape) and targets \(b.shape) must have the same shape") }
  }

  /// Mean squared error: mean((p - t)²).
  public static func meanSquaredError(_ predictions: Tensor, _ targets: Tensor) throws -> Tensor {
    try checkSame("meanSquaredError", predictions, targets)
    return try Tensor.binaryOp(predictions, targets, name: "squaredError", forward: { ($0 - $1) * ($0 - $1) }, derivatives: { p, t in (2 * (p - t), -2 * (p - t)) }).mean()
  }

  /// Mean absolute error: mean(|p - t|) (derivative 0 where p = t).
  public static func meanAbsoluteError(_ predictions: Tensor, _ targets: Tensor) throws -> Tensor {
    try checkSame("meanAbsoluteError", predictions, targets)
    return try Tensor.binaryOp(predictions, targets, name: "absoluteError", forward: { Swift.abs($0 - $1) }, derivatives: { p, t in
      let s: Float = p > t ? 1 : (p < t ? -1 : 0)
      return (s, -s)
    }).mean()
  }

  /// Huber loss: ½e² for |e| <= δ, δ(|e| - ½δ) beyond; quadratic near 0, linear for outliers.
  public static func huber(_ predictions: Tensor, _ targets: Tensor, delta: Float = 1) throws -> Tensor {
    try checkSame("huber", predictions, targets)
    guard delta > 0 else { throw TensorError("huber: delta must be positive, got \(delta)") }
    return try Tensor.binaryOp(predictions, targets, name: "huber", forward: { p, t in
      let e = Swift.abs(p - t)
      return e <= delta ? 0.5 * e * e : delta * (e - 0.5 * delta)
    }, derivatives: { p, t in
      let d = Swift.min(Swift.max(p - t, -delta), delta)
      return (d, -d)
    }).mean()
  }

  /// Binary cross-entropy of probabilities p against targets t in [0, 1]: -mean(t log p + (1-t) log(1-p)),
  /// with p kept within [ε, 1-ε] (ε = 1e-7, as Keras) so that log(0) never happens.
  public static func binaryCrossEntropy(probabilities p: Tensor, targets t: Tensor) throws -> Tensor {
    try checkSame("binaryCrossEntropy", p, t)
    let eps: Float = 1e-7
    return try Tensor.binaryOp(p, t, name: "binaryCrossEntropy", forward: { p, t in
      let q = Swift.min(Swift.max(p, eps), 1 - eps)
      return -(t * Foundation.log(q) + (1 - t) * Foundation.log(1 - q))
    }, derivatives: { p, t in
      let q = Swift.min(Swift.max(p, eps), 1 - eps)
      let inside: Float = p > eps && p < 1 - eps ? 1 : 0
      return (inside * (q - t) / (q * (1 - q)), Foundation.log(1 - q) - Foundation.log(q))
    }).mean()
  }

  /// Binary cross-entropy from logits z: mean(max(z, 0) - z t + log(1 + e^-|z|)), stable for any z; its
  /// gradient is σ(z) - t.
  public static func binaryCrossEntropy(logits z: Tensor, targets t: Tensor) throws -> Tensor {
    try checkSame("binaryCrossEntropy", z, t)
    return try Tensor.binaryOp(z, t, name: "binaryCrossEntropyWithLogits", forward: { z, t in
      Swift.max(z, 0) - z * t + Foundation.log1p(Foundation.exp(-Swift.abs(z)))
    }, derivatives: { z, t in
      let s = z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
      return (s - t, -z)
    }).mean()
  }

  /// Softmax cross-entropy of [batch, classes] logits against integer labels, averaged over the batch.
  public static func softmaxCrossEntropy(logits: Tensor, labels: [Int]) throws -> Tensor {
    try logits.softmaxCrossEntropy(labels: labels)
  }

  /// Hinge loss for targets in {-1, +1}: mean(max(0, 1 - t s)).
  public static func hinge(scores s: Tensor, targets t: Tensor) throws -> Tensor {
    try checkSame("hinge", s, t)
    if let bad = t.data.first(where: { $0 != 1 && $0 != -1 }) {
      throw TensorError("hinge: targets must be -1 or +1, got \(bad)")
    }
    return try Tensor.binaryOp(s, t, name: "hinge", forward: { s, t in Swift.max(0, 1 - t * s) }, derivatives: { s, t in
      1 - t * s > 0 ? (-t, -s) : (0, 0)
    }).mean()
  }
}

/// A loss as the training loop uses it: how to compute it from a batch's outputs and targets, and how to
/// count correct answers (nil for regression).
public enum LossFunction: Sendable, Equatable {
  case meanSquaredError, meanAbsoluteError, huber(delta: Float)
  /// Outputs are probabilities (after a sigmoid); targets 0 or 1.
  case binaryCrossEntropy
  /// Outputs are logits; targets 0 or 1.
  case binaryCrossEntropyWithLogits
  /// Outputs are [batch, classes] logits; targets hold class indices (as Float), shape [batch].
  case softmaxCrossEntropy
  /// Outputs are scores; targets -1 or +1.
  case hinge

  /// The loss of `outputs` against `targets`.
  public func callAsFunction(_ outputs: Tensor, _ targets: Tensor) throws -> Tensor {
    switch self {
    case .meanSquaredError: return try Loss.meanSquaredError(outputs, targets)
    case .meanAbsoluteError: return try Loss.meanAbsoluteError(outputs, targets)
    case .huber(let d): return try Loss.huber(outputs, targets, delta: d)
    case .binaryCrossEntropy: return try Loss.binaryCrossEntropy(probabilities: outputs, targets: targets)
    case .binaryCrossEntropyWithLogits: return try Loss.binaryCrossEntropy(logits: outputs, targets: targets)
    case .softmaxCrossEntropy: return try Loss.softmaxCrossEntropy(logits: outputs, labels: try Self.labels(targets, classes: outputs.shape.last ?? 0))
    case .hinge: return try Loss.hinge(scores: outputs, targets: targets)
    }
  }

  static func labels(_ t: Tensor, classes: Int) throws -> [Int] {
    try t.data.map { v in
      guard v.rounded() == v, v >= 0, Int(v) < classes else {
        throw TensorError("softmaxCrossEntropy: label \(v) is not a class index in 0..<\(classes)")
      }
      return Int(v)
    }
  }

  /// How many outputs are right (nil when the loss has no notion of right).
  public func correct(_ outputs: Tensor, _ targets: Tensor) throws -> Int? {
    switch self {
    case .meanSquaredError, .meanAbsoluteError, .huber: return nil
    case .binaryCrossEntropy: return zip(outputs.data, targets.data).filter { ($0 >= 0.5) == ($1 >= 0.5) }.count
    case .binaryCrossEntropyWithLogits: return zip(outputs.data, targets.data).filter { ($0 >= 0) == ($1 >= 0.5) }.count
    case .hinge: return zip(outputs.data, targets.data).filter { ($0 >= 0) == ($1 > 0) }.count
    case .softmaxCrossEntropy:
      let predicted = try outputs.argmax(axis: -1)
      return zip(predicted, targets.data).filter { Float($0) == $1 }.count
    }
  }
}
