// Lesson 10: CIFAR-10 to 90% on two CPU cores in minutes, and what each trick adds.
import ArgumentParser
import Datasets
import Foundation
import LessonKit
import Networks
import PackageInfo
import Plotting
import Support
import Tensors

// MARK: - The recipe: every choice the lesson explains, each one switchable for the ablation

/// One training run's choices. `Recipe.full` is the lesson's; the ablation switches one trick off at a time.
struct Recipe: Sendable {
  var name = "full recipe"
  /// Channels of the three blocks.
  var widths = [32, 128, 256]
  var epochs = 14.0
  var batchSize = 512
  /// The first layer's 2x2 filters set from the training images' patch statistics (whitening), not trained.
  var whitening = true
  /// Each block's second convolution as a residual branch, y = x + f(x).
  var residual = false
  var batchNorm = true
  /// Label smoothing ε.
  var labelSmoothing: Float = 0.2
  /// Warm-up then linear decay of the learning rate (else constant).
  var schedule = true
  /// Nesterov momentum (else plain momentum).
  var nesterov = true
  /// The lookahead average of the weights (an exponential moving average copied back every 5 steps).
  var weightAverage = true
  /// Random flips and 2-pixel shifts of the training images.
  var augment = true
  /// Each 3x3 convolution starts as the identity on its first channels (else random throughout).
  var identityInit = true
  /// Test-time augmentation: 0 none, 1 mirror, 2 mirror and 1-pixel shifts.
  var testAugmentation = 2
  /// The peak learning rate for the mean loss over a batch (the BatchNorm shifts take 64 times more), the
  /// momentum, and the decoupled weight decay per unit of learning rate.
  var learningRate: Float = 0.75
  var momentum: Float = 0.85
  var weightDecay: Float = 8.9e-3
  /// The arithmetic of the 3x3 convolutions: bfloat16 operands with float32 sums (mixed precision), or float32.
  var precision: Precision = .bfloat16
}

extension Recipe {
  /// The ablation: each trick removed in turn (one added: residual branches), by name.
  static let ablations: [(String, @Sendable (inout Recipe) -> Void)] = [
    ("no whitening", { $0.whitening = false }),
    ("no identity init", { $0.identityInit = false }),
    // Without normalisation the full learning rate diverges; a tenth of it is the fair comparison.
    ("no batch norm", { $0.batchNorm = false; $0.learningRate /= 10 }),
    ("no label smoothing", { $0.labelSmoothing = 0 }),
    ("constant learning rate", { $0.schedule = false }),
    ("plain momentum", { $0.nesterov = false }),
    ("no weight averaging", { $0.weightAverage = false }),
    ("no augmentation", { $0.augment = false }),
    ("with residual branches", { $0.residual = true }),
    ("float32 convolutions", { $0.precision = .float32 }),
  ]
}

/// What one run produced.
struct RunResult {
  var recipe: Recipe
  var testAccuracy = 0.0
  var plainTestAccuracy = 0.0
  var wallSeconds = 0.0
  var trainingSeconds = 0.0
  var epochSeconds: [Double] = []
  /// (seconds since the start, accuracy on the first 2,000 test images, one view) after each epoch, when measured.
  var curve: [(Double, Double)] = []
  var trainLoss: [Double] = []
  var trainAccuracy: [Double] = []
  /// The learning-rate multiplier at each step.
  var learningRates: [Double] = []
  /// One channel of the first block's first BatchNorm: batch mean and standard deviation per step, and the
  /// running mean it keeps.
  var normBatchMean: [Double] = [], normBatchStd: [Double] = [], normRunningMean: [Double] = []
  var normRunningVariance: [Double] = []
  /// How many channels those record (four, or fewer where the block is narrower).
  var normChannels = 0
  var predictions: [Int] = []
  var model: Sequential?
  /// The whitening layer's patch-covariance eigenvalues, largest first.
  var eigenvalues: [Double] = []
  var whiteningSeconds = 0.0
  var averagingSeconds = 0.0
}

// MARK: - The network

/// The whitened 2x2 stem, then three blocks of conv, 2x2 max-pool, BatchNorm, GELU, conv, BatchNorm, GELU,
/// then the maximum over the last positions and a linear layer whose logits are scaled by 1/9.
func makeNetwork(_ recipe: Recipe, rng: inout SeededGenerator) throws -> Sequential {
  var layers: [Layer] = []
  let stem = try Conv2D(3, 24, kernel: 2, initializer: .normal(std: (1 / Float(3 * 12)).squareRoot()), rng: &rng)
  layers += [stem, Activation(.gelu)]
  var channels = 24
  for width in recipe.widths {
    func norm() throws -> [Layer] { recipe.batchNorm ? [try BatchNorm(width, momentum: 0.4, epsilon: 1e-12, learnScale: false)] : [] }
    let first = try conv(channels, width, useBias: !recipe.batchNorm, identity: recipe.identityInit, precision: recipe.precision, rng: &rng)
    layers += [first, MaxPool2D(2)] + (try norm()) + [Activation(.gelu)]
    let second = try conv(width, width, useBias: !recipe.batchNorm, identity: recipe.identityInit, precision: recipe.precision, rng: &rng)
    let branch: [Layer] = [second] + (try norm()) + [Activation(.gelu)]
    layers += recipe.residual ? [Residual(branch)] : branch
    channels = width
  }
  layers += [GlobalPool(.max), try Dense(channels, 10, useBias: false, initializer: .normal(std: (1 / Float(3 * channels)).squareRoot()), rng: &rng), Scale(1 / 9)]
  return Sequential(layers)
}

/// A 3x3 convolution (padding 1) whose first filters pass their own input channel straight through (the
/// "identity" or Dirac start: the block begins as nearly the identity map and learns a change to it), the
/// others normal with the spread of PyTorch's default (uniform in ±1/√fan-in has standard deviation 1/√(3 fan-in)).
func conv(_ inputs: Int, _ outputs: Int, useBias: Bool, identity: Bool, precision: Precision, rng: inout SeededGenerator) throws -> Conv2D {
  let layer = try Conv2D(inputs, outputs, kernel: 3, padding: 1, useBias: useBias, initializer: .normal(std: (1 / Float(3 * inputs * 9)).squareRoot()), rng: &rng)
  layer.precision = precision
  for f in 0..<(identity ? min(inputs, outputs) : 0) {
    for k in 0..<(inputs * 9) { layer.weight.data[f * inputs * 9 + k] = 0 }
    layer.weight.data[f * inputs * 9 + f * 9 + 4] = 1
  }
  return layer
}

// MARK: - Whitening

// figure: whitening

