import Kernels

// The ops whose forward is a vector-maths kernel (Kernels' VectorMath: exp, log, sigmoid, tanh, GELU, SiLU by
// range reduction and polynomials, AVX-512 / AVX2 / portable with the same bits), split over the cores for
// large tensors like relu. Each value is computed on its own, so the split changes no result.
extension Tensor {
  /// How the backward pass gets f'(x): from x and the output y by a formula, or from the kernel's own
  /// gradient (GELU and SiLU, whose derivatives need the exponential again).
  enum MathDerivative {
    case formula((Float, Float) -> Float)
    case kernel
  }

  /// f(a) by the kernel `function`, recording the backward pass given by `derivative`.
  static func vectorMathOp(_ a: Tensor, name: String, _ function: VectorMath.Function, derivative: MathDerivative) -> Tensor {
    let n = a.count
    let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
      if n > 0, let base = buffer.baseAddress { a.data.withUnsafeBufferPointer { src in
        let xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: src.baseAddress!)), ys = SharedPointer(pointer: base)
        elementwiseChunks(n) { range in VectorMath.apply(function, xs.pointer + range.lowerBound, ys.pointer + range.lowerBound, count: range.count) }
      } }
      initialized = n
    }
    return Tensor(result: out, shape: a.shape, op: name).recording([a]) { o in
      let ga = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
        if n > 0 { o.grad!.withUnsafeBufferPointer { g in
          a.data.withUnsafeBufferPointer { x in
            o.data.withUnsafeBufferPointer { y in
              let gs = SharedPointer(pointer: UnsafeMutablePointer(mutating: g.baseAddress!)), xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: x.baseAddress!))
              let ys = SharedPointer(pointer: UnsafeMutablePointer(mutating: y.baseAddress!)), out = SharedPointer(pointer: buffer.baseAddress!)
              switch derivative {
              case .formula(let formula):
                let d = UncheckedSendable(formula)
                elementwiseChunks(n) { range in for i in range { out.pointer[i] = gs.pointer[i] * d.value(xs.pointer[i], ys.pointer[i]) } }
              case .kernel:
                elementwiseChunks(n) { range in
                  VectorMath.gradient(function, gs.pointer + range.lowerBound, xs.pointer + range.lowerBound, out.pointer + range.lowerBound, count: range.count)
                }
              }
            }
          }
        } }
        initialized = n
      }
      a.accumulate(ga)
    }
  }
}
