import Foundation
@testable import Kernels
import Tensors
import XCTest

/// The vector maths (Kernels' VectorMath, CKernels' nl_vecmath) against Float64 over the whole float range, on
/// every path the processor runs (AVX-512, AVX2 + FMA, portable), and the ops that use it.
///
/// Error measure: where the Float64 value is a normal float, |y − f(x)| in ulps of f(x)'s float binade (ulp =
/// 2^(e − 23)); where it is below 2^-126 (denormal results), |y − f(x)| in units of the smallest denormal,
/// 2^-149 (the absolute error a denormal can show). The bounds asserted here are those the README states.
final class VectorMathTests: XCTestCase {
  typealias F = VectorMath.Function

  /// The bounds (ulps for normal results) the README states; denormal results: within `denormalBound` x 2^-149.
  /// Measured over all 2^32 floats (release, AVX2 and AVX-512 equal bit for bit): exp 1.01, log 0.83, sigmoid
  /// 2.40, tanh 1.33, GELU 5.53, SiLU 3.34 ulp; denormal results at most 3.04 x 2^-149 (GELU; the others at most
  /// 2.32).
  static let bounds: [F: Double] = [.exp: 1.5, .log: 1, .sigmoid: 2.5, .tanh: 1.5, .gelu: 6, .silu: 3.5]
  static let denormalBound = 3.5

  static func reference(_ f: F, _ x: Double) -> Double {
    switch f {
    case .exp: return Foundation.exp(x)
    case .log: return Foundation.log(x)
    case .sigmoid: return 1 / (1 + Foundation.exp(-x))
    case .tanh: return Foundation.tanh(x)
    case .gelu: return x.isInfinite ? (x > 0 ? x : -0.0) : 0.5 * x * Foundation.erfc(-x / 2.0.squareRoot())
    case .silu: return x.isInfinite ? (x > 0 ? x : -0.0) : x / (1 + Foundation.exp(-x))
    }
  }

  /// (error, whether the reference is below the normal range), or nil when y is right in kind (NaN, infinity).
  /// A wrong kind (NaN for a number, a finite value for an overflow) is +inf.
  static func error(_ y: Float, _ r: Double) -> (Double, Bool)? {
    if r.isNaN { return y.isNaN ? nil : (.infinity, false) }
    if Swift.abs(r) >= Double(Float.greatestFiniteMagnitude) + Double(Float.greatestFiniteMagnitude.ulp) / 2 {
      return y == Float(r) ? nil : (.infinity, false)
    }
    if !y.isFinite { return (.infinity, false) }
    let a = Swift.abs(r)
    let exponent = a == 0 ? -126 : Swift.max(Int(a.exponent), -126)
    let ulp = Double(sign: .plus, exponent: exponent - 23, significand: 1)
    return (Swift.abs(Double(y) - r) / ulp, a < 0x1p-126)
  }

  /// Every `stride`-th bit pattern from `offset`: both signs, every binade, NaNs and infinities included.
  static func sweep(stride: UInt32, offset: UInt32) -> [Float] {
    Swift.stride(from: UInt64(offset), to: 1 << 32, by: Int(stride)).map { Float(bitPattern: UInt32($0)) }
  }

