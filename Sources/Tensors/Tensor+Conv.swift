import CKernels
import Dispatch
import Foundation

/// Sizes of a 2-D convolution or pooling window, checked once.
public struct Window2D: Equatable, Sendable {
  public let kernelHeight: Int, kernelWidth: Int
  public let stride: Int
  public let padding: Int

  public init(kernel: Int, stride: Int = 1, padding: Int = 0) {
    self.init(kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: padding)
  }
  public init(kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.stride = stride
    self.padding = padding
  }

  /// The output height and width for an input of `height` x `width`, or an error naming `op`.
  public func outputSize(height: Int, width: Int, op: String) throws -> (Int, Int) {
    guard kernelHeight > 0, kernelWidth > 0 else { throw TensorError("\(op): the kernel must be at least 1x1, got \(kernelHeight)x\(kernelWidth)") }
    guard stride > 0 else { throw TensorError("\(op): the stride must be at least 1, got \(stride)") }
    guard padding >= 0 else { throw TensorError("\(op): the padding must be >= 0, got \(padding)") }
    let ph = height + 2 * padding, pw = width + 2 * padding
    guard kernelHeight <= ph, kernelWidth <= pw else {
      throw TensorError("\(op): the \(kernelHeight)x\(kernelWidth) kernel is larger than the padded \(ph)x\(pw) input")
    }
    return ((ph - kernelHeight) / stride + 1, (pw - kernelWidth) / stride + 1)
  }
}

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
func im2col(_ x: UnsafePointer<Float>, images: Int = 1, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, into cols: UnsafeMutablePointer<Float>, rowStride: Int? = nil, sourceEnd: UnsafePointer<Float>? = nil) {
  let plane = rowStride ?? images * outHeight * outWidth
  let imageSize = channels * height * width, outPlane = outHeight * outWidth
  if w.stride == 1 && w.padding == 0 {
    // Planes of up to 16 values: each channel's window rows in two vectors, permuted (AVX-512 only).
    if cKernels && nl_unfold_small(x, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, outHeight, outWidth,
                                                  cols, plane, sourceEnd ?? x + images * imageSize) != 0 { return }
    // Every window row is a contiguous run of the input row: copy runs, walking both sides by pointer.
    var row = 0
    for c in 0..<channels {
      for ki in 0..<w.kernelHeight {
        for kj in 0..<w.kernelWidth {
         for image in 0..<images {
          var src = x + image * imageSize + (c * height + ki) * width + kj, dst = cols + row * plane + image * outPlane
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
          row += 1
        }
      }
    }
    return
  }
  forEachWindowValue(images: images, channels: channels, height: height, width: width, window: w, outHeight: outHeight, outWidth: outWidth, rowStride: plane) { column, input in
    cols[column] = input.map { x[$0] } ?? 0
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
func copyFloats(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
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
func addFloats(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
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
func col2im(_ cols: UnsafePointer<Float>, images: Int = 1, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, into x: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
  let plane = rowStride ?? images * outHeight * outWidth
  let imageSize = channels * height * width, outPlane = outHeight * outWidth
  if w.stride == 1 && w.padding == 0 {
    if cKernels && nl_fold_small(cols, images, imageSize, channels, height, width, w.kernelHeight, w.kernelWidth, outHeight, outWidth,
                                                x, plane) != 0 { return }
    var row = 0
    for c in 0..<channels {
      for ki in 0..<w.kernelHeight {
        for kj in 0..<w.kernelWidth {
          for image in 0..<images {
            var src = cols + row * plane + image * outPlane, dst = x + image * imageSize + (c * height + ki) * width + kj
            for _ in 0..<outHeight {
              addFloats(from: src, to: dst, count: outWidth)
              src += outWidth
              dst += width
            }
          }
          row += 1
        }
      }
    }
    return
  }
  forEachWindowValue(images: images, channels: channels, height: height, width: width, window: w, outHeight: outHeight, outWidth: outWidth, rowStride: plane) { column, input in
    if let input { x[input] += cols[column] }
  }
}

/// Whether the AVX-512 C kernels (CKernels) do the convolutions' data movement: where the GEMM's micro-kernel
/// is an AVX-512 one, so `NEURAL_LESSONS_KERNEL=avx2` takes the Swift paths for all of it (as `make test`'s
/// second run does).
var cKernels: Bool { GEMM.kernel.usesAVX512 }

/// Runs `body(i)` for i in 0..<count, spread over the GEMM's threads in contiguous chunks. Each i must
/// write only its own outputs, so the result does not depend on the thread count.
func parallelFor(_ count: Int, _ body: (Int) -> Void) {
  let parts = min(GEMM.threads, count)
  if parts <= 1 {
    for i in 0..<count { body(i) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let box = UncheckedSendable(body)
    DispatchQueue.concurrentPerform(iterations: parts) { p in
      for i in (count * p / parts)..<(count * (p + 1) / parts) { box.value(i) }
    }
  }
}

/// `body` with a pointer to the array's values, or nil without an array.
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
  guard let values else { return body(nil) }
  return values.withUnsafeBufferPointer { body($0.baseAddress!) }
}

struct UncheckedSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

/// A pointer that may cross into `parallelFor`'s closures (each iteration touches its own part).
struct SharedPointer<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
}

extension Tensor {
  /// 2-D convolution (cross-correlation, as every framework computes it) of an NCHW input [N, C, H, W] with
  /// weights [F, C, KH, KW] and an optional bias [F]: output [N, F, OH, OW].
  ///
  /// Each pass is im2col + GEMM over chunks of a few images, sized so that a chunk's columns
  /// [C*KH*KW, images*OH*OW] stay in a core's L2 cache: the chunks are shared between the threads, each
  /// chunk's product runs on one thread, and the columns are unfolded again in the backward pass rather than
  /// kept (a few hundred kB at a time instead of tens of MB through memory). Forward: W cols, written straight
  /// into the output with the bias. Backward, per chunk: the weight gradient's share dY colsᵀ, the bias's
  /// share, and the input gradient col2im(Wᵀ dY); the shares are summed in chunk order, so no result depends
  /// on the thread count.
  ///
  /// With `relu`, the output is max(0, ·) of the convolution, applied to each chunk while it is in the cache,
  /// and the backward pass masks dY by it as it copies it: the same numbers as `conv2d(...).relu()` without
  /// a separate pass over memory each way (the "post-op" fusion of oneDNN and XLA). With `maxPool2x2` too,
  /// each chunk is also max-pooled over 2x2 windows (stride 2) before it leaves the cache: the output is the
  /// pooled one, as `conv2d(...).relu().maxPool2d(kernel: 2)` with the same numbers, and the full-size
  /// output is never written to memory.
  public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, relu: Bool = false, maxPool2x2: Bool = false) throws -> Tensor {
    guard rank == 4 else { throw TensorError("conv2d: the input must be [batch, channels, height, width], got shape \(shape)") }
    guard weight.rank == 4 else { throw TensorError("conv2d: the weight must be [filters, channels, kh, kw], got shape \(weight.shape)") }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let (f, wc, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    guard wc == c else { throw TensorError.shapes("conv2d", shape, weight.shape, "do not match: the input has \(c) channels, the weight \(wc)") }
    if let bias, bias.shape != [f] { throw TensorError.shapes("conv2d", weight.shape, bias.shape, "do not match: the bias needs shape [\(f)]") }
    let win = Window2D(kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    let (oh, ow) = try win.outputSize(height: h, width: w, op: "conv2d")
    if maxPool2x2 && (oh < 2 || ow < 2) { throw TensorError("conv2d: a \(oh)x\(ow) output is too small for 2x2 max pooling") }
    let layout = ConvLayout(n: n, c: c, h: h, w: w, f: f, window: win, oh: oh, ow: ow, relu: relu, pool: maxPool2x2)

    let outCount = n * f * layout.outPlane
    var out = [Float](unsafeUninitializedCapacity: outCount) { _, count in count = outCount }
    // With pooling: each output's winner, as an offset within its plane of the convolution's output.
    var argmax = [Int32](unsafeUninitializedCapacity: maxPool2x2 ? outCount : 0) { _, count in count = maxPool2x2 ? outCount : 0 }
    data.withUnsafeBufferPointer { px in
      weight.data.withUnsafeBufferPointer { pw in
        out.withUnsafeMutableBufferPointer { po in
          argmax.withUnsafeMutableBufferPointer { pa in
            withOptionalPointer(bias?.data) { pb in
              let (xs, ws, os) = (SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)), SharedPointer(pointer: UnsafeMutablePointer(mutating: pw.baseAddress!)), SharedPointer(pointer: po.baseAddress!))
              let bs = pb.map { SharedPointer(pointer: UnsafeMutablePointer(mutating: $0)) }, am = pa.baseAddress.map { SharedPointer(pointer: $0) }
              parallelFor(layout.chunks) { chunk in
                layout.forward(chunk: chunk, x: xs.pointer, weight: ws.pointer, bias: bs?.pointer, out: os.pointer, argmax: am?.pointer)
              }
            }
          }
        }
      }
    }
    let input = self
    let op = "conv2d" + (relu ? "+relu" : "") + (maxPool2x2 ? "+maxpool" : "")
    let outShape = maxPool2x2 ? [n, f, oh / 2, ow / 2] : [n, f, oh, ow]
    return Tensor(result: out, shape: outShape, op: op).recording([input, weight] + (bias.map { [$0] } ?? [])) { o in
      let needW = weight.requiresGrad, needB = bias?.requiresGrad == true, needX = input.requiresGrad
      let (kdim, chunks) = (layout.kdim, layout.chunks)
      // Each chunk's shares of the weight and bias gradients, summed in chunk order below.
      var sharesW = [Float](unsafeUninitializedCapacity: needW ? chunks * f * kdim : 0) { _, count in count = needW ? chunks * f * kdim : 0 }
      var sharesB = [Float](unsafeUninitializedCapacity: needB ? chunks * f : 0) { _, count in count = needB ? chunks * f : 0 }
      var gx = [Float](unsafeUninitializedCapacity: needX ? input.count : 0) { _, count in count = needX ? input.count : 0 }
      o.grad!.withUnsafeBufferPointer { pg in
       o.data.withUnsafeBufferPointer { py in
        argmax.withUnsafeBufferPointer { pa in
        input.data.withUnsafeBufferPointer { px in
          weight.data.withUnsafeBufferPointer { pw in
            sharesW.withUnsafeMutableBufferPointer { psw in
              sharesB.withUnsafeMutableBufferPointer { psb in
                gx.withUnsafeMutableBufferPointer { pgx in
                  let pointers = ConvBackwardPointers(
                    g: pg.baseAddress!, y: py.baseAddress!, argmax: pa.baseAddress, x: px.baseAddress!, weight: pw.baseAddress!,
                    sharesW: needW ? psw.baseAddress : nil, sharesB: needB ? psb.baseAddress : nil, gx: needX ? pgx.baseAddress : nil)
                  parallelFor(chunks) { chunk in layout.backward(chunk: chunk, pointers) }
                }
              }
            }
          }
        }
        }
       }
      }
      if needW { weight.accumulate(sumShares(sharesW, count: chunks, size: f * kdim)) }
      if let bias, needB { bias.accumulate(sumShares(sharesB, count: chunks, size: f)) }
      if needX { input.accumulate(gx) }
    }
  }

  /// Max pooling of NCHW input over `kernel` x `kernel` windows (stride defaults to the kernel); the
  /// gradient goes to each window's first maximum.
  public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    try pool(kernel: kernel, stride: stride ?? kernel, padding: padding, isMax: true)
  }

  /// Average pooling of NCHW input (padding counts as zeros in the average, as PyTorch's default).
  public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
    try pool(kernel: kernel, stride: stride ?? kernel, padding: padding, isMax: false)
  }

  private func pool(kernel: Int, stride: Int, padding: Int, isMax: Bool) throws -> Tensor {
    let op = isMax ? "maxPool2d" : "avgPool2d"
    guard rank == 4 else { throw TensorError("\(op): the input must be [batch, channels, height, width], got shape \(shape)") }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let win = Window2D(kernel: kernel, stride: stride, padding: padding)
    let (oh, ow) = try win.outputSize(height: h, width: w, op: op)
    let planeOut = oh * ow, planeIn = h * w
    var out = [Float](repeating: 0, count: n * c * planeOut)
    // For max pooling: each output's winner, as an offset within its input plane.
    var argmax = [Int32](repeating: -1, count: isMax ? out.count : 0)
    let area = Float(kernel * kernel)
    data.withUnsafeBufferPointer { px in
      out.withUnsafeMutableBufferPointer { po in
        argmax.withUnsafeMutableBufferPointer { pa in
          let xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)), os = SharedPointer(pointer: po.baseAddress!)
          let am = SharedPointer(pointer: pa.baseAddress ?? UnsafeMutablePointer<Int32>.allocate(capacity: 0))
          let xEnd = UnsafePointer(xs.pointer + n * c * planeIn)
          parallelFor(n * c) { plane in
            let src = xs.pointer + plane * planeIn, dst = os.pointer + plane * planeOut, arg = am.pointer + plane * planeOut
            if isMax && kernel == 2 && stride == 2 && padding == 0 {
              // The common 2x2 window, without bounds checks; ties go to the first maximum, as below (in C with
              // masked vectors on AVX-512, as the fused pooling).
              if cKernels {
                nl_maxpool2x2(src, w, oh, ow, dst, arg, 0)
              } else {
                maxPool2x2Plane(src, width: w, pooledHeight: oh, pooledWidth: ow, into: dst, argmax: arg, readLimit: xEnd)
              }
              return
            }
            for oi in 0..<oh {
              let i0 = oi * stride - padding
              for oj in 0..<ow {
                let j0 = oj * stride - padding
                var best = -Float.infinity, bestIndex: Int32 = -1, sum: Float = 0
                for i in Swift.max(i0, 0)..<Swift.min(i0 + kernel, h) {
                  for j in Swift.max(j0, 0)..<Swift.min(j0 + kernel, w) {
                    let v = src[i * w + j]
                    if v > best || bestIndex < 0 { best = v; bestIndex = Int32(i * w + j) }
                    sum += v
                  }
                }
                if isMax { dst[oi * ow + oj] = best; arg[oi * ow + oj] = bestIndex } else { dst[oi * ow + oj] = sum / area }
              }
            }
          }
        }
      }
    }
    return Tensor(result: out, shape: [n, c, oh, ow], op: op).recording([self]) { [count] o in
      let g = o.grad!
      var gx = [Float](repeating: 0, count: count)
      if isMax {
        g.withUnsafeBufferPointer { pg in
          gx.withUnsafeMutableBufferPointer { pgx in
            argmax.withUnsafeBufferPointer { pa in
              let gs = SharedPointer(pointer: UnsafeMutablePointer(mutating: pg.baseAddress!)), xs = SharedPointer(pointer: pgx.baseAddress!)
              let am = SharedPointer(pointer: UnsafeMutablePointer(mutating: pa.baseAddress!))
              parallelFor(n * c) { plane in
                let dst = xs.pointer + plane * planeIn
                for k in 0..<planeOut {
                  let at = am.pointer[plane * planeOut + k]
                  if at >= 0 { dst[Int(at)] += gs.pointer[plane * planeOut + k] }
                }
              }
            }
          }
        }
      } else {
        for plane in 0..<(n * c) {
          for oi in 0..<oh {
            for oj in 0..<ow {
              let share = g[(plane * oh + oi) * ow + oj] / area
              for ki in 0..<kernel {
                let i = oi * stride - padding + ki
                guard i >= 0 && i < h else { continue }
                for kj in 0..<kernel {
                  let j = oj * stride - padding + kj
                  if j >= 0 && j < w { gx[plane * h * w + i * w + j] += share }
                }
              }
            }
          }
        }
      }
      self.accumulate(gx)
    }
  }
}

