import Foundation

/// A node of a diagram, returned by `circle` and `box` so that edges can join nodes at their outlines.
public struct NodeID: Hashable, Sendable {
  let index: Int
}

/// A panel for diagrams: circles, boxes, edges and text laid out in the diagram's own units (`y` grows
/// downwards) and scaled to fit the panel with equal aspect. Edges are drawn first, then nodes, then text.
public final class Diagram: Panel {
  public var title: String?
  /// Space kept around the content, in pixels.
  public var padding: Double = 12

  enum Shape {
    case circle(radius: Double), box(width: Double, height: Double, corner: Double)
    /// A 3-D block seen from the front right: `thickness` across, `height` up, `depth` receding.
    case volume(thickness: Double, height: Double, depth: Double)
  }
  struct Node {
    let center: Point
    let shape: Shape
    let label: String?
    let sublabel: String?
    let fill: Color
    let stroke: Color
    let textSize: Double
  }
  struct Edge {
    let from: Point, to: Point
    let fromNode: Int?, toNode: Int?
    let color: Color
    let width: Double
    let curved: Bool
    let arrow: Bool
    let label: String?
  }
  struct Label {
    let text: String
    let at: Point
    let size: Double
    let color: Color
    let weight: FontWeight
    let anchor: TextAnchor
    let baseline: TextBaseline
  }
  var nodes: [Node] = []
  var edges: [Edge] = []
  var labels: [Label] = []
  var deferredError: PlotError?

  init() {}

  // MARK: - Primitives

  /// A circle of `radius` units at `center`, with a label inside and an optional second line below it.
  @discardableResult
  public func circle(at center: Point, radius: Double, label: String? = nil, sublabel: String? = nil, fill: Color = .white, stroke: Color = .ink, textSize: Double = 12) -> NodeID {
    nodes.append(Node(center: center, shape: .circle(radius: radius), label: label, sublabel: sublabel, fill: fill, stroke: stroke, textSize: textSize))
    return NodeID(index: nodes.count - 1)
  }

  /// A rounded box of `width` x `height` units centred at `center`, with a label (and a second line).
  @discardableResult
  public func box(at center: Point, width: Double, height: Double, label: String? = nil, sublabel: String? = nil, fill: Color = .white, stroke: Color = .ink, corner: Double = 0.15, textSize: Double = 12) -> NodeID {
    nodes.append(Node(center: center, shape: .box(width: width, height: height, corner: corner), label: label, sublabel: sublabel, fill: fill, stroke: stroke, textSize: textSize))
    return NodeID(index: nodes.count - 1)
  }

  /// A 3-D block (a layer's activations in PlotNeuralNet's style): `thickness` across (channels), `height`
  /// up and `depth` receding (the feature map's size), with its label and a second line below it.
  @discardableResult
  public func volume(at center: Point, thickness: Double, height: Double, depth: Double, label: String? = nil, sublabel: String? = nil, fill: Color = Color(hex: 0xdbe9f6), textSize: Double = 11) -> NodeID {
    nodes.append(Node(center: center, shape: .volume(thickness: thickness, height: height, depth: depth), label: label, sublabel: sublabel, fill: fill, stroke: .ink, textSize: textSize))
    return NodeID(index: nodes.count - 1)
  }

  /// The colour and width that show a signed value: blue for positive, orange for negative (TensorFlow
  /// Playground), wider and more opaque as |value| approaches `maxMagnitude`.
  public static func edgeStyle(value: Double, maxMagnitude: Double) -> (color: Color, width: Double) {
    let t = maxMagnitude > 0 && value.isFinite ? min(1, abs(value) / maxMagnitude) : 0
    let base = value >= 0 ? Color.positive : Color.negative
    return (base.withAlpha(0.25 + 0.75 * t), 0.5 + 5.5 * t)
  }

  /// An edge between two nodes, ending at their outlines. With `value`, its colour and width show the signed
  /// value (see `edgeStyle`); otherwise it is drawn in `color`.
  public func connect(_ a: NodeID, _ b: NodeID, value: Double? = nil, maxMagnitude: Double = 1, color: Color = .mutedInk, width: Double = 1.2, curved: Bool = false, arrow: Bool = false, label: String? = nil) {
    guard a.index < nodes.count, b.index < nodes.count else { return }
    let style = value.map { Self.edgeStyle(value: $0, maxMagnitude: maxMagnitude) } ?? (color, width)
    edges.append(Edge(from: nodes[a.index].center, to: nodes[b.index].center, fromNode: a.index, toNode: b.index, color: style.0, width: style.1, curved: curved, arrow: arrow, label: label))
  }

