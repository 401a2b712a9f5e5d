// Lesson 6: a convolutional network trained on CIFAR-10, and the figures that explain what it learned.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Support
import Tensors

@main
struct CNNLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "06-cnn-cifar10",
    abstract: "Lesson 6: the classic small CNN trained on CIFAR-10 (official binary files), with its filters, feature maps and mistakes.",
    discussion: "The data: --data DIR, else $CIFAR10_DIR, else data/cifar-10-batches-bin (make data extracts it there). The lesson never downloads anything. A tenth of the training images (chosen by --seed) is held out for validation; the test set is scored once, at the end.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("Folder with data_batch_1..5.bin and test_batch.bin.", valueName: "dir"))
  var data: String?

  @Option(name: .long, help: "Epochs (default: 10, or 2 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Batch size.")
  var batchSize: Int = 64

  @Option(name: .long, help: "Learning rate (Adam).")
  var lr: Float = 1e-3

  @Option(name: .long, help: "Use the first N training images only, a tenth of them for validation (default: all 50,000, or 512 with --quick).")
  var trainSubset: Int?

  @Option(name: .long, help: "Evaluate on the first N test images only (default: all 10,000, or 256 with --quick).")
  var testSubset: Int?

  @Flag(name: .long, inversion: .prefixedNo, help: "Random horizontal flips and 4-pixel crops while training (--no-augment trains on the images as they are, and overfits).")
  var augment = true

  @Flag(name: .long, help: "Continue from the checkpoint in the output folder.")
  var resume = false

  @Flag(name: .long, help: "Replace a checkpoint in the output folder that holds another run or more epochs (without it, the run stops and keeps that checkpoint).")
  var overwriteCheckpoint = false

  func validate() throws {
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkAtLeast(batchSize, "--batch-size")
    try LessonOptions.checkPositive(lr, "--lr")
    if let t = trainSubset, t < 2 { throw ValidationError("--train-subset must be at least 2 (one image is held out for validation), got \(t)") }
    try LessonOptions.checkAtLeast(testSubset, "--test-subset")
  }

  func run() throws {
    // The data first: bad files stop the lesson before it writes anything.
    let folder = CIFAR10.locate(data)
    let trainLimit = trainSubset ?? (options.quick ? 512 : nil), testLimit = testSubset ?? (options.quick ? 256 : nil)
    let train = try CIFAR10.load(folder: folder, files: CIFAR10.trainFiles, limit: trainLimit)
    let test = try CIFAR10.load(folder: folder, files: CIFAR10.testFiles, limit: testLimit)
    guard train.count >= 2 else { throw LessonError("\(folder) holds \(train.count) training image: at least 2 are needed (one is held out for validation)") }
    let lesson = try Lesson(name: "06-cnn-cifar10", options: options)
    let epochs = self.epochs ?? (options.quick ? 2 : 10)

    // MARK: A validation set held out from the training images
    // figure: training-curves
    // A tenth of the training images, drawn by the seed, is never trained on: it scores each epoch. The test
    // set is scored once, at the end, so that nothing is chosen by it.
    let split = ValidationSplit(count: train.count, seed: lesson.seed(4))
    lesson.say("CIFAR-10 from \(folder): \(split.train.count) training, \(split.validation.count) validation and \(test.count) test images\(augment ? ", training images augmented" : "")")
    // end figure

    // MARK: Samples
    // figure: samples
    var tiles: [ImageTile] = []
    for c in 0..<10 {
      for i in split.train.filter({ train.labels[$0] == c }).prefix(2) {
        tiles.append(try ImageTile(rgb: train.image(i), width: 32, height: 32, layout: .planar, caption: CIFAR10.classNames[c]))
      }
    }
    try lesson.save(Figure.imageGrid(tiles, columns: 10, tileSize: 72, title: "CIFAR-10: two training images of each class (32x32 pixels)"), as: "samples")
    // end figure

    // MARK: The network
    var rng = SeededGenerator(seed: lesson.seed(1))
    // The network (Networks' Models.cifarCNN: three 3x3 convolutions with ReLU and pooling, then dense 1024 -> 64
    // -> 10), with Glorot-uniform weights and zero biases: Keras's defaults.
    let model = try Models.cifarCNN(initializer: .xavierUniform, rng: &rng)
    lesson.say(try model.summary(inputShape: [3, 32, 32]))
    let (fields, pixelsSeen) = receptiveFields(model, size: 32)
    lesson.say("Receptive fields (input pixels one output value sees): " + fields.map { "\($0.name) \($0.size)×\($0.size)" }.joined(separator: ", ")
      + "; the outputs see the first \(pixelsSeen) of the 32 rows and columns")
    // figure: network
    try lesson.save(try networkDiagram(model), as: "network")
    // end figure
    let conv1 = model.layers[0] as! Conv2D
    let initialFilters = conv1.weight.data

    // MARK: A common mistake: one axis too many
    // np.expand_dims on a batch of RGB images adds a fifth axis; a convolution takes four.
    var none = SeededGenerator(seed: 0)
    let one = try train.batch([split.train[0]], rng: &none)
    let extraAxis = try one.reshaped([1] + one.shape)
    var extraAxisError = "(no error)"
    do { _ = try model(extraAxis) } catch { extraAxisError = "\(error)" }
    lesson.say("A batch of shape \(one.shape) gives logits of shape \(try model(one).shape); with an extra axis, \(extraAxis.shape): \(extraAxisError)")

    // MARK: Training, with a checkpoint after each epoch
    let optimizer = try Adam(model.parameters, learningRate: lr)
    let checkpoint = lesson.folder + "/checkpoint.safetensors"
    var resumeFrom: History?
    // What makes a run: a fresh run never silently replaces the checkpoint of another (or a longer) one.
    let run = "\(split.description), batch size \(batchSize), lr \(lr), \(augment ? "augmented" : "not augmented")"
    if resume {
      resumeFrom = try loadCheckpoint(checkpoint, model: model, optimizer: optimizer, split: split)
      lesson.say("Resuming after epoch \(resumeFrom!.epochs) from \(checkpoint)")
    } else if !overwriteCheckpoint {
      try Checkpoint.checkReplaceable(checkpoint, run: run, epochs: epochs, how: "pass --overwrite-checkpoint")
    }
    var trainer = Trainer(loss: .softmaxCrossEntropy, optimizer: optimizer, epochs: epochs, batchSize: batchSize, seed: lesson.seed(2))
    trainer.onEpochEnd = { report in
      try saveCheckpoint(checkpoint, model: report.model, optimizer: optimizer, history: report.history, split: split, run: run)
    }
    // figure: training-curves
    let trainData = CIFARData(images: train, indices: split.train, augment: augment, seed: lesson.seed(3))
    let validationData = CIFARData(images: train, indices: split.validation, augment: false, seed: 0)
    let history = try trainer.fit(model, data: trainData, validation: validationData, resumeFrom: resumeFrom)
    // end figure

    // MARK: The test set, once
    var predicted: [Int] = []
    var testLossSum = 0.0
    try Tensor.withoutGrad {
      var start = 0
      while start < test.count {
        let idx = Array(start..<min(test.count, start + 500))
        let logits = try model(try test.batch(idx, rng: &none))
        testLossSum += Double(try Loss.softmaxCrossEntropy(logits: logits, labels: idx.map { test.labels[$0] }).item) * Double(idx.count)
        predicted += try logits.argmax(axis: 1)
        start += idx.count
      }
    }
    // figure: confusion-matrix, per-class-accuracy
    var confusion = [[Double]](repeating: [Double](repeating: 0, count: 10), count: 10)
    for (t, p) in zip(test.labels, predicted) { confusion[t][p] += 1 }
    // end figure
    let testAccuracy = Double(zip(test.labels, predicted).filter { $0 == $1 }.count) / Double(test.count)
    let validationAccuracy = history.validationAccuracy.last!!
    lesson.say(String(format: "Validation accuracy after the last epoch: %.2f%%; test accuracy (scored once): %.2f%%", 100 * validationAccuracy, 100 * testAccuracy))

    // MARK: Figures of training and results
    // figure: training-curves
    let curves = Figure(width: 1050, height: 420, columns: 2, title: String(format: "Training on %@ images, validating on %@; the test set (%@ images) once at the end", grouped(split.train.count), grouped(split.validation.count), grouped(test.count)))
    let ep = (1...history.epochs).map(Double.init)
    let l = curves.axes(0, 0), a = curves.axes(0, 1)
    l.title = "loss"
    l.xLabel = "epoch"
    l.yLabel = "softmax cross-entropy"
    l.line(ep, history.trainLoss, label: "training (augmented)", marker: .circle)
    l.line(ep, history.validationLoss.map { $0 ?? .nan }, label: "validation", marker: .square)
    l.scatter([Double(history.epochs)], [testLossSum / Double(test.count)], label: "test, once at the end", color: Palette.color(3), size: 11, marker: .diamond)
    a.title = "accuracy"
    a.xLabel = "epoch"
    a.yLabel = "fraction right"
    a.line(ep, history.trainAccuracy.map { $0 ?? .nan }, label: "training (augmented)", marker: .circle)
    a.line(ep, history.validationAccuracy.map { $0 ?? .nan }, label: "validation", marker: .square)
    a.scatter([Double(history.epochs)], [testAccuracy], label: String(format: "test: %.1f%%", 100 * testAccuracy), color: Palette.color(3), size: 11, marker: .diamond)
    try lesson.save(curves, as: "training-curves")
    // end figure

    // figure: confusion-matrix
    let cm = Figure(width: 760, height: 680)
    let ca = cm.axes
    ca.title = "Confusion matrix on the test set (rows: true class)"
    ca.xLabel = "predicted"
    ca.yLabel = "true"
    ca.matrix(confusion, rowLabels: CIFAR10.classNames, columnLabels: CIFAR10.classNames, colorbar: "images")
    try lesson.save(cm, as: "confusion-matrix")
    // end figure

    // figure: per-class-accuracy
    // Classes from best to worst, vehicles and animals in two colours, so the ranking is the figure's.
    let perClass = (0..<10).map { c in confusion[c][c] / max(1, confusion[c].reduce(0, +)) }
    let ranked = (0..<10).sorted { perClass[$0] != perClass[$1] ? perClass[$0] > perClass[$1] : $0 < $1 }
    let vehicles: Set = [0, 1, 8, 9]
    let pc = Figure(width: 820, height: 420)
    pc.axes.title = "Test accuracy per class, best to worst"
    pc.axes.yLabel = "fraction right"
    let names = ranked.map { CIFAR10.classNames[$0] }
    pc.axes.bars(categories: names, values: ranked.map { vehicles.contains($0) ? perClass[$0] : 0 }, label: "vehicles", color: Palette.color(0))
    pc.axes.bars(categories: names, values: ranked.map { vehicles.contains($0) ? 0 : perClass[$0] }, label: "animals", color: Palette.color(1))
    pc.axes.horizontalLine(at: testAccuracy, label: String(format: "all classes: %.2f", testAccuracy))
    pc.axes.yLimits = 0...1
    pc.axes.legend = .upperRight
    try lesson.save(pc, as: "per-class-accuracy")
    // end figure
    let mean = { (classes: [Int]) in classes.map { perClass[$0] }.reduce(0, +) / Double(classes.count) }
    let vehicleAccuracy = mean(vehicles.sorted()), animalAccuracy = mean((0..<10).filter { !vehicles.contains($0) })
    var worstPair = (0, 1)
    for t in 0..<10 { for p in 0..<10 where t != p && confusion[t][p] > confusion[worstPair.0][worstPair.1] { worstPair = (t, p) } }
    lesson.say("Classes from best to worst: " + ranked.map { String(format: "%@ %.1f%%", CIFAR10.classNames[$0], 100 * perClass[$0]) }.joined(separator: ", "))
    lesson.say(String(format: "Most frequent confusion: %@ taken for %@ (%d images)", CIFAR10.classNames[worstPair.0], CIFAR10.classNames[worstPair.1], Int(confusion[worstPair.0][worstPair.1])))

    // figure: misclassified
    let wrong = (0..<test.count).filter { predicted[$0] != test.labels[$0] }.prefix(24)
    let wrongTiles = try wrong.map { i in
      try ImageTile(rgb: test.image(i), width: 32, height: 32, layout: .planar, caption: "\(CIFAR10.classNames[test.labels[i]]) → \(CIFAR10.classNames[predicted[i]])")
    }
    if !wrongTiles.isEmpty {
      try lesson.save(Figure.imageGrid(wrongTiles, columns: 8, tileSize: 84, title: "Misclassified test images (true → predicted)", captionSize: 9.5), as: "misclassified")
    } else {
      try lesson.save(Figure.imageGrid([try ImageTile(rgb: test.image(0), width: 32, height: 32, layout: .planar, caption: "no mistakes")], columns: 1, tileSize: 84, title: "Misclassified test images: none"), as: "misclassified")
    }
    // end figure

    // MARK: What the network learned
    let trainedFilters = conv1.weight.data
    // figure: filters
    try lesson.save(try filterFigure(trainedFilters), as: "filters")
    // end figure
    let brightnessShare = medianBrightnessShare(trainedFilters), initialBrightnessShare = medianBrightnessShare(initialFilters)
    lesson.say(String(format: "First-layer filters: the part shared by R, G and B holds a median %.0f%% of a filter's squared weight (%.0f%% at the start)", 100 * brightnessShare, 100 * initialBrightnessShare))

    // figure: feature-maps
    // The first car of the test set that the network gets right (else the first image it gets right).
    let right = (0..<test.count).filter { predicted[$0] == test.labels[$0] }
    let sample: Int = right.first { test.labels[$0] == 1 } ?? right.first ?? 0
    let activity = try channelActivity(model, test: test, index: sample, validation: validationData)
    try lesson.save(try featureMaps(model, test: test, index: sample, activity: activity), as: "feature-maps")
    // end figure
    for (k, layer) in activity.enumerated() {
      lesson.say("conv\(k + 1): \(layer.zeroForImage.count) of \(layer.channels) channels are zero everywhere on the image shown, \(layer.dead.count) on every validation image")
    }

    let byClass = { (values: [Double]) in SummaryValue.object(Dictionary(uniqueKeysWithValues: zip(CIFAR10.classNames, values.map { SummaryValue.number($0) }))) }
    var confusionByClass: [String: SummaryValue] = [:], zeroChannels: [String: SummaryValue] = [:], deadChannels: [String: SummaryValue] = [:]
    for (t, name) in CIFAR10.classNames.enumerated() { confusionByClass[name] = byClass(confusion[t]) }
    for (k, layer) in activity.enumerated() {
      zeroChannels["conv\(k + 1)"] = .number(Double(layer.zeroForImage.count))
      deadChannels["conv\(k + 1)"] = .number(Double(layer.dead.count))
    }
    let historyLists: [String: SummaryValue] = [
      "train_loss": .numbers(history.trainLoss), "train_accuracy": .numbers(history.trainAccuracy.map { $0 ?? .nan }),
      "validation_loss": .numbers(history.validationLoss.map { $0 ?? .nan }), "validation_accuracy": .numbers(history.validationAccuracy.map { $0 ?? .nan }),
    ]
    lesson.summary = [
      "test_accuracy": .number(testAccuracy),
      "test_loss": .number(testLossSum / Double(test.count)),
      "validation_accuracy": .number(validationAccuracy),
      "validation_loss": .number(history.validationLoss.last!!),
      "train_accuracy": .number(history.trainAccuracy.last! ?? 0),
      "train_loss": .number(history.trainLoss.last!),
      "history": .object(historyLists),
      "epoch_seconds": .numbers(history.epochSeconds),
      "validation_seconds": .numbers(history.validationSeconds),
      "peak_rss_bytes": .number(peakResidentBytes() ?? 0),
      "per_class_accuracy": byClass(perClass),
      "classes_by_accuracy": .list(ranked.map { .text(CIFAR10.classNames[$0]) }),
      "vehicle_accuracy": .number(vehicleAccuracy),
      "animal_accuracy": .number(animalAccuracy),
      "confusion": .object(confusionByClass),
      "most_confused": .object(["true": .text(CIFAR10.classNames[worstPair.0]), "predicted": .text(CIFAR10.classNames[worstPair.1]), "images": .number(confusion[worstPair.0][worstPair.1])]),
      "receptive_field": .object(Dictionary(uniqueKeysWithValues: fields.map { ($0.name, SummaryValue.number(Double($0.size))) })),
      "input_pixels_seen": .number(Double(pixelsSeen)),
      "filter_brightness_share": .number(brightnessShare),
      "filter_brightness_share_initial": .number(initialBrightnessShare),
      "feature_maps": .object([
        "test_index": .number(Double(sample)), "class": .text(CIFAR10.classNames[test.labels[sample]]),
        "zero_channels": .object(zeroChannels), "dead_channels": .object(deadChannels),
      ]),
      "extra_axis_error": .text(extraAxisError),
      "parameters": .number(Double(model.parameterCount)),
      "epochs": .number(Double(history.epochs)),
      "train_images": .number(Double(split.train.count)),
      "validation_images": .number(Double(split.validation.count)),
      "test_images": .number(Double(test.count)),
      "augment": .bool(augment),
      "gemm_kernel": .text(GEMM.kernelName),
    ]
    try lesson.writeHistory(history)
    try lesson.finish()
  }

  // figure: network
  /// The network as stacked volumes, read from the model itself: one block per layer's output (an activation
  /// joins the layer before it), with the shape each layer gives a [3, 32, 32] input.
  func networkDiagram(_ model: Sequential) throws -> Figure {
    let fig = Figure(width: 1200, height: 420)
    let d = fig.diagram()
    d.title = "The network: each block is a layer's output, channels across, the feature map's size up and back"
    var layers: [(String, String, Int, Int, Bool)] = [("input", "32×32×3", 3, 32, false)]
    var shape = [3, 32, 32]
    for (i, layer) in model.layers.enumerated() {
      shape = try layer.outputShape(for: shape)
      let relu = (i + 1 < model.layers.count ? model.layers[i + 1] as? Activation : nil)?.function == .relu ? " + ReLU" : ""
      let sublabel = shape.count == 3 ? "\(shape[1])×\(shape[2])×\(shape[0])" : (i == model.layers.count - 1 ? "\(shape[0]) logits" : "\(shape[0])")
      switch layer {
      case let conv as Conv2D:
        layers.append(("conv \(conv.weight.shape[2])×\(conv.weight.shape[3])" + relu, sublabel, shape[0], shape[1], false))
      case let pool as MaxPool2D: layers.append(("max-pool \(pool.kernel)", sublabel, shape[0], shape[1], false))
      case is Flatten: layers.append(("flatten", sublabel, shape[0], 1, true))
      case is Dense: layers.append(("dense" + relu, sublabel, shape[0], 1, true))
      default: continue  // activations are drawn with the layer before them
      }
    }
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
  // end figure

  // figure: filters
  /// The 32 first-layer filters twice: in colour (left), and their light/dark part, the mean of their red,
  /// green and blue weights (right). Each filter on its own scale, symmetric about 0, so grey is a zero weight.
  func filterFigure(_ weights: [Float]) throws -> Figure {
    let fig = Figure(width: 1250, height: 410, rows: 4, columns: 17, title: "The 32 first-layer filters (3×3×3): in colour, and their light/dark part (mean of R, G, B); grey = 0")
    fig.spacing = 4
    for f in 0..<32 {
      let w: [Double] = weights[(f * 27)..<((f + 1) * 27)].map(Double.init)
      let brightness = lightDark(w)
      let top = max(w.map(abs).max() ?? 1, 1e-12), btop = max(brightness.map(abs).max() ?? 1, 1e-12)
      let colour = try ImageTile(rgbValues: w, width: 3, height: 3, layout: .planar, range: -top...top, caption: f == 0 ? "colour: 1" : "\(f + 1)")
      let light = try ImageTile(gray: brightness, width: 3, height: 3, range: -btop...btop, caption: f == 0 ? "light/dark: 1" : "\(f + 1)")
      for (column, tile) in [(f % 8, colour), (9 + f % 8, light)] {
        let ax = fig.axes(f / 8, column)
        ax.titleFontSize = 10
        ax.titleWeight = .regular
        ax.image(tile)
      }
    }
    return fig
  }
  // end figure

  // figure: feature-maps
  /// The activations of one test image after each conv layer (after its ReLU), a row a layer: first every
  /// channel's largest value (one cell a channel, grey where the channel is zero everywhere), then the first
  /// eight channels' maps, each on its own colour scale from 0 to its largest value.
  func featureMaps(_ model: Sequential, test: CIFAR10, index: Int, activity: [ChannelActivity]) throws -> Figure {
    var none = SeededGenerator(seed: 0)
    var h = try test.batch([index], rng: &none)
    let fig = Figure(width: 1200, height: 420, rows: 3, columns: 10, title: "A test image (\(CIFAR10.classNames[test.labels[index]])) after each conv + ReLU: every channel's peak (grey = all 0), then maps 1-8, each 0 to its peak")
    fig.spacing = 4
    func show(_ tile: ImageTile, _ row: Int, _ column: Int) {
      let ax = fig.axes(row, column)
      ax.titleFontSize = 10
      ax.titleWeight = .regular
      ax.image(tile)
    }
    show(try ImageTile(rgb: test.image(index), width: 32, height: 32, layout: .planar, caption: "the input"), 0, 0)
    var conv = 0
    try Tensor.withoutGrad {
      for (i, layer) in model.layers.enumerated() {
        h = try layer.forward(h, training: false)
        guard i + 1 < model.layers.count, layer is Conv2D, model.layers[i + 1] is Activation else { continue }
        let a = try model.layers[i + 1].forward(h, training: false)
        let (s, shown) = (a.shape[2], min(8, a.shape[1]))
        let zero = activity[conv].zeroForImage
        show(try peakTile(activity[conv].peaks), conv, 1)
        for k in 0..<shown {
          let plane = a.data[(k * s * s)..<((k + 1) * s * s)].map(Double.init)
          let top = plane.max() ?? 1
          let name = (k == 0 ? "conv\(conv + 1): \(s)×\(s), #1" : "#\(k + 1)") + (zero.contains(k) ? " (all 0)" : "")
          show(try ImageTile(gray: plane, width: s, height: s, range: 0...max(top, 1e-6), colormap: .viridis, caption: name), conv, k + 2)
        }
        conv += 1
      }
    }
    return fig
  }

  /// Every channel's largest value as one cell, eight to a row, on viridis from 0 to the largest; channels
  /// that are zero everywhere in light grey.
  func peakTile(_ peaks: [Float]) throws -> ImageTile {
    let top = Double(max(peaks.max() ?? 1, 1e-6))
    let rows = (peaks.count + 7) / 8
    var rgb = [UInt8](repeating: 255, count: rows * 8 * 3)
    for (k, p) in peaks.enumerated() {
      let c = p > 0 ? Colormap.viridis.color(Double(p), in: 0...top) : Color(hex: 0xd0d0d0)
      for (j, v) in [c.red, c.green, c.blue].enumerated() { rgb[k * 3 + j] = UInt8((v * 255).rounded()) }
    }
    let zero = peaks.filter { $0 <= 0 }.count
    return try ImageTile(rgb: rgb, width: 8, height: rows, caption: "\(zero) of \(peaks.count) all 0")
  }
  // end figure
}

