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

/// An optimizer whose state (moments, velocities, step count) can be saved and restored, so that training
/// resumes with the same bits as if it had never stopped. The state stays private to the optimizer: only
/// these two calls read and write it (`TrainingCheckpoint` uses them).
public protocol ResumableOptimizer: Optimizer {
  /// A short lower-case name that prefixes the saved state's names ("adam": "adam.m.0", "adam_t").
  var stateName: String { get }
  /// Steps taken so far.
  var stepCount: Int { get }
  /// Copies of the state the next steps depend on besides the parameters and the step count, as named
  /// tensors shaped like the parameters (`<stateName>.<kind>.<parameter index>`; none for plain SGD).
  func stateTensors() throws -> [(String, Tensor)]
  /// Restores state saved by `stateTensors()` and `stepCount` for parameters of the same shapes. Nothing
  /// changes when it throws: `OptimizerStateError.missing` when a tensor is absent or shaped otherwise,
  /// `.badStep` for a step count outside 0...`maxStep`.
  func restoreState(_ tensors: [String: Tensor], step: Int) throws
}

extension ResumableOptimizer {
  /// The largest step count `restoreState` accepts: 2^53 (Float's bias corrections are exactly 1 long before,
  /// and no run takes that many steps).
  public static var maxStep: Int { 1 << 53 }

  /// The saved tensors of one kind, checked against the parameters' shapes (before anything is changed).
  func savedState(_ kind: String, in tensors: [String: Tensor]) throws -> [[Float]] {
    try parameters.enumerated().map { k, p in
      let name = "\(stateName).\(kind).\(k)"
      guard let t = tensors[name], t.shape == p.shape else { throw OptimizerStateError.missing(name) }
      return t.data
    }
  }

  /// The step count, checked.
  func checkedStep(_ step: Int) throws -> Int {
    guard step >= 0 && step <= Self.maxStep else { throw OptimizerStateError.badStep(step, optimizer: String(describing: Self.self), max: Self.maxStep) }
    return step
  }

  /// State arrays, one per parameter, as named tensors shaped like their parameters.
  func named(_ kind: String, _ arrays: [[Float]]) throws -> [(String, Tensor)] {
    try zip(parameters, arrays).enumerated().map { k, pair in ("\(stateName).\(kind).\(k)", try Tensor(pair.1, shape: pair.0.shape)) }
  }
}

/// Why saved optimizer state cannot be restored.
public enum OptimizerStateError: Error, CustomStringConvertible, Equatable {
  /// A state tensor is absent or has a shape other than its parameter's.
  case missing(String)
  /// A step count outside 0...max.
  case badStep(Int, optimizer: String, max: Int)

  public var description: String {
    switch self {
    case .missing(let name): return "the optimizer's state '\(name)' is missing or shaped unlike its parameter"
    case .badStep(let step, let optimizer, let max): return "its \(optimizer) step count \(step) is outside 0...\(max)"
    }
  }
}

/// The gradient with L2 weight decay added: g + λw.
@inline(__always)
func decayed(_ g: Float, _ w: Float, _ weightDecay: Float) -> Float { weightDecay == 0 ? g : g + weightDecay * w }

