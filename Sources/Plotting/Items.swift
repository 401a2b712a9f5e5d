import Foundation

// MARK: - Data cleaning shared by the items

/// Points of a series that can be drawn on the given scales, split into runs at the points that cannot
/// (NaN, infinite, or <= 0 on a log axis), with counts of what was skipped.
struct CleanSeries {
  var runs: [[(x: Double, y: Double)]] = []
  var nonFinite = 0
  var nonPositive = 0
  var xBounds: ClosedRange<Double>?
  var yBounds: ClosedRange<Double>?

  init(x: [Double], y: [Double], xScale: AxisScale, yScale: AxisScale) {
    var run: [(x: Double, y: Double)] = []
    var xlo = Double.infinity, xhi = -Double.infinity, ylo = Double.infinity, yhi = -Double.infinity
    for i in 0..<min(x.count, y.count) {
      let px = x[i], py = y[i]
      var ok = true
      if !px.isFinite || !py.isFinite {
        nonFinite += 1
        ok = false
      } else if (xScale == .log && px <= 0) || (yScale == .log && py <= 0) {
        nonPositive += 1
        ok = false
      }
      if ok {
        run.append((px, py))
        xlo = min(xlo, px); xhi = max(xhi, px); ylo = min(ylo, py); yhi = max(yhi, py)
      } else if !run.isEmpty {
        runs.append(run)
        run = []
      }
    }
    if !run.isEmpty { runs.append(run) }
    if xlo <= xhi { xBounds = xlo...xhi }
    if ylo <= yhi { yBounds = ylo...yhi }
  }

  var count: Int { runs.reduce(0) { $0 + $1.count } }

  /// Reports skipped points through `warn` and throws when nothing is left to draw.
  func check(_ name: String, warn: (String) -> Void) throws {
    if nonFinite > 0 { warn("\(name): skipped \(nonFinite) NaN or infinite point\(nonFinite == 1 ? "" : "s")") }
    if nonPositive > 0 { warn("\(name): skipped \(nonPositive) point\(nonPositive == 1 ? "" : "s") <= 0 that a log axis cannot show") }
    if count == 0 {
      throw PlotError.emptySeries("\(name) has no point that can be drawn (all NaN, infinite or <= 0 on a log axis)")
    }
  }
}

func checkLengths(_ name: String, _ a: (String, Int), _ b: (String, Int)) throws {
  if a.1 == 0 && b.1 == 0 { throw PlotError.emptySeries("\(name) has no points: give it at least one (x, y) pair") }
  if a.1 != b.1 {
    throw PlotError.lengthMismatch("\(name): \(a.0) has \(a.1) values but \(b.0) has \(b.1); they must have the same length")
  }
}

func itemName(_ kind: String, _ label: String?) -> String {
  label.map { "\(kind) '\($0)'" } ?? kind
}

// MARK: - Line

final class LineItem: PlotItem {
  let x: [Double], y: [Double]
  let label: String?
  let color: Color
  let width: Double
  let dash: Dash
  let marker: Marker
  let markerSize: Double
  /// Lines longer than this many points are decimated (Decimation.line); the tests draw a line in full with .max.
  var decimationThreshold = Decimation.lineThreshold
  var clean = CleanSeries(x: [], y: [], xScale: .linear, yScale: .linear)

  init(x: [Double], y: [Double], label: String?, color: Color, width: Double, dash: Dash, marker: Marker, markerSize: Double) {
    self.x = x; self.y = y; self.label = label; self.color = color; self.width = width; self.dash = dash
    self.marker = marker; self.markerSize = markerSize
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    let name = itemName("line", label)
    try checkLengths(name, ("x", x.count), ("y", y.count))
    clean = CleanSeries(x: x, y: y, xScale: xScale, yScale: yScale)
    try clean.check(name, warn: warn)
  }
  var xBounds: ClosedRange<Double>? { clean.xBounds }
  var yBounds: ClosedRange<Double>? { clean.yBounds }
  var legendEntries: [LegendEntry] { label.map { [LegendEntry(label: $0, swatch: .line(color, width: width, dash: dash, marker: marker))] } ?? [] }

