// Compiled for x86-64-v4 (AVX-512): call only after checking that the processor has it (nl_cpu_has_avx512).

/// C += A Bᵀ for the rows `rows` of C, where A is m x k and B is n x k, both row-major (k contiguous): the shape
/// of a convolution's weight gradient (a few dozen by a few hundred outputs, tens of thousands of terms each).
///
/// Every C[i, j] is a dot product of two contiguous rows, so nothing is packed: a 4 x 4 tile of outputs keeps
/// sixteen SIMD16 partial sums in registers while it streams four rows of A and four of B, sixteen terms at a
/// time. k is cut into blocks of `blockK` terms so that a block of B stays in the L2 cache while every row tile
/// of A passes over it; between blocks the partial sums wait in `scratch` (64 bytes per output of the row
/// tiles, rows and columns rounded up to 4). Each output's lanes add their terms in k order and are summed
/// in a fixed order at the end, so a result does not depend on how the rows are shared between threads.
public func dotProductsNT(
  rows: Range<Int>, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutableRawPointer, blockK: Int = 256
) {
  guard !rows.isEmpty, n > 0 else { return }
  // Blocks start on whole vectors (a block ending mid-vector would count the terms past it twice).
  let blockK = k <= blockK ? blockK : max(16, blockK / 16 * 16)
  let m = rows.count
  let tileRows = (m + 3) / 4, tileColumns = (n + 3) / 4
  let sums = scratch.bindMemory(to: SIMD16<Float>.self, capacity: tileRows * tileColumns * 16)
  // With one block of k, the partial sums go from the registers straight to C.
  let oneBlock = k <= blockK
  if !oneBlock { sums.update(repeating: SIMD16<Float>(), count: tileRows * tileColumns * 16) }
  let fullEnd = k - k % 16
  var k0 = 0
  while k0 < k {
    let k1 = min(k, k0 + blockK)
    let vectorEnd = min(k1, fullEnd)
    for ti in 0..<tileRows {
      // Rows past the end repeat the last row; their sums are never read.
      let i0 = rows.lowerBound + 4 * ti, last = rows.upperBound - 1
      let a0 = a + min(i0, last) * lda, a1 = a + min(i0 + 1, last) * lda
      let a2 = a + min(i0 + 2, last) * lda, a3 = a + min(i0 + 3, last) * lda
      for tj in 0..<tileColumns {
        let j0 = 4 * tj
        let b0 = b + min(j0, n - 1) * ldb, b1 = b + min(j0 + 1, n - 1) * ldb
        let b2 = b + min(j0 + 2, n - 1) * ldb, b3 = b + min(j0 + 3, n - 1) * ldb
        let tile = sums + (ti * tileColumns + tj) * 16
        let zero = SIMD16<Float>()
        var t = oneBlock
          ? (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
          : (tile[0], tile[1], tile[2], tile[3], tile[4], tile[5], tile[6], tile[7],
             tile[8], tile[9], tile[10], tile[11], tile[12], tile[13], tile[14], tile[15])
        var p = k0
        while p < vectorEnd {
          let y0 = load(b0 + p), y1 = load(b1 + p), y2 = load(b2 + p), y3 = load(b3 + p)
          step(&t, load(a0 + p), load(a1 + p), load(a2 + p), load(a3 + p), y0, y1, y2, y3)
          p += 16
        }
        if k1 == k && fullEnd < k {
          // The last few terms, through zero-padded copies.
          let count = k - fullEnd
          step(&t, partial(a0 + fullEnd, count), partial(a1 + fullEnd, count), partial(a2 + fullEnd, count), partial(a3 + fullEnd, count),
               partial(b0 + fullEnd, count), partial(b1 + fullEnd, count), partial(b2 + fullEnd, count), partial(b3 + fullEnd, count))
        }
        if oneBlock {
          // Rows and columns past the edge were computed from repeated rows; only real outputs are written.
          withUnsafeBytes(of: &t) { raw in
            let lanes = raw.bindMemory(to: SIMD16<Float>.self)
            for r in 0..<min(4, m - 4 * ti) {
              for q in 0..<min(4, n - j0) { c[(i0 + r) * ldc + j0 + q] += reduce(lanes[r * 4 + q]) }
            }
          }
          continue
        }
        tile[0] = t.0; tile[1] = t.1; tile[2] = t.2; tile[3] = t.3; tile[4] = t.4; tile[5] = t.5; tile[6] = t.6; tile[7] = t.7
        tile[8] = t.8; tile[9] = t.9; tile[10] = t.10; tile[11] = t.11; tile[12] = t.12; tile[13] = t.13; tile[14] = t.14; tile[15] = t.15
      }
    }
    k0 = k1
  }
  if oneBlock { return }
  for i in 0..<m {
    for j in 0..<n {
      let tile = sums + ((i / 4) * tileColumns + j / 4) * 16
      c[(rows.lowerBound + i) * ldc + j] += reduce(tile[(i % 4) * 4 + j % 4])
    }
  }
}

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
