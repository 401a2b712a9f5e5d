import Foundation

/// Where the legend goes. `.best` tries the usual corners and edges and takes the one that covers the fewest
/// drawn points (matplotlib's "best").
public enum LegendPlacement: Sendable, Equatable {
  case best, none
  case upperRight, upperLeft, lowerLeft, lowerRight, centerRight, centerLeft, upperCenter, lowerCenter
  /// To the right of the plot area, outside it.
  case outsideRight
}

/// Maps data values on one axis to pixels.
struct AxisMap {
  let scale: AxisScale
  let lower: Double
  let upper: Double
  let pixelLower: Double
  let pixelUpper: Double

  func t(_ v: Double) -> Double { scale == .log ? log10(v) : v }

  func callAsFunction(_ v: Double) -> Double {
    let a = t(lower)
    let b = t(upper)
    return pixelLower + (t(v) - a) / (b - a) * (pixelUpper - pixelLower)
  }
  /// Pixels per data unit (linear scales).
  var pixelsPerUnit: Double { abs(pixelUpper - pixelLower) / (t(upper) - t(lower)) }
}

/// What an item draws with: the canvas, the plot area and the two axis maps.
struct AxesFrame {
  let canvas: Canvas
  let plot: Rect
  let x: AxisMap
  let y: AxisMap
  func point(_ px: Double, _ py: Double) -> Point { Point(x(px), y(py)) }
}

/// A legend row's symbol.
enum Swatch {
  case line(Color, width: Double, dash: Dash, marker: Marker)
  case patch(Color)
  case marker(Marker, Color, edge: Color?)
}

struct LegendEntry {
  let label: String
  let swatch: Swatch
}

/// Colour bar shown beside the plot area.
struct ColorbarSpec {
  let colormap: Colormap
  let range: ClosedRange<Double>
  let label: String?
}

/// Something drawn inside an `Axes`.
protocol PlotItem: AnyObject {
  /// Validates and cleans the data for the axes' scales; reports what it skips through `warn`.
  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws
  /// The data extent after `prepare` (nil: the item does not set that axis's limits).
  var xBounds: ClosedRange<Double>? { get }
  var yBounds: ClosedRange<Double>? { get }
  /// Items like images and heatmaps fill their extent exactly: no margin is added around them.
  var isSticky: Bool { get }
  var legendEntries: [LegendEntry] { get }
  func draw(_ frame: AxesFrame)
  /// Pixel positions of what it drew, for placing the legend where it hides least.
  func footprint(_ frame: AxesFrame) -> [Point]
  /// What covering one footprint point costs: 1 for a sample of a line or a bar, more for what the eye reads
  /// one by one (a scatter point is a datum of its own; an annotation is text).
  var footprintWeight: Double { get }
  /// How far around each footprint point the item's ink reaches (a marker's radius), in pixels.
  var footprintMargin: Double { get }
}

extension PlotItem {
  var isSticky: Bool { false }
  var legendEntries: [LegendEntry] { [] }
  func footprint(_ frame: AxesFrame) -> [Point] { [] }
  var footprintWeight: Double { 1 }
  var footprintMargin: Double { 0 }
}

/// One plot area with its axes, ticks, labels, legend and the items drawn in it.
public final class Axes: Panel {
  public var title: String?
  public var xLabel: String?
  public var yLabel: String?
  public var xScale: AxisScale = .linear
  public var yScale: AxisScale = .linear
  /// Fixed limits; nil means automatic (the data's range plus `margin` on each side).
  public var xLimits: ClosedRange<Double>?
  public var yLimits: ClosedRange<Double>?
  /// The fraction of the data range added on each side for automatic limits.
  public var margin: Double = 0.05
  /// One data unit takes as many pixels on x as on y.
  public var equalAspect = false
  public var showsGrid = true
  public var legend: LegendPlacement = .best
  /// Font size of tick labels in pixels.
  public var tickFontSize: Double = 11
  /// Font size and weight of the title (image grids use smaller, regular captions).
  public var titleFontSize: Double = 13.5
  public var titleWeight: FontWeight = .bold

  var items: [PlotItem] = []
  var xCategories: [String]?
  var yCategories: [String]?
  var yInverted = false
  var frameless = false
  var colorbar: ColorbarSpec?
  private var nextColor = 0
  /// Where the last render put the legend.
  var chosenLegend: LegendPlacement?

  init() {}

