import Foundation
import Plotting

/// One example figure of every plot kind and diagram: the visual spec of the plotting library, rendered by
/// `make gallery` and used as the figure regression tests' baselines.
public enum Gallery {
  /// The examples by name, in the order they are shown.
  public static let examples: [(name: String, make: @Sendable () -> Figure)] = [
    ("line", line),
    ("line-styles", lineStyles),
    ("band", band),
    ("log-axes", logAxes),
    ("scatter", scatter),
    ("heatmap", heatmap),
    ("decision-boundary", decisionBoundary),
    ("contour", contour),
    ("bars", bars),
    ("histogram", histogram),
    ("image-grid", imageGrid),
    ("confusion-matrix", confusionMatrix),
    ("annotations", annotations),
    ("diagram", diagram),
    ("mlp", mlp),
    ("cnn-volumes", cnnVolumes),
    ("subplots", subplots),
  ]

  // MARK: - Examples

  /// Five series of 1,000 points with title, labels, legend and grid: also the benchmark figure.
  public static func line() -> Figure {
    let fig = Figure(width: 800, height: 600)
    let ax = fig.axes
    ax.title = "Five damped waves"
    ax.xLabel = "time t (s)"
    ax.yLabel = "amplitude"
    let x = (0..<1000).map { Double($0) / 100 }
    for k in 0..<5 {
      let y = x.map { t in exp(-t / Double(4 + 2 * k)) * sin(t * Double(k + 1) * 0.9 + Double(k)) }
      ax.line(x, y, label: "wave \(k + 1)")
    }
    return fig
  }

  static func lineStyles() -> Figure {
    let fig = Figure(width: 640, height: 420)
    let ax = fig.axes
    ax.title = "Dash styles and markers"
    ax.xLabel = "x"
    ax.yLabel = "y"
    let x = (0...12).map(Double.init)
    let styles: [(Dash, Marker, String)] = [(.solid, .circle, "solid, circles"), (.dashed, .square, "dashed, squares"), (.dotted, .triangle, "dotted, triangles"), (.dashDot, .diamond, "dash-dot, diamonds")]
    for (i, s) in styles.enumerated() {
      ax.line(x, x.map { sqrt($0) * Double(i + 1) * 0.8 }, label: s.2, width: 1.8, dash: s.0, marker: s.1)
    }
    ax.line(x, x.map { 12 - $0 * 0.5 }, label: "crosses", width: 1, marker: .cross, markerSize: 7)
    return fig
  }

  static func band() -> Figure {
    let fig = Figure(width: 640, height: 420)
    let ax = fig.axes
    ax.title = "Training loss over 5 seeds: mean ± std"
    ax.xLabel = "epoch"
    ax.yLabel = "loss"
    var rng = GalleryRandom(seed: 7)
    let x = (0..<50).map(Double.init)
    for (name, rate) in [("lr = 0.01", 0.05), ("lr = 0.1", 0.15)] {
      let runs = (0..<5).map { _ in x.map { e in 2.3 * exp(-rate * e) + 0.1 + 0.08 * rng.normal() * exp(-rate * e / 2) } }
      let mean = x.indices.map { i in runs.map { $0[i] }.reduce(0, +) / 5 }
      let std = x.indices.map { i in sqrt(runs.map { pow($0[i] - mean[i], 2) }.reduce(0, +) / 5) }
      ax.lineWithBand(x, mean: mean, spread: std, label: name)
    }
    return fig
  }

  static func logAxes() -> Figure {
    let fig = Figure(width: 900, height: 400, columns: 2)
    let a = fig.axes(0, 0)
    a.title = "Loss on a log scale"
    a.xLabel = "step"
    a.yLabel = "loss"
    a.yScale = .log
    let steps = (1...2000).map(Double.init)
    a.line(steps, steps.map { 5 * pow($0, -1.2) + 1e-4 }, label: "SGD")
    a.line(steps, steps.map { 3 * exp(-$0 / 150) + 2e-5 }, label: "Adam")
    let b = fig.axes(0, 1)
    b.title = "GFLOP/s against size (log-log)"
    b.xLabel = "n"
    b.yLabel = "GFLOP/s"
    b.xScale = .log
    b.yScale = .log
    let n = [64.0, 128, 256, 512, 1024, 2048]
    b.line(n, n.map { 1.2 + 0 * $0 }, label: "naive", marker: .circle)
    b.line(n, n.map { 160 * (1 - exp(-$0 / 200)) }, label: "blocked", marker: .square)
    b.horizontalLine(at: 185, label: "peak")
    return fig
  }

