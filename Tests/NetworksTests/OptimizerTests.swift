import Networks
import Tensors
import XCTest

/// One step of each optimizer against values worked out by hand.
final class OptimizerTests: XCTestCase {
  func parameter(_ w: [Float], grad: [Float]) -> Tensor {
    let p = try! Tensor(w, shape: [w.count], requiresGrad: true)
    p.grad = grad
    return p
  }

  func testSGD() throws {
    let p = parameter([1, -2], grad: [0.5, -1])
    try SGD([p], learningRate: 0.1).step()
    XCTAssertEqual(p.data, [0.95, -1.9])
  }

  func testSGDWeightDecay() throws {
    let p = parameter([1, -2], grad: [0.5, -1])
    try SGD([p], learningRate: 0.1, weightDecay: 0.1).step()  // g + 0.1 w = [0.6, -1.2]
    XCTAssertEqual(p.data[0], 0.94, accuracy: 1e-7)
    XCTAssertEqual(p.data[1], -1.88, accuracy: 1e-7)
  }

  func testMomentumOverTwoSteps() throws {
    let p = parameter([1], grad: [1])
    let opt = try SGD([p], learningRate: 0.1, momentum: 0.9)
    opt.step()  // v = 1, w = 0.9
    XCTAssertEqual(p.data[0], 0.9, accuracy: 1e-7)
    opt.step()  // v = 0.9 + 1 = 1.9, w = 0.9 - 0.19 = 0.71
    XCTAssertEqual(p.data[0], 0.71, accuracy: 1e-6)
  }

  func testNesterov() throws {
    let p = parameter([1], grad: [1])
    let opt = try SGD([p], learningRate: 0.1, momentum: 0.9, nesterov: true)
    opt.step()  // v = 1, update = g + 0.9 v = 1.9
    XCTAssertEqual(p.data[0], 0.81, accuracy: 1e-6)
  }

  func testRMSProp() throws {
    let p = parameter([1], grad: [2])
    try RMSProp([p], learningRate: 0.01, rho: 0.9, epsilon: 0).step()
    // s = 0.1 * 4 = 0.4; w = 1 - 0.01 * 2 / sqrt(0.4)
    XCTAssertEqual(Double(p.data[0]), 1 - 0.01 * 2 / 0.4.squareRoot(), accuracy: 1e-6)
  }

  func testAdamFirstStepMovesByTheLearningRate() throws {
    let p = parameter([1, 1], grad: [3, -0.01])
    let opt = try Adam([p], learningRate: 0.1, epsilon: 0)
    opt.step()  // m̂ = g, v̂ = g²: each weight moves by lr * sign(g)
    XCTAssertEqual(p.data[0], 0.9, accuracy: 1e-6)
    XCTAssertEqual(p.data[1], 1.1, accuracy: 1e-6)
    p.grad = [1, 1]
    opt.step()
    // m = 0.9*0.1*3... worked in Double:
    let m = 0.9 * 0.3 + 0.1 * 1.0, v = 0.999 * 0.001 * 9 + 0.001 * 1.0
    let expected = 0.9 - 0.1 * (m / (1 - 0.81)) / (v / (1 - 0.998001)).squareRoot()
    XCTAssertEqual(Double(p.data[0]), expected, accuracy: 1e-5)
  }

  func testBadSettingsAreRefused() {
    XCTAssertThrowsError(try SGD([], learningRate: 0))
    XCTAssertThrowsError(try SGD([], learningRate: 0.1, momentum: 1))
    XCTAssertThrowsError(try Adam([], learningRate: -1))
  }
}
