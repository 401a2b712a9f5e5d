import Foundation

// MARK: - Heatmap

final class HeatmapItem: PlotItem {
  let values: [Double]
  let rows: Int, columns: Int
  let x: ClosedRange<Double>, y: ClosedRange<Double>
  let colormap: Colormap
  var range: ClosedRange<Double>?
  let smooth: Bool
  let opacity: Double
  let name: String
  var resolvedRange: ClosedRange<Double> = 0...1

  init(values: [Double], rows: Int, columns: Int, x: ClosedRange<Double>, y: ClosedRange<Double>, colormap: Colormap, range: ClosedRange<Double>?, smooth: Bool, opacity: Double, name: String) {
    self.values = values; self.rows = rows; self.columns = columns; self.x = x; self.y = y; self.colormap = colormap
    self.range = range; self.smooth = smooth; self.opacity = opacity; self.name = name
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    guard rows > 0, columns > 0 else { throw PlotError.emptySeries("\(name) has an empty grid (\(rows)x\(columns)): give it at least one cell") }
    guard values.count == rows * columns else {
      throw PlotError.lengthMismatch("\(name): a \(rows)x\(columns) grid needs \(rows * columns) values but got \(values.count)")
    }
    guard xScale == .linear, yScale == .linear else { throw PlotError.invalidData("\(name) needs linear axes, not log") }
    guard x.upperBound > x.lowerBound, y.upperBound > y.lowerBound, x.lowerBound.isFinite, x.upperBound.isFinite, y.lowerBound.isFinite, y.upperBound.isFinite else {
      throw PlotError.invalidData("\(name): the extent x \(x), y \(y) must be finite, non-empty ranges")
    }
    let finite = values.filter(\.isFinite)
    if finite.count < values.count { warn("\(name): \(values.count - finite.count) NaN or infinite cells left transparent") }
    guard let lo = finite.min(), let hi = finite.max() else { throw PlotError.emptySeries("\(name) has no finite value to colour") }
    resolvedRange = range ?? (lo...hi)
  }
  var xBounds: ClosedRange<Double>? { x }
  var yBounds: ClosedRange<Double>? { y }
  var isSticky: Bool { true }

  func draw(_ f: AxesFrame) {
    var rgba = [UInt8](repeating: 0, count: rows * columns * 4)
    // Image rows go top to bottom; grid row 0 is at the bottom of the extent.
    for r in 0..<rows {
      for c in 0..<columns {
        let v = values[r * columns + c]
        let o = ((rows - 1 - r) * columns + c) * 4
        guard v.isFinite else { continue }
        let col = colormap.color(v, in: resolvedRange)
        rgba[o] = UInt8((col.red * 255).rounded())
        rgba[o + 1] = UInt8((col.green * 255).rounded())
        rgba[o + 2] = UInt8((col.blue * 255).rounded())
        rgba[o + 3] = UInt8((opacity * col.alpha * 255).rounded())
      }
    }
    let a = f.point(x.lowerBound, y.upperBound)
    let b = f.point(x.upperBound, y.lowerBound)
    let rect = Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(b.x - a.x), height: abs(b.y - a.y))
    f.canvas.image(rgba: rgba, pixelWidth: columns, pixelHeight: rows, in: rect, smooth: smooth)
  }
}

/// The centres of `count` equal cells covering `range`: where a heatmap's or contour's values belong.
public func cellCenters(_ range: ClosedRange<Double>, count: Int) -> [Double] {
  let step = (range.upperBound - range.lowerBound) / Double(count)
  return (0..<count).map { range.lowerBound + (Double($0) + 0.5) * step }
}

// MARK: - Contour lines

final class ContourItem: PlotItem {
  let values: [Double]
  let rows: Int, columns: Int
  let x: ClosedRange<Double>, y: ClosedRange<Double>
  var levels: [Double]
  let levelCount: Int
  let color: Color?
  let colormap: Colormap
  let showLabels: Bool
  let width: Double
  var lines: [(level: Double, paths: [[Point]])] = []  // in data units

