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
func im2col(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, into cols: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
  let plane = rowStride ?? outHeight * outWidth
  if w.stride == 1 && w.padding == 0 {
    // Every window row is a contiguous run of the input row: copy runs.
    var row = 0
    for c in 0..<channels {
      for ki in 0..<w.kernelHeight {
        for kj in 0..<w.kernelWidth {
          let dst = cols + row * plane
          for oi in 0..<outHeight {
            (dst + oi * outWidth).update(from: x + (c * height + oi + ki) * width + kj, count: outWidth)
          }
          row += 1
        }
      }
    }
    return
  }
  var row = 0
  for c in 0..<channels {
    for ki in 0..<w.kernelHeight {
      for kj in 0..<w.kernelWidth {
        let dst = cols + row * plane
        for oi in 0..<outHeight {
          let i = oi * w.stride - w.padding + ki
          for oj in 0..<outWidth {
            let j = oj * w.stride - w.padding + kj
            dst[oi * outWidth + oj] = (i >= 0 && i < height && j >= 0 && j < width) ? x[(c * height + i) * width + j] : 0
          }
        }
        row += 1
      }
    }
  }
}

/// The adjoint of im2col: adds columns back into an image gradient.
func col2im(_ cols: UnsafePointer<Float>, channels: Int, height: Int, width: Int, window w: Window2D, outHeight: Int, outWidth: Int, into x: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
  let plane = rowStride ?? outHeight * outWidth
  if w.stride == 1 && w.padding == 0 {
    var row = 0
    for c in 0..<channels {
      for ki in 0..<w.kernelHeight {
        for kj in 0..<w.kernelWidth {
          let src = cols + row * plane
          for oi in 0..<outHeight {
            let d = x + (c * height + oi + ki) * width + kj, s = src + oi * outWidth
            for oj in 0..<outWidth { d[oj] += s[oj] }
          }
          row += 1
        }
      }
    }
    return
  }
  var row = 0
  for c in 0..<channels {
    for ki in 0..<w.kernelHeight {
      for kj in 0..<w.kernelWidth {
        let src = cols + row * plane
        for oi in 0..<outHeight {
          let i = oi * w.stride - w.padding + ki
          guard i >= 0 && i < height else { continue }
          for oj in 0..<outWidth {
            let j = oj * w.stride - w.padding + kj
            if j >= 0 && j < width { x[(c * height + i) * width + j] += src[oi * outWidth + oj] }
          }
        }
        row += 1
      }
    }
  }
}

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
  /// The whole batch is unfolded into one matrix of columns [C*KH*KW, N*OH*OW] (im2col), so each pass is
  /// one large matrix product: forward W cols, weight gradient dY colsᵀ, input gradient Wᵀ dY folded back
  /// with col2im.
  public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) throws -> Tensor {
    guard rank == 4 else { throw TensorError("conv2d: the input must be [batch, channels, height, width], got shape \(shape)") }
    guard weight.rank == 4 else { throw TensorError("conv2d: the weight must be [filters, channels, kh, kw], got shape \(weight.shape)") }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let (f, wc, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    guard wc == c else { throw TensorError.shapes("conv2d", shape, weight.shape, "do not match: the input has \(c) channels, the weight \(wc)") }
    if let bias, bias.shape != [f] { throw TensorError.shapes("conv2d", weight.shape, bias.shape, "do not match: the bias needs shape [\(f)]") }
    let win = Window2D(kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    let (oh, ow) = try win.outputSize(height: h, width: w, op: "conv2d")
    let kdim = c * kh * kw, plane = oh * ow, columns = n * plane
    let image = c * h * w

    // cols[r, b*plane + p]
    // Every entry is written by im2col (zeros included), so the arrays start uninitialised.
    var cols = [Float](unsafeUninitializedCapacity: kdim * columns) { _, c in c = kdim * columns }
    data.withUnsafeBufferPointer { x in
      cols.withUnsafeMutableBufferPointer { col in
        let xs = SharedPointer(pointer: UnsafeMutablePointer(mutating: x.baseAddress!)), cs = SharedPointer(pointer: col.baseAddress!)
        parallelFor(n) { b in
          im2col(xs.pointer + b * image, channels: c, height: h, width: w, window: win, outHeight: oh, outWidth: ow, into: cs.pointer + b * plane, rowStride: columns)
        }
      }
    }
    // out[b, f, p] = (W cols)[f, b*plane + p] + bias[f]: the product's columns come in runs of one image's
    // plane, written straight into the NCHW output with the bias added as each tile is stored.
    var out = [Float](unsafeUninitializedCapacity: n * f * plane) { _, c in c = n * f * plane }
    weight.data.withUnsafeBufferPointer { pw in
      cols.withUnsafeBufferPointer { pc in
        out.withUnsafeMutableBufferPointer { po in
          withOptionalPointer(bias?.data) { pb in
            GEMM.multiply(m: f, n: columns, k: kdim, a: pw.baseAddress!, lda: kdim, transA: false, b: pc.baseAddress!, ldb: columns, transB: false,
                          beta: 0, c: po.baseAddress!, ldc: plane, threads: nil, kernel: GEMM.kernel, runs: .init(length: plane, stride: f * plane), bias: pb)
          }
        }
      }
    }
    let input = self
    return Tensor(result: out, shape: [n, f, oh, ow], op: "conv2d").recording([input, weight] + (bias.map { [$0] } ?? [])) { o in
      let g = o.grad!
      // dy[f, b*plane + p] = g[b, f, p]
      var dy = [Float](unsafeUninitializedCapacity: f * columns) { _, c in c = f * columns }
      g.withUnsafeBufferPointer { pg in
        dy.withUnsafeMutableBufferPointer { pd in
          let gs = SharedPointer(pointer: UnsafeMutablePointer(mutating: pg.baseAddress!)), ds = SharedPointer(pointer: pd.baseAddress!)
          parallelFor(f) { fi in
            for b in 0..<n { (ds.pointer + fi * columns + b * plane).update(from: gs.pointer + (b * f + fi) * plane, count: plane) }
          }
        }
      }
      if weight.requiresGrad {  // dW = dy colsᵀ
        var gw = [Float](repeating: 0, count: weight.count)
        dy.withUnsafeBufferPointer { pd in
          cols.withUnsafeBufferPointer { pc in
            gw.withUnsafeMutableBufferPointer { pw in
              GEMM.multiply(m: f, n: kdim, k: columns, a: pd.baseAddress!, lda: columns, b: pc.baseAddress!, ldb: columns, transB: true, c: pw.baseAddress!, ldc: kdim)
            }
          }
        }
        weight.accumulate(gw)
      }
      if let bias, bias.requiresGrad {
        var gb = [Float](repeating: 0, count: f)
        dy.withUnsafeBufferPointer { pd in
          gb.withUnsafeMutableBufferPointer { pb in
            let ds = SharedPointer(pointer: UnsafeMutablePointer(mutating: pd.baseAddress!)), bs = SharedPointer(pointer: pb.baseAddress!)
            parallelFor(f) { fi in
              // Eight running sums in a fixed order: vectorisable and the same on every run.
              var acc = SIMD8<Float>()
              let row = ds.pointer + fi * columns
              var j = 0
              while j + 8 <= columns {
                acc += UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                j += 8
              }
              var s = acc.sum()
              while j < columns { s += row[j]; j += 1 }
              bs.pointer[fi] = s
            }
          }
        }
        bias.accumulate(gb)
      }
      if input.requiresGrad {  // dX = col2im(Wᵀ dy)
        var dcols = [Float](unsafeUninitializedCapacity: kdim * columns) { _, c in c = kdim * columns }
        weight.data.withUnsafeBufferPointer { pw in
          dy.withUnsafeBufferPointer { pd in
            dcols.withUnsafeMutableBufferPointer { pc in
              GEMM.multiply(m: kdim, n: columns, k: f, a: pw.baseAddress!, lda: kdim, transA: true, b: pd.baseAddress!, ldb: columns, c: pc.baseAddress!, ldc: columns)
            }
          }
        }
        var gx = [Float](repeating: 0, count: input.count)
        dcols.withUnsafeBufferPointer { pc in
          gx.withUnsafeMutableBufferPointer { px in
            let cs = SharedPointer(pointer: UnsafeMutablePointer(mutating: pc.baseAddress!)), xs = SharedPointer(pointer: px.baseAddress!)
            parallelFor(n) { b in
              col2im(cs.pointer + b * plane, channels: c, height: h, width: w, window: win, outHeight: oh, outWidth: ow, into: xs.pointer + b * image, rowStride: columns)
            }
          }
        }
        input.accumulate(gx)
      }
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
          parallelFor(n * c) { plane in
            let src = xs.pointer + plane * planeIn, dst = os.pointer + plane * planeOut, arg = am.pointer + plane * planeOut
            if isMax && kernel == 2 && stride == 2 && padding == 0 {
              // The common 2x2 window, without bounds checks; ties go to the first maximum, as below.
              for oi in 0..<oh {
                maxPool2x2Row(src + 2 * oi * w, src + (2 * oi + 1) * w, rowOffset: 2 * oi * w, count: ow, into: dst + oi * ow, argmax: arg + oi * ow)
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

/// One output row of 2x2, stride-2 max pooling, sixteen outputs at a time: each output is the maximum of
/// r0[2j], r0[2j+1], r1[2j], r1[2j+1], ties to the first in that order (as the scalar loop did). A short
/// last chunk goes through copies, so nothing past the row is read or written.
@inline(__always)
func maxPool2x2Row(_ r0: UnsafePointer<Float>, _ r1: UnsafePointer<Float>, rowOffset: Int, count: Int, into dst: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
  let width = Float(r1 - r0)
  var j = 0
  while j + 16 <= count {
    let top = UnsafeRawPointer(r0 + 2 * j).loadUnaligned(as: SIMD32<Float>.self)
    let bottom = UnsafeRawPointer(r1 + 2 * j).loadUnaligned(as: SIMD32<Float>.self)
    let (best, at) = maxPool2x2Chunk(top, bottom, first: Float(rowOffset + 2 * j), width: width)
    UnsafeMutableRawPointer(dst + j).storeBytes(of: best, as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(argmax + j).storeBytes(of: at, as: SIMD16<Int32>.self)
    j += 16
  }
  let rest = count - j
  if rest > 0 {
    var top = SIMD32<Float>(), bottom = SIMD32<Float>()
    withUnsafeMutableBytes(of: &top) { $0.baseAddress!.copyMemory(from: r0 + 2 * j, byteCount: 8 * rest) }
    withUnsafeMutableBytes(of: &bottom) { $0.baseAddress!.copyMemory(from: r1 + 2 * j, byteCount: 8 * rest) }
    var (best, at) = maxPool2x2Chunk(top, bottom, first: Float(rowOffset + 2 * j), width: width)
    withUnsafeBytes(of: &best) { (dst + j).update(from: $0.bindMemory(to: Float.self).baseAddress!, count: rest) }
    withUnsafeBytes(of: &at) { (argmax + j).update(from: $0.bindMemory(to: Int32.self).baseAddress!, count: rest) }
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
