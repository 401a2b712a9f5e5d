import Foundation
import Kernels

// MARK: - Broadcasting

/// numpy's broadcasting: shapes are aligned on their last axes; sizes must match or be 1.
func broadcastShape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
  let n = max(a.count, b.count)
  var out = [Int](repeating: 1, count: n)
  for i in 0..<n {
    let x = i < n - a.count ? 1 : a[i - (n - a.count)]
    let y = i < n - b.count ? 1 : b[i - (n - b.count)]
    guard x == y || x == 1 || y == 1 else { throw TensorError.shapes(op, a, b, "cannot be broadcast together") }
    out[i] = x == 1 ? y : x
  }
  return out
}

/// For each flat index of `out`, the flat index of the broadcast operand of shape `shape`.
func broadcastIndex(from shape: [Int], to out: [Int]) -> [Int] {
  if shape == out { return Array(0..<out.reduce(1, *)) }
  let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
  // A broadcast axis (size 1) does not move through the operand: stride 0.
  let inStrides = Tensor.strides(padded).enumerated().map { padded[$0.offset] == 1 ? 0 : $0.element }
  return broadcastIndexStrided(out, inStrides)
}

/// Sums a gradient of the broadcast shape back down to the operand's shape.
func reduceGradient(_ g: [Float], index: [Int], count: Int) -> [Float] {
  if index.count == count { return g }
  var out = [Float](repeating: 0, count: count)
  for i in 0..<g.count { out[index[i]] += g[i] }
  return out
}

extension Tensor {
  // MARK: - Building new operations

  /// An elementwise operation of two tensors with broadcasting: `forward(x, y)` and its partial derivatives
  /// `derivatives(x, y) -> (d/dx, d/dy)`, side by side. Lessons and losses define their own operations with it.
  @inline(__always)
  public static func binaryOp(
    _ a: Tensor, _ b: Tensor, name: String, forward: (Float, Float) -> Float,
    derivatives: @escaping (Float, Float) -> (Float, Float)
  ) throws -> Tensor {
    let shape = try broadcastShape(a.shape, b.shape, op: name)
    let n = shape.reduce(1, *)
    var out = [Float](repeating: 0, count: n)
    if a.shape == b.shape {
      a.data.withUnsafeBufferPointer { x in
        b.data.withUnsafeBufferPointer { y in
          for i in 0..<n { out[i] = forward(x[i], y[i]) }
        }
      }
      return Tensor(result: out, shape: shape, op: name).recording([a, b]) { o in
        // Only the gradients that are needed; each array is written whole before use.
        let wantA = a.requiresGrad, wantB = b.requiresGrad
        var ga = [Float](unsafeUninitializedCapacity: wantA ? n : 0) { _, c in c = wantA ? n : 0 }
        var gb = [Float](unsafeUninitializedCapacity: wantB ? n : 0) { _, c in c = wantB ? n : 0 }
        o.grad!.withUnsafeBufferPointer { g in
          a.data.withUnsafeBufferPointer { x in
            b.data.withUnsafeBufferPointer { y in
              for i in 0..<n {
                let (dx, dy) = derivatives(x[i], y[i])
                if wantA { ga[i] = g[i] * dx }
                if wantB { gb[i] = g[i] * dy }
              }
            }
          }
        }
        if wantA { a.accumulate(ga) }
        if wantB { b.accumulate(gb) }
      }
    }
    let ia = broadcastIndex(from: a.shape, to: shape), ib = broadcastIndex(from: b.shape, to: shape)
    for i in 0..<n { out[i] = forward(a.data[ia[i]], b.data[ib[i]]) }
    return Tensor(result: out, shape: shape, op: name).recording([a, b]) { o in
      let g = o.grad!
      var ga = [Float](repeating: 0, count: n), gb = [Float](repeating: 0, count: n)
      for i in 0..<n {
        let (dx, dy) = derivatives(a.data[ia[i]], b.data[ib[i]])
        ga[i] = g[i] * dx
        gb[i] = g[i] * dy
      }
      if a.requiresGrad { a.accumulate(reduceGradient(ga, index: ia, count: a.count)) }
      if b.requiresGrad { b.accumulate(reduceGradient(gb, index: ib, count: b.count)) }
    }
  }

