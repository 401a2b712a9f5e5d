// Lesson 7: a multi-layer perceptron on 8x8 handwritten digits: normalised inputs, initialisation, optimizers,
// what the first layer learned and where it goes wrong.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct DigitsLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "07-mlp-digits",
    abstract: "Lesson 7: an MLP (64 inputs, two hidden ReLU layers, softmax over 10 classes) on 1,797 handwritten digits.",
    discussion: "The data: --data FILE, else $DIGITS_CSV, else data/digits.csv (make data writes it). The lesson never downloads anything.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("The digits CSV file (64 pixels 0-16 and a label a line).", valueName: "file"))
  var data: String?

  @Option(name: .long, help: "Epochs of the main training (default: 40, or 3 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Batch size.")
  var batchSize: Int = 32

  @Option(name: .long, help: "Adam's learning rate (the final network).")
  var lr: Float = 1e-3

  @Option(name: .long, help: "Fraction of the images held out for the test set (stratified, fixed by --seed).")
  var testFraction: Double = 0.2

  func validate() throws {
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkAtLeast(batchSize, "--batch-size")
    try LessonOptions.checkPositive(lr, "--lr")
    guard testFraction > 0, testFraction < 1 else { throw ValidationError("--test-fraction must be between 0 and 1, got \(testFraction)") }
  }

  func run() throws {
    // The data first: a bad file stops the lesson before it writes anything.
    let path = Digits.locate(data)
    let digits = try Digits.load(csv: path)
    let split = digits.stratifiedSplit([1 - testFraction, testFraction], seed: options.seed)
    let (trainIdx, testIdx) = (split[0], split[1])
    guard trainIdx.count >= 10, !testIdx.isEmpty else {
      throw LessonError("\(path) has \(digits.count) images: too few to hold out a test set (need at least 20)")
    }
    let lesson = try Lesson(name: "07-mlp-digits", options: options)
    let quick = options.quick
    let epochs = self.epochs ?? (quick ? 3 : 40)
    lesson.say("Digits from \(path): \(digits.count) images, \(trainIdx.count) for training and \(testIdx.count) held out for the test")

    // MARK: Samples
    // figure: samples
    var tiles: [ImageTile] = []
    for c in 0..<10 {
      for i in trainIdx.filter({ digits.labels[$0] == c }).prefix(4) { tiles.append(try digitTile(digits.image(i), caption: "\(c)")) }
    }
    try lesson.save(Figure.imageGrid(tiles, columns: 10, tileSize: 64, title: "Four training images of each digit (8×8 pixels, values 0-16)"), as: "samples")
    // end figure

    // MARK: Normalisation: statistics from the training set only
    // figure: normalisation
    let rawTrain = try digits.features(trainIdx), rawTest = try digits.features(testIdx)
    let scaler = Standardiser(fitting: rawTrain)
    let xTrain = try scaler.apply(rawTrain), xTest = try scaler.apply(rawTest)
    let yTrain = try digits.labelTensor(trainIdx), yTest = try digits.labelTensor(testIdx)
    let trainSet = try TensorData(x: xTrain, y: yTrain), testSet = try TensorData(x: xTest, y: yTest)
    lesson.say(String(format: "Pixel means from the training set: %.2f to %.2f; %d pixels never vary (kept as they are)", scaler.mean.min()!, scaler.mean.max()!, scaler.constantColumns))

    let sizes = [64, 128, 64, 10]
    let silent = ProgressPrinter(mode: .silent)
    // The same weights for every comparison: each network is built from this seed.
    let initSeed = lesson.seed(1)

    // Raw pixels against standardised ones: plain SGD from the same start over a range of learning rates.
    let normEpochs = quick ? 2 : 8
    let rates: [Float] = quick ? [0.01, 0.1] : [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1]
    let inputs = [("raw pixels (0-16)", rawTrain, rawTest), ("standardised", xTrain, xTest)]
    // A run that diverges (NaN loss) counts as a loss of ln 10, as bad as guessing.
    var sweep: [[History]] = [[], []], sweepTest: [[Double]] = [[], []]
    for (k, (name, train, test)) in inputs.enumerated() {
      for rate in rates {
        let model = try mlp(sizes, initializer: .heNormal, seed: initSeed)
        let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try SGD(model.parameters, learningRate: rate), epochs: normEpochs, batchSize: 64, seed: lesson.seed(2), progress: silent)
        do {
          sweep[k].append(try trainer.fit(model, data: try TensorData(x: train, y: yTrain)))
          sweepTest[k].append(try trainer.evaluate(model, x: test, y: yTest).accuracy!)
          lesson.say(String(format: "SGD, lr %g, %@: training loss %.3f after %d epochs", rate, name, sweep[k].last!.trainLoss.last!, normEpochs))
        } catch TrainingError.diverged(let epoch, _, _, _) {
          var h = History()
          h.trainLoss = [Double](repeating: log(10), count: normEpochs)
          sweep[k].append(h)
          sweepTest[k].append(0.1)
          lesson.say(String(format: "SGD, lr %g, %@: diverged in epoch %d", rate, name, epoch))
        }
      }
    }
    let best = (0..<2).map { k in (0..<rates.count).min { sweep[k][$0].trainLoss.last! < sweep[k][$1].trainLoss.last! }! }
    let norm = Figure(width: 1160, height: 440, columns: 2, title: "Plain SGD on raw and on standardised pixels, the same network and start")
    let nr = norm.axes(0, 0), nc = norm.axes(0, 1)
    nr.title = "training loss after \(normEpochs) epochs, by learning rate"
    nr.xLabel = "learning rate"
    nr.yLabel = "training loss"
    nr.xScale = .log
    nr.yScale = .log
    nc.title = "each at its best learning rate"
    nc.xLabel = "epoch"
    nc.yLabel = "training loss"
    nc.yScale = .log
    for (k, (name, _, _)) in inputs.enumerated() {
      nr.line(rates.map(Double.init), sweep[k].map { $0.trainLoss.last! }, label: name, color: Palette.color(k), marker: .circle)
      let h = sweep[k][best[k]]
      nc.line((1...h.epochs).map(Double.init), h.trainLoss, label: String(format: "%@, lr %g", name, rates[best[k]]), color: Palette.color(k), marker: .circle)
    }
    nr.horizontalLine(at: log(10), label: "ln 10: guessing")
    nr.legend = .lowerLeft
    nc.legend = .upperRight
    try lesson.save(norm, as: "normalisation")
    // end figure

    // MARK: Initialisation: the spread of activations and gradients, layer by layer
    // figure: initialisation
    let deep = [64] + [Int](repeating: 128, count: 6) + [10]
    let starts: [(String, Initializer)] = [("too small: N(0, 0.01²)", .normal(std: 0.01)), ("Xavier/Glorot", .xavierNormal), ("He", .heNormal)]
    let probe = Array(0..<min(256, trainIdx.count))
    let (probeX, probeY) = try trainSet.batch(probe, training: false)
    let initEpochs = quick ? 1 : 10
    var spreads: [(activations: [Double], gradients: [Double])] = [], initHistories: [History] = []
    for (name, initializer) in starts {
      let model = try mlp(deep, initializer: initializer, seed: initSeed)
      spreads.append(try layerSpreads(model, x: probeX, y: probeY))
      let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try SGD(model.parameters, learningRate: 0.01, momentum: 0.9), epochs: initEpochs, batchSize: 128, seed: lesson.seed(2), progress: silent)
      initHistories.append(try trainer.fit(model, data: trainSet))
      lesson.say(String(format: "%@ start: last hidden layer's activations spread %.2g, first layer's gradients %.2g; loss after %d epochs %.3f",
        name, spreads.last!.activations.last!, spreads.last!.gradients.first!, initEpochs, initHistories.last!.trainLoss.last!))
    }
    let initFig = Figure(width: 1320, height: 430, columns: 3, title: "Six hidden ReLU layers of \(deep[1]): how the start sets the signal's size going forward and backward")
    let ia = initFig.axes(0, 0), ig = initFig.axes(0, 1), il = initFig.axes(0, 2)
    ia.title = "activations (forward)"
    ia.xLabel = "hidden layer"
    ia.yLabel = "standard deviation"
    ia.yScale = .log
    ig.title = "weight gradients (backward)"
    ig.xLabel = "layer"
    ig.yLabel = "standard deviation of ∂L/∂W"
    ig.yScale = .log
    il.title = "training (SGD with momentum)"
    il.xLabel = "epoch"
    il.yLabel = "training loss"
    for (k, (name, _)) in starts.enumerated() {
      let s = spreads[k]
      ia.line((1...s.activations.count).map(Double.init), s.activations, label: name, color: Palette.color(k), marker: .circle)
      ig.line((1...s.gradients.count).map(Double.init), s.gradients, label: name, color: Palette.color(k), marker: .circle)
      let h = initHistories[k]
      il.line((1...h.epochs).map(Double.init), h.trainLoss, label: name, color: Palette.color(k), marker: .circle)
    }
    ia.legend = .lowerLeft
    ig.legend = .none
    il.legend = .none
    try lesson.save(initFig, as: "initialisation")
    // end figure

    // MARK: Three optimizers from the same start; Adam's network is the lesson's final one
    // figure: optimizers
    let optimizers: [(String, (Sequential) throws -> Optimizer)] = [
      ("SGD (lr 0.01)", { try SGD($0.parameters, learningRate: 0.01) }),
      ("SGD + momentum 0.9 (lr 0.01)", { try SGD($0.parameters, learningRate: 0.01, momentum: 0.9) }),
      (String(format: "Adam (lr %g)", lr), { try Adam($0.parameters, learningRate: self.lr) }),
    ]
    var optimizerHistories: [History] = [], optimizerTest: [Double] = []
    var model: Sequential!
    var history = History()
    for (k, (name, make)) in optimizers.enumerated() {
      let m = try mlp(sizes, initializer: .heNormal, seed: initSeed)
      let isFinal = k == optimizers.count - 1
      lesson.say("\(name):\(isFinal ? " the final network" : "")")
      if isFinal { lesson.say(try m.summary(inputShape: [64])) }
      let trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try make(m), epochs: epochs, batchSize: batchSize, seed: lesson.seed(2), progress: isFinal ? ProgressPrinter() : silent)
      let h = try trainer.fit(m, data: trainSet)
      optimizerHistories.append(h)
      optimizerTest.append(try trainer.evaluate(m, data: testSet).accuracy!)
      lesson.say(String(format: "  training loss %.4f, training accuracy %.2f%%, test accuracy %.2f%%", h.trainLoss.last!, 100 * h.trainAccuracy.last!!, 100 * optimizerTest.last!))
      if isFinal { (model, history) = (m, h) }
    }
    let opt = Figure(width: 860, height: 460, title: "The same network and start, three optimizers: training loss per epoch")
    opt.axes.xLabel = "epoch"
    opt.axes.yLabel = "training loss (log scale)"
    opt.axes.yScale = .log
    for (k, (name, _)) in optimizers.enumerated() {
      let h = optimizerHistories[k]
      opt.axes.line((1...h.epochs).map(Double.init), h.trainLoss, label: String(format: "%@: %.1f%% test", name, 100 * optimizerTest[k]), color: Palette.color(k), marker: .circle)
    }
    opt.axes.legend = .lowerLeft
    try lesson.save(opt, as: "optimizers")
    // end figure

    // MARK: What the first layer learned
    // figure: first-layer-weights
    let first = model.layers[0] as! Dense
    let shown = min(40, sizes[1])
    let weightTiles = try (0..<shown).map { j -> ImageTile in
      let column = (0..<64).map { Double(first.weight.data[$0 * sizes[1] + j]) }
      let m = max(column.map(abs).max() ?? 1, 1e-6)
      return try ImageTile(gray: column, width: 8, height: 8, range: -m...m, colormap: .redBlue, caption: "unit \(j + 1)")
    }
    try lesson.save(Figure.imageGrid(weightTiles, columns: 10, tileSize: 64, title: "First-layer weights of \(shown) hidden units as 8×8 images (blue positive, red negative)", captionSize: 10), as: "first-layer-weights")
    // end figure

    // MARK: The test set, once
    // figure: confusion-matrix, misclassified
    let predicted = try Tensor.withoutGrad { try model(xTest).argmax(axis: 1) }
    let truth = testIdx.map { digits.labels[$0] }
    var confusion = [[Double]](repeating: [Double](repeating: 0, count: 10), count: 10)
    for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
    let testAccuracy = Double(zip(truth, predicted).filter { $0 == $1 }.count) / Double(truth.count)
    let wrongCount = truth.count - Int((testAccuracy * Double(truth.count)).rounded())
    lesson.say(String(format: "Test accuracy: %.2f%% (%d of %d test digits wrong)", 100 * testAccuracy, wrongCount, truth.count))

    let labels = (0..<10).map(String.init)
    let cm = Figure(width: 640, height: 580)
    cm.axes.title = String(format: "Confusion matrix on the %d test digits (%.1f%% right)", truth.count, 100 * testAccuracy)
    cm.axes.xLabel = "predicted"
    cm.axes.yLabel = "true"
    cm.axes.matrix(confusion, rowLabels: labels, columnLabels: labels, colorbar: "images")
    try lesson.save(cm, as: "confusion-matrix")

    let probabilities = try Tensor.withoutGrad { try model(xTest).softmax(axis: 1) }
    let wrong = (0..<truth.count).filter { predicted[$0] != truth[$0] }
    var wrongTiles = try wrong.prefix(30).map { k in
      try digitTile(digits.image(testIdx[k]), caption: String(format: "%d → %d (%.0f%%)", truth[k], predicted[k], 100 * Double(probabilities.data[k * 10 + predicted[k]])))
    }
    if wrongTiles.isEmpty { wrongTiles = [try digitTile(digits.image(testIdx[0]), caption: "none wrong")] }
    try lesson.save(Figure.imageGrid(wrongTiles, columns: max(6, min(10, wrongTiles.count)), tileSize: 72, title: "Wrong test digits: true → predicted (confidence)", captionSize: 10), as: "misclassified")
    // end figure

    // MARK: The common mistake, measured: the same network fed raw test pixels, and statistics from all data
    let unnormalised = try Tensor.withoutGrad { try model(rawTest).argmax(axis: 1) }
    let rawAccuracy = Double(zip(truth, unnormalised).filter { $0 == $1 }.count) / Double(truth.count)
    lesson.say(String(format: "The same network on test pixels left unnormalised: %.1f%% (instead of %.1f%%)", 100 * rawAccuracy, 100 * testAccuracy))

    lesson.summary = [
      "test_accuracy": .number(testAccuracy),
      "train_accuracy": .number(history.trainAccuracy.last! ?? 0),
      "train_loss": .number(history.trainLoss.last!),
      "test_wrong": .number(Double(wrongCount)),
      "test_accuracy_raw_test_inputs": .number(rawAccuracy),
      "epochs": .number(Double(history.epochs)),
      "batch_size": .number(Double(batchSize)),
      "learning_rate": .number(Double("\(lr)")!),
      "train_images": .number(Double(trainIdx.count)),
      "test_images": .number(Double(testIdx.count)),
      "images": .number(Double(digits.count)),
      "parameters": .number(Double(model.parameterCount)),
      "constant_pixels": .number(Double(scaler.constantColumns)),
      "history": .object([
        "train_loss": .numbers(history.trainLoss),
        "train_accuracy": .numbers(history.trainAccuracy.map { $0 ?? .nan }),
        "epoch_seconds": .numbers(history.epochSeconds),
      ]),
      "normalisation": .object([
        "epochs": .number(Double(normEpochs)),
        "learning_rates": .list(rates.map { .number(Double("\($0)")!) }),
        "raw": .object(["final_loss": .numbers(sweep[0].map { $0.trainLoss.last! }), "best_learning_rate": .number(Double("\(rates[best[0]])")!),
                        "best_loss": .number(sweep[0][best[0]].trainLoss.last!), "best_test_accuracy": .number(sweepTest[0][best[0]])]),
        "standardised": .object(["final_loss": .numbers(sweep[1].map { $0.trainLoss.last! }), "best_learning_rate": .number(Double("\(rates[best[1]])")!),
                                 "best_loss": .number(sweep[1][best[1]].trainLoss.last!), "best_test_accuracy": .number(sweepTest[1][best[1]])]),
      ]),
      "initialisation": .object(Dictionary(uniqueKeysWithValues: zip(["small", "xavier", "he"], (0..<3).map { k in
        SummaryValue.object([
          "activation_std": .numbers(spreads[k].activations), "gradient_std": .numbers(spreads[k].gradients),
          "final_loss": .number(initHistories[k].trainLoss.last!), "train_loss": .numbers(initHistories[k].trainLoss),
        ])
      })).merging(["epochs": .number(Double(initEpochs))]) { a, _ in a }),
      "optimizers": .object(Dictionary(uniqueKeysWithValues: zip(["sgd", "momentum", "adam"], (0..<3).map { k in
        SummaryValue.object([
          "final_loss": .number(optimizerHistories[k].trainLoss.last!), "test_accuracy": .number(optimizerTest[k]),
          "train_loss": .numbers(optimizerHistories[k].trainLoss),
        ])
      }))),
      "per_class_accuracy": .numbers((0..<10).map { c in confusion[c][c] / max(1, confusion[c].reduce(0, +)) }),
    ]
    try lesson.writeHistory(history, run: optimizers.last!.0)  // the final network's run
    try lesson.finish()
  }
}

