import Networks
import Tensors
import XCTest

/// A run saved by `TrainingCheckpoint` and loaded into a fresh model and optimizer continues with the same
/// bits as the run that never stopped; a checkpoint that does not fit is refused in one line, changing nothing.
final class TrainingCheckpointTests: XCTestCase {
  var folder: String!

  override func setUp() {
    folder = NSTemporaryDirectory() + "/neural-lessons-training-checkpoints-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

  /// A layer with a buffer (as batch normalisation keeps its running statistics): a running count of the
  /// batches it has seen in training, added to its output so that it changes the numbers.
  final class CountingLayer: Layer {
    let seen = Tensor(scalar: 0)
    var kind: String { "Counting" }
    var namedBuffers: [(String, Tensor)] { [("seen", seen)] }
    func forward(_ x: Tensor, training: Bool) throws -> Tensor {
      if training { seen.data[0] += 1 }
      return try x + Tensor(scalar: 0.01 * seen.data[0])
    }
    func outputShape(for input: [Int]) throws -> [Int] { input }
  }

  func model(seed: UInt64) throws -> Sequential {
    var rng = SeededGenerator(seed: seed)
    return Sequential([try Dense(3, 5, rng: &rng), Activation(.tanh), CountingLayer(), try Dense(5, 2, rng: &rng)])
  }

  /// Eight samples, two classes.
  let x = try! Tensor((0..<24).map { Float(($0 * 37) % 11) / 5 - 1 }, shape: [8, 3])
  let labels = [0, 1, 1, 0, 1, 0, 0, 1]

  func train(_ model: Sequential, _ optimizer: Optimizer, steps: Int) throws {
    for _ in 0..<steps {
      optimizer.zeroGrad()
      let loss = try Loss.softmaxCrossEntropy(logits: try model.forward(x, training: true), labels: labels)
      try loss.backward()
      optimizer.step()
    }
  }

  func bits(_ model: Sequential) -> [[UInt32]] { (model.namedParameters + model.namedBuffers).map { $0.1.data.map(\.bitPattern) } }

  /// Trains 3 steps, saves, trains 2 more; a fresh model and optimizer loaded from the file and trained 2
  /// steps end with the same bits (parameters, buffers, optimizer state and step count). Without the
  /// optimizer's state (the weights alone) they would not, so the comparison can fail.
  func checkResumesBitForBit(_ makeOptimizer: ([Tensor]) throws -> ResumableOptimizer, file: StaticString = #filePath, line: UInt = #line) throws {
    let path = folder + "/run.safetensors"
    let a = try model(seed: 1), optA = try makeOptimizer(a.parameters)
    try train(a, optA, steps: 3)
    var history = History()
    history.trainLoss = [0.5]; history.trainAccuracy = [0.75]; history.validationLoss = [nil]; history.validationAccuracy = [nil]
    history.epochSeconds = [1]; history.validationSeconds = [0]
    try TrainingCheckpoint.save(to: path, model: a, optimizer: optA, history: history, metadata: ["run": "test"])
    try train(a, optA, steps: 2)

    let b = try model(seed: 2), optB = try makeOptimizer(b.parameters)
    XCTAssertNotEqual(bits(a), bits(b), file: file, line: line)
    let (loadedHistory, metadata) = try TrainingCheckpoint.load(from: path, model: b, optimizer: optB)
    XCTAssertEqual(loadedHistory, history, file: file, line: line)
    XCTAssertEqual(metadata["run"], "test", file: file, line: line)
    XCTAssertEqual(metadata["epoch"], "1", file: file, line: line)
    // The history's keys in sorted order, so that the same history is the same bytes in every process.
    let json = try XCTUnwrap(metadata["history"], file: file, line: line)
    let places = ["epochSeconds", "trainAccuracy", "trainLoss", "validationAccuracy", "validationLoss", "validationSeconds"].map {
      json.range(of: "\"\($0)\"")?.lowerBound.utf16Offset(in: json) ?? -1
    }
    XCTAssertTrue(!places.contains(-1) && places == places.sorted(), "history keys out of order: \(json)", file: file, line: line)
    XCTAssertEqual(optB.stepCount, 3, file: file, line: line)
    try train(b, optB, steps: 2)
    XCTAssertEqual(bits(b), bits(a), "resumed training differs from the uninterrupted run", file: file, line: line)
    XCTAssertEqual(try optB.stateTensors().map { $0.1.data.map(\.bitPattern) }, try optA.stateTensors().map { $0.1.data.map(\.bitPattern) }, file: file, line: line)
    XCTAssertEqual(optB.stepCount, optA.stepCount, file: file, line: line)

    // The weights and buffers alone, with a fresh optimizer, give other numbers (where the optimizer has state).
    if try !optA.stateTensors().isEmpty {
      let c = try model(seed: 3), optC = try makeOptimizer(c.parameters)
      for (name, t) in try Checkpoint.load(path) where name.hasPrefix("model.") {
        (c.namedParameters + c.namedBuffers).first { "model.\($0.0)" == name }!.1.data = t.data
      }
      try train(c, optC, steps: 2)
      XCTAssertNotEqual(bits(c), bits(a), "the optimizer's state made no difference: the test cannot fail", file: file, line: line)
    }
  }

  func testAdamResumesBitForBit() throws {
    try checkResumesBitForBit { try Adam($0, learningRate: 0.05) }
  }

  func testSGDWithMomentumResumesBitForBit() throws {
    try checkResumesBitForBit { try SGD($0, learningRate: 0.1, momentum: 0.9) }
    try checkResumesBitForBit { try SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) }
  }

