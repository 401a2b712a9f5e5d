import Foundation

/// One series of a bar chart: a value per category, optional error bars (+/- each value), a legend label.
public struct BarSeries {
  public var label: String?
  public var values: [Double]
  public var errors: [Double]?
  public var color: Color?
  public init(_ label: String? = nil, values: [Double], errors: [Double]? = nil, color: Color? = nil) {
    self.label = label; self.values = values; self.errors = errors; self.color = color
  }
}

final class BarsItem: PlotItem {
  let categories: [String]
  var series: [BarSeries]
  var yb: ClosedRange<Double>?

  init(categories: [String], series: [BarSeries]) {
    self.categories = categories
    self.series = series
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    guard !categories.isEmpty else { throw PlotError.emptySeries("bar chart has no categories: give it at least one") }
    guard !series.isEmpty else { throw PlotError.emptySeries("bar chart has no series: give it at least one") }
    guard yScale == .linear else { throw PlotError.invalidData("bar charts need a linear y axis") }
    var lo = 0.0, hi = 0.0
    for s in series {
      let name = itemName("bar series", s.label)
      guard s.values.count == categories.count else {
        throw PlotError.lengthMismatch("\(name) has \(s.values.count) values for \(categories.count) categories; give one value per category")
      }
      if let e = s.errors, e.count != categories.count {
        throw PlotError.lengthMismatch("\(name) has \(e.count) errors for \(categories.count) categories; give one error per category")
      }
      let bad = s.values.filter { !$0.isFinite }.count
      if bad > 0 { warn("\(name): \(bad) NaN or infinite value\(bad == 1 ? "" : "s") not drawn") }
      for (i, v) in s.values.enumerated() where v.isFinite {
        let e = s.errors.map { $0[i].isFinite ? abs($0[i]) : 0 } ?? 0
        lo = min(lo, v - e); hi = max(hi, v + e)
      }
    }
    if lo == hi { hi = 1 }
    yb = lo...hi
  }
  var xBounds: ClosedRange<Double>? { -0.6...(Double(categories.count) - 0.4) }
  var yBounds: ClosedRange<Double>? { yb }
  var legendEntries: [LegendEntry] {
    series.compactMap { s in s.label.map { LegendEntry(label: $0, swatch: .patch(s.color ?? .ink)) } }
  }

  func draw(_ f: AxesFrame) {
    let groupWidth = 0.8
    let barWidth = groupWidth / Double(series.count)
    for (k, s) in series.enumerated() {
      let color = s.color ?? .ink
      for (i, v) in s.values.enumerated() where v.isFinite {
        let x0 = Double(i) - groupWidth / 2 + Double(k) * barWidth
        let a = f.point(x0, 0), b = f.point(x0 + barWidth, v)
        let rect = Rect(x: min(a.x, b.x) + 0.5, y: min(a.y, b.y), width: abs(b.x - a.x) - 1, height: abs(b.y - a.y))
        f.canvas.fill(rect, color)
        if let e = s.errors?[i], e.isFinite, e != 0 {
          let cx = f.x(x0 + barWidth / 2)
          let top = f.y(v + abs(e)), bottom = f.y(v - abs(e))
          let cap = min(6, rect.width / 3)
          f.canvas.line(Point(cx, top), Point(cx, bottom), .ink, width: 1.2)
          f.canvas.line(Point(cx - cap, top), Point(cx + cap, top), .ink, width: 1.2)
          f.canvas.line(Point(cx - cap, bottom), Point(cx + cap, bottom), .ink, width: 1.2)
        }
      }
    }
  }
  func footprint(_ f: AxesFrame) -> [Point] {
    series.enumerated().flatMap { k, s in
      s.values.enumerated().filter { $0.element.isFinite }.flatMap { i, v in
        let x = Double(i) - 0.4 + (Double(k) + 0.5) * 0.8 / Double(series.count)
        return stride(from: 0.0, through: 1.0, by: 0.1).map { f.point(x, v * $0) }
      }
    }
  }
}

final class HistogramItem: PlotItem {
  let values: [Double]
  let binCount: Int?
  let range: ClosedRange<Double>?
  let label: String?
  let color: Color
  let density: Bool
  var edges: [Double] = []
  var heights: [Double] = []

