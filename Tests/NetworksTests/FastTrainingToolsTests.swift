import Networks
import Tensors
import XCTest

/// The layers and training tools lesson 10 adds: batch normalisation, residual connections, global pooling,
/// scaling, the learning-rate schedule, the weight average and decoupled weight decay.
final class FastTrainingToolsTests: XCTestCase {
  func testResidualAndGlobalPoolGradients() throws {
    var rng = SeededGenerator(seed: 3)
    let conv = try Conv2D(2, 2, kernel: 3, padding: 1, useBias: false, rng: &rng)
    let norm = try BatchNorm(2, momentum: 0.5)
    let block = Residual([conv, norm, Activation(.gelu)])
    let x = try Tensor.uniform([3, 2, 4, 4], in: -1...1, using: &rng, requiresGrad: true)
    let result = try GradientCheck.run([x, conv.weight, norm.shift]) { _ in
      try Scale(0.5).forward(try GlobalPool(.average).forward(try block.forward(x, training: true), training: true), training: true)
    }
    XCTAssertLessThan(result.maxError, 2e-3, "\(result.worst.map { "\($0)" } ?? "")")
    // The maximum on values far apart (a nudge never changes the winner), square and not square planes.
    for shape in [[2, 3, 3, 3], [2, 2, 2, 5]] {
      let n = shape.reduce(1, *)
      var order = Array(0..<n)
      order.shuffle(using: &rng)
      let y = try Tensor(order.map { Float($0) * 0.1 }, shape: shape, requiresGrad: true)
      let check = try GradientCheck.run([y], h: 1e-2) { try GlobalPool(.max).forward($0[0], training: true) }
      XCTAssertLessThan(check.maxError, 1e-3, "\(shape): \(check.worst.map { "\($0)" } ?? "")")
      XCTAssertEqual(try GlobalPool(.max).forward(y, training: false).shape, [2, shape[1]])
    }
    XCTAssertEqual(block.namedParameters.map(\.0), ["body.0.weight", "body.1.scale", "body.1.shift"])
    XCTAssertEqual(block.namedBuffers.map(\.0), ["body.1.running_mean", "body.1.running_variance"])
    XCTAssertEqual(try GlobalPool(.max).outputShape(for: [5, 3, 3]), [5])
    // A body that changes the shape is refused with one line.
    let bad = Residual([try Conv2D(2, 3, kernel: 3, padding: 1, rng: &rng)])
    XCTAssertThrowsError(try bad.forward(try Tensor.zeros([1, 2, 4, 4]), training: false)) { XCTAssertTrue("\($0)".contains("same shape"), "\($0)") }
    XCTAssertThrowsError(try bad.outputShape(for: [2, 4, 4]))
    XCTAssertThrowsError(try GlobalPool(.max).forward(try Tensor.zeros([2, 3]), training: false))
  }

  /// Conv2D then MaxPool2D(2) (no ReLU between) runs fused: the same outputs and gradients as layer by layer.
  func testSequentialFusesConvAndPoolWithoutReLU() throws {
    var rng = SeededGenerator(seed: 5)
    let model = Sequential([try Conv2D(2, 3, kernel: 3, padding: 1, useBias: false, rng: &rng), MaxPool2D(2), try BatchNorm(3), Activation(.gelu)])
    XCTAssertTrue(model.fusion(at: 0) == (2, false, true))
    let x = try Tensor.uniform([2, 2, 6, 6], in: -1...1, using: &rng)
    func run(_ forward: () throws -> Tensor) throws -> [Float] {
      for p in model.parameters { p.zeroGrad() }
      let y = try forward()
      try (y * y).sum().backward()
      return y.data + model.parameters.flatMap { $0.grad! }
    }
    let fused = try run { try model.forward(x, training: true) }
    let separate = try run {
      var h = x
      for layer in model.layers { h = try layer.forward(h, training: true) }
      return h
    }
    XCTAssertEqual(fused, separate)
  }

