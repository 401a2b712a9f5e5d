// Lesson 8: a network made to overfit on purpose, and five remedies on the same setting: L2 weight decay,
// dropout, data augmentation, early stopping and a smaller network.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct RegularisationLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "08-regularisation",
    abstract: "Lesson 8: overfitting on purpose (few digits, a big network) and what each remedy does to it.",
    discussion: "The data: --data FILE, else $DIGITS_CSV, else data/digits.csv (make data writes it). The lesson never downloads anything.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("The digits CSV file (64 pixels 0-16 and a label a line).", valueName: "file"))
  var data: String?

  @Option(name: .long, help: "Epochs of every training (default: 100, or 4 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Training images per digit (the small training set that makes the network overfit).")
  var perClass: Int = 30

  @Option(name: .long, help: "L2 weight decay λ (the gradient gets λw; the loss gets λ/2 ‖w‖²).")
  var weightDecay: Float = 3e-3

  @Option(name: .long, help: "Dropout rate after each hidden layer.")
  var dropout: Float = 0.5

  func validate() throws {
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkAtLeast(perClass, "--per-class")
    try LessonOptions.checkPositive(weightDecay, "--weight-decay")
    guard dropout > 0, dropout < 1 else { throw ValidationError("--dropout must be between 0 and 1, got \(dropout)") }
  }

  func run() throws {
    let path = Digits.locate(data)
    let digits = try Digits.load(csv: path)
    // Train / validation / test: 60 / 20 / 20 of each digit, fixed by the seed; then only `perClass` of each
    // digit's training images are used.
    let parts = digits.stratifiedSplit([0.6, 0.2, 0.2], seed: options.seed)
    let trainIdx = (0..<10).flatMap { c in parts[0].filter { digits.labels[$0] == c }.prefix(perClass) }
    let (valIdx, testIdx) = (parts[1], parts[2])
    guard trainIdx.count >= 10, !valIdx.isEmpty, !testIdx.isEmpty else {
      throw LessonError("\(path) has \(digits.count) images: too few for a training, a validation and a test set (need at least 50)")
    }
    let lesson = try Lesson(name: "08-regularisation", options: options)
    let quick = options.quick
    let epochs = self.epochs ?? (quick ? 4 : 100)
    lesson.say("Digits from \(path): \(trainIdx.count) training images (\(perClass) of each digit), \(valIdx.count) validation, \(testIdx.count) test")

    // Standardised with the training images' statistics (lesson 7).
    let scaler = Standardiser(fitting: try digits.features(trainIdx))
    let xVal = try scaler.apply(try digits.features(valIdx)), xTest = try scaler.apply(try digits.features(testIdx))
    let trainData = DigitData(digits: digits, indices: trainIdx, scaler: scaler, shift: false, seed: 0)
    let valSet = try TensorData(x: xVal, y: try digits.labelTensor(valIdx)), testSet = try TensorData(x: xTest, y: try digits.labelTensor(testIdx))

    // MARK: Every remedy on the same setting
    // figure: remedies, remedy-accuracy
    let big = [64, 256, 256, 10], small = [64, 16, 10]
    let initSeed = lesson.seed(1)
    var runs: [Run] = []
    func train(_ name: String, sizes: [Int], dropout: Float = 0, weightDecay: Float = 0, augment: Bool = false, keepBest: Bool = false) throws -> Run {
      let model = try mlp(sizes, dropout: dropout, seed: initSeed)
      let data = DigitData(digits: digits, indices: trainIdx, scaler: scaler, shift: augment, seed: lesson.seed(3))
      var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: try Adam(model.parameters, learningRate: 1e-3, weightDecay: weightDecay), epochs: epochs, batchSize: 32, seed: lesson.seed(2), progress: ProgressPrinter(mode: .silent))
      // Early stopping keeps the weights of the epoch with the lowest validation loss.
      var best: (epoch: Int, loss: Double, weights: [[Float]]) = (0, .infinity, [])
      if keepBest {
        trainer.onEpochEnd = { report in
          if let v = report.history.validationLoss.last!, v < best.loss { best = (report.epoch, v, model.parameters.map(\.data)) }
        }
      }
      let history = try trainer.fit(model, data: data, validation: valSet)
      if keepBest { for (p, w) in zip(model.parameters, best.weights) { p.data = w } }
      // Scored as the model will be used: no dropout, no augmentation.
      let train = try trainer.evaluate(model, data: trainData).accuracy!, val = try trainer.evaluate(model, data: valSet).accuracy!
      let test = try trainer.evaluate(model, data: testSet).accuracy!
      let run = Run(name: name, model: model, history: history, train: train, validation: val, test: test, stoppedAt: keepBest ? best.epoch : epochs)
      lesson.say(String(format: "%@ train %5.1f%%  validation %5.1f%%  gap %4.1f points%@", name.padding(toLength: 22, withPad: " ", startingAt: 0), 100 * train, 100 * val, 100 * (train - val), keepBest ? " (stopped at epoch \(best.epoch))" : ""))
      return run
    }
    runs.append(try train("no remedy", sizes: big))
    runs.append(try train("L2 weight decay", sizes: big, weightDecay: weightDecay))
    runs.append(try train("dropout", sizes: big, dropout: dropout))
    runs.append(try train("augmentation (shifts)", sizes: big, augment: true))
    runs.append(try train("early stopping", sizes: big, keepBest: true))
    runs.append(try train("smaller network", sizes: small))
    let baseline = runs[0]
    // end figure

    // MARK: Figures
    // 1. The overfitting network: the curves, and the same curves growing epoch by epoch (an animation).
    // figure: overfitting, overfitting-growing
    let ep = (1...epochs).map(Double.init)
    let allLosses = (baseline.history.trainLoss + baseline.history.validationLoss.compactMap { $0 }).filter { $0 > 0 && $0.isFinite }
    func overfittingFigure(upTo last: Int, fixedAxes: Bool) -> Figure {
      let over = Figure(width: 1100, height: 420, columns: 2, title: "\(trainIdx.count) training images, a network of \(baseline.model.parameterCount.formatted()) weights: it overfits")
      let ol = over.axes(0, 0), oa = over.axes(0, 1)
      let shown = Array(ep.prefix(last))
      ol.title = fixedAxes ? "loss after \(last) epochs" : "loss"
      ol.xLabel = "epoch"
      ol.yLabel = "cross-entropy (log scale)"
      ol.yScale = .log
      ol.line(shown, Array(baseline.history.trainLoss.prefix(last)), label: "training", color: Palette.color(0))
      ol.line(shown, baseline.history.validationLoss.prefix(last).map { $0 ?? .nan }, label: "validation", color: Palette.color(1))
      oa.title = "accuracy"
      oa.xLabel = "epoch"
      oa.yLabel = "fraction right"
      oa.line(shown, baseline.history.trainAccuracy.prefix(last).map { $0 ?? .nan }, label: "training", color: Palette.color(0))
      oa.line(shown, baseline.history.validationAccuracy.prefix(last).map { $0 ?? .nan }, label: "validation", color: Palette.color(1))
      oa.legend = .lowerRight
      if fixedAxes {
        // Every frame on the whole run's axes, so the curves grow instead of the axes moving.
        ol.xLimits = 0...Double(epochs)
        oa.xLimits = 0...Double(epochs)
        ol.yLimits = (allLosses.min()! * 0.8)...(allLosses.max()! * 1.25)
        oa.yLimits = 0...1.02
      }
      return over
    }
    try lesson.save(overfittingFigure(upTo: epochs, fixedAxes: false), as: "overfitting")
    let frameEpochs = [1, 2, 3, 5, 8, 12, 20, 30, 45, 65, 85, epochs].filter { $0 <= epochs }.reduce(into: [Int]()) { if $0.last != $1 { $0.append($1) } }
    try lesson.saveAnimation(frameEpochs.map { overfittingFigure(upTo: $0, fixedAxes: true) }, as: "overfitting-growing", labels: frameEpochs.map { "epoch \($0)" })
    // end figure

    // 2. Train and validation curves of every remedy, side by side.
    // figure: remedies
    let grid = Figure(width: 1260, height: 720, rows: 2, columns: 3, title: "Training (solid) and validation (dashed) accuracy of each remedy; grey: validation with no remedy")
    for (k, run) in runs.enumerated() {
      let ax = grid.axes(at: k)
      ax.title = String(format: "%@: validation %.1f%%", run.name, 100 * run.validation)
      ax.xLabel = "epoch"
      ax.yLabel = "accuracy"
      ax.yLimits = 0.7...1.0  // the gap is what matters; the first epochs start lower
      if k > 0 { ax.line(ep, baseline.history.validationAccuracy.map { $0 ?? .nan }, label: "no remedy, validation", color: Color(hex: 0xbbbbbb), width: 1.5) }
      ax.line(ep, run.history.trainAccuracy.map { $0 ?? .nan }, label: "training", color: Palette.color(0))
      ax.line(ep, run.history.validationAccuracy.map { $0 ?? .nan }, label: "validation", color: Palette.color(1), dash: .dashed)
      if run.name == "early stopping" { ax.verticalLine(at: Double(run.stoppedAt), label: "stop: epoch \(run.stoppedAt)") }
      ax.legend = k == 0 || run.name == "early stopping" ? .lowerRight : .none
    }
    try lesson.save(grid, as: "remedies")
    // end figure

    // 3. The weights L2 shrinks.
    // figure: weight-histogram
    let l2 = runs[1]
    let weightsOf = { (run: Run) -> [Double] in run.model.layers.compactMap { $0 as? Dense }.flatMap { $0.weight.data.map(Double.init) } }
    let (w0, w1) = (weightsOf(baseline), weightsOf(l2))
    let rms = { (w: [Double]) in (w.reduce(0) { $0 + $1 * $1 } / Double(w.count)).squareRoot() }
    let hist = Figure(width: 860, height: 440, title: "All weights after training: L2 weight decay pulls them toward 0")
    let extent = max(w0.map(abs).max() ?? 1, w1.map(abs).max() ?? 1)
    hist.axes.histogram(w0, bins: 80, range: -extent...extent, label: String(format: "no remedy (RMS %.3f)", rms(w0)), color: Palette.color(0), opacity: 0.55, density: true)
    hist.axes.histogram(w1, bins: 80, range: -extent...extent, label: String(format: "L2, λ = %g (RMS %.3f)", weightDecay, rms(w1)), color: Palette.color(2), opacity: 0.55, density: true)
    hist.axes.xLabel = "weight"
    hist.axes.yLabel = "density"
    try lesson.save(hist, as: "weight-histogram")
    // end figure

    // 4. Dropout at training time and at test time, on one validation image.
    // figure: dropout
    let dropModel = runs[2].model
    let one = try xVal.gatherRows([0])
    let shownUnits = 32
    func hidden(_ training: Bool) throws -> [Double] {
      try Tensor.withoutGrad {
        var h = one
        for layer in dropModel.layers.prefix(3) { h = try layer.forward(h, training: training) }  // Dense, ReLU, Dropout
        return h.data.prefix(shownUnits).map(Double.init)
      }
    }
    let passes = [("test time: every unit, as trained", try hidden(false)), ("training pass 1", try hidden(true)), ("training pass 2", try hidden(true))]
    let dfig = Figure(width: 1000, height: 620, rows: 3, columns: 1, title: String(format: "Dropout (rate %.1f): the first %d units of the first hidden layer for one image", dropout, shownUnits))
    let top = passes.flatMap(\.1).max() ?? 1
    for (k, (name, values)) in passes.enumerated() {
      let ax = dfig.axes(k, 0)
      let zeroed = k == 0 ? 0 : zip(passes[0].1, values).filter { $0 > 0 && $1 == 0 }.count
      ax.title = k == 0 ? name : "\(name): \(zeroed) of the active units dropped, the rest doubled"
      ax.bars(categories: (1...shownUnits).map(String.init), values: values, color: Palette.color(k == 0 ? 0 : 1))
      ax.yLimits = 0...(top * 1.05)
      ax.yLabel = "activation"
      ax.legend = .none
    }
    dfig.axes(2, 0).xLabel = "hidden unit"
    try lesson.save(dfig, as: "dropout")
    // end figure

    // 5. What augmentation shows the network.
    // figure: augmented-digits
    var tiles: [ImageTile] = []
    var rng = SeededGenerator(seed: lesson.seed(4))
    for c in [0, 3, 4, 7] {
      let image = digits.image(trainIdx.first { digits.labels[$0] == c }!)
      tiles.append(try digitTile(image, caption: "\(c): original"))
      for _ in 0..<7 {
        let (dx, dy) = (Int(rng.next() % 3) - 1, Int(rng.next() % 3) - 1)
        tiles.append(try digitTile(Digits.shifted(image, dx: dx, dy: dy), caption: "dx \(dx), dy \(dy)"))
      }
    }
    try lesson.save(Figure.imageGrid(tiles, columns: 8, tileSize: 64, title: "Augmentation: digits moved by up to one pixel", captionSize: 10), as: "augmented-digits")
    // end figure

    // 6. The final table as bars.
    // figure: remedy-accuracy
    let bars = Figure(width: 1000, height: 440, title: "Each remedy: accuracy on the training, validation and test sets")
    bars.axes.bars(categories: runs.map(\.name), series: [
      BarSeries("training", values: runs.map(\.train), color: Palette.color(0)),
      BarSeries("validation", values: runs.map(\.validation), color: Palette.color(1)),
      BarSeries("test", values: runs.map(\.test), color: Palette.color(2)),
    ])
    bars.axes.yLimits = max(0, ((runs.map(\.validation) + runs.map(\.test)).min()! * 10).rounded(.down) / 10 - 0.1)...1.0
    bars.axes.yLabel = "accuracy"
    bars.axes.legend = .upperRight
    try lesson.save(bars, as: "remedy-accuracy")
    // end figure

    // MARK: Summary
    let chosen = runs.max { $0.validation < $1.validation }!
    lesson.say(String(format: "Chosen by validation accuracy: %@ (%.1f%%); its test accuracy, measured once: %.1f%%", chosen.name, 100 * chosen.validation, 100 * chosen.test))
    let keys = ["baseline", "l2", "dropout", "augmentation", "early_stopping", "smaller"]
    var remedies: [String: SummaryValue] = [:]
    for (key, run) in zip(keys, runs) {
      remedies[key] = .object([
        "train_accuracy": .number(run.train), "validation_accuracy": .number(run.validation), "test_accuracy": .number(run.test),
        "gap": .number(run.train - run.validation), "parameters": .number(Double(run.model.parameterCount)),
        "stopped_at": .number(Double(run.stoppedAt)),
        "history": .object([
          "train_loss": .numbers(run.history.trainLoss), "train_accuracy": .numbers(run.history.trainAccuracy.map { $0 ?? .nan }),
          "val_loss": .numbers(run.history.validationLoss.map { $0 ?? .nan }), "val_accuracy": .numbers(run.history.validationAccuracy.map { $0 ?? .nan }),
        ]),
      ])
    }
    let minValLoss = baseline.history.validationLoss.compactMap { $0 }.min()!
    lesson.summary = [
      "remedies": .object(remedies),
      "chosen": .text(keys[runs.firstIndex { $0.name == chosen.name }!]),
      "chosen_test_accuracy": .number(chosen.test),
      "test_accuracy": .number(chosen.test),
      "train_accuracy": .number(chosen.train),
      "epochs": .number(Double(epochs)),
      "learning_rate": .number(0.001),
      "batch_size": .number(32),
      "weight_decay": .number(Double("\(weightDecay)")!),
      "dropout": .number(Double("\(dropout)")!),
      "train_images": .number(Double(trainIdx.count)),
      "validation_images": .number(Double(valIdx.count)),
      "test_images": .number(Double(testIdx.count)),
      "per_class": .number(Double(perClass)),
      "weights_rms": .object(["baseline": .number(rms(w0)), "l2": .number(rms(w1))]),
      "baseline_min_val_loss": .number(minValLoss),
      "baseline_final_val_loss": .number(baseline.history.validationLoss.last!!),
      "dropout_units_shown": .number(Double(shownUnits)),
      "dropout_units_dropped": .list((1...2).map { k in .number(Double(zip(passes[0].1, passes[k].1).filter { $0 > 0 && $1 == 0 }.count)) }),
    ]
    try lesson.writeHistory(baseline.history, run: baseline.name)  // the main run: the big network without a remedy
    try lesson.finish()
  }
}