// MARK: - The validation split

/// Which training images are trained on and which are held out: a tenth (at least one), drawn by the seed,
/// each list in file order.
struct ValidationSplit: Equatable {
  let train: [Int]
  let validation: [Int]
  let seed: UInt64

  init(count: Int, seed: UInt64) {
    var rng = SeededGenerator(seed: seed)
    let order = rng.permutation(count)
    let held = max(1, count / 10)
    validation = order[..<held].sorted()
    train = order[held...].sorted()
    self.seed = seed
  }

  /// How the checkpoint records it: enough to tell whether a resumed run holds out the same images.
  var description: String { "\(train.count) training and \(validation.count) validation images, seed \(seed)" }
}

/// Some of the CIFAR-10 images (`indices`) as training batches.
struct CIFARData: TrainingData {
  let images: CIFAR10
  let indices: [Int]
  let augment: Bool
  let seed: UInt64
  var count: Int { indices.count }
  func batch(_ positions: [Int], training: Bool) throws -> (x: Tensor, y: Tensor) {
    let chosen = positions.map { indices[$0] }
    // Augmentation draws from a generator seeded by the batch's first position, so runs repeat exactly.
    var rng = SeededGenerator(seed: seed &+ UInt64(positions.first ?? 0) &* 0x9E37_79B9)
    return (try images.batch(chosen, augment: training && augment, rng: &rng), try images.labelTensor(chosen))
  }
}