  static func scatter() -> Figure {
    let fig = Figure(width: 560, height: 500)
    let ax = fig.axes
    ax.title = "Three Gaussian blobs"
    ax.xLabel = "x₁"
    ax.yLabel = "x₂"
    ax.equalAspect = true
    var rng = GalleryRandom(seed: 3)
    var xs: [Double] = [], ys: [Double] = [], cs: [Int] = [], sizes: [Double] = []
    let centres = [(-2.0, 0.0), (2.0, 1.0), (0.0, 3.0)]
    for (c, centre) in centres.enumerated() {
      for _ in 0..<60 {
        xs.append(centre.0 + 0.8 * rng.normal())
        ys.append(centre.1 + 0.8 * rng.normal())
        cs.append(c)
        sizes.append(5 + 5 * rng.uniform())
      }
    }
    ax.scatter(xs, ys, classes: cs, classNames: ["class A", "class B", "class C"], sizes: sizes)
    return fig
  }

  static func heatmap() -> Figure {
    let fig = Figure(width: 600, height: 480)
    let ax = fig.axes
    ax.title = "sin(x)·cos(y)"
    ax.xLabel = "x"
    ax.yLabel = "y"
    let n = 60
    let xs = cellCenters(-3...3, count: n), ys = cellCenters(-3...3, count: n)
    let v = ys.flatMap { y in xs.map { x in sin(x) * cos(y) } }
    ax.heatmap(v, rows: n, columns: n, x: -3...3, y: -3...3, colormap: .viridis, colorbar: "value")
    ax.equalAspect = true
    return fig
  }

  static func decisionBoundary() -> Figure {
    let fig = Figure(width: 560, height: 520)
    let ax = fig.axes
    ax.title = "Decision regions of a classifier"
    ax.xLabel = "x₁"
    ax.yLabel = "x₂"
    ax.equalAspect = true
    let n = 80
    let xs = cellCenters(-1.5...2.5, count: n), ys = cellCenters(-1...1.5, count: n)
    func margin(_ x: Double, _ y: Double) -> Double { y - 0.6 * sin(2.2 * x) + 0.2 - 0.25 * x }
    let p: [Double] = ys.flatMap { y in xs.map { x in 1 / (1 + exp(-6 * margin(x, y))) } }
    ax.decisionRegions(p, rows: n, columns: n, x: -1.5...2.5, y: -1...1.5, colorbar: true)
    ax.contour(p, rows: n, columns: n, x: -1.5...2.5, y: -1...1.5, levels: [0.5], color: .ink, labels: false, width: 1.5)
    var rng = GalleryRandom(seed: 11)
    var px: [Double] = [], py: [Double] = [], pc: [Int] = []
    for _ in 0..<120 {
      let x = -1.4 + 3.8 * rng.uniform(), y = -0.9 + 2.3 * rng.uniform()
      let m = margin(x, y)
      guard abs(m) > 0.08 else { continue }
      px.append(x); py.append(y); pc.append(m > 0 ? 1 : 0)
    }
    ax.scatter(px, py, classes: pc, classNames: ["class 0", "class 1"], size: 7)
    return fig
  }

  static func contour() -> Figure {
    let fig = Figure(width: 620, height: 520)
    let ax = fig.axes
    ax.title = "Rosenbrock: contours of log₁₀(1 + f)"
    ax.xLabel = "w₁"
    ax.yLabel = "w₂"
    let n = 120
    let xs = cellCenters(-2...2, count: n), ys = cellCenters(-1...3, count: n)
    let v = ys.flatMap { y in xs.map { x in log10(1 + pow(1 - x, 2) + 100 * pow(y - x * x, 2)) } }
    ax.contour(v, rows: n, columns: n, x: -2...2, y: -1...3, levelCount: 9)
    ax.scatter([1], [1], label: "minimum (1, 1)", color: Color(hex: 0xd55e00), size: 10, marker: .plus, edge: nil)
    return fig
  }

  static func bars() -> Figure {
    let fig = Figure(width: 760, height: 440)
    let ax = fig.axes
    ax.title = "Test accuracy by optimizer (mean ± std over 5 seeds)"
    ax.yLabel = "accuracy (%)"
    let cats = ["SGD", "Momentum", "Nesterov", "RMSProp", "Adam"]
    ax.bars(categories: cats, series: [
      BarSeries("MLP", values: [88.1, 91.3, 91.6, 92.4, 93.0], errors: [1.2, 0.8, 0.7, 0.9, 0.5]),
      BarSeries("CNN", values: [61.5, 66.2, 66.8, 67.9, 69.1], errors: [2.1, 1.4, 1.1, 1.6, 0.9]),
    ])
    return fig
  }

