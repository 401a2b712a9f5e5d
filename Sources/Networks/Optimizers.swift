import Foundation
import Tensors

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
  /// The parameters it updates.
  var parameters: [Tensor] { get }
  var learningRate: Float { get set }
  /// One update from the current gradients (parameters without a gradient are left alone).
  func step()
}

extension Optimizer {
  /// Clears every parameter's gradient.
  public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// The gradient with L2 weight decay added: g + λw.
@inline(__always)
func decayed(_ g: Float, _ w: Float, _ weightDecay: Float) -> Float { weightDecay == 0 ? g : g + weightDecay * w }

/// Stochastic gradient descent, optionally with momentum (v = μv + g; w -= lr v) or Nesterov momentum
/// (w -= lr (g + μv)), as PyTorch defines them.
public final class SGD: Optimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let momentum: Float
  public let nesterov: Bool
  public let weightDecay: Float
  private var velocity: [[Float]]

  public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) throws {
    guard learningRate > 0, learningRate.isFinite else { throw TensorError("SGD: the learning rate must be positive, got \(learningRate)") }
    guard momentum >= 0 && momentum < 1 else { throw TensorError("SGD: momentum must be in [0, 1), got \(momentum)") }
    guard !nesterov || momentum > 0 else { throw TensorError("SGD: Nesterov momentum needs momentum > 0") }
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
    velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
  }

  public func step() {
    for (k, p) in parameters.enumerated() {
      guard let grad = p.grad else { continue }
      for i in 0..<p.count {
        let g = decayed(grad[i], p.data[i], weightDecay)
        if momentum == 0 {
          p.data[i] -= learningRate * g
        } else {
          velocity[k][i] = momentum * velocity[k][i] + g
          p.data[i] -= learningRate * (nesterov ? g + momentum * velocity[k][i] : velocity[k][i])
        }
      }
    }
  }
}

/// RMSProp: s = ρs + (1-ρ)g²; w -= lr g / (√s + ε).
public final class RMSProp: Optimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let rho: Float, epsilon: Float, weightDecay: Float
  private var square: [[Float]]

  public init(_ parameters: [Tensor], learningRate: Float = 1e-3, rho: Float = 0.9, epsilon: Float = 1e-7, weightDecay: Float = 0) throws {
    guard learningRate > 0, learningRate.isFinite else { throw TensorError("RMSProp: the learning rate must be positive, got \(learningRate)") }
    guard rho > 0 && rho < 1 else { throw TensorError("RMSProp: rho must be in (0, 1), got \(rho)") }
    self.parameters = parameters
    self.learningRate = learningRate
    self.rho = rho
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    square = parameters.map { [Float](repeating: 0, count: $0.count) }
  }

  public func step() {
    for (k, p) in parameters.enumerated() {
      guard let grad = p.grad else { continue }
      for i in 0..<p.count {
        let g = decayed(grad[i], p.data[i], weightDecay)
        square[k][i] = rho * square[k][i] + (1 - rho) * g * g
        p.data[i] -= learningRate * g / (square[k][i].squareRoot() + epsilon)
      }
    }
  }
}

/// Adam (Kingma and Ba 2015): m = β₁m + (1-β₁)g; v = β₂v + (1-β₂)g²; bias-corrected m̂ = m/(1-β₁ᵗ),
/// v̂ = v/(1-β₂ᵗ); w -= lr m̂ / (√v̂ + ε).
public final class Adam: Optimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
  /// First and second moment estimates, per parameter (saved in checkpoints to resume training).
  public var m: [[Float]], v: [[Float]]
  /// Steps taken so far.
  public var t = 0

  public init(_ parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, weightDecay: Float = 0) throws {
    guard learningRate > 0, learningRate.isFinite else { throw TensorError("Adam: the learning rate must be positive, got \(learningRate)") }
    guard beta1 >= 0 && beta1 < 1, beta2 >= 0 && beta2 < 1 else { throw TensorError("Adam: betas must be in [0, 1), got \(beta1), \(beta2)") }
    self.parameters = parameters
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    m = parameters.map { [Float](repeating: 0, count: $0.count) }
    v = m
  }

  /// The largest step count `restore(step:)` accepts: 2^53 (Float's bias corrections are exactly 1 long
  /// before, and no run takes that many steps).
  public static let maxStep = 1 << 53

  /// Sets the step count from a saved run (a checkpoint), refusing a negative count or one above `maxStep`,
  /// which would make the bias corrections meaningless or overflow.
  public func restore(step: Int) throws {
    guard step >= 0 && step <= Adam.maxStep else {
      throw TensorError("Adam: a saved step count must be in 0...\(Adam.maxStep), got \(step): the checkpoint is damaged")
    }
    t = step
  }

  public func step() {
    // Saturating, and never below 1: a step count set out of range cannot trap or flip the update's sign.
    t = t < Adam.maxStep ? Swift.max(t, 0) + 1 : Adam.maxStep
    let c1 = 1 - Foundation.pow(beta1, Float(t)), c2 = 1 - Foundation.pow(beta2, Float(t))
    let (b1, b2, lr, eps, wd) = (beta1, beta2, learningRate, epsilon, weightDecay)
    for (k, p) in parameters.enumerated() {
      guard let grad = p.grad else { continue }
      // The same formulas through raw buffers: no copy-on-write or bounds checks per value.
      grad.withUnsafeBufferPointer { g in
        p.data.withUnsafeMutableBufferPointer { w in
          m[k].withUnsafeMutableBufferPointer { mk in
            v[k].withUnsafeMutableBufferPointer { vk in
              // Sixteen values at a time (the same correctly rounded operations in the same order as the
              // scalar loop that finishes the tail, so the bits do not depend on where a value falls).
              var i = 0
              let (gp, wp, mp, vp) = (UnsafeRawPointer(g.baseAddress!), UnsafeMutableRawPointer(w.baseAddress!), UnsafeMutableRawPointer(mk.baseAddress!), UnsafeMutableRawPointer(vk.baseAddress!))
              while i + 16 <= w.count {
                let at = 4 * i
                let wi = wp.loadUnaligned(fromByteOffset: at, as: SIMD16<Float>.self)
                var gi = gp.loadUnaligned(fromByteOffset: at, as: SIMD16<Float>.self)
                if wd != 0 { gi = gi + wd * wi }
                let mi = b1 * mp.loadUnaligned(fromByteOffset: at, as: SIMD16<Float>.self) + (1 - b1) * gi
                let vi = b2 * vp.loadUnaligned(fromByteOffset: at, as: SIMD16<Float>.self) + (1 - b2) * gi * gi
                mp.storeBytes(of: mi, toByteOffset: at, as: SIMD16<Float>.self)
                vp.storeBytes(of: vi, toByteOffset: at, as: SIMD16<Float>.self)
                wp.storeBytes(of: wi - lr * (mi / c1) / ((vi / c2).squareRoot() + eps), toByteOffset: at, as: SIMD16<Float>.self)
                i += 16
              }
              while i < w.count {
                let gi = decayed(g[i], w[i], wd)
                mk[i] = b1 * mk[i] + (1 - b1) * gi
                vk[i] = b2 * vk[i] + (1 - b2) * gi * gi
                w[i] -= lr * (mk[i] / c1) / ((vk[i] / c2).squareRoot() + eps)
                i += 1
              }
            }
          }
        }
      }
    }
  }
}
