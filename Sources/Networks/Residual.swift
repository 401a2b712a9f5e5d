import Foundation
import Tensors

/// A residual connection (He et al., 2016): y = x + f(x), with f a `Sequential` that keeps the shape. The
/// gradient reaches x twice, through f and straight along the identity, so deep stacks still pass a signal
/// back to their first layers.
public final class Residual: Layer {
  public let body: Sequential
  public var kind: String { "Residual" }
  public var namedParameters: [(String, Tensor)] { body.namedParameters.map { ("body.\($0.0)", $0.1) } }
  public var namedBuffers: [(String, Tensor)] { body.namedBuffers.map { ("body.\($0.0)", $0.1) } }

  public init(_ body: Sequential) { self.body = body }
  public convenience init(_ layers: [Layer]) { self.init(Sequential(layers)) }

  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    let fx = try body.forward(x, training: training)
    guard fx.shape == x.shape else {
      throw TensorError("Residual: the body maps shape \(x.shape) to \(fx.shape); a residual connection needs the same shape")
    }
    return try x + fx
  }
  public func outputShape(for input: [Int]) throws -> [Int] {
    var shape = input
    for layer in body.layers { shape = try layer.outputShape(for: shape) }
    guard shape == input else { throw TensorError("Residual: the body maps shape \(input) to \(shape); a residual connection needs the same shape") }
    return input
  }
}

/// Global pooling: each channel of `[N, C, H, W]` reduced over all its positions to one value, `[N, C]`: the
/// maximum (where the feature fired most strongly) or the mean. The head that follows no longer depends on the
/// image size.
public final class GlobalPool: Layer {
  public enum Kind: Sendable { case max, average }
  public let reduction: Kind
  public var kind: String { reduction == .max ? "GlobalMaxPool" : "GlobalAvgPool" }
  public init(_ reduction: Kind) { self.reduction = reduction }

  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    guard x.rank == 4 else { throw TensorError("\(kind): expects [batch, channels, height, width], got shape \(x.shape)") }
    let (h, w) = (x.shape[2], x.shape[3])
    guard h > 0, w > 0 else { throw TensorError("\(kind): the input has no positions (shape \(x.shape))") }
    if h == w {
      let pooled = reduction == .max ? try x.maxPool2d(kernel: h) : try x.avgPool2d(kernel: h)
      return try pooled.reshaped([x.shape[0], x.shape[1]])
    }
    let flat = try x.reshaped([x.shape[0], x.shape[1], h * w])
    return reduction == .max ? try flat.max(axis: 2) : try flat.mean(axis: 2)
  }
  public func outputShape(for input: [Int]) throws -> [Int] {
    guard input.count == 3 else { throw TensorError("\(kind): expects [channels, height, width] per sample, got \(input)") }
    return [input[0]]
  }
}

/// Multiplies by a constant (no parameters): e.g. the 1/9 that keeps a fresh network's logits small.
public final class Scale: Layer {
  public let factor: Float
  public var kind: String { "Scale" }
  public init(_ factor: Float) { self.factor = factor }
  public func forward(_ x: Tensor, training: Bool) throws -> Tensor { x * factor }
  public func outputShape(for input: [Int]) throws -> [Int] { input }
}
