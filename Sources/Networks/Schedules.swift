import Foundation
import Tensors

/// A learning rate that changes with the step: a multiplier of the base rate, piecewise linear between
/// points (fraction of training done, multiplier). Warm-up then linear decay is
/// `[(0, 0.2), (0.23, 1), (1, 0.07)]`; one-cycle is `[(0, low), (peak, 1), (1, ~0)]`.
public struct LearningRateSchedule: Sendable, Equatable {
  /// (fraction of the run in 0...1, multiplier), fractions increasing from 0 to 1.
  public let points: [(Double, Double)]

  public init(points: [(Double, Double)]) throws {
    guard points.count >= 2, points.first?.0 == 0, points.last?.0 == 1 else {
      throw TensorError("LearningRateSchedule: needs at least two points, the first at fraction 0 and the last at 1, got \(points)")
    }
    guard zip(points, points.dropFirst()).allSatisfy({ $0.0 < $1.0 }), points.allSatisfy({ $0.1 >= 0 && $0.1.isFinite }) else {
      throw TensorError("LearningRateSchedule: fractions must increase and multipliers be finite and >= 0, got \(points)")
    }
    self.points = points
  }

  /// A linear warm-up from `start` x to 1 x over the first `warmup` of the run, then a linear decay to `end` x.
  public static func warmupLinearDecay(warmup: Double, start: Double, end: Double) throws -> LearningRateSchedule {
    guard warmup > 0 && warmup < 1 else { throw TensorError("LearningRateSchedule: the warm-up must be a fraction in (0, 1), got \(warmup)") }
    return try LearningRateSchedule(points: [(0, start), (warmup, 1), (1, end)])
  }

  /// A constant rate.
  public static let constant = try! LearningRateSchedule(points: [(0, 1), (1, 1)])

  /// The multiplier at `step` of `total` steps (clamped to the ends).
  public func multiplier(step: Int, of total: Int) -> Double {
    let t = total <= 0 ? 1 : Swift.min(Swift.max(Double(step) / Double(total), 0), 1)
    for (a, b) in zip(points, points.dropFirst()) where t <= b.0 {
      return a.1 + (b.1 - a.1) * (t - a.0) / (b.0 - a.0)
    }
    return points.last!.1
  }

  public static func == (l: LearningRateSchedule, r: LearningRateSchedule) -> Bool {
    l.points.count == r.points.count && zip(l.points, r.points).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
  }
}

/// An exponential moving average of a model's weights: a ← d a + (1 - d) w after each update. The average
/// of the last few hundred steps sits nearer the valley floor than any one noisy step.
///
/// `update(decay:copyBack: true)` also writes the average back into the model (the "lookahead" of hlb-cifar10
/// and airbench: the fast weights restart from the slow ones every few steps).
public final class WeightAverage {
  public let tensors: [Tensor]
  private var average: [[Float]]

  /// Averages `tensors` (a model's parameters and its buffers), starting from their current values.
  public init(_ tensors: [Tensor]) {
    self.tensors = tensors
    average = tensors.map(\.data)
  }

  /// Folds the current values in with weight 1 - `decay`.
  public func update(decay: Float, copyBack: Bool = false) {
    for (k, t) in tensors.enumerated() {
      average[k].withUnsafeMutableBufferPointer { a in
        t.data.withUnsafeMutableBufferPointer { w in
          for i in 0..<w.count {
            a[i] = decay * a[i] + (1 - decay) * w[i]
            if copyBack { w[i] = a[i] }
          }
        }
      }
    }
  }

  /// The averages as tensors named `average.<k>` (k: the tensor's place in `tensors`), for
  /// `TrainingCheckpoint`.
  public func stateTensors() throws -> [(String, Tensor)] {
    try tensors.indices.map { k in ("average.\(k)", try Tensor(average[k], shape: tensors[k].shape)) }
  }

  /// Puts back averages saved by `stateTensors` (the caller has checked that each is there, with its shape).
  func restore(_ saved: [String: Tensor]) {
    for k in tensors.indices { average[k] = saved["average.\(k)"]!.data }
  }

  /// Runs `body` with the averaged values in the tensors, then puts the current ones back.
  public func withAveraged<T>(_ body: () throws -> T) rethrows -> T {
    let saved = tensors.map(\.data)
    for (k, t) in tensors.enumerated() { t.data = average[k] }
    defer { for (k, t) in tensors.enumerated() { t.data = saved[k] } }
    return try body()
  }

  /// Copies the average into the tensors for good.
  public func copyIntoModel() {
    for (k, t) in tensors.enumerated() { t.data = average[k] }
  }
}