  init(values: [Double], rows: Int, columns: Int, x: ClosedRange<Double>, y: ClosedRange<Double>, levels: [Double]?, levelCount: Int, color: Color?, colormap: Colormap, showLabels: Bool, width: Double) {
    self.values = values; self.rows = rows; self.columns = columns; self.x = x; self.y = y
    self.levels = levels ?? []; self.levelCount = levelCount; self.color = color; self.colormap = colormap
    self.showLabels = showLabels; self.width = width
  }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    guard rows >= 2, columns >= 2 else { throw PlotError.emptySeries("contour needs a grid of at least 2x2 values, got \(rows)x\(columns)") }
    guard values.count == rows * columns else {
      throw PlotError.lengthMismatch("contour: a \(rows)x\(columns) grid needs \(rows * columns) values but got \(values.count)")
    }
    guard xScale == .linear, yScale == .linear else { throw PlotError.invalidData("contour needs linear axes, not log") }
    let finite = values.filter(\.isFinite)
    if finite.count < values.count { warn("contour: \(values.count - finite.count) NaN or infinite values; no lines are drawn through them") }
    guard let lo = finite.min(), let hi = finite.max() else { throw PlotError.emptySeries("contour has no finite value") }
    if levels.isEmpty {
      guard hi > lo else { throw PlotError.invalidData("contour: all values equal \(lo), so there is no line to draw") }
      levels = Ticks.linear(lo, hi, maxTicks: levelCount + 2).filter { $0 > lo && $0 < hi }
    }
    let xs = cellCenters(x, count: columns)
    let ys = cellCenters(y, count: rows)
    lines = levels.map { level in
      let segs = marchingSquares(values, rows: rows, columns: columns, level: level)
      let paths = joinSegments(segs).map { path in
        path.map { Point(xs[0] + ($0.x) * (xs.count > 1 ? xs[1] - xs[0] : 0), ys[0] + ($0.y) * (ys.count > 1 ? ys[1] - ys[0] : 0)) }
      }
      return (level, paths)
    }
  }
  var xBounds: ClosedRange<Double>? { x }
  var yBounds: ClosedRange<Double>? { y }
  var isSticky: Bool { true }

  /// A level's colour: along the map's first 85%, so that no line is too pale to see on white.
  func levelColor(_ level: Double) -> Color {
    if let color { return color }
    let lo = levels.first ?? 0, hi = levels.last ?? 1
    return colormap.color(at: hi > lo ? 0.85 * (level - lo) / (hi - lo) : 0)
  }

  func draw(_ f: AxesFrame) {
    for (level, paths) in lines {
      let c = levelColor(level)
      for p in paths { f.canvas.polyline(p.map { f.point($0.x, $0.y) }, c, width: width) }
    }
    guard showLabels else { return }
    for (level, paths) in lines {
      // Label each level once, at the middle of its longest line.
      let pixelPaths = paths.map { $0.map { f.point($0.x, $0.y) } }
      let lengths = pixelPaths.map { p in zip(p, p.dropFirst()).reduce(0) { $0 + hypot($1.1.x - $1.0.x, $1.1.y - $1.0.y) } }
      guard let k = lengths.indices.max(by: { lengths[$0] < lengths[$1] }), lengths[k] > 40 else { continue }
      // Halfway along the longest line, by length.
      var at = pixelPaths[k][0]
      var walked = 0.0
      for (a, b) in zip(pixelPaths[k], pixelPaths[k].dropFirst()) {
        let d = hypot(b.x - a.x, b.y - a.y)
        if walked + d >= lengths[k] / 2 {
          let t = d > 0 ? (lengths[k] / 2 - walked) / d : 0
          at = Point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)
          break
        }
        walked += d
      }
      let text = Ticks.compact(level)
      let (w, h) = f.canvas.measure(text, size: 10)
      f.canvas.roundedRect(Rect(x: at.x - w / 2 - 2, y: at.y - h / 2, width: w + 4, height: h), radius: 2, fill: Color.white.withAlpha(0.85), stroke: nil)
      let c = levelColor(level)
      f.canvas.text(text, at: at, size: 10, color: c.luminance > 0.8 ? .ink : c.mixed(with: .black, 0.3), anchor: .center, baseline: .middle)
    }
  }
}