// MARK: - Helpers

/// An MLP with ReLU between its Dense layers (none after the last: the loss takes the logits), every layer
/// started by `initializer` from the same seed.
func mlp(_ sizes: [Int], initializer: Initializer, seed: UInt64) throws -> Sequential {
  var rng = SeededGenerator(seed: seed)
  var layers: [Layer] = []
  for l in 0..<(sizes.count - 1) {
    layers.append(try Dense(sizes[l], sizes[l + 1], initializer: initializer, rng: &rng))
    if l < sizes.count - 2 { layers.append(Activation(.relu)) }
  }
  return Sequential(layers)
}

/// Per-pixel standardisation x' = (x - μ) / σ with μ and σ of the training rows; a pixel that never varies
/// (σ = 0: the corners are always blank) keeps σ = 1, so it stays 0 after centring.
struct Standardiser {
  let mean: [Float], std: [Float]
  var constantColumns: Int { std.filter { $0 == 1 }.count }

  init(fitting x: Tensor) {
    let (n, d) = (x.shape[0], x.shape[1])
    var mean = [Float](repeating: 0, count: d), std = [Float](repeating: 0, count: d)
    for j in 0..<d {
      var s = 0.0
      for i in 0..<n { s += Double(x.data[i * d + j]) }
      let m = s / Double(n)
      var v = 0.0
      for i in 0..<n { v += (Double(x.data[i * d + j]) - m) * (Double(x.data[i * d + j]) - m) }
      mean[j] = Float(m)
      let sd = (v / Double(n)).squareRoot()
      std[j] = sd > 1e-6 ? Float(sd) : 1
    }
    self.mean = mean
    self.std = std
  }