  /// The next colour of the categorical palette, for series given no colour.
  func takeColor() -> Color {
    defer { nextColor += 1 }
    return Palette.color(nextColor)
  }

  func add(_ item: PlotItem) { items.append(item) }

  // MARK: - Preparing

  func prepare(warn: (String) -> Void) throws {
    if items.isEmpty {
      throw PlotError.emptySeries("axes\(title.map { " '\($0)'" } ?? "") has nothing to draw: add a plot to it or leave the cell empty")
    }
    for (name, lim, scale) in [("x", xLimits, xScale), ("y", yLimits, yScale)] {
      if let lim {
        guard lim.lowerBound.isFinite, lim.upperBound.isFinite, lim.upperBound > lim.lowerBound else {
          throw PlotError.invalidData("the \(name) limits \(lim) are not a range: give lower < upper, both finite")
        }
        if scale == .log && lim.lowerBound <= 0 {
          throw PlotError.invalidData("the \(name) limits \(lim) include values <= 0, which a log axis cannot show")
        }
      }
    }
    for item in items { try item.prepare(xScale: xScale, yScale: yScale, warn: warn) }
  }

  // MARK: - Limits

  private func limits(_ bounds: [ClosedRange<Double>], sticky: Bool, scale: AxisScale, fixed: ClosedRange<Double>?, zeroFloor: Bool) -> ClosedRange<Double> {
    if let fixed { return fixed }
    guard var lo = bounds.map(\.lowerBound).min(), var hi = bounds.map(\.upperBound).max() else {
      return scale == .log ? 1...10 : 0...1
    }
    if scale == .log {
      var a = log10(lo)
      var b = log10(hi)
      if a == b {
        a -= 0.5
        b += 0.5
      } else if !sticky {
        let m = (b - a) * margin
        a -= m
        b += m
      }
      return pow(10, a)...pow(10, b)
    }
    if lo == hi {
      // A flat range (one point, or all values equal): open it around the value.
      let d = lo == 0 ? 1 : abs(lo) * 0.1
      return (lo - d)...(hi + d)
    }
    if !sticky {
      let m = (hi - lo) * margin
      let zeroAtBottom = zeroFloor && lo == 0
      lo -= zeroAtBottom ? 0 : m
      hi += m
    }
    return lo...hi
  }

  // MARK: - Drawing

