// Lesson 2: activation functions, their derivatives, vanishing gradients, and what they do to a small MLP.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct ActivationsLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "02-activations",
    abstract: "Lesson 2: activation functions and their derivatives, the vanishing gradient, and the same MLP trained with each.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: "Steps of full-batch gradient descent for each MLP on two moons (default: 1000, or 200 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Learning rate of gradient descent.")
  var lr: Float = 0.5

  @Option(name: .long, help: "Hidden units per layer of the MLP.")
  var hidden: Int = 16

  func validate() throws {
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkPositive(lr, "--lr")
    try LessonOptions.checkAtLeast(hidden, "--hidden")
  }

  static let activations: [ActivationKind] = [.sigmoid, .tanh, .relu, .leakyRelu(slope: 0.1), .elu(alpha: 1), .softplus, .gelu, .silu]

  func run() throws {
    let lesson = try Lesson(name: "02-activations", options: options)
    let epochs = self.epochs ?? (options.quick ? 200 : 1000)

    // MARK: Curves and derivatives, the derivative computed by autograd
    // figure: activation-curves
    let xs = (0...200).map { -4 + Double($0) / 25 }
    let curves = Figure(width: 1100, height: 560, rows: 2, columns: 4, title: "Activation functions (solid) and their derivatives (dashed), by autograd")
    for (i, f) in Self.activations.enumerated() {
      let x = try Tensor(xs.map(Float.init), shape: [xs.count], requiresGrad: true)
      let y = try f.apply(x)
      try y.sum().backward()
      let ax = curves.axes(at: i)
      ax.title = f.description
      ax.line(xs, y.data.map(Double.init), label: "f(x)", color: Palette.color(0))
      ax.line(xs, x.grad!.map(Double.init), label: "f′(x)", color: Palette.color(1), dash: .dashed)
      ax.yLimits = -1.5...4.2
      ax.horizontalLine(at: 0, color: .gridGrey, width: 1, dash: .solid)
      if i >= 4 { ax.xLabel = "x" }
      if i != 0 { ax.legend = .none } else { ax.legend = .upperLeft }
    }
    try lesson.save(curves, as: "activation-curves")
    // end figure

    // MARK: The vanishing gradient
    // figure: vanishing-gradient
    lesson.say("Gradient norms through a 10-layer stack at initialisation")
    let depth = 10, width = 32
    var norms: [String: SummaryValue] = [:], shrink: [String: SummaryValue] = [:]
    let vanishing = Figure(width: 780, height: 470)
    let va = vanishing.axes
    va.title = "Gradient norm of each layer's weights at initialisation (10 layers of 32 units)"
    va.xLabel = "layer k (1 = nearest the input, 10 = nearest the loss)"
    va.yLabel = "‖∂L/∂Wₖ‖ (log scale)"
    va.yScale = .log
    for (i, f) in [ActivationKind.sigmoid, .tanh, .relu].enumerated() {
      var rng = SeededGenerator(seed: lesson.seed(10))
      var layers: [Layer] = []
      for _ in 0..<depth {
        layers.append(try Dense(width, width, initializer: f == .relu ? .heNormal : .xavierNormal, rng: &rng))
        layers.append(Activation(f))
      }
      let stack = Sequential(layers)
      let input = try Tensor.normal([64, width], using: &rng)
      let target = try Tensor.normal([64, width], using: &rng)
      try Loss.meanSquaredError(try stack.forward(input), target).backward()
      let layerNorms = stack.layers.compactMap { $0 as? Dense }.map { d in d.weight.grad!.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot() }
      norms[Self.key(f)] = .numbers(layerNorms)
      // The average factor by which the gradient shrinks from one layer to the one below it.
      let perLayer = pow(layerNorms[depth - 1] / layerNorms[0], 1 / Double(depth - 1))
      shrink[Self.key(f)] = .object(["last_over_first": .number(layerNorms[depth - 1] / layerNorms[0]), "per_layer": .number(perLayer)])
      va.line((1...depth).map(Double.init), layerNorms, label: f.description + (f == .relu ? " (He init.)" : " (Xavier init.)"), color: Palette.color(i), marker: .circle)
      if f == .sigmoid {
        let top = layerNorms[depth - 1]
        va.line((1...depth).map(Double.init), (1...depth).map { top * pow(0.25, Double(depth - $0)) }, label: "×¼ per layer from layer 10 (σ′ ≤ ¼)", color: .mutedInk, width: 1.2, dash: .dotted)
      }
    }
    va.legend = .lowerRight
    try lesson.save(vanishing, as: "vanishing-gradient")
    // end figure

    // MARK: The same MLP on two moons with each activation
    // figure: moons-loss-curves, moons-boundaries
    let count = options.quick ? 80 : 240
    let moons = try Toy2D.moons(count: count, noise: 0.15, seed: lesson.seed(20))
    let test = try Toy2D.moons(count: count, noise: 0.15, seed: lesson.seed(21))
    var results: [String: SummaryValue] = [:]
    var histories: [History] = []
    let boundaries = Figure(width: 1200, height: 480, rows: 2, columns: 4, title: "Decision boundaries after \(epochs) steps (accuracy on the training points, and on \(count) new test points)")
    for (i, f) in Self.activations.enumerated() {
      var rng = SeededGenerator(seed: lesson.seed(30))
      let model = Sequential([
        try Dense(2, hidden, initializer: .xavierUniform, rng: &rng), Activation(f),
        try Dense(hidden, hidden, initializer: .xavierUniform, rng: &rng), Activation(f),
        try Dense(hidden, 1, initializer: .xavierUniform, rng: &rng),
      ])
      lesson.say("MLP with \(f): \(epochs) steps of full-batch gradient descent")
      // Lesson 1's training: binary cross-entropy on one output logit, gradient descent on all points at once.
      let trainer = Trainer(
        loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(model.parameters, learningRate: lr), epochs: epochs,
        batchSize: count, seed: lesson.seed(31), progress: ProgressPrinter(every: max(1, epochs / 4)))
      let h = try trainer.fit(model, x: moons.x, y: moons.targets, validation: (test.x, test.targets))
      histories.append(h)
      let trainAccuracy = h.trainAccuracy.last! ?? 0, testAccuracy = h.validationAccuracy.last!! ?? 0
      let ax = boundaries.axes(at: i)
      ax.title = String(format: "%@: train %.0f%%, test %.0f%%", f.description, 100 * trainAccuracy, 100 * testAccuracy)
      ax.titleFontSize = 12
      try Lesson.drawDecision(ax, data: moons, resolution: 70, classNames: nil, probability: Lesson.sigmoidOutput(model))
      results[Self.key(f)] = .object([
        "final_loss": .number(h.trainLoss.last!), "accuracy": .number(trainAccuracy), "test_accuracy": .number(testAccuracy),
      ])
    }

    // Lesson 1's single neuron on the same points: the best a straight line does.
    var lineRng = SeededGenerator(seed: lesson.seed(32))
    let neuron = Sequential([try Dense(2, 1, initializer: .xavierUniform, rng: &lineRng)])
    lesson.say("One neuron (a straight line) on the same points, for comparison")
    let line = try Trainer(
      loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(neuron.parameters, learningRate: lr), epochs: epochs,
      batchSize: count, seed: lesson.seed(31), progress: ProgressPrinter(mode: .silent)
    ).fit(neuron, x: moons.x, y: moons.targets)

    // When each network leaves the straight-line plateau: the first step whose loss is below half the neuron's
    // (-1: not within the run).
    for (i, f) in Self.activations.enumerated() {
      guard case .object(var r) = results[Self.key(f)]! else { continue }
      r["left_plateau_step"] = .number(Double(histories[i].trainLoss.firstIndex { $0 < line.trainLoss.last! / 2 }.map { $0 + 1 } ?? -1))
      results[Self.key(f)] = .object(r)
    }
    let others = histories.dropFirst().compactMap { $0.validationAccuracy.last! }

    // Small multiples: each activation's loss in colour, the other seven in grey behind it.
    let lossFig = Figure(width: 1200, height: 560, rows: 2, columns: 4, title: "Training loss on two moons (log scale): each activation in blue, the other seven in grey, one neuron dashed")
    let steps = (1...epochs).map(Double.init)
    let lossRange = histories.flatMap(\.trainLoss).filter { $0 > 0 }
    for (i, f) in Self.activations.enumerated() {
      let ax = lossFig.axes(at: i)
      ax.title = f.description
      ax.yScale = .log
      ax.yLimits = lossRange.min()! / 1.5...lossRange.max()! * 1.5
      for (j, h) in histories.enumerated() where j != i {
        ax.line(steps, h.trainLoss, color: Color(hex: 0xc8c8c8), width: 1)
      }
      ax.horizontalLine(at: line.trainLoss.last!, color: Palette.color(3), width: 1.2, dash: .dashed)
      ax.line(steps, histories[i].trainLoss, color: Palette.color(0), width: 2.2)
      if i % 4 == 0 { ax.yLabel = "binary cross-entropy" }
      if i >= 4 { ax.xLabel = "step" }
    }
    try lesson.save(lossFig, as: "moons-loss-curves")
    try lesson.save(boundaries, as: "moons-boundaries")
    // end figure

    lesson.summary = [
      "moons": .object(results),
      "others_test_accuracy_min": .number(others.min()!),
      "others_test_accuracy_max": .number(others.max()!),
      "one_neuron": .object(["final_loss": .number(line.trainLoss.last!), "accuracy": .number(line.trainAccuracy.last! ?? 0)]),
      "gradient_norms": .object(norms),
      "gradient_shrink": .object(shrink),
      "epochs": .number(Double(epochs)),
      "hidden": .number(Double(hidden)),
      "learning_rate": .number(Double(lr)),
      "points": .number(Double(count)),
    ]
    try lesson.writeHistory(histories[Self.activations.firstIndex(of: .relu)!], run: "relu")  // the main run: the ReLU network
    try lesson.finish()
  }

  /// An activation's name as a summary.json key: "leaky ReLU" -> "leaky_relu".
  static func key(_ f: ActivationKind) -> String { f.description.lowercased().replacingOccurrences(of: " ", with: "_") }
}
