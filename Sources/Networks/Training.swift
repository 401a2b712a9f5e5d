import Foundation
import Tensors

/// Per-epoch metrics of a training run.
public struct History: Codable, Equatable, Sendable {
  public var trainLoss: [Double] = []
  public var trainAccuracy: [Double?] = []
  public var validationLoss: [Double?] = []
  public var validationAccuracy: [Double?] = []
  /// Wall time of each epoch in seconds (training and validation).
  public var epochSeconds: [Double] = []
  /// The part of each epoch's time spent on validation (0 without a validation set).
  public var validationSeconds: [Double] = []
  public var epochs: Int { trainLoss.count }
  public init() {}

  enum CodingKeys: String, CodingKey {
    case trainLoss, trainAccuracy, validationLoss, validationAccuracy, epochSeconds, validationSeconds
  }

  /// Decodes histories saved before `validationSeconds` existed too (as zeros).
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    trainLoss = try c.decode([Double].self, forKey: .trainLoss)
    trainAccuracy = try c.decode([Double?].self, forKey: .trainAccuracy)
    validationLoss = try c.decode([Double?].self, forKey: .validationLoss)
    validationAccuracy = try c.decode([Double?].self, forKey: .validationAccuracy)
    epochSeconds = try c.decode([Double].self, forKey: .epochSeconds)
    validationSeconds = try c.decodeIfPresent([Double].self, forKey: .validationSeconds) ?? [Double](repeating: 0, count: epochSeconds.count)
    // One entry per epoch in every list: a history whose lists differ in length is damaged (and would index
    // past the end of the shorter ones when plotted or resumed).
    let lengths = [trainLoss.count, trainAccuracy.count, validationLoss.count, validationAccuracy.count, epochSeconds.count, validationSeconds.count]
    guard Set(lengths).count == 1 else {
      throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the history's lists have unequal lengths \(lengths) (train loss, train accuracy, validation loss, validation accuracy, epoch seconds, validation seconds)"))
    }
    guard trainLoss.allSatisfy(\.isFinite), epochSeconds.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
      throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the history holds a non-finite loss or a negative time"))
    }
  }

  /// Decodes a history saved as JSON (as checkpoints store it), with one line saying what is wrong when it is
  /// not one: unreadable JSON, a missing list, or lists of unequal lengths.
  public static func decode(json: String) throws -> History {
    do {
      return try JSONDecoder().decode(History.self, from: Data(json.utf8))
    } catch DecodingError.dataCorrupted(let context) {
      throw HistoryError(description: context.debugDescription.isEmpty ? "the history is not valid JSON" : context.debugDescription)
    } catch DecodingError.keyNotFound(let key, _) {
      throw HistoryError(description: "the history lacks its '\(key.stringValue)' list")
    } catch {
      throw HistoryError(description: "the history is not a training history (\(error))")
    }
  }
}

/// Why a saved training history cannot be used.
public struct HistoryError: Error, CustomStringConvertible, Equatable {
  public let description: String
}

/// Why training stopped early.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  /// The loss became NaN or infinite.
  case diverged(epoch: Int, batch: Int, loss: Float, learningRate: Float)
  /// The data cannot be trained on (with the reason).
  case badData(String)

  public var description: String {
    switch self {
    case .diverged(let e, let b, let loss, let lr):
      return "training diverged at epoch \(e), batch \(b): the loss is \(loss); try a smaller learning rate than \(lr)"
    case .badData(let m): return m
    }
  }
}

extension TrainingError: LocalizedError {
  public var errorDescription: String? { description }
}

/// Samples the training loop can draw batches from, one batch at a time (so a large data set can stay
/// compact, as CIFAR-10 stays as bytes).
public protocol TrainingData {
  /// The number of samples.
  var count: Int { get }
  /// Inputs and targets of the samples at `indices`; `training` allows augmentation.
  func batch(_ indices: [Int], training: Bool) throws -> (x: Tensor, y: Tensor)
}

