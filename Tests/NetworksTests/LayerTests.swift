import Networks
import Tensors
import XCTest

final class LayerTests: XCTestCase {
  func testLossValues() throws {
    let p = try Tensor([0.5, 2, -1], shape: [3]), t = try Tensor([1, 2, 1], shape: [3])
    XCTAssertEqual(try Loss.meanSquaredError(p, t).item, (0.25 + 0 + 4) / 3, accuracy: 1e-6)
    XCTAssertEqual(try Loss.meanAbsoluteError(p, t).item, (0.5 + 0 + 2) / 3, accuracy: 1e-6)
    XCTAssertEqual(try Loss.huber(p, t, delta: 1).item, (0.125 + 0 + 1.5) / 3, accuracy: 1e-6)
    let prob = try Tensor([0.9, 0.2], shape: [2]), y = try Tensor([1, 0], shape: [2])
    XCTAssertEqual(Double(try Loss.binaryCrossEntropy(probabilities: prob, targets: y).item), -(log(0.9) + log(0.8)) / 2, accuracy: 1e-6)
    let z = try Tensor([2, -1, 50, -50], shape: [4]), y2 = try Tensor([1, 0, 1, 1], shape: [4])
    let expected = (log(1 + exp(-2.0)) + log(1 + exp(-1.0)) + log(1 + exp(-50.0)) + 50) / 4
    XCTAssertEqual(Double(try Loss.binaryCrossEntropy(logits: z, targets: y2).item), expected, accuracy: 1e-5)
    let s = try Tensor([0.5, -2, 3], shape: [3]), pm = try Tensor([1, -1, -1], shape: [3])
    XCTAssertEqual(try Loss.hinge(scores: s, targets: pm).item, (0.5 + 0 + 4) / 3, accuracy: 1e-6)
    XCTAssertThrowsError(try Loss.hinge(scores: s, targets: t))
    XCTAssertThrowsError(try Loss.meanSquaredError(p, try Tensor.zeros([2])))
  }

  func testLossGradients() throws {
    var rng = SeededGenerator(seed: 5)
    let targets = try Tensor.uniform([6], in: 0.1...0.9, using: &rng)
    let signs = try Tensor([1, -1, 1, 1, -1, -1], shape: [6])
    let cases: [(String, (Tensor) throws -> Tensor)] = [
      ("mse", { try Loss.meanSquaredError($0, targets) }),
      ("mae", { try Loss.meanAbsoluteError($0, targets) }),
      ("huber", { try Loss.huber($0, targets, delta: 0.5) }),
      ("bce", { try Loss.binaryCrossEntropy(probabilities: $0.sigmoid(), targets: targets) }),
      ("bce logits", { try Loss.binaryCrossEntropy(logits: $0, targets: targets) }),
      ("hinge", { try Loss.hinge(scores: $0 * 0.3, targets: signs) }),
    ]
    for (name, f) in cases {
      let x = try Tensor([1.3, -0.7, 2.1, -1.9, 0.6, -0.2], shape: [6], requiresGrad: true)
      let r = try GradientCheck.run([x]) { try f($0[0]) }
      XCTAssertLessThan(r.maxError, 1e-3, "\(name): \(r.worst.map { "\($0)" } ?? "")")
    }
  }

  func testDenseAndConvLayers() throws {
    var rng = SeededGenerator(seed: 1)
    let dense = try Dense(3, 2, rng: &rng)
    XCTAssertEqual(try dense(try Tensor.ones([4, 3])).shape, [4, 2])
    XCTAssertThrowsError(try dense(try Tensor.ones([4, 5]))) { XCTAssert("\($0)".contains("[batch, 3]") && "\($0)".contains("[4, 5]")) }
    let conv = try Conv2D(3, 8, kernel: 3, padding: 1, rng: &rng)
    XCTAssertEqual(try conv(try Tensor.ones([2, 3, 6, 6])).shape, [2, 8, 6, 6])
    XCTAssertThrowsError(try Conv2D(3, 8, kernel: 3, stride: 0, rng: &rng))
  }

