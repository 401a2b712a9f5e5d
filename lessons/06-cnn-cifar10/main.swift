// Lesson 6: a convolutional network trained on CIFAR-10, and the figures that explain what it learned.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import Plotting
import Tensors

@main
struct CNNLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "06-cnn-cifar10",
    abstract: "Lesson 6: the classic small CNN trained on CIFAR-10 (official binary files), with its filters, feature maps and mistakes.",
    discussion: "The data: --data DIR, else $CIFAR10_DIR, else data/cifar-10-batches-bin (make data extracts it there). The lesson never downloads anything.")

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("Folder with data_batch_1..5.bin and test_batch.bin.", valueName: "dir"))
  var data: String?

  @Option(name: .long, help: "Epochs (default: 10, or 2 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Batch size.")
  var batchSize: Int = 64

  @Option(name: .long, help: "Learning rate (Adam).")
  var lr: Float = 1e-3

  @Option(name: .long, help: "Train on the first N training images only (default: all 50,000, or 512 with --quick).")
  var trainSubset: Int?

  @Option(name: .long, help: "Evaluate on the first N test images only (default: all 10,000, or 256 with --quick).")
  var testSubset: Int?

  @Flag(name: .long, inversion: .prefixedNo, help: "Random horizontal flips and 4-pixel crops while training (--no-augment trains on the images as they are, and overfits).")
  var augment = true

  @Flag(name: .long, help: "Continue from the checkpoint in the output folder.")
  var resume = false

  func validate() throws {
    if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    if let t = trainSubset, t < 1 { throw ValidationError("--train-subset must be at least 1, got \(t)") }
    if let t = testSubset, t < 1 { throw ValidationError("--test-subset must be at least 1, got \(t)") }
  }

  func run() throws {
    // The data first: bad files stop the lesson before it writes anything.
    let folder = CIFAR10.locate(data)
    let trainLimit = trainSubset ?? (options.quick ? 512 : nil), testLimit = testSubset ?? (options.quick ? 256 : nil)
    let train = try CIFAR10.load(folder: folder, files: CIFAR10.trainFiles, limit: trainLimit)
    let test = try CIFAR10.load(folder: folder, files: CIFAR10.testFiles, limit: testLimit)
    let lesson = try Lesson(name: "06-cnn-cifar10", options: options)
    let epochs = self.epochs ?? (options.quick ? 2 : 10)
    lesson.say("CIFAR-10 from \(folder): \(train.count) training and \(test.count) test images\(augment ? ", augmented" : "")")

    // MARK: Samples
    var tiles: [ImageTile] = []
    for c in 0..<10 {
      for i in (0..<train.count).filter({ train.labels[$0] == c }).prefix(2) {
        tiles.append(try ImageTile(rgb: train.image(i), width: 32, height: 32, layout: .planar, caption: CIFAR10.classNames[c]))
      }
    }
    try lesson.save(Figure.imageGrid(tiles, columns: 10, tileSize: 72, title: "CIFAR-10: two training images of each class (32x32 pixels)"), as: "samples")

    // MARK: The network
    var rng = SeededGenerator(seed: lesson.seed(1))
    // Glorot-uniform weights and zero biases: Keras's defaults, so the comparison with it is like for like.
    let initializer = Initializer.xavierUniform
    let model = Sequential([
      try Conv2D(3, 32, kernel: 3, initializer: initializer, rng: &rng), Activation(.relu), MaxPool2D(2),
      try Conv2D(32, 64, kernel: 3, initializer: initializer, rng: &rng), Activation(.relu), MaxPool2D(2),
      try Conv2D(64, 64, kernel: 3, initializer: initializer, rng: &rng), Activation(.relu), Flatten(),
      try Dense(1024, 64, initializer: initializer, rng: &rng), Activation(.relu), try Dense(64, 10, initializer: initializer, rng: &rng),
    ])
    lesson.say(try model.summary(inputShape: [3, 32, 32]))
    try lesson.save(networkDiagram(), as: "network")

    // MARK: Training, with a checkpoint after each epoch
    let optimizer = try Adam(model.parameters, learningRate: lr)
    let checkpoint = lesson.folder + "/checkpoint.safetensors"
    var resumeFrom: History?
    if resume {
      resumeFrom = try loadCheckpoint(checkpoint, model: model, optimizer: optimizer)
      lesson.say("Resuming after epoch \(resumeFrom!.epochs) from \(checkpoint)")
    }
    var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: optimizer, epochs: epochs, batchSize: batchSize, seed: lesson.seed(2))
    trainer.onEpochEnd = { report in
      try saveCheckpoint(checkpoint, model: report.model, optimizer: optimizer, history: report.history)
    }
    let trainData = CIFARData(images: train, augment: augment, seed: lesson.seed(3)), testData = CIFARData(images: test, augment: false, seed: 0)
    let history = try trainer.fit(model, data: trainData, validation: testData, resumeFrom: resumeFrom)

    // MARK: Predictions on the test set
    var predicted: [Int] = []
    try Tensor.withoutGrad {
      var start = 0
      var none = SeededGenerator(seed: 0)
      while start < test.count {
        let idx = Array(start..<min(test.count, start + 500))
        predicted += try model(try test.batch(idx, rng: &none)).argmax(axis: 1)
        start += idx.count
      }
    }
    var confusion = [[Double]](repeating: [Double](repeating: 0, count: 10), count: 10)
    for (t, p) in zip(test.labels, predicted) { confusion[t][p] += 1 }
    let testAccuracy = Double(zip(test.labels, predicted).filter { $0 == $1 }.count) / Double(test.count)
    lesson.say(String(format: "Test accuracy: %.2f%%", 100 * testAccuracy))

    // MARK: Figures of training and results
    let curves = Figure(width: 1050, height: 420, columns: 2, title: String(format: "Training on %d images, testing on %d: %.1f%% test accuracy", train.count, test.count, 100 * testAccuracy))
    let ep = (1...history.epochs).map(Double.init)
    let l = curves.axes(0, 0), a = curves.axes(0, 1)
    l.title = "loss"
    l.xLabel = "epoch"
    l.yLabel = "softmax cross-entropy"
    l.line(ep, history.trainLoss, label: "training", marker: .circle)
    l.line(ep, history.validationLoss.map { $0 ?? .nan }, label: "test", marker: .square)
    a.title = "accuracy"
    a.xLabel = "epoch"
    a.yLabel = "fraction right"
    a.line(ep, history.trainAccuracy.map { $0 ?? .nan }, label: "training", marker: .circle)
    a.line(ep, history.validationAccuracy.map { $0 ?? .nan }, label: "test", marker: .square)
    try lesson.save(curves, as: "training-curves")

    let cm = Figure(width: 760, height: 680)
    let ca = cm.axes
    ca.title = "Confusion matrix on the test set (rows: true class)"
    ca.xLabel = "predicted"
    ca.yLabel = "true"
    ca.matrix(confusion, rowLabels: CIFAR10.classNames, columnLabels: CIFAR10.classNames, colorbar: "images")
    try lesson.save(cm, as: "confusion-matrix")

    let perClass = (0..<10).map { c in confusion[c][c] / max(1, confusion[c].reduce(0, +)) }
    let pc = Figure(width: 820, height: 420)
    pc.axes.title = "Test accuracy per class"
    pc.axes.yLabel = "fraction right"
    pc.axes.bars(categories: CIFAR10.classNames, values: perClass, label: "accuracy", color: Palette.color(0))
    pc.axes.horizontalLine(at: testAccuracy, label: String(format: "all classes: %.2f", testAccuracy))
    pc.axes.yLimits = 0...1
    try lesson.save(pc, as: "per-class-accuracy")

    let wrong = (0..<test.count).filter { predicted[$0] != test.labels[$0] }.prefix(24)
    let wrongTiles = try wrong.map { i in
      try ImageTile(rgb: test.image(i), width: 32, height: 32, layout: .planar, caption: "\(CIFAR10.classNames[test.labels[i]]) → \(CIFAR10.classNames[predicted[i]])")
    }
    if !wrongTiles.isEmpty {
      try lesson.save(Figure.imageGrid(wrongTiles, columns: 8, tileSize: 84, title: "Misclassified test images (true → predicted)", captionSize: 9.5), as: "misclassified")
    } else {
      try lesson.save(Figure.imageGrid([try ImageTile(rgb: test.image(0), width: 32, height: 32, layout: .planar, caption: "no mistakes")], columns: 1, tileSize: 84, title: "Misclassified test images: none"), as: "misclassified")
    }


    // MARK: What the network learned
    let conv1 = model.layers[0] as! Conv2D
    let filters = try (0..<32).map { f in
      try ImageTile(rgbValues: conv1.weight.data[(f * 27)..<((f + 1) * 27)].map(Double.init), width: 3, height: 3, layout: .planar, caption: "\(f + 1)")
    }
    try lesson.save(Figure.imageGrid(filters, columns: 8, tileSize: 64, title: "The 32 first-layer filters (3x3x3, each scaled to its own range)"), as: "filters")

    let sample = (0..<test.count).first { predicted[$0] == test.labels[$0] } ?? 0
    try lesson.save(try featureMaps(model, test: test, index: sample), as: "feature-maps")

    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    lesson.summary = [
      "test_accuracy": .number(testAccuracy),
      "train_accuracy": .number(history.trainAccuracy.last! ?? 0),
      "epoch_seconds": .numbers(history.epochSeconds),
      "validation_seconds": .numbers(history.validationSeconds),
      "peak_rss_bytes": .number(Double(usage.ru_maxrss) * 1024),
      "per_class_accuracy": .object(Dictionary(uniqueKeysWithValues: zip(CIFAR10.classNames, perClass.map { SummaryValue.number($0) }))),
      "parameters": .number(Double(model.parameterCount)),
      "epochs": .number(Double(history.epochs)),
      "train_images": .number(Double(train.count)),
      "test_images": .number(Double(test.count)),
      "augment": .bool(augment),
      "gemm_kernel": .text(GEMM.kernelName),
    ]
    try lesson.finish()
  }

  /// The network as stacked volumes with the shapes of this network.
  func networkDiagram() -> Figure {
    let fig = Figure(width: 1200, height: 420)
    let d = fig.diagram()
    d.title = "The network: each block is a layer's output, channels across, the feature map's size up and back"
    let layers: [(String, String, Int, Int, Bool)] = [
      ("input", "32×32×3", 3, 32, false), ("conv 3×3 + ReLU", "30×30×32", 32, 30, false), ("max-pool 2", "15×15×32", 32, 15, false),
      ("conv 3×3 + ReLU", "13×13×64", 64, 13, false), ("max-pool 2", "6×6×64", 64, 6, false), ("conv 3×3 + ReLU", "4×4×64", 64, 4, false),
      ("flatten", "1024", 1024, 1, true), ("dense + ReLU", "64", 64, 1, true), ("dense", "10 logits", 10, 1, true),
    ]
    var x = 0.0
    var previous: NodeID?
    for (name, shape, channels, size, flat) in layers {
      let thickness = flat ? 0.35 : 0.3 + log2(Double(channels)) * 0.22
      let height = flat ? 1.2 + log2(Double(channels)) * 0.45 : 0.5 + Double(size) / 6.5
      let node = d.volume(at: Point(x, 0), thickness: thickness, height: height, depth: flat ? 0.15 : height, label: name, sublabel: shape,
        fill: [Color(hex: 0xdbe9f6), Color(hex: 0xf2c57c), Color(hex: 0x9fd6c0), Color(hex: 0xc7b3e5)][flat ? 3 : (name.hasPrefix("conv") ? 1 : (name.hasPrefix("max") ? 2 : 0))],
        textSize: 10.5)
      if let previous { d.connect(previous, node, color: Color(hex: 0x999999), width: 1, arrow: true) }
      previous = node
      x += thickness + (flat ? 0.15 : height) * 0.55 + 1.45
    }
    return fig
  }

  /// The activations of one test image after each conv layer (after its ReLU): a row of eight maps a layer,
  /// each row on one colour scale from 0 to its largest value.
  func featureMaps(_ model: Sequential, test: CIFAR10, index: Int) throws -> Figure {
    var none = SeededGenerator(seed: 0)
    var h = try test.batch([index], rng: &none)
    let fig = Figure(width: 1000, height: 400, rows: 3, columns: 9, title: "Feature maps of a test image (\(CIFAR10.classNames[test.labels[index]])) after each convolution and ReLU; bright = strong")
    fig.spacing = 4
    let input = fig.axes(0, 0)
    input.titleFontSize = 10
    input.titleWeight = .regular
    input.image(try ImageTile(rgb: test.image(index), width: 32, height: 32, layout: .planar, caption: "the input"))
    var conv = 0
    try Tensor.withoutGrad {
      for (i, layer) in model.layers.enumerated() {
        h = try layer.forward(h, training: false)
        guard i + 1 < model.layers.count, layer is Conv2D, model.layers[i + 1] is Activation else { continue }
        let a = try model.layers[i + 1].forward(h, training: false)
        let (s, shown) = (a.shape[2], min(8, a.shape[1]))
        let top = Double(a.data[0..<(shown * s * s)].max() ?? 1)
        for k in 0..<shown {
          let plane = a.data[(k * s * s)..<((k + 1) * s * s)].map(Double.init)
          let ax = fig.axes(conv, k + 1)
          ax.titleFontSize = 10
          ax.titleWeight = .regular
          ax.image(try ImageTile(gray: plane, width: s, height: s, range: 0...max(top, 1e-6), colormap: .viridis, caption: k == 0 ? "conv\(conv + 1): \(s)×\(s), #1" : "#\(k + 1)"))
        }
        conv += 1
      }
    }
    return fig
  }
}

