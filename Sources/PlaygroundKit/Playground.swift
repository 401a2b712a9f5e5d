import Datasets
import Foundation
import LessonKit
import Networks
import Plotting
import Tensors

/// The course's playground, in the manner of TensorFlow Playground: a small network trained on a 2-D data set,
/// drawn as frames (the network with its weights, the decision boundary over the points, the loss so far) at a
/// few epochs, for every combination of data set, activation, hidden layers and learning rate. The site shows
/// the frames with a scrubber; every frame is computed by the engine and drawn by the plotting library when the
/// site is built, so the page needs no server.
public enum Playground {
  /// One point of the grid of settings.
  public struct Setting: Hashable, Sendable {
    public let dataset: String
    /// "linear" when there is no hidden layer (no activation is used).
    public let activation: String
    public let hidden: [Int]
    public let learningRate: Float

    public init(dataset: String, activation: String, hidden: [Int], learningRate: Float) {
      self.dataset = dataset
      self.activation = activation
      self.hidden = hidden
      self.learningRate = learningRate
    }

    /// The frames' file stem: `circle-tanh-4-lr0.3`.
    public var id: String {
      let layers = hidden.isEmpty ? "none" : hidden.map(String.init).joined(separator: "x")
      return "\(dataset)-\(activation)-\(layers)-lr\(Playground.format(learningRate))"
    }
  }

  public static let datasets = ["circle", "xor", "blobs", "spiral"]
  public static let activations = ["tanh", "relu", "sigmoid"]
  public static let architectures: [[Int]] = [[], [4], [8, 8]]
  public static let learningRates: [Float] = [0.03, 0.3, 3]
  /// The epochs a frame is drawn at (0: before training).
  public static let frameEpochs = [0, 2, 5, 10, 20, 40, 70, 120, 200, 300]
  /// Points per data set and the mini-batch size (TF Playground's default is 10).
  public static let pointCount = 200
  public static let batchSize = 10
  /// The frame a page shows without scripts (and selects at first).
  public static let defaultSetting = Setting(dataset: "circle", activation: "tanh", hidden: [4], learningRate: 0.3)

  /// Every setting; without hidden layers the activation plays no part, so those settings appear once, as "linear".
  public static var settings: [Setting] {
    var out: [Setting] = []
    for d in datasets {
      for h in architectures {
        for a in (h.isEmpty ? ["linear"] : activations) {
          for lr in learningRates { out.append(Setting(dataset: d, activation: a, hidden: h, learningRate: lr)) }
        }
      }
    }
    return out
  }

  static func format(_ lr: Float) -> String { String(format: "%g", Double(lr)) }

  /// The data set, the same for every setting that uses it: two classes, 0 and 1.
  public static func data(_ name: String, seed: UInt64 = 7) throws -> PointSet {
    switch name {
    case "circle": return try Toy2D.circles(count: pointCount, noise: 0.08, factor: 0.45, seed: seed)
    case "xor": return try Toy2D.xor(copies: pointCount / 4, noise: 0.35, seed: seed)
    case "blobs": return try Toy2D.blobs(count: pointCount, centers: [(-1, -1), (1, 1)], spread: 0.55, seed: seed)
    case "spiral": return try Toy2D.spirals(count: pointCount, noise: 0.04, turns: 1.25, seed: seed)
    default: throw TrainingError.badData("unknown playground data set '\(name)' (one of \(datasets.joined(separator: ", ")))")
    }
  }

  static func activation(_ name: String) -> ActivationKind {
    switch name {
    case "relu": return .relu
    case "sigmoid": return .sigmoid
    default: return .tanh
    }
  }

