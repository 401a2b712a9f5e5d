// Compiled for x86-64-v4 (AVX-512): call only after checking that the processor has it (nl_cpu_has_avx512).

/// The 12 x 32 tile of C (+)= (12 x kc panel of A)(kc x 32 panel of B), in twenty-four SIMD16 accumulators.
/// `a` holds 12 values per step, `b` 32 (two SIMD16) per step, `ldb` floats apart (32 when packed, B's row
/// stride when read in place); `rows` and `columns` trim an edge tile. With `accumulate` the tile is added to
/// C, else C is overwritten (C need not be cleared first); `bias`, when given, adds bias[r] to row r afterwards.
public func microKernel12x32(
  kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int,
  accumulate: Bool, bias: UnsafePointer<Float>?
) {
  let step = ldb * 4
  var acc = (
    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
  var ap = a
  var bp = UnsafeRawPointer(b)
  for _ in 0..<kc {
    let b0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
    let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    var v = SIMD16<Float>(repeating: ap[0])
    acc.0 = acc.0.addingProduct(v, b0); acc.1 = acc.1.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[1])
    acc.2 = acc.2.addingProduct(v, b0); acc.3 = acc.3.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[2])
    acc.4 = acc.4.addingProduct(v, b0); acc.5 = acc.5.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[3])
    acc.6 = acc.6.addingProduct(v, b0); acc.7 = acc.7.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[4])
    acc.8 = acc.8.addingProduct(v, b0); acc.9 = acc.9.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[5])
    acc.10 = acc.10.addingProduct(v, b0); acc.11 = acc.11.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[6])
    acc.12 = acc.12.addingProduct(v, b0); acc.13 = acc.13.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[7])
    acc.14 = acc.14.addingProduct(v, b0); acc.15 = acc.15.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[8])
    acc.16 = acc.16.addingProduct(v, b0); acc.17 = acc.17.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[9])
    acc.18 = acc.18.addingProduct(v, b0); acc.19 = acc.19.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[10])
    acc.20 = acc.20.addingProduct(v, b0); acc.21 = acc.21.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[11])
    acc.22 = acc.22.addingProduct(v, b0); acc.23 = acc.23.addingProduct(v, b1)
    ap += 12
    bp += step
  }
  if rows == 12 && columns == 32 {
    put(c, acc.0, acc.1, accumulate, bias, 0); put(c + ldc, acc.2, acc.3, accumulate, bias, 1)
    put(c + 2 * ldc, acc.4, acc.5, accumulate, bias, 2); put(c + 3 * ldc, acc.6, acc.7, accumulate, bias, 3)
    put(c + 4 * ldc, acc.8, acc.9, accumulate, bias, 4); put(c + 5 * ldc, acc.10, acc.11, accumulate, bias, 5)
    put(c + 6 * ldc, acc.12, acc.13, accumulate, bias, 6); put(c + 7 * ldc, acc.14, acc.15, accumulate, bias, 7)
    put(c + 8 * ldc, acc.16, acc.17, accumulate, bias, 8); put(c + 9 * ldc, acc.18, acc.19, accumulate, bias, 9)
    put(c + 10 * ldc, acc.20, acc.21, accumulate, bias, 10); put(c + 11 * ldc, acc.22, acc.23, accumulate, bias, 11)
  } else {
    edgeTile(acc, c, ldc, rows, columns, accumulate, bias)
  }
}

/// The 8 x 32 tile of C (+)= (8 x kc panel of A)(kc x 32 panel of B), in sixteen SIMD16 accumulators: the same
/// contract as `microKernel12x32`. Eight rows divide the row counts of the lesson's layers (32, 64, 288) where
/// twelve leave a third of a panel idle.
public func microKernel8x32(
  kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int,
  accumulate: Bool, bias: UnsafePointer<Float>?
) {
  let step = ldb * 4
  var acc = (
    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
  var ap = a
  var bp = UnsafeRawPointer(b)
  for _ in 0..<kc {
    let b0 = bp.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
    let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    var v = SIMD16<Float>(repeating: ap[0])
    acc.0 = acc.0.addingProduct(v, b0); acc.1 = acc.1.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[1])
    acc.2 = acc.2.addingProduct(v, b0); acc.3 = acc.3.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[2])
    acc.4 = acc.4.addingProduct(v, b0); acc.5 = acc.5.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[3])
    acc.6 = acc.6.addingProduct(v, b0); acc.7 = acc.7.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[4])
    acc.8 = acc.8.addingProduct(v, b0); acc.9 = acc.9.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[5])
    acc.10 = acc.10.addingProduct(v, b0); acc.11 = acc.11.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[6])
    acc.12 = acc.12.addingProduct(v, b0); acc.13 = acc.13.addingProduct(v, b1)
    v = SIMD16<Float>(repeating: ap[7])
    acc.14 = acc.14.addingProduct(v, b0); acc.15 = acc.15.addingProduct(v, b1)
    ap += 8
    bp += step
  }
  if rows == 8 && columns == 32 {
    put(c, acc.0, acc.1, accumulate, bias, 0); put(c + ldc, acc.2, acc.3, accumulate, bias, 1)
    put(c + 2 * ldc, acc.4, acc.5, accumulate, bias, 2); put(c + 3 * ldc, acc.6, acc.7, accumulate, bias, 3)
    put(c + 4 * ldc, acc.8, acc.9, accumulate, bias, 4); put(c + 5 * ldc, acc.10, acc.11, accumulate, bias, 5)
    put(c + 6 * ldc, acc.12, acc.13, accumulate, bias, 6); put(c + 7 * ldc, acc.14, acc.15, accumulate, bias, 7)
  } else {
    edgeTile(acc, c, ldc, rows, columns, accumulate, bias)
  }
}