  static func histogram() -> Figure {
    let fig = Figure(width: 640, height: 420)
    let ax = fig.axes
    ax.title = "Weights at initialisation"
    ax.xLabel = "weight"
    ax.yLabel = "count"
    var rng = GalleryRandom(seed: 5)
    ax.histogram((0..<3000).map { _ in rng.normal() * 0.5 }, label: "He (σ = 0.5)")
    ax.histogram((0..<3000).map { _ in (rng.uniform() * 2 - 1) * 0.6 }, label: "Xavier uniform")
    return fig
  }

  static func imageGrid() -> Figure {
    var tiles: [ImageTile] = []
    let names = ["gradient", "checker", "rings", "stripes", "noise", "filter"]
    var rng = GalleryRandom(seed: 9)
    for (k, name) in names.enumerated() {
      var rgb = [UInt8](repeating: 0, count: 3 * 32 * 32)
      for y in 0..<32 {
        for x in 0..<32 {
          let i = y * 32 + x
          let v: (Double, Double, Double)
          switch k {
          case 0: v = (Double(x) / 31, Double(y) / 31, 0.5)
          case 1: v = ((x / 4 + y / 4) % 2 == 0 ? (0.9, 0.9, 0.9) : (0.1, 0.2, 0.5))
          case 2: let r = hypot(Double(x) - 15.5, Double(y) - 15.5); v = (0.5 + 0.5 * sin(r), 0.3, 0.5 - 0.5 * sin(r))
          case 3: v = (x % 8 < 4 ? (0.9, 0.4, 0.1) : (0.2, 0.6, 0.3))
          case 4: v = (rng.uniform(), rng.uniform(), rng.uniform())
          default: let g = exp(-(pow(Double(x) - 15.5, 2) + pow(Double(y) - 15.5, 2)) / 60); v = (g, g * 0.5, 1 - g)
          }
          // CIFAR-10 order: all red, then green, then blue.
          rgb[i] = UInt8(v.0 * 255); rgb[1024 + i] = UInt8(v.1 * 255); rgb[2048 + i] = UInt8(v.2 * 255)
        }
      }
      tiles.append(try! ImageTile(rgb: rgb, width: 32, height: 32, layout: .planar, caption: name))
    }
    let grey = (0..<64).map { Double(($0 % 8) * ($0 / 8)) }
    tiles.append(try! ImageTile(gray: grey, width: 8, height: 8, caption: "grey 8x8"))
    tiles.append(try! ImageTile(gray: grey, width: 8, height: 8, colormap: .viridis, caption: "viridis 8x8"))
    return Figure.imageGrid(tiles, columns: 4, tileSize: 110, title: "Image grid: RGB and grey tiles")
  }

  static func confusionMatrix() -> Figure {
    let classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    var rng = GalleryRandom(seed: 21)
    let m: [[Double]] = (0..<10).map { i in
      (0..<10).map { j in i == j ? Double(600 + Int(rng.uniform() * 250)) : Double(Int(pow(rng.uniform(), 3) * 90)) }
    }
    let fig = Figure(width: 720, height: 640)
    let ax = fig.axes
    ax.title = "Confusion matrix (10,000 test images)"
    ax.xLabel = "predicted"
    ax.yLabel = "true"
    ax.matrix(m, rowLabels: classes, columnLabels: classes, colorbar: "images")
    return fig
  }

  static func annotations() -> Figure {
    let fig = Figure(width: 640, height: 420)
    let ax = fig.axes
    ax.title = "Text and arrows"
    ax.xLabel = "w"
    ax.yLabel = "loss"
    let x = (0...200).map { -2 + Double($0) / 50 }
    ax.line(x, x.map { pow($0, 4) - 2 * $0 * $0 + 0.4 * $0 + 1.5 }, label: "L(w)")
    ax.annotate("global minimum", pointingAt: -1.05, 0.08, textAt: -0.9, 2.3)
    ax.annotate("local minimum", pointingAt: 0.95, 0.86, textAt: 1.2, 3.0)
    ax.text("L(w) = w⁴ − 2w² + 0.4w + 1.5", x: -1.0, y: 8.5, size: 12, color: .mutedInk)
    ax.verticalLine(at: 0, color: .gridGrey, dash: .solid)
    ax.legend = .none
    return fig
  }