/// Marching squares: the segments where the bilinear surface through the grid crosses `level`, in grid
/// coordinates (column, row). Saddles are split by the value at the cell's centre.
func marchingSquares(_ v: [Double], rows: Int, columns: Int, level: Double) -> [(Point, Point)] {
  var segs: [(Point, Point)] = []
  func at(_ r: Int, _ c: Int) -> Double { v[r * columns + c] }
  for r in 0..<(rows - 1) {
    for c in 0..<(columns - 1) {
      let a = at(r, c), b = at(r, c + 1), d = at(r + 1, c), e = at(r + 1, c + 1)  // a b bottom, d e top
      guard a.isFinite, b.isFinite, d.isFinite, e.isFinite else { continue }
      let x0 = Double(c), y0 = Double(r)
      func interp(_ p: Double, _ q: Double) -> Double { p == q ? 0.5 : (level - p) / (q - p) }
      let bottom = Point(x0 + interp(a, b), y0)
      let top = Point(x0 + interp(d, e), y0 + 1)
      let left = Point(x0, y0 + interp(a, d))
      let right = Point(x0 + 1, y0 + interp(b, e))
      var code = 0
      if a > level { code |= 1 }
      if b > level { code |= 2 }
      if e > level { code |= 4 }
      if d > level { code |= 8 }
      switch code {
      case 0, 15: break
      case 1, 14: segs.append((left, bottom))
      case 2, 13: segs.append((bottom, right))
      case 3, 12: segs.append((left, right))
      case 4, 11: segs.append((right, top))
      case 6, 9: segs.append((bottom, top))
      case 7, 8: segs.append((left, top))
      case 5, 10:
        let centreAbove = (a + b + d + e) / 4 > level
        if (code == 5) == centreAbove {
          segs.append((left, top)); segs.append((bottom, right))
        } else {
          segs.append((left, bottom)); segs.append((right, top))
        }
      default: break
      }
    }
  }
  return segs
}

/// Joins segments that share end points into polylines.
func joinSegments(_ segs: [(Point, Point)]) -> [[Point]] {
  struct Key: Hashable { let x: Int64, y: Int64 }
  func key(_ p: Point) -> Key { Key(x: Int64((p.x * 1e6).rounded()), y: Int64((p.y * 1e6).rounded())) }
  var byEnd: [Key: [Int]] = [:]
  for (i, s) in segs.enumerated() {
    byEnd[key(s.0), default: []].append(i)
    byEnd[key(s.1), default: []].append(i)
  }
  var used = [Bool](repeating: false, count: segs.count)
  var paths: [[Point]] = []
  for start in segs.indices where !used[start] {
    used[start] = true
    var path = [segs[start].0, segs[start].1]
    // Grow forwards from the last point, then backwards from the first.
    for forward in [true, false] {
      while true {
        let end = forward ? path.last! : path.first!
        guard let next = byEnd[key(end)]?.first(where: { !used[$0] }) else { break }
        used[next] = true
        let s = segs[next]
        let other = key(s.0) == key(end) ? s.1 : s.0
        if forward { path.append(other) } else { path.insert(other, at: 0) }
      }
    }
    paths.append(path)
  }
  return paths
}

// MARK: - Matrix with numbers

final class MatrixItem: PlotItem {
  let values: [[Double]]
  let colormap: Colormap
  let range: ClosedRange<Double>?
  let showValues: Bool
  let format: (Double) -> String
  var resolved: ClosedRange<Double> = 0...1

