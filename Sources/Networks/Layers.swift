import Foundation
import Tensors

/// A building block of a model: a forward pass and its parameters.
public protocol Layer: AnyObject {
  /// The kind of layer, as in a Keras summary ("Dense", "Conv2D").
  var kind: String { get }
  /// The trainable tensors, in a fixed order, with their short names ("weight", "bias").
  var namedParameters: [(String, Tensor)] { get }
  /// State that is not trained by gradients but belongs to the model (batch normalisation's running mean and
  /// variance), with short names; saved in checkpoints beside the parameters.
  var namedBuffers: [(String, Tensor)] { get }
  /// The forward pass; `training` switches dropout on.
  func forward(_ x: Tensor, training: Bool) throws -> Tensor
  /// The shape of one sample's output for one sample's input shape (no batch axis).
  func outputShape(for input: [Int]) throws -> [Int]
}

extension Layer {
  public var parameters: [Tensor] { namedParameters.map(\.1) }
  public var namedParameters: [(String, Tensor)] { [] }
  public var namedBuffers: [(String, Tensor)] { [] }
  public func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x, training: false) }
}

// MARK: - Dense

/// A fully connected layer: y = x W + b, with W of shape [inputs, outputs] (without b when `useBias` is false).
public final class Dense: Layer {
  public let weight: Tensor
  public let bias: Tensor
  public let useBias: Bool
  public var kind: String { "Dense" }
  public var namedParameters: [(String, Tensor)] { useBias ? [("weight", weight), ("bias", bias)] : [("weight", weight)] }

  public init(_ inputs: Int, _ outputs: Int, useBias: Bool = true, initializer: Initializer = .heNormal, rng: inout SeededGenerator) throws {
    guard inputs > 0, outputs > 0 else { throw TensorError("Dense: sizes must be positive, got \(inputs) -> \(outputs)") }
    weight = try initializer.make([inputs, outputs], fanIn: inputs, fanOut: outputs, using: &rng)
    bias = try Initializer.zeros.make([outputs], fanIn: inputs, fanOut: outputs, using: &rng)
    bias.requiresGrad = useBias
    self.useBias = useBias
  }

  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    guard x.rank == 2, x.shape[1] == weight.shape[0] else {
      throw TensorError("Dense: expects input [batch, \(weight.shape[0])], got shape \(x.shape)")
    }
    return useBias ? try x.matmul(weight) + bias : try x.matmul(weight)
  }
  public func outputShape(for input: [Int]) throws -> [Int] {
    guard input == [weight.shape[0]] else { throw TensorError("Dense: expects \(weight.shape[0]) inputs per sample, got shape \(input)") }
    return [weight.shape[1]]
  }
}

// MARK: - Convolution and pooling

/// A 2-D convolution over NCHW input with `filters` kernels of `kernel` x `kernel` (without a bias when `useBias`
/// is false: a batch normalisation that follows subtracts any bias again).
public final class Conv2D: Layer {
  public let weight: Tensor
  public let bias: Tensor
  public let useBias: Bool
  public let stride: Int
  public let padding: Int
  /// The arithmetic of its products: float32, or mixed precision (`.bfloat16`, see `Precision`).
  public var precision: Precision = .float32
  public var kind: String { "Conv2D" }
  public var namedParameters: [(String, Tensor)] { useBias ? [("weight", weight), ("bias", bias)] : [("weight", weight)] }

  public init(_ inChannels: Int, _ filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, useBias: Bool = true, initializer: Initializer = .heNormal, rng: inout SeededGenerator) throws {
    guard inChannels > 0, filters > 0, kernel > 0 else {
      throw TensorError("Conv2D: channels, filters and kernel must be positive, got \(inChannels), \(filters), \(kernel)")
    }
    guard stride > 0 else { throw TensorError("Conv2D: the stride must be at least 1, got \(stride)") }
    guard padding >= 0 else { throw TensorError("Conv2D: the padding must be >= 0, got \(padding)") }
    let fanIn = inChannels * kernel * kernel
    weight = try initializer.make([filters, inChannels, kernel, kernel], fanIn: fanIn, fanOut: filters * kernel * kernel, using: &rng)
    bias = try Initializer.zeros.make([filters], fanIn: fanIn, fanOut: filters, using: &rng)
    bias.requiresGrad = useBias
    self.useBias = useBias
    self.stride = stride
    self.padding = padding
  }

  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    try x.conv2d(weight: weight, bias: useBias ? bias : nil, stride: stride, padding: padding, precision: precision)
  }
  /// The convolution with a ReLU, and optionally a 2x2 max pooling, fused onto its output (what `Sequential`
  /// runs for Conv2D, ReLU and MaxPool2D(2) in a row).
  public func forward(_ x: Tensor, fusingReLU relu: Bool, maxPool2x2 pool: Bool) throws -> Tensor {
    try x.conv2d(weight: weight, bias: useBias ? bias : nil, stride: stride, padding: padding, relu: relu, maxPool2x2: pool, precision: precision)
  }
  public func outputShape(for input: [Int]) throws -> [Int] {
    guard input.count == 3, input[0] == weight.shape[1] else {
      throw TensorError("Conv2D: expects [\(weight.shape[1]), height, width] per sample, got \(input)")
    }
    let (oh, ow) = try Window2D(kernelHeight: weight.shape[2], kernelWidth: weight.shape[3], stride: stride, padding: padding)
      .outputSize(height: input[1], width: input[2], op: "Conv2D")
    return [weight.shape[0], oh, ow]
  }
}