/// Inputs and targets already in memory as two tensors with the samples on their first axis.
public struct TensorData: TrainingData {
  public let x: Tensor
  public let y: Tensor
  public init(x: Tensor, y: Tensor) throws {
    guard x.rank >= 1, y.rank >= 1, x.shape[0] == y.shape[0], x.shape[0] > 0 else {
      throw TrainingError.badData("inputs \(x.shape) and targets \(y.shape) need the same, non-zero number of samples on their first axis")
    }
    self.x = x
    self.y = y
  }
  public var count: Int { x.shape[0] }
  public func batch(_ indices: [Int], training: Bool) throws -> (x: Tensor, y: Tensor) {
    (try x.gatherRows(indices), try y.gatherRows(indices))
  }
}

/// What an epoch-end hook sees.
public struct EpochReport {
  /// 1-based.
  public let epoch: Int
  public let history: History
  public let model: Sequential
}

/// The training loop: epochs of shuffled mini-batches, per-epoch metrics, progress, hooks and divergence
/// detection.
public struct Trainer {
  public var loss: LossFunction
  public var optimizer: Optimizer
  public var epochs: Int
  public var batchSize: Int
  /// Seeds the shuffling, so a seed gives the same batches every run.
  public var seed: UInt64
  public var shuffle = true
  public var progress: ProgressPrinter
  /// Called after each epoch (snapshots of a decision boundary, checkpoints). Throwing stops training.
  public var onEpochEnd: ((EpochReport) throws -> Void)?

  public init(loss: LossFunction, optimizer: Optimizer, epochs: Int, batchSize: Int = 32, seed: UInt64 = 0, progress: ProgressPrinter = ProgressPrinter(), onEpochEnd: ((EpochReport) throws -> Void)? = nil) {
    self.loss = loss
    self.optimizer = optimizer
    self.epochs = epochs
    self.batchSize = batchSize
    self.seed = seed
    self.progress = progress
    self.onEpochEnd = onEpochEnd
  }

  /// Trains `model` on inputs `x` ([samples, ...]) and targets `y` ([samples, ...]); `validation` is scored
  /// after each epoch without gradients.
  public func fit(_ model: Sequential, x: Tensor, y: Tensor, validation: (x: Tensor, y: Tensor)? = nil) throws -> History {
    try fit(model, data: try TensorData(x: x, y: y), validation: try validation.map { try TensorData(x: $0.x, y: $0.y) })
  }