  /// An edge between two points.
  public func edge(from: Point, to: Point, value: Double? = nil, maxMagnitude: Double = 1, color: Color = .mutedInk, width: Double = 1.2, curved: Bool = false, arrow: Bool = false, label: String? = nil) {
    let style = value.map { Self.edgeStyle(value: $0, maxMagnitude: maxMagnitude) } ?? (color, width)
    edges.append(Edge(from: from, to: to, fromNode: nil, toNode: nil, color: style.0, width: style.1, curved: curved, arrow: arrow, label: label))
  }

  /// An arrow between two points.
  public func arrow(from: Point, to: Point, color: Color = .ink, width: Double = 1.5, label: String? = nil) {
    edge(from: from, to: to, color: color, width: width, arrow: true, label: label)
  }

  /// Text at a point, `size` in pixels.
  public func text(_ text: String, at: Point, size: Double = 12, color: Color = .ink, weight: FontWeight = .regular, anchor: TextAnchor = .center, baseline: TextBaseline = .middle) {
    labels.append(Label(text: text, at: at, size: size, color: color, weight: weight, anchor: anchor, baseline: baseline))
  }

  // MARK: - MLP

  /// A fully connected network in NN-SVG's style: a column of neurons per layer, every neuron joined to the
  /// next layer's. `weights[l]` (optional) is layer l's matrix, `layerSizes[l+1]` rows by `layerSizes[l]`
  /// columns, shown as edge colour and width. Layers wider than `maxShown` show their first neurons, a
  /// vertical ellipsis and the last one.
  public func mlp(layerSizes: [Int], weights: [[[Double]]]? = nil, layerNames: [String]? = nil, maxShown: Int = 8, nodeLabels: Bool = true) {
    guard layerSizes.count >= 2, layerSizes.allSatisfy({ $0 > 0 }) else {
      deferredError = .invalidData("an MLP diagram needs at least two layers of positive size, got \(layerSizes)")
      return
    }
    if let weights {
      guard weights.count == layerSizes.count - 1 else {
        deferredError = .lengthMismatch("MLP diagram: \(layerSizes.count) layers need \(layerSizes.count - 1) weight matrices, got \(weights.count)")
        return
      }
      for (l, w) in weights.enumerated() where w.count != layerSizes[l + 1] || w.contains(where: { $0.count != layerSizes[l] }) {
        deferredError = .lengthMismatch("MLP diagram: weight matrix \(l) must be \(layerSizes[l + 1])x\(layerSizes[l]) (outputs x inputs), got \(w.count)x\(w.first?.count ?? 0)")
        return
      }
    }
    let maxMagnitude = weights?.flatMap { $0.flatMap { $0 } }.filter(\.isFinite).map(abs).max() ?? 1
    let spacingX = 3.2, spacingY = 1.15, radius = 0.38
    let tallest = layerSizes.map { min($0, maxShown) }.max()!
    var shown: [[(neuron: Int, id: NodeID)]] = []
    for (l, size) in layerSizes.enumerated() {
      let visible: [Int] = size <= maxShown ? Array(0..<size) : Array(0..<(maxShown - 2)) + [size - 1]
      let slots = size <= maxShown ? size : maxShown
      let x = Double(l) * spacingX
      let top = Double(tallest - slots) * spacingY / 2
      let role = l == 0 ? 0 : (l == layerSizes.count - 1 ? 2 : 1)
      let fill = [Color(hex: 0xdbe9f6), Color.white, Color(hex: 0xfde0c5)][role]
      var column: [(Int, NodeID)] = []
      for (k, n) in visible.enumerated() {
        let slot = size <= maxShown ? k : (k == visible.count - 1 ? slots - 1 : k)
        let y = top + Double(slot) * spacingY
        var label: String?
        if nodeLabels {
          let sub = String(n + 1).map { subscriptDigit($0) }
          label = role == 0 ? "x" + String(sub) : (role == 2 ? (size == 1 ? "ŷ" : "ŷ" + String(sub)) : "h" + String(sub))
        }
        column.append((n, circle(at: Point(x, y), radius: radius, label: label, fill: fill, stroke: .ink, textSize: 11)))
      }
      if size > maxShown {
        text("\u{22ee}", at: Point(x, top + Double(maxShown - 2) * spacingY), size: 16, color: .mutedInk)
      }
      let name = layerNames?[safe: l] ?? (role == 0 ? "input" : (role == 2 ? "output" : "hidden \(l)"))
      text(name, at: Point(x, Double(tallest - 1) * spacingY + radius + 0.55), size: 12, weight: .bold)
      text("\(size) unit\(size == 1 ? "" : "s")", at: Point(x, Double(tallest - 1) * spacingY + radius + 1.0), size: 11, color: .mutedInk)
      shown.append(column)
    }
    for l in 0..<(layerSizes.count - 1) {
      for (j, b) in shown[l + 1] {
        for (i, a) in shown[l] {
          if let w = weights?[l][j][i] {
            connect(a, b, value: w, maxMagnitude: maxMagnitude)
          } else {
            connect(a, b, color: Color(hex: 0x999999), width: 0.8)
          }
        }
      }
    }
  }

