import Datasets
import Networks
import Tensors
import XCTest

final class TrainingTests: XCTestCase {
  func mlp(_ sizes: [Int], _ activation: ActivationKind = .tanh, seed: UInt64 = 1) throws -> Sequential {
    var rng = SeededGenerator(seed: seed)
    var layers: [Layer] = []
    for i in 0..<(sizes.count - 1) {
      layers.append(try Dense(sizes[i], sizes[i + 1], initializer: .xavierUniform, rng: &rng))
      if i < sizes.count - 2 { layers.append(Activation(activation)) }
    }
    return Sequential(layers)
  }

  func testMLPLearnsXORToFullAccuracy() throws {
    let data = try Toy2D.xor()
    let model = try mlp([2, 8, 1])
    let trainer = Trainer(loss: .binaryCrossEntropyWithLogits, optimizer: try Adam(model.parameters, learningRate: 0.05), epochs: 300, batchSize: 4, seed: 3, progress: ProgressPrinter(mode: .silent))
    let history = try trainer.fit(model, x: data.x, y: data.targets)
    XCTAssertEqual(history.trainAccuracy.last!, 1.0)
    XCTAssertLessThan(history.trainLoss.last!, 0.05)
  }

  func testMLPLearnsTwoMoonsToFullAccuracy() throws {
    let data = try Toy2D.moons(count: 200, noise: 0.1, seed: 4)
    let model = try mlp([2, 16, 16, 2])
    let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try Adam(model.parameters, learningRate: 0.02), epochs: 150, batchSize: 32, seed: 5, progress: ProgressPrinter(mode: .silent))
    let history = try trainer.fit(model, x: data.x, y: data.classIndices)
    XCTAssertEqual(history.trainAccuracy.last!, 1.0, "moons accuracy \(history.trainAccuracy.last!!)")
    let (_, accuracy) = try trainer.evaluate(model, x: data.x, y: data.classIndices)
    XCTAssertEqual(accuracy, 1.0)
  }

  func testTrainingIsReproducible() throws {
    func run() throws -> History {
      let data = try Toy2D.moons(count: 64, seed: 1)
      let model = try mlp([2, 8, 2])
      let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try SGD(model.parameters, learningRate: 0.1, momentum: 0.9), epochs: 3, batchSize: 16, seed: 9, progress: ProgressPrinter(mode: .silent))
      return try trainer.fit(model, x: data.x, y: data.classIndices)
    }
    let a = try run(), b = try run()
    XCTAssertEqual(a.trainLoss, b.trainLoss)
  }

  /// Validation time is recorded per epoch (part of the epoch's time), and histories saved before it existed
  /// still load, with zeros.
  func testValidationSecondsAndOldHistories() throws {
    let data = try Toy2D.moons(count: 64, seed: 1)
    let model = try mlp([2, 8, 2])
    let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try SGD(model.parameters, learningRate: 0.1), epochs: 2, batchSize: 16, seed: 9, progress: ProgressPrinter(mode: .silent))
    let history = try trainer.fit(model, data: try TensorData(x: data.x, y: data.classIndices), validation: try TensorData(x: data.x, y: data.classIndices))
    XCTAssertEqual(history.validationSeconds.count, 2)
    for (v, e) in zip(history.validationSeconds, history.epochSeconds) { XCTAssert(v > 0 && v <= e, "\(v) of \(e)") }
    var json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(history)) as! [String: Any]
    json["validationSeconds"] = nil
    let old = try JSONDecoder().decode(History.self, from: try JSONSerialization.data(withJSONObject: json))
    XCTAssertEqual(old.validationSeconds, [0, 0])
    XCTAssertEqual(old.trainLoss, history.trainLoss)
  }

  func testDivergenceStopsWithTheEpochAndBatch() throws {
    let data = try Toy2D.moons(count: 64, seed: 1)
    let model = try mlp([2, 8, 1], .relu)
    let trainer = Trainer(loss: .meanSquaredError, optimizer: try SGD(model.parameters, learningRate: 1e6), epochs: 5, batchSize: 8, seed: 1, progress: ProgressPrinter(mode: .silent))
    XCTAssertThrowsError(try trainer.fit(model, x: data.x, y: data.targets)) { error in
      guard case .diverged(let epoch, let batch, let loss, _)? = error as? TrainingError else { return XCTFail("\(error)") }
      XCTAssertGreaterThanOrEqual(epoch, 1)
      XCTAssertGreaterThanOrEqual(batch, 1)
      XCTAssertFalse(loss.isFinite)
      XCTAssert("\(error)".contains("training diverged at epoch \(epoch), batch \(batch)"), "\(error)")
    }
  }

  func testHooksSeeEveryEpochAndValidation() throws {
    let data = try Toy2D.moons(count: 64, seed: 1)
    let model = try mlp([2, 4, 2])
    var seen: [Int] = []
    var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try SGD(model.parameters, learningRate: 0.1), epochs: 4, batchSize: 16, progress: ProgressPrinter(mode: .silent))
    trainer.onEpochEnd = { seen.append($0.epoch) }
    let h = try trainer.fit(model, x: data.x, y: data.classIndices, validation: (data.x, data.classIndices))
    XCTAssertEqual(seen, [1, 2, 3, 4])
    XCTAssertEqual(h.validationLoss.compactMap { $0 }.count, 4)
    XCTAssertEqual(h.epochs, 4)
  }

  func testPlainProgressIsOneLinePerEpoch() throws {
    let data = try Toy2D.xor()
    let model = try mlp([2, 4, 1])
    var lines: [String] = []
    let trainer = Trainer(loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(model.parameters, learningRate: 0.1), epochs: 3, batchSize: 2, progress: ProgressPrinter(mode: .plain, write: { lines.append($0) }))
    _ = try trainer.fit(model, x: data.x, y: data.targets)
    XCTAssertEqual(lines.count, 3)
    XCTAssert(lines[0].hasPrefix("Epoch 1/3 - 2 batches - "), lines[0])
    XCTAssert(lines[2].contains("loss: ") && lines[2].contains("accuracy: "), lines[2])
  }

  func testTerminalProgressDrawsABar() throws {
    let data = try Toy2D.xor(copies: 4)
    let model = try mlp([2, 4, 1])
    var text = ""
    let trainer = Trainer(loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(model.parameters, learningRate: 0.1), epochs: 2, batchSize: 4, progress: ProgressPrinter(mode: .terminal, write: { text += $0 }))
    _ = try trainer.fit(model, x: data.x, y: data.targets)
    XCTAssert(text.contains("Epoch 1/2\n"))
    XCTAssert(text.contains("4/4 [==============================]"), text)
    XCTAssert(text.contains("ms/step"))
  }

  func testBadTrainingDataIsReported() throws {
    let model = try mlp([2, 2])
    let trainer = Trainer(loss: .meanSquaredError, optimizer: try SGD(model.parameters, learningRate: 0.1), epochs: 1, progress: ProgressPrinter(mode: .silent))
    XCTAssertThrowsError(try trainer.fit(model, x: try Tensor.zeros([4, 2]), y: try Tensor.zeros([3, 2]))) { error in
      XCTAssert("\(error)".contains("[4, 2]") && "\(error)".contains("[3, 2]"), "\(error)")
    }
  }
}

extension TrainingTests {
  /// The same seed gives the same numbers with any thread count (fixed reduction orders everywhere).
  func testCNNTrainingIsTheSameWithOneOrTwoThreads() throws {
    func run(threads: Int) throws -> [Double] {
      try KernelSettings.withThreads(threads) { try runOnce() }
    }
    func runOnce() throws -> [Double] {
      var rng = SeededGenerator(seed: 11)
      let x = try Tensor.uniform([24, 3, 10, 10], in: 0...1, using: &rng)
      let y = try Tensor((0..<24).map { Float($0 % 4) }, shape: [24])
      let model = Sequential([
        try Conv2D(3, 8, kernel: 3, rng: &rng), Activation(.relu), MaxPool2D(2),
        Flatten(), try Dense(8 * 4 * 4, 4, rng: &rng),
      ])
      let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try Adam(model.parameters, learningRate: 0.01), epochs: 2, batchSize: 8, seed: 3, progress: ProgressPrinter(mode: .silent))
      let h = try trainer.fit(model, x: x, y: y)
      return h.trainLoss + model.parameters.flatMap { $0.data.map(Double.init) }
    }
    let one = try run(threads: 1), two = try run(threads: 2)
    XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern))
  }
}