/// An edge tile's write-back, out of line: with the tuple's address taken inside the kernel, every tile stored
/// its sixteen (or twenty-four) accumulators to the stack after its loop, edge or not.
@inline(never)
func edgeTile<T>(_ acc: T, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ rows: Int, _ columns: Int, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
  var acc = acc
  withUnsafeBytes(of: &acc) { putEdge($0.bindMemory(to: Float.self), c, ldc, rows, columns, accumulate, bias) }
}

/// Writes the `rows` x `columns` corner of an edge tile (32 floats a row in `tile`), value by value.
@inline(__always)
func putEdge(_ tile: UnsafeBufferPointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ rows: Int, _ columns: Int, _ accumulate: Bool, _ bias: UnsafePointer<Float>?) {
  for r in 0..<rows {
    for q in 0..<columns {
      var v = accumulate ? c[r * ldc + q] + tile[r * 32 + q] : tile[r * 32 + q]
      if let bias { v += bias[r] }
      c[r * ldc + q] = v
    }
  }
}

/// Writes one row of the tile: c[0..<32] = (c[0..<32] +) (lo, hi) (+ bias[r]).
@inline(__always)
func put(_ c: UnsafeMutablePointer<Float>, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>, _ accumulate: Bool, _ bias: UnsafePointer<Float>?, _ r: Int) {
  let row = UnsafeMutableRawPointer(c)
  var lo = lo, hi = hi
  if accumulate {
    lo = row.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self) + lo
    hi = row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + hi
  }
  if let bias {
    let v = SIMD16<Float>(repeating: bias[r])
    lo += v
    hi += v
  }
  row.storeBytes(of: lo, toByteOffset: 0, as: SIMD16<Float>.self)
  row.storeBytes(of: hi, toByteOffset: 64, as: SIMD16<Float>.self)
}

/// Peak-rate probe: `iterations` rounds of 12 independent SIMD16 fused multiply-adds (384 flops a round).
@inline(never)
public func fmaLoop512(iterations: Int, seed: Float) -> Float {
  var acc = (SIMD16<Float>(repeating: seed), SIMD16<Float>(repeating: seed + 1), SIMD16<Float>(repeating: seed + 2), SIMD16<Float>(repeating: seed + 3),
    SIMD16<Float>(repeating: seed + 4), SIMD16<Float>(repeating: seed + 5), SIMD16<Float>(repeating: seed + 6), SIMD16<Float>(repeating: seed + 7),
    SIMD16<Float>(repeating: seed + 8), SIMD16<Float>(repeating: seed + 9), SIMD16<Float>(repeating: seed + 10), SIMD16<Float>(repeating: seed + 11))
  let m = SIMD16<Float>(repeating: 0.999_999), a = SIMD16<Float>(repeating: 1e-7)
  for _ in 0..<iterations {
    acc.0 = a.addingProduct(acc.0, m); acc.1 = a.addingProduct(acc.1, m)
    acc.2 = a.addingProduct(acc.2, m); acc.3 = a.addingProduct(acc.3, m)
    acc.4 = a.addingProduct(acc.4, m); acc.5 = a.addingProduct(acc.5, m)
    acc.6 = a.addingProduct(acc.6, m); acc.7 = a.addingProduct(acc.7, m)
    acc.8 = a.addingProduct(acc.8, m); acc.9 = a.addingProduct(acc.9, m)
    acc.10 = a.addingProduct(acc.10, m); acc.11 = a.addingProduct(acc.11, m)
  }
  let s = acc.0 + acc.1 + acc.2 + acc.3 + acc.4 + acc.5 + acc.6 + acc.7 + acc.8 + acc.9 + acc.10 + acc.11
  return s.sum()
}
