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
