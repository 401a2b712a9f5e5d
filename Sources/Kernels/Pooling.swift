import CKernels

/// 2x2, stride-2 max pooling of one plane (see `maxPool2x2Plane`): in C with masked AVX-512 vectors where the
/// GEMM runs AVX-512 kernels (`cKernels`), else in Swift; the same values and winners either way.
package func maxPool2x2(_ src: UnsafePointer<Float>, width: Int, pooledHeight: Int, pooledWidth: Int, into dst: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, readLimit: UnsafePointer<Float>) {
  if cKernels {
    nl_maxpool2x2(src, width, pooledHeight, pooledWidth, dst, argmax, 0)
  } else {
    maxPool2x2Plane(src, width: width, pooledHeight: pooledHeight, pooledWidth: pooledWidth, into: dst, argmax: argmax, readLimit: readLimit)
  }
}

/// 2x2, stride-2 max pooling of one plane `width` values wide into pooledHeight x pooledWidth outputs and
/// their winners' offsets (see `maxPool2x2Row` for `readLimit` and `overrun`).
package func maxPool2x2Plane(_ src: UnsafePointer<Float>, width: Int, pooledHeight: Int, pooledWidth: Int, into dst: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, readLimit: UnsafePointer<Float>, overrun: Bool = false) {
  for oi in 0..<pooledHeight {
    maxPool2x2Row(src + 2 * oi * width, src + (2 * oi + 1) * width, rowOffset: 2 * oi * width, count: pooledWidth,
                  into: dst + oi * pooledWidth, argmax: argmax + oi * pooledWidth, readLimit: readLimit, overrun: overrun)
  }
}

/// One output row of 2x2, stride-2 max pooling, sixteen outputs at a time: each output is the maximum of
/// r0[2j], r0[2j+1], r1[2j], r1[2j+1], ties to the first in that order (as the scalar loop did). Whole vectors
/// are read while they end before `readLimit`; past it, a short last chunk goes through copies. With
/// `overrun`, a short last chunk is stored whole too (up to 15 values past the row: the caller has room for
/// them), else value by value.
@inline(__always)
package func maxPool2x2Row(_ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>, rowOffset: Int, count: Int, into dst: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, readLimit: UnsafePointer<Float>, overrun: Bool = false) {
  let width = Float(r1 - r0)
  var j = 0
  while j < count {
    let top: SIMD32<Float>, bottom: SIMD32<Float>
    let rest = min(16, count - j)
    if r0 + 2 * j + 32 <= readLimit && r1 + 2 * j + 32 <= readLimit {
      top = UnsafeRawPointer(r0 + 2 * j).loadUnaligned(as: SIMD32<Float>.self)
      bottom = UnsafeRawPointer(r1 + 2 * j).loadUnaligned(as: SIMD32<Float>.self)
    } else {
      var t = SIMD32<Float>(), b = SIMD32<Float>()
      for q in 0..<(2 * rest) { t[q] = r0[2 * j + q]; b[q] = r1[2 * j + q] }
      (top, bottom) = (t, b)
    }
    let (best, at) = maxPool2x2Chunk(top, bottom, first: Float(rowOffset + 2 * j), width: width)
    if rest == 16 || overrun {
      UnsafeMutableRawPointer(dst + j).storeBytes(of: best, as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(argmax + j).storeBytes(of: at, as: SIMD16<Int32>.self)
    } else {
      for q in 0..<rest { dst[j + q] = best[q]; argmax[j + q] = at[q] }
    }
    j += 16
  }
}

/// Sixteen 2x2 windows: their maxima and the maxima's offsets (`first` is the offset of the first window's
/// top-left value). The offsets are tracked as floats (exact below 2^23) so one comparison mask serves both.
@inline(__always)
package func maxPool2x2Chunk(_ top: SIMD32<Float>, _ bottom: SIMD32<Float>, first: Float, width: Float) -> (SIMD16<Float>, SIMD16<Int32>) {
  let left = SIMD16<Float>(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) + first, below = left + width
  var best = top.evenHalf, at = left
  var candidate = top.oddHalf
  var better = candidate .> best
  best.replace(with: candidate, where: better)
  at.replace(with: left + 1, where: better)
  candidate = bottom.evenHalf
  better = candidate .> best
  best.replace(with: candidate, where: better)
  at.replace(with: below, where: better)
  candidate = bottom.oddHalf
  better = candidate .> best
  best.replace(with: candidate, where: better)
  at.replace(with: below + 1, where: better)
  // Float to Int32 without the generic conversion: 2^23 + an integer below 2^23 has the integer in its low bits.
  return (best, unsafeBitCast(at + 8_388_608, to: SIMD16<Int32>.self) &- 0x4B00_0000)
}