/// CIFAR-10 as training batches.
struct CIFARData: TrainingData {
  let images: CIFAR10
  let augment: Bool
  let seed: UInt64
  var count: Int { images.count }
  func batch(_ indices: [Int], training: Bool) throws -> (x: Tensor, y: Tensor) {
    // Augmentation draws from a generator seeded by the batch's first index, so runs repeat exactly.
    var rng = SeededGenerator(seed: seed &+ UInt64(indices.first ?? 0) &* 0x9E37_79B9)
    return (try images.batch(indices, augment: training && augment, rng: &rng), try images.labelTensor(indices))
  }
}

// MARK: - Checkpoints: the model, Adam's moments and the history so far

func saveCheckpoint(_ path: String, model: Sequential, optimizer: Adam, history: History) throws {
  var tensors = model.namedParameters.map { ("model.\($0.0)", $0.1) }
  for (k, p) in model.parameters.enumerated() {
    tensors.append(("adam.m.\(k)", try Tensor(optimizer.m[k], shape: p.shape)))
    tensors.append(("adam.v.\(k)", try Tensor(optimizer.v[k], shape: p.shape)))
  }
  let historyJSON = String(decoding: try JSONEncoder().encode(history), as: UTF8.self)
  try Checkpoint.save(tensors, to: path, metadata: ["epoch": String(history.epochs), "adam_t": String(optimizer.t), "history": historyJSON])
}

