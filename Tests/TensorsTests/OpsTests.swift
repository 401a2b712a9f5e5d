import Tensors
import XCTest

/// Every operation against values worked out by hand.
final class OpsTests: XCTestCase {
  func t(_ v: [Float], _ shape: [Int], grad: Bool = false) -> Tensor { try! Tensor(v, shape: shape, requiresGrad: grad) }

  func testCreation() throws {
    XCTAssertEqual(try Tensor.zeros([2, 2]).data, [0, 0, 0, 0])
    XCTAssertEqual(try Tensor.ones([3]).data, [1, 1, 1])
    XCTAssertEqual(try Tensor.full([1, 2], 7).data, [7, 7])
    XCTAssertEqual(try Tensor.arange(0, 1, step: 0.25).data, [0, 0.25, 0.5, 0.75])
    XCTAssertEqual(try Tensor.linspace(-1, 1, count: 5).data, [-1, -0.5, 0, 0.5, 1])
    XCTAssertEqual(try Tensor(rows: [[1, 2], [3, 4]]).shape, [2, 2])
    XCTAssertEqual(Tensor(scalar: 3).shape, [])
  }

  func testBroadcastingArithmetic() throws {
    let a = t([1, 2, 3, 4, 5, 6], [2, 3])
    XCTAssertEqual(try (a + t([10, 20, 30], [3])).data, [11, 22, 33, 14, 25, 36])
    XCTAssertEqual(try (a * t([2, 3], [2, 1])).data, [2, 4, 6, 12, 15, 18])
    XCTAssertEqual(try (a - Tensor(scalar: 1)).data, [0, 1, 2, 3, 4, 5])
    XCTAssertEqual(try (a / t([1, 2, 4], [1, 3])).data, [1, 1, 0.75, 4, 2.5, 1.5])
    XCTAssertEqual((2 * a + 1).data, [3, 5, 7, 9, 11, 13])
    XCTAssertEqual((-a).data, [-1, -2, -3, -4, -5, -6])
    XCTAssertEqual(try (t([1, 2], [2, 1, 1]) + t([10, 20, 30], [1, 3])).shape, [2, 1, 3])
  }

  func testElementwiseFunctions() throws {
    let x = t([1, 4, 9], [3])
    XCTAssertEqual(x.sqrt().data, [1, 2, 3])
    XCTAssertEqual(x.pow(2).data, [1, 16, 81])
    XCTAssertEqual(t([-2, 0, 3], [3]).abs().data, [2, 0, 3])
    XCTAssertEqual(try t([-2, 0.5, 3], [3]).clamp(min: 0, max: 1).data, [0, 0.5, 1])
    XCTAssertEqual(t([0], [1]).exp().data, [1])
    XCTAssertEqual(t([1], [1]).log().data, [0])
    XCTAssertEqual(try t([1, 5, 3], [3]).greater(t([2, 2, 3], [3])).data, [0, 1, 0])
    XCTAssertEqual(try t([1, 5, 3], [3]).equal(t([3], [1])).data, [0, 0, 1])
    XCTAssertEqual(t([1, 5, 3], [3]).less(3).data, [1, 0, 0])
  }

  func testReductions() throws {
    let a = t([1, 5, 3, 4, 2, 6], [2, 3])
    XCTAssertEqual(a.sum().item, 21)
    XCTAssertEqual(a.mean().item, 3.5)
    XCTAssertEqual(try a.sum(axis: 0).data, [5, 7, 9])
    XCTAssertEqual(try a.sum(axis: 1, keepDims: true).shape, [2, 1])
    XCTAssertEqual(try a.mean(axis: -1).data, [3, 4])
    XCTAssertEqual(try a.max().item, 6)
    XCTAssertEqual(try a.max(axis: 1).data, [5, 6])
    XCTAssertEqual(try a.argmax(axis: 1), [1, 2])
    XCTAssertEqual(try a.argmax(axis: 0), [1, 0, 1])
  }