  func draw(_ canvas: Canvas, in cell: Rect) {
    let xBounds = items.compactMap(\.xBounds)
    let yBounds = items.compactMap(\.yBounds)
    // Heatmaps, images and matrices fill their extent exactly: no margin around them (matplotlib's sticky edges).
    let sticky = items.contains { $0.isSticky }
    let zeroFloor = items.contains { $0 is BarsItem || $0 is HistogramItem }
    let xr = limits(xBounds, sticky: sticky, scale: xScale, fixed: xLimits, zeroFloor: false)
    let yr = limits(yBounds, sticky: sticky, scale: yScale, fixed: yLimits, zeroFloor: zeroFloor)

    let labelSize = 12.5
    let titleSize = titleFontSize
    let tickLength = 4.0
    let tickSize = tickFontSize

    // Ticks, first estimated on the cell's size.
    func xTicks(_ width: Double) -> [Tick] {
      if let cats = xCategories { return cats.enumerated().map { Tick(value: Double($0.offset), label: $0.element) } }
      return ticks(xr, scale: xScale, maxTicks: max(3, min(10, Int(width / 75))))
    }
    func yTicks(_ height: Double) -> [Tick] {
      if let cats = yCategories { return cats.enumerated().map { Tick(value: Double($0.offset), label: $0.element) } }
      return ticks(yr, scale: yScale, maxTicks: max(3, min(10, Int(height / 45))))
    }
    var xt = frameless ? [] : xTicks(cell.width * 0.85)
    var yt = frameless ? [] : yTicks(cell.height * 0.8)

    // Margins around the plot area, from measured text.
    let lineH = canvas.measure("Ag", size: tickSize).height
    var top = 8.0
    if let title, !title.isEmpty { top += canvas.measure(title, size: titleSize, weight: titleWeight).height + 6 }
    var left = 6.0
    var bottom = 6.0
    var right = 14.0
    var yTickWidth = 0.0
    if !frameless {
      yTickWidth = yt.filter { !$0.label.isEmpty }.map { canvas.measure($0.label, size: tickSize).width }.max() ?? 0
      left += yTickWidth + tickLength + 5
      if let yLabel, !yLabel.isEmpty { left += canvas.measure(yLabel, size: labelSize).height + 6 }
      bottom += tickLength + 4 + lineH
      if let xLabel, !xLabel.isEmpty { bottom += canvas.measure(xLabel, size: labelSize).height + 6 }
      if let last = xt.last(where: { !$0.label.isEmpty }) { right = max(right, canvas.measure(last.label, size: tickSize).width / 2 + 4) }
    } else {
      left = 2
      right = 2
      bottom = 2
    }
    var colorbarTicks: [Double] = []
    if let cb = colorbar {
      colorbarTicks = Ticks.linear(cb.range.lowerBound, cb.range.upperBound, maxTicks: 6)
      let w = Ticks.labels(for: colorbarTicks).map { canvas.measure($0, size: tickSize).width }.max() ?? 0
      right = 16 + 14 + 4 + w + 8 + (cb.label.map { canvas.measure($0, size: labelSize).height + 6 } ?? 0)
    }
    if legend == .outsideRight {
      right += legendSize(canvas).width + 12
    }
    // Rotated category labels need more room below.
    var rotateXLabels = false
    if let cats = xCategories, !cats.isEmpty {
      let spacing = (cell.width - left - right) / Double(cats.count)
      let widest = cats.map { canvas.measure($0, size: tickSize).width }.max() ?? 0
      if widest > spacing - 6 {
        rotateXLabels = true
        bottom += widest * sin(0.7) + lineH * cos(0.7) - lineH
        left = max(left, widest * cos(0.7) - spacing / 2 + 6)
      }
    }
    var plot = cell.inset(left: left, top: top, right: right, bottom: bottom)

    // Ticks again for the plot area's real size; wider y labels push the plot area right.
    func refreshTicks() {
      guard !frameless else { return }
      if yCategories == nil {
        yt = yTicks(plot.height)
        let w = yt.filter { !$0.label.isEmpty }.map { canvas.measure($0.label, size: tickSize).width }.max() ?? 0
        if w > yTickWidth {
          plot = plot.inset(left: w - yTickWidth)
          yTickWidth = w
        }
      }
      if xCategories == nil { xt = xTicks(plot.width) }
    }
    refreshTicks()

    if equalAspect {
      // Shrink the plot area so that a unit is as long on x as on y (matplotlib's adjustable="box").
      let xs = AxisMap(scale: xScale, lower: xr.lowerBound, upper: xr.upperBound, pixelLower: 0, pixelUpper: plot.width)
      let ys = AxisMap(scale: yScale, lower: yr.lowerBound, upper: yr.upperBound, pixelLower: 0, pixelUpper: plot.height)
      let k = min(xs.pixelsPerUnit, ys.pixelsPerUnit)
      let w = (xs.t(xr.upperBound) - xs.t(xr.lowerBound)) * k
      let h = (ys.t(yr.upperBound) - ys.t(yr.lowerBound)) * k
      plot = Rect(x: plot.minX + (plot.width - w) / 2, y: plot.minY + (plot.height - h) / 2, width: w, height: h)
      refreshTicks()
    }

    let xm = AxisMap(scale: xScale, lower: xr.lowerBound, upper: xr.upperBound, pixelLower: plot.minX, pixelUpper: plot.maxX)
    let ym = yInverted
      ? AxisMap(scale: yScale, lower: yr.lowerBound, upper: yr.upperBound, pixelLower: plot.minY, pixelUpper: plot.maxY)
      : AxisMap(scale: yScale, lower: yr.lowerBound, upper: yr.upperBound, pixelLower: plot.maxY, pixelUpper: plot.minY)
    let frame = AxesFrame(canvas: canvas, plot: plot, x: xm, y: ym)

    // Grid behind the data.
    if showsGrid && !frameless {
      for t in xt where !t.isMinor {
        let px = xm(t.value)
        canvas.line(Point(px, plot.minY), Point(px, plot.maxY), .gridGrey, width: 0.8)
      }
      for t in yt where !t.isMinor {
        let py = ym(t.value)
        canvas.line(Point(plot.minX, py), Point(plot.maxX, py), .gridGrey, width: 0.8)
      }
    }

    canvas.withSavedState {
      canvas.clip(plot)
      for item in items { item.draw(frame) }
    }

    if !frameless {
      // Spines on the left and bottom, ticks and their labels.
      canvas.line(Point(plot.minX, plot.maxY), Point(plot.maxX, plot.maxY), .ink, width: 1)
      canvas.line(Point(plot.minX, plot.minY), Point(plot.minX, plot.maxY), .ink, width: 1)
      for t in xt {
        let px = xm(t.value)
        guard px >= plot.minX - 0.5, px <= plot.maxX + 0.5 else { continue }
        let len = t.isMinor ? tickLength * 0.6 : tickLength
        canvas.line(Point(px, plot.maxY), Point(px, plot.maxY + len), .ink, width: 0.8)
        if rotateXLabels {
          canvas.text(t.label, at: Point(px + 3, plot.maxY + tickLength + 4), size: tickSize, color: .ink, anchor: .right, baseline: .top, angle: -0.7)
        } else {
          canvas.text(t.label, at: Point(px, plot.maxY + tickLength + 4), size: tickSize, color: .ink, anchor: .center, baseline: .top)
        }
      }
      for t in yt {
        let py = ym(t.value)
        guard py >= plot.minY - 0.5, py <= plot.maxY + 0.5 else { continue }
        let len = t.isMinor ? tickLength * 0.6 : tickLength
        canvas.line(Point(plot.minX - len, py), Point(plot.minX, py), .ink, width: 0.8)
        canvas.text(t.label, at: Point(plot.minX - tickLength - 4, py), size: tickSize, color: .ink, anchor: .right, baseline: .middle)
      }
      // Axis labels follow the plot area (which equal aspect may have shrunk), not the cell.
      if let xLabel, !xLabel.isEmpty {
        let xTickDepth = rotateXLabels ? bottom - 6 - lineH - 6 - 4 : tickLength + 4 + lineH
        canvas.text(xLabel, at: Point(plot.midX, plot.maxY + xTickDepth + 6), size: labelSize, anchor: .center, baseline: .top)
      }
      if let yLabel, !yLabel.isEmpty {
        let h = canvas.measure(yLabel, size: labelSize).height
        canvas.text(yLabel, at: Point(plot.minX - yTickWidth - tickLength - 5 - h - 4, plot.midY), size: labelSize, anchor: .center, baseline: .top, angle: -Double.pi / 2)
      }
    }
    if let title, !title.isEmpty {
      canvas.text(title, at: Point(plot.midX, plot.minY - 8), size: titleSize, weight: titleWeight, anchor: .center, baseline: .bottom)
    }
    if let cb = colorbar { drawColorbar(cb, ticks: colorbarTicks, canvas: canvas, plot: plot, labelSize: labelSize) }
    drawLegend(frame)
  }