  init(values: [[Double]], colormap: Colormap, range: ClosedRange<Double>?, showValues: Bool, format: @escaping (Double) -> String) {
    self.values = values; self.colormap = colormap; self.range = range; self.showValues = showValues; self.format = format
  }
  var rows: Int { values.count }
  var columns: Int { values.first?.count ?? 0 }

  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {
    guard rows > 0, columns > 0 else { throw PlotError.emptySeries("matrix has no cells: give it at least one row and one column") }
    for (i, row) in values.enumerated() where row.count != columns {
      throw PlotError.lengthMismatch("matrix: row \(i) has \(row.count) values but row 0 has \(columns); rows must have the same length")
    }
    let finite = values.flatMap { $0 }.filter(\.isFinite)
    if finite.count < rows * columns { warn("matrix: \(rows * columns - finite.count) NaN or infinite cells left blank") }
    guard let lo = finite.min(), let hi = finite.max() else { throw PlotError.emptySeries("matrix has no finite value") }
    resolved = range ?? (min(lo, 0)...max(hi, lo + 1e-12))
  }
  var xBounds: ClosedRange<Double>? { -0.5...(Double(columns) - 0.5) }
  var yBounds: ClosedRange<Double>? { -0.5...(Double(rows) - 0.5) }
  var isSticky: Bool { true }

  func draw(_ f: AxesFrame) {
    let cellW = abs(f.x(1) - f.x(0))
    let cellH = abs(f.y(1) - f.y(0))
    let fontSize = min(12, cellH * 0.4, cellW * 0.3)
    for r in 0..<rows {
      for c in 0..<columns {
        let v = values[r][c]
        let centre = f.point(Double(c), Double(r))
        let rect = Rect(x: centre.x - cellW / 2, y: centre.y - cellH / 2, width: cellW, height: cellH)
        guard v.isFinite else { continue }
        let col = colormap.color(v, in: resolved)
        f.canvas.fill(rect, col)
        if showValues && fontSize >= 5 {
          f.canvas.text(format(v), at: centre, size: fontSize, color: col.luminance > 0.5 ? .ink : .white, anchor: .center, baseline: .middle)
        }
      }
    }
  }
}

// MARK: - Images

/// How the values of an RGB image are ordered.
public enum PixelLayout: Sendable {
  /// R, G, B for each pixel in turn (HWC).
  case interleaved
  /// All red, then all green, then all blue (CHW), as CIFAR-10 and NCHW tensors store them.
  case planar
}

/// An image to show in an axes or an image grid: RGBA pixels, top row first, and an optional caption.
public struct ImageTile: Sendable {
  public let width: Int
  public let height: Int
  /// Straight-alpha RGBA, row-major, top row first.
  public let rgba: [UInt8]
  public var caption: String?

  /// An RGB image from bytes (0-255).
  public init(rgb: [UInt8], width: Int, height: Int, layout: PixelLayout = .interleaved, caption: String? = nil) throws {
    try Self.checkSize(rgb.count, width, height, 3)
    let n = width * height
    var out = [UInt8](repeating: 255, count: n * 4)
    for i in 0..<n {
      for ch in 0..<3 { out[i * 4 + ch] = layout == .planar ? rgb[ch * n + i] : rgb[i * 3 + ch] }
    }
    self.width = width; self.height = height; rgba = out; self.caption = caption
  }

  /// An RGB image from real values mapped linearly from `range` (default: the values' own min...max, which
  /// is how convolution filters are shown) to 0-255.
  public init(rgbValues: [Double], width: Int, height: Int, layout: PixelLayout = .planar, range: ClosedRange<Double>? = nil, caption: String? = nil) throws {
    try Self.checkSize(rgbValues.count, width, height, 3)
    let r = Self.range(rgbValues, range)
    let bytes = rgbValues.map { Self.byte($0, r) }
    try self.init(rgb: bytes, width: width, height: height, layout: layout, caption: caption)
  }