  /// Trains the setting's network and draws a frame at each of `epochs` (which must be sorted; 0 is before
  /// training). The same setting and seed give the same frames.
  public static func frames(_ setting: Setting, epochs: [Int] = frameEpochs, seed: UInt64 = 42) throws -> [Figure] {
    let data = try data(setting.dataset)
    var rng = SeededGenerator(seed: seed)
    var layers: [Layer] = []
    var width = 2
    for h in setting.hidden {
      layers.append(try Dense(width, h, initializer: setting.activation == "relu" ? .heNormal : .xavierUniform, rng: &rng))
      layers.append(Activation(activation(setting.activation)))
      width = h
    }
    layers.append(try Dense(width, 1, initializer: .xavierUniform, rng: &rng))
    let model = Sequential(layers)
    let last = epochs.last ?? 0
    // The loss at epoch 0, then one value per epoch.
    var losses: [Double] = [try lossOf(model, data)]
    var figures: [Figure] = []
    if epochs.first == 0 { figures.append(try frame(setting, model: model, data: data, epoch: 0, losses: losses, lastEpoch: last)) }
    guard last > 0 else { return figures }
    var stopped = false
    let trainer = Trainer(
      loss: .binaryCrossEntropyWithLogits, optimizer: try SGD(model.parameters, learningRate: setting.learningRate), epochs: last,
      batchSize: batchSize, seed: seed &+ 1, progress: ProgressPrinter(mode: .silent),
      onEpochEnd: { report in
        losses.append(report.history.trainLoss[report.epoch - 1])
        if epochs.contains(report.epoch) {
          figures.append(try frame(setting, model: report.model, data: data, epoch: report.epoch, losses: losses, lastEpoch: last))
        }
      })
    do { _ = try trainer.fit(model, x: data.x, y: data.targets) } catch TrainingError.diverged { stopped = true }
    // A run that diverged shows its last frame again for the epochs it did not reach, saying so.
    while figures.count < epochs.count, stopped {
      let f = try frame(setting, model: nil, data: data, epoch: epochs[figures.count], losses: losses, lastEpoch: last)
      figures.append(f)
    }
    return figures
  }

  static func lossOf(_ model: Sequential, _ data: PointSet) throws -> Double {
    let loss: LossFunction = .binaryCrossEntropyWithLogits
    return try Tensor.withoutGrad { Double(try loss(try model(data.x), data.targets).item) }
  }

  /// One frame: the network with its weights, the decision boundary over the points, the loss so far.
  static func frame(_ s: Setting, model: Sequential?, data: PointSet, epoch: Int, losses: [Double], lastEpoch: Int) throws -> Figure {
    let fig = Figure(width: 780, height: 280, columns: 3)
    fig.printsWarnings = false
    fig.compactPNG = true
    let sizes = [2] + s.hidden + [1]
    let diagram = fig.diagram(0, 0)
    let boundary = fig.axes(0, 1)
    let lossAxes = fig.axes(0, 2)
    let x = -1.9...1.9, y = -1.9...1.9
    // Short column names (four columns share a third of the frame: "sigmoid" under each ran into its neighbour);
    // the activation goes in the diagram's title.
    let names = ["in"] + s.hidden.indices.map { "h\($0 + 1)" } + ["out"]
    diagram.title = s.hidden.isEmpty ? "one neuron (no hidden layer)" : "hidden units: \(s.activation == "relu" ? "ReLU" : s.activation)"
    if let model {
      let dense = model.layers.compactMap { $0 as? Dense }
      // Dense weights are [inputs, outputs]; the diagram wants outputs x inputs.
      let weights = dense.map { d in
        (0..<d.weight.shape[1]).map { o in (0..<d.weight.shape[0]).map { i in Double(d.weight.data[i * d.weight.shape[1] + o]) } }
      }
      diagram.mlp(layerSizes: sizes, weights: weights, layerNames: names, nodeLabels: false)
      let resolution = 48
      let grid = try Lesson.probabilityGrid(x: x, y: y, resolution: resolution, probability: Lesson.sigmoidOutput(model))
      // Probabilities in steps of 0.1, drawn as cells: the frames stay small (PNG packs runs of one colour)
      // while the boundary and the model's confidence still read at a glance.
      let stepped = grid.map { ($0 * 10).rounded() / 10 }
      boundary.heatmap(stepped, rows: resolution, columns: resolution, x: x, y: y, colormap: .orangeBlue, range: 0...1, smooth: false, opacity: 0.62)
    } else {
      diagram.mlp(layerSizes: sizes, layerNames: names, nodeLabels: false)
      boundary.text("diverged: try a smaller learning rate", x: 0, y: 0, size: 12, anchor: .center, baseline: .middle)
    }
    boundary.scatter(data.xs, data.ys, classes: data.labels, classNames: nil, size: 4.5)
    boundary.xLimits = x
    boundary.yLimits = y
    boundary.equalAspect = true
    boundary.showsGrid = false
    boundary.title = "epoch \(epoch)"
    let shown = Array(losses.prefix(epoch + 1))
    lossAxes.line((0..<shown.count).map(Double.init), shown, color: Color(hex: 0x0877bd))
    lossAxes.xLimits = 0...Double(max(lastEpoch, 1))
    lossAxes.yLimits = 0...max(1.0, (losses.filter(\.isFinite).max() ?? 1) * 1.05)
    lossAxes.title = "training loss " + (shown.last.map { String(format: "%.3f", $0) } ?? "")
    lossAxes.xLabel = "epoch"
    return fig
  }
}
