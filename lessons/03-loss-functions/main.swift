// Lesson 3: loss functions for regression and classification, and the landscape a loss makes.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct LossFunctionsLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "03-loss-functions",
    abstract: "Lesson 3: MSE, MAE and Huber against outliers; cross-entropy against MSE on a sigmoid; softmax cross-entropy; a loss landscape.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: "Gradient steps for each line fit (default: 1500, or 200 with --quick).")
  var steps: Int?

  @Option(name: .long, help: "Huber loss threshold δ.")
  var delta: Float = 1

  func validate() throws {
    try LessonOptions.checkAtLeast(steps, "--steps")
    try LessonOptions.checkPositive(delta, "--delta")
  }

  /// Learning rate of the line fits' gradient descent.
  static let fitLearningRate: Float = 0.05

  func run() throws {
    let lesson = try Lesson(name: "03-loss-functions", options: options)
    let steps = self.steps ?? (options.quick ? 200 : 1500)
    let d = Double(delta)

    // MARK: Regression losses and their gradients
    // figure: regression-losses
    let e = (0...240).map { -3 + Double($0) / 40 }
    let reg = Figure(width: 1000, height: 420, columns: 2, title: "Regression losses as a function of the error e = prediction − target")
    let r1 = reg.axes(0, 0), r2 = reg.axes(0, 1)
    r1.title = "loss"
    r1.xLabel = "error e"
    r2.title = "gradient ∂L/∂prediction"
    r2.xLabel = "error e"
    r1.line(e, e.map { $0 * $0 }, label: "MSE: e²")
    r1.line(e, e.map { Swift.abs($0) }, label: "MAE: |e|")
    r1.line(e, e.map { Swift.abs($0) <= d ? 0.5 * $0 * $0 : d * (Swift.abs($0) - 0.5 * d) }, label: String(format: "Huber, δ = %g", d))
    r2.line(e, e.map { 2 * $0 }, label: "MSE: 2e")
    r2.line(e, e.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, label: "MAE: sign(e)")
    r2.line(e, e.map { min(max($0, -d), d) }, label: "Huber: clip(e, −δ, δ)")
    r1.legend = .upperCenter
    r2.legend = .upperLeft
    try lesson.save(reg, as: "regression-losses")
    // end figure

    // MARK: Fitting a line to data with outliers
    // figure: outlier-fits
    var rng = SeededGenerator(seed: lesson.seed(1))
    let n = options.quick ? 30 : 60
    var xs: [Float] = [], ys: [Float] = []
    for i in 0..<n {
      let x = -2 + 4 * Float(i) / Float(n - 1)
      var y = 0.8 * x + 0.5 + 0.25 * rng.normal()
      if i % 10 == 7 { y += 5 + rng.uniform() * 2 }  // outliers
      xs.append(x)
      ys.append(y)
    }
    let xt = try Tensor(xs, shape: [n]), yt = try Tensor(ys, shape: [n])
    let outliers = (0..<n).filter { $0 % 10 == 7 }.count
    let fits = Figure(width: 1200, height: 420, columns: 3, title: "A line fitted by gradient descent to \(n) points, \(outliers) of them outliers (true line y = 0.8x + 0.5, dashed)")
    var fitted: [String: SummaryValue] = [:]
    let losses: [(String, (Tensor, Tensor) throws -> Tensor)] = [
      ("MSE", { try Loss.meanSquaredError($0, $1) }),
      ("MAE", { try Loss.meanAbsoluteError($0, $1) }),
      ("Huber", { try Loss.huber($0, $1, delta: delta) }),
    ]
    for (i, (name, loss)) in losses.enumerated() {
      let w = Tensor(scalar: 0, requiresGrad: true), b = Tensor(scalar: 0, requiresGrad: true)
      // Lesson 1's plain gradient descent, the same for the three losses.
      let opt = try SGD([w, b], learningRate: Self.fitLearningRate)
      for _ in 0..<steps {
        opt.zeroGrad()
        try loss(try xt * w + b, yt).backward()
        opt.step()
      }
      fitted[name.lowercased()] = .object(  // keys snake_case: mse, mae, huber
        ["w": .number(Double(w.item)), "b": .number(Double(b.item))])
      lesson.say(String(format: "  %@ fit: y = %.3f x + %.3f", name, w.item, b.item))
      let ax = fits.axes(0, i)
      ax.title = String(format: "%@: y = %.2fx + %.2f", name, w.item, b.item)
      ax.xLabel = "x"
      if i == 0 { ax.yLabel = "y" }
      ax.scatter(xs.map(Double.init), ys.map(Double.init), label: "data", color: Color(hex: 0x666666), size: 6)
      ax.line([-2, 2], [-2, 2].map { 0.8 * $0 + 0.5 }, label: "true line", color: .ink, width: 1.2, dash: .dashed)
      ax.line([-2, 2], [-2, 2].map { Double(w.item) * $0 + Double(b.item) }, label: "\(name) fit", color: Palette.color(i), width: 2.5)
      ax.yLimits = -2.5...9
      // Below the line on the right there are never points: .best put the MAE panel's legend against an outlier.
      ax.legend = .lowerRight
    }
    try lesson.save(fits, as: "outlier-fits")
    // end figure

    // MARK: Cross-entropy against MSE on a sigmoid
    // figure: classification-losses
    let p = (1...199).map { Double($0) / 200 }
    let z = (0...240).map { -6 + Double($0) / 20 }
    let cls = Figure(width: 1000, height: 420, columns: 2, title: "Classification: cross-entropy against MSE on a sigmoid output")
    let c1 = cls.axes(0, 0), c2 = cls.axes(0, 1)
    c1.title = "loss against the predicted p = σ(z)"
    c1.xLabel = "predicted probability p of class 1"
    c1.line(p, p.map { -log($0) }, label: "cross-entropy, y = 1: −log p")
    c1.line(p, p.map { -log(1 - $0) }, label: "cross-entropy, y = 0: −log(1 − p)")
    c1.line(p, p.map { (1 - $0) * (1 - $0) }, label: "MSE, y = 1: (1 − p)²", dash: .dashed)
    c1.yLimits = 0...5
    c1.legend = .upperCenter
    c2.title = "gradient reaching the logit z, y = 1"
    c2.xLabel = "logit z"
    c2.yLabel = "|∂L/∂z|"
    let sig = { (z: Double) in 1 / (1 + exp(-z)) }
    c2.line(z, z.map { Swift.abs(sig($0) - 1) }, label: "cross-entropy: |σ(z) − 1|", color: Palette.color(0))
    c2.line(z, z.map { Swift.abs(2 * (sig($0) - 1) * sig($0) * (1 - sig($0))) }, label: "MSE: |2(σ − 1)σ(1 − σ)|", color: Palette.color(2), dash: .dashed)
    c2.annotate("very wrong, yet MSE's gradient ≈ 0", pointingAt: -5, 0.013, textAt: -3.4, 0.38, size: 11)
    c2.legend = .upperRight
    try lesson.save(cls, as: "classification-losses")
    // end figure

    // MARK: The common mistake: binary labels "normalised" like regression targets
    let labelBlobs = try Toy2D.blobs(count: options.quick ? 60 : 200, centers: [(-1.2, -0.8), (1.2, 0.8)], spread: 0.75, seed: lesson.seed(4))
    let mean = labelBlobs.labels.reduce(0.0) { $0 + Double($1) } / Double(labelBlobs.labels.count)
    // Standardised as a regression target would be: minus the mean, over the standard deviation.
    let std = (labelBlobs.labels.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(labelBlobs.labels.count)).squareRoot()
    let normalised = try Tensor(labelBlobs.labels.map { Float((Double($0) - mean) / std) }, shape: [labelBlobs.labels.count, 1])
    var labelRuns: [String: SummaryValue] = [:]
    for (name, targets) in [("labels_0_1", labelBlobs.targets), ("labels_normalised", normalised)] {
      var rng = SeededGenerator(seed: lesson.seed(5))
      let neuron = Sequential([try Dense(2, 1, initializer: .zeros, rng: &rng)])
      lesson.say("Lesson 1's neuron with \(name == "labels_0_1" ? "labels 0 and 1" : "labels (y − ȳ)/s_y, i.e. \(normalised.data.min()!) and \(normalised.data.max()!)")")
      let h = try Trainer(
        loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(neuron.parameters, learningRate: 0.5), epochs: steps / 5,
        batchSize: labelBlobs.labels.count, seed: lesson.seed(6), progress: ProgressPrinter(every: max(1, steps / 20))
      ).fit(neuron, x: labelBlobs.x, y: targets)
      let dense = neuron.layers[0] as! Dense
      // Accuracy against the true classes: ŷ ≥ 0.5 (z ≥ 0) means class 1.
      let z = try Tensor.withoutGrad { try neuron(labelBlobs.x) }.data
      let correct = zip(z, labelBlobs.labels).filter { ($0 >= 0) == ($1 == 1) }.count
      labelRuns[name] = .object([
        "final_loss": .number(h.trainLoss.last!), "loss_drop_last_step": .number(h.trainLoss[h.epochs - 2] - h.trainLoss.last!),
        "accuracy": .number(Double(correct) / Double(z.count)), "b": .number(Double(dense.bias.data[0])),
        "weight_norm": .number(Double(dense.weight.data.map { $0 * $0 }.reduce(Float(0), +).squareRoot())),
        "low_label": .number(Double(targets.data.min()!)), "high_label": .number(Double(targets.data.max()!)),
      ])
    }

    // MARK: Softmax cross-entropy for three classes
    // figure: softmax-cross-entropy
    let logits: [Float] = [2.0, 1.0, 0.1]
    let probs = try Tensor(logits, shape: [1, 3]).softmax().data.map(Double.init)
    let ce = try Tensor(logits, shape: [1, 3]).softmaxCrossEntropy(labels: [0]).item
    let soft = Figure(width: 1100, height: 460, columns: 2, title: "Softmax cross-entropy with three classes (true class: 0)")
    let s1 = soft.axes(0, 0)
    s1.title = String(format: "logits → softmax probabilities; loss = −log p₀ = %.3f", ce)
    s1.bars(categories: ["class 0 (true)", "class 1", "class 2"], series: [
      BarSeries("logit z", values: logits.map(Double.init)),
      BarSeries("probability softmax(z)", values: probs),
    ])
    s1.legend = .upperRight
    let s2 = soft.axes(0, 1)
    let g = options.quick ? 40 : 80
    let range = -4.0...4.0
    let centres = cellCenters(range, count: g)
    // z₀ = 0: the loss is log(1 + e^z₁ + e^z₂).
    let landscape = centres.flatMap { z2 in centres.map { z1 in log(1 + exp(z1) + exp(z2)) } }
    s2.title = "loss over the other two logits (z₀ = 0)"
    s2.xLabel = "z₁ (class 1's logit)"
    s2.yLabel = "z₂ (class 2's logit)"
    s2.heatmap(landscape, rows: g, columns: g, x: range, y: range, colormap: .viridis, colorbar: "cross-entropy")
    s2.contour(landscape, rows: g, columns: g, x: range, y: range, levels: [0.5, 1, 2, 3, 4], color: .white, labels: true, width: 1)
    // Softmax depends only on differences of logits: the example is the point (z₁ − z₀, z₂ − z₀) here.
    let example = (Double(logits[1] - logits[0]), Double(logits[2] - logits[0]))
    s2.scatter([example.0], [example.1], color: .white, size: 12, marker: .plus, edge: nil)
    s2.text(String(format: "the example: %.3f", ce), x: example.0 + 0.25, y: example.1 - 0.1, size: 11, color: .white, anchor: .left, baseline: .top)
    s2.equalAspect = true
    try lesson.save(soft, as: "softmax-cross-entropy")
    // end figure

    // MARK: A loss landscape over two parameters
    // figure: loss-landscape
    let blobs = try Toy2D.blobs(count: options.quick ? 60 : 200, centers: [(-0.5, -0.3), (0.5, 0.3)], spread: 0.9, seed: lesson.seed(3))
    let wRange = -2.0...4.0
    let wg = options.quick ? 40 : 90
    let wc = cellCenters(wRange, count: wg)
    var surface: [Double] = []
    try Tensor.withoutGrad {
      for w2 in wc {
        for w1 in wc {
          let w = try Tensor([Float(w1), Float(w2)], shape: [2, 1])
          surface.append(Double(try Loss.binaryCrossEntropy(logits: try blobs.x.matmul(w), targets: blobs.targets).item))
        }
      }
    }
    let best = surface.indices.min { surface[$0] < surface[$1] }!
    let bestW = (wc[best % wg], wc[best / wg])
    let land = Figure(width: 1100, height: 480, columns: 2, title: "Loss landscape of a neuron σ(w₁x₁ + w₂x₂) on two blobs")
    let l1 = land.axes(0, 0), l2 = land.axes(0, 1)
    l1.title = "contours of the loss"
    l2.title = "the same loss as a heatmap"
    for ax in [l1, l2] {
      ax.xLabel = "w₁"
      ax.yLabel = "w₂"
      ax.equalAspect = true
    }
    l1.contour(surface, rows: wg, columns: wg, x: wRange, y: wRange, levelCount: 10)
    l2.heatmap(surface, rows: wg, columns: wg, x: wRange, y: wRange, colormap: Colormap.viridis, colorbar: "binary cross-entropy")
    l1.scatter([bestW.0], [bestW.1], label: "lowest point on the grid", color: Color(hex: 0xd55e00), size: 10, marker: .plus, edge: nil)
    l2.scatter([bestW.0], [bestW.1], color: .white, size: 10, marker: .plus, edge: nil)
    l1.legend = .best
    try lesson.save(land, as: "loss-landscape")
    // end figure

    lesson.summary = [
      "line_fits": .object(fitted),
      "softmax_example": .object(["logits": .numbers(logits), "probabilities": .numbers(probs), "loss": .number(Double(ce))]),
      "landscape_minimum": .object(["w1": .number(bestW.0), "w2": .number(bestW.1), "loss": .number(surface[best])]),
      "label_mistake": .object(labelRuns.merging(["label_steps": .number(Double(steps / 5))]) { a, _ in a }),
      "steps": .number(Double(steps)),
      "points": .number(Double(n)),
      "outliers": .number(Double(outliers)),
      "fit_learning_rate": .number(Double(Self.fitLearningRate)),
      "huber_delta": .number(d),
    ]
    try lesson.finish()
  }
}