  func testShapes() throws {
    let a = t([1, 2, 3, 4, 5, 6], [2, 3])
    XCTAssertEqual(try a.reshaped([3, -1]).shape, [3, 2])
    XCTAssertEqual(try a.transposed().data, [1, 4, 2, 5, 3, 6])
    let b = t(Array(0..<24).map(Float.init), [2, 3, 4])
    let p = try b.permuted([2, 0, 1])
    XCTAssertEqual(p.shape, [4, 2, 3])
    XCTAssertEqual(p.data[0..<6].map { $0 }, [0, 4, 8, 12, 16, 20])
    XCTAssertEqual(try a.slice(1..<2).data, [4, 5, 6])
    XCTAssertEqual(try a.gatherRows([1, 0, 1]).data, [4, 5, 6, 1, 2, 3, 4, 5, 6])
    XCTAssertEqual(try Tensor.concatenate([a, t([7, 8, 9], [1, 3])], axis: 0).data, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    XCTAssertEqual(try Tensor.concatenate([a, t([7, 8], [2, 1])], axis: 1).data, [1, 2, 3, 7, 4, 5, 6, 8])
  }

  func testMatmul() throws {
    let a = t([1, 2, 3, 4, 5, 6], [2, 3]), b = t([7, 8, 9, 10, 11, 12], [3, 2])
    XCTAssertEqual(try a.matmul(b).data, [58, 64, 139, 154])
    let batched = try t([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]).matmul(t([1, 0, 0, 1, 2, 0, 0, 2], [2, 2, 2]))
    XCTAssertEqual(batched.data, [1, 2, 3, 4, 10, 12, 14, 16])
    let shared = try t([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]).matmul(t([0, 1, 1, 0], [2, 2]))
    XCTAssertEqual(shared.data, [2, 1, 4, 3, 6, 5, 8, 7])
  }

  func testSoftmaxIsStable() throws {
    let s = try t([1, 2, 3, 1000, 1000, 1000], [2, 3]).softmax()
    let e = [exp(1.0), exp(2.0), exp(3.0)], z = e.reduce(0, +)
    for i in 0..<3 { XCTAssertEqual(Double(s.data[i]), e[i] / z, accuracy: 1e-6) }
    for i in 3..<6 { XCTAssertEqual(s.data[i], 1.0 / 3, accuracy: 1e-6) }
    let ls = try t([0, -1000], [1, 2]).logSoftmax()
    XCTAssertEqual(ls.data[0], 0, accuracy: 1e-6)
    XCTAssertEqual(ls.data[1], -1000, accuracy: 1e-3)
    let ce = try t([2, 1, 0.1, 0, 0, 0], [2, 3]).softmaxCrossEntropy(labels: [0, 2])
    let expected = (-log(exp(2.0) / (exp(2.0) + exp(1.0) + exp(0.1))) + log(3.0)) / 2
    XCTAssertEqual(Double(ce.item), expected, accuracy: 1e-6)
  }

  func testActivationValues() {
    let x = t([-1, 0, 1], [3])
    XCTAssertEqual(x.sigmoid().data[1], 0.5)
    XCTAssertEqual(Double(x.sigmoid().data[2]), 1 / (1 + exp(-1.0)), accuracy: 1e-7)
    XCTAssertEqual(x.relu().data, [0, 0, 1])
    XCTAssertEqual(x.leakyRelu(slope: 0.1).data, [-0.1, 0, 1])
    XCTAssertEqual(Double(x.elu().data[0]), exp(-1.0) - 1, accuracy: 1e-7)
    XCTAssertEqual(Double(x.softplus().data[1]), log(2.0), accuracy: 1e-7)
    XCTAssertEqual(Double(x.gelu().data[2]), 0.841344746, accuracy: 1e-6)
    XCTAssertEqual(Double(x.silu().data[2]), 1 / (1 + exp(-1.0)), accuracy: 1e-7)
    XCTAssertEqual(Double(x.tanh().data[0]), tanh(-1.0), accuracy: 1e-7)
    // No overflow far out.
    XCTAssertLessThan(t([-100], [1]).sigmoid().data[0], 1e-40)
    XCTAssertEqual(t([100], [1]).sigmoid().data, [1])
    XCTAssertEqual(t([100], [1]).softplus().data, [100])
  }

  func testConvolutionAndPooling() throws {
    // 1 image, 1 channel, 3x3; a 2x2 kernel of ones sums each window.
    let x = t([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3])
    let w = t([1, 1, 1, 1], [1, 1, 2, 2])
    XCTAssertEqual(try x.conv2d(weight: w).data, [12, 16, 24, 28])
    XCTAssertEqual(try x.conv2d(weight: w, bias: t([1], [1])).data, [13, 17, 25, 29])
    XCTAssertEqual(try x.conv2d(weight: w, stride: 2, padding: 1).data, [1, 5, 11, 28])
    // Two filters, two channels.
    let x2 = t([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2])
    let w2 = t([1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0], [2, 2, 2, 2])
    XCTAssertEqual(try x2.conv2d(weight: w2).data, [41, 12])
    let p = t([1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16], [1, 1, 4, 4])
    XCTAssertEqual(try p.maxPool2d(kernel: 2).data, [4, 8, 12, 16])
    XCTAssertEqual(try p.avgPool2d(kernel: 2).data, [2.5, 6.5, 10.5, 14.5])
    XCTAssertEqual(try p.maxPool2d(kernel: 3, stride: 1).shape, [1, 1, 2, 2])
  }
}