  // MARK: - Drawing

  func prepare(warn: (String) -> Void) throws {
    if let deferredError { throw deferredError }
    if nodes.isEmpty && edges.isEmpty && labels.isEmpty {
      throw PlotError.emptySeries("diagram\(title.map { " '\($0)'" } ?? "") has nothing to draw")
    }
    let bad = nodes.contains { !$0.center.x.isFinite || !$0.center.y.isFinite } || edges.contains { !$0.from.x.isFinite || !$0.from.y.isFinite || !$0.to.x.isFinite || !$0.to.y.isFinite }
    if bad { throw PlotError.invalidData("diagram has a node or edge at a NaN or infinite position") }
  }

  private func extent(_ n: Node) -> Rect {
    switch n.shape {
    case .circle(let r): return Rect(x: n.center.x - r, y: n.center.y - r, width: 2 * r, height: 2 * r)
    case .box(let w, let h, _): return Rect(x: n.center.x - w / 2, y: n.center.y - h / 2, width: w, height: h)
    case .volume(let t, let h, let d):
      let (ox, oy) = Self.obliqueOffset(d)
      return Rect(x: n.center.x - t / 2, y: n.center.y - h / 2 + oy, width: t + ox, height: h - oy + 1.1)
    }
  }

  /// How far a volume's back face sits from its front face.
  static func obliqueOffset(_ depth: Double) -> (Double, Double) { (depth * 0.55, -depth * 0.45) }

  /// Where the line from the node's centre towards `toward` leaves its outline (in units).
  private func outline(_ n: Node, toward p: Point) -> Point {
    let dx = p.x - n.center.x, dy = p.y - n.center.y
    let len = hypot(dx, dy)
    guard len > 0 else { return n.center }
    switch n.shape {
    case .circle(let r): return Point(n.center.x + dx / len * r, n.center.y + dy / len * r)
    case .box(let w, let h, _), .volume(let w, let h, _):
      let t = min(dx == 0 ? .infinity : (w / 2) / abs(dx), dy == 0 ? .infinity : (h / 2) / abs(dy))
      return Point(n.center.x + dx * t, n.center.y + dy * t)
    }
  }

