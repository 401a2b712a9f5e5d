import Foundation

/// A Float32 tensor: contiguous row-major storage and a shape, with reverse-mode autograd.
///
/// A tensor made by an operation on tensors that require gradients remembers its inputs and how to send a
/// gradient back to them (its `backward` closure); `backward()` on a scalar runs those closures in reverse
/// topological order and accumulates `grad` in every tensor that requires it.
public final class Tensor {
  /// The size of each axis; `[]` is a scalar.
  public let shape: [Int]
  /// The values, row-major, `shape.product` of them.
  public var data: [Float]
  /// Whether gradients flow to (and accumulate in) this tensor.
  public var requiresGrad: Bool
  /// The accumulated gradient, same count as `data`; nil until a backward pass reaches this tensor.
  public var grad: [Float]?
  /// The operation that made it ("leaf" for created tensors): for printing and drawing graphs.
  public let op: String
  /// The inputs of the operation that made it.
  public private(set) var inputs: [Tensor] = []
  /// Sends `output.grad` to the inputs' grads.
  var backwardFn: ((Tensor) -> Void)?
  /// A name, for parameters and graph drawings.
  public var name: String?

  /// A tensor of `shape` holding `data` (row-major).
  public init(_ data: [Float], shape: [Int], requiresGrad: Bool = false, name: String? = nil) throws {
    _ = MemoryTuning.configured
    let needed = try Tensor.elementCount(shape, op: "Tensor")
    guard data.count == needed else {
      throw TensorError("Tensor: shape \(shape) needs \(needed) values but got \(data.count)")
    }
    self.data = data
    self.shape = shape
    self.requiresGrad = requiresGrad
    self.op = "leaf"
    self.name = name
  }

  /// An operation's result (shape already checked).
  init(result data: [Float], shape: [Int], op: String) {
    _ = MemoryTuning.configured
    self.data = data
    self.shape = shape
    self.requiresGrad = false
    self.op = op
  }

  /// A 1-D tensor of `values`.
  public convenience init(_ values: [Float], requiresGrad: Bool = false) {
    try! self.init(values, shape: [values.count], requiresGrad: requiresGrad)
  }

  /// A scalar.
  public convenience init(scalar: Float, requiresGrad: Bool = false) {
    try! self.init([scalar], shape: [], requiresGrad: requiresGrad)
  }

  /// A 2-D tensor from rows of equal length.
  public convenience init(rows: [[Float]], requiresGrad: Bool = false) throws {
    let columns = rows.first?.count ?? 0
    guard rows.allSatisfy({ $0.count == columns }) else {
      throw TensorError("Tensor(rows:): rows have different lengths \(rows.map(\.count))")
    }
    try self.init(rows.flatMap { $0 }, shape: [rows.count, columns], requiresGrad: requiresGrad)
  }

  // MARK: - Facts

  /// The number of values.
  public var count: Int { data.count }
  /// The number of axes.
  public var rank: Int { shape.count }
  /// The only value of a one-element tensor.
  public var item: Float {
    precondition(data.count == 1, "item: the tensor has \(data.count) values, not 1 (shape \(shape))")
    return data[0]
  }
  /// The gradient as a tensor of the same shape (nil before a backward pass).
  public var gradient: Tensor? { grad.map { Tensor(result: $0, shape: shape, op: "grad") } }

