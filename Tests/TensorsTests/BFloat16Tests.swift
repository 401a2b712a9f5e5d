import CKernels
import Foundation
import Kernels
import Tensors
import XCTest

/// Mixed precision (`Precision.bfloat16`): the products equal the float64 products of the operands rounded to
/// bfloat16, up to float32 summation error; where the processor lacks AVX512_BF16 it is float32 exactly.
final class BFloat16Tests: XCTestCase {
  /// A float rounded to bfloat16 as the hardware does it (nearest even; denormals to zero; no NaN here).
  static func rounded(_ x: Float) -> Float {
    var u = x.bitPattern
    if u & 0x7f80_0000 == 0 { return Float(bitPattern: u & 0x8000_0000) }
    u = u &+ 0x7fff &+ ((u >> 16) & 1)
    return Float(bitPattern: u & 0xffff_0000)
  }

  func random(_ n: Int, _ rng: inout SeededGenerator) -> [Float] { (0..<n).map { _ in rng.uniform(in: -1...1) } }

  override func setUpWithError() throws {
    try XCTSkipUnless(Precision.bfloat16.isNative, "this processor has no AVX512_BF16 (bfloat16 runs as float32 here; the float32 tests cover it)")
  }

  func testRoundingMatchesTheDefinition() {
    XCTAssertEqual(Self.rounded(1.0), 1.0)
    XCTAssertEqual(Self.rounded(1 + 1.0 / 256), 1.0)  // a tie: to even
    XCTAssertEqual(Self.rounded(1 + 3.0 / 256), 1 + 4.0 / 256)  // a tie: to even, upwards
    XCTAssertEqual(Self.rounded(1 + 1.0 / 128 + 1.0 / 1024), 1 + 1.0 / 128)
  }

