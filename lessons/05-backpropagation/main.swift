// Lesson 5: backpropagation, on a small expression, by hand on an MLP, and while training on two spirals.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import Plotting
import Tensors

@main
struct BackpropagationLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "05-backpropagation",
    abstract: "Lesson 5: the chain rule on a computation graph, gradients of an MLP by hand against autograd and numerics, and an MLP learning two spirals.")

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: "Epochs of training on two spirals (default: 600, or 40 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Learning rate (Adam).")
  var lr: Float = 0.01

  @Option(name: .long, help: "Hidden units in each of the two hidden layers.")
  var hidden: Int = 24

  func validate() throws {
    if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    guard hidden >= 1 else { throw ValidationError("--hidden must be at least 1, got \(hidden)") }
  }

  func run() throws {
    let lesson = try Lesson(name: "05-backpropagation", options: options)
    let epochs = self.epochs ?? (options.quick ? 40 : 600)

    // MARK: A computation graph
    let graph = try computationGraph()
    try lesson.save(graph.figure, as: "computation-graph")

    // MARK: Backpropagation by hand
    let check = try handBackprop(lesson)
    try lesson.save(check.figure, as: "gradient-check")

    // MARK: Training on two spirals, with snapshots
    let spirals = try Toy2D.spirals(count: options.quick ? 120 : 300, noise: 0.04, seed: lesson.seed(7))
    var rng = SeededGenerator(seed: lesson.seed(8))
    let model = Sequential([
      try Dense(2, hidden, initializer: .xavierUniform, rng: &rng), Activation(.tanh),
      try Dense(hidden, hidden, initializer: .xavierUniform, rng: &rng), Activation(.tanh),
      try Dense(hidden, 2, initializer: .xavierUniform, rng: &rng),
    ])
    let snapshotEpochs = Set([1, epochs / 20, epochs / 8, epochs / 4, epochs / 2, epochs].filter { $0 >= 1 })
    var snapshots: [(epoch: Int, grid: [Double], accuracy: Double)] = []
    let (xr, yr) = Lesson.extent(of: spirals, margin: 0.3)
    let resolution = options.quick ? 50 : 90
    var trainer = Trainer(
      loss: .softmaxCrossEntropy, optimizer: try Adam(model.parameters, learningRate: lr), epochs: epochs, batchSize: 32,
      seed: lesson.seed(9), progress: ProgressPrinter(every: max(1, epochs / 6)))
    trainer.onEpochEnd = { report in
      guard snapshotEpochs.contains(report.epoch) else { return }
      let grid = try Lesson.probabilityGrid(x: xr, y: yr, resolution: resolution, probability: Lesson.softmaxOutput(report.model))
      snapshots.append((report.epoch, grid, report.history.trainAccuracy.last! ?? 0))
    }
    lesson.say("Training a 2-\(hidden)-\(hidden)-2 tanh MLP on two spirals (\(spirals.labels.count) points, \(epochs) epochs)")
    let history = try trainer.fit(model, x: spirals.x, y: spirals.classIndices)

    let snapFig = Figure(width: 1100, height: 760, rows: 2, columns: 3, title: "The decision boundary while training on two spirals")
    for (i, s) in snapshots.sorted(by: { $0.epoch < $1.epoch }).prefix(6).enumerated() {
      let ax = snapFig.axes(at: i)
      ax.title = String(format: "epoch %d: %.0f%% right", s.epoch, 100 * s.accuracy)
      ax.decisionRegions(s.grid, rows: resolution, columns: resolution, x: xr, y: yr)
      ax.scatter(spirals.xs, spirals.ys, classes: spirals.labels, size: 5)
      ax.equalAspect = true
      ax.legend = .none
    }
    try lesson.save(snapFig, as: "boundary-snapshots")

    let curves = Figure(width: 1000, height: 420, columns: 2, title: "Training on two spirals")
    let c1 = curves.axes(0, 0), c2 = curves.axes(0, 1)
    let ex = (1...history.epochs).map(Double.init)
    c1.title = "loss"
    c1.xLabel = "epoch"
    c1.yLabel = "softmax cross-entropy"
    c1.yScale = .log
    c1.line(ex, history.trainLoss, label: "training loss")
    c2.title = "accuracy"
    c2.xLabel = "epoch"
    c2.yLabel = "fraction right"
    c2.line(ex, history.trainAccuracy.map { $0 ?? .nan }, label: "training accuracy", color: Palette.color(2))
    c2.yLimits = 0.4...1.02
    c1.legend = .none
    c2.legend = .none
    try lesson.save(curves, as: "training-curves")

    let diagramFig = Figure(width: 900, height: 560)
    let d = diagramFig.diagram()
    d.title = "The trained network: edge colour is the weight's sign (blue +, orange −), width its size"
    let denses = model.layers.compactMap { $0 as? Dense }
    let weights: [[[Double]]] = denses.map { layer in
      let (inputs, outputs) = (layer.weight.shape[0], layer.weight.shape[1])
      return (0..<outputs).map { j in (0..<inputs).map { i in Double(layer.weight.data[i * outputs + j]) } }
    }
    d.mlp(layerSizes: [2, hidden, hidden, 2], weights: weights, layerNames: ["input (x₁, x₂)", "hidden 1 (tanh)", "hidden 2 (tanh)", "output (logits)"], maxShown: 10)
    try lesson.save(diagramFig, as: "network-diagram")

    lesson.summary = [
      "graph": .object(graph.values),
      "hand_vs_autograd_max_difference": .number(check.handVsAutograd),
      "hand_vs_numeric_max_error": .number(check.handVsNumeric),
      "spirals_final_loss": .number(history.trainLoss.last!),
      "spirals_accuracy": .number(history.trainAccuracy.last! ?? 0),
      "parameters": .number(Double(model.parameterCount)),
      "epochs": .number(Double(epochs)),
      "snapshot_epochs": .numbers(snapshots.map { Double($0.epoch) }.sorted()),
      "train_seconds": .number(history.epochSeconds.reduce(0, +)),
    ]
    try lesson.finish()
  }

  // MARK: - The computation graph of L = tanh((a·b + c)·f)

  func computationGraph() throws -> (figure: Figure, values: [String: SummaryValue]) {
    let a = Tensor(scalar: 2, requiresGrad: true), b = Tensor(scalar: -3, requiresGrad: true)
    let c = Tensor(scalar: 10, requiresGrad: true), f = Tensor(scalar: -0.2, requiresGrad: true)
    a.name = "a"; b.name = "b"; c.name = "c"; f.name = "f"
    let e = try a * b; e.name = "e = a·b"
    let d = try e + c; d.name = "d = e + c"
    let n = try d * f; n.name = "n = d·f"
    let L = n.tanh(); L.name = "L = tanh(n)"
    try L.backward()

    // Columns by depth (leaves at 0), rows in order of appearance.
    let nodes = L.graph()
    var depth: [ObjectIdentifier: Int] = [:]
    for t in nodes { depth[ObjectIdentifier(t)] = (t.inputs.map { depth[ObjectIdentifier($0)]! + 1 }.max()) ?? 0 }
    var rowsUsed: [Int: Int] = [:]
    var position: [ObjectIdentifier: Point] = [:]
    let fig = Figure(width: 1200, height: 440)
    let diagram = fig.diagram()
    diagram.title = "L = tanh((a·b + c)·f): each box shows its value | its gradient ∂L/∂value; operations in circles"
    var ids: [ObjectIdentifier: NodeID] = [:]
    for t in nodes {
      let col = depth[ObjectIdentifier(t)]!
      let row = rowsUsed[col, default: 0]
      rowsUsed[col] = row + 1
      let y = col == 0 ? Double(row) * 1.5 : 0.75 + Double(row) * 1.5
      let p = Point(Double(col) * 4.4, y)
      position[ObjectIdentifier(t)] = p
      let box = diagram.box(at: p, width: 2.6, height: 1.0, label: t.name ?? t.op, sublabel: String(format: "%.4g  |  ∂L %.4g", t.item, t.grad?[0] ?? 0), fill: t.inputs.isEmpty ? Color(hex: 0xdbe9f6) : .white, textSize: 11.5)
      ids[ObjectIdentifier(t)] = box
      if !t.inputs.isEmpty {
        let opNode = diagram.circle(at: Point(p.x - 2.05, p.y), radius: 0.42, label: symbol(t.op), fill: Color(hex: 0xfde0c5), textSize: t.op.count > 2 ? 10 : 13)
        diagram.connect(opNode, box, arrow: true)
        for input in t.inputs { diagram.connect(ids[ObjectIdentifier(input)]!, opNode, color: Color(hex: 0x777777), arrow: true) }
      }
    }
    diagram.text("forward: values left to right", at: Point(8.8, 4.9), size: 11, color: .mutedInk)
    diagram.text("backward: gradients right to left, one chain-rule step per op", at: Point(8.8, 5.4), size: 11, color: .mutedInk)
    var values: [String: SummaryValue] = [:]
    for (name, t) in [("a", a), ("b", b), ("c", c), ("f", f), ("L", L)] {
      values[name] = .object(["value": .number(Double(t.item)), "grad": .number(Double(t.grad?[0] ?? 0))])
    }
    return (fig, values)
  }

  func symbol(_ op: String) -> String {
    switch op {
    case "*": return "×"
    case "+": return "+"
    default: return op
    }
  }

  // MARK: - Backpropagation by hand for a 2-layer MLP

  func handBackprop(_ lesson: Lesson) throws -> (figure: Figure, handVsAutograd: Double, handVsNumeric: Double) {
    let data = try Toy2D.moons(count: 8, noise: 0.1, seed: lesson.seed(3))
    var rng = SeededGenerator(seed: lesson.seed(4))
    let W1 = try Tensor.normal([2, 4], std: 0.8, using: &rng, requiresGrad: true)
    let b1 = try Tensor.normal([4], std: 0.3, using: &rng, requiresGrad: true)
    let W2 = try Tensor.normal([4, 1], std: 0.8, using: &rng, requiresGrad: true)
    let b2 = try Tensor.normal([1], std: 0.3, using: &rng, requiresGrad: true)
    let params = [W1, b1, W2, b2]
    let y = data.targets
    func forward(_ p: [Tensor]) throws -> Tensor {
      try Loss.binaryCrossEntropy(logits: try (try data.x.matmul(p[0]) + p[1]).tanh().matmul(p[2]) + p[3], targets: y)
    }

    // By hand, in Double, one chain-rule step per line.
    let n = data.labels.count
    let X = (0..<n).map { i in [Double(data.x.data[2 * i]), Double(data.x.data[2 * i + 1])] }
    let w1 = W1.data.map(Double.init), bb1 = b1.data.map(Double.init), w2 = W2.data.map(Double.init), bb2 = Double(b2.data[0])
    var dW1 = [Double](repeating: 0, count: 8), db1 = [Double](repeating: 0, count: 4), dW2 = [Double](repeating: 0, count: 4), db2 = 0.0
    for i in 0..<n {
      let a = (0..<4).map { j in X[i][0] * w1[j] + X[i][1] * w1[4 + j] + bb1[j] }  // a = x W1 + b1
      let h = a.map { tanh($0) }  // h = tanh(a)
      let z = (0..<4).map { h[$0] * w2[$0] }.reduce(bb2, +)  // z = h W2 + b2
      let p = 1 / (1 + exp(-z))  // p = σ(z)
      let dz = (p - Double(data.labels[i])) / Double(n)  // ∂L/∂z = (p - y) / n for mean BCE
      db2 += dz  // ∂L/∂b2 = Σ ∂L/∂z
      for j in 0..<4 {
        dW2[j] += h[j] * dz  // ∂L/∂W2 = hᵀ ∂L/∂z
        let da = dz * w2[j] * (1 - h[j] * h[j])  // ∂L/∂a = ∂L/∂z W2ᵀ ⊙ (1 - h²)
        db1[j] += da  // ∂L/∂b1 = Σ ∂L/∂a
        dW1[j] += X[i][0] * da  // ∂L/∂W1 = xᵀ ∂L/∂a
        dW1[4 + j] += X[i][1] * da
      }
    }
    let hand = dW1 + db1 + dW2 + [db2]

    // Autograd.
    for p in params { p.zeroGrad() }
    try forward(params).backward()
    let auto = params.flatMap { $0.grad!.map(Double.init) }
    for p in params { p.zeroGrad() }
    // Central differences (the library's gradient check), reduced to the loss itself.
    let numeric = try GradientCheck.run(params) { try forward($0) }
    let handVsAutograd = zip(hand, auto).map { abs($0 - $1) }.max()!
    // GradientCheck weights the output by a random factor; the loss is a scalar, so divide it back out.
    let scale = numeric.pairs[0].analytic / auto[0]
    let numericValues = numeric.pairs.map { $0.numeric / scale }
    let relative = zip(hand, numericValues).map { abs($0 - $1) / max(abs($0), abs($1), 1e-12) }
    let handVsNumeric = zip(hand, numericValues).map { abs($0 - $1) / max(1, abs($0), abs($1)) }.max()!

    let names = (0..<8).map { "W1[\($0 / 4),\($0 % 4)]" } + (0..<4).map { "b1[\($0)]" } + (0..<4).map { "W2[\($0)]" } + ["b2"]
    lesson.say("Gradients of a 2-4-1 MLP on 8 points: by hand, by autograd, by central differences")
    lesson.say("  parameter      by hand        autograd       numeric")
    for i in [0, 5, 8, 11, 12, 15, 16] {
      lesson.say(String(format: "  %-10@ %+.8f  %+.8f  %+.8f", names[i], hand[i], auto[i], numericValues[i]))
    }
    lesson.say(String(format: "  largest difference: hand vs autograd %.2e, hand vs numeric %.2e", handVsAutograd, handVsNumeric))

    let fig = Figure(width: 1050, height: 460, columns: 2, title: "Gradients of a 2-4-1 MLP: the chain rule by hand against central differences")
    let s = fig.axes(0, 0), h = fig.axes(0, 1)
    s.title = "each of the 17 gradients"
    s.xLabel = "by hand (chain rule)"
    s.yLabel = "numeric (central differences)"
    let lo = min(hand.min()!, numericValues.min()!), hi = max(hand.max()!, numericValues.max()!)
    s.line([lo, hi], [lo, hi], label: "agreement", color: Color(hex: 0xaaaaaa), width: 1, dash: .dashed)
    s.scatter(hand, numericValues, label: "parameters", color: Palette.color(0), size: 8)
    s.equalAspect = true
    h.title = "relative error |hand − numeric| / |hand|"
    h.xLabel = "log₁₀ relative error"
    h.yLabel = "parameters"
    h.histogram(relative.map { log10(max($0, 1e-12)) }, bins: 10, label: "17 gradients")
    h.legend = .none
    return (fig, handVsAutograd, handVsNumeric)
  }
}