  func testInitializerScales() throws {
    var rng = SeededGenerator(seed: 2)
    let he = try Initializer.heNormal.make([400, 100], fanIn: 400, fanOut: 100, using: &rng)
    let std = (he.data.map { Double($0 * $0) }.reduce(0, +) / Double(he.count)).squareRoot()
    XCTAssertEqual(std, (2.0 / 400).squareRoot(), accuracy: 0.003)
    let xavier = try Initializer.xavierUniform.make([50, 50], fanIn: 50, fanOut: 50, using: &rng)
    XCTAssert(xavier.data.allSatisfy { Swift.abs($0) <= (6.0 / 100).squareRoot() })
    XCTAssertTrue(he.requiresGrad)
  }

  func testDropoutTrainAndEval() throws {
    let d = try Dropout(0.5, seed: 3)
    let x = try Tensor.ones([1000])
    let train = try d.forward(x, training: true).data
    XCTAssert(train.allSatisfy { $0 == 0 || $0 == 2 })
    XCTAssertEqual(Double(train.filter { $0 == 0 }.count) / 1000, 0.5, accuracy: 0.06)
    XCTAssertEqual(try d.forward(x, training: false).data, x.data)
    XCTAssertThrowsError(try Dropout(1))
  }

  func testSummaryTableLikeKeras() throws {
    var rng = SeededGenerator(seed: 1)
    let model = try Models.cifarCNN(rng: &rng)
    // The CIFAR CNN of the course: Keras reports 122,570 parameters for it.
    XCTAssertEqual(model.parameterCount, 122_570)
    let summary = try model.summary(inputShape: [3, 32, 32])
    XCTAssert(summary.contains("conv2d (Conv2D)"), summary)
    XCTAssert(summary.contains("(None, 32, 30, 30)"), summary)
    XCTAssert(summary.contains("(None, 64, 4, 4)"), summary)
    XCTAssert(summary.contains("Total params: 122,570"), summary)
    XCTAssert(summary.contains("dense_1 (Dense)"), summary)
    XCTAssert(summary.contains("Trainable params: 122,570\nNon-trainable params: 0"), summary)
    // A frozen layer's parameters count apart (the first convolution: 32 x 3 x 3 x 3 weights).
    model.parameters[0].requiresGrad = false
    let frozen = try model.summary(inputShape: [3, 32, 32])
    XCTAssert(frozen.contains("Total params: 122,570\nTrainable params: 121,706\nNon-trainable params: 864"), frozen)
    XCTAssertThrowsError(try model.summary(inputShape: [1, 32, 32]))
  }
}

extension LayerTests {
  /// Sequential runs Conv2D + ReLU (+ MaxPool2D(2)) as one fused operation: the same outputs and gradients
  /// as running the layers one by one.
  func testSequentialFusesConvAndReLU() throws {
    var rng = SeededGenerator(seed: 31)
    let model = Sequential([
      try Conv2D(2, 3, kernel: 3, rng: &rng), Activation(.relu), MaxPool2D(2),
      try Conv2D(3, 4, kernel: 3, rng: &rng), Activation(.relu), Flatten(), try Dense(4 * 2 * 2, 2, rng: &rng),
    ])
    XCTAssertEqual((0..<model.layers.count).map(model.fusedRun(at:)), [3, 1, 1, 2, 1, 1, 1])
    let x = try Tensor.uniform([3, 2, 10, 10], in: -1...1, using: &rng)
    func gradients(_ forward: () throws -> Tensor) throws -> [[Float]] {
      for p in model.parameters { p.zeroGrad() }
      let y = try forward()
      try y.sum().backward()
      return [y.data] + model.parameters.map { $0.grad! }
    }
    let fused = try gradients { try model.forward(x) }
    let oneByOne = try gradients { try model.layers.reduce(x) { try $1.forward($0, training: false) } }
    XCTAssertEqual(fused, oneByOne)
    let ops = try model.forward(x).graph().map(\.op)
    XCTAssertTrue(ops.contains("conv2d+relu+maxpool") && ops.contains("conv2d+relu"), "the fused operations ran: \(ops)")
  }
}
