// Lesson 4: gradient descent, from a line fit to the optimizers that train networks.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import Plotting
import Tensors

@main
struct GradientDescentLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "04-gradient-descent",
    abstract: "Lesson 4: fit y = w x + b by gradient descent; learning rates, batch sizes and optimizers.")

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("Your own data: a CSV file with a header line, then columns x,y.", valueName: "file"))
  var csv: String?

  @Option(name: .long, help: "Learning rate of the line fit.")
  var lr: Double = 0.05

  @Option(name: .long, help: "Gradient steps of the line fit (default: 300, or 100 with --quick).")
  var steps: Int?

  func validate() throws {
    guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
  }

  func run() throws {
    let data: XYData
    if let csv {
      data = try XYData.load(csv: csv)  // before the lesson starts: bad data writes nothing
    } else {
      data = syntheticData(count: options.quick ? 20 : 40)
    }
    let lesson = try Lesson(name: "04-gradient-descent", options: options)
    let steps = self.steps ?? (options.quick ? 100 : 300)
    let exact = leastSquares(data)
    lesson.say(String(format: "Fitting y = w x + b to %d points (%@), lr %g, %d steps", data.x.count, csv ?? "synthetic data", lr, steps))

    // MARK: The fit
    let run = descend(data, lr: lr, steps: steps)
    if let step = run.divergedAt {
      throw LessonError(String(format: "gradient descent diverged at step %d with --lr %g (the loss passed 1e12): use a learning rate below %.4g, 2 over the largest curvature of this loss", step, lr, stableLimit(data)))
    }
    let (w, b) = run.path.last!
    lesson.say(String(format: "  w = %.6f, b = %.6f, loss = %.6g (least squares: w = %.6f, b = %.6f, loss = %.6g)", w, b, run.losses.last!, exact.w, exact.b, exact.loss))

    let xs = data.x, lo = xs.min()!, hi = xs.max()!, pad = (hi - lo) * 0.05
    let fitFig = Figure(width: 760, height: 480)
    let fa = fitFig.axes
    fa.title = String(format: "y = %.3f x + %.3f after %d steps", w, b, steps)
    fa.xLabel = "x"
    fa.yLabel = "y"
    let ends = [lo - pad, hi + pad]
    let shown = [1, 3, 10, 30].filter { $0 < steps }
    for (i, s) in shown.enumerated() {
      let (ws, bs) = run.path[s]
      fa.line(ends, ends.map { ws * $0 + bs }, label: i == 0 ? "earlier lines (steps \(shown.map(String.init).joined(separator: ", ")))" : nil, color: Color(hex: 0x0072b2).withAlpha(0.15 + 0.15 * Double(i)), width: 1.5)
    }
    fa.scatter(data.x, data.y, label: "data", color: Color(hex: 0x555555), size: 6)
    fa.line(ends, ends.map { w * $0 + b }, label: "after \(steps) steps", color: Palette.color(1), width: 2.5)
    try lesson.save(fitFig, as: "fit")

    let lossFig = Figure(width: 700, height: 420)
    let la = lossFig.axes
    la.title = "Mean squared error while descending"
    la.xLabel = "step"
    la.yLabel = "loss (log scale)"
    la.yScale = .log
    la.line(Array(0..<run.losses.count).map(Double.init), run.losses, label: "loss")
    la.horizontalLine(at: exact.loss, label: String(format: "least-squares minimum %.4g", exact.loss))
    try lesson.save(lossFig, as: "loss-curve")

    // MARK: The surface and the path
    let surface = Figure(width: 680, height: 560)
    let sa = surface.axes
    sa.title = "The loss over (w, b) and the path from (0, 0)"
    sa.xLabel = "w"
    sa.yLabel = "b"
    let wr = min(0, exact.w) - 1 ... max(0, exact.w) + 1, br = min(0, exact.b) - 1 ... max(0, exact.b) + 1
    let grid = lossGrid(data, w: wr, b: br, count: options.quick ? 50 : 100)
    sa.contour(grid.map { log10($0) }, rows: grid.count == 2500 ? 50 : 100, columns: grid.count == 2500 ? 50 : 100, x: wr, y: br, levelCount: 10, labels: false)
    sa.line(run.path.map(\.0), run.path.map(\.1), label: "gradient descent", color: Palette.color(3), width: 1.8, marker: .circle, markerSize: 4)
    sa.scatter([exact.w], [exact.b], label: "least squares", color: .ink, size: 11, marker: .plus, edge: nil)
    sa.legend = .upperLeft
    try lesson.save(surface, as: "loss-surface")

    // MARK: Learning rates
    let limit = stableLimit(data)
    let rates = [limit * 0.02, limit * 0.45, limit * 1.05]
    let lrFig = Figure(width: 760, height: 460)
    let lra = lrFig.axes
    lra.title = String(format: "Three learning rates (stable below %.3g)", limit)
    lra.xLabel = "step"
    lra.yLabel = "loss (log scale)"
    lra.yScale = .log
    var lrSummary: [String: SummaryValue] = [:]
    let lrSteps = options.quick ? 60 : 120
    for (name, rate) in zip(["too small", "good", "too large"], rates) {
      let r = descend(data, lr: rate, steps: lrSteps, divergeAbove: 1e4 * max(run.losses[0], 1))
      let label = String(format: "%@: lr = %.3g", name, rate) + (r.divergedAt.map { " (diverges, stopped at step \($0))" } ?? "")
      lra.line(Array(0..<r.losses.count).map(Double.init), r.losses, label: label)
      lrSummary[name] = .object(["lr": .number(rate), "final_loss": .number(r.losses.last!), "diverged_at": r.divergedAt.map { .number(Double($0)) } ?? .text("no")])
      if r.divergedAt != nil { lesson.say(String(format: "  lr %.3g diverges (drawn up to the step where the loss left the plot)", rate)) }
    }
    lra.yLimits = max(exact.loss * 0.5, 1e-6)...(1e4 * max(run.losses[0], 1))
    try lesson.save(lrFig, as: "learning-rates")

    // MARK: Batch, mini-batch and stochastic
    let bFig = Figure(width: 1100, height: 460, columns: 2, title: "Batch, mini-batch (8) and stochastic (1) gradient descent, same learning rate")
    let b1 = bFig.axes(0, 0), b2 = bFig.axes(0, 1)
    b1.title = "loss on all the data, after each epoch"
    b1.xLabel = "epoch"
    b1.yLabel = "loss (log scale)"
    b1.yScale = .log
    b2.title = "paths over the loss surface"
    b2.xLabel = "w"
    b2.yLabel = "b"
    b2.contour(grid.map { log10($0) }, rows: grid.count == 2500 ? 50 : 100, columns: grid.count == 2500 ? 50 : 100, x: wr, y: br, levelCount: 10, color: Color(hex: 0xbbbbbb), labels: false, width: 1)
    let batchLR = limit * 0.1
    for (i, (name, size)) in [("batch", data.x.count), ("mini-batch of 8", 8), ("stochastic (1)", 1)].enumerated() {
      let r = minibatch(data, lr: batchLR, batchSize: size, epochs: options.quick ? 10 : 25, seed: lesson.seed(UInt64(i)))
      b1.line(Array(0..<r.epochLosses.count).map(Double.init), r.epochLosses, label: name, color: Palette.color(i))
      b2.line(r.path.map(\.0), r.path.map(\.1), label: name, color: Palette.color(i), width: 1.2)
    }
    b2.scatter([exact.w], [exact.b], color: .ink, size: 11, marker: .plus, edge: nil)
    b2.xLimits = wr
    b2.yLimits = br
    try lesson.save(bFig, as: "batch-sizes")

    // MARK: Optimizers
    let optFig = Figure(width: 1150, height: 900, rows: 2, columns: 2, title: "Optimizers on an ill-conditioned bowl and on the Rosenbrock valley")
    var optSummary: [String: SummaryValue] = [:]
    for (row, problem) in Problem.allCases.enumerated() {
      let pathAxes = optFig.axes(row, 0), lossAxes = optFig.axes(row, 1)
      pathAxes.title = problem.title
      pathAxes.xLabel = "x"
      pathAxes.yLabel = "y"
      lossAxes.title = "\(problem.shortName): loss against step"
      lossAxes.xLabel = "step"
      lossAxes.yLabel = "loss (log scale)"
      lossAxes.yScale = .log
      let g = options.quick ? 60 : 120
      let values = cellCenters(problem.yRange, count: g).flatMap { y in cellCenters(problem.xRange, count: g).map { x in problem.value(x, y) } }
      pathAxes.contour(values.map { log10($0 + 1e-3) }, rows: g, columns: g, x: problem.xRange, y: problem.yRange, levelCount: 12, color: Color(hex: 0xbbbbbb), labels: false, width: 1)
      var results: [String: SummaryValue] = [:]
      for (i, opt) in OptimizerChoice.allCases.enumerated() {
        let (path, losses) = try optimize(problem, opt, steps: options.quick ? problem.steps / 3 : problem.steps)
        pathAxes.line(path.map(\.0), path.map(\.1), label: opt.label(problem), color: Palette.color(i), width: 1.6)
        lossAxes.line(Array(0..<losses.count).map(Double.init), losses.map { max($0, 1e-12) }, label: opt.label(problem), color: Palette.color(i))
        results[opt.rawValue] = .object(["final_loss": .number(losses.last!), "end": .numbers([path.last!.0, path.last!.1])])
      }
      pathAxes.scatter([problem.minimum.0], [problem.minimum.1], color: .ink, size: 11, marker: .plus, edge: nil)
      pathAxes.xLimits = problem.xRange
      pathAxes.yLimits = problem.yRange
      pathAxes.legend = .none
      lossAxes.legend = .best
      optSummary[problem.shortName] = .object(results)
    }
    try lesson.save(optFig, as: "optimizers")

    lesson.summary = [
      "w": .number(w), "b": .number(b), "loss": .number(run.losses.last!),
      "closed_form": .object(["w": .number(exact.w), "b": .number(exact.b), "loss": .number(exact.loss)]),
      "lr": .number(lr), "steps": .number(Double(steps)), "points": .number(Double(data.x.count)),
      "data": .text(csv ?? "synthetic"),
      "stable_learning_rate_below": .number(limit),
      "learning_rates": .object(lrSummary),
      "optimizers": .object(optSummary),
    ]
    try lesson.finish()
  }

  // MARK: - Data and the line fit (in Double, with the gradient written out)

  func syntheticData(count: Int) -> XYData {
    var rng = SeededGenerator(seed: options.seed)
    let x = (0..<count).map { _ in -2 + 5 * rng.uniformDouble() }
    return XYData(x: x, y: x.map { 1.5 * $0 + 0.7 + 0.6 * Double(rng.normal()) })
  }

  /// L = (1/n) Σ (w xᵢ + b - yᵢ)².
  func loss(_ d: XYData, _ w: Double, _ b: Double) -> Double {
    var s = 0.0
    for i in d.x.indices { let r = w * d.x[i] + b - d.y[i]; s += r * r }
    return s / Double(d.x.count)
  }

  /// ∂L/∂w = (2/n) Σ rᵢ xᵢ and ∂L/∂b = (2/n) Σ rᵢ, with rᵢ = w xᵢ + b - yᵢ, over the points `indices`.
  func gradient(_ d: XYData, _ w: Double, _ b: Double, _ indices: [Int]) -> (Double, Double) {
    var gw = 0.0, gb = 0.0
    for i in indices {
      let r = w * d.x[i] + b - d.y[i]
      gw += r * d.x[i]
      gb += r
    }
    return (2 * gw / Double(indices.count), 2 * gb / Double(indices.count))
  }

  struct Run {
    var path: [(Double, Double)] = [(0, 0)]
    var losses: [Double] = []
    var divergedAt: Int?
  }

  /// Batch gradient descent from w = b = 0; stops when the loss passes `divergeAbove`.
  func descend(_ d: XYData, lr: Double, steps: Int, divergeAbove: Double = 1e12) -> Run {
    var run = Run()
    var (w, b) = (0.0, 0.0)
    run.losses.append(loss(d, w, b))
    let all = Array(d.x.indices)
    for step in 1...steps {
      let (gw, gb) = gradient(d, w, b, all)
      w -= lr * gw
      b -= lr * gb
      let l = loss(d, w, b)
      guard l.isFinite, l <= divergeAbove else {
        run.divergedAt = step
        return run
      }
      run.path.append((w, b))
      run.losses.append(l)
    }
    return run
  }

  struct MinibatchRun {
    var path: [(Double, Double)] = [(0, 0)]
    var epochLosses: [Double] = []
  }

  func minibatch(_ d: XYData, lr: Double, batchSize: Int, epochs: Int, seed: UInt64) -> MinibatchRun {
    var rng = SeededGenerator(seed: seed)
    var r = MinibatchRun()
    var (w, b) = (0.0, 0.0)
    r.epochLosses.append(loss(d, w, b))
    for _ in 0..<epochs {
      let order = rng.permutation(d.x.count)
      var start = 0
      while start < order.count {
        let batch = Array(order[start..<min(order.count, start + batchSize)])
        let (gw, gb) = gradient(d, w, b, batch)
        w -= lr * gw
        b -= lr * gb
        r.path.append((w, b))
        start += batchSize
      }
      r.epochLosses.append(loss(d, w, b))
    }
    return r
  }

  /// The least-squares line: w = cov(x, y) / var(x), b = ȳ - w x̄.
  func leastSquares(_ d: XYData) -> (w: Double, b: Double, loss: Double) {
    let n = Double(d.x.count)
    let mx = d.x.reduce(0, +) / n, my = d.y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0
    for i in d.x.indices { sxy += (d.x[i] - mx) * (d.y[i] - my); sxx += (d.x[i] - mx) * (d.x[i] - mx) }
    let w = sxx > 0 ? sxy / sxx : 0, b = my - w * mx
    return (w, b, loss(d, w, b))
  }

  /// 2 / λmax of the loss's Hessian (2/n) [[Σx², Σx], [Σx, n]]: learning rates above it diverge.
  func stableLimit(_ d: XYData) -> Double {
    let n = Double(d.x.count)
    let sxx = d.x.map { $0 * $0 }.reduce(0, +) / n, sx = d.x.reduce(0, +) / n
    let (a, c, e) = (2 * sxx, 2 * sx, 2.0)
    let lambda = (a + e) / 2 + (((a - e) / 2) * ((a - e) / 2) + c * c).squareRoot()
    return 2 / lambda
  }

  func lossGrid(_ d: XYData, w: ClosedRange<Double>, b: ClosedRange<Double>, count: Int) -> [Double] {
    cellCenters(b, count: count).flatMap { bb in cellCenters(w, count: count).map { ww in loss(d, ww, bb) } }
  }

  // MARK: - Optimizers on two test functions (with the engine's optimizers and autograd)

  enum Problem: CaseIterable {
    case bowl, rosenbrock
    var title: String { self == .bowl ? "bowl f = ½(x² + 20y²): paths" : "Rosenbrock f = (1 − x)² + 100(y − x²)²: paths" }
    var shortName: String { self == .bowl ? "bowl" : "rosenbrock" }
    var xRange: ClosedRange<Double> { self == .bowl ? -5...5 : -2...2 }
    var yRange: ClosedRange<Double> { self == .bowl ? -2...2 : -1...3 }
    var start: (Float, Float) { self == .bowl ? (-4.5, 1.5) : (-1.5, 2.5) }
    var minimum: (Double, Double) { self == .bowl ? (0, 0) : (1, 1) }
    var steps: Int { self == .bowl ? 90 : 600 }
    func value(_ x: Double, _ y: Double) -> Double {
      self == .bowl ? 0.5 * (x * x + 20 * y * y) : (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)
    }
    func loss(_ p: Tensor) throws -> Tensor {
      let x = try p.slice(0..<1), y = try p.slice(1..<2)
      if self == .bowl { return try (0.5 * (x * x + 20 * y * y)).sum() }
      return try ((1 - x).pow(2) + 100 * (y - x * x).pow(2)).sum()
    }
  }

  enum OptimizerChoice: String, CaseIterable {
    case sgd = "SGD", momentum = "momentum", nesterov = "Nesterov", rmsprop = "RMSProp", adam = "Adam"
    func learningRate(_ p: Problem) -> Float {
      switch (self, p) {
      case (.sgd, .bowl): return 0.09
      case (.momentum, .bowl), (.nesterov, .bowl): return 0.03
      case (.rmsprop, .bowl): return 0.05
      case (.adam, .bowl): return 0.3
      case (.sgd, .rosenbrock): return 0.001
      case (.momentum, .rosenbrock), (.nesterov, .rosenbrock): return 0.0002
      case (.rmsprop, .rosenbrock): return 0.01
      case (.adam, .rosenbrock): return 0.05
      }
    }
    func label(_ p: Problem) -> String { String(format: "%@ (lr %g)", rawValue, learningRate(p)) }
    func make(_ params: [Tensor], _ p: Problem) throws -> Optimizer {
      let lr = learningRate(p)
      switch self {
      case .sgd: return try SGD(params, learningRate: lr)
      case .momentum: return try SGD(params, learningRate: lr, momentum: 0.9)
      case .nesterov: return try SGD(params, learningRate: lr, momentum: 0.9, nesterov: true)
      case .rmsprop: return try RMSProp(params, learningRate: lr)
      case .adam: return try Adam(params, learningRate: lr)
      }
    }
  }

  func optimize(_ problem: Problem, _ choice: OptimizerChoice, steps: Int) throws -> ([(Double, Double)], [Double]) {
    let p = try Tensor([problem.start.0, problem.start.1], shape: [2], requiresGrad: true)
    let opt = try choice.make([p], problem)
    var path: [(Double, Double)] = [(Double(p.data[0]), Double(p.data[1]))]
    var losses: [Double] = []
    for _ in 0..<steps {
      opt.zeroGrad()
      let l = try problem.loss(p)
      losses.append(Double(l.item))
      try l.backward()
      opt.step()
      path.append((Double(p.data[0]), Double(p.data[1])))
    }
    return (path, losses)
  }
}
