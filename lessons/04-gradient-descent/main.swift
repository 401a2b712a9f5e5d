// Lesson 4: gradient descent, from a line fit to the optimizers that train networks.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Tensors

@main
struct GradientDescentLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "04-gradient-descent",
    abstract: "Lesson 4: fit y = w x + b by gradient descent; learning rates, batch sizes and optimizers.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("Your own data: a CSV file with a header line, then columns x,y.", valueName: "file"))
  var csv: String?

  @Option(name: .long, help: "Learning rate of the line fit.")
  var lr: Double = 0.05

  @Option(name: .long, help: "Gradient steps of the line fit (default: 300, or 100 with --quick).")
  var steps: Int?

  func validate() throws {
    try LessonOptions.checkPositive(lr, "--lr")
    try LessonOptions.checkAtLeast(steps, "--steps")
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
    let curvature = hessian(data)
    lesson.say(String(format: "Fitting y = w x + b to %d points (%@), lr %g, %d steps", data.x.count, csv ?? "synthetic data", lr, steps))

    // MARK: The fit
    let run = descend(data, lr: lr, steps: steps)
    if let step = run.divergedAt {
      throw LessonError(String(format: "gradient descent diverged at step %d with --lr %g (the loss passed 1e12): use a learning rate below %.4g, 2 over the largest curvature of this loss", step, lr, curvature.stableLimit))
    }
    let (w, b) = run.path.last!
    lesson.say(String(format: "  w = %.6f, b = %.6f, loss = %.6g (least squares: w = %.6f, b = %.6f, loss = %.6g)", w, b, run.losses.last!, exact.w, exact.b, exact.loss))

    // figure: fit
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
    // A large file is drawn as an evenly spaced sample of its points (the fit uses them all), and says so.
    let drawn = data.x.count > 5_000 ? (0..<2_000).map { $0 * data.x.count / 2_000 } : Array(data.x.indices)
    fa.scatter(drawn.map { data.x[$0] }, drawn.map { data.y[$0] }, label: drawn.count < data.x.count ? "data (a sample of \(drawn.count) of its \(data.x.count) points)" : "data", color: Color(hex: 0x555555), size: 6)
    fa.line(ends, ends.map { w * $0 + b }, label: "after \(steps) steps", color: Palette.color(1), width: 2.5)
    try lesson.save(fitFig, as: "fit")
    // end figure

    // The common mistake: the gradient added instead of subtracted (gradient ascent).
    let wrongSteps = min(20, steps)
    let wrongSign = descend(data, lr: -lr, steps: wrongSteps, divergeAbove: .infinity)
    lesson.say(String(format: "  with the wrong sign (w += lr ∂L/∂w) the loss goes from %.4g to %.4g in %d steps", wrongSign.losses[0], wrongSign.losses.last!, wrongSteps))

    // MARK: The surface, its curvatures and the path
    // figure: loss-surface
    let surface = Figure(width: 680, height: 560)
    let sa = surface.axes
    sa.title = "The loss over (w, b) and the path from (0, 0)"
    sa.xLabel = "w"
    sa.yLabel = "b"
    let wr = min(0, exact.w) - 1 ... max(0, exact.w) + 1, br = min(0, exact.b) - 1 ... max(0, exact.b) + 1
    let gridCount = options.quick ? 50 : 100
    let grid = lossGrid(data, w: wr, b: br, count: gridCount)
    sa.contour(grid.map { log10($0) }, rows: gridCount, columns: gridCount, x: wr, y: br, levelCount: 10, labels: false)
    for (name, lambda, direction, dash) in [("steep", curvature.largest, curvature.steepDirection, Dash.dashed), ("shallow", curvature.smallest, curvature.shallowDirection, Dash.dotted)] {
      let reach = 0.9
      sa.line([exact.w - reach * direction.0, exact.w + reach * direction.0], [exact.b - reach * direction.1, exact.b + reach * direction.1], label: String(format: "%@ direction: curvature λ = %.3g", name, lambda), color: .mutedInk, width: 1.3, dash: dash)
    }
    sa.line(run.path.map(\.0), run.path.map(\.1), label: String(format: "gradient descent (η = %g)", lr), color: Palette.color(3), width: 1.8, marker: .circle, markerSize: 4)
    sa.scatter([exact.w], [exact.b], label: "least squares", color: .ink, size: 11, marker: .plus, edge: nil)
    sa.equalAspect = true
    sa.legend = .upperLeft
    try lesson.save(surface, as: "loss-surface")
    // end figure

    // figure: loss-curve
    // The gap to the minimum, L - L* = ½ δᵀ H δ with δ = θ - θ* (exact for this quadratic loss, and without
    // the cancellation of subtracting two nearly equal losses).
    let gaps = run.path.map { curvature.gap($0.0 - exact.w, $0.1 - exact.b) }
    let slowFactor = (1 - lr * curvature.smallest) * (1 - lr * curvature.smallest)
    let tail = max(1, gaps.count / 4)
    let measuredFactor = pow(gaps[gaps.count - 1] / gaps[gaps.count - 1 - tail], 1 / Double(tail))
    lesson.say(String(format: "  L - L* shrinks by %.4f per step at the end; (1 - η λmin)² = %.4f", measuredFactor, slowFactor))
    let lossFig = Figure(width: 760, height: 440)
    let la = lossFig.axes
    la.title = "Distance to the minimum, L − L*, while descending"
    la.xLabel = "step"
    la.yLabel = "L − L* (log scale)"
    la.yScale = .log
    let stepAxis = Array(0..<gaps.count).map(Double.init)
    la.line(stepAxis, gaps.map { max($0, 1e-300) }, label: String(format: "gradient descent, η = %g", lr))
    let last = Double(gaps.count - 1)
    la.line([0, last], [gaps.last! / pow(slowFactor, last), gaps.last!], label: String(format: "× (1 − η λmin)² = %.3f per step", slowFactor), color: .mutedInk, width: 1.2, dash: .dashed)
    la.legend = .upperRight
    try lesson.save(lossFig, as: "loss-curve")
    // end figure

    // MARK: Learning rates
    // figure: learning-rates
    let limit = curvature.stableLimit
    let rates = [limit * 0.02, limit * 0.45, limit * 1.05]
    let lrFig = Figure(width: 760, height: 460)
    let lra = lrFig.axes
    lra.title = String(format: "Three learning rates (stable below %.3g)", limit)
    lra.xLabel = "step"
    lra.yLabel = "loss (log scale)"
    lra.yScale = .log
    var lrSummary: [String: SummaryValue] = [:]
    let lrSteps = options.quick ? 60 : 120
    for (name, rate) in zip(["too_small", "good", "too_large"], rates) {
      let r = descend(data, lr: rate, steps: lrSteps, divergeAbove: 1e4 * max(run.losses[0], 1))
      let label = String(format: "%@: lr = %.3g", name.replacingOccurrences(of: "_", with: " "), rate) + (r.divergedAt.map { " (diverges, stopped at step \($0))" } ?? "")
      lra.line(Array(0..<r.losses.count).map(Double.init), r.losses, label: label)
      lrSummary[name] = .object(["lr": .number(rate), "final_loss": .number(r.losses.last!), "diverged_at": r.divergedAt.map { .number(Double($0)) } ?? .text("no")])
      if r.divergedAt != nil { lesson.say(String(format: "  lr %.3g diverges (drawn up to the step where the loss left the plot)", rate)) }
    }
    lra.yLimits = max(exact.loss * 0.5, 1e-6)...(1e4 * max(run.losses[0], 1))
    try lesson.save(lrFig, as: "learning-rates")
    // end figure

    // MARK: Batch, mini-batch and stochastic
    // figure: batch-sizes
    let batchLR = limit * 0.1
    let bFig = Figure(width: 920, height: 420, columns: 2, title: String(format: "Batch, mini-batch (8) and stochastic (1) gradient descent, all with η = %.3g", batchLR))
    let b1 = bFig.axes(0, 0), b2 = bFig.axes(0, 1)
    b1.title = "loss on all the data, after each epoch"
    b1.xLabel = "epoch"
    b1.yLabel = "loss (log scale)"
    b1.yScale = .log
    b2.title = "paths over the loss surface"
    b2.xLabel = "w"
    b2.yLabel = "b"
    b2.contour(grid.map { log10($0) }, rows: gridCount, columns: gridCount, x: wr, y: br, levelCount: 10, color: Color(hex: 0xbbbbbb), labels: false, width: 1)
    for (i, (name, size)) in [("batch", data.x.count), ("mini-batch of 8", 8), ("stochastic (1)", 1)].enumerated() {
      let r = minibatch(data, lr: batchLR, batchSize: size, epochs: options.quick ? 10 : 25, seed: lesson.seed(UInt64(i)))
      b1.line(Array(0..<r.epochLosses.count).map(Double.init), r.epochLosses, label: name, color: Palette.color(i))
      b2.line(r.path.map(\.0), r.path.map(\.1), label: name, color: Palette.color(i), width: 1.2)
    }
    b2.scatter([exact.w], [exact.b], color: .ink, size: 11, marker: .plus, edge: nil)
    b2.xLimits = wr
    b2.yLimits = br
    try lesson.save(bFig, as: "batch-sizes")
    // end figure

    // MARK: Optimizers (the same number of steps in quick mode: they take a fraction of a second)
    var optSummary: [String: SummaryValue] = [:]
    var noCorrectionSummary: [String: SummaryValue] = [:]
    var problemSummary: [String: SummaryValue] = [:]
    for problem in Problem.allCases {
      lesson.say(String(format: "%@: %d steps from (%g, %g); η = %.3g for SGD, momentum and Nesterov, α = %g for RMSProp and Adam", problem.name, problem.steps, problem.start.0, problem.start.1, problem.eta, problem.alpha))
      var traces: [(OptimizerChoice, Trace)] = []
      var results: [String: SummaryValue] = [:]
      for opt in OptimizerChoice.allCases {
        let trace = try optimize(problem, opt.make(problem))
        traces.append((opt, trace))
        let reached = trace.losses.firstIndex { $0 < Problem.tolerance }
        let stays = trace.losses.last! < Problem.tolerance ? (trace.losses.lastIndex { $0 >= Problem.tolerance } ?? -1) + 1 : nil
        results[opt.rawValue.lowercased()] = .object([  // keys snake_case: sgd, momentum, nesterov, rmsprop, adam
          "lr": .number(Double(opt.learningRate(problem))),
          "final_loss": .number(trace.losses.last!),
          "end": .numbers([trace.path.last!.0, trace.path.last!.1]),
          "steps_to_tolerance": reached.map { .number(Double($0)) } ?? .text("not reached"),
          "stays_below_tolerance_from": stays.map { .number(Double($0)) } ?? .text("does not stay below"),
          "lowest_y": .number(trace.path.map(\.1).min()!),
          "largest_x": .number(trace.path.map(\.0).max()!),
          "mean_last_step": .number(trace.meanStepLength(last: 20)),
        ])
        lesson.say(String(format: "  %@ final loss %.3g at (%.4f, %.4f)%@%@", opt.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0), trace.losses.last!, trace.path.last!.0, trace.path.last!.1, reached.map { ", below \(Problem.tolerance) at step \($0)" } ?? "", stays.map { ", for good from step \($0)" } ?? ""))
      }
      // The common mistake: Adam without its bias correction, with the same α.
      let adam = traces.first { $0.0 == .adam }!.1
      let wrong = try optimize(problem, AdamWithoutBiasCorrection(learningRate: problem.alpha))
      let (withStep, withAt) = adam.largestCoordinateStep, (withoutStep, withoutAt) = wrong.largestCoordinateStep
      noCorrectionSummary[problem.shortName] = .object([
        "largest_step_over_alpha": .number(withoutStep / Double(problem.alpha)), "at_step": .number(Double(withoutAt)),
        "with_correction_largest_step_over_alpha": .number(withStep / Double(problem.alpha)), "with_correction_at_step": .number(Double(withAt)),
        "lowest_y": .number(wrong.path.map(\.1).min()!), "largest_x": .number(wrong.path.map(\.0).max()!),
        "final_loss": .number(wrong.losses.last!),
      ])
      lesson.say(String(format: "  Adam without bias correction: largest step %.2f α (at step %d), with it %.2f α; final loss %.3g", withoutStep / Double(problem.alpha), withoutAt, withStep / Double(problem.alpha), wrong.losses.last!))
      optSummary[problem.shortName] = .object(results)
      problemSummary[problem.shortName] = .object([
        "eta": .number(Double(problem.eta)), "alpha": .number(Double(problem.alpha)), "steps": .number(Double(problem.steps)),
        "largest_curvature": .number(problem.curvatures.largest), "smallest_curvature": .number(problem.curvatures.smallest),
        "condition_number": .number(problem.curvatures.largest / problem.curvatures.smallest),
        "start_distance": .number(hypot(Double(problem.start.0) - problem.minimum.0, Double(problem.start.1) - problem.minimum.1)),
      ])
      try lesson.save(optimizerFigure(problem, traces, withoutCorrection: wrong, quick: options.quick), as: problem.figureName)
      // figure: optimizer-paths
      if problem == .bowl {
        let steps = [0, 1, 2, 3, 5, 8, 12, 20, 30, 45, 70, 100, 140, problem.steps].filter { $0 <= problem.steps }
        try lesson.saveAnimation(steps.map { pathFrame(problem, traces, upTo: $0, quick: options.quick) }, as: "optimizer-paths", labels: steps.map { "step \($0)" })
      }
      // end figure
    }

    lesson.summary = [
      "w": .number(w), "b": .number(b), "loss": .number(run.losses.last!), "start_loss": .number(run.losses[0]),
      "closed_form": .object(["w": .number(exact.w), "b": .number(exact.b), "loss": .number(exact.loss)]),
      "lr": .number(lr), "steps": .number(Double(steps)), "points": .number(Double(data.x.count)),
      "data": .text(csv ?? "synthetic"),
      "curvature": .object([
        "largest": .number(curvature.largest), "smallest": .number(curvature.smallest),
        "condition_number": .number(curvature.largest / curvature.smallest),
      ]),
      "per_step": .object([
        "steep_factor": .number(1 - lr * curvature.largest), "shallow_factor": .number(1 - lr * curvature.smallest),
        "gap_factor_predicted": .number(slowFactor), "gap_factor_measured": .number(measuredFactor),
        "gap_removed_per_step": .number(1 - slowFactor),
      ]),
      "final_gap": .number(gaps.last!),
      "wrong_sign": .object([
        "steps": .number(Double(wrongSteps)), "loss_after": .number(wrongSign.losses.last!),
        "right_sign_loss_after": .number(run.losses[wrongSteps]),
      ]),
      "stable_learning_rate_below": .number(limit),
      "learning_rates": .object(lrSummary),
      "batch_learning_rate": .number(batchLR),
      "optimizers": .object(optSummary),
      "problems": .object(problemSummary),
      "optimizer_tolerance": .number(Problem.tolerance),
      "adam_without_bias_correction": .object(noCorrectionSummary),
    ]
    // The main run, one full-batch step per "epoch": the loss before each step, as the Trainer records it.
    try lesson.writeHistory(trainLoss: Array(run.losses.dropLast()), run: "gradient_descent")
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

  // figure: fit, loss-surface, loss-curve, learning-rates
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
  // end figure

  struct MinibatchRun {
    var path: [(Double, Double)] = [(0, 0)]
    var epochLosses: [Double] = []
  }

  // figure: batch-sizes
  func minibatch(_ d: XYData, lr: Double, batchSize: Int, epochs: Int, seed: UInt64) -> MinibatchRun {
    var rng = SeededGenerator(seed: seed)
    var r = MinibatchRun()
    var (w, b) = (0.0, 0.0)
    r.epochLosses.append(loss(d, w, b))
    // On a large file the path keeps every k-th step, about 20,000 points (every step on the lesson's data).
    let every = max(1, (d.x.count + batchSize - 1) / batchSize * epochs / 20_000)
    var taken = 0
    for _ in 0..<epochs {
      let order = rng.permutation(d.x.count)
      var start = 0
      while start < order.count {
        let batch = Array(order[start..<min(order.count, start + batchSize)])
        let (gw, gb) = gradient(d, w, b, batch)
        w -= lr * gw
        b -= lr * gb
        taken += 1
        if taken % every == 0 { r.path.append((w, b)) }
        start += batchSize
      }
      r.epochLosses.append(loss(d, w, b))
    }
    if every > 1 && taken % every != 0 { r.path.append((w, b)) }  // the path ends where descent ended
    return r
  }
  // end figure

  /// The least-squares line: w = cov(x, y) / var(x), b = ȳ - w x̄.
  func leastSquares(_ d: XYData) -> (w: Double, b: Double, loss: Double) {
    let n = Double(d.x.count)
    let mx = d.x.reduce(0, +) / n, my = d.y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0
    for i in d.x.indices { sxy += (d.x[i] - mx) * (d.y[i] - my); sxx += (d.x[i] - mx) * (d.x[i] - mx) }
    let w = sxx > 0 ? sxy / sxx : 0, b = my - w * mx
    return (w, b, loss(d, w, b))
  }

  /// The loss's Hessian H = (2/n) [[Σx², Σx], [Σx, n]] (the same at every (w, b): the loss is quadratic), its
  /// eigenvalues (the curvatures along the bowl's axes) and eigenvectors.
  struct Curvature {
    let hww: Double, hwb: Double, hbb: Double
    var largest: Double { (hww + hbb) / 2 + (((hww - hbb) / 2) * ((hww - hbb) / 2) + hwb * hwb).squareRoot() }
    var smallest: Double { (hww + hbb) / 2 - (((hww - hbb) / 2) * ((hww - hbb) / 2) + hwb * hwb).squareRoot() }
    /// 2 / λmax: learning rates above it diverge.
    var stableLimit: Double { 2 / largest }
    var steepDirection: (Double, Double) { direction(largest) }
    var shallowDirection: (Double, Double) { direction(smallest) }
    /// A unit eigenvector for the eigenvalue `lambda`.
    func direction(_ lambda: Double) -> (Double, Double) {
      let (u, v) = abs(hwb) > 1e-12 ? (hwb, lambda - hww) : (lambda == hww ? (1.0, 0.0) : (0.0, 1.0))
      let length = (u * u + v * v).squareRoot()
      return (u / length, v / length)
    }
    /// L(θ) - L* = ½ δᵀ H δ for δ = θ - θ*.
    func gap(_ dw: Double, _ db: Double) -> Double { 0.5 * (hww * dw * dw + 2 * hwb * dw * db + hbb * db * db) }
  }

  func hessian(_ d: XYData) -> Curvature {
    let n = Double(d.x.count)
    return Curvature(hww: 2 * d.x.map { $0 * $0 }.reduce(0, +) / n, hwb: 2 * d.x.reduce(0, +) / n, hbb: 2)
  }

  func lossGrid(_ d: XYData, w: ClosedRange<Double>, b: ClosedRange<Double>, count: Int) -> [Double] {
    // Many points: the loss is a quadratic in (w, b), L = w² var(x) − 2w cov(x, y) + var(y) + (w x̄ + b − ȳ)²,
    // so each cell costs a few operations instead of a pass over the data.
    if d.x.count > 10_000 {
      let n = Double(d.x.count), mx = d.x.reduce(0, +) / n, my = d.y.reduce(0, +) / n
      var (vxx, vxy, vyy) = (0.0, 0.0, 0.0)
      for (x, y) in zip(d.x, d.y) { vxx += (x - mx) * (x - mx); vxy += (x - mx) * (y - my); vyy += (y - my) * (y - my) }
      (vxx, vxy, vyy) = (vxx / n, vxy / n, vyy / n)
      return cellCenters(b, count: count).flatMap { bb in
        cellCenters(w, count: count).map { ww in max(0, ww * ww * vxx - 2 * ww * vxy + vyy) + (ww * mx + bb - my) * (ww * mx + bb - my) }
      }
    }
    return cellCenters(b, count: count).flatMap { bb in cellCenters(w, count: count).map { ww in loss(d, ww, bb) } }
  }

  // MARK: - Optimizers on two test functions (with the engine's optimizers and autograd)

  enum Problem: CaseIterable {
    case bowl, rosenbrock
    var name: String { self == .bowl ? "bowl f = ½(x² + 50y²)" : "Rosenbrock f = (1 − x)² + 100(y − x²)²" }
    var shortName: String { self == .bowl ? "bowl" : "rosenbrock" }
    var figureName: String { "optimizers-" + shortName }
    var xRange: ClosedRange<Double> { self == .bowl ? -5...5 : -1.5...1.5 }
    var yRange: ClosedRange<Double> { self == .bowl ? -2.5...2.5 : -0.5...1.5 }
    var start: (Float, Float) { self == .bowl ? (-4.5, 1.5) : (-1.2, 1) }
    var minimum: (Double, Double) { self == .bowl ? (0, 0) : (1, 1) }
    var steps: Int { self == .bowl ? 200 : 2000 }
    /// A run has converged when f falls below this.
    static let tolerance = 1e-6
    /// The curvatures at the minimum: the eigenvalues of the Hessian, [[1, 0], [0, 50]] for the bowl and
    /// [[802, -400], [-400, 200]] for Rosenbrock at (1, 1).
    var curvatures: (largest: Double, smallest: Double) {
      let (a, c, e) = self == .bowl ? (1.0, 0.0, 50.0) : (802.0, -400.0, 200.0)
      let root = (((a - e) / 2) * ((a - e) / 2) + c * c).squareRoot()
      return ((a + e) / 2 + root, (a + e) / 2 - root)
    }
    /// The learning rate of SGD, momentum and Nesterov: 1 / λmax, the textbook safe step for the steepest direction.
    var eta: Float { Float(1 / curvatures.largest) }
    /// The learning rate of RMSProp and Adam, a step length: small against the distance to travel (bowl) and
    /// against the width of the valley (Rosenbrock: about 0.2 where f < 1).
    var alpha: Float { self == .bowl ? 0.1 : 0.02 }
    /// A dot on the path every so many steps, to show the speed.
    var dotEvery: Int { self == .bowl ? 10 : 100 }
    /// Where the path panels' legends cover no path.
    var legendPlace: LegendPlacement { self == .bowl ? .lowerRight : .upperCenter }
    /// Contour levels, in log₁₀ f.
    var levels: [Double] { self == .bowl ? [-1, -0.5, 0, 0.5, 1, 1.5, 2] : [-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5] }
    func value(_ x: Double, _ y: Double) -> Double {
      self == .bowl ? 0.5 * (x * x + 50 * y * y) : (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)
    }
    func loss(_ p: Tensor) throws -> Tensor {
      let x = try p.slice(0..<1), y = try p.slice(1..<2)
      if self == .bowl { return try (0.5 * (x * x + 50 * y * y)).sum() }
      return try ((1 - x).pow(2) + 100 * (y - x * x).pow(2)).sum()
    }
  }

  enum OptimizerChoice: String, CaseIterable {
    case sgd = "SGD", momentum = "momentum", nesterov = "Nesterov", rmsprop = "RMSProp", adam = "Adam"
    func learningRate(_ p: Problem) -> Float { [.sgd, .momentum, .nesterov].contains(self) ? p.eta : p.alpha }
    func label(_ p: Problem) -> String {
      switch self {
      case .sgd: return String(format: "SGD, η = %.3g", learningRate(p))
      case .momentum, .nesterov: return String(format: "%@, η = %.3g, μ = 0.9", rawValue, learningRate(p))
      case .rmsprop: return String(format: "RMSProp, α = %g, ρ = 0.9", learningRate(p))
      case .adam: return String(format: "Adam, α = %g, β₁ = 0.9, β₂ = 0.999", learningRate(p))
      }
    }
    // figure: optimizers-bowl, optimizers-rosenbrock
    func make(_ p: Problem) -> ([Tensor]) throws -> Optimizer {
      let lr = learningRate(p)
      switch self {
      case .sgd: return { try SGD($0, learningRate: lr) }
      case .momentum: return { try SGD($0, learningRate: lr, momentum: 0.9) }
      case .nesterov: return { try SGD($0, learningRate: lr, momentum: 0.9, nesterov: true) }
      case .rmsprop: return { try RMSProp($0, learningRate: lr, rho: 0.9) }
      case .adam: return { try Adam($0, learningRate: lr, beta1: 0.9, beta2: 0.999) }
      }
    }
    // end figure
  }

  /// Adam as the engine computes it, but without the bias correction (the common mistake): the step is
  /// α m / (√s + ε) instead of α m̂ / (√ŝ + ε) with m̂ = m / (1 - β₁ᵗ), ŝ = s / (1 - β₂ᵗ).
  final class AdamWithoutBiasCorrection: Optimizer {
    var parameters: [Tensor] = []
    var learningRate: Float
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7
    var m: [[Float]] = [], s: [[Float]] = []
    init(learningRate: Float) { self.learningRate = learningRate }
    func attach(_ parameters: [Tensor]) -> Self {
      self.parameters = parameters
      m = parameters.map { [Float](repeating: 0, count: $0.count) }
      s = m
      return self
    }
    // figure: optimizers-bowl, optimizers-rosenbrock
    func step() {
      for (k, p) in parameters.enumerated() {
        guard let g = p.grad else { continue }
        for i in 0..<p.count {
          m[k][i] = beta1 * m[k][i] + (1 - beta1) * g[i]
          s[k][i] = beta2 * s[k][i] + (1 - beta2) * g[i] * g[i]
          p.data[i] -= learningRate * m[k][i] / (s[k][i].squareRoot() + epsilon)  // m and s not divided by 1 - βᵗ
        }
      }
    }
    // end figure
  }

  /// A path and the loss at each of its points (the start included).
  struct Trace {
    var path: [(Double, Double)]
    var losses: [Double]
    /// The largest move of one coordinate in one step, and the step (counted from 1) where it happened.
    var largestCoordinateStep: (Double, Int) {
      var best = (0.0, 0)
      for t in 1..<path.count {
        let move = max(abs(path[t].0 - path[t - 1].0), abs(path[t].1 - path[t - 1].1))
        if move > best.0 { best = (move, t) }
      }
      return best
    }
    /// The mean length of the last `count` steps.
    func meanStepLength(last count: Int) -> Double {
      let from = max(1, path.count - count)
      return (from..<path.count).map { hypot(path[$0].0 - path[$0 - 1].0, path[$0].1 - path[$0 - 1].1) }.reduce(0, +) / Double(path.count - from)
    }
  }

  func optimize(_ problem: Problem, _ makeOptimizer: ([Tensor]) throws -> Optimizer) throws -> Trace {
    let p = try Tensor([problem.start.0, problem.start.1], shape: [2], requiresGrad: true)
    let opt = try makeOptimizer([p])
    return try descendWith(opt, p, problem)
  }

  func optimize(_ problem: Problem, _ wrong: AdamWithoutBiasCorrection) throws -> Trace {
    let p = try Tensor([problem.start.0, problem.start.1], shape: [2], requiresGrad: true)
    return try descendWith(wrong.attach([p]), p, problem)
  }

  // figure: optimizers-bowl, optimizers-rosenbrock
  func descendWith(_ opt: Optimizer, _ p: Tensor, _ problem: Problem) throws -> Trace {
    var path: [(Double, Double)] = [(Double(p.data[0]), Double(p.data[1]))]
    for _ in 0..<problem.steps {
      opt.zeroGrad()
      try problem.loss(p).backward()
      opt.step()
      path.append((Double(p.data[0]), Double(p.data[1])))
    }
    return Trace(path: path, losses: path.map { problem.value($0.0, $0.1) })
  }
  // end figure

  /// Five path panels (one per optimizer) and the losses of all five against the step.
  func optimizerFigure(_ problem: Problem, _ traces: [(OptimizerChoice, Trace)], withoutCorrection: Trace, quick: Bool) -> Figure {
    let fig = Figure(width: 900, height: 1080, rows: 3, columns: 2, title: "Five optimizers on the \(problem.name), \(problem.steps) steps each")
    let g = quick ? 80 : 160
    let values = cellCenters(problem.yRange, count: g).flatMap { y in cellCenters(problem.xRange, count: g).map { x in log10(problem.value(x, y)) } }
    for (i, (opt, trace)) in traces.enumerated() {
      let ax = fig.axes(at: i)
      ax.title = opt.label(problem)
      ax.titleFontSize = 13
      ax.tickFontSize = 12
      ax.xLabel = "x"
      ax.yLabel = "y"
      ax.contour(values, rows: g, columns: g, x: problem.xRange, y: problem.yRange, levels: problem.levels, color: Color(hex: 0xc8c8c8), labels: false, width: 0.9)
      if opt == .adam {
        ax.line(withoutCorrection.path.map(\.0), withoutCorrection.path.map(\.1), label: "without bias correction", color: Color(hex: 0x888888), width: 1.1, dash: .dashed)
      }
      ax.line(trace.path.map(\.0), trace.path.map(\.1), color: Palette.color(i), width: 1.5)
      let dots = stride(from: problem.dotEvery, to: trace.path.count - 1, by: problem.dotEvery).map { trace.path[$0] }
      ax.scatter(dots.map(\.0), dots.map(\.1), label: "every \(problem.dotEvery) steps", color: Palette.color(i), size: 5, marker: .circle, edge: .white)
      ax.scatter([trace.path[0].0], [trace.path[0].1], label: "start", color: .ink, size: 9, marker: .square, edge: .white)
      ax.scatter([trace.path.last!.0], [trace.path.last!.1], label: String(format: "end: f = %@", compact(trace.losses.last!)), color: Palette.color(i), size: 12, marker: .diamond, edge: .ink)
      ax.scatter([problem.minimum.0], [problem.minimum.1], label: "minimum", color: .ink, size: 11, marker: .plus, edge: nil)
      ax.xLimits = problem.xRange
      ax.yLimits = problem.yRange
      ax.legend = i == 0 || opt == .adam ? problem.legendPlace : .none
      if i != 0 && opt != .adam {
        ax.text(String(format: "end: f = %@", compact(trace.losses.last!)), x: problem.xRange.upperBound - 0.03 * (problem.xRange.upperBound - problem.xRange.lowerBound), y: problem.yRange.lowerBound + 0.04 * (problem.yRange.upperBound - problem.yRange.lowerBound), size: 12, color: .ink, anchor: .right, baseline: .bottom)
      }
    }
    let la = fig.axes(at: 5)
    la.title = "f against step (log scale)"
    la.titleFontSize = 13
    la.tickFontSize = 12
    la.xLabel = "step"
    la.yLabel = "f"
    la.yScale = .log
    for (i, (opt, trace)) in traces.enumerated() {
      la.line(Array(0..<trace.losses.count).map(Double.init), trace.losses.map { max($0, 1e-14) }, label: opt.rawValue, color: Palette.color(i), width: 1.6)
    }
    la.legend = .lowerLeft
    return fig
  }

  // figure: optimizer-paths
  /// All five paths on one plot of the problem, each drawn up to step `last` with a dot where it is now.
  func pathFrame(_ problem: Problem, _ traces: [(OptimizerChoice, Trace)], upTo last: Int, quick: Bool) -> Figure {
    let fig = Figure(width: 760, height: 460)
    let ax = fig.axes
    let g = quick ? 60 : 120
    let values = cellCenters(problem.yRange, count: g).flatMap { y in cellCenters(problem.xRange, count: g).map { x in log10(problem.value(x, y)) } }
    ax.title = "Five optimizers on the \(problem.name): step \(last)"
    ax.xLabel = "x"
    ax.yLabel = "y"
    ax.contour(values, rows: g, columns: g, x: problem.xRange, y: problem.yRange, levels: problem.levels, color: Color(hex: 0xc8c8c8), labels: false, width: 0.9)
    for (i, (opt, trace)) in traces.enumerated() {
      let shown = Array(trace.path.prefix(last + 1))
      ax.line(shown.map(\.0), shown.map(\.1), label: opt.rawValue, color: Palette.color(i), width: 1.6)
      ax.scatter([shown.last!.0], [shown.last!.1], color: Palette.color(i), size: 9, marker: .circle, edge: .ink)
    }
    ax.scatter([problem.minimum.0], [problem.minimum.1], color: .ink, size: 11, marker: .plus, edge: nil)
    ax.xLimits = problem.xRange
    ax.yLimits = problem.yRange
    ax.legend = .outsideRight
    return fig
  }
  // end figure

  /// 3.1e-03 style, or 0.25 for numbers near 1.
  func compact(_ v: Double) -> String {
    v >= 0.01 && v < 100 ? String(format: "%.2g", v) : String(format: "%.1e", v)
  }
}
