import CKernels

/// The shapes of one convolution and how its batch is cut into chunks: the engine behind `Tensor.conv2d` (whose
/// doc comment says how the passes go), im2col + GEMM chunk by chunk, each chunk on one thread.
package struct ConvLayout: Sendable {
  package let n: Int, c: Int, h: Int, w: Int, f: Int
  package let window: Window2D
  package let oh: Int, ow: Int
  /// Whether a ReLU, and a 2x2 max pooling, are fused onto the output.
  package let relu: Bool, pool: Bool

  /// The GEMM micro-kernel of all three products (`GEMM.kernel(for:)` the precision asked for).
  let kernel: GEMM.Kernel

  package init(n: Int, c: Int, h: Int, w: Int, f: Int, window: Window2D, oh: Int, ow: Int, relu: Bool, pool: Bool, precision: Precision = .float32) {
    (self.n, self.c, self.h, self.w, self.f, self.window, self.oh, self.ow, self.relu, self.pool) = (n, c, h, w, f, window, oh, ow, relu, pool)
    kernel = GEMM.kernel(for: precision)
  }
  package var kdim: Int { c * window.kernelHeight * window.kernelWidth }
  package var plane: Int { oh * ow }
  /// The size of one output plane: the convolution's, or the pooled one.
  package var outPlane: Int { pool ? (oh / 2) * (ow / 2) : plane }
  var image: Int { c * h * w }
  /// The chunking rule in words, for the benchmark's report.
  package static let chunkingDescription = "convolution chunks (fixed: they order the weight gradient's sums) of whole images, columns + output within 768 kB (1 MB when fewer than 640 positions), a multiple of 4 chunks where possible; in bfloat16, of half that many images up to it, the count that fills the 32-column panels best"
  /// Images per chunk: about as many as keep one chunk's columns and outputs within 768 kB (three quarters of
  /// a core's 1 MB L2 cache here: the first layer ran 8-13% faster than at 1 MB), or within 1 MB where the
  /// smaller chunk would hold fewer than 640 output positions (each chunk pays a cost per weight, packing
  /// them and reducing its share of their gradient: the second layer ran 5% slower with 507 positions than
  /// with 676); adjusted so that the number of chunks is a multiple of four where it can be (they share out
  /// evenly between 2 or 4 threads). It depends on the shapes only, never on the thread count.
  ///
  /// In bfloat16 the micro-kernel's 32-column panels are filled whole only when a chunk's positions are a
  /// multiple of 32; a chunk of 11 planes of 9 positions (99) computes 128 columns. There, of the counts from
  /// half the fit up to the fit, the one whose panels are fullest (the larger on a tie): 7 planes of 9 (63 of
  /// 64), 3 of 49 (147 of 160).
  var imagesPerChunk: Int {
    let perImage = max(1, 4 * (kdim + f) * plane)
    var fit = max(1, min(n, (768 << 10) / perImage))
    if fit * plane < 640 { fit = max(1, min(n, (1 << 20) / perImage)) }
    func images(fitting fit: Int) -> Int {
      let chunks = ((n + fit - 1) / fit + 3) / 4 * 4
      return max(1, (n + chunks - 1) / chunks)
    }
    guard kernel.packsPairs else { return images(fitting: fit) }
    func fill(_ count: Int) -> Double { Double(count * plane) / Double((count * plane + 31) / 32 * 32) }
    var best = images(fitting: fit)
    for candidate in stride(from: fit - 1, through: max(1, (fit + 1) / 2), by: -1) {
      let count = images(fitting: candidate)
      if fill(count) > fill(best) + 1e-9 { best = count }
    }
    return best
  }
  package var chunks: Int { (n + imagesPerChunk - 1) / imagesPerChunk }

  /// How many shares of the weight and bias gradients the backward pass writes (summed afterwards in order):
  /// one per chunk in float32; in bfloat16, where chunks are many (small planes: a few images each), at most 8
  /// groups of consecutive chunks, each group's chunks added into its share in order by one thread. Fixed by
  /// the shapes, never by the thread count, so the sums do not depend on it; fewer, larger shares spare
  /// writing a whole weight-sized gradient per chunk and reading it back.
  package var shareGroups: Int { kernel.packsPairs ? min(chunks, 8) : chunks }
  /// The chunks of share group `g`.
  package func chunks(inGroup g: Int) -> Range<Int> {
    let groups = shareGroups
    return (chunks * g / groups)..<(chunks * (g + 1) / groups)
  }

  /// Whether the weights are packed once for all chunks (`withPackedWeights`): with the bfloat16 kernel, which
  /// always packs its operands (else each chunk would pack the same weights again).
  package var packsWeights: Bool { kernel.packsPairs }
  /// Calls `body` with the weights [F, kdim] packed ahead for the forward product W cols (or, `transposed`,
  /// for the backward product Wᵀ dY), in the layout `GEMM.packBF16A` gives: the same words each chunk would
  /// pack; with nil where the layout does not pack its weights ahead (`packsWeights`) or they are not `needed`.
  package func withPackedWeights<R>(_ weight: UnsafePointer<Float>, transposed: Bool, needed: Bool = true, _ body: (UnsafePointer<UInt32>?) throws -> R) rethrows -> R {
    guard packsWeights && needed else { return try body(nil) }
    let (m, k) = transposed ? (kdim, f) : (f, kdim)
    let packed = UnsafeMutablePointer<UInt32>.allocate(capacity: GEMM.packedBF16Words(count: m, k: k, panel: 8))
    defer { packed.deallocate() }
    GEMM.packBF16A(m: m, k: k, a: weight, lda: kdim, transA: transposed, into: packed)
    return try body(UnsafePointer(packed))
  }
  /// Whether the forward pass unfolds straight into the product's packed panels (`nl_unfold_pack_bf16`): bfloat16,
  /// stride 1, "same" square windows.
  var unfoldsIntoPanels: Bool {
    kernel.packsPairs && cKernels && window.stride == 1 && window.kernelHeight == window.kernelWidth
      && window.kernelHeight == 2 * window.padding + 1 && window.kernelHeight <= 7 && oh == h && ow == w
  }

  /// Whether the forward pass skips im2col and convolves straight from the input (`nl_conv_direct`): float32
  /// with the AVX-512 kernels, stride 1, no padding, output rows of 17 to 32 values (two vectors, mostly full)
  /// and taps within one block of the GEMM's k (so that its sums are the GEMM's: the same bits). The first
  /// layer of a small CNN (3 channels, 3x3, 32x32): its columns are 9 times its input, building them cost
  /// about a tenth of the forward pass, and the GEMM on them, with only 27 terms a tile, ran at about half
  /// numpy's rate; the forward pass took 0.55 ms instead of 0.78 at batch 64.
  var convolvesDirectly: Bool {
    // (nl_conv_direct takes at most 256 taps, whatever kc is: never ask it for more.)
    !kernel.packsPairs && (cKernels || cKernelsAVX2) && window.stride == 1 && window.padding == 0 && kdim <= min(GEMM.kc, 256) && ow > 16 && ow <= 32
  }

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
  /// `packedWeight`: the weights as `withPackedWeights` packs them (not transposed), where `packsWeights`.
  package func forward(chunk: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, packedWeight: UnsafePointer<UInt32>? = nil, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<UInt8>?) {
    let images = images(chunk), width = images.count * plane, stride = colsStride(width)
    // The columns as floats, or (bfloat16, "same" windows) already as the product's packed panels of pairs; none
    // where the product is computed straight from the input.
    let intoPanels = unfoldsIntoPanels, direct = convolvesDirectly && packedWeight == nil
    let buffer = direct ? nil : GEMM.PackingBuffers.shared.take(bytes: intoPanels ? 4 * GEMM.packedBF16Words(count: width, k: kdim, panel: 32) : 4 * kdim * stride)
    defer { buffer.map { GEMM.PackingBuffers.shared.give($0) } }
    let cols = buffer.map { $0.pointer.assumingMemoryBound(to: Float.self) }
    var packedCols: UnsafePointer<UInt32>? = nil
    if direct {
      // No columns: nl_conv_direct below reads the input in place.
    } else if intoPanels {
      let panels = UnsafeMutableRawPointer(cols!).assumingMemoryBound(to: UInt32.self)
      let done = nl_unfold_pack_bf16(x + images.lowerBound * image, images.count, image, c, h, w, window.kernelHeight, window.kernelWidth,
                                     window.padding, GEMM.bf16BlockPairs, panels)
      precondition(done != 0, "nl_unfold_pack_bf16 refused a window unfoldsIntoPanels accepts")
      packedCols = UnsafePointer(panels)
    } else {
      unfold(images, x: x, into: cols!)
    }
    // With pooling, the convolution's output goes to a chunk-sized buffer and only the pooled planes leave.
    let full = pool ? GEMM.PackingBuffers.shared.take(bytes: 4 * (images.count * f * plane + 32)) : nil
    defer { full.map { GEMM.PackingBuffers.shared.give($0) } }
    let target = full.map { $0.pointer.assumingMemoryBound(to: Float.self) } ?? out + images.lowerBound * f * plane
    defer {
      if pool, let codes {
        let (ph, pw) = (oh / 2, ow / 2), first = images.lowerBound * f * outPlane, readLimit = UnsafePointer(target + images.count * f * plane + 32)
        let planes = images.count * f
        if cKernels || cKernelsAVX2 {
          // Vector loads and stores, the ReLU on the pooled values as they go (see nl_maxpool2x2_codes).
          let pooling = cKernels ? nl_maxpool2x2_codes : nl_maxpool2x2_codes_avx2
          for q in 0..<planes {
            _ = pooling(target + q * plane, ow, ph, pw, out + first + q * outPlane, codes + first + q * outPlane, relu ? 1 : 0)
          }
        } else {
          // The buffer has 32 floats of room at its end: every row reads whole vectors. The pooled rows are
          // stored straight into the output as whole vectors, spilling up to 15 values past their end onto the
          // rows after, which are written later; but exactly in the chunk's last planes (the next chunk's
          // output belongs to another thread). The winners' offsets go to a plane of scratch (room for the
          // spill too), then into codes as nl_maxpool2x2_codes writes them.
          let offsets = UnsafeMutablePointer<Int32>.allocate(capacity: outPlane + 16)
          defer { offsets.deallocate() }
          for q in 0..<planes {
            let values = out + first + q * outPlane, planeCodes = codes + first + q * outPlane
            maxPool2x2Plane(target + q * plane, width: ow, pooledHeight: ph, pooledWidth: pw, into: values,
                            argmax: offsets, readLimit: readLimit, overrun: (planes - 1 - q) * outPlane >= 16)
            // max(0, max(window)) = max(window of max(0, ·)): the ReLU on the pooled values only.
            if relu { reluForward(values, values, 0..<outPlane) }
            for oi in 0..<ph {
              for oj in 0..<pw {
                let k = oi * pw + oj, d = Int(offsets[k]) - 2 * (oi * ow + oj)
                let place: UInt8 = d == 0 ? 0 : d == 1 ? 1 : d == ow ? 2 : 3
                planeCodes[k] = place | (!relu || values[k] > 0 ? 4 : 0)
              }
            }
          }
        }
      } else if relu {
        reluForward(target, target, 0..<(images.count * f * plane))
      }
    }
    if direct {
      let done = (cKernels ? nl_conv_direct : nl_conv_direct_avx2)(x + images.lowerBound * image, images.count, c, h, w, window.kernelHeight, window.kernelWidth, oh, ow,
                                weight, bias, f, target)
      precondition(done != 0, "nl_conv_direct refused a shape convolvesDirectly accepts")
    } else if plane >= 4 * GEMM.kernel.nr || images.count == 1 {
      // Columns in runs of one image's plane, stored straight into NCHW.
      GEMM.multiply(m: f, n: width, k: kdim, a: weight, lda: kdim, transA: false, b: cols!, ldb: stride, transB: false,
                    beta: 0, c: target, ldc: plane, threads: 1, kernel: kernel, runs: .init(length: plane, stride: f * plane), bias: bias,
                    packedA: packedWeight, packedB: packedCols)
    } else {
      // Small planes (most tiles would straddle two images): a plain product, then a copy per image.
      let product = GEMM.PackingBuffers.shared.take(bytes: 4 * f * width)
      defer { GEMM.PackingBuffers.shared.give(product) }
      let y = product.pointer.assumingMemoryBound(to: Float.self)
      GEMM.multiply(m: f, n: width, k: kdim, a: weight, lda: kdim, transA: false, b: cols!, ldb: stride, transB: false,
                    beta: 0, c: y, ldc: width, threads: 1, kernel: kernel, bias: bias, packedA: packedWeight, packedB: packedCols)
      for i in 0..<images.count {
        for fi in 0..<f { copyFloats(from: y + fi * width + i * plane, to: target + (i * f + fi) * plane, count: plane) }
      }
    }
  }

  /// One group's backward pass (see `shareGroups`): its chunks one after another, in order.
  package func backward(group: Int, _ p: ConvBackwardPointers) {
    for (k, chunk) in chunks(inGroup: group).enumerated() { backward(chunk: chunk, share: group, first: k == 0, p) }
  }

  /// One chunk's backward pass: its part of dW (dY colsᵀ) and db, written into share `share` (or added to it,
  /// when not the first chunk of its group), and its images' rows of dX.
  package func backward(chunk: Int, share: Int, first: Bool, _ p: ConvBackwardPointers) {
    let images = images(chunk), width = images.count * plane
    // dY as [F, width]: with one image it is the gradient itself; else copied image by image into rows
    // padded with zeros to whole vectors, as are the columns below (zero terms leave dY colsᵀ unchanged and
    // spare the dot products their ragged ends).
    let padded = (width + 15) / 16 * 16
    // With a fused ReLU, dY is masked by the output as it is copied (always copied then); with pooling, each
    // pooled gradient goes to its window's winner (where the pooled output is positive, with a ReLU).
    // Several images without a ReLU or pooling, where the weight gradient is dot products anyway: dY read in
    // place, image by image (`nl_dot_nt_runs_avx512`, `sumFloats4(runs:)`), the same bits as on the copy.
    let inPlace = images.count > 1 && !relu && !pool && p.gx == nil && !kernel.packsPairs && kernel.usesAVX512 && cKernels
      && plane >= 16 && width >= GEMM.Tuning.standard.dotMinimumK
    let dyBuffer = (images.count == 1 && !relu && !pool) || inPlace ? nil : GEMM.PackingBuffers.shared.take(bytes: 4 * f * padded)
    defer { dyBuffer.map { GEMM.PackingBuffers.shared.give($0) } }
    let dy: UnsafePointer<Float>, ldy: Int
    if let dyBuffer, pool, let codes = p.codes {
      let copy = dyBuffer.pointer.assumingMemoryBound(to: Float.self)
      if (cKernels || cKernelsAVX2) && ow / 2 >= 8 {
        // Each plane written whole in masked vector stores (see nl_unpool2x2_codes): no clearing, no scatter.
        // (Rows of fewer than eight windows leave most lanes idle: clearing and scattering measured faster
        // there with AVX-512, and no slower with AVX2, on the second layer's six.)
        // Image by image: each image's gradient is read in one contiguous sweep (filter by filter it would be
        // as many interleaved streams as images, harder for the hardware prefetcher).
        let unpooling = cKernels ? nl_unpool2x2_codes : nl_unpool2x2_codes_avx2
        for (i, b) in images.enumerated() {
          for fi in 0..<f {
            let from = (b * f + fi) * outPlane
            _ = unpooling(p.g + from, codes + from, oh, ow, copy + fi * padded + i * plane)
          }
        }
        for fi in 0..<f { (copy + fi * padded + width).update(repeating: 0, count: padded - width) }
      } else {
        copy.update(repeating: 0, count: f * padded)
        let pw = ow / 2
        for (i, b) in images.enumerated() {
          for fi in 0..<f {
            let from = (b * f + fi) * outPlane, row = copy + fi * padded + i * plane
            // Without a branch (half the pooled outputs are clipped, at random): a clipped one writes a zero
            // where the row already holds one.
            let (g, code) = (p.g + from, codes + from)
            for oi in 0..<(oh / 2) {
              for oj in 0..<pw {
                let k = oi * pw + oj, c = Int(code[k])
                row[2 * (oi * ow + oj) + (c & 1) + (c >> 1 & 1) * ow] = c & 4 != 0 ? g[k] : 0
              }
            }
          }
        }
      }
      (dy, ldy) = (UnsafePointer(copy), padded)
    } else if let dyBuffer {
      let copy = dyBuffer.pointer.assumingMemoryBound(to: Float.self)
      // Image by image, as above: one contiguous sweep through each image's gradient.
      for (i, b) in images.enumerated() {
        for fi in 0..<f {
          let from = (b * f + fi) * plane, to = copy + fi * padded + i * plane
          if relu { reluBackward(p.g + from, p.y + from, to, 0..<plane) } else { copyFloats(from: p.g + from, to: to, count: plane) }
        }
      }
      for fi in 0..<f { (copy + fi * padded + width).update(repeating: 0, count: padded - width) }
      (dy, ldy) = (UnsafePointer(copy), padded)
    } else {
      (dy, ldy) = (p.g + images.lowerBound * f * plane, plane)
    }
    // One buffer serves the columns (for dW) and then dcols (for dX): the chunk's working set stays in L2.
    let stride = colsStride(width)
    let buffer = GEMM.PackingBuffers.shared.take(bytes: 4 * kdim * stride)
    defer { GEMM.PackingBuffers.shared.give(buffer) }
    if let shares = p.sharesW, kernel.packsPairs {
      // bfloat16: the columns go straight into rows of pairs (unfolded into them where the C kernel can).
      let words = GEMM.bf16Words(k: width)
      let pairs = GEMM.PackingBuffers.shared.take(bytes: 4 * words * kdim)
      defer { GEMM.PackingBuffers.shared.give(pairs) }
      let rows = pairs.pointer.assumingMemoryBound(to: UInt32.self)
      let direct = cKernels && window.stride == 1 && window.padding > 0 && nl_unfold_padded_bf16(
        p.x + images.lowerBound * image, images.count, image, c, h, w, window.kernelHeight, window.kernelWidth, window.padding, oh, ow,
        pairs.pointer.assumingMemoryBound(to: UInt16.self), 2 * words) != 0
      if !direct {
        let cols = buffer.pointer.assumingMemoryBound(to: Float.self)
        unfold(images, x: p.x, into: cols)
        nl_rows_to_bf16(kdim, width, cols, stride, rows, words)
      }
      let target = shares + share * f * kdim
      if words <= 128 {
        // Short rows (small planes): through the packed micro-kernel, which sums each output in its own lane,
        // instead of dot products whose final 16-lane sums would cost as much as the products.
        let dyWords = GEMM.PackingBuffers.shared.take(bytes: 4 * words * (f + 7 + (f + 7) / 8 * 8 + 32))
        defer { GEMM.PackingBuffers.shared.give(dyWords) }
        let a = dyWords.pointer.assumingMemoryBound(to: UInt32.self)
        nl_rows_to_bf16(f, width, dy, ldy, a, words)
        nl_gemm_bf16_nt(f, kdim, words, a, words, rows, words, target, kdim, first ? 0 : 1, a + f * words)
      } else {
        if first { target.update(repeating: 0, count: f * kdim) }
        GEMM.dotProductsBF16(m: f, n: kdim, k: width, a: dy, lda: ldy, bWords: rows, c: target, ldc: kdim, parts: 1)
      }
    } else if let shares = p.sharesW, inPlace {
      let cols = buffer.pointer.assumingMemoryBound(to: Float.self)
      unfold(images, x: p.x, into: cols)
      let target = shares + share * f * kdim
      if first { target.update(repeating: 0, count: f * kdim) }
      let scratch = GEMM.PackingBuffers.shared.take(bytes: GEMM.dotScratchBytes(rows: f, columns: kdim))
      defer { GEMM.PackingBuffers.shared.give(scratch) }
      nl_dot_nt_runs_avx512(0, f, kdim, width, dy, plane, plane, f * plane, cols, stride, target, kdim, scratch.pointer,
                            GEMM.dotBlock(k: width, rows: f, columns: kdim))
    } else if let shares = p.sharesW {
      let terms = ldy == padded ? padded : width
      let cols = buffer.pointer.assumingMemoryBound(to: Float.self)
      unfold(images, x: p.x, into: cols)
      GEMM.multiply(m: f, n: kdim, k: terms, a: dy, lda: ldy, transA: false, b: cols, ldb: stride, transB: true,
                    beta: first ? 0 : 1, c: shares + share * f * kdim, ldc: kdim, threads: 1, kernel: kernel)
    }
    if let shares = p.sharesB {
      var fi = 0
      while fi + 4 <= f {
        // Four rows at once: four independent chains of additions (one row's chain waits on each add).
        let sums = inPlace ? sumFloats4(runs: dy + fi * plane, plane, run: plane, runStride: f * plane, count: width) : sumFloats4(dy + fi * ldy, ldy, count: width)
        for q in 0..<4 { shares[share * f + fi + q] = first ? sums[q] : shares[share * f + fi + q] + sums[q] }
        fi += 4
      }
      while fi < f {
        let sum = inPlace ? sumFloats(runs: dy + fi * plane, run: plane, runStride: f * plane, count: width) : sumFloats(dy + fi * ldy, count: width)
        shares[share * f + fi] = first ? sum : shares[share * f + fi] + sum
        fi += 1
      }
    }
    if let gx = p.gx {
      let dcols = buffer.pointer.assumingMemoryBound(to: Float.self)
      GEMM.multiply(m: kdim, n: width, k: f, a: p.weight, lda: kdim, transA: true, b: dy, ldb: ldy, transB: false,
                    beta: 0, c: dcols, ldc: width, threads: 1, kernel: kernel, packedA: p.packedWeightT)
      let target = gx + images.lowerBound * image
      target.update(repeating: 0, count: images.count * image)
      col2im(dcols, images: images.count, channels: c, height: h, width: w, window: window, outHeight: oh, outWidth: ow, into: target, rowStride: width)
    }
  }
}

