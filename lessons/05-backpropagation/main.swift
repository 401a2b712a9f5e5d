// Lesson 5: backpropagation, on a small expression, by hand on an MLP, and while training on two spirals.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct BackpropagationLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "05-backpropagation",
    abstract: "Lesson 5: the chain rule on a computation graph, gradients of an MLP by hand against autograd and numerics, and an MLP learning two spirals.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: "Epochs of training on two spirals (default: 600, or 40 with --quick).")
  var epochs: Int?

  @Option(name: .long, help: "Learning rate (Adam).")
  var lr: Float = 0.01

  @Option(name: .long, help: "Hidden units in each of the two hidden layers.")
  var hidden: Int = 24

  func validate() throws {
    try LessonOptions.checkAtLeast(epochs, "--epochs")
    try LessonOptions.checkPositive(lr, "--lr")
    try LessonOptions.checkAtLeast(hidden, "--hidden")
  }

  func run() throws {
    let lesson = try Lesson(name: "05-backpropagation", options: options)
    let epochs = self.epochs ?? (options.quick ? 40 : 600)

    // MARK: A computation graph
    let graph = try computationGraph()
    try lesson.save(graph.figure, as: "computation-graph")

    // MARK: Backpropagation by hand, checked three ways, and the same-delta mistake
    let check = try handBackprop(lesson)
    try lesson.save(check.figure, as: "gradient-check")
    let mistake = try sameDeltaMistake(lesson, check.network, check.data)
    try lesson.save(mistake.figure, as: "wrong-delta")

    // MARK: Training on two spirals
    // figure: boundary-snapshots, training-curves, network-diagram
    let spirals = try Toy2D.spirals(count: options.quick ? 120 : 300, noise: 0.04, seed: lesson.seed(7))
    var rng = SeededGenerator(seed: lesson.seed(8))
    let model = Sequential([
      try Dense(2, hidden, initializer: .xavierUniform, rng: &rng), Activation(.tanh),
      try Dense(hidden, hidden, initializer: .xavierUniform, rng: &rng), Activation(.tanh),
      try Dense(hidden, 2, initializer: .xavierUniform, rng: &rng),
    ])
    let initialWeights = model.layers.compactMap { $0 as? Dense }.flatMap { $0.weight.data }
    // Every epoch's parameters, so that the snapshots can be chosen after training by what the loss did.
    var saved: [[[Float]]] = []
    var trainer = Trainer(
      loss: .softmaxCrossEntropy, optimizer: try Adam(model.parameters, learningRate: lr), epochs: epochs, batchSize: 32,
      seed: lesson.seed(9), progress: ProgressPrinter(every: max(1, epochs / 6)))
    trainer.onEpochEnd = { report in saved.append(report.model.parameters.map(\.data)) }
    lesson.say("Training a 2-\(hidden)-\(hidden)-2 tanh MLP on two spirals (\(spirals.labels.count) points, \(epochs) epochs)")
    let history = try trainer.fit(model, x: spirals.x, y: spirals.classIndices)
    // end figure

    // figure: boundary-snapshots
    let stages = snapshotEpochs(history.trainLoss)
    let (xr, yr) = Lesson.extent(of: spirals, margin: 0.3)
    let resolution = options.quick ? 50 : 90
    let finalParameters = model.parameters.map(\.data)
    var snapshots: [(epoch: Int, grid: [Double], loss: Double, accuracy: Double)] = []
    for epoch in stages.epochs {
      for (p, data) in zip(model.parameters, saved[epoch - 1]) { p.data = data }
      let score = try trainer.evaluate(model, x: spirals.x, y: spirals.classIndices)
      let grid = try Lesson.probabilityGrid(x: xr, y: yr, resolution: resolution, probability: Lesson.softmaxOutput(model))
      snapshots.append((epoch, grid, score.loss, score.accuracy ?? 0))
    }
    for (p, data) in zip(model.parameters, finalParameters) { p.data = data }
    lesson.say("Snapshots where the loss has changed: epochs " + snapshots.map { String(format: "%d (loss %.3f, %.0f%% right)", $0.epoch, $0.loss, 100 * $0.accuracy) }.joined(separator: ", "))

    let snapFig = Figure(width: 900, height: 660, rows: 2, columns: 3, title: "The decision boundary at the end of the plateau, then after each further fifth of the loss's fall")
    for (i, s) in snapshots.enumerated() {
      let ax = snapFig.axes(at: i)
      ax.title = String(format: "epoch %d: loss %.2f, %.0f%% right", s.epoch, s.loss, 100 * s.accuracy)
      ax.titleFontSize = 12.5
      ax.decisionRegions(s.grid, rows: resolution, columns: resolution, x: xr, y: yr)
      ax.scatter(spirals.xs, spirals.ys, classes: spirals.labels, size: 4.5)
      ax.equalAspect = true
      ax.legend = .none
    }
    try lesson.save(snapFig, as: "boundary-snapshots")
    // end figure

    // figure: boundary-while-training
    // The same boundary at evenly spaced epochs, beside the loss so far: played in the site's frame player.
    let frameCount = min(epochs, options.quick ? 6 : 24)
    let frameEpochs = (1...frameCount).map { max(1, epochs * $0 / frameCount) }
    let epochAxis = (1...epochs).map(Double.init)
    var frames: [Figure] = []
    for epoch in frameEpochs {
      for (p, data) in zip(model.parameters, saved[epoch - 1]) { p.data = data }
      let grid = try Lesson.probabilityGrid(x: xr, y: yr, resolution: 60, probability: Lesson.softmaxOutput(model))
      let frame = Figure(width: 820, height: 360, columns: 2)
      let ax = frame.axes(0, 0), lossAxes = frame.axes(0, 1)
      ax.title = "epoch \(epoch)"
      ax.decisionRegions(grid, rows: 60, columns: 60, x: xr, y: yr)
      ax.scatter(spirals.xs, spirals.ys, classes: spirals.labels, size: 4)
      ax.equalAspect = true
      ax.legend = .none
      lossAxes.title = String(format: "training loss %.3f", history.trainLoss[epoch - 1])
      lossAxes.xLabel = "epoch"
      lossAxes.line(Array(epochAxis.prefix(epoch)), Array(history.trainLoss.prefix(epoch)), color: Palette.color(0))
      lossAxes.xLimits = 0...Double(epochs)
      lossAxes.yLimits = 0...(history.trainLoss.max()! * 1.05)
      frames.append(frame)
    }
    for (p, data) in zip(model.parameters, finalParameters) { p.data = data }
    try lesson.saveAnimation(frames, as: "boundary-while-training", labels: frameEpochs.map { "epoch \($0)" })
    // end figure

    // figure: training-curves
    let curves = Figure(width: 900, height: 380, columns: 2, title: "Training on two spirals (dotted: the snapshots' epochs)")
    let c1 = curves.axes(0, 0), c2 = curves.axes(0, 1)
    let ex = (1...history.epochs).map(Double.init)
    c1.title = "loss"
    c1.xLabel = "epoch"
    c1.yLabel = "softmax cross-entropy (log scale)"
    c1.yScale = .log
    c2.title = "accuracy"
    c2.xLabel = "epoch"
    c2.yLabel = "fraction right"
    for s in snapshots {
      c1.verticalLine(at: Double(s.epoch), color: Color(hex: 0x999999), width: 1, dash: .dotted)
      c2.verticalLine(at: Double(s.epoch), color: Color(hex: 0x999999), width: 1, dash: .dotted)
    }
    c1.line(ex, history.trainLoss, label: "training loss")
    c2.line(ex, history.trainAccuracy.map { $0 ?? .nan }, label: "training accuracy", color: Palette.color(2))
    c2.yLimits = 0.4...1.02
    c1.legend = .none
    c2.legend = .none
    try lesson.save(curves, as: "training-curves")
    // end figure

    // figure: network-diagram
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
    // end figure
    let trainedShare = largestTenthShare(denses.flatMap { $0.weight.data }), initialShare = largestTenthShare(initialWeights)
    lesson.say(String(format: "The largest tenth of the weights holds %.0f%% of their total size (%.0f%% at the start)", 100 * trainedShare, 100 * initialShare))

    lesson.summary = [
      "graph": .object(graph.values),
      "hand_vs_autograd_max_difference": .number(check.handVsAutograd),
      "gradient_check": .object(check.summary),
      "wrong_delta": .object(mistake.summary),
      "spirals_final_loss": .number(history.trainLoss.last!),
      "train_loss": .numbers(history.trainLoss),
      "spirals_accuracy": .number(history.trainAccuracy.last! ?? 0),
      "spirals_points": .number(Double(spirals.labels.count)),
      "parameters": .number(Double(model.parameterCount)),
      "epochs": .number(Double(epochs)),
      "plateau_loss": .number(stages.plateauLoss),
      "snapshot_epochs": .numbers(snapshots.map { Double($0.epoch) }),
      "snapshot_losses": .numbers(snapshots.map(\.loss)),
      "snapshot_accuracies": .numbers(snapshots.map(\.accuracy)),
      "largest_tenth_weight_share": .number(trainedShare),
      "largest_tenth_weight_share_initial": .number(initialShare),
      "train_seconds": .number(history.epochSeconds.reduce(0, +)),
    ]
    try lesson.writeHistory(history)
    try lesson.finish()
  }

  // MARK: - The computation graph of L = tanh((a·b + c)·f)

  func computationGraph() throws -> (figure: Figure, values: [String: SummaryValue]) {
    // figure: computation-graph
    let a = Tensor(scalar: 2, requiresGrad: true), b = Tensor(scalar: -3, requiresGrad: true)
    let c = Tensor(scalar: 10, requiresGrad: true), f = Tensor(scalar: -0.2, requiresGrad: true)
    a.name = "a"; b.name = "b"; c.name = "c"; f.name = "f"
    let e = try a * b; e.name = "e"
    let d = try e + c; d.name = "d"
    let u = try d * f; u.name = "u"
    let L = u.tanh(); L.name = "L"
    try L.backward()
    // end figure

    // The engine's record of the computation, inputs first.
    let nodes = L.graph()
    // Each leaf sits just before the operation that uses it, so no edge passes behind a box: a, b feed e;
    // c joins at d; f joins at u. Columns are 5.1 units apart; an operation's circle sits between columns.
    let place: [String: (column: Double, row: Double)] = [
      "a": (0, 0), "b": (0, 1.5), "e": (1, 0.75), "c": (1, 2.25), "d": (2, 1.5), "f": (2, 3), "u": (3, 2.25), "L": (4, 2.25),
    ]
    func center(_ t: Tensor) -> Point {
      let p = place[t.name ?? ""] ?? (0, 0)
      return Point(p.column * 5.1, p.row)
    }
    // Who uses each value: (the tensor made from it, the other input of that operation).
    var consumers: [ObjectIdentifier: [(output: Tensor, other: Tensor?)]] = [:]
    for t in nodes {
      for (k, input) in t.inputs.enumerated() {
        consumers[ObjectIdentifier(input), default: []].append((t, t.inputs.count == 2 ? t.inputs[1 - k] : nil))
      }
    }

    let fig = Figure(width: 940, height: 560, rows: 2, title: "L = tanh((a·b + c)·f), drawn from the engine's record of the computation")
    let forward = fig.diagram(0, 0), backward = fig.diagram(1, 0)
    forward.title = "forward pass: each value computed from its inputs, left to right"
    backward.title = "backward pass: each gradient from the one to its right, right to left"
    let arrowColor = Color(hex: 0x666666), gradientColor = Color(hex: 0xd55e00)
    for (panel, isBackward) in [(forward, false), (backward, true)] {
      var ids: [ObjectIdentifier: NodeID] = [:]
      for t in nodes {
        let name = t.name ?? t.op
        let fill = t.inputs.isEmpty ? Color(hex: 0xdbe9f6) : (t === L ? Color(hex: 0xfde0c5) : .white)
        let label: String, sublabel: String?
        if isBackward {
          label = "∂L/∂\(name) = " + number(Double(t.grad?[0] ?? 0))
          sublabel = t === L ? "the start" : "= " + (consumers[ObjectIdentifier(t)] ?? []).map { chainRule(input: t, output: $0.output, other: $0.other) }.joined(separator: " + ")
        } else {
          label = name + " = " + (t.inputs.isEmpty ? number(Double(t.item)) : formula(t) + " = " + number(Double(t.item)))
          sublabel = nil
        }
        ids[ObjectIdentifier(t)] = panel.box(at: center(t), width: 3.45, height: isBackward ? 1.05 : 0.75, label: label, sublabel: sublabel, fill: fill, textSize: 12)
      }
      for t in nodes where !t.inputs.isEmpty {
        let p = center(t)
        let op = panel.circle(at: Point(p.x - 2.55, p.y), radius: 0.4, label: symbol(t.op), fill: Color(hex: 0xfde0c5), textSize: t.op.count > 2 ? 10 : 14)
        if isBackward {
          panel.connect(ids[ObjectIdentifier(t)]!, op, color: gradientColor, width: 1.6, arrow: true)
          for input in t.inputs { panel.connect(op, ids[ObjectIdentifier(input)]!, color: gradientColor, width: 1.6, arrow: true) }
        } else {
          panel.connect(op, ids[ObjectIdentifier(t)]!, color: arrowColor, arrow: true)
          for input in t.inputs { panel.connect(ids[ObjectIdentifier(input)]!, op, color: arrowColor, arrow: true) }
        }
      }
    }
    var values: [String: SummaryValue] = [:]
    for t in nodes {
      // Keys snake_case: the loss L is "loss".
      values[t.name == "L" ? "loss" : (t.name ?? t.op)] = .object(["value": .number(Double(t.item)), "grad": .number(Double(t.grad?[0] ?? 0))])
    }
    return (fig, values)
  }

  /// "a·b", "e + c", "tanh u": how a tensor was made from its inputs' names.
  func formula(_ t: Tensor) -> String {
    let names = t.inputs.map { $0.name ?? "?" }
    switch t.op {
    case "*": return names.joined(separator: "·")
    case "+": return names.joined(separator: " + ")
    default: return t.op + " " + names.joined(separator: ", ")
    }
  }

  // figure: computation-graph
  /// One chain-rule step for `input`: the local derivative of `output` with respect to it, times ∂L/∂output.
  func chainRule(input: Tensor, output: Tensor, other: Tensor?) -> String {
    let upstream = "∂L/∂" + (output.name ?? "?")
    switch output.op {
    case "*": return (other?.name ?? "?") + "·" + upstream
    case "+": return upstream
    case "tanh": return "(1 − \(output.name ?? "?")²)·" + upstream
    default: return "∂\(output.name ?? "?")/∂\(input.name ?? "?")·" + upstream
    }
  }
  // end figure

  func symbol(_ op: String) -> String {
    switch op {
    case "*": return "×"
    case "+": return "+"
    default: return op
    }
  }

  /// Four significant digits with a real minus sign.
  func number(_ v: Double) -> String {
    String(format: "%.4g", v).replacingOccurrences(of: "-", with: "−")
  }

  // MARK: - Backpropagation by hand for a 2-4-1 MLP

  // figure: gradient-check, wrong-delta
  /// The 2-4-1 network of the lesson in Double: z₁ = x W₁ + b₁, h = tanh(z₁), z₂ = h W₂ + b₂, p = σ(z₂), and
  /// the mean binary cross-entropy. Parameters are kept flat in the order W₁ (row-major 2x4), b₁, W₂, b₂.
  struct TinyMLP {
    var theta: [Double]
    static let count = 17
    var w1: ArraySlice<Double> { theta[0..<8] }
    var b1: ArraySlice<Double> { theta[8..<12] }
    var w2: ArraySlice<Double> { theta[12..<16] }
    var b2: Double { theta[16] }
    static let names = (0..<8).map { "W1[\($0 / 4),\($0 % 4)]" } + (0..<4).map { "b1[\($0)]" } + (0..<4).map { "W2[\($0)]" } + ["b2"]

    /// The forward pass for one point: the hidden pre-activations z₁, the hidden values h and p.
    func forward(_ x: [Double]) -> (z1: [Double], h: [Double], p: Double) {
      let z1 = (0..<4).map { j in x[0] * theta[j] + x[1] * theta[4 + j] + theta[8 + j] }  // z₁ = x W₁ + b₁
      let h = z1.map { tanh($0) }  // h = tanh(z₁)
      let z2 = (0..<4).map { h[$0] * theta[12 + $0] }.reduce(theta[16], +)  // z₂ = h W₂ + b₂
      return (z1, h, 1 / (1 + exp(-z2)))  // p = σ(z₂)
    }

    /// L = -(1/n) Σ [y log p + (1 - y) log(1 - p)].
    func loss(_ x: [[Double]], _ y: [Double]) -> Double {
      var total = 0.0
      for i in x.indices {
        let p = forward(x[i]).p
        total -= y[i] * log(p) + (1 - y[i]) * log(1 - p)
      }
      return total / Double(x.count)
    }

    /// The 17 gradients by the chain rule, one line per layer. With `sameDelta`, the common mistake: the output
    /// error δ₂ used as the hidden layer's delta too, instead of δ₁ = δ₂ W₂ᵀ ⊙ (1 - h²).
    func gradients(_ x: [[Double]], _ y: [Double], sameDelta: Bool = false) -> [Double] {
      var g = [Double](repeating: 0, count: TinyMLP.count)
      let n = Double(x.count)
      for i in x.indices {
        let (_, h, p) = forward(x[i])
        let delta2 = (p - y[i]) / n  // δ₂ = ∂L/∂z₂ = (p - y) / n (lesson 3: σ then cross-entropy)
        g[16] += delta2  // ∂L/∂b₂ = Σ δ₂
        for j in 0..<4 {
          g[12 + j] += h[j] * delta2  // ∂L/∂W₂ = hᵀ δ₂
          let delta1 = sameDelta ? delta2 : delta2 * theta[12 + j] * (1 - h[j] * h[j])  // δ₁ = δ₂ W₂ᵀ ⊙ (1 - h²)
          g[8 + j] += delta1  // ∂L/∂b₁ = Σ δ₁
          g[j] += x[i][0] * delta1  // ∂L/∂W₁ = xᵀ δ₁
          g[4 + j] += x[i][1] * delta1
        }
      }
      return g
    }

    /// Central differences in Double: (L(θ + h) - L(θ - h)) / 2h for each parameter.
    func centralDifferences(_ x: [[Double]], _ y: [Double], step: Double) -> [Double] {
      (0..<TinyMLP.count).map { k in centralDifference(x, y, parameter: k, step: step) }
    }

    func centralDifference(_ x: [[Double]], _ y: [Double], parameter k: Int, step: Double) -> Double {
      var plus = self, minus = self
      plus.theta[k] += step
      minus.theta[k] -= step
      return (plus.loss(x, y) - minus.loss(x, y)) / (plus.theta[k] - minus.theta[k])
    }
  }
  // end figure

  struct CheckResult {
    let figure: Figure
    let handVsAutograd: Double
    let summary: [String: SummaryValue]
    let network: TinyMLP
    let data: (x: [[Double]], y: [Double])
  }

  func handBackprop(_ lesson: Lesson) throws -> CheckResult {
    let data = try Toy2D.moons(count: 64, noise: 0.1, seed: lesson.seed(3))
    var rng = SeededGenerator(seed: lesson.seed(4))
    let W1 = try Tensor.normal([2, 4], std: 0.8, using: &rng, requiresGrad: true)
    let b1 = try Tensor.normal([4], std: 0.3, using: &rng, requiresGrad: true)
    let W2 = try Tensor.normal([4, 1], std: 0.8, using: &rng, requiresGrad: true)
    let b2 = try Tensor.normal([1], std: 0.3, using: &rng, requiresGrad: true)
    let params = [W1, b1, W2, b2]
    let targets = data.targets
    func forward(_ p: [Tensor]) throws -> Tensor {
      try Loss.binaryCrossEntropy(logits: try (try data.x.matmul(p[0]) + p[1]).tanh().matmul(p[2]) + p[3], targets: targets)
    }
    let n = data.labels.count
    let x = (0..<n).map { i in [Double(data.x.data[2 * i]), Double(data.x.data[2 * i + 1])] }
    let y = data.labels.map(Double.init)
    let net = TinyMLP(theta: params.flatMap { $0.data.map(Double.init) })

    // figure: gradient-check
    // By hand (Double), by autograd (the engine, Float32), by central differences in Double and in Float32.
    let hand = net.gradients(x, y)
    for p in params { p.zeroGrad() }
    try forward(params).backward()
    let auto = params.flatMap { $0.grad!.map(Double.init) }
    for p in params { p.zeroGrad() }
    let step64 = 1e-5, step32: Float = 1e-2
    let numeric64 = net.centralDifferences(x, y, step: step64)
    // The engine's gradient check (Float32, Δ = 0.01 with Richardson extrapolation) weights the output by a
    // random factor; the loss is a scalar, so dividing by that factor gives the loss's own differences.
    let check32 = try GradientCheck.run(params, h: step32) { try forward($0) }
    let scale = check32.pairs[0].analytic / auto[0]
    let numeric32 = check32.pairs.map { $0.numeric / scale }
    // end figure

    func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(a), abs(b), 1e-300) }
    let relAuto = zip(hand, auto).map(relative), rel64 = zip(hand, numeric64).map(relative), rel32 = zip(hand, numeric32).map(relative)
    let abs32 = zip(hand, numeric32).map { abs($0 - $1) }
    let handVsAutograd = zip(hand, auto).map { abs($0 - $1) }.max()!
    let smallest = hand.indices.min { abs(hand[$0]) < abs(hand[$1]) }!, largest = hand.indices.max { abs(hand[$0]) < abs(hand[$1]) }!

    lesson.say("Gradients of a 2-4-1 MLP on \(n) points: by hand, by autograd (Float32), by central differences in Float64 and Float32")
    lesson.say("  parameter    by hand          autograd         numeric Float64  numeric Float32")
    for i in [0, 5, 8, 11, 12, 15, 16, smallest] {
      lesson.say(String(format: "  %@ %+.10f  %+.10f  %+.10f  %+.10f", TinyMLP.names[i].padding(toLength: 10, withPad: " ", startingAt: 0), hand[i], auto[i], numeric64[i], numeric32[i]))
    }
    lesson.say(String(format: "  largest relative error: autograd %.1e, Float64 differences %.1e, Float32 differences %.1e (largest absolute error %.1e)", relAuto.max()!, rel64.max()!, rel32.max()!, abs32.max()!))

    // figure: gradient-check
    // Why Float32 differences are limited: the error of one plain central difference against its step Δ.
    let probe = 0  // W1[0,0]
    let steps = stride(from: -10.0, through: 0.0, by: 0.25).map { pow(10, $0) }
    let sweep64 = steps.map { abs(net.centralDifference(x, y, parameter: probe, step: $0) - hand[probe]) }
    var sweep32: [Double] = []
    for h in steps {
      let original = W1.data[probe]
      W1.data[probe] = original + Float(h)
      let plus = Double(try Tensor.withoutGrad { try forward(params) }.item)
      let taken = Double(W1.data[probe])
      W1.data[probe] = original - Float(h)
      let minus = Double(try Tensor.withoutGrad { try forward(params) }.item)
      let span = taken - Double(W1.data[probe])
      W1.data[probe] = original
      sweep32.append(span > 0 ? abs((plus - minus) / span - hand[probe]) : abs(hand[probe]))
    }
    // end figure
    let best64 = sweep64.indices.min { sweep64[$0] < sweep64[$1] }!, best32 = sweep32.indices.min { sweep32[$0] < sweep32[$1] }!
    let loss32 = Double(try Tensor.withoutGrad { try forward(params) }.item)
    lesson.say(String(format: "  one central difference for %@: best step %.0e in Float64 (error %.1e), %.0e in Float32 (error %.1e)", TinyMLP.names[probe], steps[best64], sweep64[best64], steps[best32], sweep32[best32]))

    let fig = Figure(width: 900, height: 440, columns: 2, title: "Checking the chain rule (by hand, Float64) against autograd and central differences")
    let s = fig.axes(0, 0), sw = fig.axes(0, 1)
    s.title = "relative error of each of the 17 gradients"
    s.xLabel = "|∂L/∂θ| by hand (log scale)"
    s.yLabel = "relative error (log scale)"
    s.xScale = .log
    s.yScale = .log
    let sizes = hand.map { abs($0) }
    let floor = 1e-17
    let typical32 = abs32.sorted()[abs32.count / 2]
    let ends = [sizes.min()! / 1.5, sizes.max()! * 1.5]
    s.line(ends, ends.map { typical32 / $0 }, label: String(format: "a fixed absolute error, %.0e", typical32), color: Palette.color(1).withAlpha(0.6), width: 1, dash: .dashed)
    s.scatter(sizes, rel32.map { max($0, floor) }, label: "differences, Float32 (Δ = 0.01)", color: Palette.color(1), size: 8, marker: .triangle)
    s.scatter(sizes, relAuto.map { max($0, floor) }, label: "autograd, Float32", color: Palette.color(0), size: 8, marker: .circle)
    s.scatter(sizes, rel64.map { max($0, floor) }, label: "differences, Float64 (Δ = 10⁻⁵)", color: Palette.color(2), size: 8, marker: .square)
    s.legend = .lowerLeft
    s.yLimits = 1e-16...1
    sw.title = "one difference for \(TinyMLP.names[probe]) against its step Δ"
    sw.xLabel = "step Δ (log scale)"
    sw.yLabel = "|numeric − by hand| (log scale)"
    sw.xScale = .log
    sw.yScale = .log
    sw.line(steps, sweep32.map { max($0, floor) }, label: "Float32 (the engine's loss)", color: Palette.color(1), marker: .triangle, markerSize: 5)
    sw.line(steps, sweep64.map { max($0, floor) }, label: "Float64", color: Palette.color(2), marker: .square, markerSize: 5)
    sw.yLimits = 1e-15...1
    sw.legend = .lowerRight
    sw.annotate("rounding: ∝ 1/Δ", pointingAt: steps[12], max(sweep64[12], floor), textAt: steps[12] * 30, max(sweep64[12], floor) * 1e3)
    sw.annotate("truncation: ∝ Δ²", pointingAt: steps[36], max(sweep64[36], floor), textAt: steps[36] / 300, max(sweep64[36], floor) * 10)

    let summary: [String: SummaryValue] = [
      "points": .number(Double(n)),
      "autograd_max_relative_error": .number(relAuto.max()!),
      "float64_step": .number(step64),
      "float64_max_relative_error": .number(rel64.max()!),
      "float32_step": .number(Double(step32)),
      "float32_max_relative_error": .number(rel32.max()!),
      "float32_max_absolute_error": .number(abs32.max()!),
      "float32_median_absolute_error": .number(typical32),
      "smallest_gradient": .number(abs(hand[smallest])),
      "smallest_gradient_parameter": .text(TinyMLP.names[smallest]),
      "float32_relative_error_at_smallest": .number(rel32[smallest]),
      "largest_gradient": .number(abs(hand[largest])),
      "float32_relative_error_at_largest": .number(rel32[largest]),
      "loss": .number(loss32),
      "float32_epsilon": .number(Double(Float.ulpOfOne)),
      "sweep_parameter": .text(TinyMLP.names[probe]),
      "sweep_best_step_float64": .number(steps[best64]), "sweep_best_error_float64": .number(sweep64[best64]),
      "sweep_best_step_float32": .number(steps[best32]), "sweep_best_error_float32": .number(sweep32[best32]),
    ]
    return CheckResult(figure: fig, handVsAutograd: handVsAutograd, summary: summary, network: net, data: (x, y))
  }

  // MARK: - The common mistake: the output error as every layer's delta

  func sameDeltaMistake(_ lesson: Lesson, _ start: TinyMLP, _ data: (x: [[Double]], y: [Double])) throws -> (figure: Figure, summary: [String: SummaryValue]) {
    let right = start.gradients(data.x, data.y), wrong = start.gradients(data.x, data.y, sameDelta: true)
    let numeric = start.centralDifferences(data.x, data.y, step: 1e-5)
    let w1 = 0..<8
    let norm = { (v: [Double]) in v.map { $0 * $0 }.reduce(0, +).squareRoot() }
    let wrongW1 = w1.map { wrong[$0] }, rightW1 = w1.map { right[$0] }, numericW1 = w1.map { numeric[$0] }
    let errorVsNumeric = norm(zip(wrongW1, numericW1).map { $0 - $1 }) / norm(numericW1)
    let signErrors = zip(wrongW1, rightW1).filter { ($0 < 0) != ($1 < 0) }.count

    // figure: wrong-delta
    // Plain gradient descent with each, from the same start.
    let steps = 2000, lr = 0.5
    func train(sameDelta: Bool) -> [Double] {
      var net = start
      var losses = [net.loss(data.x, data.y)]
      for _ in 0..<steps {
        let g = net.gradients(data.x, data.y, sameDelta: sameDelta)
        for k in net.theta.indices { net.theta[k] -= lr * g[k] }
        losses.append(net.loss(data.x, data.y))
      }
      return losses
    }
    let good = train(sameDelta: false), bad = train(sameDelta: true)
    // end figure
    let lowest = bad.indices.min { bad[$0] < bad[$1] }!
    lesson.say(String(format: "The output error as the hidden layer's delta: ∂L/∂W1 off by %.0f%% (%d of 8 signs wrong); gradient descent ends at loss %.3f (lowest %.3f at step %d) against %.4f with the right deltas", 100 * errorVsNumeric, signErrors, bad.last!, bad[lowest], lowest, good.last!))

    let fig = Figure(width: 760, height: 400)
    let ax = fig.axes
    ax.title = String(format: "Gradient descent on the 2-4-1 network (η = %g), the right and the wrong hidden delta", lr)
    ax.titleFontSize = 12.5
    ax.xLabel = "step"
    ax.yLabel = "loss (log scale)"
    ax.yScale = .log
    let xs = (0...steps).map(Double.init)
    ax.line(xs, good, label: "δ₁ = δ₂ W₂ᵀ ⊙ (1 − h²) (right)", color: Palette.color(2))
    ax.line(xs, bad, label: "δ₁ = δ₂ (wrong)", color: Palette.color(3), dash: .dashed)
    ax.legend = .lowerLeft
    let summary: [String: SummaryValue] = [
      "w1_relative_error": .number(errorVsNumeric), "w1_sign_errors": .number(Double(signErrors)),
      "steps": .number(Double(steps)), "lr": .number(lr),
      "right_final_loss": .number(good.last!), "wrong_final_loss": .number(bad.last!),
      "wrong_lowest_loss": .number(bad[lowest]), "wrong_lowest_step": .number(Double(lowest)),
      "start_loss": .number(good[0]),
    ]
    return (fig, summary)
  }

  // MARK: - Snapshots and weights

  // figure: boundary-snapshots
  /// The epochs to show: where the 5-epoch mean of the loss first falls 2% (the end of the plateau), 20%, 40%,
  /// 60% and 80% of the way (on a log scale) from its mean over the first 10 epochs to its final value, and
  /// the last epoch. Epochs count from 1.
  func snapshotEpochs(_ losses: [Double]) -> (epochs: [Int], plateauLoss: Double) {
    let n = losses.count
    let smoothed: [Double] = (0..<n).map { e in
      let window = losses[max(0, e - 4)...e]
      return window.reduce(0, +) / Double(window.count)
    }
    let plateau = losses.prefix(10).reduce(0, +) / Double(min(10, n)), final = smoothed[n - 1]
    var epochs: [Int] = []
    if final < plateau {
      for fraction in [0.02, 0.2, 0.4, 0.6, 0.8] {
        let level = exp(log(plateau) + fraction * (log(final) - log(plateau)))
        if let e = smoothed.firstIndex(where: { $0 <= level }), !epochs.contains(e + 1) { epochs.append(e + 1) }
      }
    }
    if !epochs.contains(n) { epochs.append(n) }
    // Without progress (a short run), evenly spaced epochs instead.
    if epochs.count < 3 { epochs = Array(Set([1, n / 4, n / 2, 3 * n / 4, n].filter { $0 >= 1 })).sorted() }
    return (epochs.sorted(), plateau)
  }
  // end figure

  /// The share of Σ|w| held by the largest tenth of the weights.
  func largestTenthShare(_ weights: [Float]) -> Double {
    let sizes = weights.map { abs(Double($0)) }.sorted(by: >)
    return sizes.prefix(max(1, sizes.count / 10)).reduce(0, +) / sizes.reduce(0, +)
  }
}