// MARK: - What the layers see and do

/// The receptive field of each convolution and pooling layer's outputs: how many input pixels across one
/// output value depends on. r grows by (k - 1) · j at a layer of kernel k, where j, the input pixels
/// between neighbouring values, is multiplied by each stride. Also how many of the `size` input pixels
/// across reach the last of these layers at all, (n - 1) · j + r for its n outputs across (this count
/// assumes no padding, as in this network).
func receptiveFields(_ model: Sequential, size: Int) -> (fields: [(name: String, size: Int)], seen: Int) {
  var (r, j, n, convs, pools) = (1, 1, size, 0, 0)
  var fields: [(name: String, size: Int)] = []
  for layer in model.layers {
    let k: Int, s: Int, pad: Int, name: String
    if let c = layer as? Conv2D {
      (k, s, pad) = (c.weight.shape[2], c.stride, c.padding)
      convs += 1
      name = "conv\(convs)"
    } else if let p = layer as? MaxPool2D {
      (k, s, pad) = (p.kernel, p.stride, p.padding)
      pools += 1
      name = "pool\(pools)"
    } else {
      continue
    }
    r += (k - 1) * j
    j *= s
    n = (n + 2 * pad - k) / s + 1
    fields.append((name, r))
  }
  return (fields, (n - 1) * j + r)
}

