import CCPU
import CKernels
import Tensors
import XCTest

/// The AVX-512 kernels in C (CKernels) against plain loops, bit for bit. (The pooling gradient is checked
/// through the fused convolution against the separate operations, in ConvKernelTests.)
final class CKernelsTests: XCTestCase {
  /// im2col by loops (stride 1, no padding): row (ci, ki, kj) of the columns, `stride` floats apart, holds image
  /// i's window values from column i * oh * ow on; 7 everywhere else.
  func unfoldByLoops(_ x: [Float], images: Int, c: Int, h: Int, w: Int, k: Int, stride: Int) -> [Float] {
    let (oh, ow) = (h - k + 1, w - k + 1), plane = (h - k + 1) * (w - k + 1), image = c * h * w
    var cols = [Float](repeating: 7, count: c * k * k * stride)
    for ci in 0..<c { for ki in 0..<k { for kj in 0..<k { for i in 0..<images { for oi in 0..<oh { for oj in 0..<ow {
      cols[((ci * k + ki) * k + kj) * stride + i * plane + oi * ow + oj] = x[i * image + (ci * h + oi + ki) * w + oj + kj]
    } } } } } }
    return cols
  }

  /// Its adjoint by loops: `start` with the columns' terms added row by row.
  func foldByLoops(_ dcols: [Float], into start: [Float], images: Int, c: Int, h: Int, w: Int, k: Int, stride: Int) -> [Float] {
    let (oh, ow) = (h - k + 1, w - k + 1), plane = (h - k + 1) * (w - k + 1), image = c * h * w
    var sums = start
    for ci in 0..<c { for ki in 0..<k { for kj in 0..<k { for i in 0..<images { for oi in 0..<oh { for oj in 0..<ow {
      sums[i * image + (ci * h + oi + ki) * w + oj + kj] += dcols[((ci * k + ki) * k + kj) * stride + i * plane + oi * ow + oj]
    } } } } } }
    return sums
  }

  /// nl_conv_direct's signature (the AVX-512 kernel and its AVX2 twin).
  typealias Direct = @convention(c) (UnsafePointer<Float>?, Int, Int, Int, Int, Int, Int, Int, Int, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>?) -> Int32