  func draw(_ f: AxesFrame) {
    for run in clean.runs {
      // Millions of points are reduced to what the pixels show (Decimation.line): same look, bounded cost.
      let pts = Decimation.line(run.map { f.point($0.x, $0.y) }, threshold: decimationThreshold)
      if pts.count == 1 && marker == .none {
        // A lone point would vanish as a line: show it as a dot.
        f.canvas.circle(pts[0], radius: max(width * 1.5, 3), fill: color)
      }
      for piece in Decimation.pieces(pts, threshold: decimationThreshold) { f.canvas.polyline(piece, color, width: width, dash: dash) }
      if marker != .none { for p in pts { f.canvas.marker(marker, at: p, size: markerSize, fill: color, stroke: .white) } }
    }
  }

  func footprint(_ f: AxesFrame) -> [Point] {
    var out: [Point] = []
    for run in clean.runs {
      var prev: Point?
      for p in Decimation.line(run.map { f.point($0.x, $0.y) }, threshold: decimationThreshold) {
        if let q = prev {
          // Sample long segments so a straight line across the legend's spot still counts.
          let n = Int(hypot(p.x - q.x, p.y - q.y) / 12)
          if n > 0 { for k in 1...n { let t = Double(k) / Double(n + 1); out.append(Point(q.x + (p.x - q.x) * t, q.y + (p.y - q.y) * t)) } }
        }
        out.append(p)
        prev = p
      }
    }
    return out
  }
}

// MARK: - Band

final class BandItem: PlotItem {
  let x: [Double], lower: [Double], upper: [Double]
  let label: String?
  let color: Color
  var lowerClean = CleanSeries(x: [], y: [], xScale: .linear, yScale: .linear)
  var upperClean = CleanSeries(x: [], y: [], xScale: .linear, yScale: .linear)

  init(x: [Double], lower: [Double], upper: [Double], label: String?, color: Color) {
    self.x = x; self.lower = lower; self.upper = upper; self.label = label; self.color = color
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    let name = itemName("band", label)
    try checkLengths(name, ("x", x.count), ("lower", lower.count))
    try checkLengths(name, ("x", x.count), ("upper", upper.count))
    // A point is kept only when both edges can be drawn there.
    var lo = lower, hi = upper
    for i in x.indices where !(lower[i].isFinite && upper[i].isFinite) || (yScale == .log && (lower[i] <= 0 || upper[i] <= 0)) {
      lo[i] = .nan; hi[i] = .nan
    }
    lowerClean = CleanSeries(x: x, y: lo, xScale: xScale, yScale: yScale)
    upperClean = CleanSeries(x: x, y: hi, xScale: xScale, yScale: yScale)
    try lowerClean.check(name, warn: warn)
  }
  var xBounds: ClosedRange<Double>? { lowerClean.xBounds }
  var yBounds: ClosedRange<Double>? {
    guard let a = lowerClean.yBounds, let b = upperClean.yBounds else { return nil }
    return min(a.lowerBound, b.lowerBound)...max(a.upperBound, b.upperBound)
  }
  var legendEntries: [LegendEntry] { label.map { [LegendEntry(label: $0, swatch: .patch(color))] } ?? [] }

  func draw(_ f: AxesFrame) {
    for (lo, hi) in zip(lowerClean.runs, upperClean.runs) {
      let pts = lo.map { f.point($0.x, $0.y) } + hi.reversed().map { f.point($0.x, $0.y) }
      f.canvas.polygon(pts, fill: color)
    }
  }
  func footprint(_ f: AxesFrame) -> [Point] {
    zip(lowerClean.runs, upperClean.runs).flatMap { lo, hi in
      zip(lo, hi).map { f.point($0.x, ($0.y + $1.y) / 2) }
    }
  }
}

// MARK: - Scatter

final class ScatterItem: PlotItem {
  let x: [Double], y: [Double]
  let colors: [Color]
  let sizes: [Double]
  let marker: Marker
  let edge: Color?
  let entries: [LegendEntry]
  var kept: [Int] = []
  var xb: ClosedRange<Double>?, yb: ClosedRange<Double>?
  let name: String