  func testRMSPropAndPlainSGDResumeBitForBit() throws {
    try checkResumesBitForBit { try RMSProp($0, learningRate: 0.01) }
    try checkResumesBitForBit { try SGD($0, learningRate: 0.1) }
  }

  /// A run that keeps a weight average (as lesson 10's): saved with it and resumed with it, the averages end
  /// with the same bits as the uninterrupted run's; an average started afresh from the resumed weights does not
  /// (so the comparison can fail). A file with an average needs one to load into, and the other way round.
  func testWeightAverageResumesBitForBit() throws {
    let path = folder + "/averaged.safetensors"
    func averaged(_ m: Sequential, _ avg: WeightAverage) -> [[UInt32]] { avg.withAveraged { bits(m) } }
    func trainAveraging(_ m: Sequential, _ opt: Optimizer, _ avg: WeightAverage, steps: Int) throws {
      for _ in 0..<steps {
        try train(m, opt, steps: 1)
        avg.update(decay: 0.6)
      }
    }
    let a = try model(seed: 1), optA = try Adam(a.parameters, learningRate: 0.05)
    let avgA = WeightAverage(a.parameters + a.namedBuffers.map(\.1))
    try trainAveraging(a, optA, avgA, steps: 3)
    try TrainingCheckpoint.save(to: path, model: a, optimizer: optA, average: avgA, history: History())
    try trainAveraging(a, optA, avgA, steps: 2)

    let b = try model(seed: 2), optB = try Adam(b.parameters, learningRate: 0.05)
    let avgB = WeightAverage(b.parameters + b.namedBuffers.map(\.1))
    _ = try TrainingCheckpoint.load(from: path, model: b, optimizer: optB, average: avgB)
    try trainAveraging(b, optB, avgB, steps: 2)
    XCTAssertEqual(averaged(b, avgB), averaged(a, avgA), "the resumed weight average differs from the uninterrupted run's")
    XCTAssertEqual(bits(b), bits(a))

    let c = try model(seed: 3), optC = try Adam(c.parameters, learningRate: 0.05)
    _ = try TrainingCheckpoint.load(from: path, model: c, optimizer: optC, average: WeightAverage(c.parameters + c.namedBuffers.map(\.1)))
    let fresh = WeightAverage(c.parameters + c.namedBuffers.map(\.1))
    try trainAveraging(c, optC, fresh, steps: 2)
    XCTAssertNotEqual(averaged(c, fresh), averaged(a, avgA), "the saved average made no difference: the test cannot fail")

    // Loading without an average, or an average from a file without one: refused, nothing changed.
    let d = try model(seed: 4), optD = try Adam(d.parameters, learningRate: 0.05), before = bits(d)
    XCTAssertThrowsError(try TrainingCheckpoint.load(from: path, model: d, optimizer: optD)) { error in
      XCTAssert("\(error)".contains("keeps no weight average"), "\(error)")
    }
    let plain = folder + "/plain.safetensors"
    try TrainingCheckpoint.save(to: plain, model: a, optimizer: optA, history: History())
    XCTAssertThrowsError(try TrainingCheckpoint.load(from: plain, model: d, optimizer: optD, average: WeightAverage(d.parameters))) { error in
      XCTAssert("\(error)".contains("lacks the weight average ('average.0')"), "\(error)")
    }
    XCTAssertEqual(bits(d), before)
  }

  /// The file's layout: what lesson 6's README tells Python readers.
  func testLayoutNamesTheModelAndTheOptimizerState() throws {
    let path = folder + "/adam.safetensors"
    let m = try model(seed: 1), adam = try Adam(m.parameters)
    try train(m, adam, steps: 1)
    try TrainingCheckpoint.save(to: path, model: m, optimizer: adam, history: History(), metadata: ["split": "none"])
    let names = try Checkpoint.load(path).map(\.0)
    XCTAssertEqual(Set(names), ["model.0.weight", "model.0.bias", "model.2.seen", "model.3.weight", "model.3.bias",
      "adam.m.0", "adam.m.1", "adam.m.2", "adam.m.3", "adam.v.0", "adam.v.1", "adam.v.2", "adam.v.3"])
    let metadata = try Checkpoint.metadata(path)
    XCTAssertEqual(metadata["adam_t"], "1")
    XCTAssertEqual(metadata["epoch"], "0")
    XCTAssertEqual(metadata["split"], "none")
    XCTAssertThrowsError(try TrainingCheckpoint.save(to: path, model: m, optimizer: adam, history: History(), metadata: ["adam_t": "0"])) {
      XCTAssert("\($0)".contains("'adam_t' is the checkpoint's own"), "\($0)")
    }
  }

