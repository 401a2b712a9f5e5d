import CCPU
import CKernels
import Dispatch
import Foundation

// MARK: - GEMM

/// C = op(A) op(B) + beta C for row-major matrices, op = transpose when asked (A is m x k after op, B k x n).
///
/// The packed, cache-blocked design of BLIS and GotoBLAS: B is packed in KC x NC blocks of nr-column panels
/// (or read in place when small), A in MC x KC blocks of mr-row panels, and a micro-kernel (6 x 16 in
/// 256-bit registers on AVX2, 8 x 32 in 512-bit ones on AVX-512; C intrinsics in CKernels, chosen at run time;
/// the same 6 x 16 tile in Swift SIMD8 on other processors) keeps its tile of C in registers while it streams
/// the panels. On AVX-512, A·Bᵀ with long rows goes to unpacked dot products instead. The output is split
/// into one contiguous block of rows or columns per thread (large products: B packed once by all threads,
/// then rows; see `sharedPacking`); every element of C is accumulated in the same order whatever the split
/// and the block sizes, so the result depends on neither the thread count nor the caches.
/// The arithmetic of a matrix product or a convolution.
public enum Precision: String, Sendable, CaseIterable {
  /// Float32 operands and sums: the default, and what the gradient checks hold to.
  case float32
  /// Mixed precision: the operands rounded to bfloat16 (float32's range, 8 significant bits instead of 24;
  /// round to nearest even), their products summed in float32, as GPUs and TPUs train. On processors with
  /// AVX512_BF16 each instruction does twice the multiply-adds of a float32 one; elsewhere (and with
  /// `NEURAL_LESSONS_KERNEL=avx2` or `=portable`) it runs as float32, so the numbers differ from machine to
  /// machine (`isNative` says which).
  case bfloat16
  /// Whether this precision runs as itself on this processor (bfloat16 needs AVX512_BF16 and the AVX-512 kernels).
  public var isNative: Bool { self == .float32 || (KernelSettings.hasBF16 && GEMM.kernel.usesAVX512) }
}

public enum GEMM {
  /// A micro-kernel and the tile it computes.
  package struct Kernel: @unchecked Sendable {
    package let name: String
    package let mr: Int, nr: Int
    /// Whether it needs AVX-512 (then the dot-product kernel, also AVX-512, serves A·Bᵀ).
    package var usesAVX512: Bool { nr == 32 }
    /// Whether A·Bᵀ with long rows runs as dot products (`nl_dot_nt_avx512`, or `nl_dot_nt_avx2` with the AVX2
    /// kernel: the same bits) rather than through packed panels: the C kernels, not the portable one.
    package var hasDotProducts: Bool { usesAVX512 || blockID == 0 }
    /// (kc, packed A, B panel, B's step in floats, C, ldc, rows, columns, add to C (else overwrite), row bias)
    let run: (Int, UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Int, Int, Bool, UnsafePointer<Float>?) -> Void
    /// Whether its panels hold bfloat16 pairs (one 32-bit word per two terms; see `Precision.bfloat16`): then
    /// both operands are always packed, by the C packing routines, and kc counts pairs.
    package var packsPairs = false
    /// Its number for `nl_gemm_block` (which runs a whole block's tiles in C), or nil for the Swift kernel.
    package var blockID: Int32? = nil
  }
  /// The Swift micro-kernel (6 x 16 in SIMD8): any processor. Without FMA instructions in the build (no
  /// -march flag) each `addingProduct` is a call to fmaf, so it is the slow path; it rounds exactly as the C
  /// kernels do, so the results are the same bits.
  package static let portable = Kernel(name: "portable-6x16", mr: 6, nr: 16) { kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias in
    microKernel(kc: kc, a: a, b: b, ldb: ldb, c: c, ldc: ldc, rows: rows, columns: columns, accumulate: accumulate, bias: bias)
  }
  package static let avx2 = Kernel(name: "avx2-6x16", mr: 6, nr: 16, run: { kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias in
    nl_gemm_avx2_6x16(kc, a, b, ldb, c, ldc, rows, columns, accumulate ? 1 : 0, bias)
  }, blockID: 0)
  package static let avx512 = Kernel(name: "avx512-12x32", mr: 12, nr: 32, run: { kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias in
    nl_gemm_avx512_12x32(kc, a, b, ldb, c, ldc, rows, columns, accumulate ? 1 : 0, bias)
  }, blockID: 1)
  package static let avx512x8 = Kernel(name: "avx512-8x32", mr: 8, nr: 32, run: { kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias in
    nl_gemm_avx512_8x32(kc, a, b, ldb, c, ldc, rows, columns, accumulate ? 1 : 0, bias)
  }, blockID: 2)
  /// The bfloat16 micro-kernel (8 x 32 on VDPBF16PS; float32 sums): only where `KernelSettings.hasBF16`.
  package static let bf16 = Kernel(name: "avx512bf16-8x32", mr: 8, nr: 32, run: { kp, a, b, _, c, ldc, rows, columns, accumulate, bias in
    nl_gemm_bf16_8x32(kp, UnsafeRawPointer(a).assumingMemoryBound(to: UInt32.self), UnsafeRawPointer(b).assumingMemoryBound(to: UInt32.self),
                      c, ldc, rows, columns, accumulate ? 1 : 0, bias)
  }, packsPairs: true, blockID: 3)
  /// The kernel for a precision: `kernel`, or the bfloat16 one where the processor has it and `kernel` is an
  /// AVX-512 one (`NEURAL_LESSONS_KERNEL=avx2` or `=portable` runs bfloat16 as float32, as processors without
  /// AVX512_BF16 do).
  package static func kernel(for precision: Precision) -> Kernel {
    precision == .bfloat16 && Precision.bfloat16.isNative ? bf16 : kernel
  }
  /// Every micro-kernel this processor can run (the tests compare them bit for bit).
  package static var available: [Kernel] {
    [portable] + (KernelSettings.hasAVX2 ? [avx2] : []) + (KernelSettings.hasAVX512 ? [avx512, avx512x8] : [])
  }
  /// The micro-kernel in use, chosen once at start-up: AVX-512 8x32 where the processor has it (faster than
  /// 12x32 on the CNN's shapes and no slower on square ones, in `make bench`), else AVX2 + FMA, else the
  /// portable Swift one. `NEURAL_LESSONS_KERNEL=avx2`, `=avx512-12x32` or `=portable` picks another (one the
  /// processor lacks falls back to the best it has, AVX2 or portable).
  package static let kernel: Kernel = {
    let asked = ProcessInfo.processInfo.environment["NEURAL_LESSONS_KERNEL"]
    if asked == portable.name || asked == "portable" { return portable }
    if KernelSettings.hasAVX512 && asked != avx2.name && asked != "avx2" { return asked == avx512.name ? avx512 : avx512x8 }
    return KernelSettings.hasAVX2 ? avx2 : portable
  }()
  /// The name of the micro-kernel in use, for the benchmark's report.
  public static var kernelName: String { kernel.name }

