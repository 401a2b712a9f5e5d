import Foundation

/// The numerical gradient check: autograd's gradients against central differences.
///
/// The function's output is reduced to a scalar by a fixed random weighting, L = Σ wᵢ f(x)ᵢ, summed in
/// Double. Each input value is nudged by ±h and ±h/2, and the two central differences are combined by
/// Richardson extrapolation, (4 D(h/2) - D(h)) / 3, which cancels the h² error term; the result is compared
/// with autograd's gradient in Double.
public struct GradientCheck {
  /// One input value whose gradients disagree most.
  public struct Worst: CustomStringConvertible {
    public let input: Int, index: Int
    public let analytic: Double, numeric: Double
    public var description: String { "input \(input)[\(index)]: autograd \(analytic), numeric \(numeric)" }
  }
  /// The largest error: |analytic - numeric| / max(1, |analytic|, |numeric|), a relative error for
  /// gradients of size 1 and more, an absolute one below (Float32 cannot resolve tiny gradients relatively).
  /// Infinite when any analytic or numeric gradient is NaN or infinite.
  public let maxError: Double
  public let worst: Worst?
  /// Every (analytic, numeric) pair, for plotting one against the other.
  public let pairs: [(analytic: Double, numeric: Double)]

  /// Checks `f` at `inputs` (which must require gradients). `h` is the step.
  public static func run(_ inputs: [Tensor], h: Float = 1e-2, seed: UInt64 = 1, _ f: ([Tensor]) throws -> Tensor) throws -> GradientCheck {
    guard inputs.allSatisfy(\.requiresGrad) else { throw TensorError("gradient check: every input must require gradients") }
    for t in inputs { t.zeroGrad() }
    let probe = try f(inputs)
    var rng = SeededGenerator(seed: seed)
    let weights = try Tensor((0..<probe.count).map { _ in rng.uniform(in: 0.5...1.5) * (rng.uniform() < 0.5 ? -1 : 1) }, shape: probe.shape)
    let loss = try (probe * weights).sum()
    try loss.backward()

    func value() throws -> Double {
      let out = try Tensor.withoutGrad { try f(inputs) }
      var s = 0.0
      for i in 0..<out.count { s += Double(out.data[i]) * Double(weights.data[i]) }
      return s
    }
    var maxError = 0.0
    var worst: Worst?
    var pairs: [(Double, Double)] = []
    for (k, t) in inputs.enumerated() {
      let analytic = t.grad ?? [Float](repeating: 0, count: t.count)
      for i in 0..<t.count {
        let original = t.data[i]
        func difference(_ step: Float) throws -> Double {
          t.data[i] = original + step
          let plus = try value()
          t.data[i] = original - step
          let minus = try value()
          t.data[i] = original
          // The steps actually taken, in Float.
          let taken = Double(original + step) - Double(original - step)
          return (plus - minus) / taken
        }
        let numeric = (4 * (try difference(h / 2)) - (try difference(h))) / 3
        let a = Double(analytic[i])
        let err = Swift.abs(a - numeric) / Swift.max(1, Swift.abs(a), Swift.abs(numeric))
        pairs.append((a, numeric))
        // A NaN or infinite gradient (either side) fails the check whatever came before: it is an infinite
        // error, and the first such pair is the one reported.
        if !err.isFinite {
          if maxError.isFinite {
            maxError = .infinity
            worst = Worst(input: k, index: i, analytic: a, numeric: numeric)
          }
        } else if err > maxError {
          maxError = err
          worst = Worst(input: k, index: i, analytic: a, numeric: numeric)
        }
      }
    }
    for t in inputs { t.zeroGrad() }
    return GradientCheck(maxError: maxError, worst: worst, pairs: pairs)
  }
}
