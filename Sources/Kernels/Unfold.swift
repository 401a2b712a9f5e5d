import CKernels

/// Unfolds one image [C, H, W] into columns: row r = (c, ki, kj) of the window, OH*OW values, `rowStride`
/// apart (zeros where the window is in the padding).
///
/// With `sourceEnd` (the end of the memory readable from x), the stride-1 runs of up to 32 floats are copied as
/// whole SIMD16 vectors: up to 31 floats past a run are written too (the next run overwrites them; the caller
/// leaves room after each row's last run) and read too, where that stays before `sourceEnd`.
///
/// With `images` > 1, consecutive images (`channels * height * width` floats apart) go side by side: image i's
/// columns start at column i * outHeight * outWidth. The stride-1 path fills each row for all the images before
/// the next row: the writes run along the rows (image by image, rows apart, each write missed the L1 cache
/// for small planes).
package func im2col(_ x: UnsafePointer<Float>, images: Int = 1, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, into cols: UnsafeMutablePointer<Float>, rowStride: Int? = nil, sourceEnd: UnsafePointer<Float>? = nil) {
  let plane = rowStride ?? images * outHeight * outWidth
  let imageSize = channels * height * width, outPlane = outHeight * outWidth
  if w.stride == 1 && w.padding == 0 {
    // Planes of up to 16 values: each channel's window rows in two vectors, permuted (AVX-512 only).
    if cKernels && nl_unfold_small(x, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, outHeight, outWidth,
                                                  cols, plane, sourceEnd ?? x + images * imageSize) != 0 { return }
    // AVX2: whole-vector runs in C, where the caller leaves room for them (`sourceEnd`).
    if cKernelsAVX2, let sourceEnd, nl_unfold_avx2(x, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, outHeight, outWidth,
                                                   cols, plane, sourceEnd) != 0 { return }
    // Every window row is a contiguous run of the input row: copy runs, walking both sides by pointer.
    forEachStrideOneRun(images: images, channels: channels, height: height, width: width, window: w, outPlane: outPlane, rowStride: plane) { input, column in
      var src = x + input, dst = cols + column
      // The rows whose whole-vector read (32 floats) ends before `sourceEnd`.
      var vectorRows = 0
      if let sourceEnd, outWidth <= 32, sourceEnd - src >= 32 { vectorRows = min(outHeight, (sourceEnd - src - 32) / width + 1) }
      // The narrowest vector that holds the run (a 4-float run is not stored as 16), chosen once per row.
      @inline(__always) func runs<V: SIMD>(_: V.Type) where V.Scalar == Float {
        for _ in 0..<vectorRows {
          UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: V.self), as: V.self)
          src += width
          dst += outWidth
        }
      }
      if outWidth <= 4 {
        runs(SIMD4<Float>.self)
      } else if outWidth <= 8 {
        runs(SIMD8<Float>.self)
      } else if outWidth <= 16 {
        runs(SIMD16<Float>.self)
      } else {
        for _ in 0..<vectorRows {
          let (from, into) = (UnsafeRawPointer(src), UnsafeMutableRawPointer(dst))
          into.storeBytes(of: from.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
          (into + 64).storeBytes(of: (from + 64).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
          src += width
          dst += outWidth
        }
      }
      for _ in vectorRows..<outHeight {
        copyFloats(from: src, to: dst, count: outWidth)
        src += width
        dst += outWidth
      }
    }
    return
  }
  if w.stride == 1 {
    // Padded, stride 1 ("same" convolutions): each output row's run is a contiguous piece of an input row, with
    // zeros where the window hangs over an edge (in masked AVX-512 loads where the processor has them).
    if cKernels && nl_unfold_padded(x, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, w.padding, outHeight, outWidth,
                                    cols, plane) != 0 { return }
    forEachPaddedRun(images: images, channels: channels, height: height, width: width, window: w, outHeight: outHeight, outWidth: outWidth, rowStride: plane) { column, input, j0, j1 in
      let dst = cols + column
      guard let input else { dst.update(repeating: 0, count: outWidth); return }
      if j0 > 0 { dst.update(repeating: 0, count: j0) }
      copyFloats(from: x + input, to: dst + j0, count: j1 - j0)
      if j1 < outWidth { (dst + j1).update(repeating: 0, count: outWidth - j1) }
    }
    return
  }
  forEachWindowValue(images: images, channels: channels, height: height, width: width, window: w, outHeight: outHeight, outWidth: outWidth, rowStride: plane) { column, input in
    cols[column] = input.map { x[$0] } ?? 0
  }
}

/// The stride-1, padded unfold's walk, shared by im2col and col2im: for every row (c, ki, kj) of the columns,
/// every image and every output row, `body(column, input, j0, j1)`: the offset of the output row's run in the
/// columns, and the input offset of its value at output column j0 (nil when the whole run lies in the padding);
/// output columns j0..<j1 fall inside the image. Each input value receives its terms in row order, as in
/// `forEachWindowValue`, so col2im's sums are the same bits either way.
@inline(__always)
private func forEachPaddedRun(images: Int, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, rowStride: Int, _ body: (Int, Int?, Int, Int) -> Void) {
  let imageSize = channels * height * width, outPlane = outHeight * outWidth, p = w.padding
  var row = 0
  for c in 0..<channels {
    for ki in 0..<w.kernelHeight {
      for kj in 0..<w.kernelWidth {
        let j0 = min(outWidth, max(0, p - kj)), j1 = max(j0, min(outWidth, width + p - kj))
        for image in 0..<images {
          let first = row * rowStride + image * outPlane
          for oi in 0..<outHeight {
            let i = oi - p + ki
            let inside = i >= 0 && i < height && j1 > j0
            body(first + oi * outWidth, inside ? image * imageSize + (c * height + i) * width + j0 - p + kj : nil, j0, j1)
          }
        }
        row += 1
      }
    }
  }
}