  init(x: [Double], y: [Double], colors: [Color], sizes: [Double], marker: Marker, edge: Color?, entries: [LegendEntry], name: String) {
    self.x = x; self.y = y; self.colors = colors; self.sizes = sizes; self.marker = marker; self.edge = edge
    self.entries = entries; self.name = name
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    try checkLengths(name, ("x", x.count), ("y", y.count))
    let clean = CleanSeries(x: x, y: y, xScale: xScale, yScale: yScale)
    try clean.check(name, warn: warn)
    let drawable = x.indices.filter { i in
      x[i].isFinite && y[i].isFinite && !(xScale == .log && x[i] <= 0) && !(yScale == .log && y[i] <= 0)
    }
    // A scatter of millions would take minutes and hundreds of MB of SVG: an even sample is drawn (the
    // bounds still cover every point), and the warning says so.
    kept = Decimation.sample(drawable)
    if kept.count < drawable.count {
      warn("\(name): drew an evenly spaced sample of \(kept.count) of its \(drawable.count) points")
    }
    xb = clean.xBounds; yb = clean.yBounds
  }
  var xBounds: ClosedRange<Double>? { xb }
  var yBounds: ClosedRange<Double>? { yb }
  var legendEntries: [LegendEntry] { entries }

  func draw(_ f: AxesFrame) {
    for i in kept {
      f.canvas.marker(marker, at: f.point(x[i], y[i]), size: sizes[i % sizes.count], fill: colors[i % colors.count], stroke: edge)
    }
  }
  func footprint(_ f: AxesFrame) -> [Point] { kept.map { f.point(x[$0], y[$0]) } }
  /// A hidden scatter point is a hidden datum: it weighs as much as a stretch of line.
  var footprintWeight: Double { 8 }
  /// The marker's radius and a clearance: a legend that ends right at a point's edge still hides it to the eye.
  var footprintMargin: Double { (sizes.max() ?? 6) / 2 + 6 }
}

// MARK: - Reference lines, text and arrows

final class ReferenceLineItem: PlotItem {
  let value: Double
  let vertical: Bool
  let label: String?
  let color: Color
  let width: Double
  let dash: Dash
  init(value: Double, vertical: Bool, label: String?, color: Color, width: Double, dash: Dash) {
    self.value = value; self.vertical = vertical; self.label = label; self.color = color; self.width = width; self.dash = dash
  }
  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    let scale = vertical ? xScale : yScale
    guard value.isFinite, scale == .linear || value > 0 else {
      throw PlotError.invalidData("\(itemName(vertical ? "vertical line" : "horizontal line", label)) at \(value) cannot be drawn on this axis")
    }
  }
  var xBounds: ClosedRange<Double>? { vertical ? value...value : nil }
  var yBounds: ClosedRange<Double>? { vertical ? nil : value...value }
  var legendEntries: [LegendEntry] { label.map { [LegendEntry(label: $0, swatch: .line(color, width: width, dash: dash, marker: .none))] } ?? [] }
  func footprint(_ f: AxesFrame) -> [Point] {
    stride(from: 0.0, through: 1.0, by: 0.02).map { t in
      vertical ? Point(f.x(value), f.plot.minY + t * f.plot.height) : Point(f.plot.minX + t * f.plot.width, f.y(value))
    }
  }
  func draw(_ f: AxesFrame) {
    if vertical {
      let px = f.x(value)
      f.canvas.line(Point(px, f.plot.minY), Point(px, f.plot.maxY), color, width: width, dash: dash)
    } else {
      let py = f.y(value)
      f.canvas.line(Point(f.plot.minX, py), Point(f.plot.maxX, py), color, width: width, dash: dash)
    }
  }
}