  private func ticks(_ r: ClosedRange<Double>, scale: AxisScale, maxTicks: Int) -> [Tick] {
    if scale == .log { return Ticks.log(r.lowerBound, r.upperBound, maxTicks: maxTicks) }
    let values = Ticks.linear(r.lowerBound, r.upperBound, maxTicks: maxTicks)
    return zip(values, Ticks.labels(for: values)).map { Tick(value: $0, label: $1) }
  }

  // MARK: - Colour bar

  private func drawColorbar(_ cb: ColorbarSpec, ticks: [Double], canvas: Canvas, plot: Rect, labelSize: Double) {
    let bar = Rect(x: plot.maxX + 16, y: plot.minY, width: 14, height: plot.height)
    let steps = 256
    var rgba = [UInt8](repeating: 0, count: steps * 4)
    for i in 0..<steps {
      let c = cb.colormap.color(at: 1 - Double(i) / Double(steps - 1))
      rgba[i * 4] = UInt8((c.red * 255).rounded())
      rgba[i * 4 + 1] = UInt8((c.green * 255).rounded())
      rgba[i * 4 + 2] = UInt8((c.blue * 255).rounded())
      rgba[i * 4 + 3] = 255
    }
    canvas.image(rgba: rgba, pixelWidth: 1, pixelHeight: steps, in: bar, smooth: true)
    canvas.stroke(bar, .ink, width: 0.8)
    let span = cb.range.upperBound - cb.range.lowerBound
    var widest = 0.0
    for (v, label) in zip(ticks, Ticks.labels(for: ticks)) {
      let py = bar.maxY - (span > 0 ? (v - cb.range.lowerBound) / span : 0.5) * bar.height
      canvas.line(Point(bar.maxX, py), Point(bar.maxX + 3, py), .ink, width: 0.8)
      canvas.text(label, at: Point(bar.maxX + 5, py), size: tickFontSize, anchor: .left, baseline: .middle)
      widest = max(widest, canvas.measure(label, size: tickFontSize).width)
    }
    if let label = cb.label {
      canvas.text(label, at: Point(bar.maxX + 10 + widest, bar.midY), size: labelSize, anchor: .center, baseline: .top, angle: -Double.pi / 2)
    }
  }