  static func diagram() -> Figure {
    let fig = Figure(width: 760, height: 360)
    let d = fig.diagram()
    d.title = "A neuron: y = σ(w·x + b)"
    let x1 = d.circle(at: Point(0, 0), radius: 0.45, label: "x₁", sublabel: "0.5", fill: Color(hex: 0xdbe9f6))
    let x2 = d.circle(at: Point(0, 2), radius: 0.45, label: "x₂", sublabel: "−1.0", fill: Color(hex: 0xdbe9f6))
    let sum = d.box(at: Point(3.2, 1), width: 1.6, height: 1.1, label: "Σ + b", sublabel: "z = 1.3", fill: Color(hex: 0xf2f2f2))
    let act = d.box(at: Point(5.8, 1), width: 1.4, height: 1.1, label: "σ(z)", sublabel: "0.79", fill: Color(hex: 0xfde0c5))
    let out = d.circle(at: Point(8.2, 1), radius: 0.45, label: "y", fill: .white)
    d.connect(x1, sum, value: 1.4, maxMagnitude: 1.5, curved: true, arrow: true, label: "w₁ = 1.4")
    d.connect(x2, sum, value: -0.6, maxMagnitude: 1.5, curved: true, arrow: true, label: "w₂ = −0.6")
    d.connect(sum, act, arrow: true)
    d.connect(act, out, arrow: true)
    d.text("b = 0.3", at: Point(3.2, 2.0), size: 11, color: .mutedInk)
    return fig
  }

  static func mlp() -> Figure {
    let fig = Figure(width: 820, height: 480, columns: 2)
    fig.title = "MLP diagrams (NN-SVG style)"
    let a = fig.diagram(0, 0)
    a.title = "2-4-4-1, untrained"
    a.mlp(layerSizes: [2, 4, 4, 1])
    let b = fig.diagram(0, 1)
    b.title = "3-12-2 with weights (blue +, orange −)"
    var rng = GalleryRandom(seed: 13)
    let w1 = (0..<12).map { _ in (0..<3).map { _ in rng.normal() } }
    let w2 = (0..<2).map { _ in (0..<12).map { _ in rng.normal() } }
    b.mlp(layerSizes: [3, 12, 2], weights: [w1, w2])
    return fig
  }

  static func cnnVolumes() -> Figure {
    let fig = Figure(width: 900, height: 360)
    let d = fig.diagram()
    d.title = "Stacked volumes (PlotNeuralNet style)"
    let layers: [(String, String, Double, Double)] = [("input", "32×32×3", 3, 32), ("conv", "30×30×32", 32, 30), ("pool", "15×15×32", 32, 15), ("conv", "13×13×64", 64, 13), ("dense", "10", 4, 10)]
    var x = 0.0
    var previous: NodeID?
    for (i, l) in layers.enumerated() {
      let t = 0.25 + log2(l.2) * 0.25, h = l.3 / 8
      let node = d.volume(at: Point(x, 0), thickness: t, height: h, depth: l.0 == "dense" ? 0.2 : h, label: l.0, sublabel: l.1, fill: Palette.color(i).mixed(with: .white, 0.5))
      if let previous { d.connect(previous, node, color: Color(hex: 0x999999), width: 1, arrow: true) }
      previous = node
      x += t + h * 0.55 + 1.2
    }
    return fig
  }

  static func subplots() -> Figure {
    let fig = Figure(width: 900, height: 600, rows: 2, columns: 3, title: "Activation functions")
    let x = (0...200).map { -4 + Double($0) / 25 }
    let fs: [(String, (Double) -> Double)] = [
      ("sigmoid", { 1 / (1 + exp(-$0)) }), ("tanh", { tanh($0) }), ("ReLU", { max(0, $0) }),
      ("leaky ReLU", { $0 > 0 ? $0 : 0.1 * $0 }), ("ELU", { $0 > 0 ? $0 : exp($0) - 1 }), ("softplus", { log(1 + exp($0)) }),
    ]
    for (i, f) in fs.enumerated() {
      let ax = fig.axes(at: i)
      ax.title = f.0
      ax.line(x, x.map(f.1), label: "f(x)", color: Palette.color(0))
      let h = 1e-4
      ax.line(x, x.map { (f.1($0 + h) - f.1($0 - h)) / (2 * h) }, label: "f′(x)", color: Palette.color(1), dash: .dashed)
      if i >= 3 { ax.xLabel = "x" }
    }
    return fig
  }
}

/// SplitMix64 with Box-Muller normals: the same numbers on every machine, for the examples.
struct GalleryRandom {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
  mutating func normal() -> Double {
    let u1 = max(uniform(), 1e-300), u2 = uniform()
    return sqrt(-2 * log(u1)) * cos(2 * .pi * u2)
  }
}
