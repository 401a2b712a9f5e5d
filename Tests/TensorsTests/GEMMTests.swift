import Kernels
import Tensors
import XCTest

/// The fast GEMM against the naive triple loop, on random and awkward shapes, and its determinism.
final class GEMMTests: XCTestCase {
  func random(_ n: Int, _ rng: inout SeededGenerator) -> [Float] { (0..<n).map { _ in rng.uniform(in: -1...1) } }

  /// Every micro-kernel this processor can run.
  var kernels: [GEMM.Kernel] { GEMM.available }

  func check(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Float = 0, threads: Int = 2, file: StaticString = #filePath, line: UInt = #line) {
    for kernel in kernels { check(m: m, n: n, k: k, transA: transA, transB: transB, beta: beta, threads: threads, kernel: kernel, file: file, line: line) }
  }

  func check(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Float, threads: Int, kernel: GEMM.Kernel, file: StaticString, line: UInt) {
    var rng = SeededGenerator(seed: UInt64(m * 1_000_003 + n * 1009 + k))
    let a = random(m * k, &rng), b = random(k * n, &rng), c0 = random(m * n, &rng)
    var fast = c0, slow = [Float](repeating: 0, count: m * n)
    let lda = transA ? m : k, ldb = transB ? k : n
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        fast.withUnsafeMutableBufferPointer { pc in
          GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, transA: transA, b: pb.baseAddress!, ldb: ldb, transB: transB, beta: beta, c: pc.baseAddress!, ldc: n, threads: threads, kernel: kernel)
        }
        slow.withUnsafeMutableBufferPointer { pc in
          GEMM.naive(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, transA: transA, b: pb.baseAddress!, ldb: ldb, transB: transB, c: pc.baseAddress!, ldc: n)
        }
      }
    }
    var worst: Float = 0
    for i in 0..<(m * n) {
      let expected = slow[i] + beta * c0[i]
      worst = max(worst, abs(fast[i] - expected) / max(1, abs(expected)))
    }
    XCTAssertLessThan(worst, 1e-5 * Float(max(k, 1)).squareRoot(), "\(kernel.name) \(m)x\(n)x\(k) transA \(transA) transB \(transB) beta \(beta)", file: file, line: line)
  }

  func testEdgeShapes() {
    let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 17, 3), (7, 1, 5), (6, 16, 1), (13, 31, 7), (97, 89, 101), (5, 300, 2), (300, 5, 2), (2, 3, 700), (121, 35, 257), (64, 64, 64)]
    for (m, n, k) in shapes {
      for transA in [false, true] {
        for transB in [false, true] { check(m: m, n: n, k: k, transA: transA, transB: transB) }
      }
    }
  }

  func testRandomShapesAndBeta() {
    var rng = SeededGenerator(seed: 99)
    for _ in 0..<12 {
      let m = 1 + Int(rng.next() % 150), n = 1 + Int(rng.next() % 150), k = 1 + Int(rng.next() % 300)
      check(m: m, n: n, k: k, transA: rng.next() % 2 == 0, transB: rng.next() % 2 == 0, beta: [0, 1, 0.5][Int(rng.next() % 3)])
    }
  }

  func testLargeEnoughToSplitAcrossThreads() {
    check(m: 130, n: 260, k: 300, transA: false, transB: false)
    check(m: 260, n: 100, k: 290, transA: true, transB: true)
  }

  func testSameResultWithOneOrTwoThreads() {
    var rng = SeededGenerator(seed: 5)
    let (m, n, k) = (150, 270, 300)
    let a = random(m * k, &rng), b = random(k * n, &rng)
    func run(_ threads: Int, _ kernel: GEMM.Kernel) -> [Float] {
      var c = [Float](repeating: 0, count: m * n)
      a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
        GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, transA: false, b: pb.baseAddress!, ldb: n, transB: false, beta: 0, c: pc.baseAddress!, ldc: n, threads: threads, kernel: kernel)
      } } }
      return c
    }
    let one = run(1, GEMM.portable)
    for kernel in kernels {
      // Every element is accumulated in the same order whatever the split and the kernel: identical bits.
      XCTAssertEqual(one.map(\.bitPattern), run(1, kernel).map(\.bitPattern), kernel.name)
      XCTAssertEqual(one.map(\.bitPattern), run(2, kernel).map(\.bitPattern), kernel.name)
      XCTAssertEqual(one.map(\.bitPattern), run(3, kernel).map(\.bitPattern), kernel.name)
    }
  }
}

