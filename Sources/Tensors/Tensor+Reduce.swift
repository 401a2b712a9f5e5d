import Foundation

extension Tensor {
  /// Resolves a possibly negative axis.
  func axisIndex(_ axis: Int, _ op: String) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0 && a < rank else { throw TensorError("\(op): axis \(axis) is out of range for shape \(shape)") }
    return a
  }

  /// (outer, size, inner) around `axis`: the tensor seen as [outer, size, inner].
  func split(_ axis: Int) -> (Int, Int, Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
  }

  // MARK: - Sum and mean

  /// The sum of all values, as a scalar (accumulated in Double).
  public func sum() -> Tensor {
    var s = 0.0
    for v in data { s += Double(v) }
    return Tensor(result: [Float(s)], shape: [], op: "sum").recording([self]) { [count] o in
      self.accumulate([Float](repeating: o.grad![0], count: count))
    }
  }

  /// The sum over `axis` (removed, or kept with size 1).
  public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor {
    let ax = try axisIndex(axis, "sum")
    let (outer, size, inner) = split(ax)
    var out = [Float](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var s = 0.0
        for k in 0..<size { s += Double(data[(o * size + k) * inner + i]) }
        out[o * inner + i] = Float(s)
      }
    }
    var newShape = shape
    if keepDims { newShape[ax] = 1 } else { newShape.remove(at: ax) }
    return Tensor(result: out, shape: newShape, op: "sum").recording([self]) { [count] o in
      let g = o.grad!
      var gi = [Float](repeating: 0, count: count)
      for o in 0..<outer { for k in 0..<size { for i in 0..<inner { gi[(o * size + k) * inner + i] = g[o * inner + i] } } }
      self.accumulate(gi)
    }
  }

  /// The mean of all values, as a scalar.
  public func mean() -> Tensor {
    count == 0 ? Tensor(result: [.nan], shape: [], op: "mean") : sum() / Float(count)
  }

  /// The mean over `axis`.
  public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor {
    let ax = try axisIndex(axis, "mean")
    return try sum(axis: ax, keepDims: keepDims) / Float(shape[ax])
  }

  // MARK: - Max and argmax

  /// The largest value, as a scalar (the gradient goes to the first maximum).
  public func max() throws -> Tensor {
    guard count > 0 else { throw TensorError("max: the tensor is empty (shape \(shape))") }
    let i = argmaxFlat()
    return Tensor(result: [data[i]], shape: [], op: "max").recording([self]) { [count] o in
      var g = [Float](repeating: 0, count: count)
      g[i] = o.grad![0]
      self.accumulate(g)
    }
  }

  private func argmaxFlat() -> Int {
    var best = 0
    for i in 1..<Swift.max(1, count) where data[i] > data[best] || (data[best].isNaN && !data[i].isNaN) { best = i }
    return best
  }

  /// The largest value over `axis` (the gradient goes to the first maximum of each slice).
  public func max(axis: Int, keepDims: Bool = false) throws -> Tensor {
    let ax = try axisIndex(axis, "max")
    let (outer, size, inner) = split(ax)
    guard size > 0 else { throw TensorError("max: axis \(axis) of shape \(shape) is empty") }
    let idx = argmaxIndices(outer, size, inner)
    var out = [Float](repeating: 0, count: outer * inner)
    for j in 0..<idx.count { out[j] = data[idx[j]] }
    var newShape = shape
    if keepDims { newShape[ax] = 1 } else { newShape.remove(at: ax) }
    return Tensor(result: out, shape: newShape, op: "max").recording([self]) { [count] o in
      var g = [Float](repeating: 0, count: count)
      for j in 0..<idx.count { g[idx[j]] += o.grad![j] }
      self.accumulate(g)
    }
  }

  /// Flat indices of each slice's maximum.
  private func argmaxIndices(_ outer: Int, _ size: Int, _ inner: Int) -> [Int] {
    var idx = [Int](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var best = o * size * inner + i
        for k in 1..<Swift.max(1, size) {
          let j = (o * size + k) * inner + i
          if data[j] > data[best] { best = j }
        }
        idx[o * inner + i] = best
      }
    }
    return idx
  }

  /// The position of the largest value along `axis` (the first one on ties).
  public func argmax(axis: Int) throws -> [Int] {
    let ax = try axisIndex(axis, "argmax")
    let (outer, size, inner) = split(ax)
    guard size > 0 else { throw TensorError("argmax: axis \(axis) of shape \(shape) is empty") }
    return argmaxIndices(outer, size, inner).map { ($0 / inner) % size }
  }
}