  /// An elementwise operation of one tensor: `forward(x)` and `derivative(x, y)` where y = forward(x).
  @inline(__always)
  public static func unaryOp(_ a: Tensor, name: String, forward: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
    let n = a.count
    // Forward in one inlined loop (the closure is known here, so it compiles to straight vector code); the
    // backward calls its stored derivative per value anyway, so it is split over the cores instead.
    let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
      a.data.withUnsafeBufferPointer { src in
        for i in 0..<n { buffer[i] = forward(src[i]) }
      }
      initialized = n
    }
    return Tensor(result: out, shape: a.shape, op: name).recording([a]) { o in
      let ga = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
        o.grad!.withUnsafeBufferPointer { g in
          a.data.withUnsafeBufferPointer { x in
            o.data.withUnsafeBufferPointer { y in
              let gs = SharedPointer(pointer: UnsafeMutablePointer(mutating: g.baseAddress!)), xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: x.baseAddress!))
              let ys = SharedPointer(pointer: UnsafeMutablePointer(mutating: y.baseAddress!)), out = SharedPointer(pointer: buffer.baseAddress!)
              let d = UncheckedSendable(derivative)
              elementwiseChunks(n) { range in for i in range { out.pointer[i] = gs.pointer[i] * d.value(xs.pointer[i], ys.pointer[i]) } }
            }
          }
        }
        initialized = n
      }
      a.accumulate(ga)
    }
  }

  // MARK: - Arithmetic

  public static func + (a: Tensor, b: Tensor) throws -> Tensor {
    try binaryOp(a, b, name: "+", forward: +, derivatives: { _, _ in (1, 1) })
  }
  public static func - (a: Tensor, b: Tensor) throws -> Tensor {
    try binaryOp(a, b, name: "-", forward: -, derivatives: { _, _ in (1, -1) })
  }
  public static func * (a: Tensor, b: Tensor) throws -> Tensor {
    try binaryOp(a, b, name: "*", forward: *, derivatives: { x, y in (y, x) })
  }
  public static func / (a: Tensor, b: Tensor) throws -> Tensor {
    try binaryOp(a, b, name: "/", forward: /, derivatives: { x, y in (1 / y, -x / (y * y)) })
  }
  public static prefix func - (a: Tensor) -> Tensor {
    unaryOp(a, name: "neg", forward: { -$0 }, derivative: { _, _ in -1 })
  }

  public static func + (a: Tensor, s: Float) -> Tensor { unaryOp(a, name: "+", forward: { $0 + s }, derivative: { _, _ in 1 }) }
  public static func + (s: Float, a: Tensor) -> Tensor { a + s }
  public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
  public static func - (s: Float, a: Tensor) -> Tensor { unaryOp(a, name: "-", forward: { s - $0 }, derivative: { _, _ in -1 }) }
  public static func * (a: Tensor, s: Float) -> Tensor { unaryOp(a, name: "*", forward: { $0 * s }, derivative: { _, _ in s }) }
  public static func * (s: Float, a: Tensor) -> Tensor { a * s }
  public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
  public static func / (s: Float, a: Tensor) -> Tensor {
    unaryOp(a, name: "/", forward: { s / $0 }, derivative: { x, _ in -s / (x * x) })
  }

  // MARK: - Elementwise functions

  /// e^x.
  public func exp() -> Tensor { Tensor.vectorMathOp(self, name: "exp", .exp, derivative: .formula({ _, y in y })) }
  /// Natural logarithm (NaN for x < 0, -inf at 0, as IEEE).
  public func log() -> Tensor { Tensor.vectorMathOp(self, name: "log", .log, derivative: .formula({ x, _ in 1 / x })) }
  /// Square root.
  public func sqrt() -> Tensor { Tensor.unaryOp(self, name: "sqrt", forward: { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
  /// x^p for a constant exponent.
  public func pow(_ p: Float) -> Tensor {
    Tensor.unaryOp(self, name: "pow", forward: { Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
  }
  /// |x| (derivative 0 at 0).
  public func abs() -> Tensor {
    Tensor.unaryOp(self, name: "abs", forward: { Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) })
  }
  /// Values limited to `min...max`; the gradient is 0 where a limit applies.
  public func clamp(min lo: Float, max hi: Float) throws -> Tensor {
    guard lo <= hi else { throw TensorError("clamp: min \(lo) is greater than max \(hi)") }
    return Tensor.unaryOp(self, name: "clamp", forward: { Swift.min(Swift.max($0, lo), hi) }, derivative: { x, _ in x >= lo && x <= hi ? 1 : 0 })
  }

  // MARK: - Comparisons (no gradient)

  private static func compare(_ a: Tensor, _ b: Tensor, _ name: String, _ f: (Float, Float) -> Bool) throws -> Tensor {
    let shape = try broadcastShape(a.shape, b.shape, op: name)
    let ia = broadcastIndex(from: a.shape, to: shape), ib = broadcastIndex(from: b.shape, to: shape)
    return Tensor(result: (0..<ia.count).map { f(a.data[ia[$0]], b.data[ib[$0]]) ? 1 : 0 }, shape: shape, op: name)
  }
  /// 1 where self > other, else 0.
  public func greater(_ other: Tensor) throws -> Tensor { try Tensor.compare(self, other, ">", >) }
  /// 1 where self < other, else 0.
  public func less(_ other: Tensor) throws -> Tensor { try Tensor.compare(self, other, "<", <) }
  /// 1 where self == other, else 0.
  public func equal(_ other: Tensor) throws -> Tensor { try Tensor.compare(self, other, "==", ==) }
  /// 1 where self > value, else 0.
  public func greater(_ value: Float) -> Tensor { Tensor(result: data.map { $0 > value ? 1 : 0 }, shape: shape, op: ">") }
  /// 1 where self < value, else 0.
  public func less(_ value: Float) -> Tensor { Tensor(result: data.map { $0 < value ? 1 : 0 }, shape: shape, op: "<") }
}
