// Lesson 1: a single neuron, y = σ(w·x + b), trained as logistic regression; and the problem it cannot solve.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct NeuronLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "01-neuron",
    abstract: "Lesson 1: one neuron, y = σ(w·x + b), trained as logistic regression; and why it cannot learn XOR.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: "Epochs of full-batch gradient descent (default: 300, or 60 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Learning rate.")
  var lr: Float = 0.5

  func validate() throws {
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkPositive(lr, "--lr")
  }

  func run() throws {
    let lesson = try Lesson(name: "01-neuron", options: options)
    let epochs = self.epochs ?? (options.quick ? 60 : 300)
    let count = options.quick ? 60 : 200

    // MARK: Logistic regression on two blobs
    // figure: blobs-before-after, blobs-loss
    let blobs = try Toy2D.blobs(count: count, centers: [(-1.2, -0.8), (1.2, 0.8)], spread: 0.75, seed: lesson.seed(1))
    var rng = SeededGenerator(seed: lesson.seed(2))
    let neuron = Sequential([try Dense(2, 1, initializer: .normal(std: 1), rng: &rng)])
    let dense = neuron.layers[0] as! Dense
    let before = (w: dense.weight.data, b: dense.bias.data[0])
    let beforeGrid = try regions(neuron, blobs)
    lesson.say("Training one neuron on two blobs (\(count) points, \(epochs) epochs, lr \(lr))")
    let trainer = Trainer(
      loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(neuron.parameters, learningRate: lr), epochs: epochs,
      batchSize: count, seed: lesson.seed(3), progress: ProgressPrinter(every: max(1, epochs / 5)))
    let history = try trainer.fit(neuron, x: blobs.x, y: blobs.targets)
    let after = (w: dense.weight.data, b: dense.bias.data[0])
    // end figure

    // MARK: The same training by hand, with the gradient derived in the text, and with two mistakes
    // figure: blobs-loss
    lesson.say("The same training with the gradient written by hand: right, with an extra σ′(z), with the sign flipped")
    let right = descend(blobs, from: before, lr: lr, epochs: epochs) { yHat, y in yHat - y }
    let extraFactor = descend(blobs, from: before, lr: lr, epochs: epochs) { yHat, y in yHat * (1 - yHat) * (yHat - y) }
    let wrongSign = descend(blobs, from: before, lr: lr, epochs: epochs) { yHat, y in y - yHat }
    let byHandDifference = zip(right.w + [right.b], after.w + [after.b]).map { Swift.abs($0 - $1) }.max()!
    lesson.say(String(format: "  by hand, (ŷ − y)x:       loss %.4f (autograd's weights to within %.1e)", right.losses.last!, byHandDifference))
    lesson.say(String(format: "  with an extra σ′(z):     loss %.4f", extraFactor.losses.last!))
    lesson.say(String(format: "  sign flipped, (y − ŷ)x:  loss %.4f, rising from %.4f", wrongSign.losses.last!, wrongSign.losses[0]))
    // end figure

    // MARK: The same neuron on XOR
    // figure: xor
    let xor = try Toy2D.xor(copies: options.quick ? 10 : 25, noise: 0.2, seed: lesson.seed(4))
    var rng2 = SeededGenerator(seed: lesson.seed(5))
    let xorNeuron = Sequential([try Dense(2, 1, initializer: .normal(std: 1), rng: &rng2)])
    lesson.say("Training the same neuron on XOR (\(xor.labels.count) points)")
    let xorTrainer = Trainer(
      loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(xorNeuron.parameters, learningRate: lr), epochs: epochs,
      batchSize: xor.labels.count, seed: lesson.seed(6), progress: ProgressPrinter(every: max(1, epochs / 5)))
    let xorHistory = try xorTrainer.fit(xorNeuron, x: xor.x, y: xor.targets)
    // end figure

    // MARK: Figures
    // figure: neuron-diagram
    try lesson.save(diagram(w: after.w, b: after.b, sample: (Float(blobs.xs[count - 1]), Float(blobs.ys[count - 1]))), as: "neuron-diagram")
    // end figure

    // figure: blobs-before-after
    let fig = Figure(width: 1000, height: 480, columns: 2, title: "One neuron on two blobs: the line w·x + b = 0")
    for (i, (state, grid, name)) in [(before, beforeGrid, "before training"), (after, try regions(neuron, blobs), "after \(epochs) epochs")].enumerated() {
      let ax = fig.axes(0, i)
      ax.title = name
      ax.xLabel = "x₁"
      ax.yLabel = "x₂"
      let (xr, yr) = Lesson.extent(of: blobs)
      ax.decisionRegions(grid, rows: 100, columns: 100, x: xr, y: yr)
      let line = boundary(w: state.w, b: state.b, x: xr, y: yr)
      ax.line(line.0, line.1, label: "w·x + b = 0", color: .ink, width: 2)
      ax.scatter(blobs.xs, blobs.ys, classes: blobs.labels, classNames: ["class 0", "class 1"], size: 6)
      ax.xLimits = xr
      ax.yLimits = yr
      ax.equalAspect = true
    }
    try lesson.save(fig, as: "blobs-before-after")
    // end figure

    // figure: blobs-loss
    let lossFig = Figure(width: 760, height: 440)
    let la = lossFig.axes
    la.title = "Binary cross-entropy while training, with the right gradient and two wrong ones"
    la.xLabel = "epoch (one step on all the points)"
    la.yLabel = "loss (log scale)"
    la.yScale = .log
    let epochAxis = (1...history.epochs).map(Double.init)
    la.line(epochAxis, history.trainLoss, label: "right: ∂L/∂w = (ŷ − y)x (autograd and by hand)", color: Palette.color(0), width: 2.5)
    la.line(epochAxis, extraFactor.losses, label: "extra factor: σ′(z)(ŷ − y)x", color: Palette.color(1), dash: .dashed)
    la.line(epochAxis, wrongSign.losses, label: "wrong sign: (y − ŷ)x", color: Palette.color(3), dash: .dotted)
    la.legend = .centerRight
    try lesson.save(lossFig, as: "blobs-loss")
    // end figure

    // figure: xor
    // The XOR neuron's output on its own points: where it ends up for every input.
    let xd = xorNeuron.layers[0] as! Dense
    let xorOutput: [Double] = try Tensor.withoutGrad { try Lesson.sigmoidOutput(xorNeuron)(xor.x) }.map { Double($0) }
    let xorWeightNorm = Double(xd.weight.data.map { $0 * $0 }.reduce(Float(0), +).squareRoot())
    let xfig = Figure(width: 1180, height: 430, columns: 3, title: "The same neuron on XOR: no line separates the classes, so it answers ŷ ≈ 0.5 everywhere")
    let xa = xfig.axes(0, 0)
    xa.title = String(format: "P(class 1) is ≈ 0.5 everywhere (‖w‖ = %.2f)", xorWeightNorm)
    xa.xLabel = "x₁"
    xa.yLabel = "x₂"
    let (xr, yr) = Lesson.extent(of: xor)
    xa.decisionRegions(try regions(xorNeuron, xor), rows: 100, columns: 100, x: xr, y: yr)
    let xl = boundary(w: xd.weight.data, b: xd.bias.data[0], x: xr, y: yr)
    xa.line(xl.0, xl.1, label: "w·x + b = 0 (arbitrary)", color: .ink, width: 1.5, dash: .dashed)
    xa.scatter(xor.xs, xor.ys, classes: xor.labels, size: 6)
    xa.xLimits = xr
    xa.yLimits = yr
    xa.equalAspect = true
    let xm = xfig.axes(0, 1)
    xm.title = "ŷ for each training point"
    xm.xLabel = "the neuron's output ŷ = P(class 1)"
    xm.yLabel = "true class (spread out)"
    var jitter = SeededGenerator(seed: lesson.seed(7))
    xm.scatter(xorOutput, xor.labels.map { Double($0) + 0.3 * Double(jitter.uniform() - 0.5) }, classes: xor.labels, classNames: ["class 0", "class 1"], size: 6)
    xm.verticalLine(at: 0.5, label: "ŷ = 0.5")
    xm.xLimits = 0...1
    xm.yLimits = -0.6...1.6
    xm.legend = .lowerLeft
    let xb = xfig.axes(0, 2)
    xb.title = "its loss stalls at ln 2"
    xb.xLabel = "epoch"
    xb.yLabel = "binary cross-entropy"
    xb.line((1...xorHistory.epochs).map(Double.init), xorHistory.trainLoss, label: "XOR loss")
    xb.horizontalLine(at: log(2), label: "ln 2 ≈ 0.693: ŷ = 0.5 for all")
    try lesson.save(xfig, as: "xor")
    // end figure

    lesson.summary = [
      "blobs_first_loss": .number(history.trainLoss.first!),
      "blobs_final_loss": .number(history.trainLoss.last!),
      "blobs_accuracy": .number(history.trainAccuracy.last! ?? 0),
      "w": .numbers(after.w),
      "b": .number(Double(after.b)),
      "by_hand_max_difference": .number(Double(byHandDifference)),
      "extra_factor_final_loss": .number(extraFactor.losses.last!),
      "wrong_sign_first_loss": .number(wrongSign.losses.first!),
      "wrong_sign_final_loss": .number(wrongSign.losses.last!),
      "xor_final_loss": .number(xorHistory.trainLoss.last!),
      "xor_accuracy": .number(xorHistory.trainAccuracy.last! ?? 0),
      "xor_weight_norm": .number(xorWeightNorm),
      "xor_bias": .number(Double(xd.bias.data[0])),
      "xor_output_min": .number(xorOutput.min()!),
      "xor_output_max": .number(xorOutput.max()!),
      "parameters": .number(Double(neuron.parameterCount)),
      "epochs": .number(Double(epochs)),
      "points": .number(Double(count)),
      "learning_rate": .number(Double(lr)),
      "train_seconds": .number(history.epochSeconds.reduce(0, +) + xorHistory.epochSeconds.reduce(0, +)),
    ]
    try lesson.writeHistory(history, run: "blobs")  // the main run: one neuron on the two blobs
    try lesson.finish()
  }

  // figure: blobs-loss
  /// Full-batch gradient descent on one neuron with the gradient written by hand. `dLdz(ŷ, y)` is one point's
  /// ∂L/∂z; then ∂L/∂wⱼ = mean of dLdz · xⱼ and ∂L/∂b = mean of dLdz. Returns the final weights and the
  /// binary cross-entropy before each step (as the trainer reports it).
  func descend(_ data: PointSet, from start: (w: [Float], b: Float), lr: Float, epochs: Int, dLdz: (Float, Float) -> Float) -> (w: [Float], b: Float, losses: [Double]) {
    let x1 = data.xs.map(Float.init), x2 = data.ys.map(Float.init), y = data.labels.map(Float.init)
    let n = Float(y.count)
    var w = start.w, b = start.b, losses: [Double] = []
    for _ in 0..<epochs {
      var gw1: Float = 0, gw2: Float = 0, gb: Float = 0, loss: Double = 0
      for i in y.indices {
        let z = w[0] * x1[i] + w[1] * x2[i] + b
        let yHat = 1 / (1 + exp(-z))
        // −(y log ŷ + (1 − y) log(1 − ŷ)), written so that it never takes log(0).
        loss += Double(Swift.max(z, 0) - z * y[i] + log1p(exp(-Swift.abs(z))))
        let g = dLdz(yHat, y[i])
        gw1 += g * x1[i]
        gw2 += g * x2[i]
        gb += g
      }
      losses.append(loss / Double(n))
      w[0] -= lr * gw1 / n
      w[1] -= lr * gw2 / n
      b -= lr * gb / n
    }
    return (w, b, losses)
  }
  // end figure

  /// P(class 1) over the blobs' extent.
  func regions(_ model: Sequential, _ data: PointSet) throws -> [Double] {
    let (xr, yr) = Lesson.extent(of: data)
    return try Lesson.probabilityGrid(x: xr, y: yr, resolution: 100, probability: Lesson.sigmoidOutput(model))
  }

  /// Two points of the line w₁x₁ + w₂x₂ + b = 0 across the extent (vertical if w₂ is 0).
  func boundary(w: [Float], b: Float, x: ClosedRange<Double>, y: ClosedRange<Double>) -> ([Double], [Double]) {
    let w1 = Double(w[0]), w2 = Double(w[1]), bb = Double(b)
    if Swift.abs(w2) < 1e-9 {
      let x0 = -bb / w1
      return ([x0, x0], [y.lowerBound, y.upperBound])
    }
    let xs = [x.lowerBound, x.upperBound]
    return (xs, xs.map { -(w1 * $0 + bb) / w2 })
  }

  /// The neuron with its trained numbers for one input.
  func diagram(w: [Float], b: Float, sample: (Float, Float)) -> Figure {
    let z = w[0] * sample.0 + w[1] * sample.1 + b
    let y = 1 / (1 + exp(-z))
    let fig = Figure(width: 860, height: 380)
    let d = fig.diagram()
    d.title = "One neuron: y = σ(w₁x₁ + w₂x₂ + b), with the trained weights and one input"
    let maxW = Double(max(Swift.abs(w[0]), Swift.abs(w[1])))
    let x1 = d.circle(at: Point(0, 0), radius: 0.5, label: "x₁", sublabel: String(format: "%.2f", sample.0), fill: Color(hex: 0xdbe9f6))
    let x2 = d.circle(at: Point(0, 2.4), radius: 0.5, label: "x₂", sublabel: String(format: "%.2f", sample.1), fill: Color(hex: 0xdbe9f6))
    let bias = d.circle(at: Point(2.2, 3.3), radius: 0.42, label: "b", sublabel: String(format: "%.2f", b), fill: Color(hex: 0xeeeeee))
    let sum = d.box(at: Point(3.8, 1.2), width: 2.0, height: 1.3, label: "z = w·x + b", sublabel: String(format: "%.2f", z), fill: Color(hex: 0xf2f2f2))
    let act = d.box(at: Point(6.6, 1.2), width: 1.7, height: 1.3, label: "σ(z)", sublabel: String(format: "%.2f", y), fill: Color(hex: 0xfde0c5))
    let out = d.circle(at: Point(9.0, 1.2), radius: 0.55, label: "ŷ", sublabel: String(format: "%.2f", y), fill: .white)
    d.connect(x1, sum, value: Double(w[0]), maxMagnitude: maxW, curved: true, arrow: true, label: String(format: "w₁ = %.2f", w[0]))
    d.connect(x2, sum, value: Double(w[1]), maxMagnitude: maxW, curved: true, arrow: true, label: String(format: "w₂ = %.2f", w[1]))
    d.connect(bias, sum, arrow: true)
    d.connect(sum, act, arrow: true)
    d.connect(act, out, arrow: true)
    d.text(y >= 0.5 ? "ŷ ≥ 0.5: class 1 (blue)" : "ŷ < 0.5: class 0 (orange)", at: Point(9.0, 2.3), size: 12, color: .mutedInk)
    d.text("edge colour and width: the weight's sign and size", at: Point(6.6, 3.3), size: 11, color: .mutedInk)
    return fig
  }
}