  /// A one-channel image through a colour map (grey by default), mapped from `range` (default: the values'
  /// own min...max).
  public init(gray values: [Double], width: Int, height: Int, range: ClosedRange<Double>? = nil, colormap: Colormap = .gray, caption: String? = nil) throws {
    try Self.checkSize(values.count, width, height, 1)
    let r = Self.range(values, range)
    var out = [UInt8](repeating: 0, count: values.count * 4)
    for (i, v) in values.enumerated() {
      let c = colormap.color(v, in: r)
      out[i * 4] = UInt8((c.red * 255).rounded()); out[i * 4 + 1] = UInt8((c.green * 255).rounded())
      out[i * 4 + 2] = UInt8((c.blue * 255).rounded()); out[i * 4 + 3] = v.isFinite ? 255 : 0
    }
    self.width = width; self.height = height; rgba = out; self.caption = caption
  }

  private static func checkSize(_ count: Int, _ w: Int, _ h: Int, _ channels: Int) throws {
    guard w > 0, h > 0 else { throw PlotError.invalidData("an image needs a positive size, got \(w)x\(h)") }
    guard count == w * h * channels else {
      throw PlotError.lengthMismatch("a \(w)x\(h) image with \(channels) channel\(channels == 1 ? "" : "s") needs \(w * h * channels) values but got \(count)")
    }
  }
  private static func range(_ v: [Double], _ given: ClosedRange<Double>?) -> ClosedRange<Double> {
    if let given { return given }
    let f = v.filter(\.isFinite)
    let lo = f.min() ?? 0, hi = f.max() ?? 1
    return hi > lo ? lo...hi : (lo - 0.5)...(lo + 0.5)
  }
  private static func byte(_ v: Double, _ r: ClosedRange<Double>) -> UInt8 {
    guard v.isFinite else { return 0 }
    let t = ((v - r.lowerBound) / (r.upperBound - r.lowerBound)).clamped(to: 0...1)
    return UInt8((t * 255).rounded())
  }
}

final class ImageItem: PlotItem {
  let tile: ImageTile
  init(tile: ImageTile) { self.tile = tile }
  func prepare(xScale: AxisScale, yScale: AxisScale, warn: (String) -> Void) throws {}
  var xBounds: ClosedRange<Double>? { 0...Double(tile.width) }
  var yBounds: ClosedRange<Double>? { 0...Double(tile.height) }
  var isSticky: Bool { true }
  func draw(_ f: AxesFrame) {
    let a = f.point(0, 0), b = f.point(Double(tile.width), Double(tile.height))
    let rect = Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(b.x - a.x), height: abs(b.y - a.y))
    f.canvas.image(rgba: tile.rgba, pixelWidth: tile.width, pixelHeight: tile.height, in: rect, smooth: false)
    f.canvas.stroke(rect, Color(hex: 0xbbbbbb), width: 0.5)
  }
}

// MARK: - Public API

extension Axes {
  /// A filled heatmap: `values[r * columns + c]` is the value at the centre of cell (r, c), row 0 at the
  /// bottom of `y`; the grid covers `x` and `y` exactly (see `cellCenters`). `colorbar` adds a colour bar
  /// with that label. NaN cells stay transparent, with a warning.
  public func heatmap(
    _ values: [Double], rows: Int, columns: Int, x: ClosedRange<Double>, y: ClosedRange<Double>,
    colormap: Colormap = .viridis, range: ClosedRange<Double>? = nil, smooth: Bool = false, opacity: Double = 1,
    colorbar: String? = nil
  ) {
    let item = HeatmapItem(values: values, rows: rows, columns: columns, x: x, y: y, colormap: colormap, range: range, smooth: smooth, opacity: opacity, name: "heatmap")
    add(item)
    showsGrid = false
    if let colorbar {
      let finite = values.filter(\.isFinite)
      let r = range ?? ((finite.min() ?? 0)...(max(finite.max() ?? 1, (finite.min() ?? 0) + 1e-12)))
      self.colorbar = ColorbarSpec(colormap: colormap, range: r, label: colorbar.isEmpty ? nil : colorbar)
    }
  }

