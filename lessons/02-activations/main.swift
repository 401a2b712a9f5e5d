// Lesson 2: activation functions, their derivatives, vanishing gradients, and what they do to a small MLP.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import Plotting
import Tensors

@main
struct ActivationsLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "02-activations",
    abstract: "Lesson 2: activation functions and their derivatives, the vanishing gradient, and the same MLP trained with each.")

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: "Epochs for each MLP on two moons (default: 120, or 15 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Learning rate (Adam).")
  var lr: Float = 0.01

  @Option(name: .long, help: "Hidden units per layer of the MLP.")
  var hidden: Int = 16

  func validate() throws {
    if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    guard hidden >= 1 else { throw ValidationError("--hidden must be at least 1, got \(hidden)") }
  }

  static let activations: [ActivationKind] = [.sigmoid, .tanh, .relu, .leakyRelu(slope: 0.1), .elu(alpha: 1), .softplus, .gelu, .silu]

  func run() throws {
    let lesson = try Lesson(name: "02-activations", options: options)
    let epochs = self.epochs ?? (options.quick ? 15 : 120)

    // MARK: Curves and derivatives, the derivative computed by autograd
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

    // MARK: The vanishing gradient
    lesson.say("Gradient norms through a 10-layer stack at initialisation")
    let depth = 10, width = 32
    var norms: [String: [Double]] = [:]
    let vanishing = Figure(width: 760, height: 460)
    let va = vanishing.axes
    va.title = "Gradient norm of each layer's weights at initialisation (10 layers of 32)"
    va.xLabel = "layer (1 = nearest the input)"
    va.yLabel = "‖∂L/∂W‖"
    va.yScale = .log
    for f in [ActivationKind.sigmoid, .tanh, .relu] {
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
      norms[f.description] = layerNorms
      va.line((1...depth).map(Double.init), layerNorms, label: f.description, marker: .circle)
    }
    try lesson.save(vanishing, as: "vanishing-gradient")

    // MARK: The same MLP on two moons with each activation
    let moons = try Toy2D.moons(count: options.quick ? 80 : 240, noise: 0.15, seed: lesson.seed(20))
    var results: [String: SummaryValue] = [:]
    let lossFig = Figure(width: 820, height: 480)
    let la = lossFig.axes
    la.title = "Training loss on two moons, same MLP (2-\(hidden)-\(hidden)-2), one activation each"
    la.xLabel = "epoch"
    la.yLabel = "softmax cross-entropy"
    la.yScale = .log
    let boundaries = Figure(width: 1200, height: 620, rows: 2, columns: 4, title: "Decision boundaries after \(epochs) epochs")
    for (i, f) in Self.activations.enumerated() {
      var rng = SeededGenerator(seed: lesson.seed(30))
      let model = Sequential([
        try Dense(2, hidden, initializer: .xavierUniform, rng: &rng), Activation(f),
        try Dense(hidden, hidden, initializer: .xavierUniform, rng: &rng), Activation(f),
        try Dense(hidden, 2, initializer: .xavierUniform, rng: &rng),
      ])
      lesson.say("MLP with \(f): \(epochs) epochs")
      let trainer = Trainer(
        loss: .softmaxCrossEntropy, optimizer: try Adam(model.parameters, learningRate: lr), epochs: epochs, batchSize: 32,
        seed: lesson.seed(31), progress: ProgressPrinter(every: max(1, epochs / 3)))
      let h = try trainer.fit(model, x: moons.x, y: moons.classIndices)
      la.line((1...h.epochs).map(Double.init), h.trainLoss, label: f.description, width: 1.8)
      let ax = boundaries.axes(at: i)
      ax.title = String(format: "%@: %.0f%%", f.description, 100 * (h.trainAccuracy.last! ?? 0))
      try Lesson.drawDecision(ax, data: moons, resolution: 70, classNames: nil, probability: Lesson.softmaxOutput(model))
      results[f.description] = .object(["final_loss": .number(h.trainLoss.last!), "accuracy": .number(h.trainAccuracy.last! ?? 0)])
    }
    try lesson.save(lossFig, as: "moons-loss-curves")
    try lesson.save(boundaries, as: "moons-boundaries")

    lesson.summary = [
      "moons": .object(results),
      "gradient_norms": .object(norms.mapValues { .numbers($0) }),
      "epochs": .number(Double(epochs)),
      "hidden": .number(Double(hidden)),
    ]
    try lesson.finish()
  }
}