func loadCheckpoint(_ path: String, model: Sequential, optimizer: Adam) throws -> History {
  guard FileManager.default.fileExists(atPath: path) else {
    throw LessonError("--resume: there is no checkpoint at \(path); train without --resume first")
  }
  let saved = Dictionary(uniqueKeysWithValues: try Checkpoint.load(path))
  for (name, p) in model.namedParameters {
    guard let t = saved["model.\(name)"], t.shape == p.shape else {
      throw LessonError("--resume: \(path) does not match this network ('\(name)'); delete it to start afresh")
    }
    p.data = t.data
  }
  for (k, p) in model.parameters.enumerated() {
    guard let m = saved["adam.m.\(k)"], let v = saved["adam.v.\(k)"], m.shape == p.shape, v.shape == p.shape else {
      throw LessonError("--resume: \(path) lacks the optimizer's state; delete it to start afresh")
    }
    optimizer.m[k] = m.data
    optimizer.v[k] = v.data
  }
  let metadata = try Checkpoint.metadata(path)
  guard let t = metadata["adam_t"].flatMap(Int.init), let json = metadata["history"],
    let history = try? JSONDecoder().decode(History.self, from: Data(json.utf8))
  else { throw LessonError("--resume: \(path) lacks its training history; delete it to start afresh") }
  optimizer.t = t
  return history
}
