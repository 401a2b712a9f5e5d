import Foundation
import Tensors

extension CIFAR10 {
  /// The images at `indices` as a normalised [n, 3, 32, 32] tensor, image k mirrored left to right when
  /// `flips[k]` and then moved by `shifts[k]` pixels (dx right, dy down), the edge reflected into the gap
  /// (numpy's and PyTorch's "reflect" padding: a shift of 2 shows columns 2, 1, 0, 1, ... at the border).
  /// Shifts are at most 31 pixels either way.
  public func batch(_ indices: [Int], flips: [Bool], shifts: [(dx: Int, dy: Int)]) throws -> Tensor {
    guard flips.count == indices.count, shifts.count == indices.count else {
      throw TensorError("CIFAR10.batch: \(indices.count) images but \(flips.count) flips and \(shifts.count) shifts")
    }
    guard shifts.allSatisfy({ abs($0.dx) < 32 && abs($0.dy) < 32 }) else { throw TensorError("CIFAR10.batch: shifts must be below 32 pixels") }
    if let bad = indices.first(where: { $0 < 0 || $0 >= count }) { throw TensorError("CIFAR10.batch: image \(bad) is outside 0..<\(count)") }
    @inline(__always) func reflect(_ i: Int) -> Int { i < 0 ? -i : (i > 31 ? 62 - i : i) }
    var out = [Float](repeating: 0, count: indices.count * Self.imageSize)
    let table = Self.normalised
    pixels.withUnsafeBufferPointer { px in
      out.withUnsafeMutableBufferPointer { po in
        for (k, i) in indices.enumerated() {
          let (dx, dy) = shifts[k]
          // The source column of each output column: shifted, reflected, then mirrored.
          let columns = (0..<32).map { x in flips[k] ? 31 - reflect(x - dx) : reflect(x - dx) }
          for c in 0..<3 {
            let lookup = table[c]
            let src = px.baseAddress! + i * Self.imageSize + c * 1024, dst = po.baseAddress! + k * Self.imageSize + c * 1024
            for y in 0..<32 {
              let row = src + reflect(y - dy) * 32, to = dst + y * 32
              for x in 0..<32 { to[x] = lookup[Int(row[columns[x]])] }
            }
          }
        }
      }
    }
    return try Tensor(out, shape: [indices.count, 3, 32, 32])
  }
}