  /// C = op(A) op(B) (+ beta C, + bias) against float64 sums of the rounded operands, on awkward shapes: odd k
  /// (the last pair's high half is zero), edges of the 8 x 32 tile, both transposes, the dot-product path
  /// (A Bᵀ with long rows), and k past one block of 512 terms.
  func testProductsEqualRoundedOperandsSummedInFloat32() {
    let shapes: [(Int, Int, Int)] = [(1, 1, 1), (8, 32, 2), (7, 33, 3), (13, 31, 7), (97, 89, 101), (64, 300, 513), (2, 3, 700), (40, 216, 1030)]
    for (m, n, k) in shapes {
      for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
        for beta: Float in [0, 1] {
          check(m: m, n: n, k: k, transA: transA, transB: transB, beta: beta)
        }
      }
    }
  }

  func check(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Float, file: StaticString = #filePath, line: UInt = #line) {
    var rng = SeededGenerator(seed: UInt64(m * 7919 + n * 31 + k))
    let a = random(m * k, &rng), b = random(k * n, &rng), c0 = random(m * n, &rng), bias = random(m, &rng)
    var c = c0
    let lda = transA ? m : k, ldb = transB ? k : n
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        bias.withUnsafeBufferPointer { pbias in
          c.withUnsafeMutableBufferPointer { pc in
            GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, transA: transA, b: pb.baseAddress!, ldb: ldb, transB: transB, beta: beta,
                          c: pc.baseAddress!, ldc: n, threads: 2, kernel: GEMM.bf16, bias: beta == 0 ? pbias.baseAddress : nil)
          }
        }
      }
    }
    var worst = 0.0
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0, size = 0.0
        for p in 0..<k {
          let x = Double(Self.rounded(transA ? a[p * lda + i] : a[i * lda + p])), y = Double(Self.rounded(transB ? b[j * ldb + p] : b[p * ldb + j]))
          sum += x * y
          size += abs(x * y)
        }
        let expected = sum + Double(beta) * Double(c0[i * n + j]) + (beta == 0 ? Double(bias[i]) : 0)
        worst = max(worst, abs(Double(c[i * n + j]) - expected) / max(1, size))
      }
    }
    XCTAssertLessThan(worst, 1e-6, "\(m)x\(n)x\(k) transA \(transA) transB \(transB) beta \(beta)", file: file, line: line)
  }

  /// Far from float32: the rounding is really there (a product of unrounded operands differs by ~2⁻⁹).
  func testOperandsAreRounded() {
    let a: [Float] = [1 + 1.0 / 1024], b: [Float] = [1]
    var c: [Float] = [0]
    GEMM.multiply(m: 1, n: 1, k: 1, a: a, lda: 1, transA: false, b: b, ldb: 1, transB: false, beta: 0, c: &c, ldc: 1, threads: 1, kernel: GEMM.bf16)
    XCTAssertEqual(c[0], 1)
  }

  /// A bfloat16 convolution (fused ReLU and pooling, padding, a bias) forward and backward against the float32
  /// one run on the rounded input and weights, with an upstream gradient that bfloat16 holds exactly. Shapes:
  /// short rows (the weight gradient through the packed kernel), long ones (through dot products: a chunk of
  /// more than 256 positions), and 16 chunks of three images (grouped into 8 shares of the gradients).
  func testConvolutionMatchesFloat32OnRoundedOperands() throws {
    let cases: [(n: Int, c: Int, size: Int, f: Int, pool: Bool, relu: Bool, padding: Int)] = [
      (3, 5, 9, 7, true, false, 1), (3, 5, 9, 7, false, true, 1), (3, 5, 9, 7, false, false, 0),
      (2, 3, 20, 9, true, false, 1), (48, 64, 12, 8, false, false, 1),
    ]
    for (n, c, size, f, pool, relu, padding) in cases {
      var rng = SeededGenerator(seed: 5)
      let x = random(n * c * size * size, &rng).map(Self.rounded), w = random(f * c * 3 * 3, &rng).map(Self.rounded), bias = random(f, &rng)
      func run(_ precision: Precision) throws -> (y: [Float], gx: [Float], gw: [Float], gb: [Float]) {
        let tx = try Tensor(x, shape: [n, c, size, size], requiresGrad: true), tw = try Tensor(w, shape: [f, c, 3, 3], requiresGrad: true)
        let tb = try Tensor(bias, shape: [f], requiresGrad: true)
        let y = try tx.conv2d(weight: tw, bias: tb, padding: padding, relu: relu, maxPool2x2: pool, precision: precision)
        var g = SeededGenerator(seed: 9)
        let upstream = try Tensor(random(y.count, &g).map(Self.rounded), shape: y.shape)
        try (y * upstream).sum().backward()
        return (y.data, tx.grad!, tw.grad!, tb.grad!)
      }
      let half = try run(.bfloat16), full = try run(.float32)
      for (name, p, q) in [("output", half.y, full.y), ("dx", half.gx, full.gx), ("dw", half.gw, full.gw), ("db", half.gb, full.gb)] {
        let worst = zip(p, q).map { abs($0 - $1) / max(1, abs($1)) }.max()!
        XCTAssertLessThan(worst, 1e-5, "\(name), n \(n) c \(c) \(size)x\(size) f \(f) pool \(pool) relu \(relu) padding \(padding)")
      }
    }
  }

  /// Weights packed once ahead (`GEMM.packBF16A`, as convolutions do for all their chunks) give the same bits as
  /// the product packing them itself: several k blocks (k > 512) and row blocks (m > 120), both layouts of A.
  func testPackedAheadGivesTheSameBits() {
    for (m, n, k) in [(7, 33, 3), (130, 70, 1030), (16, 300, 27), (300, 40, 9)] {
      for transA in [false, true] {
        var rng = SeededGenerator(seed: UInt64(m + n + k))
        let a = random(m * k, &rng), b = random(k * n, &rng), bias = random(m, &rng), lda = transA ? m : k
        var plain = [Float](repeating: 0, count: m * n), ahead = plain
        var packed = [UInt32](repeating: 0, count: GEMM.packedBF16Words(count: m, k: k, panel: 8))
        GEMM.packBF16A(m: m, k: k, a: a, lda: lda, transA: transA, into: &packed)
        GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: n, transB: false, beta: 0, c: &plain, ldc: n, threads: 2,
                      kernel: GEMM.bf16, bias: bias)
        packed.withUnsafeBufferPointer { pp in
          GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: n, transB: false, beta: 0, c: &ahead, ldc: n, threads: 2,
                        kernel: GEMM.bf16, bias: bias, packedA: pp.baseAddress)
        }
        XCTAssertEqual(plain, ahead, "\(m)x\(n)x\(k) transA \(transA)")
      }
    }
  }

  /// im2col straight into the packed panels (`nl_unfold_pack_bf16`) gives the same product, bit for bit, as
  /// im2col into floats then packing: planes wider and narrower than a panel (runs of several images in one),
  /// odd k (the last pair's high half zero), k past one block, 1x1, 3x3 and 5x5 windows; other windows refused.
  func testUnfoldIntoPanelsGivesTheSameBits() {
    let cases: [(n: Int, c: Int, h: Int, w: Int, kernel: Int, f: Int)] = [
      (3, 5, 9, 9, 3, 7), (2, 3, 31, 31, 3, 9), (5, 7, 3, 3, 3, 8), (4, 20, 7, 7, 3, 16), (2, 60, 5, 6, 3, 10), (3, 4, 6, 5, 5, 3), (9, 6, 1, 2, 1, 5),
    ]
    for (n, c, h, w, kernel, f) in cases {
      var rng = SeededGenerator(seed: UInt64(n * 100 + c))
      let pad = kernel / 2, kdim = c * kernel * kernel, width = n * h * w
      let x = random(n * c * h * w, &rng), weight = random(f * kdim, &rng)
      var cols = [Float](repeating: 0, count: kdim * width)
      let window = Window2D(kernelHeight: kernel, kernelWidth: kernel, stride: 1, padding: pad)
      im2col(x, images: n, channels: c, height: h, width: w, window: window, outHeight: h, outWidth: w, into: &cols)
      var panels = [UInt32](repeating: 0xdead_beef, count: GEMM.packedBF16Words(count: width, k: kdim, panel: 32))
      XCTAssertEqual(nl_unfold_pack_bf16(x, n, c * h * w, c, h, w, kernel, kernel, pad, GEMM.bf16BlockPairs, &panels), 1)
      var plain = [Float](repeating: 0, count: f * width), ahead = plain
      GEMM.multiply(m: f, n: width, k: kdim, a: weight, lda: kdim, transA: false, b: cols, ldb: width, transB: false, beta: 0, c: &plain, ldc: width,
                    threads: 1, kernel: GEMM.bf16)
      panels.withUnsafeBufferPointer { pp in
        GEMM.multiply(m: f, n: width, k: kdim, a: weight, lda: kdim, transA: false, b: cols, ldb: width, transB: false, beta: 0, c: &ahead, ldc: width,
                      threads: 1, kernel: GEMM.bf16, packedB: pp.baseAddress)
      }
      XCTAssertEqual(plain, ahead, "n \(n) c \(c) \(h)x\(w) kernel \(kernel) f \(f)")
    }
    var out = [UInt32](repeating: 0, count: 64)
    XCTAssertEqual(nl_unfold_pack_bf16([Float](repeating: 1, count: 16), 1, 16, 1, 4, 4, 3, 3, 0, GEMM.bf16BlockPairs, &out), 0, "a 3x3 window without padding is not 'same'")
  }

  /// im2col straight into bfloat16 rows (`nl_unfold_padded_bf16`, for the weight gradient) holds each unfolded
  /// value rounded, zeros past the used columns: "same" windows on small planes (copied across the plane's
  /// rows), a plane over 1,024 positions and an unpadded window (row by row).
  func testUnfoldIntoBFloat16RowsHoldsTheRoundedColumns() {
    let cases: [(n: Int, c: Int, h: Int, w: Int, kernel: Int, pad: Int)] = [
      (3, 5, 3, 3, 3, 1), (2, 4, 7, 7, 3, 1), (2, 3, 15, 15, 3, 1), (1, 2, 31, 31, 3, 1), (2, 2, 33, 34, 3, 1), (2, 3, 6, 5, 5, 2), (2, 3, 9, 9, 3, 0),
    ]
    for (n, c, h, w, kernel, pad) in cases {
      var rng = SeededGenerator(seed: UInt64(h * 10 + w))
      let x = random(n * c * h * w, &rng)
      let (oh, ow) = (h + 2 * pad - kernel + 1, w + 2 * pad - kernel + 1)
      let kdim = c * kernel * kernel, width = n * oh * ow, stride = (width + 31) / 32 * 32 + 32
      var cols = [Float](repeating: 0, count: kdim * width)
      let window = Window2D(kernelHeight: kernel, kernelWidth: kernel, stride: 1, padding: pad)
      im2col(x, images: n, channels: c, height: h, width: w, window: window, outHeight: oh, outWidth: ow, into: &cols)
      var rows = [UInt16](repeating: 0xbeef, count: kdim * stride)
      XCTAssertEqual(nl_unfold_padded_bf16(x, n, c * h * w, c, h, w, kernel, kernel, pad, oh, ow, &rows, stride), 1)
      var wrong = 0
      for r in 0..<kdim {
        for q in 0..<stride {
          let expected = q < width ? UInt16(Self.rounded(cols[r * width + q]).bitPattern >> 16) : 0
          if rows[r * stride + q] != expected { wrong += 1 }
        }
      }
      XCTAssertEqual(wrong, 0, "n \(n) c \(c) \(h)x\(w) kernel \(kernel) padding \(pad)")
    }
  }

  /// The same bits with one thread and two, and from one run to the next.
  func testSameBitsWithAnyThreadCount() throws {
    var rng = SeededGenerator(seed: 3)
    let x = random(16 * 8 * 12 * 12, &rng), w = random(16 * 8 * 3 * 3, &rng)
    func run() throws -> [Float] {
      let tx = try Tensor(x, shape: [16, 8, 12, 12], requiresGrad: true), tw = try Tensor(w, shape: [16, 8, 3, 3], requiresGrad: true)
      let y = try tx.conv2d(weight: tw, padding: 1, maxPool2x2: true, precision: .bfloat16)
      try (y * y).sum().backward()
      return y.data + tx.grad! + tw.grad!
    }
    let one = try KernelSettings.withThreads(1) { try run() }, two = try KernelSettings.withThreads(2) { try run() }
    XCTAssertEqual(one, two)
    XCTAssertEqual(one, try run())
  }
}