/// 2x2, stride-2 max pooling of one plane `width` values wide into pooledHeight x pooledWidth outputs and
/// their winners' offsets (see `maxPool2x2Row` for `readLimit` and `overrun`).
func maxPool2x2Plane(_ src: UnsafePointer<Float>, width: Int, pooledHeight: Int, pooledWidth: Int, into dst: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, readLimit: UnsafePointer<Float>, overrun: Bool = false) {
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
func maxPool2x2Row(_ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>, rowOffset: Int, count: Int, into dst: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, readLimit: UnsafePointer<Float>, overrun: Bool = false) {
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
func maxPool2x2Chunk(_ top: SIMD32<Float>, _ bottom: SIMD32<Float>, first: Float, width: Float) -> (SIMD16<Float>, SIMD16<Int32>) {
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

/// The shapes of one convolution and how its batch is cut into chunks (see `Tensor.conv2d`).
struct ConvLayout: Sendable {
  let n: Int, c: Int, h: Int, w: Int, f: Int
  let window: Window2D
  let oh: Int, ow: Int
  /// Whether a ReLU, and a 2x2 max pooling, are fused onto the output.
  let relu: Bool, pool: Bool
  var kdim: Int { c * window.kernelHeight * window.kernelWidth }
  var plane: Int { oh * ow }
  /// The size of one output plane: the convolution's, or the pooled one.
  var outPlane: Int { pool ? (oh / 2) * (ow / 2) : plane }
  var image: Int { c * h * w }
  /// Images per chunk: about as many as keep one chunk's columns and outputs within 768 kB (three quarters of
  /// a core's 1 MB L2 cache here: the first layer ran 8-13% faster than at 1 MB), or within 1 MB where the
  /// smaller chunk would hold fewer than 640 output positions (each chunk pays a cost per weight, packing
  /// them and reducing its share of their gradient: the second layer ran 5% slower with 507 positions than
  /// with 676); adjusted so that the number of chunks is a multiple of four where it can be (they share out
  /// evenly between 2 or 4 threads). It depends on the shapes only, never on the thread count.
  var imagesPerChunk: Int {
    let perImage = max(1, 4 * (kdim + f) * plane)
    var fit = max(1, min(n, (768 << 10) / perImage))
    if fit * plane < 640 { fit = max(1, min(n, (1 << 20) / perImage)) }
    let chunks = ((n + fit - 1) / fit + 3) / 4 * 4
    return max(1, (n + chunks - 1) / chunks)
  }
  var chunks: Int { (n + imagesPerChunk - 1) / imagesPerChunk }

  func images(_ chunk: Int) -> Range<Int> { (chunk * imagesPerChunk)..<min(n, (chunk + 1) * imagesPerChunk) }

  /// The row stride of a chunk's columns: its width rounded up to whole vectors, and room for im2col's
  /// whole-vector copies after the last run.
  func colsStride(_ width: Int) -> Int { (width + 15) / 16 * 16 + 32 }

  /// cols[r, i*plane + p] for the chunk's images i into a buffer of kdim * colsStride(width) floats, with
  /// zeros from the width up to whole vectors (for the dot products of the backward pass).
  func unfold(_ images: Range<Int>, x: UnsafePointer<Float>, into cols: UnsafeMutablePointer<Float>) {
    let width = images.count * plane, stride = colsStride(width), padded = (width + 15) / 16 * 16
    let end = x + n * image
    im2col(x + images.lowerBound * image, images: images.count, channels: c, height: h, width: w, window: window, outHeight: oh, outWidth: ow,
           into: cols, rowStride: stride, sourceEnd: end)
    if padded > width { for r in 0..<kdim { (cols + r * stride + width).update(repeating: 0, count: padded - width) } }
  }

  /// out[b, f, p] = (W cols)[f, i*plane + p] + bias[f] for the chunk's images, on the calling thread.
  func forward(chunk: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?) {
    let images = images(chunk), width = images.count * plane, stride = colsStride(width)
    let buffer = GEMM.PackingBuffers.shared.take(bytes: 4 * kdim * stride)
    defer { GEMM.PackingBuffers.shared.give(buffer) }
    let cols = buffer.pointer.assumingMemoryBound(to: Float.self)
    unfold(images, x: x, into: cols)
    // With pooling, the convolution's output goes to a chunk-sized buffer and only the pooled planes leave.
    let full = pool ? GEMM.PackingBuffers.shared.take(bytes: 4 * (images.count * f * plane + 32)) : nil
    defer { full.map { GEMM.PackingBuffers.shared.give($0) } }
    let target = full.map { $0.pointer.assumingMemoryBound(to: Float.self) } ?? out + images.lowerBound * f * plane
    defer {
      if pool, let argmax {
        let (ph, pw) = (oh / 2, ow / 2), first = images.lowerBound * f * outPlane, readLimit = UnsafePointer(target + images.count * f * plane + 32)
        let planes = images.count * f
        if cKernels {
          // Masked loads and stores, the ReLU on the pooled values as they go (see nl_maxpool2x2).
          for q in 0..<planes {
            nl_maxpool2x2(target + q * plane, ow, ph, pw, out + first + q * outPlane, argmax + first + q * outPlane, relu ? 1 : 0)
          }
        } else {
          // The buffer has 32 floats of room at its end: every row reads whole vectors. The pooled rows are
          // stored straight into the output as whole vectors, spilling up to 15 values past their end onto the
          // rows after, which are written later; but exactly in the chunk's last planes (the next chunk's
          // output belongs to another thread).
          for q in 0..<planes {
            maxPool2x2Plane(target + q * plane, width: ow, pooledHeight: ph, pooledWidth: pw, into: out + first + q * outPlane,
                            argmax: argmax + first + q * outPlane, readLimit: readLimit, overrun: (planes - 1 - q) * outPlane >= 16)
          }
          // max(0, max(window)) = max(window of max(0, ·)): the ReLU on the pooled values only.
          if relu { reluForward(out + first, out + first, 0..<(images.count * f * outPlane)) }
        }
      } else if relu {
        reluForward(target, target, 0..<(images.count * f * plane))
      }
    }
    if plane >= 4 * GEMM.kernel.nr || images.count == 1 {
      // Columns in runs of one image's plane, stored straight into NCHW.
      GEMM.multiply(m: f, n: width, k: kdim, a: weight, lda: kdim, transA: false, b: cols, ldb: stride, transB: false,
                    beta: 0, c: target, ldc: plane, threads: 1, kernel: GEMM.kernel, runs: .init(length: plane, stride: f * plane), bias: bias)
    } else {
      // Small planes (most tiles would straddle two images): a plain product, then a copy per image.
      let product = GEMM.PackingBuffers.shared.take(bytes: 4 * f * width)
      defer { GEMM.PackingBuffers.shared.give(product) }
      let y = product.pointer.assumingMemoryBound(to: Float.self)
      GEMM.multiply(m: f, n: width, k: kdim, a: weight, lda: kdim, transA: false, b: cols, ldb: stride, transB: false,
                    beta: 0, c: y, ldc: width, threads: 1, kernel: GEMM.kernel, bias: bias)
      for i in 0..<images.count {
        for fi in 0..<f { copyFloats(from: y + fi * width + i * plane, to: target + (i * f + fi) * plane, count: plane) }
      }
    }
  }

  /// One chunk's backward pass: its shares of dW (dY colsᵀ) and db, and its images' rows of dX.
  func backward(chunk: Int, _ p: ConvBackwardPointers) {
    let images = images(chunk), width = images.count * plane
    // dY as [F, width]: with one image it is the gradient itself; else copied image by image into rows
    // padded with zeros to whole vectors, as are the columns below (zero terms leave dY colsᵀ unchanged and
    // spare the dot products their ragged ends).
    let padded = (width + 15) / 16 * 16
    // With a fused ReLU, dY is masked by the output as it is copied (always copied then); with pooling, each
    // pooled gradient goes to its window's winner (where the pooled output is positive, with a ReLU).
    let dyBuffer = images.count == 1 && !relu && !pool ? nil : GEMM.PackingBuffers.shared.take(bytes: 4 * f * padded)
    defer { dyBuffer.map { GEMM.PackingBuffers.shared.give($0) } }
    let dy: UnsafePointer<Float>, ldy: Int
    if let dyBuffer, pool, let argmax = p.argmax {
      let copy = dyBuffer.pointer.assumingMemoryBound(to: Float.self)
      if cKernels && ow / 2 >= 8 {
        // Each plane written whole in masked vector stores (see nl_unpool2x2): no clearing, no scatter. (Rows
        // of fewer than eight windows leave most lanes idle: clearing and scattering measured faster there.)
        for fi in 0..<f {
          for (i, b) in images.enumerated() {
            let from = (b * f + fi) * outPlane
            nl_unpool2x2(p.g + from, relu ? p.y + from : nil, argmax + from, oh, ow, copy + fi * padded + i * plane)
          }
          (copy + fi * padded + width).update(repeating: 0, count: padded - width)
        }
      } else {
        copy.update(repeating: 0, count: f * padded)
        for (i, b) in images.enumerated() {
          for fi in 0..<f {
            let from = (b * f + fi) * outPlane, row = copy + fi * padded + i * plane
            // Without a branch (half the pooled outputs are clipped, at random): a clipped one writes a zero
            // where the row already holds one.
            let (g, y, at) = (p.g + from, p.y + from, argmax + from)
            if relu {
              for k in 0..<outPlane { row[Int(truncatingIfNeeded: at[k])] = y[k] > 0 ? g[k] : 0 }
            } else {
              for k in 0..<outPlane { row[Int(truncatingIfNeeded: at[k])] = g[k] }
            }
          }
        }
      }
      (dy, ldy) = (UnsafePointer(copy), padded)
    } else if let dyBuffer {
      let copy = dyBuffer.pointer.assumingMemoryBound(to: Float.self)
      for fi in 0..<f {
        for (i, b) in images.enumerated() {
          let from = (b * f + fi) * plane, to = copy + fi * padded + i * plane
          if relu { reluBackward(p.g + from, p.y + from, to, 0..<plane) } else { copyFloats(from: p.g + from, to: to, count: plane) }
        }
        (copy + fi * padded + width).update(repeating: 0, count: padded - width)
      }
      (dy, ldy) = (UnsafePointer(copy), padded)
    } else {
      (dy, ldy) = (p.g + images.lowerBound * f * plane, plane)
    }
    // One buffer serves the columns (for dW) and then dcols (for dX): the chunk's working set stays in L2.
    let stride = colsStride(width)
    let buffer = GEMM.PackingBuffers.shared.take(bytes: 4 * kdim * stride)
    defer { GEMM.PackingBuffers.shared.give(buffer) }
    if let shares = p.sharesW {
      let terms = ldy == padded ? padded : width
      let cols = buffer.pointer.assumingMemoryBound(to: Float.self)
      unfold(images, x: p.x, into: cols)
      GEMM.multiply(m: f, n: kdim, k: terms, a: dy, lda: ldy, transA: false, b: cols, ldb: stride, transB: true,
                    beta: 0, c: shares + chunk * f * kdim, ldc: kdim, threads: 1, kernel: GEMM.kernel)
    }
    if let shares = p.sharesB {
      var fi = 0
      while fi + 4 <= f {
        // Four rows at once: four independent chains of additions (one row's chain waits on each add).
        let sums = sumFloats4(dy + fi * ldy, ldy, count: width)
        for q in 0..<4 { shares[chunk * f + fi + q] = sums[q] }
        fi += 4
      }
      while fi < f { shares[chunk * f + fi] = sumFloats(dy + fi * ldy, count: width); fi += 1 }
    }
    if let gx = p.gx {
      let dcols = buffer.pointer.assumingMemoryBound(to: Float.self)
      GEMM.multiply(m: kdim, n: width, k: f, a: p.weight, lda: kdim, transA: true, b: dy, ldb: ldy, transB: false,
                    beta: 0, c: dcols, ldc: width, threads: 1, kernel: GEMM.kernel)
      let target = gx + images.lowerBound * image
      target.update(repeating: 0, count: images.count * image)
      col2im(dcols, images: images.count, channels: c, height: h, width: w, window: window, outHeight: oh, outWidth: ow, into: target, rowStride: width)
    }
  }
}

/// What `ConvLayout.backward` reads and writes (nil: that gradient is not wanted).
struct ConvBackwardPointers: @unchecked Sendable {
  let g: UnsafePointer<Float>, y: UnsafePointer<Float>, argmax: UnsafePointer<Int32>?, x: UnsafePointer<Float>, weight: UnsafePointer<Float>
  let sharesW: UnsafeMutablePointer<Float>?, sharesB: UnsafeMutablePointer<Float>?, gx: UnsafeMutablePointer<Float>?
}

/// The sum of `count` shares of `size` values each, share by share in order (split over the cores by value).
func sumShares(_ shares: [Float], count: Int, size: Int) -> [Float] {
  guard count > 0, size > 0 else { return [Float](repeating: 0, count: size) }
  return [Float](unsafeUninitializedCapacity: size) { out, initialized in
    shares.withUnsafeBufferPointer { ps in
      let src = SharedPointer(pointer: UnsafeMutablePointer(mutating: ps.baseAddress!)), dst = SharedPointer(pointer: out.baseAddress!)
      elementwiseChunks(size) { range in
        copyFloats(from: src.pointer + range.lowerBound, to: dst.pointer + range.lowerBound, count: range.count)
        for s in 1..<count { addFloats(from: src.pointer + s * size + range.lowerBound, to: dst.pointer + range.lowerBound, count: range.count) }
      }
    }
    initialized = size
  }
}

/// Σ values[0..<count] as eight running sums in a fixed order (vectorisable, the same on every run).
@inline(__always)
func sumFloats(_ values: UnsafePointer<Float>, count: Int) -> Float {
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
func sumFloats4(_ values: UnsafePointer<Float>, _ stride: Int, count: Int) -> SIMD4<Float> {
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