  // MARK: - Legend

  private var legendEntries: [LegendEntry] { items.flatMap(\.legendEntries) }
  private let legendFont = 11.0

  private func legendSize(_ canvas: Canvas) -> (width: Double, height: Double) {
    let entries = legendEntries
    guard !entries.isEmpty else { return (0, 0) }
    let textW = entries.map { canvas.measure($0.label, size: legendFont).width }.max() ?? 0
    let rowH = legendFont * 1.55
    return (8 + 26 + 6 + textW + 8, 6 + rowH * Double(entries.count) + 4)
  }

  private func drawLegend(_ f: AxesFrame) {
    let entries = legendEntries
    guard legend != .none, !entries.isEmpty else { return }
    let canvas = f.canvas
    let (w, h) = legendSize(canvas)
    let plot = f.plot
    let pad = 8.0
    func rect(_ p: LegendPlacement) -> Rect {
      switch p {
      case .upperRight, .best, .none: return Rect(x: plot.maxX - w - pad, y: plot.minY + pad, width: w, height: h)
      case .upperLeft: return Rect(x: plot.minX + pad, y: plot.minY + pad, width: w, height: h)
      case .lowerLeft: return Rect(x: plot.minX + pad, y: plot.maxY - h - pad, width: w, height: h)
      case .lowerRight: return Rect(x: plot.maxX - w - pad, y: plot.maxY - h - pad, width: w, height: h)
      case .centerRight: return Rect(x: plot.maxX - w - pad, y: plot.midY - h / 2, width: w, height: h)
      case .centerLeft: return Rect(x: plot.minX + pad, y: plot.midY - h / 2, width: w, height: h)
      case .upperCenter: return Rect(x: plot.midX - w / 2, y: plot.minY + pad, width: w, height: h)
      case .lowerCenter: return Rect(x: plot.midX - w / 2, y: plot.maxY - h - pad, width: w, height: h)
      case .outsideRight:
        let offset = colorbar == nil ? 12.0 : 90.0
        return Rect(x: plot.maxX + offset, y: plot.minY, width: w, height: h)
      }
    }
    var box = rect(legend)
    chosenLegend = legend
    if legend == .best {
      // The spot that hides least: every item's footprint, weighted (a scatter point or an annotation costs
      // more than a sample of a line), each point grown by the ink around it; ties go to the earlier spot.
      let footprints = items.map { (points: $0.footprint(f), weight: $0.footprintWeight, margin: $0.footprintMargin) }
      let candidates: [LegendPlacement] = [.upperRight, .upperLeft, .lowerLeft, .lowerRight, .centerRight, .centerLeft, .lowerCenter, .upperCenter]
      var bestCost = Double.infinity
      for c in candidates {
        let r = rect(c)
        var cost = 0.0
        for fp in footprints {
          let grown = Rect(x: r.minX - fp.margin, y: r.minY - fp.margin, width: r.width + 2 * fp.margin, height: r.height + 2 * fp.margin)
          cost += fp.weight * Double(fp.points.reduce(0) { $0 + (grown.contains($1) ? 1 : 0) })
        }
        if cost < bestCost {
          bestCost = cost
          box = r
          chosenLegend = c
        }
      }
    }
    canvas.roundedRect(box, radius: 3, fill: Color.white.withAlpha(0.88), stroke: Color(hex: 0xcccccc), width: 0.8)
    let rowH = legendFont * 1.55
    for (i, e) in entries.enumerated() {
      let cy = box.minY + 6 + rowH * (Double(i) + 0.5)
      let sx = box.minX + 8
      switch e.swatch {
      case .line(let c, let width, let dash, let marker):
        canvas.line(Point(sx, cy), Point(sx + 26, cy), c, width: min(width, 4), dash: dash)
        if marker != .none { canvas.marker(marker, at: Point(sx + 13, cy), size: 6, fill: c) }
      case .patch(let c):
        canvas.fill(Rect(x: sx + 3, y: cy - 5, width: 20, height: 10), c)
      case .marker(let m, let c, let edge):
        canvas.marker(m, at: Point(sx + 13, cy), size: 8, fill: c, stroke: edge)
      }
      canvas.text(e.label, at: Point(sx + 32, cy), size: legendFont, anchor: .left, baseline: .middle)
    }
  }
}