  /// Terms per k block: fixed, whatever the processor, because it sets the order of each output's sums (one
  /// block's products summed in registers, then added to C): the same bits on every machine. 256 floats of a
  /// 32-column panel of B are 32 kB, an L1 cache.
  static let kc = 256
  /// Rows of A per block: the packed block (mc x kc floats) fills half a core's L2 cache, which the B panel's
  /// pass over it reads from; between 96 and 1,008 rows, a multiple of 24 (whole panels of 6, 8 and 12 rows).
  /// Chosen at start-up from the cache sizes; it changes no bit (it only orders the tiles).
  static let mc = max(96, min(1008, Caches.detected.l2 / 2 / (4 * kc) / 24 * 24))
  /// Columns of B per block: the packed block (kc x nc floats) fills half a core's share of the L3 cache;
  /// between 512 and 4,096 columns, a multiple of 32. Chosen at start-up; it changes no bit either.
  static let nc = max(512, min(4096, Caches.detected.l3PerCore / 2 / (4 * kc) / 32 * 32))

  /// The blocking in use, for the benchmark's report: the micro-kernel's tile, the cache blocks, when B is read
  /// in place, and when A·Bᵀ goes to dot products.
  public static var blockingDescription: String {
    let t = Tuning.standard
    return "micro-kernel \(kernel.name) (\(kernel.mr)x\(kernel.nr) tile), kc \(kc) terms (\(2 * kc) in bfloat16 pairs; fixed: it orders the sums), "
      + "mc \(mc) rows and nc \(nc) columns (from \(Caches.detected)); "
      + "B read in place up to \(t.inPlaceRows) rows of C or \(t.inPlaceFloats * 4 / 1024) kB; A·Bᵀ as dot products from k = \(t.dotMinimumK)"
      + (kernel.hasDotProducts ? "" : " (AVX-512 and AVX2 only: not here)") + "; bfloat16 " + (Precision.bfloat16.isNative ? "\(bf16.name)" : "runs as float32 here")
  }

  /// Thresholds of the blocking, passed in (`Tuning.standard` unless a test asks for another).
  package struct Tuning: Sendable {
    /// Up to this many rows of C, B is read in place rather than packed (see `blocked`).
    package var inPlaceRows = 128
    /// ... and whatever the rows, when a k x n block of B has at most this many floats (128 kB).
    package var inPlaceFloats = 32 * 1024
    /// From this many terms per output on, A Bᵀ goes to the dot products (no packing) on AVX-512 machines.
    package var dotMinimumK = 256
    /// Rows of A and columns of B per block (`GEMM.mc`, `GEMM.nc`: from the cache sizes).
    package var mc = GEMM.mc, nc = GEMM.nc
    package static let standard = Tuning()
    package init() {}
  }