/// What `ConvLayout.backward` reads and writes (nil: that gradient is not wanted).
package struct ConvBackwardPointers: @unchecked Sendable {
  /// `codes`: the fused pooling's winners and whether the gradient passes (see `nl_maxpool2x2_codes`).
  let g: UnsafePointer<Float>, y: UnsafePointer<Float>, codes: UnsafePointer<UInt8>?, x: UnsafePointer<Float>, weight: UnsafePointer<Float>
  let sharesW: UnsafeMutablePointer<Float>?, sharesB: UnsafeMutablePointer<Float>?, gx: UnsafeMutablePointer<Float>?
  /// The weights as `ConvLayout.withPackedWeights(transposed: true)` packs them, where the layout `packsWeights`.
  let packedWeightT: UnsafePointer<UInt32>?

  package init(
    g: UnsafePointer<Float>, y: UnsafePointer<Float>, codes: UnsafePointer<UInt8>?, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    packedWeightT: UnsafePointer<UInt32>? = nil, sharesW: UnsafeMutablePointer<Float>?, sharesB: UnsafeMutablePointer<Float>?, gx: UnsafeMutablePointer<Float>?
  ) {
    (self.g, self.y, self.codes, self.x, self.weight, self.packedWeightT) = (g, y, codes, x, weight, packedWeightT)
    (self.sharesW, self.sharesB, self.gx) = (sharesW, sharesB, gx)
  }
}

/// The sum of `count` shares of `size` values each, share by share in order (split over the cores by value).
package func sumShares(_ shares: [Float], count: Int, size: Int) -> [Float] {
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