  func draw(_ canvas: Canvas, in cell: Rect) {
    var area = cell.inset(left: padding, top: padding, right: padding, bottom: padding)
    if let title, !title.isEmpty {
      canvas.text(title, at: Point(cell.midX, cell.minY + 6), size: 13.5, weight: .bold, anchor: .center, baseline: .top)
      area = area.inset(top: 22)
    }
    // Bounds of everything in units; texts count by their anchor points.
    var rects = nodes.map(extent)
    rects += edges.flatMap { [Rect(x: $0.from.x, y: $0.from.y, width: 0, height: 0), Rect(x: $0.to.x, y: $0.to.y, width: 0, height: 0)] }
    rects += labels.map { Rect(x: $0.at.x, y: $0.at.y, width: 0, height: 0) }
    let minX = rects.map(\.minX).min() ?? 0, maxX = rects.map(\.maxX).max() ?? 1
    let minY = rects.map(\.minY).min() ?? 0, maxY = rects.map(\.maxY).max() ?? 1
    // Leave room for text that sticks out past the anchors.
    var widest = labels.map { canvas.measure($0.text, size: $0.size, weight: $0.weight).width }.max() ?? 0
    // Volumes carry their labels below them, which can be wider than the block.
    for n in nodes {
      guard case .volume = n.shape else { continue }
      for text in [n.label, n.sublabel].compactMap({ $0 }) { widest = max(widest, canvas.measure(text, size: n.textSize, weight: .bold).width) }
    }
    let textMargin = widest / 2
    let inner = area.inset(left: textMargin, top: 8, right: textMargin, bottom: 8)
    let k = min(inner.width / max(maxX - minX, 1e-9), inner.height / max(maxY - minY, 1e-9))
    let ox = inner.midX - (minX + maxX) / 2 * k
    let oy = inner.midY - (minY + maxY) / 2 * k
    func px(_ p: Point) -> Point { Point(ox + p.x * k, oy + p.y * k) }

    for e in edges {
      var a = e.from, b = e.to
      if let i = e.fromNode { a = outline(nodes[i], toward: e.curved ? Point(b.x, a.y) : b) }
      if let j = e.toNode { b = outline(nodes[j], toward: e.curved ? Point(a.x, b.y) : a) }
      let pa = px(a), pb = px(b)
      if e.curved {
        let dx = (pb.x - pa.x) * 0.5
        canvas.curve(pa, Point(pa.x + dx, pa.y), Point(pb.x - dx, pb.y), pb, e.color, width: e.width)
        if e.arrow { canvas.arrowHead(from: Point(pb.x - dx, pb.y), tip: pb, e.color, size: 8 + e.width) }
      } else if e.arrow {
        canvas.arrow(pa, pb, e.color, width: e.width, headSize: 8 + e.width)
      } else {
        canvas.line(pa, pb, e.color, width: e.width)
      }
      if let label = e.label {
        let mid = Point((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
        let (w, h) = canvas.measure(label, size: 10.5)
        canvas.roundedRect(Rect(x: mid.x - w / 2 - 3, y: mid.y - h / 2, width: w + 6, height: h), radius: 3, fill: Color.white.withAlpha(0.9), stroke: nil)
        canvas.text(label, at: mid, size: 10.5, color: .mutedInk, anchor: .center, baseline: .middle)
      }
    }
    for n in nodes {
      let c = px(n.center)
      switch n.shape {
      case .circle(let r): canvas.circle(c, radius: r * k, fill: n.fill, stroke: n.stroke, width: 1.4)
      case .box(let w, let h, let corner):
        canvas.roundedRect(Rect(x: c.x - w * k / 2, y: c.y - h * k / 2, width: w * k, height: h * k), radius: corner * k, fill: n.fill, stroke: n.stroke, width: 1.4)
      case .volume(let t, let h, let d):
        let (ox, oy) = Self.obliqueOffset(d)
        let x0 = c.x - t * k / 2, x1 = c.x + t * k / 2, y0 = c.y - h * k / 2, y1 = c.y + h * k / 2
        let dx = ox * k, dy = oy * k
        canvas.polygon([Point(x0, y0), Point(x1, y0), Point(x1 + dx, y0 + dy), Point(x0 + dx, y0 + dy)], fill: n.fill.mixed(with: .white, 0.45), stroke: n.stroke, width: 0.8)
        canvas.polygon([Point(x1, y0), Point(x1, y1), Point(x1 + dx, y1 + dy), Point(x1 + dx, y0 + dy)], fill: n.fill.mixed(with: .black, 0.18), stroke: n.stroke, width: 0.8)
        canvas.polygon([Point(x0, y0), Point(x1, y0), Point(x1, y1), Point(x0, y1)], fill: n.fill, stroke: n.stroke, width: 0.8)
        if let label = n.label {
          canvas.text(label, at: Point(c.x + dx / 2, y1 + 8), size: n.textSize, weight: .bold, anchor: .center, baseline: .top)
        }
        if let sub = n.sublabel {
          canvas.text(sub, at: Point(c.x + dx / 2, y1 + 10 + n.textSize * 1.25), size: n.textSize * 0.92, color: .mutedInk, anchor: .center, baseline: .top)
        }
        continue
      }
      let textColor: Color = n.fill.luminance < 0.45 ? .white : .ink
      if let label = n.label {
        let dy = n.sublabel == nil ? 0 : -n.textSize * 0.62
        canvas.text(label, at: Point(c.x, c.y + dy), size: n.textSize, color: textColor, weight: n.sublabel == nil ? .regular : .bold, anchor: .center, baseline: .middle)
      }
      if let sub = n.sublabel {
        canvas.text(sub, at: Point(c.x, c.y + n.textSize * 0.68), size: n.textSize * 0.9, color: textColor, anchor: .center, baseline: .middle)
      }
    }
    for l in labels {
      canvas.text(l.text, at: px(l.at), size: l.size, color: l.color, weight: l.weight, anchor: l.anchor, baseline: l.baseline)
    }
  }
}

private func subscriptDigit(_ c: Character) -> Character {
  let map: [Character: Character] = ["0": "₀", "1": "₁", "2": "₂", "3": "₃", "4": "₄", "5": "₅", "6": "₆", "7": "₇", "8": "₈", "9": "₉"]
  return map[c] ?? c
}

extension Array {
  subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