/// The median, over first-layer filters ([filters, 3, 3, 3] weights), of the share of a filter's squared
/// weight in its light/dark part (the mean of its three colour planes, repeated in each). A random filter
/// has 1/3 on average; a filter that weighs red, green and blue alike, 1.
func medianBrightnessShare(_ weights: [Float]) -> Double {
  var shares: [Double] = []
  for start in stride(from: 0, to: weights.count, by: 27) {
    let w: [Double] = weights[start..<(start + 27)].map(Double.init)
    var total = 0.0, gray = 0.0
    for v in w { total += v * v }
    for v in lightDark(w) { gray += 3 * v * v }
    shares.append(total > 0 ? gray / total : 0)
  }
  shares.sort()
  let n = shares.count
  return n % 2 == 1 ? shares[n / 2] : (shares[n / 2 - 1] + shares[n / 2]) / 2
}

/// A first-layer filter's light/dark part: at each of its 9 positions, the mean of its red, green and blue
/// weights ([3, 3, 3] planar in, 9 values out).
func lightDark(_ w: [Double]) -> [Double] {
  (0..<9).map { p in
    let sum: Double = w[p] + w[9 + p]
    return (sum + w[18 + p]) / 3
  }
}

/// Channels of one convolution (after its ReLU) that output zero everywhere: on one image, and on every
/// image of a set (dead).
struct ChannelActivity {
  /// Each channel's largest value on the image.
  let peaks: [Float]
  var channels: Int { peaks.count }
  let zeroForImage: [Int]
  let dead: [Int]
}

