import CCPU
import Dispatch
import Foundation
import KernelsAVX512

// MARK: - GEMM

/// C = op(A) op(B) + beta C for row-major matrices, op = transpose when asked (A is m x k after op, B k x n).
///
/// The packed, cache-blocked design of BLIS and GotoBLAS: B is packed in KC x NC blocks of 16-column panels,
/// A in MC x KC blocks of 6-row panels, and a 6 x 16 micro-kernel keeps its tile of C in twelve
/// `SIMD8<Float>` registers while it streams the panels. The output is split into one contiguous block of
/// rows or columns per thread; every element of C is accumulated in the same order whatever the split, so
/// the result does not depend on the thread count.
public enum GEMM {
  /// A micro-kernel and the tile it computes.
  struct Kernel: @unchecked Sendable {
    let name: String
    let mr: Int, nr: Int
    /// (kc, packed A, B panel, B's step in floats, C, ldc, rows, columns)
    let run: (Int, UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Int, Int) -> Void
  }
  static let avx2 = Kernel(name: "avx2-6x16", mr: 6, nr: 16) { kc, a, b, ldb, c, ldc, rows, columns in
    microKernel(kc: kc, a: a, b: b, ldb: ldb, c: c, ldc: ldc, rows: rows, columns: columns)
  }
  static let avx512 = Kernel(name: "avx512-12x32", mr: 12, nr: 32) { kc, a, b, ldb, c, ldc, rows, columns in
    microKernel12x32(kc: kc, a: a, b: b, ldb: ldb, c: c, ldc: ldc, rows: rows, columns: columns)
  }
  /// The micro-kernel in use: AVX-512 where the processor has it, else AVX2 (`NEURAL_LESSONS_KERNEL=avx2`
  /// forces the latter).
  static let kernel: Kernel = {
    if ProcessInfo.processInfo.environment["NEURAL_LESSONS_KERNEL"] == "avx2" { return avx2 }
    return nl_cpu_has_avx512() != 0 ? avx512 : avx2
  }()
  /// The name of the micro-kernel in use, for the benchmark's report.
  public static var kernelName: String { kernel.name }

  static let kc = 256, mc = 120, nc = 3072
  /// Up to this many rows of C, B is read in place rather than packed (see `blocked`).
  nonisolated(unsafe) static var inPlaceRows = 128

  /// How many threads the kernels use (default: every core).
  nonisolated(unsafe) public static var threads = ProcessInfo.processInfo.activeProcessorCount

