import Tensors
import XCTest

/// Every differentiable operation against the numerical gradient check (relative error below 1e-3).
final class GradientTests: XCTestCase {
  var rng = SeededGenerator(seed: 42)

  /// Random values away from the kinks of relu, abs, max and clamp (|x| >= 0.1).
  func input(_ shape: [Int], positive: Bool = false) -> Tensor {
    let n = shape.reduce(1, *)
    let values: [Float] = (0..<n).map { _ in
      let m = rng.uniform(in: 0.1...1.5)
      return positive || rng.uniform() < 0.5 ? m : -m
    }
    return try! Tensor(values, shape: shape, requiresGrad: true)
  }

  func check(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Tensor]) throws -> Tensor) {
    do {
      let result = try GradientCheck.run(inputs, f)
      XCTAssertLessThan(result.maxError, 1e-3, "\(name): \(result.worst.map { "\($0)" } ?? "")", file: file, line: line)
    } catch {
      XCTFail("\(name): \(error)", file: file, line: line)
    }
  }

  func testArithmeticWithBroadcasting() {
    check("+", [input([2, 3]), input([3])]) { try $0[0] + $0[1] }
    check("-", [input([2, 3]), input([2, 1])]) { try $0[0] - $0[1] }
    check("*", [input([2, 3]), input([1, 3])]) { try $0[0] * $0[1] }
    check("/", [input([2, 3]), input([3], positive: true)]) { try $0[0] / $0[1] }
    check("neg and scalars", [input([4])]) { (3 - 2 * (-$0[0]) / 4) + 1 }
    check("scalar / x", [input([4], positive: true)]) { 2 / $0[0] }
  }

  func testElementwiseFunctions() {
    check("exp", [input([5])]) { $0[0].exp() }
    check("log", [input([5], positive: true)]) { $0[0].log() }
    check("sqrt", [input([5], positive: true)]) { $0[0].sqrt() }
    check("pow", [input([5], positive: true)]) { $0[0].pow(2.5) }
    check("abs", [input([5])]) { $0[0].abs() }
    check("clamp", [input([6])]) { try $0[0].clamp(min: -0.05, max: 0.05) * 10 }
  }

  func testReductions() {
    check("sum", [input([2, 3])]) { $0[0].sum() }
    check("sum axis", [input([2, 3, 2])]) { try $0[0].sum(axis: 1) }
    check("mean", [input([2, 3])]) { $0[0].mean() }
    check("mean axis", [input([2, 3])]) { try $0[0].mean(axis: 0, keepDims: true) }
    check("max", [input([7])]) { try $0[0].max() }
    check("max axis", [input([3, 4])]) { try $0[0].max(axis: 1) }
  }

  func testShapeOperations() {
    check("reshape", [input([2, 3])]) { try $0[0].reshaped([3, 2]) * $0[0].reshaped([3, 2]) }
    check("transpose", [input([2, 3])]) { try $0[0].transposed() }
    check("permute", [input([2, 3, 2])]) { try $0[0].permuted([2, 0, 1]) }
    check("slice", [input([4, 2])]) { try $0[0].slice(1..<3) }
    check("gatherRows", [input([3, 2])]) { try $0[0].gatherRows([2, 0, 2]) }
    check("concatenate", [input([2, 2]), input([2, 3])]) { try Tensor.concatenate([$0[0], $0[1]], axis: 1) }
  }

  func testMatmul() {
    check("matmul 2-D", [input([3, 4]), input([4, 2])]) { try $0[0].matmul($0[1]) }
    check("matmul batched", [input([2, 3, 4]), input([2, 4, 2])]) { try $0[0].matmul($0[1]) }
    check("matmul shared", [input([2, 3, 4]), input([4, 2])]) { try $0[0].matmul($0[1]) }
  }

  func testSoftmaxFamily() {
    check("softmax", [input([2, 4])]) { try $0[0].softmax() }
    check("softmax axis 0", [input([3, 2])]) { try $0[0].softmax(axis: 0) }
    check("logSoftmax", [input([2, 4])]) { try $0[0].logSoftmax() }
    check("softmaxCrossEntropy", [input([3, 4])]) { try $0[0].softmaxCrossEntropy(labels: [0, 3, 1]) }
  }

  func testActivations() {
    let x = input([8])
    check("sigmoid", [x]) { $0[0].sigmoid() }
    check("tanh", [x]) { $0[0].tanh() }
    check("relu", [x]) { $0[0].relu() }
    check("leakyRelu", [x]) { $0[0].leakyRelu(slope: 0.2) }
    check("elu", [x]) { $0[0].elu(alpha: 0.7) }
    check("softplus", [x]) { $0[0].softplus() }
    check("gelu", [x]) { $0[0].gelu() }
    check("silu", [x]) { $0[0].silu() }
  }

  func testConvolutionAndPooling() {
    check("conv2d", [input([2, 2, 5, 5]), input([3, 2, 3, 3]), input([3])]) { try $0[0].conv2d(weight: $0[1], bias: $0[2]) }
    check("conv2d stride 2 padding 1", [input([1, 2, 5, 4]), input([2, 2, 3, 2])]) { try $0[0].conv2d(weight: $0[1], stride: 2, padding: 1) }
    check("maxPool2d", [input([1, 2, 4, 4])]) { try $0[0].maxPool2d(kernel: 2) }
    check("maxPool2d overlapping", [input([1, 1, 5, 5])]) { try $0[0].maxPool2d(kernel: 3, stride: 2, padding: 1) }
    check("avgPool2d", [input([2, 1, 4, 4])]) { try $0[0].avgPool2d(kernel: 2) }
  }

  func testAComposedNetwork() {
    check("two-layer MLP", [input([4, 3]), input([3, 5]), input([5]), input([5, 2])]) { v in
      try (v[0].matmul(v[1]) + v[2]).tanh().matmul(v[3]).softmaxCrossEntropy(labels: [0, 1, 1, 0])
    }
  }

  func testTheCheckCatchesAWrongGradient() throws {
    // An operation whose backward is deliberately wrong (2x instead of 3x²) must fail the check.
    let x = input([4])
    let result = try GradientCheck.run([x]) { v in
      Tensor.unaryOp(v[0], name: "cube", forward: { $0 * $0 * $0 }, derivative: { x, _ in 2 * x })
    }
    XCTAssertGreaterThan(result.maxError, 0.1)
  }
}