/// The stem's 24 filters from the covariance of 2x2 patches (12 numbers each) of `images`: the 12 eigenvectors
/// v scaled by 1/√(λ + 5·10⁻⁴), and their negatives. Each output channel is then a decorrelated direction of
/// the patches with unit variance: the network starts from whitened input.
func whiteningFilters(_ images: Tensor) -> (filters: [Float], eigenvalues: [Double]) {
  let (n, h, w) = (images.shape[0], images.shape[2], images.shape[3])
  var covariance = [Double](repeating: 0, count: 144)
  var patch = [Double](repeating: 0, count: 12)
  let x = images.data
  for i in 0..<n {
    for y in 0..<(h - 1) {
      for xx in 0..<(w - 1) {
        for c in 0..<3 {
          let base = ((i * 3 + c) * h + y) * w + xx
          patch[c * 4] = Double(x[base]); patch[c * 4 + 1] = Double(x[base + 1])
          patch[c * 4 + 2] = Double(x[base + w]); patch[c * 4 + 3] = Double(x[base + w + 1])
        }
        for a in 0..<12 { for b in a..<12 { covariance[a * 12 + b] += patch[a] * patch[b] } }
      }
    }
  }
  let count = Double(n * (h - 1) * (w - 1))
  for a in 0..<12 { for b in a..<12 { covariance[a * 12 + b] /= count; covariance[b * 12 + a] = covariance[a * 12 + b] } }
  let (values, vectors) = symmetricEigen(covariance, size: 12)
  var filters = [Float](repeating: 0, count: 24 * 12)
  for k in 0..<12 {
    let s = 1 / (max(values[k], 0) + 5e-4).squareRoot()
    for j in 0..<12 {
      filters[k * 12 + j] = Float(vectors[j * 12 + k] * s)
      filters[(k + 12) * 12 + j] = -Float(vectors[j * 12 + k] * s)
    }
  }
  return (filters, values)
}

/// Eigenvalues (largest first) and eigenvectors (columns) of a symmetric matrix by Jacobi rotations.
func symmetricEigen(_ matrix: [Double], size n: Int) -> ([Double], [Double]) {
  var a = matrix, v = [Double](repeating: 0, count: n * n)
  for i in 0..<n { v[i * n + i] = 1 }
  for _ in 0..<100 {
    var off = 0.0
    for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
    if off < 1e-22 { break }
    for p in 0..<n {
      for q in (p + 1)..<n where abs(a[p * n + q]) > 1e-30 {
        let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
        let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
        let c = 1 / (t * t + 1).squareRoot(), s = t * c
        for k in 0..<n {
          let (akp, akq) = (a[k * n + p], a[k * n + q])
          a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq
        }
        for k in 0..<n {
          let (apk, aqk) = (a[p * n + k], a[q * n + k])
          a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk
        }
        for k in 0..<n {
          let (vkp, vkq) = (v[k * n + p], v[k * n + q])
          v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
        }
      }
    }
  }
  let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
  let values = order.map { a[$0 * n + $0] }
  var vectors = [Double](repeating: 0, count: n * n)
  for (k, j) in order.enumerated() { for i in 0..<n { vectors[i * n + k] = v[i * n + j] } }
  return (values, vectors)
}

// end figure

// MARK: - Training

// figure: accuracy-vs-time, schedule, batchnorm-statistics

