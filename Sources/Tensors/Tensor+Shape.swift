import Foundation

extension Tensor {
  /// The same values in a new shape with the same count; one size may be -1 (inferred).
  public func reshaped(_ newShape: [Int]) throws -> Tensor {
    var s = newShape
    let unknown = s.indices.filter { s[$0] == -1 }
    guard unknown.count <= 1, s.allSatisfy({ $0 >= -1 }) else { throw TensorError("reshape: invalid shape \(newShape)") }
    if let u = unknown.first {
      let known = s.enumerated().filter { $0.offset != u }.map(\.element).reduce(1, *)
      guard known > 0, count % known == 0 else { throw TensorError.shapes("reshape", shape, newShape, "have different sizes") }
      s[u] = count / known
    }
    guard s.reduce(1, *) == count else { throw TensorError.shapes("reshape", shape, newShape, "have different sizes") }
    return Tensor(result: data, shape: s, op: "reshape").recording([self]) { o in self.accumulate(o.grad!) }
  }

  /// The axes reordered: axis i of the result is axis `axes[i]` of this tensor.
  public func permuted(_ axes: [Int]) throws -> Tensor {
    guard axes.count == rank, Set(axes) == Set(0..<rank) else {
      throw TensorError("permute: \(axes) is not a permutation of the \(rank) axes of shape \(shape)")
    }
    let newShape = axes.map { shape[$0] }
    let inStrides = strides
    let permutedStrides = axes.map { inStrides[$0] }
    // index[j] = the source index of result element j
    let index = broadcastIndexStrided(newShape, permutedStrides)
    var out = [Float](repeating: 0, count: count)
    for j in 0..<count { out[j] = data[index[j]] }
    return Tensor(result: out, shape: newShape, op: "permute").recording([self]) { [count] o in
      var g = [Float](repeating: 0, count: count)
      let og = o.grad!
      for j in 0..<count { g[index[j]] = og[j] }
      self.accumulate(g)
    }
  }

  /// A 2-D tensor's transpose.
  public func transposed() throws -> Tensor {
    guard rank == 2 else { throw TensorError("transpose: needs a 2-D tensor, got shape \(shape); use permuted for more axes") }
    return try permuted([1, 0])
  }

  /// Rows `range` of the first axis (a batch).
  public func slice(_ range: Range<Int>) throws -> Tensor {
    guard rank >= 1, range.lowerBound >= 0, range.upperBound <= shape[0] else {
      throw TensorError("slice: rows \(range) are outside the first axis of shape \(shape)")
    }
    let row = count / Swift.max(shape[0], 1)
    var newShape = shape
    newShape[0] = range.count
    let start = range.lowerBound * row
    let values = Array(data[start..<(start + range.count * row)])
    return Tensor(result: values, shape: newShape, op: "slice").recording([self]) { [count] o in
      var g = [Float](repeating: 0, count: count)
      g.replaceSubrange(start..<(start + o.count), with: o.grad!)
      self.accumulate(g)
    }
  }

  /// The rows at `indices` of the first axis, in that order (a shuffled mini-batch).
  public func gatherRows(_ indices: [Int]) throws -> Tensor {
    guard rank >= 1 else { throw TensorError("gatherRows: needs at least one axis, got a scalar") }
    let row = count / Swift.max(shape[0], 1)
    var out = [Float]()
    out.reserveCapacity(indices.count * row)
    for i in indices {
      guard i >= 0 && i < shape[0] else { throw TensorError("gatherRows: row \(i) is outside 0..<\(shape[0])") }
      out.append(contentsOf: data[(i * row)..<((i + 1) * row)])
    }
    var newShape = shape
    newShape[0] = indices.count
    return Tensor(result: out, shape: newShape, op: "gatherRows").recording([self]) { [count] o in
      var g = [Float](repeating: 0, count: count)
      let og = o.grad!
      for (k, i) in indices.enumerated() { for j in 0..<row { g[i * row + j] += og[k * row + j] } }
      self.accumulate(g)
    }
  }

  /// Tensors joined along `axis`; the other sizes must match.
  public static func concatenate(_ tensors: [Tensor], axis: Int = 0) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError("concatenate: no tensors given") }
    let ax = try first.axisIndex(axis, "concatenate")
    for t in tensors.dropFirst() {
      var a = first.shape, b = t.shape
      guard a.count == b.count else { throw TensorError.shapes("concatenate", first.shape, t.shape, "have different ranks") }
      a[ax] = 0
      b[ax] = 0
      guard a == b else { throw TensorError.shapes("concatenate", first.shape, t.shape, "differ outside axis \(axis)") }
    }
    let outer = first.shape[..<ax].reduce(1, *)
    let inner = first.shape[(ax + 1)...].reduce(1, *)
    var newShape = first.shape
    newShape[ax] = tensors.map { $0.shape[ax] }.reduce(0, +)
    var out = [Float]()
    out.reserveCapacity(newShape.reduce(1, *))
    for o in 0..<outer {
      for t in tensors {
        let chunk = t.shape[ax] * inner
        out.append(contentsOf: t.data[(o * chunk)..<((o + 1) * chunk)])
      }
    }
    return Tensor(result: out, shape: newShape, op: "concatenate").recording(tensors) { o in
      let g = o.grad!
      var offset = 0
      var grads = tensors.map { [Float](repeating: 0, count: $0.count) }
      for oi in 0..<outer {
        for (k, t) in tensors.enumerated() {
          let chunk = t.shape[ax] * inner
          for j in 0..<chunk { grads[k][oi * chunk + j] = g[offset + j] }
          offset += chunk
        }
      }
      for (k, t) in tensors.enumerated() { t.accumulate(grads[k]) }
    }
  }
}

/// For each flat index of a tensor of `shape`, the offset given per-axis `strides`.
func broadcastIndexStrided(_ shape: [Int], _ strides: [Int]) -> [Int] {
  let n = shape.reduce(1, *)
  var index = [Int](repeating: 0, count: n)
  var counter = [Int](repeating: 0, count: shape.count)
  var offset = 0
  for i in 0..<n {
    index[i] = offset
    var axis = shape.count - 1
    while axis >= 0 {
      counter[axis] += 1
      offset += strides[axis]
      if counter[axis] < shape[axis] { break }
      offset -= strides[axis] * counter[axis]
      counter[axis] = 0
      axis -= 1
    }
  }
  return index
}
