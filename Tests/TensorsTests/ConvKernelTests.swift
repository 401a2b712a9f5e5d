import Kernels
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

  /// "Same" convolutions (stride 1, padded: the masked-vector unfold and fold), rows shorter and longer than a
  /// vector, padding wider than the kernel's reach, and the shapes of lesson 10's network.
  func testPaddedStrideOne() throws {
    try compare(n: 2, c: 3, h: 31, w: 31, f: 5, k: 3, stride: 1, padding: 1)
    try compare(n: 3, c: 2, h: 15, w: 17, f: 4, k: 3, stride: 1, padding: 1)
    try compare(n: 2, c: 2, h: 7, w: 7, f: 3, k: 3, stride: 1, padding: 3)
    try compare(n: 2, c: 4, h: 3, w: 3, f: 4, k: 3, stride: 1, padding: 1)
    try compare(n: 1, c: 2, h: 40, w: 33, f: 2, k: 5, stride: 1, padding: 2)
  }

  /// The fold (col2im, the input gradient's last step) of "same" windows adds each input position's window
  /// contributions in window order (ki, then kj), bit for bit as a plain loop does: planes narrower and wider
  /// than a vector, over 1,024 positions, 5x5 windows.
  func testFoldOfSameWindowsAddsInWindowOrder() {
    for (n, c, h, w, k) in [(3, 2, 3, 3, 3), (2, 3, 7, 7, 3), (2, 2, 15, 15, 3), (1, 2, 31, 31, 3), (1, 2, 33, 34, 3), (2, 2, 6, 5, 5)] {
      var rng = SeededGenerator(seed: UInt64(h * 100 + w + k))
      let pad = k / 2, plane = h * w, width = n * plane
      let cols = (0..<(c * k * k * width)).map { _ in Float(rng.uniform(in: -1...1)) }
      var gx = [Float](repeating: 0, count: n * c * plane)
      col2im(cols, images: n, channels: c, height: h, width: w, window: Window2D(kernelHeight: k, kernelWidth: k, stride: 1, padding: pad),
             outHeight: h, outWidth: w, into: &gx)
      var expected = [Float](repeating: 0, count: n * c * plane)
      for i in 0..<n {
        for ch in 0..<c {
          for y in 0..<h {
            for x in 0..<w {
              var sum: Float = 0
              for ki in 0..<k {
                for kj in 0..<k {
                  let (oy, ox) = (y + pad - ki, x + pad - kj)
                  if oy >= 0 && oy < h && ox >= 0 && ox < w { sum += cols[((ch * k + ki) * k + kj) * width + i * plane + oy * w + ox] }
                }
              }
              expected[(i * c + ch) * plane + y * w + x] = sum
            }
          }
        }
      }
      XCTAssertEqual(gx.map(\.bitPattern), expected.map(\.bitPattern), "n \(n) c \(c) \(h)x\(w) kernel \(k)")
    }
  }

  /// Batches cut into chunks of several images (the dY copy, the zero-padded rows, the shares of dW summed in
  /// order), with and without the dot-product path for dW (k = padded chunk width >= 256).
  func testChunksOfSeveralImages() throws {
    try compare(n: 9, c: 2, h: 5, w: 5, f: 3, k: 3, stride: 1, padding: 0)  // 3 chunks of 3
    try compare(n: 7, c: 3, h: 6, w: 7, f: 4, k: 3, stride: 2, padding: 1)  // 4 chunks, the last of one image
    try compare(n: 12, c: 1, h: 12, w: 12, f: 5, k: 3, stride: 1, padding: 0)  // chunk width 300, padded to 304
  }

  /// Without the input's gradient (a first layer), chunks of several images read dY in place for the weight
  /// and bias gradients (dot products and sums over runs, image by image) instead of copying it into rows: the
  /// same bits as with the input's gradient wanted, which copies. CIFAR's first layer on 8 images (chunks of
  /// 3, runs of 900), and chunks of 300 positions in runs of 100.
  func testWeightGradientSameWhetherDYIsCopiedOrReadInPlace() throws {
    for (n, c, size, f) in [(8, 3, 32, 32), (12, 1, 12, 5)] {
      var rng = SeededGenerator(seed: UInt64(n + size))
      let data = (0..<(n * c * size * size)).map { _ in Float.random(in: -1...1, using: &rng) }
      let w = try Tensor.uniform([f, c, 3, 3], in: -1...1, using: &rng, requiresGrad: true)
      let b = try Tensor.uniform([f], in: -0.2...0.2, using: &rng, requiresGrad: true)
      let gradient = (0..<(n * f * (size - 2) * (size - 2))).map { _ in Float.random(in: -1...1, using: &rng) }
      func run(inputGradient: Bool) throws -> [[UInt32]] {
        w.zeroGrad(); b.zeroGrad()
        let x = try Tensor(data, shape: [n, c, size, size], requiresGrad: inputGradient)
        try x.conv2d(weight: w, bias: b).backward(gradient: gradient)
        return [w.grad!, b.grad!].map { $0.map(\.bitPattern) }
      }
      XCTAssertEqual(try run(inputGradient: false), try run(inputGradient: true), "n \(n) c \(c) \(size)x\(size) f \(f)")
    }
  }

  /// The fused ReLU gives the same bits as a separate one, forward and backward, in chunks of one image and
  /// of several.
  func testFusedReLUMatchesSeparateReLU() throws {
    for (n, size) in [(2, 9), (12, 12)] {
      var rng = SeededGenerator(seed: UInt64(n))
      let x = try Tensor.uniform([n, 2, size, size], in: -1...1, using: &rng, requiresGrad: true)
      let w = try Tensor.uniform([4, 2, 3, 3], in: -1...1, using: &rng, requiresGrad: true)
      let b = try Tensor.uniform([4], in: -0.2...0.2, using: &rng, requiresGrad: true)
      func run(fused: Bool) throws -> [[UInt32]] {
        for t in [x, w, b] { t.zeroGrad() }
        let y = fused ? try x.conv2d(weight: w, bias: b, relu: true) : try x.conv2d(weight: w, bias: b).relu()
        try y.backward(gradient: (0..<y.count).map { Float($0 % 7) - 3 })
        return [y.data, x.grad!, w.grad!, b.grad!].map { $0.map(\.bitPattern) }
      }
      let fused = try run(fused: true), separate = try run(fused: false)
      XCTAssertEqual(fused, separate, "n \(n)")
      XCTAssertTrue(fused[0].contains(0) && fused[0].contains { $0 != 0 }, "some outputs clipped, some not")
    }
  }

  /// Convolution, ReLU and 2x2 max pooling fused: the same bits as the three operations, forward and
  /// backward, for even and odd output sizes (the last row and column dropped), with and without the ReLU,
  /// in chunks of one image and of several; rows of fewer than eight windows (scattered gradients) and of
  /// eight or more (masked vector stores on AVX-512, also one and two vectors of windows with an odd column
  /// left over).
  func testFusedPoolingMatchesSeparateOperations() throws {
    for (n, size, relu) in [(2, 10, true), (12, 9, true), (5, 7, false), (3, 34, true), (1, 40, true), (2, 21, true), (4, 19, false), (1, 35, true)] {
      var rng = SeededGenerator(seed: UInt64(n * 100 + size))
      let x = try Tensor.uniform([n, 2, size, size], in: -1...1, using: &rng, requiresGrad: true)
      let w = try Tensor.uniform([4, 2, 3, 3], in: -1...1, using: &rng, requiresGrad: true)
      let b = try Tensor.uniform([4], in: -0.2...0.2, using: &rng, requiresGrad: true)
      func run(fused: Bool) throws -> [[UInt32]] {
        for t in [x, w, b] { t.zeroGrad() }
        let y: Tensor
        if fused {
          y = try x.conv2d(weight: w, bias: b, relu: relu, maxPool2x2: true)
        } else {
          let z = try x.conv2d(weight: w, bias: b)
          y = try (relu ? z.relu() : z).maxPool2d(kernel: 2)
        }
        try y.backward(gradient: (0..<y.count).map { Float($0 % 5) - 1.5 })
        return [y.data, x.grad!, w.grad!, b.grad!].map { $0.map(\.bitPattern) }
      }
      let fused = try run(fused: true), separate = try run(fused: false)
      XCTAssertEqual(fused, separate, "n \(n) size \(size) relu \(relu)")
    }
    var rng = SeededGenerator(seed: 1)
    let tiny = try Tensor.uniform([1, 1, 3, 3], in: -1...1, using: &rng), w = try Tensor.uniform([1, 1, 3, 3], in: -1...1, using: &rng)
    XCTAssertThrowsError(try tiny.conv2d(weight: w, maxPool2x2: true)) { XCTAssert("\($0)".contains("too small for 2x2 max pooling"), "\($0)") }
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
      try KernelSettings.withThreads(threads) { try runOnce() }
    }
    func runOnce() throws -> ([Float], [Float], [Float]) {
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

  func testSameResultWithAnyThreadCountInChunksOfSeveralImages() throws {
    var rng = SeededGenerator(seed: 4)
    let x = try Tensor.uniform([12, 1, 12, 12], in: -1...1, using: &rng, requiresGrad: true)
    let w = try Tensor.uniform([5, 1, 3, 3], in: -1...1, using: &rng, requiresGrad: true)
    let b = try Tensor.uniform([5], in: -1...1, using: &rng, requiresGrad: true)
    func run(_ threads: Int) throws -> [[UInt32]] {
      try KernelSettings.withThreads(threads) { try runOnce() }
    }
    func runOnce() throws -> [[UInt32]] {
      for t in [x, w, b] { t.zeroGrad() }
      let y = try x.conv2d(weight: w, bias: b)
      try y.backward(gradient: y.data.map { $0 * 0.5 - 0.1 })
      return [y.data, x.grad!, w.grad!, b.grad!].map { $0.map(\.bitPattern) }
    }
    let one = try run(1)
    XCTAssertEqual(one, try run(2))
    XCTAssertEqual(one, try run(3))
  }

  /// The vectorised 2x2 max pooling against a plain loop, on widths with and without whole chunks of 16
  /// outputs, odd sizes (the last row and column are dropped) and many ties (small integer values).
  func testMaxPool2x2MatchesLoops() throws {
    var rng = SeededGenerator(seed: 12)
    for (h, w) in [(2, 2), (5, 7), (30, 30), (13, 13), (4, 33), (6, 64), (3, 70)] {
      let values = (0..<(2 * 3 * h * w)).map { _ in Float(Int(rng.next() % 5) - 2) }
      let x = try Tensor(values, shape: [2, 3, h, w], requiresGrad: true)
      let y = try x.maxPool2d(kernel: 2)
      let (oh, ow) = (h / 2, w / 2)
      var expected = [Float](), grad = [Float](repeating: 0, count: values.count)
      let g = (0..<(6 * oh * ow)).map { Float($0 % 7 + 1) }
      for plane in 0..<6 {
        for i in 0..<oh {
          for j in 0..<ow {
            var best = -Float.infinity, at = 0
            for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
              let index = plane * h * w + (2 * i + di) * w + 2 * j + dj
              if values[index] > best { best = values[index]; at = index }
            }
            expected.append(best)
            grad[at] += g[expected.count - 1]
          }
        }
      }
      XCTAssertEqual(y.data, expected, "\(h)x\(w)")
      try (y * Tensor(g, shape: y.shape)).sum().backward()
      XCTAssertEqual(x.grad!, grad, "gradient \(h)x\(w)")
    }
  }

  /// ReLU's vector loops (forward and backward, split over the cores for large tensors) against the formula,
  /// zeros and NaN included.
  func testReluMatchesFormula() throws {
    var rng = SeededGenerator(seed: 13)
    for count in [1, 15, 16, 17, 100_003] {
      var values = (0..<count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
      values[0] = 0
      if count > 2 { values[2] = .nan }
      let x = try Tensor(values, shape: [count], requiresGrad: true)
      let y = x.relu()
      for i in 0..<count where !values[i].isNaN { XCTAssertEqual(y.data[i], max(0, values[i]), "\(count) [\(i)]") }
      if count > 2 { XCTAssertTrue(y.data[2].isNaN, "NaN goes through") }
      let g = (0..<count).map { Float($0 % 3 + 1) }
      try (y * Tensor(g, shape: [count])).sum().backward()
      XCTAssertEqual(x.grad!, (0..<count).map { values[$0] > 0 ? g[$0] : 0 })
    }
  }
}