extension GEMMTests {
  /// Reading B in place (few rows) gives the same bits as packing it first.
  func testInPlaceBMatchesPackedB() {
    var rng = SeededGenerator(seed: 8)
    let (m, n, k) = (40, 300, 270)
    let a = random(m * k, &rng), b = random(k * n, &rng)
    func run(_ threshold: Int, _ kernel: GEMM.Kernel) -> [UInt32] {
      var tuning = GEMM.Tuning()
      (tuning.inPlaceRows, tuning.inPlaceFloats) = (threshold, threshold == 0 ? 0 : 1 << 30)
      var c = [Float](repeating: 0, count: m * n)
      a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
        GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, transA: false, b: pb.baseAddress!, ldb: n, transB: false, beta: 0, c: pc.baseAddress!, ldc: n, threads: 2, kernel: kernel, tuning: tuning)
      } } }
      return c.map(\.bitPattern)
    }
    for kernel in kernels { XCTAssertEqual(run(0, kernel), run(1000, kernel), kernel.name) }
  }
}

extension GEMMTests {
  /// A Bᵀ with many terms per output goes to the dot-product kernel on AVX-512 and AVX2 machines: the same bits
  /// with one, two or three threads, the same bits on AVX2 as on AVX-512, and close to the naive loop (checked by
  /// `check` with k >= 256 above too).
  func testDotProductsSameResultWithAnyThreadCount() {
    var rng = SeededGenerator(seed: 21)
    let (m, n, k) = (50, 70, 1300)
    let a = random(m * k, &rng), b = random(n * k, &rng)
    var results: [String: [UInt32]] = [:]
    for kernel in kernels {
      func run(_ threads: Int) -> [UInt32] {
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
          GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, transA: false, b: pb.baseAddress!, ldb: k, transB: true, beta: 0, c: pc.baseAddress!, ldc: n, threads: threads, kernel: kernel)
        } } }
        return c.map(\.bitPattern)
      }
      let one = run(1)
      XCTAssertEqual(one, run(2), kernel.name)
      XCTAssertEqual(one, run(3), kernel.name)
      results[kernel.name] = one
    }
    // The AVX2 dot products hold each output's 16 lanes as two halves: the same bits as AVX-512's.
    if let avx2 = results[GEMM.avx2.name], let avx512 = results[GEMM.avx512x8.name] { XCTAssertEqual(avx2, avx512, "AVX2 against AVX-512") }
    check(m: m, n: n, k: k, transA: false, transB: true)
    check(m: 3, n: 2, k: 1037, transA: false, transB: true, beta: 1)
    // Long rows for many outputs: k in several blocks, partial sums parked between them.
    XCTAssertGreaterThan(2000, GEMM.dotBlock(k: 2000, rows: 100, columns: 200), "several blocks")
    check(m: 100, n: 200, k: 2000, transA: false, transB: true, threads: 1)
  }

  /// C's columns in runs (a convolution writing its NCHW output) with a bias per row: against the naive
  /// product placed by hand, for runs shorter than, equal to and longer than a tile, and k over one block.
  func testColumnRunsAndBias() {
    var rng = SeededGenerator(seed: 22)
    for kernel in kernels {
      for (m, runLength, images, k) in [(5, 1, 7, 3), (13, 5, 9, 20), (32, 16, 4, 27), (20, 31, 3, 300), (64, 33, 5, 64), (7, 100, 2, 9)] {
        let n = runLength * images
        let a = random(m * k, &rng), b = random(k * n, &rng), bias = random(m, &rng)
        var product = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in product.withUnsafeMutableBufferPointer { pc in
          GEMM.naive(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
        } } }
        for beta: Float in [0, 1] {
          let start = random(images * m * runLength, &rng)
          func run(_ kernel: GEMM.Kernel) -> [Float] {
            var out = start
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { po in bias.withUnsafeBufferPointer { pbias in
              GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, transA: false, b: pb.baseAddress!, ldb: n, transB: false, beta: beta,
                            c: po.baseAddress!, ldc: runLength, threads: 2, kernel: kernel, runs: .init(length: runLength, stride: m * runLength), bias: pbias.baseAddress!)
            } } } }
            return out
          }
          let out = run(kernel)
          if kernel.blockID != nil {
            // The same micro-kernel through the Swift tile loop (the portable kernel's): nl_gemm_block's twin,
            // straddling tiles and all, gives the same bits.
            var swiftLoop = kernel
            swiftLoop.blockID = nil
            XCTAssertEqual(run(swiftLoop), out, "\(kernel.name) through the Swift tile loop: m \(m) runs of \(runLength) x \(images) k \(k) beta \(beta)")
          }
          var worst: Float = 0
          for i in 0..<m {
            for j in 0..<n {
              let at = (j / runLength) * m * runLength + i * runLength + j % runLength
              worst = max(worst, abs(out[at] - (product[i * n + j] + bias[i] + beta * start[at])))
            }
          }
          XCTAssertLessThan(worst, 1e-4, "\(kernel.name) m \(m) runs of \(runLength) x \(images) k \(k) beta \(beta)")
        }
      }
    }
  }
}

