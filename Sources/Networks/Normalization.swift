import Foundation
import Tensors

/// Batch normalisation as a layer over `[N, C, H, W]` (or `[N, C]`) input: each channel standardised by the
/// batch's mean and variance in training, by running averages of them in evaluation, then scaled by γ and
/// shifted by β (see `Tensor.batchNorm` for the formulas).
///
/// `momentum` is the weight of each new batch in the running statistics (PyTorch's convention: 0.1 keeps
/// 90% of the old value). `learnScale: false` keeps γ = 1 (a following linear layer can absorb a scale; fast
/// CIFAR trainers freeze it). The running statistics are buffers (`namedBuffers`): saved in checkpoints, not
/// trained by gradients.
public final class BatchNorm: Layer {
  public let scale: Tensor
  public let shift: Tensor
  public let runningMean: Tensor
  public let runningVariance: Tensor
  public let momentum: Float
  public let epsilon: Float
  public var kind: String { "BatchNorm" }
  public var namedParameters: [(String, Tensor)] {
    (scale.requiresGrad ? [("scale", scale)] : []) + [("shift", shift)]
  }
  public var namedBuffers: [(String, Tensor)] {
    (scale.requiresGrad ? [] : [("scale", scale)]) + [("running_mean", runningMean), ("running_variance", runningVariance)]
  }

  public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, learnScale: Bool = true) throws {
    guard channels > 0 else { throw TensorError("BatchNorm: the number of channels must be positive, got \(channels)") }
    guard momentum >= 0 && momentum <= 1 else { throw TensorError("BatchNorm: the momentum must be in [0, 1], got \(momentum)") }
    guard epsilon > 0, epsilon.isFinite else { throw TensorError("BatchNorm: epsilon must be positive, got \(epsilon)") }
    scale = try Tensor.ones([channels], requiresGrad: learnScale)
    shift = try Tensor.zeros([channels], requiresGrad: true)
    runningMean = try Tensor.zeros([channels])
    runningVariance = try Tensor.ones([channels])
    self.momentum = momentum
    self.epsilon = epsilon
  }

  public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
    guard x.rank >= 2, x.shape[1] == shift.count else {
      throw TensorError("BatchNorm: expects [batch, \(shift.count), ...] input, got shape \(x.shape)")
    }
    return try x.batchNorm(scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance, training: training, momentum: momentum, epsilon: epsilon)
  }
  public func outputShape(for input: [Int]) throws -> [Int] {
    guard input.first == shift.count else { throw TensorError("BatchNorm: expects \(shift.count) channels, got shape \(input)") }
    return input
  }
}
