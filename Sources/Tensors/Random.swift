import Foundation

/// The engine's seeded random numbers: SplitMix64 (Steele, Lea and Flood 2014), a 64-bit state advanced by
/// a constant and mixed by two multiply-xorshift rounds. It uses only integer arithmetic, so a seed gives
/// the same numbers on every machine and in every run.
///
/// - `next()` is the raw 64-bit output;
/// - `uniform()` takes its top 24 bits as a Float in [0, 1) (exactly representable);
/// - `normal()` uses the Box-Muller transform in Double, then rounds to Float.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1), with 24 random bits.
  public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

  /// Uniform in [0, 1), with 53 random bits.
  public mutating func uniformDouble() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

  /// Uniform in `range`.
  public mutating func uniform(in range: ClosedRange<Float>) -> Float {
    range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
  }

  /// Standard normal (mean 0, standard deviation 1) by Box-Muller.
  public mutating func normal() -> Float {
    let u1 = 1 - uniformDouble()  // (0, 1]: log is finite
    let u2 = uniformDouble()
    return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// A random permutation of 0..<n (Fisher-Yates with this generator).
  public mutating func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<n)
    if n < 2 { return p }
    for i in stride(from: n - 1, to: 0, by: -1) {
      let j = Int(next() % UInt64(i + 1))
      p.swapAt(i, j)
    }
    return p
  }
}
