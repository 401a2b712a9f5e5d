import Foundation
import Tensors

/// How a layer's weights start.
public enum Initializer: Sendable, Equatable {
  /// Glorot and Bengio (2010): uniform in ±sqrt(6 / (fanIn + fanOut)); keeps variance for tanh and sigmoid.
  case xavierUniform
  /// Glorot normal: standard deviation sqrt(2 / (fanIn + fanOut)).
  case xavierNormal
  /// He et al. (2015): normal with standard deviation sqrt(2 / fanIn); keeps variance for ReLU.
  case heNormal
  /// He uniform: uniform in ±sqrt(6 / fanIn).
  case heUniform
  /// Normal with a fixed standard deviation.
  case normal(std: Float)
  /// All zeros (biases).
  case zeros

  /// A tensor of `shape` whose fan-in and fan-out are given.
  public func make(_ shape: [Int], fanIn: Int, fanOut: Int, using rng: inout SeededGenerator) throws -> Tensor {
    _ = try Tensor.elementCount(shape, op: "weights")
    let t: Tensor
    let fanSum = Float(fanIn) + Float(fanOut)
    switch self {
    case .xavierUniform:
      let a = (6 / fanSum).squareRoot()
      t = try Tensor.uniform(shape, in: -a...a, using: &rng)
    case .xavierNormal: t = try Tensor.normal(shape, std: (2 / fanSum).squareRoot(), using: &rng)
    case .heNormal: t = try Tensor.normal(shape, std: (2 / Float(fanIn)).squareRoot(), using: &rng)
    case .heUniform:
      let a = (6 / Float(fanIn)).squareRoot()
      t = try Tensor.uniform(shape, in: -a...a, using: &rng)
    case .normal(let std): t = try Tensor.normal(shape, std: std, using: &rng)
    case .zeros: t = try Tensor.zeros(shape)
    }
    t.requiresGrad = true
    return t
  }
}
