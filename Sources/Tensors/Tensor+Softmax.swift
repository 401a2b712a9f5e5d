import Foundation

extension Tensor {
  /// For every slice along axis `ax`, in order: its maximum m and sum(exp(x - m)) in Double, the two numbers
  /// that make softmax and logSoftmax stable (no overflowing exp, no log(0)).
  func sliceMaxAndSum(_ ax: Int) -> (max: [Float], sum: [Double]) {
    let (outer, size, inner) = split(ax)
    var maxes = [Float](repeating: 0, count: outer * inner), sums = [Double](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var m = -Float.infinity
        for k in 0..<size { m = Swift.max(m, data[(o * size + k) * inner + i]) }
        var s = 0.0
        for k in 0..<size { s += Double(Foundation.exp(data[(o * size + k) * inner + i] - m)) }
        maxes[o * inner + i] = m
        sums[o * inner + i] = s
      }
    }
    return (maxes, sums)
  }

  /// Applies `f(x, m, s)` to every value, with its slice's maximum and sum of exponentials.
  func mapSlices(_ ax: Int, _ f: (Float, Float, Double) -> Float) -> [Float] {
    let (outer, size, inner) = split(ax)
    let (maxes, sums) = sliceMaxAndSum(ax)
    var out = [Float](repeating: 0, count: count)
    for o in 0..<outer {
      for k in 0..<size {
        for i in 0..<inner {
          let j = (o * size + k) * inner + i
          out[j] = f(data[j], maxes[o * inner + i], sums[o * inner + i])
        }
      }
    }
    return out
  }

  /// Softmax along `axis` (default: the last), stable: the maximum is subtracted before exp.
  public func softmax(axis: Int = -1) throws -> Tensor {
    let ax = try axisIndex(axis, "softmax")
    let (outer, size, inner) = split(ax)
    let out = mapSlices(ax) { x, m, s in Float(Double(Foundation.exp(x - m)) / s) }
    return Tensor(result: out, shape: shape, op: "softmax").recording([self]) { [count] res in
      // dx = y * (g - sum(g * y)) over the axis
      let g = res.grad!, y = res.data
      var gx = [Float](repeating: 0, count: count)
      for o in 0..<outer {
        for i in 0..<inner {
          var dot = 0.0
          for k in 0..<size { let j = (o * size + k) * inner + i; dot += Double(g[j] * y[j]) }
          for k in 0..<size { let j = (o * size + k) * inner + i; gx[j] = y[j] * (g[j] - Float(dot)) }
        }
      }
      self.accumulate(gx)
    }
  }

  /// log(softmax) along `axis`, computed as x - max - log(sum(exp(x - max))), so it never takes log(0).
  public func logSoftmax(axis: Int = -1) throws -> Tensor {
    let ax = try axisIndex(axis, "logSoftmax")
    let (outer, size, inner) = split(ax)
    let out = mapSlices(ax) { x, m, s in x - (m + Float(Foundation.log(s))) }
    return Tensor(result: out, shape: shape, op: "logSoftmax").recording([self]) { [count] res in
      // dx = g - softmax * sum(g) over the axis
      let g = res.grad!, y = res.data
      var gx = [Float](repeating: 0, count: count)
      for o in 0..<outer {
        for i in 0..<inner {
          var total = 0.0
          for k in 0..<size { total += Double(g[(o * size + k) * inner + i]) }
          for k in 0..<size { let j = (o * size + k) * inner + i; gx[j] = g[j] - Foundation.exp(y[j]) * Float(total) }
        }
      }
      self.accumulate(gx)
    }
  }

  /// Mean softmax cross-entropy of `[batch, classes]` logits against integer labels, fused: the gradient is
  /// (softmax - target) / batch.
  ///
  /// With `labelSmoothing` ε the target is not one-hot but (1 - ε) one-hot + ε/K over the K classes (Szegedy et
  /// al., 2016): the loss is (1 - ε)(log Σe^z - z_label) + ε (log Σe^z - mean(z)), so a confident right answer
  /// still costs a little and the logits stop growing.
  public func softmaxCrossEntropy(labels: [Int], labelSmoothing: Float = 0) throws -> Tensor {
    guard rank == 2 else { throw TensorError("softmaxCrossEntropy: logits must be [batch, classes], got shape \(shape)") }
    let (batch, classes) = (shape[0], shape[1])
    guard labels.count == batch else {
      throw TensorError("softmaxCrossEntropy: \(batch) rows of logits but \(labels.count) labels")
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
      throw TensorError("softmaxCrossEntropy: label \(bad) is out of range 0..<\(classes)")
    }
    guard labelSmoothing >= 0 && labelSmoothing < 1 else {
      throw TensorError("softmaxCrossEntropy: the label smoothing must be in [0, 1), got \(labelSmoothing)")
    }
    let eps = Double(labelSmoothing)
    var probs = [Float](repeating: 0, count: count)
    var loss = 0.0
    for r in 0..<batch {
      let row = r * classes
      var m = -Float.infinity
      for c in 0..<classes { m = Swift.max(m, data[row + c]) }
      var s = 0.0, total = 0.0
      for c in 0..<classes { let e = Double(Foundation.exp(data[row + c] - m)); probs[row + c] = Float(e); s += e; total += Double(data[row + c]) }
      for c in 0..<classes { probs[row + c] = Float(Double(probs[row + c]) / s) }
      let lse = Double(m) + Foundation.log(s)
      loss += eps == 0 ? lse - Double(data[row + labels[r]]) : (1 - eps) * (lse - Double(data[row + labels[r]])) + eps * (lse - total / Double(classes))
    }
    return Tensor(result: [Float(loss / Double(batch))], shape: [], op: "softmaxCrossEntropy").recording([self]) { o in
      let scale = o.grad![0] / Float(batch)
      var g = probs
      let (hit, spread) = (Float(1 - eps), Float(eps / Double(classes)))
      for r in 0..<batch {
        if spread != 0 { for c in 0..<classes { g[r * classes + c] -= spread } }
        g[r * classes + labels[r]] -= hit
      }
      for j in 0..<g.count { g[j] *= scale }
      self.accumulate(g)
    }
  }
}