/// For each conv + ReLU of `model`: the channels that are zero on test image `index`, and those zero on
/// every image of `validation`.
func channelActivity(_ model: Sequential, test: CIFAR10, index: Int, validation: CIFARData) throws -> [ChannelActivity] {
  // The largest value of each channel after each conv + ReLU, over a batch.
  func channelMaxima(_ x: Tensor) throws -> [[Float]] {
    var h = x
    var maxima: [[Float]] = []
    for (i, layer) in model.layers.enumerated() {
      h = try layer.forward(h, training: false)
      guard layer is Conv2D, i + 1 < model.layers.count, model.layers[i + 1] is Activation else { continue }
      let (n, c, plane) = (h.shape[0], h.shape[1], h.shape[2] * h.shape[3])
      maxima.append((0..<c).map { ch in
        (0..<n).map { b in h.data[((b * c + ch) * plane)..<((b * c + ch + 1) * plane)].max()! }.max()!
      })
    }
    return maxima
  }
  return try Tensor.withoutGrad {
    var none = SeededGenerator(seed: 0)
    let image = try channelMaxima(try test.batch([index], rng: &none))
    var seen = image.map { [Float](repeating: -.infinity, count: $0.count) }
    var start = 0
    while start < validation.count {
      let (x, _) = try validation.batch(Array(start..<min(validation.count, start + 500)), training: false)
      for (k, m) in try channelMaxima(x).enumerated() { seen[k] = zip(seen[k], m).map { max($0, $1) } }
      start += 500
    }
    // A channel's ReLU output is zero where its convolution is <= 0.
    return zip(image, seen).map { image, seen in
      ChannelActivity(peaks: image, zeroForImage: image.indices.filter { image[$0] <= 0 }, dead: seen.indices.filter { seen[$0] <= 0 })
    }
  }
}