/// Trains `recipe` on `train` and scores it on `test`; `progress` prints Keras-style lines.
func trainAndTest(_ recipe: Recipe, train: CIFAR10, test: CIFAR10, seed: UInt64, measureCurve: Bool, progress: ProgressPrinter, say: (String) -> Void) throws -> RunResult {
  let start = DispatchTime.now().uptimeNanoseconds
  func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
  var rng = SeededGenerator(seed: seed)
  let model = try makeNetwork(recipe, rng: &rng)
  let stem = model.layers[0] as! Conv2D
  var result = RunResult(recipe: recipe)
  if recipe.whitening {
    let count = min(5000, train.count)
    let sample = try train.batch(Array(0..<count), flips: [Bool](repeating: false, count: count), shifts: [(dx: Int, dy: Int)](repeating: (0, 0), count: count))
    let (filters, eigenvalues) = whiteningFilters(sample)
    stem.weight.data = filters
    stem.weight.requiresGrad = false
    result.eigenvalues = eigenvalues
    result.whiteningSeconds = now()
  }
  // Two groups: the BatchNorm shifts learn 64 times faster (they are few, and each moves a whole channel).
  let shifts = model.layers.flatMap { layer -> [Tensor] in
    if let bn = layer as? BatchNorm { return [bn.shift] }
    if let r = layer as? Residual { return r.body.layers.compactMap { ($0 as? BatchNorm)?.shift } }
    return []
  }
  let shiftIDs = Set(shifts.map(ObjectIdentifier.init))
  let others = model.parameters.filter { $0.requiresGrad && !shiftIDs.contains(ObjectIdentifier($0)) }
  let momentum = recipe.momentum
  let optimizer = try SGD(others, learningRate: recipe.learningRate, momentum: momentum, nesterov: recipe.nesterov, decoupledWeightDecay: recipe.weightDecay)
  let shiftOptimizer = try SGD(shifts, learningRate: 64 * recipe.learningRate, momentum: momentum, nesterov: recipe.nesterov, decoupledWeightDecay: recipe.weightDecay / 64)
  // Without the schedule: a constant rate at the schedule's average (0.55 of the peak), the same total step.
  let schedule = recipe.schedule ? try LearningRateSchedule.warmupLinearDecay(warmup: 0.23, start: 0.2, end: 0.07) : try LearningRateSchedule(points: [(0, 0.55), (1, 0.55)])
  let average = WeightAverage(model.parameters + model.namedBuffers.map(\.1))

  let batchesPerEpoch = train.count / recipe.batchSize
  let totalSteps = max(1, Int((recipe.epochs * Double(batchesPerEpoch)).rounded(.up)))
  let epochs = Int(recipe.epochs.rounded(.up))
  // Flips alternate: each image gets a random first flip, then is mirrored every other epoch, so over two
  // epochs the network sees both versions of every image.
  var dataRng = SeededGenerator(seed: seed &+ 1)
  let firstFlip = (0..<train.count).map { _ in dataRng.next() % 2 == 0 }
  let watched = model.layers.firstIndex { $0 is BatchNorm }
  let curveCount = min(2000, test.count)
  let curveImages = CIFAR10(pixels: Array(test.pixels[0..<(curveCount * CIFAR10.imageSize)]), labels: Array(test.labels[0..<curveCount]))
  // The values per channel that batch normalisation averages over there: the batch times the positions.
  var watchedShape = [3, 32, 32]
  for layer in model.layers[..<(watched ?? 0)] { watchedShape = try layer.outputShape(for: watchedShape) }
  let perChannel = Float(recipe.batchSize * watchedShape.dropFirst().reduce(1, *))
  var step = 0
  for epoch in 1...epochs {
    let epochStart = now()
    progress.epochStarted(epoch, of: epochs)
    // The whitening layer's bias trains for the first 3 epochs only.
    if recipe.whitening && epoch == 4 { stem.bias.requiresGrad = false; stem.bias.zeroGrad() }
    var order = Array(0..<train.count)
    order.shuffle(using: &dataRng)
    let batches = min(batchesPerEpoch, totalSteps - step)
    var lossSum = 0.0, correct = 0, seen = 0
    for b in 0..<batches {
      let idx = Array(order[(b * recipe.batchSize)..<((b + 1) * recipe.batchSize)])
      let flips = idx.map { recipe.augment && (firstFlip[$0] != (epoch % 2 == 0)) }
      let moves = idx.map { _ in recipe.augment ? (dx: Int(dataRng.next() % 5) - 2, dy: Int(dataRng.next() % 5) - 2) : (dx: 0, dy: 0) }
      let x = try train.batch(idx, flips: flips, shifts: moves)
      let labels = idx.map { train.labels[$0] }
      let multiplier = Float(schedule.multiplier(step: step, of: totalSteps))
      optimizer.learningRate = recipe.learningRate * multiplier
      shiftOptimizer.learningRate = 64 * recipe.learningRate * multiplier
      result.learningRates.append(Double(multiplier))

      // Four channels of the first BatchNorm: running statistics before and after this batch; the batch's own
      // mean and variance follow from them, r' = (1 - m) r + m b.
      let bn = watched.flatMap { model.layers[$0] as? BatchNorm }
      let before = bn.map { b in (0..<min(4, b.runningMean.count)).map { (b.runningMean.data[$0], b.runningVariance.data[$0]) } } ?? []
      result.normChannels = before.count
      let logits = try model.forward(x, training: true)
      if let bn {
        for (c, old) in before.enumerated() {
          let m = bn.momentum, unbias = perChannel / (perChannel - 1)
          result.normBatchMean.append(Double((bn.runningMean.data[c] - (1 - m) * old.0) / m))
          result.normBatchStd.append(Double(max((bn.runningVariance.data[c] - (1 - m) * old.1) / m / unbias, 0)).squareRoot())
          result.normRunningMean.append(Double(bn.runningMean.data[c]))
          result.normRunningVariance.append(Double(bn.runningVariance.data[c]))
        }
      }
      let loss = try logits.softmaxCrossEntropy(labels: labels, labelSmoothing: recipe.labelSmoothing)
      guard loss.item.isFinite else { throw LessonError("training diverged at step \(step + 1) (loss \(loss.item)); try a smaller --lr") }
      try loss.backward()
      optimizer.step(); shiftOptimizer.step()
      optimizer.zeroGrad(); shiftOptimizer.zeroGrad()
      step += 1
      if recipe.weightAverage && step % 5 == 0 {
        // The lookahead: the average takes a step toward the fast weights, and they restart from it. Its decay
        // rises as (step/total)³: little averaging early, when the weights move far, much at the end.
        let t = Double(step) / Double(totalSteps), t0 = now()
        average.update(decay: Float(pow(0.95, 5) * t * t * t), copyBack: true)
        result.averagingSeconds += now() - t0
      }

      lossSum += Double(loss.item) * Double(idx.count)
      let predicted = try logits.argmax(axis: 1)
      correct += zip(predicted, labels).filter { $0 == $1 }.count
      seen += idx.count
      progress.batchFinished(b + 1, of: batches, elapsed: now() - epochStart, metrics: [("loss", lossSum / Double(seen)), ("accuracy", Double(correct) / Double(seen))])
    }
    result.epochSeconds.append(now() - epochStart)
    result.trainLoss.append(lossSum / Double(max(seen, 1)))
    result.trainAccuracy.append(Double(correct) / Double(max(seen, 1)))
    var metrics = [("loss", result.trainLoss.last!), ("accuracy", result.trainAccuracy.last!)]
    if measureCurve {
      // Not counted in the training time: a plain pass over the first 2,000 test images to draw accuracy
      // against time.
      let pause = now()
      let accuracy = try evaluate(model, curveImages, level: 0).accuracy
      result.curve.append((pause, accuracy))
      metrics.append(("test_accuracy", accuracy))
      result.trainingSeconds -= now() - pause
    }
    progress.epochFinished(epoch, of: epochs, batches: batches, elapsed: result.epochSeconds.last!, metrics: metrics)
  }
  if recipe.weightAverage { average.update(decay: 1, copyBack: true) }
  result.trainingSeconds += now()
  let (accuracy, predictions) = try evaluate(model, test, level: recipe.testAugmentation)
  result.testAccuracy = accuracy
  result.predictions = predictions
  // The clock stops at the final score; the one-view score beside it is for the text, not part of the recipe.
  result.wallSeconds = now()
  result.plainTestAccuracy = recipe.testAugmentation == 0 ? accuracy : try evaluate(model, test, level: 0).accuracy
  result.model = model
  say(String(format: "%@: test accuracy %.2f%% (%.2f%% without test-time augmentation), %.0f s", recipe.name, 100 * result.testAccuracy, 100 * result.plainTestAccuracy, result.wallSeconds))
  return result
}

// end figure

// MARK: - Where the time goes

