import Tensors
import XCTest

/// The im2col + GEMM convolution against the direct loops, forward and backward, on awkward shapes.
final class ConvKernelTests: XCTestCase {
  func compare(n: Int, c: Int, h: Int, w: Int, f: Int, k: Int, stride: Int, padding: Int, file: StaticString = #filePath, line: UInt = #line) throws {
    var rng = SeededGenerator(seed: UInt64(n * 7 + c * 11 + h * 13 + w * 17 + f * 19 + k * 23 + stride * 29 + padding))
    let x = try Tensor.uniform([n, c, h, w], in: -1...1, using: &rng, requiresGrad: true)
    let wt = try Tensor.uniform([f, c, k, k], in: -1...1, using: &rng, requiresGrad: true)
    let b = try Tensor.uniform([f], in: -1...1, using: &rng, requiresGrad: true)
    let y = try x.conv2d(weight: wt, bias: b, stride: stride, padding: padding)
    let expected = Reference.conv2d(x: x.data, xShape: x.shape, w: wt.data, wShape: wt.shape, bias: b.data, stride: stride, padding: padding)
    let name = "n\(n) c\(c) \(h)x\(w) f\(f) k\(k) s\(stride) p\(padding)"
    XCTAssertEqual(y.count, expected.count, name, file: file, line: line)
    let tol: Float = 1e-4 * Float(c * k * k).squareRoot()
    XCTAssertLessThan(zip(y.data, expected).map { abs($0 - $1) }.max() ?? 0, tol, "forward \(name)", file: file, line: line)
    let g = try Tensor.uniform(y.shape, in: -1...1, using: &rng)
    try (y * g).sum().backward()
    let ref = Reference.conv2dBackward(g: g.data, x: x.data, xShape: x.shape, w: wt.data, wShape: wt.shape, stride: stride, padding: padding)
    let scale = Float(n * y.shape[2] * y.shape[3]).squareRoot()
    XCTAssertLessThan(zip(x.grad!, ref.dx).map { abs($0 - $1) }.max() ?? 0, tol * Float(f).squareRoot(), "dx \(name)", file: file, line: line)
    XCTAssertLessThan(zip(wt.grad!, ref.dw).map { abs($0 - $1) }.max() ?? 0, tol * scale, "dw \(name)", file: file, line: line)
    XCTAssertLessThan(zip(b.grad!, ref.db).map { abs($0 - $1) }.max() ?? 0, tol * scale, "db \(name)", file: file, line: line)
  }

  func testEdgeCases() throws {
    try compare(n: 1, c: 1, h: 1, w: 1, f: 1, k: 1, stride: 1, padding: 0)  // 1x1
    try compare(n: 2, c: 3, h: 5, w: 5, f: 4, k: 5, stride: 1, padding: 0)  // kernel as large as the input
    try compare(n: 1, c: 2, h: 3, w: 3, f: 2, k: 5, stride: 1, padding: 1)  // kernel larger than the input, padded
    try compare(n: 3, c: 5, h: 7, w: 11, f: 13, k: 3, stride: 2, padding: 1)  // primes
    try compare(n: 2, c: 1, h: 31, w: 2, f: 3, k: 2, stride: 1, padding: 0)  // tall and skinny
    try compare(n: 1, c: 7, h: 6, w: 6, f: 17, k: 1, stride: 3, padding: 2)  // 1x1 kernel, big stride and padding
  }

  func testRandomShapes() throws {
    var rng = SeededGenerator(seed: 77)
    for _ in 0..<6 {
      let k = 1 + Int(rng.next() % 4), pad = Int(rng.next() % 2)
      let h = k + Int(rng.next() % 8), w = k + Int(rng.next() % 8)
      try compare(n: 1 + Int(rng.next() % 3), c: 1 + Int(rng.next() % 4), h: h, w: w, f: 1 + Int(rng.next() % 6), k: k, stride: 1 + Int(rng.next() % 2), padding: pad)
    }
  }

  func testCIFARLayerShapes() throws {
    // The first layers of the lesson's network with a small batch.
    try compare(n: 2, c: 3, h: 32, w: 32, f: 32, k: 3, stride: 1, padding: 0)
    try compare(n: 2, c: 32, h: 15, w: 15, f: 16, k: 3, stride: 1, padding: 0)
  }

  func testSameResultWithOneOrTwoThreads() throws {
    var rng = SeededGenerator(seed: 3)
    let x = try Tensor.uniform([4, 8, 12, 12], in: -1...1, using: &rng, requiresGrad: true)
    let w = try Tensor.uniform([16, 8, 3, 3], in: -1...1, using: &rng, requiresGrad: true)
    func run(_ threads: Int) throws -> ([Float], [Float], [Float]) {
      let saved = GEMM.threads
      GEMM.threads = threads
      defer { GEMM.threads = saved }
      x.zeroGrad()
      w.zeroGrad()
      let y = try x.conv2d(weight: w, padding: 1)
      try y.sum().backward()
      return (y.data, x.grad!, w.grad!)
    }
    let one = try run(1), two = try run(2)
    XCTAssertEqual(one.0.map(\.bitPattern), two.0.map(\.bitPattern))
    XCTAssertEqual(one.1.map(\.bitPattern), two.1.map(\.bitPattern))
    XCTAssertEqual(one.2.map(\.bitPattern), two.2.map(\.bitPattern))
  }
}