  init(values: [Double], bins: Int?, range: ClosedRange<Double>?, label: String?, color: Color, density: Bool) {
    self.values = values; self.binCount = bins; self.range = range; self.label = label; self.color = color; self.density = density
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    let name = itemName("histogram", label)
    guard !values.isEmpty else { throw PlotError.emptySeries("\(name) has no values") }
    let finite = values.filter(\.isFinite)
    if finite.count < values.count { warn("\(name): skipped \(values.count - finite.count) NaN or infinite values") }
    guard !finite.isEmpty else { throw PlotError.emptySeries("\(name) has no finite value") }
    if let b = binCount, b < 1 { throw PlotError.invalidData("\(name): the number of bins must be at least 1, got \(b)") }
    (edges, heights) = histogramBins(finite, bins: binCount, range: range, density: density)
  }
  var xBounds: ClosedRange<Double>? { edges.first.map { $0...edges.last! } }
  var yBounds: ClosedRange<Double>? { 0...max(heights.max() ?? 1, 1e-12) }
  var legendEntries: [LegendEntry] { label.map { [LegendEntry(label: $0, swatch: .patch(color))] } ?? [] }

  func draw(_ f: AxesFrame) {
    for (i, h) in heights.enumerated() where h > 0 {
      let a = f.point(edges[i], 0), b = f.point(edges[i + 1], h)
      let rect = Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(b.x - a.x), height: abs(b.y - a.y))
      f.canvas.fill(rect, color)
      f.canvas.stroke(rect, .white, width: 0.6)
    }
  }
  func footprint(_ f: AxesFrame) -> [Point] {
    heights.enumerated().flatMap { i, h in
      stride(from: 0.0, through: 1.0, by: 0.1).map { f.point((edges[i] + edges[i + 1]) / 2, h * $0) }
    }
  }
}

/// Bin edges and heights, as numpy.histogram: `bins` equal bins over `range` (default: the data's range;
/// default count: the larger of Sturges' and Freedman-Diaconis' rules, numpy's "auto"); the last bin
/// includes its right edge; values outside `range` are left out.
public func histogramBins(_ values: [Double], bins: Int?, range: ClosedRange<Double>?, density: Bool) -> (edges: [Double], heights: [Double]) {
  var lo = range?.lowerBound ?? values.min() ?? 0
  var hi = range?.upperBound ?? values.max() ?? 1
  if lo == hi { lo -= 0.5; hi += 0.5 }
  let n: Int
  if let bins { n = bins } else {
    let sturges = (hi - lo) / (log2(Double(values.count)) + 1)
    let sorted = values.sorted()
    let q = { (p: Double) in sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))] }
    let iqr = q(0.75) - q(0.25)
    let fd = 2 * iqr / pow(Double(values.count), 1.0 / 3)
    let width = fd > 0 ? min(sturges, fd) : sturges
    n = max(1, min(200, Int(((hi - lo) / width).rounded(.up))))
  }
  let edges = (0...n).map { lo + (hi - lo) * Double($0) / Double(n) }
  var counts = [Double](repeating: 0, count: n)
  for v in values where v >= lo && v <= hi {
    let i = min(n - 1, Int((v - lo) / (hi - lo) * Double(n)))
    counts[i] += 1
  }
  if density {
    let total = counts.reduce(0, +)
    let w = (hi - lo) / Double(n)
    counts = counts.map { total > 0 ? $0 / (total * w) : 0 }
  }
  return (edges, counts)
}

extension Axes {
  /// A grouped bar chart: one group per category, one bar per series, optional error bars.
  public func bars(categories: [String], series: [BarSeries]) {
    var s = series
    for i in s.indices where s[i].color == nil { s[i].color = takeColor() }
    add(BarsItem(categories: categories, series: s))
    xCategories = categories
  }

  /// A bar chart of one series.
  public func bars(categories: [String], values: [Double], errors: [Double]? = nil, label: String? = nil, color: Color? = nil) {
    bars(categories: categories, series: [BarSeries(label, values: values, errors: errors, color: color)])
  }

  /// A histogram of `values` (see `histogramBins` for the binning); NaN values are skipped with a warning.
  public func histogram(_ values: [Double], bins: Int? = nil, range: ClosedRange<Double>? = nil, label: String? = nil, color: Color? = nil, opacity: Double = 0.85, density: Bool = false) {
    add(HistogramItem(values: values, bins: bins, range: range, label: label, color: (color ?? takeColor()).withAlpha(opacity), density: density))
  }
}