/// Runs a few training steps and prints each layer's forward time and each backward operation's time (medians
/// of four steps, after one that is not counted: it first touches every buffer, and its page faults are no
/// part of a training step);
/// returns the share of a step each kind of work takes: "convolution" (with its fused pooling), "batch_norm",
/// "gelu", "other" (data, loss, optimizer, the rest).
@discardableResult
func profileLayers(_ recipe: Recipe, train: CIFAR10, seed: UInt64, say: (String) -> Void) throws -> [String: Double] {
  var rng = SeededGenerator(seed: seed)
  let model = try makeNetwork(recipe, rng: &rng)
  let sgd = try SGD(model.parameters, learningRate: 0.01, momentum: 0.9, nesterov: true)
  var forward: [String: [Double]] = [:], backward: [String: [Double]] = [:], order: [String] = [], backOrder: [String] = []
  func clock() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
  let n = min(recipe.batchSize, train.count)
  for _ in 0..<5 {
    let idx = Array(0..<n)
    let t0 = clock()
    let x = try train.batch(idx, flips: idx.map { $0 % 2 == 0 }, shifts: idx.map { _ in (dx: 1, dy: -1) })
    forward["data", default: []].append(clock() - t0)
    if !order.contains("data") { order.append("data") }
    var h = x
    var i = 0
    while i < model.layers.count {
      let start = clock()
      let (output, taken) = try model.forwardStep(at: i, h, training: true)
      h = output
      let name = "\(i) " + model.layers[i..<(i + taken)].map(\.kind).joined(separator: "+") + " " + h.shape.dropFirst().map(String.init).joined(separator: "x")
      forward[name, default: []].append(clock() - start)
      if !order.contains(name) { order.append(name) }
      i += taken
    }
    let loss = try h.softmaxCrossEntropy(labels: idx.map { train.labels[$0] }, labelSmoothing: 0.2)
    var seen: [String: Int] = [:]
    try loss.backward { op, shape, seconds in
      let key = op + " " + shape.dropFirst().map(String.init).joined(separator: "x")
      let k = seen[key, default: 0]
      seen[key] = k + 1
      let name = key + (k > 0 ? " #\(k + 1)" : "")
      backward[name, default: []].append(seconds)
      if !backOrder.contains(name) { backOrder.append(name) }
    }
    let s0 = clock()
    sgd.step(); sgd.zeroGrad()
    forward["optimizer", default: []].append(clock() - s0)
    if !order.contains("optimizer") { order.append("optimizer") }
  }
  func median(_ v: [Double]) -> Double { let s = v.dropFirst().sorted(); return s[s.count / 2] }
  var total = 0.0
  var shares: [String: Double] = [:]
  func kind(_ name: String) -> String {
    name.contains("Conv2D") || name.contains("conv2d") ? "convolution" : (name.contains("atch") && name.contains("orm") ? "batch_norm" : (name.contains("Activation") || name.contains("gelu") ? "gelu" : "other"))
  }
  say("Forward (batch \(n)):")
  for name in order { let m = median(forward[name]!); total += m; shares[kind(name), default: 0] += m; say(String(format: "  %8.1f ms  %@", 1000 * m, name)) }
  say("Backward:")
  for name in backOrder { let m = median(backward[name]!); total += m; shares[kind(name), default: 0] += m; say(String(format: "  %8.1f ms  %@", 1000 * m, name)) }
  say(String(format: "Total %.1f ms a step, %.1f s an epoch of 50,000 images", 1000 * total, total * 50000 / Double(n)))
  return shares.mapValues { $0 / max(total, 1e-12) }
}

/// The FMA loop's rate (Kernels' PeakProbe) in GFLOP/s: the best of three tries on one thread and on all of
/// them; and on all of them with bfloat16 dot products, where the processor has them (else 0).
func fmaPeak() -> (one: Double, all: Double, threads: Int, bfloat16: Double) {
  // Each try is 8 pieces per thread, shared out as the threads come: with one piece per thread, a worker thread
  // that woke late (on a shared machine it can miss the whole loop) left all the work to the first one and the
  // "two-core" rate came out as one core's.
  let iterations = 1_000_000, pieces = 8, threads = KernelSettings.threads
  func rate(_ n: Int, flops: Double, _ loop: @escaping @Sendable () -> Void) -> Double {
    var best = 0.0
    for _ in 0..<3 {
      let start = DispatchTime.now().uptimeNanoseconds
      if n == 1 {
        for _ in 0..<pieces { loop() }
      } else {
        DispatchQueue.concurrentPerform(iterations: n * pieces) { _ in loop() }
      }
      best = max(best, Double(n * pieces) * Double(iterations) * flops / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) / 1e9)
    }
    return best
  }
  let fma: @Sendable () -> Void = { _ = PeakProbe.run(iterations: iterations) }
  let bf16 = Precision.bfloat16.isNative ? rate(threads, flops: PeakProbe.bfloat16FlopsPerIteration) { _ = PeakProbe.runBFloat16(iterations: iterations) } : 0
  return (rate(1, flops: PeakProbe.flopsPerIteration, fma), rate(threads, flops: PeakProbe.flopsPerIteration, fma), threads, bf16)
}

/// Multiply-adds × 2 of one image's forward pass through the convolutions and the linear layer.
func forwardFLOPs(_ model: Sequential) throws -> Double {
  var shape = [3, 32, 32]
  var flops = 0.0
  func visit(_ layers: [Layer]) throws {
    for layer in layers {
      let input = shape
      shape = try layer.outputShape(for: shape)
      if let conv = layer as? Conv2D { flops += 2 * Double(conv.weight.count) * Double(shape[1] * shape[2]) }
      if let dense = layer as? Dense { flops += 2 * Double(dense.weight.count) }
      if let r = layer as? Residual { shape = input; try visit(r.body.layers) }
    }
  }
  try visit(model.layers)
  return flops
}

// MARK: - Test-time augmentation

/// Accuracy and predictions on `test`. Level 1 averages the logits of each image and its mirror image; level 2
/// also of the two copies shifted one pixel up-left and down-right (weights 1/2 for the image, 1/4 each shift).
func evaluate(_ model: Sequential, _ test: CIFAR10, level: Int) throws -> (accuracy: Double, predictions: [Int]) {
  var predictions: [Int] = []
  try Tensor.withoutGrad {
    var start = 0
    while start < test.count {
      let idx = Array(start..<min(test.count, start + 500))
      func logits(flip: Bool, dx: Int, dy: Int) throws -> Tensor {
        try model(try test.batch(idx, flips: [Bool](repeating: flip, count: idx.count), shifts: [(dx: Int, dy: Int)](repeating: (dx, dy), count: idx.count)))
      }
      func mirrored(dx: Int, dy: Int) throws -> Tensor {
        level == 0 ? try logits(flip: false, dx: dx, dy: dy) : try logits(flip: false, dx: dx, dy: dy) + (try logits(flip: true, dx: dx, dy: dy))
      }
      var total = try mirrored(dx: 0, dy: 0)
      if level >= 2 { total = try total * 2 + (try mirrored(dx: 1, dy: 1)) + (try mirrored(dx: -1, dy: -1)) }
      predictions += try total.argmax(axis: 1)
      start += idx.count
    }
  }
  let right = zip(predictions, test.labels).filter { $0 == $1 }.count
  return (Double(right) / Double(max(test.count, 1)), predictions)
}


/// Accuracy on the first `count` test images scored one at a time, in evaluation mode (the running statistics)
/// and, wrongly, in training mode (each image normalised by its own statistics). The model's buffers are put
/// back afterwards.
func trainingModeMistake(_ model: Sequential, _ test: CIFAR10, count: Int) throws -> (count: Int, evaluation: Double, training: Double) {
  let saved = model.namedBuffers.map { $0.1.data }
  defer { for (k, b) in model.namedBuffers.enumerated() { b.1.data = saved[k] } }
  var right = (evaluation: 0, training: 0)
  try Tensor.withoutGrad {
    for i in 0..<count {
      let x = try test.batch([i], flips: [false], shifts: [(dx: 0, dy: 0)])
      if try model.forward(x, training: false).argmax(axis: 1)[0] == test.labels[i] { right.evaluation += 1 }
      if try model.forward(x, training: true).argmax(axis: 1)[0] == test.labels[i] { right.training += 1 }
      // Training mode also moved the running statistics: put them back before the next image.
      for (k, b) in model.namedBuffers.enumerated() { b.1.data = saved[k] }
    }
  }
  return (count, Double(right.evaluation) / Double(max(count, 1)), Double(right.training) / Double(max(count, 1)))
}