final class TextItem: PlotItem {
  let text: String
  let x: Double, y: Double
  let size: Double
  let color: Color
  let anchor: TextAnchor
  let baseline: TextBaseline
  let arrowFrom: (x: Double, y: Double)?
  init(text: String, x: Double, y: Double, size: Double, color: Color, anchor: TextAnchor, baseline: TextBaseline, arrowFrom: (x: Double, y: Double)?) {
    self.text = text; self.x = x; self.y = y; self.size = size; self.color = color; self.anchor = anchor
    self.baseline = baseline; self.arrowFrom = arrowFrom
  }
  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    for (px, py) in [(x, y)] + (arrowFrom.map { [($0.x, $0.y)] } ?? []) {
      guard px.isFinite, py.isFinite, xScale == .linear || px > 0, yScale == .linear || py > 0 else {
        throw PlotError.invalidData("annotation '\(text)' is at (\(px), \(py)), which these axes cannot show")
      }
    }
  }
  var xBounds: ClosedRange<Double>? { nil }
  var yBounds: ClosedRange<Double>? { nil }
  /// Points over the text's box (and along its arrow): a legend must not cover an annotation.
  func footprint(_ f: AxesFrame) -> [Point] {
    let w = f.canvas.measure(text, size: size).width, h = size * 1.2
    let at = f.point(arrowFrom?.x ?? x, arrowFrom?.y ?? y)
    let (ax, ay): (Double, Double) = arrowFrom != nil ? (0.5, 0.5) : (
      anchor == .left ? 0 : anchor == .center ? 0.5 : 1, baseline == .top ? 0 : baseline == .middle ? 0.5 : 1)
    var out: [Point] = []
    for i in 0...8 {
      for j in 0...2 { out.append(Point(at.x - ax * w + w * Double(i) / 8, at.y - ay * h + h * Double(j) / 2)) }
    }
    if let from = arrowFrom {
      let s = f.point(from.x, from.y), tip = f.point(x, y)
      for k in 0...10 { out.append(Point(s.x + (tip.x - s.x) * Double(k) / 10, s.y + (tip.y - s.y) * Double(k) / 10)) }
    }
    return out
  }
  var footprintWeight: Double { 8 }
  func draw(_ f: AxesFrame) {
    if let from = arrowFrom {
      // The text sits at `from`; the arrow points at (x, y).
      let start = f.point(from.x, from.y)
      let tip = f.point(x, y)
      let w = f.canvas.measure(text, size: size).width
      let len = hypot(tip.x - start.x, tip.y - start.y)
      let gap = min(len / 2, max(w / 2, size) + 4)
      let s = Point(start.x + (tip.x - start.x) / max(len, 1e-9) * gap, start.y + (tip.y - start.y) / max(len, 1e-9) * gap)
      f.canvas.arrow(s, tip, color, width: 1.2, headSize: 8)
      f.canvas.text(text, at: start, size: size, color: color, anchor: .center, baseline: .middle)
    } else {
      f.canvas.text(text, at: f.point(x, y), size: size, color: color, anchor: anchor, baseline: baseline)
    }
  }
}

// MARK: - Public API

extension Axes {
  /// A line through (x[i], y[i]). NaN and infinite points (and points <= 0 on a log axis) are skipped with
  /// a warning and break the line there. Series with no colour take the next colour of the palette.
  public func line(
    _ x: [Double], _ y: [Double], label: String? = nil, color: Color? = nil, width: Double = 2,
    dash: Dash = .solid, marker: Marker = .none, markerSize: Double = 6
  ) {
    add(LineItem(x: x, y: y, label: label, color: color ?? takeColor(), width: width, dash: dash, marker: marker, markerSize: markerSize))
  }

  /// A line through y[i] at x = 0, 1, 2, ... (an epoch or step index).
  public func line(_ y: [Double], label: String? = nil, color: Color? = nil, width: Double = 2, dash: Dash = .solid, marker: Marker = .none) {
    line((0..<y.count).map(Double.init), y, label: label, color: color, width: width, dash: dash, marker: marker)
  }

  /// A shaded band between `lower` and `upper` (for example mean - std ... mean + std).
  public func band(_ x: [Double], lower: [Double], upper: [Double], label: String? = nil, color: Color? = nil, opacity: Double = 0.2) {
    add(BandItem(x: x, lower: lower, upper: upper, label: label, color: (color ?? takeColor()).withAlpha(opacity)))
  }

