import Dispatch
import Foundation

/// Whether operations record their backward pass. Turn it off for evaluation with `Tensor.withoutGrad`.
public enum GradMode {
  @TaskLocal static var enabled = true
  /// True unless inside `Tensor.withoutGrad`.
  public static var isEnabled: Bool { enabled }
}

extension Tensor {
  /// What `backward(profile:)` reports for each operation's backward step: its name, output shape and seconds
  /// (the benchmark's breakdown of a training step).
  public typealias BackwardProfile = (_ op: String, _ shape: [Int], _ seconds: Double) -> Void

  /// Runs `body` with gradient recording off (evaluation, metrics, plotting a decision boundary).
  public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$enabled.withValue(false, operation: body)
  }

  /// Backpropagation from this scalar: seeds its gradient with 1 and runs every recorded backward closure
  /// in reverse topological order, so each tensor's gradient is complete before it is passed on. Gradients
  /// accumulate (call `zeroGrad` on parameters between steps).
  public func backward(profile: BackwardProfile? = nil) throws {
    guard data.count == 1 else {
      throw TensorError("backward: needs a scalar (one value) to start from, got shape \(shape); reduce it with sum() or mean() first")
    }
    try backward(gradient: [1], profile: profile)
  }

  /// Backpropagation from a tensor of any shape, given the gradient of some scalar with respect to it (as
  /// PyTorch's `y.backward(g)`): the same as `(y * g).sum().backward()` without computing that product.
  public func backward(gradient: [Float], profile: BackwardProfile? = nil) throws {
    guard gradient.count == data.count else {
      throw TensorError("backward: the gradient has \(gradient.count) values, the tensor of shape \(shape) has \(data.count)")
    }
    guard requiresGrad else {
      throw TensorError("backward: this tensor does not depend on anything that requires gradients (was it computed inside withoutGrad, or from detached tensors?)")
    }
    // Topological order, iteratively (graphs of deep networks are long).
    var order: [Tensor] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(Tensor, Bool)] = [(self, false)]
    while let (t, expanded) = stack.popLast() {
      if expanded {
        order.append(t)
        continue
      }
      guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
      stack.append((t, true))
      for input in t.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
        stack.append((input, false))
      }
    }
    accumulate(gradient)
    for t in order.reversed() {
      guard let fn = t.backwardFn, t.grad != nil else { continue }
      if let profile {
        let start = DispatchTime.now().uptimeNanoseconds
        fn(t)
        profile(t.op, t.shape, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
      } else {
        fn(t)
      }
    }
  }

  /// Every tensor this one was computed from (itself included), inputs before the tensors made from them.
  public func graph() -> [Tensor] {
    var order: [Tensor] = []
    var visited = Set<ObjectIdentifier>()
    func visit(_ t: Tensor) {
      guard visited.insert(ObjectIdentifier(t)).inserted else { return }
      for i in t.inputs { visit(i) }
      order.append(t)
    }
    visit(self)
    return order
  }
}
