import Foundation
import Kernels

// Each activation: its forward formula and its derivative, side by side. The derivative gets the input x and
// the output y, and uses whichever is cheaper.
extension Tensor {
  /// 1 / (1 + e^-x), computed without overflow for large |x|.
  public func sigmoid() -> Tensor {
    Tensor.vectorMathOp(self, name: "sigmoid", .sigmoid, derivative: .formula({ _, y in y * (1 - y) }))
  }
  /// tanh(x).
  public func tanh() -> Tensor {
    Tensor.vectorMathOp(self, name: "tanh", .tanh, derivative: .formula({ _, y in 1 - y * y }))
  }
  /// max(0, x) (derivative 0 at 0; NaN stays NaN, so a diverging run shows in the loss). The workhorse of every network here, so it has its own vector loops,
  /// split over the cores for large tensors, rather than the generic per-value closure of `unaryOp`.
  public func relu() -> Tensor {
    let n = count
    let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
      data.withUnsafeBufferPointer { src in
        let xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: src.baseAddress!)), ys = SharedPointer(pointer: buffer.baseAddress!)
        elementwiseChunks(n) { range in reluForward(xs.pointer, ys.pointer, range) }
      }
      initialized = n
    }
    return Tensor(result: out, shape: shape, op: "relu").recording([self]) { o in
      let ga = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
        o.grad!.withUnsafeBufferPointer { g in
          self.data.withUnsafeBufferPointer { x in
            let gs = SharedPointer(pointer: UnsafeMutablePointer(mutating: g.baseAddress!)), xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: x.baseAddress!))
            let out = SharedPointer(pointer: buffer.baseAddress!)
            elementwiseChunks(n) { range in reluBackward(gs.pointer, xs.pointer, out.pointer, range) }
          }
        }
        initialized = n
      }
      self.accumulate(ga)
    }
  }
  /// x for x > 0, slope * x otherwise.
  public func leakyRelu(slope: Float = 0.01) -> Tensor {
    Tensor.unaryOp(self, name: "leakyRelu", forward: { $0 > 0 ? $0 : slope * $0 }, derivative: { x, _ in x > 0 ? 1 : slope })
  }
  /// x for x > 0, alpha (e^x - 1) otherwise.
  public func elu(alpha: Float = 1) -> Tensor {
    Tensor.unaryOp(self, name: "elu", forward: { $0 > 0 ? $0 : alpha * (Foundation.exp($0) - 1) }, derivative: { x, y in x > 0 ? 1 : y + alpha })
  }
  /// log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|).
  public func softplus() -> Tensor {
    Tensor.unaryOp(self, name: "softplus", forward: { Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }, derivative: { x, _ in stableSigmoid(x) })
  }
  /// x Φ(x) with the exact normal CDF Φ(x) = (1 + erf(x / √2)) / 2; derivative Φ(x) + x φ(x).
  public func gelu() -> Tensor {
    Tensor.vectorMathOp(self, name: "gelu", .gelu, derivative: .kernel)
  }
  /// x σ(x) (also called swish); derivative σ(x) (1 + x (1 - σ(x))).
  public func silu() -> Tensor {
    Tensor.vectorMathOp(self, name: "silu", .silu, derivative: .kernel)
  }
}

/// σ(x) without overflow: e^x / (1 + e^x) for negative x.
@inline(__always)
func stableSigmoid(_ x: Float) -> Float {
  if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
  let e = Foundation.exp(x)
  return e / (1 + e)
}