  /// The decision-boundary view of TensorFlow Playground: the probability of class 1 over a grid as soft
  /// orange (0) to blue (1) regions. Put the data on top with `scatter(_:_:classes:)`.
  public func decisionRegions(_ probability: [Double], rows: Int, columns: Int, x: ClosedRange<Double>, y: ClosedRange<Double>, colorbar: Bool = false) {
    heatmap(probability, rows: rows, columns: columns, x: x, y: y, colormap: .orangeBlue, range: 0...1, smooth: true, opacity: 0.62, colorbar: colorbar ? "P(class 1)" : nil)
  }

  /// Contour lines of a grid of values (laid out as in `heatmap`) by marching squares, at `levels` or at
  /// about `levelCount` nice levels, coloured by `color` or along `colormap`, with level labels.
  public func contour(
    _ values: [Double], rows: Int, columns: Int, x: ClosedRange<Double>, y: ClosedRange<Double>,
    levels: [Double]? = nil, levelCount: Int = 8, color: Color? = nil, colormap: Colormap = .viridis,
    labels: Bool = true, width: Double = 1.2
  ) {
    add(ContourItem(values: values, rows: rows, columns: columns, x: x, y: y, levels: levels, levelCount: levelCount, color: color, colormap: colormap, showLabels: labels, width: width))
    showsGrid = false
  }

  /// A matrix of coloured cells with their numbers (a confusion matrix): row 0 at the top; `rowLabels`
  /// down the left, `columnLabels` along the bottom.
  public func matrix(
    _ values: [[Double]], rowLabels: [String]? = nil, columnLabels: [String]? = nil, colormap: Colormap = .blues,
    range: ClosedRange<Double>? = nil, showValues: Bool = true, colorbar: String? = nil,
    format: @escaping (Double) -> String = { $0.rounded() == $0 && abs($0) < 1e7 ? String(Int($0)) : Ticks.compact($0) }
  ) {
    add(MatrixItem(values: values, colormap: colormap, range: range, showValues: showValues, format: format))
    xCategories = columnLabels ?? (0..<(values.first?.count ?? 0)).map(String.init)
    yCategories = rowLabels ?? (0..<values.count).map(String.init)
    yInverted = true
    showsGrid = false
    legend = .none
    if let colorbar {
      let finite = values.flatMap { $0 }.filter(\.isFinite)
      let r = range ?? (min(finite.min() ?? 0, 0)...max(finite.max() ?? 1, 1e-12))
      self.colorbar = ColorbarSpec(colormap: colormap, range: r, label: colorbar.isEmpty ? nil : colorbar)
    }
  }

  /// An image filling the axes without ticks, its caption as the title.
  public func image(_ tile: ImageTile) {
    add(ImageItem(tile: tile))
    if title == nil { title = tile.caption }
    frameless = true
    equalAspect = true
    yInverted = true
    showsGrid = false
  }
}

extension Figure {
  /// A grid of images with their captions (CIFAR samples, filters, feature maps), `columns` wide, each tile
  /// drawn `tileSize` pixels across.
  public static func imageGrid(_ tiles: [ImageTile], columns: Int, tileSize: Int = 96, title: String? = nil, captionSize: Double = 11) -> Figure {
    precondition(columns > 0, "an image grid needs at least one column")
    let rows = max(1, (tiles.count + columns - 1) / columns)
    let hasCaptions = tiles.contains { $0.caption != nil }
    let cellH = tileSize + (hasCaptions ? Int(captionSize * 2.2) : 8)
    let fig = Figure(
      width: columns * (tileSize + 10) + 10, height: rows * cellH + (title == nil ? 10 : 40),
      rows: rows, columns: max(1, columns), title: title)
    fig.spacing = 4
    for (i, t) in tiles.enumerated() {
      let ax = fig.axes(at: i)
      ax.titleFontSize = captionSize
      ax.titleWeight = .regular
      ax.image(t)
    }
    return fig
  }
}
