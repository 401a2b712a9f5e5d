// Compiled for x86-64-v4 (AVX-512): call only after checking that the processor has it (nl_cpu_has_avx512).

/// C += A Bᵀ for the rows `rows` of C, where A is m x k and B is n x k, both row-major (k contiguous): the shape
/// of a convolution's weight gradient (a few dozen by a few hundred outputs, tens of thousands of terms each).
///
/// Every C[i, j] is a dot product of two contiguous rows, so nothing is packed: a 4 x 4 tile of outputs keeps
/// sixteen SIMD16 partial sums in registers while it streams four rows of A and four of B, sixteen terms at a
/// time. k is cut into blocks of `blockK` terms so that a block of B stays in the L2 cache while every row tile
/// of A passes over it, and each block into sub-blocks of `subBlockK` terms so that a row tile's four rows stay
/// in L1 while the column tiles pass over them; between sub-blocks the partial sums wait in `scratch` (64 bytes
/// per output of the row tiles, rows and columns rounded up to 4). Each output's lanes add their terms in k order and are summed
/// in a fixed order at the end, so a result does not depend on how the rows are shared between threads.
public func dotProductsNT(
  rows: Range<Int>, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutableRawPointer, blockK: Int = 256
) {
  guard !rows.isEmpty, n > 0 else { return }
  // Blocks start on whole vectors (a block ending mid-vector would count the terms past it twice).
  let blockK = k <= blockK ? k : max(16, blockK / 16 * 16)
  let m = rows.count
  let tileRows = (m + 3) / 4, tileColumns = (n + 3) / 4
  let sums = scratch.bindMemory(to: SIMD16<Float>.self, capacity: tileRows * tileColumns * 16)
  let fullEnd = k - k % 16
  var k0 = 0
  while k0 < k {
    let k1 = min(k, k0 + blockK)
    for ti in 0..<tileRows {
      // Rows past the end repeat the last row; their sums are never read.
      let i0 = rows.lowerBound + 4 * ti, last = rows.upperBound - 1
      let a0 = a + min(i0, last) * lda, a1 = a + min(i0 + 1, last) * lda
      let a2 = a + min(i0 + 2, last) * lda, a3 = a + min(i0 + 3, last) * lda
      // The four rows' terms of one sub-block stay in the L1 cache while every column tile passes over them,
      // so only B streams from L2 (reading both from L2 for every tile left the kernel waiting on L2).
      var s0 = k0
      while s0 < k1 {
        let s1 = min(k1, s0 + subBlockK), vectorEnd = min(s1, fullEnd)
        for tj in 0..<tileColumns {
          let j0 = 4 * tj
          let b0 = b + min(j0, n - 1) * ldb, b1 = b + min(j0 + 1, n - 1) * ldb
          let b2 = b + min(j0 + 2, n - 1) * ldb, b3 = b + min(j0 + 3, n - 1) * ldb
          let tile = sums + (ti * tileColumns + tj) * 16
          let zero = SIMD16<Float>()
          var t = s0 == 0
            ? (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
            : (tile[0], tile[1], tile[2], tile[3], tile[4], tile[5], tile[6], tile[7],
               tile[8], tile[9], tile[10], tile[11], tile[12], tile[13], tile[14], tile[15])
          // Rows as offsets from a0 and b0 (fewer live pointers: none spill out of the registers).
          let (da1, da2, da3) = (a1 - a0, a2 - a0, a3 - a0), (db1, db2, db3) = (b1 - b0, b2 - b0, b3 - b0)
          var pa = a0 + s0, pb = b0 + s0
          var steps = max(0, (vectorEnd - s0) / 16)
          while steps > 0 {
            let y0 = load(pb), y1 = load(pb + db1), y2 = load(pb + db2), y3 = load(pb + db3)
            step(&t, load(pa), load(pa + da1), load(pa + da2), load(pa + da3), y0, y1, y2, y3)
            pa += 16
            pb += 16
            steps &-= 1
          }
          if s1 < k {
            tile[0] = t.0; tile[1] = t.1; tile[2] = t.2; tile[3] = t.3; tile[4] = t.4; tile[5] = t.5; tile[6] = t.6; tile[7] = t.7
            tile[8] = t.8; tile[9] = t.9; tile[10] = t.10; tile[11] = t.11; tile[12] = t.12; tile[13] = t.13; tile[14] = t.14; tile[15] = t.15
            continue
          }
          if fullEnd < k {
            // The last few terms, through zero-padded copies.
            let count = k - fullEnd
            step(&t, partial(a0 + fullEnd, count), partial(a1 + fullEnd, count), partial(a2 + fullEnd, count), partial(a3 + fullEnd, count),
                 partial(b0 + fullEnd, count), partial(b1 + fullEnd, count), partial(b2 + fullEnd, count), partial(b3 + fullEnd, count))
          }
          // Rows and columns past the edge were computed from repeated rows; only real outputs are written (lane
          // by lane from the tuple: taking its address had every tile store its sixteen sums to the stack).
          let columns = min(4, n - j0)
          @inline(__always) func emit(_ r: Int, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ v2: SIMD16<Float>, _ v3: SIMD16<Float>) {
            guard i0 + r < rows.upperBound else { return }
            let row = c + (i0 + r) * ldc + j0
            row[0] += reduce(v0)
            if columns > 1 { row[1] += reduce(v1) }
            if columns > 2 { row[2] += reduce(v2) }
            if columns > 3 { row[3] += reduce(v3) }
          }
          emit(0, t.0, t.1, t.2, t.3); emit(1, t.4, t.5, t.6, t.7); emit(2, t.8, t.9, t.10, t.11); emit(3, t.12, t.13, t.14, t.15)
        }
        s0 = s1
      }
    }
    k0 = k1
  }
}

/// Terms per sub-block of `dotProductsNT`: four rows of A over one sub-block (16 kB) stay in the L1 cache
/// (512 and 2,048 measured no faster here; no sub-blocks at all, 20% slower on 32 x 28 x 3,600).
let subBlockK = 1024

typealias Tile16 = (
  SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
  SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)

/// t[r * 4 + q] += x_r * y_q, lane by lane.
@inline(__always)
func step(_ t: inout Tile16, _ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ x2: SIMD16<Float>, _ x3: SIMD16<Float>,
          _ y0: SIMD16<Float>, _ y1: SIMD16<Float>, _ y2: SIMD16<Float>, _ y3: SIMD16<Float>) {
  t.0 = t.0.addingProduct(x0, y0); t.1 = t.1.addingProduct(x0, y1); t.2 = t.2.addingProduct(x0, y2); t.3 = t.3.addingProduct(x0, y3)
  t.4 = t.4.addingProduct(x1, y0); t.5 = t.5.addingProduct(x1, y1); t.6 = t.6.addingProduct(x1, y2); t.7 = t.7.addingProduct(x1, y3)
  t.8 = t.8.addingProduct(x2, y0); t.9 = t.9.addingProduct(x2, y1); t.10 = t.10.addingProduct(x2, y2); t.11 = t.11.addingProduct(x2, y3)
  t.12 = t.12.addingProduct(x3, y0); t.13 = t.13.addingProduct(x3, y1); t.14 = t.14.addingProduct(x3, y2); t.15 = t.15.addingProduct(x3, y3)
}

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// The first `count` (< 16) values at p, zeros after.
@inline(__always)
func partial(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD16<Float> {
  var v = SIMD16<Float>()
  for i in 0..<count { v[i] = p[i] }
  return v
}

/// The sum of the sixteen lanes as a tree (halves added, then quarters...): a fixed order, and a short chain
/// of dependent additions where `sum()` adds the lanes one after another.
@inline(__always)
func reduce(_ v: SIMD16<Float>) -> Float {
  let eight = v.lowHalf + v.highHalf
  let four = eight.lowHalf + eight.highHalf
  let two = four.lowHalf + four.highHalf
  return two[0] + two[1]
}