// MARK: - Lesson 6's run, for comparison

/// Lesson 6's validation accuracy after each epoch against the time trained so far, and its test accuracy, read
/// from its output folder (summary.json and history.json).
struct Lesson6Run {
  var seconds: [Double], validationAccuracy: [Double], testAccuracy: Double

  static func read(from folder: String) throws -> Lesson6Run {
    func object(_ file: String) throws -> [String: Any] {
      guard let o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))) as? [String: Any] else {
        throw LessonError("\(folder)/\(file) is not a JSON object")
      }
      return o
    }
    let summary = try object("summary.json"), history = try object("history.json")
    guard let test = summary["test_accuracy"] as? Double, let epochs = history["epoch_seconds"] as? [Double],
          let validation = history["validation_accuracy"] as? [Double], epochs.count == validation.count else {
      throw LessonError("\(folder) lacks lesson 6's test accuracy or history")
    }
    var total = 0.0
    return Lesson6Run(seconds: epochs.map { total += $0; return total }, validationAccuracy: validation, testAccuracy: test)
  }
}

// MARK: - Figures

// figure: network
/// The network drawn from the model: one box per convolution, with what follows it (pooling, BatchNorm, GELU)
/// in its label and its output shape below; then the global pooling and the linear layer.
func networkDiagram(_ model: Sequential) throws -> Figure {
  var stages: [(name: String, shape: String, channels: Int, size: Int, flat: Bool)] = [("input", "32×32×3", 3, 32, false)]
  var shape = [3, 32, 32]
  func describe(_ layers: [Layer], from input: [Int]) throws -> (String, [Int]) {
    var names: [String] = []
    var s = input
    for layer in layers {
      s = try layer.outputShape(for: s)
      switch layer {
      case let conv as Conv2D: names.append("conv \(conv.weight.shape[2])×\(conv.weight.shape[3])")
      case is MaxPool2D: names.append("pool")
      case is BatchNorm: names.append("BN")
      case let a as Activation: names.append(a.function.description)
      case is GlobalPool: names.append("max over positions")
      case is Dense: names.append("linear")
      case let scale as Scale: names.append("× \(scale.factor == 1 / 9 ? "1/9" : "\(scale.factor)")")
      case let r as Residual: let (inner, _) = try describe(r.body.layers, from: s); names.append("+(" + inner + ")")
      default: names.append(layer.kind)
      }
    }
    return (names.joined(separator: ", "), s)
  }
  // A stage starts at each convolution (or residual branch, global pooling, dense layer).
  var i = 0
  while i < model.layers.count {
    var j = i + 1
    while j < model.layers.count, !(model.layers[j] is Conv2D || model.layers[j] is Residual || model.layers[j] is GlobalPool || model.layers[j] is Dense) { j += 1 }
    let (name, out) = try describe(Array(model.layers[i..<j]), from: shape)
    shape = out
    let label = out.count == 3 ? "\(out[1])×\(out[2])×\(out[0])" : "\(out[0])"
    stages.append((name, label, out[0], out.count == 3 ? out[1] : 1, out.count != 3))
    i = j
  }
  let fig = Figure(width: 1250, height: 430)
  let d = fig.diagram()
  d.title = "The network: a whitened 2×2 stem, three blocks (conv, pool, BN, GELU; conv, BN, GELU), max over positions, linear"
  var x = 0.0
  var previous: NodeID?
  for (k, stage) in stages.enumerated() {
    let thickness = stage.flat ? 0.35 : 0.3 + log2(Double(stage.channels)) * 0.2
    let height = stage.flat ? 1.2 + log2(Double(stage.channels)) * 0.4 : 0.6 + Double(stage.size) / 6.5
    // The layer that makes the stage as the label; what follows it, and the output shape, below.
    var parts = stage.name.components(separatedBy: ", ")
    var head = parts.removeFirst()
    if parts.first == "pool" { head += " + pool"; parts.removeFirst() }
    if k == 1 { head = "whitening " + head }
    let node = d.volume(at: Point(x, 0), thickness: thickness, height: height, depth: stage.flat ? 0.15 : height,
                        label: head, sublabel: (parts.isEmpty ? "" : parts.joined(separator: ", ") + " → ") + stage.shape,
                        fill: [Color(hex: 0xdbe9f6), Color(hex: 0xf2c57c), Color(hex: 0x9fd6c0), Color(hex: 0xc7b3e5)][stage.flat ? 3 : (k == 0 ? 0 : (head.contains("pool") ? 2 : 1))],
                        textSize: 9.5)
    if let previous { d.connect(previous, node, color: Color(hex: 0x999999), width: 1, arrow: true) }
    previous = node
    x += thickness + (stage.flat ? 0.15 : height) * 0.55 + 2.1
  }
  return fig
}
// end figure

// figure: accuracy-vs-time
/// Test accuracy (one view, after each epoch) against minutes on the clock since the start, the final score
/// with test-time augmentation where the clock stops, lesson 6's network for comparison, and the targets: 90%
/// within 15 minutes. One clock for both: the dots sit where each epoch's scoring began, the diamond where
/// the final score ended.
func accuracyFigure(_ run: RunResult, lesson6: Lesson6Run?) throws -> Figure {
  let fig = Figure(width: 900, height: 480)
  let ax = fig.axes
  ax.title = "Test accuracy against time on this machine's clock"
  ax.xLabel = "minutes since the start (2 cores)"
  ax.yLabel = "test accuracy"
  ax.line(run.curve.map { $0.0 / 60 }, run.curve.map(\.1), label: "this lesson, after each epoch (2,000 test images, 1 view)", marker: .circle)
  ax.scatter([run.wallSeconds / 60], [run.testAccuracy], label: String(format: "final, 6 views: %.1f%% (the clock stops)", 100 * run.testAccuracy), color: Palette.color(3), size: 12, marker: .diamond)
  if let lesson6 {
    ax.line(lesson6.seconds.map { $0 / 60 }, lesson6.validationAccuracy, label: "lesson 6's CNN (validation)", color: Palette.color(1), marker: .square)
    ax.scatter([lesson6.seconds.last! / 60], [lesson6.testAccuracy], label: String(format: "lesson 6, test: %.1f%%", 100 * lesson6.testAccuracy), color: Palette.color(1), size: 11, marker: .diamond)
  }
  ax.horizontalLine(at: 0.9, label: "target: 90%")
  ax.verticalLine(at: 15, label: "target: 15 minutes", dash: .dotted)
  ax.yLimits = 0.3...1
  ax.legend = .lowerRight
  return fig
}
// end figure