  /// Another optimizer, another network, a damaged step count or history: one line each, and nothing loaded.
  func testAMismatchIsRefusedAndChangesNothing() throws {
    let path = folder + "/adam.safetensors"
    let m = try model(seed: 1), adam = try Adam(m.parameters)
    try train(m, adam, steps: 2)
    var history = History()
    history.trainLoss = [0.5]; history.trainAccuracy = [nil]; history.validationLoss = [nil]; history.validationAccuracy = [nil]
    history.epochSeconds = [1]; history.validationSeconds = [0]
    try TrainingCheckpoint.save(to: path, model: m, optimizer: adam, history: history)

    func refused(_ target: Sequential, _ optimizer: ResumableOptimizer, from file: String = path, _ expected: [String], mismatch: Bool, line: UInt = #line) throws {
      let before = bits(target), stateBefore = try optimizer.stateTensors().map { $0.1.data }, stepBefore = optimizer.stepCount
      XCTAssertThrowsError(try TrainingCheckpoint.load(from: file, model: target, optimizer: optimizer), line: line) { error in
        for e in expected { XCTAssert("\(error)".contains(e), "\(error) lacks \(e)", line: line) }
        XCTAssertEqual(error is TrainingCheckpoint.Mismatch, mismatch, "\(type(of: error))", line: line)
        XCTAssertFalse("\(error)".contains("\n"), line: line)
      }
      XCTAssertEqual(bits(target), before, "the model changed", line: line)
      XCTAssertEqual(try optimizer.stateTensors().map { $0.1.data }, stateBefore, "the optimizer's state changed", line: line)
      XCTAssertEqual(optimizer.stepCount, stepBefore, line: line)
    }

    // SGD with momentum needs its velocities: an Adam checkpoint lacks them.
    let fresh = try model(seed: 2)
    try refused(fresh, try SGD(fresh.parameters, learningRate: 0.1, momentum: 0.9), ["lacks the optimizer's state", "sgd.velocity.0"], mismatch: true)
    // Plain SGD has no state, but the file holds Adam's.
    try refused(fresh, try SGD(fresh.parameters, learningRate: 0.1), ["holds 'adam.", "neither this network nor its optimizer"], mismatch: true)
    // Another network.
    var rng = SeededGenerator(seed: 4)
    let wider = Sequential([try Dense(3, 6, rng: &rng), Activation(.tanh), CountingLayer(), try Dense(6, 2, rng: &rng)])
    try refused(wider, try Adam(wider.parameters), ["does not match this network ('0.weight')", "delete it to start afresh"], mismatch: true)
    let noBuffer = Sequential([try Dense(3, 5, rng: &rng), Activation(.tanh), try Dense(5, 2, rng: &rng)])
    try refused(noBuffer, try Adam(noBuffer.parameters), ["does not match this network ('2.weight')"], mismatch: true)

    // Damaged: a step count out of range, a history whose lists differ in length, a NaN moment.
    let saved = try Checkpoint.load(path), metadata = try Checkpoint.metadata(path)
    func variant(_ name: String, tensors: [(String, Tensor)] = saved, _ change: (inout [String: String]) -> Void) throws -> String {
      var meta = metadata
      change(&meta)
      let file = folder + "/" + name + ".safetensors"
      try Checkpoint.save(tensors, to: file, metadata: meta)
      return file
    }
    try refused(fresh, try Adam(fresh.parameters), from: try variant("step") { $0["adam_t"] = String(Int.max) },
      ["damaged checkpoint", "Adam step count \(Int.max) is outside 0...\(Adam.maxStep)"], mismatch: false)
    try refused(fresh, try Adam(fresh.parameters), from: try variant("no-step") { $0["adam_t"] = nil }, ["lacks its training history"], mismatch: true)
    try refused(fresh, try Adam(fresh.parameters), from: try variant("history") { $0["history"] = $0["history"]!.replacingOccurrences(of: "\"epochSeconds\":[", with: "\"epochSeconds\":[1,") },
      ["damaged checkpoint", "unequal lengths"], mismatch: false)
    let nan = saved.map { name, t in name == "adam.v.1" ? (name, try! Tensor([Float](repeating: .nan, count: t.count), shape: t.shape)) : (name, t) }
    try refused(fresh, try Adam(fresh.parameters), from: try variant("nan", tensors: nan) { _ in }, ["damaged checkpoint", "'adam.v.1' holds nan"], mismatch: false)

    // The right pair loads.
    let adamFresh = try Adam(fresh.parameters)
    XCTAssertEqual(try TrainingCheckpoint.load(from: path, model: fresh, optimizer: adamFresh).history, history)
    XCTAssertEqual(bits(fresh), bits(m))
    XCTAssertEqual(adamFresh.t, 2)
  }
}