extension GEMMTests {
  /// The block sizes come from the cache sizes at start-up, so they differ between machines: they must change
  /// no bit. Every kernel (the bfloat16 one too, where the processor has it), with a bias, beta = 1 and k
  /// over several blocks, under the blockings of small and large caches and ragged ones, on one thread and on
  /// two (B packed once for both: `sharedPacking`).
  func testBlockSizesChangeNoBit() {
    var rng = SeededGenerator(seed: 23)
    let (m, n, k) = (530, 600, 600)
    XCTAssertTrue(GEMM.usesSharedPacking(m: m, n: n, k: k, parts: 2))
    let a = random(m * k, &rng), b = random(k * n, &rng), c0 = random(m * n, &rng), bias = random(m, &rng)
    let all = kernels + (KernelSettings.hasBF16 && GEMM.kernel.usesAVX512 ? [GEMM.bf16] : [])
    for kernel in all {
      func run(mc: Int, nc: Int, threads: Int) -> [UInt32] {
        var tuning = GEMM.Tuning()
        (tuning.mc, tuning.nc, tuning.inPlaceRows, tuning.inPlaceFloats) = (mc, nc, 0, 0)
        var c = c0
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in bias.withUnsafeBufferPointer { pbias in
          GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, transA: false, b: pb.baseAddress!, ldb: n, transB: false, beta: 1, c: pc.baseAddress!, ldc: n,
                        threads: threads, kernel: kernel, bias: pbias.baseAddress!, tuning: tuning)
        } } } }
        return c.map(\.bitPattern)
      }
      let reference = run(mc: GEMM.Tuning.standard.mc, nc: GEMM.Tuning.standard.nc, threads: 1)
      for (mc, nc, threads) in [(96, 512, 1), (1008, 4096, 2), (48, 64, 2), (120, 3072, 1), (24, 96, 3), (100, 70, 2)] {
        XCTAssertEqual(reference, run(mc: mc, nc: nc, threads: threads), "\(kernel.name) mc \(mc) nc \(nc) threads \(threads)")
      }
    }
    XCTAssertEqual(GEMM.Tuning.standard.mc % 24, 0)
    XCTAssertEqual(GEMM.Tuning.standard.nc % 32, 0)
  }

  /// The cache sizes as Linux describes them (a fake sysfs folder), and the fallback where it cannot be read.
  func testCacheSizesFromSysfs() throws {
    XCTAssertEqual(Caches.parseSize("32K"), 32 << 10)
    XCTAssertEqual(Caches.parseSize("2M"), 2 << 20)
    XCTAssertEqual(Caches.parseSize("65536"), 65536)
    XCTAssertNil(Caches.parseSize("lots"))
    XCTAssertEqual(Caches.countCPUs("0-3,8,10-11"), 7)
    XCTAssertEqual(Caches.countCPUs("0"), 1)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("caches-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let entries: [(String, String, String, String)] = [("1", "Data", "48K", "0"), ("1", "Instruction", "32K", "0"), ("2", "Unified", "2048K", "0"), ("3", "Unified", "32M", "0-7")]
    for (i, (level, type, size, shared)) in entries.enumerated() {
      let dir = folder + "/index\(i)"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      for (name, value) in [("level", level), ("type", type), ("size", size), ("shared_cpu_list", shared)] {
        try (value + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
      }
    }
    let caches = try XCTUnwrap(Caches.read(from: folder))
    XCTAssertEqual(caches.l1, 48 << 10)
    XCTAssertEqual(caches.l2, 2 << 20)
    XCTAssertEqual(caches.l3PerCore, 4 << 20, "32 MB shared by 8 CPUs")
    XCTAssertTrue(caches.measured)
    XCTAssertNil(Caches.read(from: folder + "/missing"))
    XCTAssertFalse(Caches.assumed.measured)
  }
}

extension GEMMTests {
  /// Large products on several threads pack B once, shared (`sharedPacking`), and split A's rows: the same bits
  /// as one thread, for every kernel (bfloat16 too), B as stored or transposed (the dot products, which would
  /// take A·Bᵀ with k this long, are kept out), k over several blocks, with a bias; and close to the naive
  /// product.
  func testSharedPackingOfLargeProducts() {
    var rng = SeededGenerator(seed: 24)
    let (m, n, k) = (800, 300, 600)
    XCTAssertTrue(GEMM.usesSharedPacking(m: m, n: n, k: k, parts: 2) && GEMM.usesSharedPacking(m: m, n: n, k: k, parts: 3), "the shape must take the shared path")
    XCTAssertFalse(GEMM.usesSharedPacking(m: m, n: n, k: k, parts: 1))
    var tuning = GEMM.Tuning()
    tuning.dotMinimumK = .max
    let a = random(m * k, &rng), b = random(k * n, &rng), bias = random(m, &rng)
    let all = kernels + (KernelSettings.hasBF16 && GEMM.kernel.usesAVX512 ? [GEMM.bf16] : [])
    for kernel in all {
      for transB in [false, true] {
        func run(_ threads: Int) -> [UInt32] {
          var c = [Float](repeating: 0, count: m * n)
          a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in bias.withUnsafeBufferPointer { pbias in
            GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, transA: false, b: pb.baseAddress!, ldb: transB ? k : n, transB: transB, beta: 0,
                          c: pc.baseAddress!, ldc: n, threads: threads, kernel: kernel, bias: pbias.baseAddress!, tuning: tuning)
          } } } }
          return c.map(\.bitPattern)
        }
        let one = run(1)
        XCTAssertEqual(one, run(2), "\(kernel.name) transB \(transB)")
        XCTAssertEqual(one, run(3), "\(kernel.name) transB \(transB)")
      }
    }
    for kernel in kernels { check(m: m, n: n, k: k, transA: false, transB: false, beta: 1, threads: 2, kernel: kernel, file: #filePath, line: #line) }
  }
}