/// One trained remedy.
struct Run {
  let name: String
  let model: Sequential
  let history: History
  let train: Double, validation: Double, test: Double
  /// The epoch whose weights are kept (the last, except with early stopping).
  let stoppedAt: Int
}

// MARK: - Helpers

/// An MLP with ReLU (and dropout, when `dropout` > 0) after each hidden layer, He-initialised from `seed`.
func mlp(_ sizes: [Int], dropout: Float, seed: UInt64) throws -> Sequential {
  var rng = SeededGenerator(seed: seed)
  var layers: [Layer] = []
  for l in 0..<(sizes.count - 1) {
    layers.append(try Dense(sizes[l], sizes[l + 1], initializer: .heNormal, rng: &rng))
    if l < sizes.count - 2 {
      layers.append(Activation(.relu))
      if dropout > 0 { layers.append(try Dropout(dropout, seed: seed &+ UInt64(l + 1))) }
    }
  }
  return Sequential(layers)
}

/// Training batches of standardised digits; with `shift`, each image is moved by -1, 0 or 1 pixel in x and y
/// (drawn from a generator seeded by the batch, so runs repeat exactly), only when training.
struct DigitData: TrainingData {
  let digits: Digits
  let indices: [Int]
  let scaler: Standardiser
  let shift: Bool
  let seed: UInt64
  var count: Int { indices.count }
  func batch(_ which: [Int], training: Bool) throws -> (x: Tensor, y: Tensor) {
    var rng = SeededGenerator(seed: seed &+ UInt64(which.first ?? 0) &* 0x9E37_79B9 &+ UInt64(which.count))
    var pixels: [Float] = []
    pixels.reserveCapacity(which.count * 64)
    for k in which {
      var image = digits.image(indices[k])
      if shift && training { image = Digits.shifted(image, dx: Int(rng.next() % 3) - 1, dy: Int(rng.next() % 3) - 1) }
      pixels += image.map(Float.init)
    }
    return (try scaler.apply(try Tensor(pixels, shape: [which.count, 64])), try digits.labelTensor(which.map { indices[$0] }))
  }
}

/// Standardisation with one mean and one standard deviation for all pixels, from the training images. (Lesson
/// 7 standardised each pixel on its own; with shifted images that would blow up: a pixel that is blank in
/// every training image has σ near 0, and a digit shifted onto it would get a huge value.)
struct Standardiser {
  let mean: Float, std: Float

  init(fitting x: Tensor) {
    let values = x.data.map(Double.init)
    let m = values.reduce(0, +) / Double(values.count)
    mean = Float(m)
    std = Float((values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)).squareRoot())
  }

  func apply(_ x: Tensor) throws -> Tensor { try Tensor(x.data.map { ($0 - mean) / std }, shape: x.shape) }
}

/// A digit as a picture: ink dark on white, 0-16.
func digitTile(_ pixels: [UInt8], caption: String) throws -> ImageTile {
  try ImageTile(gray: pixels.map(Double.init), width: 8, height: 8, range: 0...16, colormap: Colormap.gray.reversed, caption: caption)
}
