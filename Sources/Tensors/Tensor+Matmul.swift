import Foundation

/// c[m x n] += op(a) op(b) for row-major operands at the given offsets, through the fast GEMM.
func gemm(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, into c: inout [Float], cOffset: Int = 0, aOffset: Int = 0, bOffset: Int = 0) {
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      c.withUnsafeMutableBufferPointer { pc in
        GEMM.multiply(
          m: m, n: n, k: k, a: pa.baseAddress! + aOffset, lda: transA ? m : k, transA: transA,
          b: pb.baseAddress! + bOffset, ldb: transB ? k : n, transB: transB, beta: 1, c: pc.baseAddress! + cOffset, ldc: n)
      }
    }
  }
}

extension Tensor {
  /// Matrix product: [m, k] x [k, n] -> [m, n]; batched [b, m, k] x [b, k, n] -> [b, m, n]; and
  /// [b, m, k] x [k, n] (the same matrix for every batch).
  public func matmul(_ other: Tensor) throws -> Tensor {
    let a = self, b = other
    switch (a.rank, b.rank) {
    case (2, 2):
      let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
      guard b.shape[0] == k else { throw TensorError.shapes("matmul", a.shape, b.shape, "do not match: inner sizes \(k) and \(b.shape[0]) differ") }
      var out = [Float](repeating: 0, count: m * n)
      gemm(a.data, b.data, m: m, n: n, k: k, into: &out)
      return Tensor(result: out, shape: [m, n], op: "matmul").recording([a, b]) { o in
        let g = o.grad!
        if a.requiresGrad {  // dA = dC B^T
          var ga = [Float](repeating: 0, count: m * k)
          gemm(g, b.data, m: m, n: k, k: n, transB: true, into: &ga)
          a.accumulate(ga)
        }
        if b.requiresGrad {  // dB = A^T dC
          var gb = [Float](repeating: 0, count: k * n)
          gemm(a.data, g, m: k, n: n, k: m, transA: true, into: &gb)
          b.accumulate(gb)
        }
      }
    case (3, 3), (3, 2):
      let batch = a.shape[0], m = a.shape[1], k = a.shape[2]
      let shared = b.rank == 2
      let bk = shared ? b.shape[0] : b.shape[1], n = shared ? b.shape[1] : b.shape[2]
      guard bk == k, shared || b.shape[0] == batch else {
        throw TensorError.shapes("matmul", a.shape, b.shape, "do not match for a batched product")
      }
      var out = [Float](repeating: 0, count: batch * m * n)
      for i in 0..<batch {
        gemm(a.data, b.data, m: m, n: n, k: k, into: &out, cOffset: i * m * n, aOffset: i * m * k, bOffset: shared ? 0 : i * k * n)
      }
      return Tensor(result: out, shape: [batch, m, n], op: "matmul").recording([a, b]) { o in
        let g = o.grad!
        if a.requiresGrad {
          var ga = [Float](repeating: 0, count: batch * m * k)
          for i in 0..<batch {
            gemm(g, b.data, m: m, n: k, k: n, transB: true, into: &ga, cOffset: i * m * k, aOffset: i * m * n, bOffset: shared ? 0 : i * k * n)
          }
          a.accumulate(ga)
        }
        if b.requiresGrad {
          var gb = [Float](repeating: 0, count: b.count)
          for i in 0..<batch {
            gemm(a.data, g, m: k, n: n, k: m, transA: true, into: &gb, cOffset: shared ? 0 : i * k * n, aOffset: i * m * k, bOffset: i * m * n)
          }
          b.accumulate(gb)
        }
      }
    default:
      throw TensorError.shapes("matmul", a.shape, b.shape, "are not 2-D or batched 3-D matrices")
    }
  }
}