  /// The permutes that unfold and fold small planes (a convolution's 4x4 outputs): the unfolded values, and
  /// the gradient sums added in the same order.
  func testPermutesMatchLoops() throws {
    try XCTSkipUnless(nl_cpu_has_avx512() != 0, "needs AVX-512")
    var rng = SeededGenerator(seed: 31)
    for (c, h, w, k) in [(64, 6, 6, 3), (3, 5, 7, 3), (5, 4, 4, 2), (2, 4, 4, 1), (7, 3, 3, 3), (2, 5, 7, 3), (4, 4, 10, 3)] {
      let (oh, ow, images) = (h - k + 1, w - k + 1, 3)
      let plane = oh * ow, image = c * h * w, stride = images * plane + 5, rows = c * k * k
      XCTAssert(plane <= 16 && (oh - 1) * w + k - 1 + ow <= 32, "shape \(c) \(h)x\(w) k\(k) fits")
      let x = (0..<(images * image)).map { _ in Float.random(in: -1...1, using: &rng) }
      // Unfold: row (ci, ki, kj), image i's columns from i * plane.
      let expected = unfoldByLoops(x, images: images, c: c, h: h, w: w, k: k, stride: stride)
      var cols = [Float](repeating: 7, count: rows * stride)
      let unfolded = x.withUnsafeBufferPointer { px in cols.withUnsafeMutableBufferPointer { pc in
        nl_unfold_small(px.baseAddress!, images, image, c, h, w, k, k, oh, ow, pc.baseAddress!, stride, px.baseAddress! + px.count)
      } }
      XCTAssertEqual(unfolded, 1)
      XCTAssertEqual(cols.map(\.bitPattern), expected.map(\.bitPattern), "unfold \(c) \(h)x\(w) k\(k)")
      // Fold: into a gradient that already holds values, each adding its terms row by row.
      let dcols = (0..<(rows * stride)).map { _ in Float.random(in: -1...1, using: &rng) }
      let start = (0..<(images * image)).map { _ in Float.random(in: -1...1, using: &rng) }
      let sums = foldByLoops(dcols, into: start, images: images, c: c, h: h, w: w, k: k, stride: stride)
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

  /// The AVX2 unfold and fold (stride 1, no padding, rows of up to 32 values) against loops, bit for bit: the
  /// columns (whatever the runs spill past them), and the gradient sums added in the rows' order into a
  /// gradient that already holds values. Runs of 4 (two a vector, an odd count of them), 13, 30 and 32.
  func testAVX2UnfoldAndFoldMatchLoops() throws {
    try XCTSkipUnless(nl_cpu_has_avx2_fma() != 0, "needs AVX2")
    var rng = SeededGenerator(seed: 53)
    for (c, h, w, k) in [(64, 6, 6, 3), (32, 15, 15, 3), (3, 32, 32, 3), (2, 5, 7, 3), (4, 4, 10, 3), (3, 7, 6, 3), (2, 34, 34, 3), (5, 4, 4, 2), (2, 9, 33, 2)] {
      let (oh, ow, images) = (h - k + 1, w - k + 1, 3)
      let plane = oh * ow, image = c * h * w, stride = images * plane + 8, rows = c * k * k
      let x = (0..<(images * image)).map { _ in Float.random(in: -1...1, using: &rng) }
      let expected = unfoldByLoops(x, images: images, c: c, h: h, w: w, k: k, stride: stride)
      var cols = [Float](repeating: 7, count: rows * stride + 8)
      let unfolded = x.withUnsafeBufferPointer { px in cols.withUnsafeMutableBufferPointer { pc in
        nl_unfold_avx2(px.baseAddress!, images, image, c, h, w, k, k, oh, ow, pc.baseAddress!, stride, px.baseAddress! + px.count)
      } }
      XCTAssertEqual(unfolded, ow <= 32 ? 1 : 0)
      guard ow <= 32 else { continue }
      for r in 0..<rows {
        XCTAssertEqual(cols[(r * stride)..<(r * stride + images * plane)].map(\.bitPattern), expected[(r * stride)..<(r * stride + images * plane)].map(\.bitPattern),
                       "unfold \(c) \(h)x\(w) k\(k), row \(r)")
      }
      let dcols = (0..<(rows * stride)).map { _ in Float.random(in: -1...1, using: &rng) }
      let start = (0..<(images * image)).map { _ in Float.random(in: -1...1, using: &rng) }
      let sums = foldByLoops(dcols, into: start, images: images, c: c, h: h, w: w, k: k, stride: stride)
      var gx = start
      let folded = dcols.withUnsafeBufferPointer { pc in gx.withUnsafeMutableBufferPointer { pg in
        nl_fold_avx2(pc.baseAddress!, images, image, c, h, w, k, k, oh, ow, pg.baseAddress!, stride)
      } }
      XCTAssertEqual(folded, w <= 32 ? 1 : 0)
      if w <= 32 { XCTAssertEqual(gx.map(\.bitPattern), sums.map(\.bitPattern), "fold \(c) \(h)x\(w) k\(k)") }
    }
  }

  /// The direct convolution (no columns) against im2col + the GEMM, bit for bit: full and partial blocks of 8
  /// filters, rows of 17 to 32 outputs, up to 256 taps, with and without a bias; shapes it does not take are
  /// refused with nothing written.
  func testDirectConvolutionMatchesGEMM() throws {
    var kernels: [(String, Direct)] = []
    if nl_cpu_has_avx512() != 0 { kernels.append(("AVX-512", nl_conv_direct)) }
    if nl_cpu_has_avx2_fma() != 0 { kernels.append(("AVX2", nl_conv_direct_avx2)) }
    try XCTSkipIf(kernels.isEmpty, "needs AVX-512 or AVX2")
    for (name, direct) in kernels { try checkDirectConvolution(name, direct) }
  }

  func checkDirectConvolution(_ name: String, _ direct: Direct) throws {
    var rng = SeededGenerator(seed: 37)
    for (n, c, h, w, k, f, withBias) in [(2, 3, 32, 32, 3, 32, true), (3, 3, 20, 19, 2, 13, true), (1, 2, 34, 34, 3, 9, false),
                                         (2, 28, 19, 19, 3, 8, true), (1, 1, 18, 24, 1, 5, true), (2, 3, 27, 27, 3, 7, true),
                                         (1, 2, 25, 26, 2, 6, false)] {
      let (oh, ow) = (h - k + 1, w - k + 1), kdim = c * k * k, plane = oh * ow
      let x = (0..<(n * c * h * w)).map { _ in Float.random(in: -1...1, using: &rng) }
      let weight = (0..<(f * kdim)).map { _ in Float.random(in: -1...1, using: &rng) }
      let bias = (0..<f).map { _ in Float.random(in: -1...1, using: &rng) }
      // The GEMM's way: each image's columns, then W cols (+ bias) into its planes.
      var expected = [Float](repeating: 0, count: n * f * plane)
      let window = Window2D(kernelHeight: k, kernelWidth: k, stride: 1, padding: 0)
      for i in 0..<n {
        var cols = [Float](repeating: 0, count: kdim * plane), product = [Float](repeating: 0, count: f * plane)
        x.withUnsafeBufferPointer { px in
          im2col(px.baseAddress! + i * c * h * w, channels: c, height: h, width: w, window: window, outHeight: oh, outWidth: ow, into: &cols)
        }
        GEMM.multiply(m: f, n: plane, k: kdim, a: weight, lda: kdim, b: cols, ldb: plane, c: &product, ldc: plane, threads: 1)
        for fi in 0..<f { for p in 0..<plane { expected[(i * f + fi) * plane + p] = withBias ? product[fi * plane + p] + bias[fi] : product[fi * plane + p] } }
      }
      var out = [Float](repeating: 7, count: n * f * plane)
      let done = bias.withUnsafeBufferPointer { pb in
        direct(x, n, c, h, w, k, k, oh, ow, weight, withBias ? pb.baseAddress : nil, f, &out)
      }
      XCTAssertEqual(done, 1, name)
      XCTAssertEqual(out.map(\.bitPattern), expected.map(\.bitPattern), "\(name) \(n)x\(c)x\(h)x\(w) k\(k) f\(f)")
    }
    // Rows of 16 or fewer outputs, more than 32, or more than 256 taps: refused, nothing written.
    for (c, h, w, k) in [(3, 18, 18, 3), (3, 35, 35, 3), (29, 20, 20, 3)] {
      let (oh, ow) = (h - k + 1, w - k + 1)
      let x = [Float](repeating: 1, count: c * h * w), weight = [Float](repeating: 1, count: c * k * k)
      var out = [Float](repeating: 7, count: oh * ow)
      XCTAssertEqual(direct(x, 1, c, h, w, k, k, oh, ow, weight, nil, 1, &out), 0, name)
      XCTAssertEqual(Set(out), [7], name)
    }
  }

  /// The dot-product kernel against a model of its arithmetic, bit for bit: each output's 16 lanes add their
  /// terms' fused multiply-adds in k order (lane l the terms l, l + 16, ...), then the lanes are summed as a
  /// tree (8 + 8, 4 + 4, 2 + 2, 1 + 1) and added to C. Partial row and column tiles, a ragged end of k, several
  /// blocks of k and sub-blocks of 1,024 terms, C added to. The AVX2 kernel (two 8-lane halves per output)
  /// against the same model.
  func testDotProductsMatchTheirLaneModel() throws {
    let (avx512, avx2) = (nl_cpu_has_avx512() != 0, nl_cpu_has_avx2_fma() != 0)
    try XCTSkipUnless(avx512 || avx2, "needs AVX-512 or AVX2")
    var rng = SeededGenerator(seed: 47)
    // (The AVX2 kernel sub-blocks k past 1,024 terms up to 256 rows of A: 2,100 and 1,300 terms; 257 rows not.)
    for (m, n, k, blockK) in [(5, 7, 300, 4096), (8, 8, 512, 4096), (3, 10, 2100, 4096), (6, 5, 1300, 640), (1, 1, 9, 4096), (7, 3, 263, 4096),
                              (257, 4, 1100, 4096)] {
      let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
      let b = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &rng) }
      let c0 = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &rng) }
      var expected = c0
      for i in 0..<m {
        for j in 0..<n {
          var lanes = [Float](repeating: 0, count: 16)
          for s in 0..<((k + 15) / 16 * 16) {
            let (x, y): (Float, Float) = s < k ? (a[i * k + s], b[j * k + s]) : (0, 0)
            lanes[s % 16] = lanes[s % 16].addingProduct(x, y)
          }
          let e = (0..<8).map { lanes[$0] + lanes[$0 + 8] }, f = (0..<4).map { e[$0] + e[$0 + 4] }, g = (0..<2).map { f[$0] + f[$0 + 2] }
          expected[i * n + j] += g[0] + g[1]
        }
      }
      if avx512 {
        var got = c0, scratch = [Float](repeating: 0, count: GEMM.dotScratchBytes(rows: m, columns: n) / 4)
        nl_dot_nt_avx512(0, m, n, k, a, k, b, k, &got, n, &scratch, blockK)
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "\(m)x\(n), k \(k), block \(blockK)")
      }
      if avx2 {
        // The AVX2 kernel: the same lanes as two halves, the same tree, so the same bits.
        var got = c0
        nl_dot_nt_avx2(0, m, n, k, a, k, b, k, &got, n)
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "AVX2 \(m)x\(n), k \(k)")
      }
    }
  }

  /// The weight gradient's dot products and bias sums with dY read in place, image by image (runs), against
  /// the same on dY copied into contiguous rows zero-padded to whole vectors (what the backward pass did before),
  /// bit for bit: runs of 16, 17, 30 and 900 terms, blocks that end mid-run (`block_k` 48), more than one
  /// sub-block of 1,024 terms, partial row and column tiles.
  func testDotProductsOverRunsMatchCopiedRows() throws {
    try XCTSkipUnless(nl_cpu_has_avx512() != 0, "needs AVX-512")
    var rng = SeededGenerator(seed: 43)
    for (m, n, run, images, blockK) in [(32, 27, 900, 3, 4096), (5, 3, 17, 4, 4096), (7, 6, 16, 5, 48), (32, 27, 30, 40, 4096), (9, 10, 900, 2, 512)] {
      let k = run * images, padded = (k + 15) / 16 * 16
      // dY as the forward pass leaves it: images x m filters x run positions.
      let g = (0..<(images * m * run)).map { _ in Float.random(in: -1...1, using: &rng) }
      let b = (0..<(n * padded)).map { i in i % padded < k ? Float.random(in: -1...1, using: &rng) : 0 }
      var copy = [Float](repeating: 0, count: m * padded)
      for i in 0..<images { for r in 0..<m { for p in 0..<run { copy[r * padded + i * run + p] = g[(i * m + r) * run + p] } } }
      var scratch = [Float](repeating: 0, count: GEMM.dotScratchBytes(rows: m, columns: n) / 4)
      var expected = [Float](repeating: 0, count: m * n), got = [Float](repeating: 0, count: m * n)
      nl_dot_nt_avx512(0, m, n, padded, copy, padded, b, padded, &expected, n, &scratch, blockK)
      nl_dot_nt_runs_avx512(0, m, n, k, g, run, run, m * run, b, padded, &got, n, &scratch, blockK)
      let label = "\(m)x\(n), runs of \(run) x \(images), block \(blockK)"
      XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), label)
      // The bias sums: four rows at once, and one.
      g.withUnsafeBufferPointer { pg in
        copy.withUnsafeBufferPointer { pc in
          let (rows, single) = (sumFloats4(pc.baseAddress!, padded, count: k), sumFloats(pc.baseAddress! + 4 * padded, count: k))
          let (rowsRuns, singleRuns) = (sumFloats4(runs: pg.baseAddress!, run, run: run, runStride: m * run, count: k),
                                        sumFloats(runs: pg.baseAddress! + 4 * run, run: run, runStride: m * run, count: k))
          XCTAssertEqual((0..<4).map { rowsRuns[$0].bitPattern }, (0..<4).map { rows[$0].bitPattern }, "sums of four rows, \(label)")
          XCTAssertEqual(singleRuns.bitPattern, single.bitPattern, "sum of one row, \(label)")
        }
      }
    }
  }

  /// 2x2 max pooling in AVX-512 and in AVX2 against the scalar rule (the first of top-left, top-right,
  /// bottom-left, bottom-right unless a later one is greater: ties and NaN stay with the earlier), with and
  /// without the ReLU (below zero becomes zero; NaN and -0 stay), for rows of one and several vectors, partial
  /// ones and odd sizes; and the gradient spread back from the codes.
  func testMaxPoolMatchesScalarRule() throws {
    typealias Pool = @convention(c) (UnsafePointer<Float>?, Int, Int, Int, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32
    typealias Unpool = @convention(c) (UnsafePointer<Float>?, UnsafePointer<UInt8>?, Int, Int, UnsafeMutablePointer<Float>?) -> Int32
    var kernels: [(String, Pool, Unpool)] = []
    if nl_cpu_has_avx512() != 0 { kernels.append(("AVX-512", nl_maxpool2x2_codes, nl_unpool2x2_codes)) }
    if nl_cpu_has_avx2_fma() != 0 { kernels.append(("AVX2", nl_maxpool2x2_codes_avx2, nl_unpool2x2_codes_avx2)) }
    try XCTSkipIf(kernels.isEmpty, "needs AVX-512 or AVX2")
    var rng = SeededGenerator(seed: 32)
    for (h, w) in [(4, 4), (7, 9), (30, 30), (13, 13), (5, 38), (3, 67), (6, 32), (4, 33), (5, 17)] {
      // Few distinct values (ties), some NaN, some negative zeros.
      let x = (0..<(h * w)).map { _ -> Float in
        let r = Int.random(in: 0..<20, using: &rng)
        return r == 0 ? .nan : r == 1 ? -0.0 : Float(r % 7) - 3
      }
      let (ph, pw) = (h / 2, w / 2)
      for relu in [false, true] {
        // The scalar rule: each window's value and winner.
        var expectedValues = [Float](repeating: 99, count: ph * pw + 8), expectedWinners = [Int32](repeating: -7, count: ph * pw + 8)
        for pi in 0..<ph {
          for pj in 0..<pw {
            var at = 2 * pi * w + 2 * pj
            for candidate in [at + 1, at + w, at + w + 1] where x[candidate] > x[at] { at = candidate }
            var v = x[at]
            if relu && v < 0 { v = 0 }
            (expectedValues[pi * pw + pj], expectedWinners[pi * pw + pj]) = (v, Int32(at))
          }
        }
        if nl_cpu_has_avx512() != 0 {
          var values = [Float](repeating: 99, count: ph * pw + 8), winners = [Int32](repeating: -7, count: ph * pw + 8)
          let done = x.withUnsafeBufferPointer { px in values.withUnsafeMutableBufferPointer { pv in winners.withUnsafeMutableBufferPointer { pa in
            nl_maxpool2x2(px.baseAddress!, w, ph, pw, pv.baseAddress!, pa.baseAddress!, relu ? 1 : 0)
          } } }
          XCTAssertEqual(done, 1)
          XCTAssertEqual(values.map(\.bitPattern), expectedValues.map(\.bitPattern), "\(h)x\(w) relu \(relu): values (nothing past them)")
          XCTAssertEqual(winners, expectedWinners, "\(h)x\(w) relu \(relu): winners (nothing past them)")
        }
        // The fused convolution's form: the same values, each winner as a byte (its place in the window, + 4
        // where the gradient passes).
        var expectedCodes = [UInt8](repeating: 0xEE, count: ph * pw + 8)
        for pi in 0..<ph {
          for pj in 0..<pw {
            let k = pi * pw + pj, d = Int(expectedWinners[k]) - 2 * (pi * w + pj)
            let place: UInt8 = d == 0 ? 0 : d == 1 ? 1 : d == w ? 2 : 3
            expectedCodes[k] = place | (!relu || expectedValues[k] > 0 ? 4 : 0)
          }
        }
        let g = (0..<(ph * pw)).map { _ in Float.random(in: -1...1, using: &rng) }
        // Each winner gets its window's gradient (with the ReLU, only where the pooled value is positive), every
        // other value of the plane zero (a last odd row and column too).
        var expectedPlane = [Float](repeating: 0, count: h * w)
        for k in 0..<(ph * pw) where !relu || expectedValues[k] > 0 { expectedPlane[Int(expectedWinners[k])] = g[k] }
        for (name, pool, unpool) in kernels {
          let label = "\(name) \(h)x\(w) relu \(relu)"
          var values = [Float](repeating: 99, count: ph * pw + 8), codes = [UInt8](repeating: 0xEE, count: ph * pw + 8)
          XCTAssertEqual(x.withUnsafeBufferPointer { px in values.withUnsafeMutableBufferPointer { pv in codes.withUnsafeMutableBufferPointer { pc in
            pool(px.baseAddress!, w, ph, pw, pv.baseAddress!, pc.baseAddress!, relu ? 1 : 0)
          } } }, 1, label)
          XCTAssertEqual(values.map(\.bitPattern), expectedValues.map(\.bitPattern), "\(label): values (nothing past them)")
          XCTAssertEqual(codes, expectedCodes, "\(label): codes (nothing past them)")
          var plane = [Float](repeating: 8, count: h * w)
          XCTAssertEqual(g.withUnsafeBufferPointer { pg in codes.withUnsafeBufferPointer { pc in plane.withUnsafeMutableBufferPointer { po in
            unpool(pg.baseAddress!, pc.baseAddress!, h, w, po.baseAddress!)
          } } }, 1, label)
          XCTAssertEqual(plane.map(\.bitPattern), expectedPlane.map(\.bitPattern), "\(label): unpooled")
        }
      }
    }
  }
}