  /// A line for the mean with a shaded band of mean +/- spread, in one colour.
  public func lineWithBand(_ x: [Double], mean: [Double], spread: [Double], label: String? = nil, color: Color? = nil) {
    let c = color ?? takeColor()
    let n = min(mean.count, spread.count)
    band(x, lower: (0..<n).map { mean[$0] - spread[$0] }, upper: (0..<n).map { mean[$0] + spread[$0] }, color: c)
    line(x, mean, label: label, color: c)
  }

  /// Points in one colour.
  public func scatter(_ x: [Double], _ y: [Double], label: String? = nil, color: Color? = nil, size: Double = 7, marker: Marker = .circle, edge: Color? = .white) {
    let c = color ?? takeColor()
    let entries = label.map { [LegendEntry(label: $0, swatch: .marker(marker, c, edge: edge))] } ?? []
    add(ScatterItem(x: x, y: y, colors: [c], sizes: [size], marker: marker, edge: edge, entries: entries, name: itemName("scatter", label)))
  }

  /// Points coloured by integer class (two classes: orange 0 and blue 1, as TensorFlow Playground; more:
  /// the categorical palette), optionally sized per point; `classNames` label the legend.
  public func scatter(
    _ x: [Double], _ y: [Double], classes: [Int], classNames: [String]? = nil, sizes: [Double]? = nil,
    size: Double = 7, marker: Marker = .circle, edge: Color? = .white
  ) {
    let count = max((classes.max() ?? 0) + 1, classNames?.count ?? 0)
    let colors = classes.map { Palette.classColor($0, classCount: count) }
    let entries = (classNames ?? []).enumerated().map {
      LegendEntry(label: $0.element, swatch: .marker(marker, Palette.classColor($0.offset, classCount: count), edge: edge))
    }
    let item = ScatterItem(
      x: x, y: y, colors: colors.isEmpty ? [.ink] : colors, sizes: sizes ?? [size], marker: marker, edge: edge,
      entries: entries, name: "scatter")
    if classes.count != x.count && !x.isEmpty {
      add(LengthErrorItem(message: "scatter: x has \(x.count) values but classes has \(classes.count); they must have the same length"))
    }
    if let sizes, sizes.count != x.count {
      add(LengthErrorItem(message: "scatter: x has \(x.count) values but sizes has \(sizes.count); they must have the same length"))
    }
    add(item)
  }

  /// A horizontal line across the plot at `y`.
  public func horizontalLine(at y: Double, label: String? = nil, color: Color = .mutedInk, width: Double = 1.2, dash: Dash = .dashed) {
    add(ReferenceLineItem(value: y, vertical: false, label: label, color: color, width: width, dash: dash))
  }

  /// A vertical line across the plot at `x`.
  public func verticalLine(at x: Double, label: String? = nil, color: Color = .mutedInk, width: Double = 1.2, dash: Dash = .dashed) {
    add(ReferenceLineItem(value: x, vertical: true, label: label, color: color, width: width, dash: dash))
  }

  /// Text at a data position.
  public func text(_ text: String, x: Double, y: Double, size: Double = 11, color: Color = .ink, anchor: TextAnchor = .left, baseline: TextBaseline = .bottom) {
    add(TextItem(text: text, x: x, y: y, size: size, color: color, anchor: anchor, baseline: baseline, arrowFrom: nil))
  }

  /// An arrow pointing at (x, y) from the text placed at (textX, textY).
  public func annotate(_ text: String, pointingAt x: Double, _ y: Double, textAt textX: Double, _ textY: Double, size: Double = 11, color: Color = .ink) {
    add(TextItem(text: text, x: x, y: y, size: size, color: color, anchor: .center, baseline: .middle, arrowFrom: (textX, textY)))
  }
}

/// Carries a length error found when the item was added, reported when the figure is rendered.
final class LengthErrorItem: PlotItem {
  let message: String
  init(message: String) { self.message = message }
  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws { throw PlotError.lengthMismatch(message) }
  var xBounds: ClosedRange<Double>? { nil }
  var yBounds: ClosedRange<Double>? { nil }
  func draw(_ f: AxesFrame) {}
}