  func apply(_ x: Tensor) throws -> Tensor {
    let d = mean.count
    var out = x.data
    for i in 0..<out.count { out[i] = (out[i] - mean[i % d]) / std[i % d] }
    return try Tensor(out, shape: x.shape)
  }
}

/// The standard deviation of each hidden layer's output (after its ReLU) and of each Dense layer's weight
/// gradient, for one batch, from the untrained network.
func layerSpreads(_ model: Sequential, x: Tensor, y: Tensor) throws -> (activations: [Double], gradients: [Double]) {
  var activations: [Double] = []
  var h = x
  for (i, layer) in model.layers.enumerated() {
    h = try layer.forward(h, training: true)
    if layer is Activation, i + 1 < model.layers.count { activations.append(std(h.data)) }
  }
  for p in model.parameters { p.zeroGrad() }
  let loss = try LossFunction.softmaxCrossEntropy(try model.forward(x, training: true), y)
  try loss.backward()
  let gradients = model.layers.compactMap { $0 as? Dense }.map { std($0.weight.grad ?? []) }
  for p in model.parameters { p.zeroGrad() }
  return (activations, gradients)
}

func std(_ v: [Float]) -> Double {
  guard !v.isEmpty else { return 0 }
  let m = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
  return (v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(v.count)).squareRoot()
}

/// A digit as a picture: ink dark on white, 0-16.
func digitTile(_ pixels: [UInt8], caption: String) throws -> ImageTile {
  try ImageTile(gray: pixels.map(Double.init), width: 8, height: 8, range: 0...16, colormap: Colormap.gray.reversed, caption: caption)
}
