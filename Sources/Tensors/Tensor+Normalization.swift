import Foundation
import Kernels

// Batch normalisation, forward beside backward. Per channel c of an [N, C, ...] tensor (the statistics are taken
// over the batch and every spatial position, M = N x H x W values):
//
//   μ = mean(x),  σ² = mean((x - μ)²),  x̂ = (x - μ) / √(σ² + ε),  y = γ x̂ + β
//
// and backward, with g = ∂L/∂y:
//
//   ∂L/∂β = Σ g,  ∂L/∂γ = Σ g x̂,  ∂L/∂x = γ/√(σ² + ε) · (g - Σg/M - x̂ Σ(g x̂)/M)
//
// In evaluation mode μ and σ² are the running statistics, constants: ∂L/∂x = γ/√(σ² + ε) · g.

extension Tensor {
  /// Batch normalisation over axis 1 of `[N, C]` or `[N, C, H, W]` input (Ioffe and Szegedy, 2015).
  ///
  /// - `scale` γ and `shift` β: `[C]`, or nil for 1 and 0.
  /// - `runningMean`, `runningVariance`: `[C]`, updated in training mode as r ← (1 - momentum) r + momentum b,
  ///   where b is the batch's mean, or its unbiased variance (M / (M - 1) σ², as PyTorch); used instead of the
  ///   batch's statistics when `training` is false.
  ///
  /// Each channel is reduced on one thread in a fixed order (sums of each plane in Float, planes added in
  /// Double), so the result does not depend on the thread count.
  public func batchNorm(scale: Tensor?, shift: Tensor?, runningMean: Tensor, runningVariance: Tensor, training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5) throws -> Tensor {
    guard rank == 2 || rank == 4 else { throw TensorError("batchNorm: the input must be [batch, channels] or [batch, channels, height, width], got shape \(shape)") }
    let (n, c) = (shape[0], shape[1])
    let plane = rank == 4 ? shape[2] * shape[3] : 1
    for (name, t) in [("scale", scale), ("shift", shift), ("running mean", Optional(runningMean)), ("running variance", Optional(runningVariance))] {
      if let t, t.shape != [c] { throw TensorError.shapes("batchNorm", shape, t.shape, "do not match: the \(name) needs shape [\(c)]") }
    }
    guard momentum >= 0 && momentum <= 1 else { throw TensorError("batchNorm: the momentum must be in [0, 1], got \(momentum)") }
    guard epsilon > 0, epsilon.isFinite else { throw TensorError("batchNorm: epsilon must be positive, got \(epsilon)") }
    let m = n * plane
    if training && m < 2 { throw TensorError("batchNorm: training needs at least 2 values per channel to take a variance, got \(m) (shape \(shape))") }

    // Per channel: the mean and 1/√(σ² + ε) used, and the multiplier a = γ/√(σ² + ε) and offset b = β - μ a.
    var mean = [Float](repeating: 0, count: c), inverse = [Float](repeating: 0, count: c)
    var batchVariance = [Float](repeating: 0, count: c)
    if training {
      data.withUnsafeBufferPointer { px in
        mean.withUnsafeMutableBufferPointer { pm in
          batchVariance.withUnsafeMutableBufferPointer { pv in
            let (xs, ms, vs) = (SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)), SharedPointer(pointer: pm.baseAddress!), SharedPointer(pointer: pv.baseAddress!))
            parallelFor(c) { ch in
              var total = 0.0
              for i in 0..<n { total += Double(planeSum(xs.pointer + (i * c + ch) * plane, plane, center: 0)) }
              let mu = Float(total / Double(m))
              var squares = 0.0
              for i in 0..<n { squares += Double(planeSum(xs.pointer + (i * c + ch) * plane, plane, center: mu, squared: true)) }
              ms.pointer[ch] = mu
              vs.pointer[ch] = Float(squares / Double(m))
            }
          }
        }
      }
      let keep = 1 - momentum, unbias = Float(m) / Float(m - 1)
      for ch in 0..<c {
        inverse[ch] = 1 / (batchVariance[ch] + epsilon).squareRoot()
        runningMean.data[ch] = keep * runningMean.data[ch] + momentum * mean[ch]
        runningVariance.data[ch] = keep * runningVariance.data[ch] + momentum * batchVariance[ch] * unbias
      }
    } else {
      for ch in 0..<c {
        mean[ch] = runningMean.data[ch]
        inverse[ch] = 1 / (Swift.max(runningVariance.data[ch], 0) + epsilon).squareRoot()
      }
    }
    let gamma = scale?.data ?? [Float](repeating: 1, count: c), beta = shift?.data ?? [Float](repeating: 0, count: c)
    let a = (0..<c).map { gamma[$0] * inverse[$0] }, b = (0..<c).map { beta[$0] - mean[$0] * a[$0] }

    let out = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      if count > 0 { data.withUnsafeBufferPointer { px in
        let (xs, ys) = (SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)), SharedPointer(pointer: buffer.baseAddress!))
        parallelFor(n * c) { q in
          let ch = q % c
          affine(xs.pointer + q * plane, ys.pointer + q * plane, plane, a[ch], b[ch])
        }
      } }
      initialized = count
    }
    let input = self
    let inputs = [input] + (scale.map { [$0] } ?? []) + (shift.map { [$0] } ?? [])
    return Tensor(result: out, shape: shape, op: "batchNorm").recording(inputs) { o in
      // Per channel: Σg and Σg(x - μ), in the same fixed order as the forward sums.
      var sumG = [Float](repeating: 0, count: c), sumGX = [Float](repeating: 0, count: c)
      o.grad!.withUnsafeBufferPointer { pg in
        input.data.withUnsafeBufferPointer { px in
          sumG.withUnsafeMutableBufferPointer { psg in
            sumGX.withUnsafeMutableBufferPointer { psgx in
              let (gs, xs) = (SharedPointer(pointer: UnsafeMutablePointer(mutating: pg.baseAddress!)), SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)))
              let (sg, sgx) = (SharedPointer(pointer: psg.baseAddress!), SharedPointer(pointer: psgx.baseAddress!))
              parallelFor(c) { ch in
                var t0 = 0.0, t1 = 0.0
                for i in 0..<n {
                  let at = (i * c + ch) * plane
                  let (s0, s1) = gradientSums(gs.pointer + at, xs.pointer + at, plane, center: mean[ch])
                  t0 += Double(s0)
                  t1 += Double(s1)
                }
                sg.pointer[ch] = Float(t0)
                sgx.pointer[ch] = Float(t1)
              }
            }
          }
        }
      }
      if let shift, shift.requiresGrad { shift.accumulate(sumG) }
      if let scale, scale.requiresGrad { scale.accumulate((0..<c).map { sumGX[$0] * inverse[$0] }) }
      guard input.requiresGrad else { return }
      // dx = a (g - Σg/M - (x - μ) inv² Σg(x-μ)/M) = a g + (x - μ) p + q per channel.
      let invM = 1 / Float(m)
      let p = (0..<c).map { training ? -a[$0] * inverse[$0] * inverse[$0] * sumGX[$0] * invM : 0 }
      let q = (0..<c).map { training ? -a[$0] * sumG[$0] * invM : 0 }
      let gx = [Float](unsafeUninitializedCapacity: input.count) { buffer, initialized in
        o.grad!.withUnsafeBufferPointer { pg in
          input.data.withUnsafeBufferPointer { px in
            let (gs, xs, out) = (SharedPointer(pointer: UnsafeMutablePointer(mutating: pg.baseAddress!)), SharedPointer(pointer: UnsafeMutablePointer(mutating: px.baseAddress!)), SharedPointer(pointer: buffer.baseAddress!))
            parallelFor(n * c) { k in
              let ch = k % c
              inputGradient(gs.pointer + k * plane, xs.pointer + k * plane, out.pointer + k * plane, plane, a: a[ch], center: mean[ch], p: p[ch], q: q[ch])
            }
          }
        }
        initialized = input.count
      }
      input.accumulate(gx)
    }
  }
}