/// Max pooling over `kernel` x `kernel` windows (stride defaults to the kernel).
public final class MaxPool2D: Layer {
  public let kernel: Int, stride: Int, padding: Int
  public var kind: String { "MaxPool2D" }
  public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
    self.kernel = kernel
    self.stride = stride ?? kernel
    self.padding = padding
  }
  public func forward(_ x: Tensor, training: Bool) throws -> Tensor { try x.maxPool2d(kernel: kernel, stride: stride, padding: padding) }
  public func outputShape(for input: [Int]) throws -> [Int] {
    guard input.count == 3 else { throw TensorError("MaxPool2D: expects [channels, height, width] per sample, got \(input)") }
    let (oh, ow) = try Window2D(kernel: kernel, stride: stride, padding: padding).outputSize(height: input[1], width: input[2], op: "MaxPool2D")
    return [input[0], oh, ow]
  }
}

/// Average pooling over `kernel` x `kernel` windows (stride defaults to the kernel).
public final class AvgPool2D: Layer {
  public let kernel: Int, stride: Int, padding: Int
  public var kind: String { "AvgPool2D" }
  public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
    self.kernel = kernel
    self.stride = stride ?? kernel
    self.padding = padding
  }
  public func forward(_ x: Tensor, training: Bool) throws -> Tensor { try x.avgPool2d(kernel: kernel, stride: stride, padding: padding) }
  public func outputShape(for input: [Int]) throws -> [Int] {
    guard input.count == 3 else { throw TensorError("AvgPool2D: expects [channels, height, width] per sample, got \(input)") }
    let (oh, ow) = try Window2D(kernel: kernel, stride: stride, padding: padding).outputSize(height: input[1], width: input[2], op: "AvgPool2D")
    return [input[0], oh, ow]
  }
}

/// [batch, ...] -> [batch, product of the rest].
public final class Flatten: Layer {
  public var kind: String { "Flatten" }
  public init() {}
  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    guard x.rank >= 1 else { throw TensorError("Flatten: needs a batch axis, got a scalar") }
    return try x.reshaped([x.shape[0], -1])
  }
  public func outputShape(for input: [Int]) throws -> [Int] { [input.reduce(1, *)] }
}

// MARK: - Dropout

/// Sets each value to 0 with probability `rate` during training and scales the rest by 1 / (1 - rate)
/// ("inverted dropout"), so evaluation needs no change: it passes values through.
public final class Dropout: Layer {
  public let rate: Float
  private var rng: SeededGenerator
  public var kind: String { "Dropout" }

  public init(_ rate: Float, seed: UInt64 = 0) throws {
    guard rate >= 0 && rate < 1 else { throw TensorError("Dropout: the rate must be in [0, 1), got \(rate)") }
    self.rate = rate
    rng = SeededGenerator(seed: seed)
  }
  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    guard training && rate > 0 else { return x }
    let keep = 1 / (1 - rate)
    let mask = try Tensor((0..<x.count).map { _ in rng.uniform() < rate ? 0 : keep }, shape: x.shape)
    return try x * mask
  }
  public func outputShape(for input: [Int]) throws -> [Int] { input }
}

// MARK: - Activations

/// The activation functions, usable as a layer (`Activation(.relu)`) or a function (`Activation.relu(x)`).
public enum ActivationKind: Sendable, Equatable, CustomStringConvertible {
  case sigmoid, tanh, relu, leakyRelu(slope: Float), elu(alpha: Float), softplus, gelu, silu, softmax

  /// Applies the activation.
  public func apply(_ x: Tensor) throws -> Tensor {
    switch self {
    case .sigmoid: return x.sigmoid()
    case .tanh: return x.tanh()
    case .relu: return x.relu()
    case .leakyRelu(let s): return x.leakyRelu(slope: s)
    case .elu(let a): return x.elu(alpha: a)
    case .softplus: return x.softplus()
    case .gelu: return x.gelu()
    case .silu: return x.silu()
    case .softmax: return try x.softmax(axis: -1)
    }
  }

  public var description: String {
    switch self {
    case .sigmoid: return "sigmoid"
    case .tanh: return "tanh"
    case .relu: return "ReLU"
    case .leakyRelu: return "leaky ReLU"
    case .elu: return "ELU"
    case .softplus: return "softplus"
    case .gelu: return "GELU"
    case .silu: return "SiLU"
    case .softmax: return "softmax"
    }
  }
}

/// An activation function as a layer.
public final class Activation: Layer {
  public let function: ActivationKind
  public var kind: String { "Activation" }
  public init(_ function: ActivationKind) { self.function = function }
  public func forward(_ x: Tensor, training: Bool) throws -> Tensor { try function.apply(x) }
  public func outputShape(for input: [Int]) throws -> [Int] { input }
}