  /// C[m x n] = op(A) op(B) + beta C; `lda`, `ldb`, `ldc` are the row strides as stored.
  public static func multiply(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
    b: UnsafePointer<Float>, ldb: Int, transB: Bool = false, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int? = nil
  ) {
    multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB, beta: beta, c: c, ldc: ldc, threads: threads, kernel: Self.kernel)
  }

  /// `multiply` with a chosen micro-kernel (the tests run both where the processor has AVX-512).
  static func multiply(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool, b: UnsafePointer<Float>, ldb: Int, transB: Bool,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int?, kernel: Kernel
  ) {
    guard m > 0, n > 0 else { return }
    let (mr, nr) = (kernel.mr, kernel.nr)
    if beta == 0 {
      for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
    } else if beta != 1 {
      for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
    }
    guard k > 0 else { return }
    let operands = Operands(a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB, c: c, ldc: ldc)
    let t = max(1, min(threads ?? Self.threads, 64))
    // Small products are not worth a second thread.
    let work = Double(m) * Double(n) * Double(k)
    let parts = work < 96 * 96 * 96 ? 1 : t
    if parts == 1 {
      blocked(operands, kernel, rows: 0..<m, columns: 0..<n, k: k)
      return
    }
    // Split the larger side, in whole panels.
    if n >= m {
      let panels = (n + nr - 1) / nr
      DispatchQueue.concurrentPerform(iterations: parts) { p in
        let lo = min(n, panels * p / parts * nr), hi = min(n, panels * (p + 1) / parts * nr)
        if lo < hi { blocked(operands, kernel, rows: 0..<m, columns: lo..<hi, k: k) }
      }
    } else {
      let panels = (m + mr - 1) / mr
      DispatchQueue.concurrentPerform(iterations: parts) { p in
        let lo = min(m, panels * p / parts * mr), hi = min(m, panels * (p + 1) / parts * mr)
        if lo < hi { blocked(operands, kernel, rows: lo..<hi, columns: 0..<n, k: k) }
      }
    }
  }

  struct Operands: @unchecked Sendable {
    let a: UnsafePointer<Float>, lda: Int, transA: Bool
    let b: UnsafePointer<Float>, ldb: Int, transB: Bool
    let c: UnsafeMutablePointer<Float>, ldc: Int
    @inline(__always) func aAt(_ i: Int, _ p: Int) -> Float { transA ? a[p * lda + i] : a[i * lda + p] }
    @inline(__always) func bAt(_ p: Int, _ j: Int) -> Float { transB ? b[j * ldb + p] : b[p * ldb + j] }
  }

  /// One thread's share: the block loops around the packing and the micro-kernel.
  static func blocked(_ o: Operands, _ kernel: Kernel, rows: Range<Int>, columns: Range<Int>, k: Int) {
    let (mr, nr) = (kernel.mr, kernel.nr)
    // Packing buffers are reused across calls: fresh multi-megabyte blocks on the worker threads would be
    // new pages from the kernel every time.
    let bufferB = PackingBuffers.shared.take(bytes: 4 * kc * (min(nc, columns.count) + nr))
    let bufferA = PackingBuffers.shared.take(bytes: 4 * kc * (mc + mr))
    defer {
      PackingBuffers.shared.give(bufferB)
      PackingBuffers.shared.give(bufferA)
    }
    let packedB = bufferB.pointer.assumingMemoryBound(to: Float.self)
    let packedA = bufferA.pointer.assumingMemoryBound(to: Float.self)
    var jc = columns.lowerBound
    while jc < columns.upperBound {
      let ncb = min(nc, columns.upperBound - jc)
      var pc = 0
      while pc < k {
        let kcb = min(kc, k - pc)
        // With few rows of A, each value of B is used only a few times: read full panels of a row-major B in
        // place instead of copying them first (the same arithmetic in the same order).
        let inPlace = !o.transB && rows.count <= inPlaceRows
        if inPlace {
          let edge = ncb % nr
          if edge != 0 { packB(o, nr: nr, p0: pc, kc: kcb, j0: jc + ncb - edge, nc: edge, into: packedB) }
        } else {
          packB(o, nr: nr, p0: pc, kc: kcb, j0: jc, nc: ncb, into: packedB)
        }
        var ic = rows.lowerBound
        while ic < rows.upperBound {
          let mcb = min(mc, rows.upperBound - ic)
          packA(o, mr: mr, i0: ic, mc: mcb, p0: pc, kc: kcb, into: packedA)
          var jr = 0
          while jr < ncb {
            let full = jr + nr <= ncb
            let bPanel: UnsafePointer<Float> = inPlace ? (full ? o.b + pc * o.ldb + jc + jr : UnsafePointer(packedB)) : UnsafePointer(packedB + (jr / nr) * kcb * nr)
            let bStep = inPlace && full ? o.ldb : nr
            var ir = 0
            while ir < mcb {
              kernel.run(kcb, packedA + (ir / mr) * kcb * mr, bPanel, bStep, o.c + (ic + ir) * o.ldc + jc + jr, o.ldc, min(mr, mcb - ir), min(nr, ncb - jr))
              ir += mr
            }
            jr += nr
          }
          ic += mcb
        }
        pc += kcb
      }
      jc += ncb
    }
  }

  /// B[p0 ..< p0+kc, j0 ..< j0+nc] as nr-column panels, row by row; zeros past the edge.
  static func packB(_ o: Operands, nr: Int, p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
    var panel = 0
    var j = 0
    while j < nc {
      let width = min(nr, nc - j)
      let out = dst + panel * kc * nr
      if width == nr && !o.transB {
        // Rows of nr (16 or 32) floats: copy them as SIMD8 chunks rather than calling memmove per row.
        for p in 0..<kc {
          let src = UnsafeRawPointer(o.b + (p0 + p) * o.ldb + j0 + j), dst = UnsafeMutableRawPointer(out + p * nr)
          var q = 0
          while q < nr {
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: q * 4, as: SIMD8<Float>.self), toByteOffset: q * 4, as: SIMD8<Float>.self)
            q += 8
          }
        }
      } else if o.transB {
        // Stored as [n, k]: each panel column is a contiguous run of a stored row.
        for q in 0..<nr {
          if q < width {
            let src = o.b + (j0 + j + q) * o.ldb + p0
            for p in 0..<kc { out[p * nr + q] = src[p] }
          } else {
            for p in 0..<kc { out[p * nr + q] = 0 }
          }
        }
      } else {
        for p in 0..<kc {
          let row = out + p * nr
          for q in 0..<nr { row[q] = q < width ? o.bAt(p0 + p, j0 + j + q) : 0 }
        }
      }
      panel += 1
      j += nr
    }
  }

  /// A[i0 ..< i0+mc, p0 ..< p0+kc] as mr-row panels, column by column; zeros past the edge.
  static func packA(_ o: Operands, mr: Int, i0: Int, mc: Int, p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    var i = 0
    while i < mc {
      let height = min(mr, mc - i)
      let out = dst + (i / mr) * kc * mr
      if height == mr && !o.transA {
        for r in 0..<mr {
          let src = o.a + (i0 + i + r) * o.lda + p0
          for p in 0..<kc { out[p * mr + r] = src[p] }
        }
      } else if o.transA {
        // Stored as [k, m]: each step's mr values are contiguous.
        for p in 0..<kc {
          let src = o.a + (p0 + p) * o.lda + i0 + i, col = out + p * mr
          for r in 0..<mr { col[r] = r < height ? src[r] : 0 }
        }
      } else {
        for p in 0..<kc {
          let col = out + p * mr
          for r in 0..<mr { col[r] = r < height ? o.aAt(i0 + i + r, p0 + p) : 0 }
        }
      }
      i += mr
    }
  }

  /// The 6 x 16 tile of C += (6 x kc panel of A)(kc x 16 panel of B), in twelve SIMD8 accumulators.
  @inline(__always)
  static func microKernel(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var ap = a, bp = UnsafeRawPointer(b)
    let step = ldb * 4
    for _ in 0..<kc {
      let b0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self), b1 = bp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
      var av = SIMD8<Float>(repeating: ap[0])
      c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
      av = SIMD8<Float>(repeating: ap[1])
      c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
      av = SIMD8<Float>(repeating: ap[2])
      c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
      av = SIMD8<Float>(repeating: ap[3])
      c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
      av = SIMD8<Float>(repeating: ap[4])
      c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
      av = SIMD8<Float>(repeating: ap[5])
      c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
      ap += 6
      bp += step
    }
    if rows == 6 && columns == 16 {
      add(c, c00, c01)
      add(c + ldc, c10, c11)
      add(c + 2 * ldc, c20, c21)
      add(c + 3 * ldc, c30, c31)
      add(c + 4 * ldc, c40, c41)
      add(c + 5 * ldc, c50, c51)
    } else {
      // An edge tile: only the rows and columns inside C (read through the registers' bytes, no allocation).
      var tile = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
      withUnsafeBytes(of: &tile) { raw in
        let values = raw.bindMemory(to: Float.self)
        for r in 0..<rows {
          for q in 0..<columns { c[r * ldc + q] += values[r * 16 + q] }
        }
      }
    }
  }

  /// c[0..<16] += (lo, hi).
  @inline(__always)
  static func add(_ c: UnsafeMutablePointer<Float>, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>) {
    let row = UnsafeMutableRawPointer(c)
    row.storeBytes(of: row.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self) + lo, toByteOffset: 0, as: SIMD8<Float>.self)
    row.storeBytes(of: row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + hi, toByteOffset: 32, as: SIMD8<Float>.self)
  }

  /// A free list of 64-byte-aligned blocks for the packed panels.
  final class PackingBuffers: @unchecked Sendable {
    struct Block {
      let pointer: UnsafeMutableRawPointer
      let bytes: Int
    }
    static let shared = PackingBuffers()
    private let lock = NSLock()
    private var free: [Block] = []

    func take(bytes: Int) -> Block {
      lock.lock()
      defer { lock.unlock() }
      if let i = free.firstIndex(where: { $0.bytes >= bytes }) { return free.remove(at: i) }
      return Block(pointer: UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes: bytes)
    }

    func give(_ block: Block) {
      lock.lock()
      defer { lock.unlock() }
      free.append(block)
      // Keep at most a few blocks of each thread's two kinds.
      if free.count > 16 {
        free.sort { $0.bytes > $1.bytes }
        free.removeLast().pointer.deallocate()
      }
    }
  }

  /// The textbook i-j-k triple loop: the reference the tests and the benchmark compare with.
  public static func naive(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false, b: UnsafePointer<Float>, ldb: Int, transB: Bool = false, c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
      for j in 0..<n {
        var s: Float = 0
        for p in 0..<k { s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]) }
        c[i * ldc + j] = s
      }
    }
  }
}