/// Σ (x - center) or Σ (x - center)² over `count` values, sixteen lanes at a time, then the tail.
@inline(__always)
private func planeSum(_ x: UnsafeMutablePointer<Float>, _ count: Int, center: Float, squared: Bool = false) -> Float {
  var acc = SIMD16<Float>(repeating: 0)
  var i = 0
  let raw = UnsafeRawPointer(x)
  while i + 16 <= count {
    let d = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) - center
    acc += squared ? d * d : d
    i += 16
  }
  var tail: Float = 0
  while i < count {
    let d = x[i] - center
    tail += squared ? d * d : d
    i += 1
  }
  return acc.sum() + tail
}

/// (Σ g, Σ g (x - center)).
@inline(__always)
private func gradientSums(_ g: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ count: Int, center: Float) -> (Float, Float) {
  var s0 = SIMD16<Float>(repeating: 0), s1 = SIMD16<Float>(repeating: 0)
  var i = 0
  let (rg, rx) = (UnsafeRawPointer(g), UnsafeRawPointer(x))
  while i + 16 <= count {
    let gi = rg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
    s0 += gi
    s1 += gi * (rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) - center)
    i += 16
  }
  var t0: Float = 0, t1: Float = 0
  while i < count {
    t0 += g[i]
    t1 += g[i] * (x[i] - center)
    i += 1
  }
  return (s0.sum() + t0, s1.sum() + t1)
}

/// y = a x + b.
@inline(__always)
private func affine(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int, _ a: Float, _ b: Float) {
  var i = 0
  let (rx, ry) = (UnsafeRawPointer(x), UnsafeMutableRawPointer(y))
  while i + 16 <= count {
    ry.storeBytes(of: a * rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) + b, toByteOffset: 4 * i, as: SIMD16<Float>.self)
    i += 16
  }
  while i < count {
    y[i] = a * x[i] + b
    i += 1
  }
}

/// dx = a g + (x - center) p + q.
@inline(__always)
private func inputGradient(_ g: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int, a: Float, center: Float, p: Float, q: Float) {
  var i = 0
  let (rg, rx, ro) = (UnsafeRawPointer(g), UnsafeRawPointer(x), UnsafeMutableRawPointer(out))
  while i + 16 <= count {
    let gi = rg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self), xi = rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
    ro.storeBytes(of: a * gi + (xi - center) * p + q, toByteOffset: 4 * i, as: SIMD16<Float>.self)
    i += 16
  }
  while i < count {
    out[i] = a * g[i] + (x[i] - center) * p + q
    i += 1
  }
}
