import Foundation

extension Tensor {
  /// Softmax along `axis` (default: the last), stable: the maximum is subtracted before exp.
  public func softmax(axis: Int = -1) throws -> Tensor {
    let ax = try axisIndex(axis, "softmax")
    let (outer, size, inner) = split(ax)
    var out = [Float](repeating: 0, count: count)
    for o in 0..<outer {
      for i in 0..<inner {
        let at = { (k: Int) in (o * size + k) * inner + i }
        var m = -Float.infinity
        for k in 0..<size { m = Swift.max(m, data[at(k)]) }
        var s = 0.0
        for k in 0..<size { let e = Foundation.exp(data[at(k)] - m); out[at(k)] = e; s += Double(e) }
        for k in 0..<size { out[at(k)] = Float(Double(out[at(k)]) / s) }
      }
    }
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
    var out = [Float](repeating: 0, count: count)
    for o in 0..<outer {
      for i in 0..<inner {
        let at = { (k: Int) in (o * size + k) * inner + i }
        var m = -Float.infinity
        for k in 0..<size { m = Swift.max(m, data[at(k)]) }
        var s = 0.0
        for k in 0..<size { s += Double(Foundation.exp(data[at(k)] - m)) }
        let lse = m + Float(Foundation.log(s))
        for k in 0..<size { out[at(k)] = data[at(k)] - lse }
      }
    }
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
  /// (softmax - one-hot) / batch.
  public func softmaxCrossEntropy(labels: [Int]) throws -> Tensor {
    guard rank == 2 else { throw TensorError("softmaxCrossEntropy: logits must be [batch, classes], got shape \(shape)") }
    let (batch, classes) = (shape[0], shape[1])
    guard labels.count == batch else {
      throw TensorError("softmaxCrossEntropy: \(batch) rows of logits but \(labels.count) labels")
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
      throw TensorError("softmaxCrossEntropy: label \(bad) is out of range 0..<\(classes)")
    }
    var probs = [Float](repeating: 0, count: count)
    var loss = 0.0
    for r in 0..<batch {
      let row = r * classes
      var m = -Float.infinity
      for c in 0..<classes { m = Swift.max(m, data[row + c]) }
      var s = 0.0
      for c in 0..<classes { let e = Double(Foundation.exp(data[row + c] - m)); probs[row + c] = Float(e); s += e }
      for c in 0..<classes { probs[row + c] = Float(Double(probs[row + c]) / s) }
      loss += Double(m) + Foundation.log(s) - Double(data[row + labels[r]])
    }
    return Tensor(result: [Float(loss / Double(batch))], shape: [], op: "softmaxCrossEntropy").recording([self]) { o in
      let scale = o.grad![0] / Float(batch)
      var g = probs
      for r in 0..<batch { g[r * classes + labels[r]] -= 1 }
      for j in 0..<g.count { g[j] *= scale }
      self.accumulate(g)
    }
  }
}
