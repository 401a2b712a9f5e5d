// Elementwise kernels the convolution engine shares with the ops: ReLU and its gradient, sums in a fixed order.

/// y = max(0, x) over `range`, sixteen values at a time.
@inline(__always)
package func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
  var i = range.lowerBound
  let zero = SIMD16<Float>()
  while i + 16 <= range.upperBound {
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD16<Float>.self)
    i += 16
  }
  while i < range.upperBound { y[i] = x[i] < 0 ? 0 : x[i]; i += 1 }
}

/// dx = g where x > 0, else 0, over `range`.
@inline(__always)
package func reluBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
  var i = range.lowerBound
  let zero = SIMD16<Float>()
  while i + 16 <= range.upperBound {
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self), d = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(dx + i).storeBytes(of: zero.replacing(with: d, where: v .> zero), as: SIMD16<Float>.self)
    i += 16
  }
  while i < range.upperBound { dx[i] = x[i] > 0 ? g[i] : 0; i += 1 }
}

/// Σ values[0..<count] as eight running sums in a fixed order (vectorisable, the same on every run).
@inline(__always)
package func sumFloats(_ values: UnsafePointer<Float>, count: Int) -> Float {
  var acc = SIMD8<Float>()
  var j = 0
  while j + 8 <= count {
    acc += UnsafeRawPointer(values + j).loadUnaligned(as: SIMD8<Float>.self)
    j += 8
  }
  var s = acc.sum()
  while j < count { s += values[j]; j += 1 }
  return s
}

/// `sumFloats` of four rows `stride` apart, interleaved: the same additions in the same order for each row.
@inline(__always)
package func sumFloats4(_ values: UnsafePointer<Float>, _ stride: Int, count: Int) -> SIMD4<Float> {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  let r0 = UnsafeRawPointer(values), r1 = UnsafeRawPointer(values + stride), r2 = UnsafeRawPointer(values + 2 * stride), r3 = UnsafeRawPointer(values + 3 * stride)
  var j = 0
  while j + 8 <= count {
    a0 += r0.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    a1 += r1.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    a2 += r2.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    a3 += r3.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
    j += 8
  }
  var s = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
  while j < count {
    s += SIMD4<Float>(values[j], values[stride + j], values[2 * stride + j], values[3 * stride + j])
    j += 1
  }
  return s
}

/// `sumFloats4` of four rows each made of runs: `count` terms in runs of `run` (at least 8), run i at
/// `i * runStride` from the row's start (a convolution's output gradient read in place, image by image). The
/// same additions in the same order as `sumFloats4` on the runs copied into contiguous rows: the same bits.
package func sumFloats4(runs values: UnsafePointer<Float>, _ stride: Int, run: Int, runStride: Int, count: Int) -> SIMD4<Float> {
  precondition(run >= 8, "sumFloats4(runs:): runs of at least 8 terms")
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  // Term j of a row is at p + j while j < end (p moves on by `step` at each new run).
  let step = runStride - run
  var p = values, end = run, j = 0
  @inline(__always) func straddling(_ row: UnsafePointer<Float>) -> SIMD8<Float> {
    var v = SIMD8<Float>()
    for l in 0..<8 { v[l] = j + l < end ? row[j + l] : row[step + j + l] }
    return v
  }
  while j + 8 <= count {
    if j >= end { (p, end) = (p + step, end + run) }
    if j + 8 <= end {
      a0 += UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
      a1 += UnsafeRawPointer(p + stride + j).loadUnaligned(as: SIMD8<Float>.self)
      a2 += UnsafeRawPointer(p + 2 * stride + j).loadUnaligned(as: SIMD8<Float>.self)
      a3 += UnsafeRawPointer(p + 3 * stride + j).loadUnaligned(as: SIMD8<Float>.self)
    } else {
      a0 += straddling(p)
      a1 += straddling(p + stride)
      a2 += straddling(p + 2 * stride)
      a3 += straddling(p + 3 * stride)
    }
    j += 8
  }
  var s = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
  while j < count {
    if j >= end { (p, end) = (p + step, end + run) }
    s += SIMD4<Float>(p[j], p[stride + j], p[2 * stride + j], p[3 * stride + j])
    j += 1
  }
  return s
}

/// `sumFloats` of a row made of runs (see `sumFloats4(runs:)`): the same bits as on the row copied out whole.
package func sumFloats(runs values: UnsafePointer<Float>, run: Int, runStride: Int, count: Int) -> Float {
  precondition(run >= 8, "sumFloats(runs:): runs of at least 8 terms")
  var acc = SIMD8<Float>()
  let step = runStride - run
  var p = values, end = run, j = 0
  while j + 8 <= count {
    if j >= end { (p, end) = (p + step, end + run) }
    if j + 8 <= end {
      acc += UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
    } else {
      var v = SIMD8<Float>()
      for l in 0..<8 { v[l] = j + l < end ? p[j + l] : p[step + j + l] }
      acc += v
    }
    j += 8
  }
  var s = acc.sum()
  while j < count {
    if j >= end { (p, end) = (p + step, end + run) }
    s += p[j]
    j += 1
  }
  return s
}