/// The stride-1, unpadded unfold's walk, shared by im2col and col2im: for every row (c, ki, kj) of the columns
/// and, within it, every image, `body(input, column)` with the offsets of the window row's first value in the
/// images and of its run in the columns (outHeight runs of outWidth values follow, `width` and `outWidth` apart).
@inline(__always)
private func forEachStrideOneRun(images: Int, channels: Int, height: Int, width: Int, window w: Window2D, outPlane: Int, rowStride: Int, _ body: (_ input: Int, _ column: Int) -> Void) {
  let imageSize = channels * height * width
  var row = 0
  for c in 0..<channels {
    for ki in 0..<w.kernelHeight {
      for kj in 0..<w.kernelWidth {
        for image in 0..<images { body(image * imageSize + (c * height + ki) * width + kj, row * rowStride + image * outPlane) }
        row += 1
      }
    }
  }
}

/// The general unfold's walk (any stride and padding), shared by im2col and col2im: for every image, row
/// (c, ki, kj) of the columns and output position, in that order, `body(column, input)` with the offset in
/// the columns and the input offset, nil where the window lies in the padding.
@inline(__always)
private func forEachWindowValue(images: Int, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, rowStride: Int, _ body: (Int, Int?) -> Void) {
  let imageSize = channels * height * width, outPlane = outHeight * outWidth
  for image in 0..<images {
    var row = 0
    for c in 0..<channels {
      for ki in 0..<w.kernelHeight {
        for kj in 0..<w.kernelWidth {
          let first = row * rowStride + image * outPlane
          for oi in 0..<outHeight {
            let i = oi * w.stride - w.padding + ki
            for oj in 0..<outWidth {
              let j = oj * w.stride - w.padding + kj
              body(first + oi * outWidth + oj, i >= 0 && i < height && j >= 0 && j < width ? image * imageSize + (c * height + i) * width + j : nil)
            }
          }
          row += 1
        }
      }
    }
  }
}

/// dst[0..<count] = src[0..<count] in vector moves, inlined: the runs im2col copies are short (a few dozen
/// floats), where a call to memmove costs more than the copy.
@inline(__always)
package func copyFloats(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
  var i = 0
  while i + 16 <= count {
    UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
    i += 16
  }
  while i + 4 <= count {
    UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
    i += 4
  }
  while i < count { dst[i] = src[i]; i += 1 }
}

/// dst[0..<count] += src[0..<count] in vector steps, inlined (short runs, as `copyFloats`).
@inline(__always)
package func addFloats(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
  var i = 0
  while i + 16 <= count {
    let d = UnsafeMutableRawPointer(dst + i)
    d.storeBytes(of: d.loadUnaligned(as: SIMD16<Float>.self) + UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
    i += 16
  }
  while i + 4 <= count {
    let d = UnsafeMutableRawPointer(dst + i)
    d.storeBytes(of: d.loadUnaligned(as: SIMD4<Float>.self) + UnsafeRawPointer(src + i).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
    i += 4
  }
  while i < count { dst[i] += src[i]; i += 1 }
}

/// The adjoint of im2col: adds columns back into an image gradient (`images` side by side as in `im2col`; each
/// value receives its terms in the same order, row by row, however the images are grouped).
package func col2im(_ cols: UnsafePointer<Float>, images: Int = 1, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, into x: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
  let plane = rowStride ?? images * outHeight * outWidth
  let imageSize = channels * height * width, outPlane = outHeight * outWidth
  if w.stride == 1 && w.padding == 0 {
    if cKernels && nl_fold_small(cols, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, outHeight, outWidth,
                                                x, plane) != 0 { return }
    // AVX2: each input row's terms gathered in registers (nl_fold_avx2), the same sums.
    if cKernelsAVX2 && nl_fold_avx2(cols, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, outHeight, outWidth,
                                    x, plane) != 0 { return }
    forEachStrideOneRun(images: images, channels: channels, height: height, width: width, window: w, outPlane: outPlane, rowStride: plane) { input, column in
      var src = cols + column, dst = x + input
      for _ in 0..<outHeight {
        addFloats(from: src, to: dst, count: outWidth)
        src += outWidth
        dst += width
      }
    }
    return
  }
  if w.stride == 1 {
    if cKernels && nl_fold_padded(cols, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, w.padding, outHeight, outWidth,
                                  x, plane) != 0 { return }
    forEachPaddedRun(images: images, channels: channels, height: height, width: width, window: w, outHeight: outHeight, outWidth: outWidth, rowStride: plane) { column, input, j0, j1 in
      if let input { addFloats(from: cols + column + j0, to: x + input, count: j1 - j0) }
    }
    return
  }
  forEachWindowValue(images: images, channels: channels, height: height, width: width, window: w, outHeight: outHeight, outWidth: outWidth, rowStride: plane) { column, input in
    if let input { x[input] += cols[column] }
  }
}