// figure: ablation
/// What each change to the recipe does, in the short runs: its test accuracy minus the full recipe's, in
/// percentage points. Removing a trick that helps gives a bar below zero; so does adding one that hurts.
func ablationFigure(_ runs: [(name: String, accuracy: Double, seconds: Double)], epochs: Double) throws -> Figure {
  let full = runs[0].accuracy
  let rest = Array(runs.dropFirst()).sorted { $0.accuracy < $1.accuracy }
  let fig = Figure(width: 1000, height: 500)
  let ax = fig.axes
  ax.title = String(format: "Each change to the recipe: its test accuracy minus the full recipe's %.1f%% (runs of %@ epoch%@)", 100 * full, epochs.formatted(), epochs == 1 ? "" : "s")
  ax.yLabel = "change in test accuracy (percentage points)"
  let names = rest.map(\.name)
  let change = rest.map { 100 * ($0.accuracy - full) }
  ax.bars(categories: names, values: change.map { min($0, 0) }, label: "worse than the full recipe", color: Palette.color(1))
  ax.bars(categories: names, values: change.map { max($0, 0) }, label: "better than the full recipe", color: Palette.color(0))
  ax.horizontalLine(at: 0, color: .ink, width: 1, dash: .solid)
  ax.legend = .lowerRight
  ax.tickFontSize = 10
  return fig
}
// end figure

// figure: schedule
/// The learning rate's multiplier at each step (warm-up, then linear decay) and the weight average's decay.
func scheduleFigure(_ run: RunResult) throws -> Figure {
  let fig = Figure(width: 1000, height: 400, columns: 2, title: "What changes during training, step by step")
  let steps = (0..<run.learningRates.count).map(Double.init)
  let a = fig.axes(0, 0)
  a.title = "learning rate (× its peak)"
  a.xLabel = "step"
  a.line(steps, run.learningRates, label: "warm-up 23%, then linear decay")
  a.yLimits = 0...1.05
  let b = fig.axes(0, 1)
  b.title = "weight-average decay d (every 5 steps)"
  b.xLabel = "step"
  let total = Double(max(run.learningRates.count, 1))
  b.line(steps, steps.map { pow(0.95, 5) * pow(($0 + 1) / total, 3) }, label: "d = 0.95⁵ (t/T)³", color: Palette.color(2))
  b.yLimits = 0...1
  return fig
}
// end figure