  /// Trains `model` on batches drawn from `data`. With `resumeFrom`, training continues after that history's
  /// last epoch with the same batches an uninterrupted run would have drawn.
  public func fit(_ model: Sequential, data: TrainingData, validation: TrainingData? = nil, resumeFrom: History? = nil) throws -> History {
    guard epochs > 0 else { throw TrainingError.badData("epochs must be at least 1, got \(epochs)") }
    guard batchSize > 0 else { throw TrainingError.badData("the batch size must be at least 1, got \(batchSize)") }
    let n = data.count
    guard n > 0 else { throw TrainingError.badData("there are no training samples") }
    // A batch larger than the data is the whole data (and a batch size near Int.max cannot overflow below).
    let batchSize = Swift.min(self.batchSize, n)
    let batches = (n + batchSize - 1) / batchSize
    // Weights or optimizer state that are already NaN or infinite (a damaged checkpoint) would "diverge" on
    // the first batch, and the learning rate would be blamed.
    if let bad = model.namedParameters.first(where: { $0.1.data.contains { !$0.isFinite } }) {
      throw TrainingError.badData("the model's '\(bad.0)' holds NaN or infinite values before training starts: the weights it was loaded from are damaged")
    }
    if let adam = optimizer as? Adam, adam.m.contains(where: { $0.contains { !$0.isFinite } }) || adam.v.contains(where: { $0.contains { !$0.isFinite } }) {
      throw TrainingError.badData("Adam's moment estimates hold NaN or infinite values before training starts: the state they were loaded from is damaged")
    }
    var rng = SeededGenerator(seed: seed)
    var history = resumeFrom ?? History()
    let first = history.epochs + 1
    // Draw the orders of the epochs already done, so the batches match an uninterrupted run.
    for _ in 1..<first where shuffle { _ = rng.permutation(n) }
    guard first <= epochs else { return history }
    for epoch in first...epochs {
      progress.epochStarted(epoch, of: epochs)
      let start = DispatchTime.now().uptimeNanoseconds
      let order = shuffle ? rng.permutation(n) : Array(0..<n)
      var lossSum = 0.0, correct = 0, counted = 0, hasAccuracy = true
      for b in 0..<batches {
        let idx = Array(order[(b * batchSize)..<min(n, (b + 1) * batchSize)])
        let (xb, yb) = try data.batch(idx, training: true)
        optimizer.zeroGrad()
        let out = try model.forward(xb.detached(), training: true)
        let l = try loss(out, yb.detached())
        guard l.item.isFinite else {
          throw TrainingError.diverged(epoch: epoch, batch: b + 1, loss: l.item, learningRate: optimizer.learningRate)
        }
        try l.backward()
        optimizer.step()
        lossSum += Double(l.item) * Double(idx.count)
        if let c = try loss.correct(out, yb) { correct += c } else { hasAccuracy = false }
        counted += idx.count
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var metrics = [("loss", lossSum / Double(counted))]
        if hasAccuracy { metrics.append(("accuracy", Double(correct) / Double(counted))) }
        progress.batchFinished(b + 1, of: batches, elapsed: elapsed, metrics: metrics)
      }
      history.trainLoss.append(lossSum / Double(n))
      history.trainAccuracy.append(hasAccuracy ? Double(correct) / Double(n) : nil)
      let validationStart = DispatchTime.now().uptimeNanoseconds
      if let validation {
        let (vl, va) = try evaluate(model, data: validation)
        history.validationLoss.append(vl)
        history.validationAccuracy.append(va)
      } else {
        history.validationLoss.append(nil)
        history.validationAccuracy.append(nil)
      }
      history.validationSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - validationStart) / 1e9)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      history.epochSeconds.append(seconds)
      let e = history.epochs - 1
      var metrics: [(String, Double)] = [("loss", history.trainLoss[e])]
      if let a = history.trainAccuracy[e] { metrics.append(("accuracy", a)) }
      if let v = history.validationLoss[e] { metrics.append(("val_loss", v)) }
      if let v = history.validationAccuracy[e] { metrics.append(("val_accuracy", v)) }
      progress.epochFinished(epoch, of: epochs, batches: batches, elapsed: seconds, metrics: metrics)
      try onEpochEnd?(EpochReport(epoch: epoch, history: history, model: model))
    }
    return history
  }

  /// Loss and accuracy (nil for regression losses) of `model` on a data set, without gradients, in batches.
  public func evaluate(_ model: Sequential, x: Tensor, y: Tensor) throws -> (loss: Double, accuracy: Double?) {
    try evaluate(model, data: try TensorData(x: x, y: y))
  }

  /// Loss and accuracy of `model` on `data`, without gradients, in batches of at least 256.
  public func evaluate(_ model: Sequential, data: TrainingData) throws -> (loss: Double, accuracy: Double?) {
    let n = data.count
    guard n > 0 else { throw TrainingError.badData("there are no samples to evaluate") }
    return try Tensor.withoutGrad {
      var lossSum = 0.0, correct = 0, hasAccuracy = true
      var start = 0
      while start < n {
        let idx = Array(start..<(start + min(n - start, max(batchSize, 256))))
        let (xb, yb) = try data.batch(idx, training: false)
        let out = try model.forward(xb, training: false)
        lossSum += Double(try loss(out, yb).item) * Double(idx.count)
        if let c = try loss.correct(out, yb) { correct += c } else { hasAccuracy = false }
        start += idx.count
      }
      return (lossSum / Double(n), hasAccuracy ? Double(correct) / Double(n) : nil)
    }
  }
}