  /// C[m x n] = op(A) op(B) + beta C; `lda`, `ldb`, `ldc` are the row strides as stored.
  public static func multiply(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
    b: UnsafePointer<Float>, ldb: Int, transB: Bool = false, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int? = nil
  ) {
    multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB, beta: beta, c: c, ldc: ldc, threads: threads, kernel: Self.kernel)
  }

  /// Where C's columns are stored when they are not one row of `ldc` floats: runs of `length` columns,
  /// `stride` floats apart. A convolution's output [N, F, plane] is, seen as the F x (N * plane) product
  /// W cols, runs of `plane` columns every F * plane floats, with rows `plane` apart.
  package struct ColumnRuns {
    let length: Int, stride: Int
    package init(length: Int, stride: Int) { (self.length, self.stride) = (length, stride) }
  }

  /// `multiply` with a chosen micro-kernel (the tests run both where the processor has AVX-512), C's columns
  /// optionally in runs, and an optional bias added to each row of C (for beta = 0: C = op(A) op(B) + bias).
  package static func multiply(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool, b: UnsafePointer<Float>, ldb: Int, transB: Bool,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int?, kernel: Kernel, runs: ColumnRuns? = nil, bias: UnsafePointer<Float>? = nil,
    tuning: Tuning = .standard, packedA: UnsafePointer<UInt32>? = nil, packedB: UnsafePointer<UInt32>? = nil
  ) {
    guard m > 0, n > 0 else { return }
    let (mr, nr) = (kernel.mr, kernel.nr)
    // (Callers pack ahead only for the bfloat16 kernel; `sharedPacking` packs a float32 B ahead internally.)
    precondition((packedA == nil && packedB == nil) || kernel.packsPairs, "GEMM: operands packed ahead need the bfloat16 kernel")
    var ahead = Operands(a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB, c: c, ldc: ldc, runs: runs)
    (ahead.packedA, ahead.packedB) = (packedA, packedB)
    (ahead.aPanels, ahead.bPanels) = ((m + mr - 1) / mr, (n + nr - 1) / nr)
    let operands = ahead
    if beta != 0 && beta != 1 {
      for i in 0..<m { for j in 0..<n { operands.cAt(i, j).pointee *= beta } }
    }
    let t = max(1, min(threads ?? KernelSettings.threads, 64))
    // Small products are not worth a second thread (waking it costs tens of microseconds: 128³ ran at half
    // the one-thread rate on two).
    let work = Double(m) * Double(n) * Double(k)
    let parts = work < 192 * 192 * 192 ? 1 : t
    if k == 0 || (transB && !transA && k >= tuning.dotMinimumK && kernel.hasDotProducts && runs == nil) {
      // These add to C: clear it first when beta is 0, and add the bias after.
      if beta == 0 { for i in 0..<m { for j in 0..<n { operands.cAt(i, j).pointee = 0 } } }
      if k > 0 && kernel.packsPairs {
        dotProductsBF16(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, parts: parts)
      } else if k > 0 {
        dotProducts(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, parts: parts, avx2: !kernel.usesAVX512)
      }
      if let bias { for i in 0..<m { for j in 0..<n { operands.cAt(i, j).pointee += bias[i] } } }
      return
    }
    let blocks = Blocks(beta: beta, bias: bias, tuning: tuning)
    if parts == 1 {
      blocked(operands, kernel, blocks, rows: 0..<m, columns: 0..<n, k: k)
      return
    }
    if usesSharedPacking(m: m, n: n, k: k, parts: parts) && packedB == nil && runs == nil {
      // A large product: B packed once, its panels shared out between the threads, then each thread takes a
      // share of A's rows (packing only its own). Split by columns instead, each thread would pack all of A.
      sharedPacking(operands, kernel, blocks, m: m, n: n, k: k, parts: parts)
      return
    }
    // Split the larger side, in whole panels.
    if n >= m {
      let panels = (n + nr - 1) / nr
      DispatchQueue.concurrentPerform(iterations: parts) { p in
        let lo = min(n, panels * p / parts * nr), hi = min(n, panels * (p + 1) / parts * nr)
        if lo < hi { blocked(operands, kernel, blocks, rows: 0..<m, columns: lo..<hi, k: k) }
      }
    } else {
      let panels = (m + mr - 1) / mr
      DispatchQueue.concurrentPerform(iterations: parts) { p in
        let lo = min(m, panels * p / parts * mr), hi = min(m, panels * (p + 1) / parts * mr)
        if lo < hi { blocked(operands, kernel, blocks, rows: lo..<hi, columns: 0..<n, k: k) }
      }
    }
  }

  /// Whether a product split over `parts` threads packs B once for all of them (`sharedPacking`): large ones.
  package static func usesSharedPacking(m: Int, n: Int, k: Int, parts: Int) -> Bool { parts > 1 && m >= 256 * parts && n >= 256 && k >= 64 }

  /// `blocked` over row shares of C with B packed ahead, whole, by all threads together (each a share of its
  /// panels, k block by k block: the layout `packedB` reads). The same packed values and tiles as each thread
  /// packing B itself, so the same bits.
  static func sharedPacking(_ operands: Operands, _ kernel: Kernel, _ blocks: Blocks, m: Int, n: Int, k: Int, parts: Int) {
    let (mr, nr, pairs) = (kernel.mr, kernel.nr, kernel.packsPairs)
    let kcTerms = pairs ? 2 * kc : kc, panels = (n + nr - 1) / nr
    let words = pairs ? packedBF16Words(count: n, k: k, panel: nr) : panels * nr * k
    let buffer = PackingBuffers.shared.take(bytes: 4 * words)
    defer { PackingBuffers.shared.give(buffer) }
    let packed = SharedWords(pointer: buffer.pointer.assumingMemoryBound(to: UInt32.self))
    let o = operands
    DispatchQueue.concurrentPerform(iterations: parts) { p in
      let lo = panels * p / parts, hi = panels * (p + 1) / parts
      guard lo < hi else { return }
      let (j0, count) = (lo * nr, min(n, hi * nr) - lo * nr)
      var pc = 0
      while pc < k {
        let kcb = min(kcTerms, k - pc), blockWords = pairs ? (kcb + 1) / 2 : kcb
        let out = packed.pointer + (pairs ? pc / 2 : pc) * panels * nr + lo * blockWords * nr
        if pairs {
          let from = o.transB ? o.b + j0 * o.ldb + pc : o.b + pc * o.ldb + j0
          nl_pack_b_bf16(kcb, count, from, o.ldb, o.transB ? 1 : 0, out)
        } else {
          packB(o, nr: nr, p0: pc, kc: kcb, j0: j0, nc: count, into: UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self))
        }
        pc += kcb
      }
    }
    var ahead = operands
    (ahead.packedB, ahead.bPanels) = (UnsafePointer(packed.pointer), panels)
    let shared = ahead
    let rowPanels = (m + mr - 1) / mr
    DispatchQueue.concurrentPerform(iterations: parts) { p in
      let lo = min(m, rowPanels * p / parts * mr), hi = min(m, rowPanels * (p + 1) / parts * mr)
      if lo < hi { blocked(shared, kernel, blocks, rows: lo..<hi, columns: 0..<n, k: k) }
    }
  }

  /// C += A Bᵀ as dot products of rows (see `nl_dot_nt_avx512`), the larger side of C split between threads in
  /// runs of four; each output is computed by one thread in a fixed order, so the split changes no bit.
  static func dotProducts(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int, avx2: Bool = false) {
    let o = Operands(a: a, lda: lda, transA: false, b: b, ldb: ldb, transB: true, c: c, ldc: ldc)
    let splitRows = m >= n
    let tiles = ((splitRows ? m : n) + 3) / 4
    let parts = min(parts, tiles)
    @Sendable func run(_ p: Int) {
      let lo = min(tiles * p / parts * 4, splitRows ? m : n), hi = min(tiles * (p + 1) / parts * 4, splitRows ? m : n)
      guard lo < hi else { return }
      let (rows, columns) = splitRows ? (lo..<hi, 0..<n) : (0..<m, lo..<hi)
      if avx2 {
        nl_dot_nt_avx2(rows.lowerBound, rows.upperBound, columns.count, k, o.a, o.lda, o.b + columns.lowerBound * o.ldb, o.ldb,
                       o.c + columns.lowerBound, o.ldc)
        return
      }
      let scratch = PackingBuffers.shared.take(bytes: dotScratchBytes(rows: rows.count, columns: columns.count))
      defer { PackingBuffers.shared.give(scratch) }
      nl_dot_nt_avx512(rows.lowerBound, rows.upperBound, columns.count, k, o.a, o.lda, o.b + columns.lowerBound * o.ldb, o.ldb,
                       o.c + columns.lowerBound, o.ldc, scratch.pointer, dotBlock(k: k, rows: rows.count, columns: columns.count))
    }
    if parts == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: parts) { run($0) } }
  }

  /// The scratch `nl_dot_nt_avx512` parks a block's partial sums in: sixteen 16-lane vectors per 4 x 4 tile.
  package static func dotScratchBytes(rows: Int, columns: Int) -> Int { 64 * 16 * ((rows + 3) / 4) * ((columns + 3) / 4) }

  /// Pairs per row of a k-term row in bfloat16 for `dotProductsBF16`: whole vectors of 16 pairs.
  package static func bf16Words(k: Int) -> Int { ((k + 1) / 2 + 15) / 16 * 16 }

  /// C += A Bᵀ in bfloat16 pairs (see `nl_dot_nt_bf16`): the rows of A and B rounded into a scratch buffer
  /// once, then each thread's share of C's rows or columns; the split changes no bit.
  static func dotProductsBF16(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int) {
    let words = bf16Words(k: k)
    let scratch = PackingBuffers.shared.take(bytes: 4 * words * n)
    defer { PackingBuffers.shared.give(scratch) }
    let pb = scratch.pointer.assumingMemoryBound(to: UInt32.self)
    nl_rows_to_bf16(n, k, b, ldb, pb, words)
    dotProductsBF16(m: m, n: n, k: k, a: a, lda: lda, bWords: pb, c: c, ldc: ldc, parts: parts)
  }

  /// C += A Bᵀ with B's rows already in bfloat16 pairs (`bf16Words(k:)` words each, zeros past k).
  package static func dotProductsBF16(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, bWords pb: UnsafeMutablePointer<UInt32>, c: UnsafeMutablePointer<Float>, ldc: Int, parts: Int) {
    let words = bf16Words(k: k)
    let scratch = PackingBuffers.shared.take(bytes: 4 * words * m)
    defer { PackingBuffers.shared.give(scratch) }
    let pa = scratch.pointer.assumingMemoryBound(to: UInt32.self)
    nl_rows_to_bf16(m, k, a, lda, pa, words)
    let splitRows = m >= n
    let tiles = ((splitRows ? m : n) + 3) / 4
    let parts = min(parts, tiles)
    let shared = (a: SharedWords(pointer: pa), b: SharedWords(pointer: pb), c: SharedFloats(pointer: c))
    @Sendable func run(_ p: Int) {
      let lo = min(tiles * p / parts * 4, splitRows ? m : n), hi = min(tiles * (p + 1) / parts * 4, splitRows ? m : n)
      guard lo < hi else { return }
      if splitRows {
        nl_dot_nt_bf16(hi - lo, n, words, shared.a.pointer + lo * words, words, shared.b.pointer, words, shared.c.pointer + lo * ldc, ldc)
      } else {
        nl_dot_nt_bf16(m, hi - lo, words, shared.a.pointer, words, shared.b.pointer + lo * words, words, shared.c.pointer + lo, ldc)
      }
    }
    if parts == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: parts) { run($0) } }
  }
  struct SharedWords: @unchecked Sendable { let pointer: UnsafeMutablePointer<UInt32> }
  struct SharedFloats: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }

  /// Terms per block of the dot products: all of k up to 1,024 terms, or as long as the rows of A and B over
  /// one block fill at most 1 MB (a core's L2 cache here), so that where it fits there are no partial sums to
  /// park between blocks; at least 512.
  package static func dotBlock(k: Int, rows: Int, columns: Int) -> Int {
    k <= 1024 ? k : max(512, min(k, (1 << 20) / (4 * max(1, rows + columns))) / 16 * 16)
  }

  struct Operands: @unchecked Sendable {
    let a: UnsafePointer<Float>, lda: Int, transA: Bool
    let b: UnsafePointer<Float>, ldb: Int, transB: Bool
    let c: UnsafeMutablePointer<Float>, ldc: Int
    var runs: ColumnRuns? = nil
    /// Operands packed ahead, whole (bfloat16 pairs: see `packBF16A`; or a float32 B packed by `sharedPacking`,
    /// its words floats): then `a` or `b` is not read.
    var packedA: UnsafePointer<UInt32>? = nil, packedB: UnsafePointer<UInt32>? = nil
    /// The panels of the whole of A (rows / mr) and B (columns / nr), rounded up: the packed-ahead layout's strides.
    var aPanels = 0, bPanels = 0
    /// Where C[i, j] is stored.
    @inline(__always) func cAt(_ i: Int, _ j: Int) -> UnsafeMutablePointer<Float> {
      c + i * ldc + columnOffset(j)
    }
    /// Where column j of C starts (row 0).
    @inline(__always) func columnOffset(_ j: Int) -> Int {
      guard let runs else { return j }
      let (run, within) = j.quotientAndRemainder(dividingBy: runs.length)
      return run * runs.stride + within
    }
    @inline(__always) func aAt(_ i: Int, _ p: Int) -> Float { transA ? a[p * lda + i] : a[i * lda + p] }
    @inline(__always) func bAt(_ p: Int, _ j: Int) -> Float { transB ? b[j * ldb + p] : b[p * ldb + j] }
  }

  /// How the k blocks write C: the first overwrites it (beta = 0) or adds to it, the last adds the bias.
  struct Blocks: @unchecked Sendable {
    let beta: Float
    let bias: UnsafePointer<Float>?
    let tuning: Tuning
  }

  /// One thread's share: the block loops around the packing and the micro-kernel.
  static func blocked(_ o: Operands, _ kernel: Kernel, _ blocks: Blocks, rows: Range<Int>, columns: Range<Int>, k: Int) {
    let (mr, nr) = (kernel.mr, kernel.nr)
    // With bfloat16 pairs a k block has twice the terms in the same bytes.
    let pairs = kernel.packsPairs, kcTerms = pairs ? 2 * kc : kc
    // Block sizes (they order the tiles, not the sums): whole numbers of panels.
    let nc = max(nr, blocks.tuning.nc / nr * nr), mc = max(mr, blocks.tuning.mc / mr * mr)
    // Packing buffers are reused across calls: fresh multi-megabyte blocks on the worker threads would be
    // new pages from the kernel every time. (B packed ahead needs no buffer of its own.)
    let bufferB = PackingBuffers.shared.take(bytes: o.packedB != nil ? 64 : 4 * kc * (min(nc, columns.count) + nr))
    let bufferA = PackingBuffers.shared.take(bytes: 4 * kc * (mc + mr))
    defer {
      PackingBuffers.shared.give(bufferB)
      PackingBuffers.shared.give(bufferA)
    }
    let packedB = bufferB.pointer.assumingMemoryBound(to: Float.self)
    let packedA = bufferA.pointer.assumingMemoryBound(to: Float.self)
    // A tile-sized buffer for tiles that straddle two runs of C's columns (the Swift tile loop's, with runs).
    let tile = UnsafeMutablePointer<Float>.allocate(capacity: o.runs == nil || kernel.blockID != nil ? 0 : mr * nr)
    defer { tile.deallocate() }
    var jc = columns.lowerBound
    while jc < columns.upperBound {
      let ncb = min(nc, columns.upperBound - jc)
      var pc = 0
      while pc < k {
        let kcb = min(kcTerms, k - pc), words = pairs ? (kcb + 1) / 2 : kcb
        // With few rows of A, each value of B is used only a few times; and a block of B small enough to stay
        // in the L2 cache is cheap to read where it is: then read full panels of a row-major B in place
        // instead of copying them first (the same arithmetic in the same order).
        let inPlace = o.packedB == nil && !pairs && !o.transB && (rows.count <= blocks.tuning.inPlaceRows || kcb * ncb <= blocks.tuning.inPlaceFloats)
        // Packed ahead: k block pc (pc / 2 in pairs), then the panel (see `packBF16A` and `sharedPacking`).
        let aheadB = o.packedB.map { $0 + (pairs ? pc / 2 : pc) * o.bPanels * nr + (jc / nr) * words * nr }
        if aheadB != nil {
          // Nothing to pack.
        } else if pairs {
          let from = o.transB ? o.b + jc * o.ldb + pc : o.b + pc * o.ldb + jc
          nl_pack_b_bf16(kcb, ncb, from, o.ldb, o.transB ? 1 : 0, UnsafeMutableRawPointer(packedB).assumingMemoryBound(to: UInt32.self))
        } else if inPlace {
          let edge = ncb % nr
          if edge != 0 { packB(o, nr: nr, p0: pc, kc: kcb, j0: jc + ncb - edge, nc: edge, into: packedB) }
        } else {
          packB(o, nr: nr, p0: pc, kc: kcb, j0: jc, nc: ncb, into: packedB)
        }
        var ic = rows.lowerBound
        while ic < rows.upperBound {
          let mcb = min(mc, rows.upperBound - ic)
          let aheadA = o.packedA.map { $0 + (pairs ? pc / 2 : pc) * o.aPanels * mr + (ic / mr) * words * mr }
          if aheadA != nil {
            // Nothing to pack.
          } else if pairs {
            let from = o.transA ? o.a + pc * o.lda + ic : o.a + ic * o.lda + pc
            nl_pack_a_bf16(mcb, kcb, from, o.lda, o.transA ? 1 : 0, UnsafeMutableRawPointer(packedA).assumingMemoryBound(to: UInt32.self))
          } else {
            packA(o, mr: mr, i0: ic, mc: mcb, p0: pc, kc: kcb, into: packedA)
          }
          // One tile: panel jr of B against panel ir of A. The Swift kernel's tile loop, the twin of
          // nl_gemm_block's (which the C kernels take below).
          func runTile(_ jr: Int, _ ir: Int) {
            let full = jr + nr <= ncb
            let bPanel: UnsafePointer<Float> = aheadB.map { UnsafeRawPointer($0 + (jr / nr) * words * nr).assumingMemoryBound(to: Float.self) }
              ?? (inPlace ? (full ? o.b + pc * o.ldb + jc + jr : UnsafePointer(packedB)) : UnsafePointer(packedB + (jr / nr) * words * nr))
            let bStep = inPlace && full ? o.ldb : nr
            let accumulate = pc > 0 || blocks.beta != 0
            let bias = pc + kcb == k ? blocks.bias : nil
            let width = min(nr, ncb - jr), j = jc + jr
            let straddles = o.runs.map { j / $0.length != (j + width - 1) / $0.length } ?? false
            let height = min(mr, mcb - ir), i = ic + ir
            let panelA = aheadA.map { UnsafeRawPointer($0 + (ir / mr) * words * mr).assumingMemoryBound(to: Float.self) }
              ?? UnsafePointer(packedA + (ir / mr) * words * mr)
            let rowBias = bias.map { $0 + i }
            if straddles, let runs = o.runs {
              // Copy whole pieces of rows between the buffer and C: each piece lies within one run.
              func pieces(_ body: (Int, Int) -> Void) {
                var q = 0
                while q < width {
                  let count = min(width - q, runs.length - (j + q) % runs.length)
                  body(q, count)
                  q += count
                }
              }
              if accumulate { pieces { q, count in for r in 0..<height { (tile + r * nr + q).update(from: o.cAt(i + r, j + q), count: count) } } }
              kernel.run(words, panelA, bPanel, bStep, tile, nr, height, width, accumulate, rowBias)
              pieces { q, count in for r in 0..<height { o.cAt(i + r, j + q).update(from: tile + r * nr + q, count: count) } }
            } else {
              kernel.run(words, panelA, bPanel, bStep, o.c + o.columnOffset(j) + i * o.ldc, o.ldc, height, width, accumulate, rowBias)
            }
          }
          if let id = kernel.blockID {
            // The whole block's tiles in one C call (the same tiles, without a Swift call per tile).
            let bPanels: UnsafePointer<Float> = aheadB.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) } ?? UnsafePointer(packedB)
            let aPanels: UnsafePointer<Float> = aheadA.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) } ?? UnsafePointer(packedA)
            let bias = pc + kcb == k ? blocks.bias.map { $0 + ic } : nil
            nl_gemm_block(id, words, mcb, ncb, aPanels, bPanels, inPlace ? o.b + pc * o.ldb + jc : nil, o.ldb,
                          o.c + ic * o.ldc, o.ldc, jc, o.runs?.length ?? 0, o.runs?.stride ?? 0, pc > 0 || blocks.beta != 0 ? 1 : 0, bias)
          } else {
            var jr = 0
            while jr < ncb {
              var ir = 0
              while ir < mcb { runTile(jr, ir); ir += mr }
              jr += nr
            }
          }
          ic += mcb
        }
        pc += kcb
      }
      jc += ncb
    }
  }

  /// The 32-bit words of a bfloat16 operand packed ahead whole: `count` rows (of A) or columns (of B) in panels
  /// of `panel`, `k` terms as pairs.
  package static func packedBF16Words(count: Int, k: Int, panel: Int) -> Int { (count + panel - 1) / panel * panel * ((k + 1) / 2) }
  /// The pairs in one k block of the bfloat16 kernel (the blocking above: kc words).
  package static let bf16BlockPairs = kc

  /// op(A) [m x k] packed ahead whole for the bfloat16 kernel, to be passed as `packedA` to many products
  /// (a convolution's weights, once for all its chunks instead of once per chunk): k block by k block (`kc`
  /// pairs each), each block's rows in panels of 8 as `nl_pack_a_bf16` packs them, block b from word
  /// b * kc * (panels of 8) * 8. The same words the product would pack itself, so the same bits.
  package static func packBF16A(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool, into out: UnsafeMutablePointer<UInt32>) {
    let panels = (m + 7) / 8
    var pc = 0
    while pc < k {
      let kcb = min(2 * kc, k - pc)
      nl_pack_a_bf16(m, kcb, transA ? a + pc * lda : a + pc, lda, transA ? 1 : 0, out + (pc / 2) * panels * 8)
      pc += kcb
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
        // A ragged last panel: zero the row with whole vectors (no call to memset per row), then the values.
        for p in 0..<kc {
          let row = out + p * nr
          var q = 0
          while q < nr { UnsafeMutableRawPointer(row + q).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self); q += 8 }
          for q in 0..<width { row[q] = o.bAt(p0 + p, j0 + j + q) }
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
        let src = o.a + (i0 + i) * o.lda + p0
        if mr == 8 {
          packRows8(src, lda: o.lda, kc: kc, into: out)
        } else {
          for r in 0..<mr {
            var p = 0
            while p < kc { out[p &* mr &+ r] = src[r &* o.lda &+ p]; p &+= 1 }
          }
        }
      } else if o.transA && height == mr && mr == 8 {
        // Stored as [k, m]: each step's eight values are one contiguous vector.
        for p in 0..<kc {
          let v = UnsafeRawPointer(o.a + (p0 + p) * o.lda + i0 + i).loadUnaligned(as: SIMD8<Float>.self)
          UnsafeMutableRawPointer(out + p * 8).storeBytes(of: v, as: SIMD8<Float>.self)
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

  /// Eight rows of A (`lda` apart, `kc` values each) as one panel: out[p * 8 + r] = src[r * lda + p]. Blocks of
  /// 8 x 8 values are transposed in registers (three rounds of splitting concatenated rows into their even and
  /// odd lanes), so the panel is written in whole vectors instead of one float at a time.
  static func packRows8(_ src: UnsafePointer<Float>, lda: Int, kc: Int, into out: UnsafeMutablePointer<Float>) {
    typealias Rows = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    @inline(__always) func unshuffle(_ v: Rows) -> Rows {
      let q0 = SIMD16(lowHalf: v.0, highHalf: v.1), q1 = SIMD16(lowHalf: v.2, highHalf: v.3)
      let q2 = SIMD16(lowHalf: v.4, highHalf: v.5), q3 = SIMD16(lowHalf: v.6, highHalf: v.7)
      return (q0.evenHalf, q1.evenHalf, q2.evenHalf, q3.evenHalf, q0.oddHalf, q1.oddHalf, q2.oddHalf, q3.oddHalf)
    }
    let raw = UnsafeRawPointer(src), dst = UnsafeMutableRawPointer(out), stride = lda * 4
    var p = 0
    while p + 8 <= kc {
      @inline(__always) func row(_ r: Int) -> SIMD8<Float> { raw.loadUnaligned(fromByteOffset: r &* stride &+ p &* 4, as: SIMD8<Float>.self) }
      // Row-major 8 x 8 = 64 lanes; each unshuffle rotates a lane's 6-bit index right by one, three of them
      // swap the row and column bits: the transpose.
      let t = unshuffle(unshuffle(unshuffle((row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)))))
      let base = p &* 32
      dst.storeBytes(of: t.0, toByteOffset: base, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.1, toByteOffset: base &+ 32, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.2, toByteOffset: base &+ 64, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.3, toByteOffset: base &+ 96, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.4, toByteOffset: base &+ 128, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.5, toByteOffset: base &+ 160, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.6, toByteOffset: base &+ 192, as: SIMD8<Float>.self)
      dst.storeBytes(of: t.7, toByteOffset: base &+ 224, as: SIMD8<Float>.self)
      p &+= 8
    }
    while p < kc {
      for r in 0..<8 { out[p &* 8 &+ r] = src[r &* lda &+ p] }
      p &+= 1
    }
  }

  /// The 6 x 16 tile of C (+)= (6 x kc panel of A)(kc x 16 panel of B), in twelve SIMD8 accumulators: the
  /// portable twin of `nl_gemm_avx2_6x16` (same contract, same roundings).
  @inline(__always)
  static func microKernel(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, accumulate: Bool, bias: UnsafePointer<Float>?) {
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
      put(c, c00, c01, accumulate, bias, 0)
      put(c + ldc, c10, c11, accumulate, bias, 1)
      put(c + 2 * ldc, c20, c21, accumulate, bias, 2)
      put(c + 3 * ldc, c30, c31, accumulate, bias, 3)
      put(c + 4 * ldc, c40, c41, accumulate, bias, 4)
      put(c + 5 * ldc, c50, c51, accumulate, bias, 5)
    } else {
      // An edge tile: only the rows and columns inside C (read through the registers' bytes, no allocation).
      var tile = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
      withUnsafeBytes(of: &tile) { raw in
        let values = raw.bindMemory(to: Float.self)
        for r in 0..<rows {
          for q in 0..<columns {
            var v = accumulate ? c[r * ldc + q] + values[r * 16 + q] : values[r * 16 + q]
            if let bias { v += bias[r] }
            c[r * ldc + q] = v
          }
        }
      }
    }
  }

  /// Writes one row of the tile: c[0..<16] = (c[0..<16] +) (lo, hi) (+ bias[r]).
  @inline(__always)
  static func put(_ c: UnsafeMutablePointer<Float>, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ accumulate: Bool, _ bias: UnsafePointer<Float>?, _ r: Int) {
    let row = UnsafeMutableRawPointer(c)
    var lo = lo, hi = hi
    if accumulate {
      lo = row.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self) + lo
      hi = row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + hi
    }
    if let bias {
      let v = SIMD8<Float>(repeating: bias[r])
      lo += v
      hi += v
    }
    row.storeBytes(of: lo, toByteOffset: 0, as: SIMD8<Float>.self)
    row.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
  }

  /// A free list of 64-byte-aligned blocks for the packed panels.
  package final class PackingBuffers: @unchecked Sendable {
    package struct Block {
      package let pointer: UnsafeMutableRawPointer
      let bytes: Int
    }
    package static let shared = PackingBuffers()
    private let lock = NSLock()
    private var free: [Block] = []

    package func take(bytes: Int) -> Block {
      lock.lock()
      defer { lock.unlock() }
      // The smallest free block that fits (a large one handed to a small request would make the next large
      // request allocate again).
      var best = -1
      for i in free.indices where free[i].bytes >= bytes && (best < 0 || free[i].bytes < free[best].bytes) { best = i }
      if best >= 0 { return free.remove(at: best) }
      return Block(pointer: UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes: bytes)
    }

    package func give(_ block: Block) {
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