// figure: batchnorm-statistics
/// One BatchNorm layer (the first block's, after pooling) during training, four channels. Top: each batch's
/// mean and standard deviation (what the layer divides by) over the whole run. Bottom: the first steps, where
/// the batches are dots and the running averages kept for test time a line, so both can be told apart (over
/// the whole run, at momentum 0.4, the averages lie on the batches' lines and hide them).
func batchNormFigure(_ run: RunResult) throws -> Figure {
  let fig = Figure(width: 1100, height: 760, rows: 2, columns: 2, title: "Batch normalisation in the first block: \(run.normChannels == 4 ? "four channels'" : run.normChannels == 1 ? "its one channel's" : "its \(run.normChannels) channels'") batch statistics and running averages")
  // Four channels, or as many as the block has (--widths 2,...), each recorded at every step.
  let channels = max(run.normChannels, 1), steps = run.normRunningMean.count / channels
  let zoom = min(steps, 40)
  let wholeMean = fig.axes(0, 0), wholeStd = fig.axes(0, 1), firstMean = fig.axes(1, 0), firstStd = fig.axes(1, 1)
  wholeMean.title = "each batch's mean, the whole run"
  wholeStd.title = "each batch's standard deviation, the whole run"
  firstMean.title = "mean, first \(zoom) steps (dots: each batch; line: running average)"
  firstStd.title = "standard deviation, first \(zoom) steps (dots: batch; line: running)"
  for ax in [wholeMean, wholeStd, firstMean, firstStd] { ax.xLabel = "step" }
  for c in 0..<run.normChannels {
    let x = (0..<steps).map { Double($0 + 1) }, color = Palette.color(c)
    let series = { (values: [Double]) in (0..<steps).map { values[$0 * channels + c] } }
    let batchMean = series(run.normBatchMean), batchStd = series(run.normBatchStd)
    let runningMean = series(run.normRunningMean), runningStd = series(run.normRunningVariance).map { $0.squareRoot() }
    wholeMean.line(x, batchMean, color: color, width: 1)
    wholeStd.line(x, batchStd, label: "channel \(c + 1)", color: color, width: 1)
    let first = Array(x.prefix(zoom))
    firstMean.scatter(first, Array(batchMean.prefix(zoom)), color: color, size: 5, edge: nil)
    firstMean.line(first, Array(runningMean.prefix(zoom)), color: color, width: 1.8)
    firstStd.scatter(first, Array(batchStd.prefix(zoom)), color: color, size: 5, edge: nil)
    firstStd.line(first, Array(runningStd.prefix(zoom)), label: "channel \(c + 1)", color: color, width: 1.8)
  }
  // The legends, outside the plots, name the channels only, so they cover no line; one on each row keeps the
  // rows' plots the same width.
  wholeStd.legend = .outsideRight
  firstStd.legend = .outsideRight
  return fig
}
// end figure

// figure: whitening
/// The stem's 12 fixed filters (2x2 RGB; the other 12 are their negatives), each on its own scale (grey = 0),
/// with its eigenvalue: how much of the patches' variance lies along it.
func whiteningFigure(_ stem: Conv2D, eigenvalues: [Double]) throws -> Figure {
  let fig = Figure(width: 960, height: 400, rows: 2, columns: 6, title: "Whitening: the first layer's 2×2 filters are the eigenvectors of the patches' covariance (λ: its variance)")
  fig.spacing = 6
  for k in 0..<12 {
    let w = stem.weight.data[(k * 12)..<((k + 1) * 12)].map(Double.init)
    let top = max(w.map(abs).max() ?? 1, 1e-12)
    let ax = fig.axes(k / 6, k % 6)
    ax.titleFontSize = 10
    ax.titleWeight = .regular
    ax.image(try ImageTile(rgbValues: w, width: 2, height: 2, layout: .planar, range: -top...top, caption: k < eigenvalues.count ? String(format: "λ%d = %.2g", k + 1, eigenvalues[k]) : "\(k + 1)"))
  }
  return fig
}
// end figure

// MARK: - The command

@main
struct FastCIFARLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "10-fast-cifar",
    abstract: "Lesson 10: CIFAR-10 to 90% test accuracy in minutes on two CPU cores, and what each trick adds.",
    discussion: "The data: --data DIR, else $CIFAR10_DIR, else data/cifar-10-batches-bin (make data extracts it there). Trains on all 50,000 training images; the test set is only scored.",
    version: NeuralLessons.version)

  @OptionGroup var options: LessonOptions

  @Option(name: .long, help: ArgumentHelp("Folder with data_batch_1..5.bin and test_batch.bin.", valueName: "dir"))
  var data: String?

  @Option(name: .long, help: "Epochs of the main run (fractions allowed; default 14, or 2 with --quick).")
  var epochs: Double?

  @Option(name: .long, help: "Channels of the three blocks, comma-separated.")
  var widths: String = "32,128,256"

  @Option(name: .long, help: "Batch size.")
  var batchSize: Int = 512

  @Option(name: .long, help: "Peak learning rate (for the mean loss of a batch).")
  var lr: Float = 0.75

  @Option(name: .long, help: "Epochs of each ablation run (0 skips the ablation; default 2, or 1 with --quick).")
  var ablationEpochs: Double?

  @Option(name: .long, help: "Channels of the three blocks in the ablation runs (a narrower network keeps them short).")
  var ablationWidths: String = "32,64,64"

  @Option(name: .long, help: "Use the first N training images only (default: all 50,000, or 1,024 with --quick).")
  var trainSubset: Int?

  @Option(name: .long, help: "Evaluate on the first N test images only (default: all 10,000, or 256 with --quick).")
  var testSubset: Int?

  @Option(name: .long, help: "Arithmetic of the 3x3 convolutions: bfloat16 (mixed precision: bfloat16 operands, float32 sums; float32 on processors without AVX512_BF16) or float32.")
  var precision: Precision = .bfloat16

  @Flag(name: .long, help: "Time each layer's forward and backward pass over a few batches, print the table and stop.")
  var profile = false

  func validate() throws {
    if let epochs, !(epochs > 0 && epochs <= 1000) { throw ValidationError("--epochs must be in (0, 1000], got \(epochs)") }
    if let a = ablationEpochs, !(a >= 0 && a <= 1000) { throw ValidationError("--ablation-epochs must be in [0, 1000], got \(a)") }
    guard FastCIFARLesson.parse(widths) != nil else { throw ValidationError("--widths must be three positive whole numbers up to 1024, such as 32,128,256; got '\(widths)'") }
    guard FastCIFARLesson.parse(ablationWidths) != nil else { throw ValidationError("--ablation-widths must be three positive whole numbers up to 1024, such as 32,64,64; got '\(ablationWidths)'") }
    guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 (batch normalisation needs two images), got \(batchSize)") }
    guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
    if let t = trainSubset, t < 2 { throw ValidationError("--train-subset must be at least 2, got \(t)") }
    if let t = testSubset, t < 1 { throw ValidationError("--test-subset must be at least 1, got \(t)") }
  }

  static func parse(_ widths: String) -> [Int]? {
    let parts = widths.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 1024 }) else { return nil }
    return parts.map { $0! }
  }

  func run() throws {
    let folder = CIFAR10.locate(data)
    let train = try CIFAR10.load(folder: folder, files: CIFAR10.trainFiles, limit: trainSubset ?? (options.quick ? 1024 : nil))
    let test = try CIFAR10.load(folder: folder, files: CIFAR10.testFiles, limit: testSubset ?? (options.quick ? 256 : nil))
    let lesson = try Lesson(name: "10-fast-cifar", options: options)
    var recipe = Recipe()
    recipe.widths = FastCIFARLesson.parse(widths)!
    recipe.epochs = epochs ?? (options.quick ? 2 : 14)
    recipe.batchSize = min(batchSize, train.count)
    recipe.learningRate = lr
    recipe.precision = precision
    lesson.say("CIFAR-10 from \(folder): \(train.count) training and \(test.count) test images")
    if profile {
      try profileLayers(recipe, train: train, seed: lesson.seed(1), say: lesson.say)
      return
    }

    // MARK: The network
    var rng = SeededGenerator(seed: lesson.seed(1))
    let shown = try makeNetwork(recipe, rng: &rng)
    // As in training: the stem's filters are computed from the data (whitening), not learned.
    if recipe.whitening { (shown.layers[0] as! Conv2D).weight.requiresGrad = false }
    lesson.say(try shown.summary(inputShape: [3, 32, 32]))
    // figure: network
    try lesson.save(try networkDiagram(shown), as: "network")
    // end figure

    // MARK: The budget: work per image, and where a step's time goes
    let flops = try forwardFLOPs(shown)
    lesson.say(String(format: "%.1f MFLOP per image forward; a training step (forward and backward) is about 3 times that", flops / 1e6))
    let shares = try profileLayers(recipe, train: train, seed: lesson.seed(1), say: { _ in })
    lesson.say("Share of a training step: " + shares.sorted { $0.value > $1.value }.map { String(format: "%@ %.0f%%", $0.key, 100 * $0.value) }.joined(separator: ", "))
    // What the cores can do at most: a loop of nothing but independent fused multiply-adds, on one thread and on all.
    // Measured again after training, and the better of the two kept: on a shared machine one try can find a
    // core taken (a start-up probe once read two cores' bfloat16 rate as one core's).
    func sayPeak(_ peak: (one: Double, all: Double, threads: Int, bfloat16: Double), _ when: String) {
      lesson.say(String(format: "FMA peak of this machine (%@): %.0f GFLOP/s on one thread, %.0f on %d", when, peak.one, peak.all, peak.threads)
        + (peak.bfloat16 > 0 ? String(format: "; bfloat16 dot products %.0f on %d", peak.bfloat16, peak.threads) : "; no bfloat16 instructions (the convolutions run in float32)"))
    }
    var peak = fmaPeak()
    sayPeak(peak, "before training")

    // MARK: The full recipe, timed
    // figure: accuracy-vs-time, schedule, batchnorm-statistics, whitening
    let main = try trainAndTest(recipe, train: train, test: test, seed: lesson.seed(1), measureCurve: true, progress: ProgressPrinter(), say: lesson.say)
    // end figure
    let model = main.model!
    // Test-time augmentation costs nothing to train: the same model scored with 1, 2 and 6 views of each image.
    var views: [(name: String, accuracy: Double, seconds: Double)] = []
    for (level, name) in [(0, "1 view"), (1, "2 views (mirror)"), (2, "6 views (mirror, shifts)")] {
      let t0 = DispatchTime.now().uptimeNanoseconds
      let accuracy = try evaluate(model, test, level: level).accuracy
      views.append((name, accuracy, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
    }
    lesson.say("Test-time augmentation: " + views.map { String(format: "%@ %.2f%% in %.1f s", $0.name, 100 * $0.accuracy, $0.seconds) }.joined(separator: ", "))

    // MARK: A common mistake: batch normalisation left in training mode at test time
    let mistake = try trainingModeMistake(model, test, count: min(1000, test.count))
    lesson.say(String(format: "The first %d test images one at a time: %.1f%% in evaluation mode, %.1f%% with batch normalisation left in training mode", mistake.count, 100 * mistake.evaluation, 100 * mistake.training))

    // MARK: The ablation: each trick removed in turn, in shorter runs
    // figure: ablation
    let ablationEpochs = self.ablationEpochs ?? (options.quick ? 1 : 2)
    var ablation: [(name: String, accuracy: Double, seconds: Double)] = []
    if ablationEpochs > 0 {
      var short = recipe
      short.epochs = ablationEpochs
      short.widths = FastCIFARLesson.parse(ablationWidths)!
      short.name = "full recipe"
      var variants = [short]
      for (name, change) in Recipe.ablations {
        var v = short
        v.name = name
        change(&v)
        variants.append(v)
      }
      for (k, v) in variants.enumerated() {
        lesson.say("Ablation \(k + 1)/\(variants.count): \(v.name), \(v.epochs) epochs")
        let r = try trainAndTest(v, train: train, test: test, seed: lesson.seed(1), measureCurve: false, progress: ProgressPrinter(every: 1000), say: lesson.say)
        ablation.append((v.name, r.testAccuracy, r.wallSeconds))
      }
    }
    // end figure

    // MARK: Figures
    // figure: accuracy-vs-time
    let lesson6 = try? Lesson6Run.read(from: (lesson.folder as NSString).deletingLastPathComponent + "/06-cnn-cifar10")
    try lesson.save(try accuracyFigure(main, lesson6: lesson6), as: "accuracy-vs-time")
    // end figure
    // figure: ablation
    if !ablation.isEmpty { try lesson.save(try ablationFigure(ablation, epochs: ablationEpochs), as: "ablation") }
    // end figure
    // figure: schedule
    try lesson.save(try scheduleFigure(main), as: "schedule")
    // end figure
    // figure: batchnorm-statistics
    try lesson.save(try batchNormFigure(main), as: "batchnorm-statistics")
    // end figure
    // figure: whitening
    try lesson.save(try whiteningFigure(model.layers[0] as! Conv2D, eigenvalues: main.eigenvalues), as: "whitening")
    // end figure

    // MARK: Summary
    let later = fmaPeak()
    sayPeak(later, "after")
    peak = (max(peak.one, later.one), max(peak.all, later.all), peak.threads, max(peak.bfloat16, later.bfloat16))
    lesson.summary["test_accuracy"] = .number(main.testAccuracy)
    lesson.summary["plain_test_accuracy"] = .number(main.plainTestAccuracy)
    lesson.summary["wall_seconds"] = .number(main.wallSeconds)
    lesson.summary["wall_minutes"] = .number(main.wallSeconds / 60)
    lesson.summary["training_seconds"] = .number(main.trainingSeconds)
    lesson.summary["epoch_seconds"] = .number(main.epochSeconds.reduce(0, +) / Double(max(main.epochSeconds.count, 1)))
    lesson.summary["epochs"] = .number(recipe.epochs)
    lesson.summary["batch_size"] = .number(Double(recipe.batchSize))
    lesson.summary["learning_rate"] = .number(Double(recipe.learningRate))
    lesson.summary["seed"] = .number(Double(options.seed))
    lesson.summary["parameters"] = .number(Double(model.parameterCount))
    lesson.summary["forward_mflop_per_image"] = .number(flops / 1e6)
    lesson.summary["training_gflops"] = .number(3 * flops * Double(train.count) * recipe.epochs / main.trainingSeconds / 1e9)
    lesson.summary["step_time_share"] = .object(shares.mapValues { .number($0) })
    lesson.summary["fma_peak_gflops_one_thread"] = .number(peak.one)
    lesson.summary["fma_peak_gflops"] = .number(peak.all)
    lesson.summary["bfloat16_peak_gflops"] = .number(peak.bfloat16)
    let bfloat16 = recipe.precision == .bfloat16 && Precision.bfloat16.isNative
    lesson.summary["bfloat16_native"] = .bool(bfloat16)
    // Against the peak of the arithmetic the convolutions ran in (bfloat16 dot products where they did).
    lesson.summary["training_share_of_peak"] = .number(3 * flops * Double(train.count) * recipe.epochs / main.trainingSeconds / 1e9 / (bfloat16 ? peak.bfloat16 : peak.all))
    lesson.summary["whitening_seconds"] = .number(main.whiteningSeconds)
    lesson.summary["averaging_seconds"] = .number(main.averagingSeconds)
    lesson.summary["test_time_augmentation"] = .object(Dictionary(uniqueKeysWithValues: zip(["views_1", "views_2", "views_6"], views.map {
      SummaryValue.object(["accuracy": .number($0.accuracy), "seconds": .number($0.seconds)]) })))
    lesson.summary["mistake_images"] = .number(Double(mistake.count))
    lesson.summary["mistake_evaluation_mode_accuracy"] = .number(mistake.evaluation)
    lesson.summary["mistake_training_mode_accuracy"] = .number(mistake.training)
    lesson.summary["ablation_epochs"] = .number(ablationEpochs)
    lesson.summary["ablation_widths"] = .list(FastCIFARLesson.parse(ablationWidths)!.map { .number(Double($0)) })
    lesson.summary["ablation"] = .object(Dictionary(uniqueKeysWithValues: ablation.map { a in
      (a.name.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_"), SummaryValue.object(["accuracy": .number(a.accuracy), "seconds": .number(a.seconds)])) }))
    // Lesson 6's numbers when its output is there (in quick runs, zeros: the comparison is left out).
    lesson.summary["lesson6_test_accuracy"] = .number(lesson6?.testAccuracy ?? 0)
    lesson.summary["lesson6_minutes"] = .number((lesson6?.seconds.last ?? 0) / 60)
    lesson.summary["widths"] = .list(recipe.widths.map { .number(Double($0)) })
    let rss = peakResidentBytes() ?? 0
    lesson.summary["peak_rss_bytes"] = .number(rss)
    lesson.summary["peak_rss_gb"] = .number(rss / 1e9)
    try lesson.writeHistory(trainLoss: main.trainLoss, trainAccuracy: main.trainAccuracy.map { Optional($0) }, validationAccuracy: main.curve.map { Optional($0.1) }, epochSeconds: main.epochSeconds.map { Optional($0) })
    try lesson.finish()
  }


}

extension Precision: ExpressibleByArgument {}