/// Stochastic gradient descent, optionally with momentum (v = μv + g; w -= lr v) or Nesterov momentum
/// (w -= lr (g + μv)), as PyTorch defines them.
///
/// Two kinds of weight decay: `weightDecay` λ adds λw to the gradient (L2 regularisation, "coupled": it goes
/// through the momentum), `decoupledWeightDecay` λ shrinks the weights directly, w -= lr λ w, before the
/// gradient step (Loshchilov and Hutter's "SGDW"): its strength follows the learning-rate schedule and does not
/// depend on the momentum.
public final class SGD: ResumableOptimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let momentum: Float
  public let nesterov: Bool
  public let weightDecay: Float
  public let decoupledWeightDecay: Float
  /// The velocities, per parameter (unused without momentum).
  private var velocity: [[Float]]
  public private(set) var stepCount = 0
  public var stateName: String { "sgd" }

  public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0, decoupledWeightDecay: Float = 0) throws {
    guard learningRate > 0, learningRate.isFinite else { throw TensorError("SGD: the learning rate must be positive, got \(learningRate)") }
    guard momentum >= 0 && momentum < 1 else { throw TensorError("SGD: momentum must be in [0, 1), got \(momentum)") }
    guard !nesterov || momentum > 0 else { throw TensorError("SGD: Nesterov momentum needs momentum > 0") }
    guard weightDecay >= 0, weightDecay.isFinite, decoupledWeightDecay >= 0, decoupledWeightDecay.isFinite else {
      throw TensorError("SGD: weight decay must be >= 0 and finite, got \(weightDecay) and \(decoupledWeightDecay)")
    }
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
    self.decoupledWeightDecay = decoupledWeightDecay
    velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
  }

  /// The velocities as `sgd.velocity.<k>` (none without momentum).
  public func stateTensors() throws -> [(String, Tensor)] { momentum == 0 ? [] : try named("velocity", velocity) }

  public func restoreState(_ tensors: [String: Tensor], step: Int) throws {
    let saved = momentum == 0 ? velocity : try savedState("velocity", in: tensors)
    stepCount = try checkedStep(step)
    velocity = saved
  }

  public func step() {
    stepCount = Swift.min(stepCount + 1, Self.maxStep)
    let (lr, mu, wd, shrink) = (learningRate, momentum, weightDecay, 1 - learningRate * decoupledWeightDecay)
    for (k, p) in parameters.enumerated() {
      guard let grad = p.grad else { continue }
      // Through raw buffers: no copy-on-write or bounds check per value (a scalar loop over arrays cost
      // ~44 ns a weight). The same operations in the same order for every value.
      grad.withUnsafeBufferPointer { g in
        p.data.withUnsafeMutableBufferPointer { w in
          velocity[k].withUnsafeMutableBufferPointer { v in
            for i in 0..<w.count {
              if shrink != 1 { w[i] *= shrink }
              let gi = decayed(g[i], w[i], wd)
              if mu == 0 {
                w[i] -= lr * gi
              } else {
                v[i] = mu * v[i] + gi
                w[i] -= lr * (nesterov ? gi + mu * v[i] : v[i])
              }
            }
          }
        }
      }
    }
  }
}

/// RMSProp: s = ρs + (1-ρ)g²; w -= lr g / (√s + ε).
public final class RMSProp: ResumableOptimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let rho: Float, epsilon: Float, weightDecay: Float
  /// The running means of the squared gradients, per parameter.
  private var square: [[Float]]
  public private(set) var stepCount = 0
  public var stateName: String { "rmsprop" }

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

  /// The running means of the squared gradients as `rmsprop.square.<k>`.
  public func stateTensors() throws -> [(String, Tensor)] { try named("square", square) }

  public func restoreState(_ tensors: [String: Tensor], step: Int) throws {
    let saved = try savedState("square", in: tensors)
    stepCount = try checkedStep(step)
    square = saved
  }

  public func step() {
    stepCount = Swift.min(stepCount + 1, Self.maxStep)
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
public final class Adam: ResumableOptimizer {
  public let parameters: [Tensor]
  public var learningRate: Float
  public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
  /// First and second moment estimates, per parameter (read-only outside: `stateTensors()` and
  /// `restoreState(_:step:)` save and restore them).
  public private(set) var m: [[Float]], v: [[Float]]
  /// Steps taken so far.
  public private(set) var t = 0
  public var stepCount: Int { t }
  public var stateName: String { "adam" }

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

  /// The moments as `adam.m.<k>` and `adam.v.<k>`.
  public func stateTensors() throws -> [(String, Tensor)] { try named("m", m) + named("v", v) }

  public func restoreState(_ tensors: [String: Tensor], step: Int) throws {
    let (savedM, savedV) = (try savedState("m", in: tensors), try savedState("v", in: tensors))
    t = try checkedStep(step)
    (m, v) = (savedM, savedV)
  }

  public func step() {
    // Saturating: restored at `maxStep` (the largest count accepted), the next step cannot overflow.
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