  func testBatchNormLayer() throws {
    let bn = try BatchNorm(2, momentum: 0.4, learnScale: false)
    XCTAssertEqual(bn.namedParameters.map(\.0), ["shift"])
    XCTAssertEqual(bn.namedBuffers.map(\.0), ["scale", "running_mean", "running_variance"])
    let x = try Tensor([1, 2, 3, 4, 5, 6, 7, 8], shape: [4, 2])
    let y = try bn.forward(x, training: true)
    // Channel 0 holds 1, 3, 5, 7: mean 4, variance 5.
    XCTAssertEqual(y.data[0], -3 / (5 + 1e-5).squareRoot(), accuracy: 1e-6)
    XCTAssertEqual(bn.runningMean.data[0], 0.6 * 0 + 0.4 * 4, accuracy: 1e-6)
    XCTAssertEqual(bn.runningVariance.data[0], 0.6 * 1 + 0.4 * 20 / 3, accuracy: 1e-5)
    XCTAssertThrowsError(try bn.forward(try Tensor.zeros([4, 3]), training: true)) { XCTAssertTrue("\($0)".contains("BatchNorm"), "\($0)") }
    XCTAssertThrowsError(try BatchNorm(0))
    XCTAssertThrowsError(try BatchNorm(2, momentum: -1))
  }

  func testLearningRateSchedule() throws {
    let s = try LearningRateSchedule.warmupLinearDecay(warmup: 0.25, start: 0.2, end: 0.1)
    XCTAssertEqual(s.multiplier(step: 0, of: 100), 0.2, accuracy: 1e-12)
    XCTAssertEqual(s.multiplier(step: 25, of: 100), 1, accuracy: 1e-12)
    XCTAssertEqual(s.multiplier(step: 10, of: 100), 0.2 + 0.8 * 0.4, accuracy: 1e-12)
    XCTAssertEqual(s.multiplier(step: 100, of: 100), 0.1, accuracy: 1e-12)
    XCTAssertEqual(s.multiplier(step: 500, of: 100), 0.1, accuracy: 1e-12)
    XCTAssertEqual(LearningRateSchedule.constant.multiplier(step: 3, of: 10), 1)
    XCTAssertThrowsError(try LearningRateSchedule(points: [(0, 1), (0.5, 2)]))
    XCTAssertThrowsError(try LearningRateSchedule(points: [(0, 1), (0.5, 2), (0.4, 1), (1, 0)]))
    XCTAssertThrowsError(try LearningRateSchedule.warmupLinearDecay(warmup: 1.5, start: 0, end: 0))
  }

  func testWeightAverage() throws {
    let w = try Tensor([0, 10], shape: [2])
    let ema = WeightAverage([w])
    w.data = [10, 20]
    ema.update(decay: 0.75)
    XCTAssertEqual(w.data, [10, 20])
    ema.withAveraged { XCTAssertEqual(w.data, [2.5, 12.5]) }
    XCTAssertEqual(w.data, [10, 20])
    ema.update(decay: 0.5, copyBack: true)
    XCTAssertEqual(w.data, [6.25, 16.25])
  }

  /// Decoupled weight decay shrinks w by lr λ before the (Nesterov) step; coupled decay adds λw to g.
  func testSGDDecoupledWeightDecay() throws {
    let w = try Tensor([2], requiresGrad: true)
    let sgd = try SGD([w], learningRate: 0.1, momentum: 0.5, nesterov: true, decoupledWeightDecay: 0.5)
    w.grad = [1]
    sgd.step()
    // w = 2 (1 - 0.05) = 1.9; v = 1; w -= 0.1 (1 + 0.5) = 1.75.
    XCTAssertEqual(w.data[0], 1.75, accuracy: 1e-6)
    let u = try Tensor([2], requiresGrad: true)
    let coupled = try SGD([u], learningRate: 0.1, weightDecay: 0.5)
    u.grad = [1]
    coupled.step()
    XCTAssertEqual(u.data[0], 2 - 0.1 * (1 + 1), accuracy: 1e-6)
    XCTAssertThrowsError(try SGD([w], learningRate: 0.1, decoupledWeightDecay: -1))
  }
}
