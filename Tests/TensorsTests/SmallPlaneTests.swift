import CCPU
import CKernels
import Tensors
import XCTest

/// The AVX-512 permutes that unfold and fold small planes (a convolution's 4x4 outputs) against plain loops,
/// bit for bit: the unfolded values, and the gradient sums added in the same order.
final class SmallPlaneTests: XCTestCase {
  func testPermutesMatchLoops() throws {
    try XCTSkipUnless(nl_cpu_has_avx512() != 0, "needs AVX-512")
    var rng = SeededGenerator(seed: 31)
    for (c, h, w, k) in [(64, 6, 6, 3), (3, 5, 7, 3), (5, 4, 4, 2), (2, 4, 4, 1), (7, 3, 3, 3), (2, 5, 7, 3), (4, 4, 10, 3)] {
      let (oh, ow, images) = (h - k + 1, w - k + 1, 3)
      let plane = oh * ow, image = c * h * w, stride = images * plane + 5, rows = c * k * k
      XCTAssert(plane <= 16 && (oh - 1) * w + k - 1 + ow <= 32, "shape \(c) \(h)x\(w) k\(k) fits")
      let x = (0..<(images * image)).map { _ in Float.random(in: -1...1, using: &rng) }
      // Unfold: row (ci, ki, kj), image i's columns from i * plane.
      var expected = [Float](repeating: 7, count: rows * stride)
      for ci in 0..<c { for ki in 0..<k { for kj in 0..<k { for i in 0..<images { for oi in 0..<oh { for oj in 0..<ow {
        expected[((ci * k + ki) * k + kj) * stride + i * plane + oi * ow + oj] = x[i * image + (ci * h + oi + ki) * w + oj + kj]
      } } } } } }
      var cols = [Float](repeating: 7, count: rows * stride)
      let unfolded = x.withUnsafeBufferPointer { px in cols.withUnsafeMutableBufferPointer { pc in
        nl_unfold_small(px.baseAddress!, images, image, c, h, w, k, k, oh, ow, pc.baseAddress!, stride, px.baseAddress! + px.count)
      } }
      XCTAssertEqual(unfolded, 1)
      XCTAssertEqual(cols.map(\.bitPattern), expected.map(\.bitPattern), "unfold \(c) \(h)x\(w) k\(k)")
      // Fold: into a gradient that already holds values, each adding its terms row by row.
      let dcols = (0..<(rows * stride)).map { _ in Float.random(in: -1...1, using: &rng) }
      let start = (0..<(images * image)).map { _ in Float.random(in: -1...1, using: &rng) }
      var sums = start
      for ci in 0..<c { for ki in 0..<k { for kj in 0..<k { for i in 0..<images { for oi in 0..<oh { for oj in 0..<ow {
        sums[i * image + (ci * h + oi + ki) * w + oj + kj] += dcols[((ci * k + ki) * k + kj) * stride + i * plane + oi * ow + oj]
      } } } } } }
      var gx = start
      let folded = dcols.withUnsafeBufferPointer { pc in gx.withUnsafeMutableBufferPointer { pg in
        nl_fold_small(pc.baseAddress!, images, image, c, h, w, k, k, oh, ow, pg.baseAddress!, stride)
      } }
      XCTAssertEqual(folded, 1)
      XCTAssertEqual(gx.map(\.bitPattern), sums.map(\.bitPattern), "fold \(c) \(h)x\(w) k\(k)")
    }
    // Planes that do not fit are left to the loops.
    var out = [Float](repeating: 0, count: 1024)
    let x = [Float](repeating: 1, count: 3 * 32 * 32)
    XCTAssertEqual(x.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in
      nl_unfold_small(px.baseAddress!, 1, 3 * 32 * 32, 3, 32, 32, 3, 3, 30, 30, po.baseAddress!, 900, px.baseAddress! + px.count)
    } }, 0)
  }
}