  func run(_ f: F, _ x: [Float], path: VectorMath.Path) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in VectorMath.apply(f, px.baseAddress!, py.baseAddress!, count: x.count, path: path) } }
    return y
  }

  /// Each function over ~1M floats spread over the whole range (a prime stride, so every binade and many
  /// mantissas), on every path: within its bound, and the paths equal bit for bit.
  func testAccuracyOverTheWholeFloatRange() {
    let x = Self.sweep(stride: 4093, offset: 1234)
    for f in F.allCases {
      let references = x.map { Self.reference(f, Double($0)) }
      var first: [Float]?
      for path in VectorMath.available {
        let y = run(f, x, path: path)
        var worst = (normal: 0.0, normalAt: Float(0), denormal: 0.0, denormalAt: Float(0))
        for i in x.indices {
          guard let (e, denormal) = Self.error(y[i], references[i]) else { continue }
          if denormal { if e > worst.denormal { worst.denormal = e; worst.denormalAt = x[i] } } else if e > worst.normal { worst.normal = e; worst.normalAt = x[i] }
        }
        XCTAssertLessThanOrEqual(worst.normal, Self.bounds[f]!, "\(f) on \(path): \(worst.normal) ulp at x = \(worst.normalAt)")
        XCTAssertLessThanOrEqual(worst.denormal, Self.denormalBound, "\(f) on \(path): denormal result off by \(worst.denormal) x 2^-149 at x = \(worst.denormalAt)")
        if let first { XCTAssert(first.map(\.bitPattern) == y.map(\.bitPattern), "\(f): \(path) gives other bits than \(VectorMath.available[0])") } else { first = y }
      }
    }
  }

  /// ±0, ±inf, NaN, the edges of overflow and underflow, denormal inputs and results: within the bounds, and
  /// the limits exactly.
  func testSpecialValues() {
    let edges: [F: [Float]] = [
      .exp: [0, -0.0, 1, 1e-30, -1e-30, 88.72, 88.7228, 88.73, 89, -87.33, -87.34, -100, -103.97, -104, -110, -200, .leastNonzeroMagnitude],
      .log: [1, 0.9999999, 1.0000001, .leastNonzeroMagnitude, 1e-40, .leastNormalMagnitude, .greatestFiniteMagnitude, -1, -.leastNonzeroMagnitude],
      .sigmoid: [0, 1e-30, -1e-30, 15, 17, 20, 88, -87.3, -88, -100, -103, -104, -110, -1000],
      .tanh: [0, 1e-30, -1e-40, 0x1p-12, 0.62, 0.625, 0.63, 9, 9.1, 20, 45, -45],
      .gelu: [0, 1e-30, -1e-40, 0.999, 1, -1, -1.001, 5, 6, -13, -13.2, -13.5, -14, -14.5, -19.9, -20, -21, 20, 30],
      .silu: [0, 1e-30, -1e-40, 20, -20, -87.3, -88, -90, -100, -104, -108, -109, -110, -111, -200, -201, 100],
    ]
    let limits: [(F, Float, Float)] = [
      (.exp, .infinity, .infinity), (.exp, -.infinity, 0), (.exp, 89, .infinity), (.exp, -104, 0),
      (.log, 0, -.infinity), (.log, -0.0, -.infinity), (.log, .infinity, .infinity), (.log, 1, 0),
      (.sigmoid, .infinity, 1), (.sigmoid, -.infinity, 0), (.sigmoid, 0, 0.5), (.tanh, .infinity, 1), (.tanh, -.infinity, -1),
      (.tanh, 1e-30, 1e-30), (.tanh, 10, 1), (.gelu, .infinity, .infinity), (.gelu, -.infinity, 0), (.gelu, 30, 30), (.gelu, -30, 0),
      (.silu, .infinity, .infinity), (.silu, -.infinity, 0), (.silu, 100, 100), (.silu, -1000, 0),
    ]
    for path in VectorMath.available {
      for (f, xs) in edges {
        for x in xs + xs.map({ -$0 }) {
          let y = run(f, [x], path: path)[0]
          guard let (e, denormal) = Self.error(y, Self.reference(f, Double(x))) else { continue }
          XCTAssertLessThanOrEqual(e, denormal ? Self.denormalBound : Self.bounds[f]!, "\(f)(\(x)) on \(path) = \(y)")
        }
      }
      for (f, x, want) in limits { XCTAssertEqual(run(f, [x], path: path)[0], want, "\(f)(\(x)) on \(path)") }
      for f in F.allCases {
        XCTAssert(run(f, [.nan], path: path)[0].isNaN, "\(f)(NaN) on \(path)")
        XCTAssert(run(f, [Float(bitPattern: 0xFFC0_1234)], path: path)[0].isNaN, "\(f)(-NaN) on \(path)")
        let odd = f == .tanh || f == .gelu || f == .silu
        if odd { XCTAssertEqual(run(f, [-0.0], path: path)[0].sign, .minus, "\(f)(-0) on \(path) keeps the sign") }
      }
    }
  }

  /// A value does not depend on where it sits in the array or how long the array is (vector body or tail).
  func testTailsAndOffsets() {
    let x = (0..<67).map { Float($0) * 0.37 - 12 }
    for path in VectorMath.available {
      for f in F.allCases {
        let whole = run(f, x, path: path)
        for length in [1, 3, 7, 15, 17, 33] {
          for start in [0, 1, 5] where start + length <= x.count {
            XCTAssertEqual(run(f, Array(x[start..<(start + length)]), path: path).map(\.bitPattern), whole[start..<(start + length)].map(\.bitPattern), "\(f) on \(path), \(length) values from \(start)")
          }
        }
      }
    }
  }

  /// GELU's and SiLU's gradient kernels against Float64, relative to the size of their terms (the derivatives
  /// cross zero, where ulps of the result mean nothing).
  func testGradientKernels() {
    let x = Self.sweep(stride: 65_521, offset: 7) + (0..<2001).map { Float($0 - 1000) * 0.01 }
    let g = [Float](repeating: 1, count: x.count)
    for path in VectorMath.available {
      for f in [F.gelu, .silu] {
        var dx = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in g.withUnsafeBufferPointer { pg in dx.withUnsafeMutableBufferPointer { pd in
          VectorMath.gradient(f, pg.baseAddress!, px.baseAddress!, pd.baseAddress!, count: x.count, path: path)
        } } }
        for (i, v) in x.enumerated() where v.isFinite {
          let d = Double(v)
          let (want, scale): (Double, Double)
          if f == .gelu {
            let cdf = 0.5 * Foundation.erfc(-d / 2.0.squareRoot()), pdf = Foundation.exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
            (want, scale) = (cdf + d * pdf, cdf + Swift.abs(d * pdf))
          } else {
            let s = 1 / (1 + Foundation.exp(-d))
            (want, scale) = (s * (1 + d * (1 - s)), s * (1 + Swift.abs(d) * (1 - s)))
          }
          XCTAssertEqual(Double(dx[i]), want, accuracy: 8 * 0x1p-24 * scale + 0x1p-140, "\(f)' (\(v)) on \(path)")
        }
        XCTAssert(dx.indices.allSatisfy { x[$0].isNaN == dx[$0].isNaN }, "\(f)': NaN exactly where x is NaN")
      }
    }
  }

  /// The ops: the kernel's values, the same bits with one and two threads (split arrays), finite gradients.
  func testOpsUseTheKernelsAndAnyThreadCount() throws {
    var rng = SeededGenerator(seed: 19)
    let a = try Tensor.uniform([70_001], in: -9...9, using: &rng)
    let ops: [(F, (Tensor) -> Tensor)] = [(.exp, { $0.exp() }), (.log, { $0.abs().log() }), (.sigmoid, { $0.sigmoid() }), (.tanh, { $0.tanh() }), (.gelu, { $0.gelu() }), (.silu, { $0.silu() })]
    for (f, op) in ops {
      let one = KernelSettings.withThreads(1) { op(a).data }, two = KernelSettings.withThreads(2) { op(a).data }
      XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "\(f): 1 and 2 threads")
      let input = f == .log ? a.abs().data : a.data
      XCTAssertEqual(one.map(\.bitPattern), run(f, input, path: VectorMath.path).map(\.bitPattern), "\(f): the op is the kernel")
    }
  }
}