  /// Row-major strides.
  var strides: [Int] { Tensor.strides(shape) }
  static func strides(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      s[i] = acc
      acc *= shape[i]
    }
    return s
  }

  // MARK: - Creation

  /// The most values one tensor may hold: 2^28 Float32 values, 1 GiB. Far above anything the lessons need,
  /// and low enough that a size typed by mistake (`--hidden 100000` makes a 100,000 x 100,000 weight matrix)
  /// is refused with one line instead of exhausting memory or trapping in the allocator.
  public static let maxElements = 1 << 28

  /// The number of values a tensor of `shape` holds, checked: no negative size, no product that overflows
  /// Int, nothing above `maxElements`. `op` names the caller in the error.
  public static func elementCount(_ shape: [Int], op: String = "Tensor") throws -> Int {
    guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError("\(op): negative size in shape \(shape)") }
    var n = 1
    for d in shape {
      let (p, overflow) = n.multipliedReportingOverflow(by: d)
      guard !overflow, p <= maxElements else {
        throw TensorError("\(op): shape \(shape) holds more than \(maxElements) values (1 GiB of Float32), the limit for one tensor: use smaller sizes")
      }
      n = p
    }
    return n
  }

  /// All zeros.
  public static func zeros(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
    try full(shape, 0, requiresGrad: requiresGrad)
  }
  /// All ones.
  public static func ones(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
    try full(shape, 1, requiresGrad: requiresGrad)
  }
  /// Every value `value`.
  public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) throws -> Tensor {
    let n = try elementCount(shape, op: "full")
    return try Tensor([Float](repeating: value, count: n), shape: shape, requiresGrad: requiresGrad)
  }
  /// start, start + step, ... below `end` (numpy's arange).
  public static func arange(_ start: Float, _ end: Float, step: Float = 1) throws -> Tensor {
    guard step != 0, step.isFinite, start.isFinite, end.isFinite else { throw TensorError("arange: start, end and step must be finite and the step non-zero, got \(start), \(end), \(step)") }
    let steps = ((Double(end) - Double(start)) / Double(step)).rounded(.up)
    guard steps <= Double(maxElements) else { throw TensorError("arange: \(steps) values exceed the limit of \(maxElements) values per tensor") }
    let n = Swift.max(0, Int(steps))
    return Tensor((0..<n).map { start + Float($0) * step })
  }
  /// `count` evenly spaced values from `start` to `end` inclusive (numpy's linspace).
  public static func linspace(_ start: Float, _ end: Float, count: Int) throws -> Tensor {
    guard count >= 0 else { throw TensorError("linspace: the count must be >= 0, got \(count)") }
    _ = try elementCount([count], op: "linspace")
    if count == 1 { return Tensor([start]) }
    let step = (Double(end) - Double(start)) / Double(count - 1)
    return Tensor((0..<count).map { Float(Double(start) + Double($0) * step) })
  }
  /// Uniform values in `range`, from `rng`.
  public static func uniform(_ shape: [Int], in range: ClosedRange<Float> = 0...1, using rng: inout SeededGenerator, requiresGrad: Bool = false) throws -> Tensor {
    let n = try elementCount(shape, op: "uniform")
    return try Tensor((0..<n).map { _ in rng.uniform(in: range) }, shape: shape, requiresGrad: requiresGrad)
  }
  /// Normal values with `mean` and `std`, from `rng`.
  public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededGenerator, requiresGrad: Bool = false) throws -> Tensor {
    let n = try elementCount(shape, op: "normal")
    return try Tensor((0..<n).map { _ in mean + std * rng.normal() }, shape: shape, requiresGrad: requiresGrad)
  }

  // MARK: - Autograd plumbing

  /// Records `backward` for a result of `inputs` when gradients are on and any input requires them.
  func recording(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
    if GradMode.isEnabled && inputs.contains(where: \.requiresGrad) {
      self.inputs = inputs
      self.requiresGrad = true
      self.backwardFn = backward
    }
    return self
  }

  /// Adds `g` to `grad` (when this tensor requires gradients).
  func accumulate(_ g: [Float]) {
    guard requiresGrad else { return }
    if grad == nil {
      grad = g
    } else {
      g.withUnsafeBufferPointer { src in
        grad!.withUnsafeMutableBufferPointer { dst in
          for i in 0..<dst.count { dst[i] += src[i] }
        }
      }
    }
  }

  /// A new leaf with the same values that records nothing: gradients stop here.
  public func detached() -> Tensor {
    Tensor(result: data, shape: shape, op: "leaf")
  }

  /// Clears the gradient.
  public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let values = data.count <= 12 ? data.map { "\($0)" }.joined(separator: ", ") : data.prefix(10).map { "\($0)" }.joined(separator: ", ") + ", ..."
    return "Tensor(shape: \(shape), [\(values)]\(requiresGrad ? ", requiresGrad" : ""))"
  }
}
