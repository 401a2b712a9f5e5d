import Kernels

// The convolution and pooling ops, each forward beside its backward; the chunked engine, im2col/col2im and
// the pooling kernels they run on are in the Kernels module (ConvolutionEngine.swift, Unfold.swift, Pooling.swift).

extension Window2D {
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
  ///
  /// `precision: .bfloat16` runs all three products in mixed precision (see `Precision`): about twice as fast
  /// where the processor has AVX512_BF16, with the operands rounded to 8 significant bits.
  public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, relu: Bool = false, maxPool2x2: Bool = false, precision: Precision = .float32) throws -> Tensor {
    guard rank == 4 else { throw TensorError("conv2d: the input must be [batch, channels, height, width], got shape \(shape)") }
    guard weight.rank == 4 else { throw TensorError("conv2d: the weight must be [filters, channels, kh, kw], got shape \(weight.shape)") }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let (f, wc, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    guard wc == c else { throw TensorError.shapes("conv2d", shape, weight.shape, "do not match: the input has \(c) channels, the weight \(wc)") }
    if let bias, bias.shape != [f] { throw TensorError.shapes("conv2d", weight.shape, bias.shape, "do not match: the bias needs shape [\(f)]") }
    let win = Window2D(kernelHeight: kh, kernelWidth: kw, stride: stride, padding: padding)
    let (oh, ow) = try win.outputSize(height: h, width: w, op: "conv2d")
    if maxPool2x2 && (oh < 2 || ow < 2) { throw TensorError("conv2d: a \(oh)x\(ow) output is too small for 2x2 max pooling") }
    let layout = ConvLayout(n: n, c: c, h: h, w: w, f: f, window: win, oh: oh, ow: ow, relu: relu, pool: maxPool2x2, precision: precision)

    let outCount = n * f * layout.outPlane
    var out = [Float](unsafeUninitializedCapacity: outCount) { _, count in count = outCount }
    // With pooling: each output's winner, as its place in the window, and whether the gradient passes (one
    // byte: see nl_maxpool2x2_codes).
    var codes = [UInt8](unsafeUninitializedCapacity: maxPool2x2 ? outCount : 0) { _, count in count = maxPool2x2 ? outCount : 0 }
    data.withUnsafeBufferPointer { px in
      weight.data.withUnsafeBufferPointer { pw in
        out.withUnsafeMutableBufferPointer { po in
          codes.withUnsafeMutableBufferPointer { pa in
            withOptionalPointer(bias?.data) { pb in
              let (xs, ws, os) = (SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)), SharedPointer(pointer: UnsafeMutablePointer(mutating: pw.baseAddress!)), SharedPointer(pointer: po.baseAddress!))
              let bs = pb.map { SharedPointer(pointer: UnsafeMutablePointer(mutating: $0)) }, am = pa.baseAddress.map { SharedPointer(pointer: $0) }
              // bfloat16: the weights packed once here, not once per chunk.
              layout.withPackedWeights(pw.baseAddress!, transposed: false) { packed in
                let pws = packed.map { SharedPointer(pointer: UnsafeMutablePointer(mutating: $0)) }
                parallelFor(layout.chunks) { chunk in
                  layout.forward(chunk: chunk, x: xs.pointer, weight: ws.pointer, packedWeight: pws.map { UnsafePointer($0.pointer) }, bias: bs?.pointer,
                                 out: os.pointer, codes: am?.pointer)
                }
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
      let (kdim, chunks) = (layout.kdim, layout.shareGroups)
      // The shares of the weight and bias gradients (one per chunk, or per group of chunks: `shareGroups`),
      // summed in order below.
      var sharesW = [Float](unsafeUninitializedCapacity: needW ? chunks * f * kdim : 0) { _, count in count = needW ? chunks * f * kdim : 0 }
      var sharesB = [Float](unsafeUninitializedCapacity: needB ? chunks * f : 0) { _, count in count = needB ? chunks * f : 0 }
      var gx = [Float](unsafeUninitializedCapacity: needX ? input.count : 0) { _, count in count = needX ? input.count : 0 }
      o.grad!.withUnsafeBufferPointer { pg in
       o.data.withUnsafeBufferPointer { py in
        codes.withUnsafeBufferPointer { pa in
        input.data.withUnsafeBufferPointer { px in
          weight.data.withUnsafeBufferPointer { pw in
            sharesW.withUnsafeMutableBufferPointer { psw in
              sharesB.withUnsafeMutableBufferPointer { psb in
                gx.withUnsafeMutableBufferPointer { pgx in
                  // bfloat16: Wᵀ packed once for the dX products of all chunks (when dX is wanted).
                  layout.withPackedWeights(pw.baseAddress!, transposed: true, needed: needX) { packed in
                    let pointers = ConvBackwardPointers(
                      g: pg.baseAddress!, y: py.baseAddress!, codes: pa.baseAddress, x: px.baseAddress!, weight: pw.baseAddress!,
                      packedWeightT: packed,
                      sharesW: needW ? psw.baseAddress : nil, sharesB: needB ? psb.baseAddress : nil, gx: needX ? pgx.baseAddress : nil)
                    parallelFor(chunks) { group in layout.backward(group: group, pointers) }
                  }
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
              maxPool2x2(src, width: w, pooledHeight: oh, pooledWidth: ow, into: dst, argmax: arg, readLimit: xEnd)
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