/// 45000 -> "45,000".
func grouped(_ n: Int) -> String {
  let digits = String(n)
  return String(digits.enumerated().flatMap { i, ch in (i > 0 && (digits.count - i) % 3 == 0) ? [",", ch] : [ch] })
}

// MARK: - Checkpoints: Networks' TrainingCheckpoint (the model, Adam's moments and step count, the history) and the validation split

func saveCheckpoint(_ path: String, model: Sequential, optimizer: Adam, history: History, split: ValidationSplit, run: String) throws {
  try TrainingCheckpoint.save(to: path, model: model, optimizer: optimizer, history: history, metadata: ["split": split.description, "run": run])
}

func loadCheckpoint(_ path: String, model: Sequential, optimizer: Adam, split: ValidationSplit) throws -> History {
  guard FileManager.default.fileExists(atPath: path) else {
    throw LessonError("--resume: there is no checkpoint at \(path); train without --resume first")
  }
  let metadata = try Checkpoint.metadata(path)
  guard metadata["split"] == split.description else {
    throw LessonError("--resume: \(path) was trained with \(metadata["split"] ?? "the test set as its validation set"), this run holds out \(split.description); use the same --seed and --train-subset, or delete it to start afresh")
  }
  do {
    return try TrainingCheckpoint.load(from: path, model: model, optimizer: optimizer).history
  } catch let mismatch as TrainingCheckpoint.Mismatch {
    throw LessonError("--resume: \(mismatch)")
  }
}
