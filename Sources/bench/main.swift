import Foundation
import Tensors

var rng = SeededGenerator(seed: 1)
for n in [256, 512, 1024, 2048] {
  let a = (0..<n*n).map { _ in rng.uniform() }, b = (0..<n*n).map { _ in rng.uniform() }
  var c = [Float](repeating: 0, count: n*n)
  for t in [1, 2] {
    let tm = measure(minTime: 0.5) {
      a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
        GEMM.multiply(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n, threads: t)
      }}}
    }
    print(n, t, String(format: "%.1f GFLOP/s", 2 * Double(n*n*n) / tm.median / 1e9))
  }
}
