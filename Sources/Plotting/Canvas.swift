import CCairo
import Foundation

/// The output formats a figure can be written in.
public enum FigureFormat: String, CaseIterable, Sendable {
  case png, svg

  /// The format named by a file's extension, or nil.
  public init?(pathExtension: String) {
    self.init(rawValue: pathExtension.lowercased())
  }
}

/// The one drawing surface every figure draws on: a Cairo context over an image surface (PNG) or an SVG
/// surface. Coordinates are in pixels of the figure's logical size, `y` downwards.
public final class Canvas {
  let cr: OpaquePointer
  /// The figure's logical size in pixels.
  public let width: Double
  public let height: Double
  /// Whether each image drawn so far was smoothed, in drawing order (the SVG output marks the crisp ones,
  /// which Cairo's SVG does not: browsers would otherwise blur a 3x3 filter into a gradient).
  var imagesSmoothed: [Bool] = []

  init(context: OpaquePointer, width: Double, height: Double) throws {
    cr = context
    self.width = width
    self.height = height
    // Pinned font options: outlines without hinting, grey antialiasing, so bytes never depend on fontconfig.
    let options = cairo_font_options_create()
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
    cairo_font_options_set_subpixel_order(options, CAIRO_SUBPIXEL_ORDER_DEFAULT)
    cairo_set_font_options(cr, options)
    cairo_font_options_destroy(options)
    cairo_set_font_face(cr, try FontLibrary.shared.face(.regular))
    cairo_set_font_size(cr, 12)
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT)
  }

  // MARK: - State

  /// Runs `body` with the state saved, then restores it (clip, colour, line style, transform).
  public func withSavedState<T>(_ body: () throws -> T) rethrows -> T {
    cairo_save(cr)
    defer { cairo_restore(cr) }
    return try body()
  }

  /// Restricts drawing to `rect` for the rest of the current saved state.
  public func clip(_ rect: Rect) {
    cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
    cairo_clip(cr)
  }

  func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.red, c.green, c.blue, c.alpha) }

  func setStroke(width: Double, dash: Dash) {
    cairo_set_line_width(cr, width)
    let pattern = dash.pattern(width: width)
    pattern.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32($0.count), 0) }
  }

  // MARK: - Shapes

  /// Fills `rect` with `color`.
  public func fill(_ rect: Rect, _ color: Color) {
    setColor(color)
    cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
    cairo_fill(cr)
  }

  /// Strokes the outline of `rect`.
  public func stroke(_ rect: Rect, _ color: Color, width: Double = 1, dash: Dash = .solid) {
    setColor(color)
    setStroke(width: width, dash: dash)
    cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
    cairo_stroke(cr)
  }

  /// A rounded rectangle, filled and/or stroked.
  public func roundedRect(_ r: Rect, radius: Double, fill: Color?, stroke: Color?, width: Double = 1) {
    let rad = min(radius, r.width / 2, r.height / 2)
    cairo_new_sub_path(cr)
    cairo_arc(cr, r.maxX - rad, r.minY + rad, rad, -Double.pi / 2, 0)
    cairo_arc(cr, r.maxX - rad, r.maxY - rad, rad, 0, Double.pi / 2)
    cairo_arc(cr, r.minX + rad, r.maxY - rad, rad, Double.pi / 2, Double.pi)
    cairo_arc(cr, r.minX + rad, r.minY + rad, rad, Double.pi, 3 * Double.pi / 2)
    cairo_close_path(cr)
    paint(fill: fill, stroke: stroke, width: width)
  }

  /// A straight line.
  public func line(_ a: Point, _ b: Point, _ color: Color, width: Double = 1, dash: Dash = .solid) {
    setColor(color)
    setStroke(width: width, dash: dash)
    cairo_move_to(cr, a.x, a.y)
    cairo_line_to(cr, b.x, b.y)
    cairo_stroke(cr)
  }

  /// A connected line through `points` (nothing for fewer than two).
  public func polyline(_ points: [Point], _ color: Color, width: Double = 1, dash: Dash = .solid) {
    guard points.count >= 2 else { return }
    setColor(color)
    setStroke(width: width, dash: dash)
    cairo_move_to(cr, points[0].x, points[0].y)
    for p in points.dropFirst() { cairo_line_to(cr, p.x, p.y) }
    cairo_stroke(cr)
  }

  /// A closed polygon, filled and/or stroked.
  public func polygon(_ points: [Point], fill: Color?, stroke: Color? = nil, width: Double = 1) {
    guard points.count >= 3 else { return }
    cairo_move_to(cr, points[0].x, points[0].y)
    for p in points.dropFirst() { cairo_line_to(cr, p.x, p.y) }
    cairo_close_path(cr)
    paint(fill: fill, stroke: stroke, width: width)
  }

  /// A circle, filled and/or stroked.
  public func circle(_ c: Point, radius: Double, fill: Color?, stroke: Color? = nil, width: Double = 1) {
    cairo_new_sub_path(cr)
    cairo_arc(cr, c.x, c.y, radius, 0, 2 * Double.pi)
    paint(fill: fill, stroke: stroke, width: width)
  }

  /// A cubic Bézier curve from `a` to `b` with control points `c1`, `c2`.
  public func curve(_ a: Point, _ c1: Point, _ c2: Point, _ b: Point, _ color: Color, width: Double) {
    setColor(color)
    setStroke(width: width, dash: .solid)
    cairo_move_to(cr, a.x, a.y)
    cairo_curve_to(cr, c1.x, c1.y, c2.x, c2.y, b.x, b.y)
    cairo_stroke(cr)
  }

  /// An arrow head at `tip` pointing away from `from`.
  public func arrowHead(from: Point, tip: Point, _ color: Color, size: Double = 9) {
    let angle = atan2(tip.y - from.y, tip.x - from.x)
    let spread = 0.42
    let a = Point(tip.x - size * cos(angle - spread), tip.y - size * sin(angle - spread))
    let b = Point(tip.x - size * cos(angle + spread), tip.y - size * sin(angle + spread))
    polygon([tip, a, b], fill: color)
  }

  /// A line from `a` to `b` with an arrow head at `b`.
  public func arrow(_ a: Point, _ b: Point, _ color: Color, width: Double = 1.5, headSize: Double = 9) {
    let len = hypot(b.x - a.x, b.y - a.y)
    guard len > 0 else { return }
    let back = min(headSize * 0.8, len)
    let end = Point(b.x - (b.x - a.x) / len * back, b.y - (b.y - a.y) / len * back)
    line(a, end, color, width: width)
    arrowHead(from: a, tip: b, color, size: headSize)
  }

  /// A marker of `size` pixels across at `p`.
  public func marker(_ kind: Marker, at p: Point, size: Double, fill: Color, stroke: Color? = nil) {
    let r = size / 2
    switch kind {
    case .none: return
    case .circle: circle(p, radius: r, fill: fill, stroke: stroke, width: 0.8)
    case .square:
      cairo_rectangle(cr, p.x - r, p.y - r, size, size)
      paint(fill: fill, stroke: stroke, width: 0.8)
    case .triangle:
      polygon([Point(p.x, p.y - r * 1.15), Point(p.x + r, p.y + r * 0.8), Point(p.x - r, p.y + r * 0.8)],
        fill: fill, stroke: stroke, width: 0.8)
    case .diamond:
      polygon([Point(p.x, p.y - r * 1.2), Point(p.x + r, p.y), Point(p.x, p.y + r * 1.2), Point(p.x - r, p.y)],
        fill: fill, stroke: stroke, width: 0.8)
    case .cross:
      line(Point(p.x - r, p.y - r), Point(p.x + r, p.y + r), fill, width: max(1.2, size / 5))
      line(Point(p.x - r, p.y + r), Point(p.x + r, p.y - r), fill, width: max(1.2, size / 5))
    case .plus:
      line(Point(p.x - r, p.y), Point(p.x + r, p.y), fill, width: max(1.2, size / 5))
      line(Point(p.x, p.y - r), Point(p.x, p.y + r), fill, width: max(1.2, size / 5))
    }
  }

  private func paint(fill: Color?, stroke: Color?, width: Double) {
    if let fill {
      setColor(fill)
      if stroke != nil { cairo_fill_preserve(cr) } else { cairo_fill(cr) }
    }
    if let stroke {
      setColor(stroke)
      setStroke(width: width, dash: .solid)
      cairo_stroke(cr)
    }
    cairo_new_path(cr)
  }

  // MARK: - Text

  /// Sets the face and size every time: cairo_restore brings back an earlier font, so a cached choice
  /// would go stale.
  private func setFont(size: Double, weight: FontWeight) {
    if let face = try? FontLibrary.shared.face(weight) { cairo_set_font_face(cr, face) }
    cairo_set_font_size(cr, size)
  }

  /// The width of `text` and the line height (ascent + descent) at `size` pixels.
  public func measure(_ text: String, size: Double, weight: FontWeight = .regular) -> (width: Double, height: Double) {
    setFont(size: size, weight: weight)
    var te = cairo_text_extents_t()
    cairo_text_extents(cr, text, &te)
    var fe = cairo_font_extents_t()
    cairo_font_extents(cr, &fe)
    return (te.x_advance, fe.ascent + fe.descent)
  }

  /// Draws `text` at `p`, aligned by `anchor` and `baseline`, rotated by `angle` radians about `p`
  /// (negative turns it anticlockwise, so -pi/2 reads upwards).
  public func text(
    _ text: String, at p: Point, size: Double, color: Color = .ink, weight: FontWeight = .regular,
    anchor: TextAnchor = .left, baseline: TextBaseline = .bottom, angle: Double = 0
  ) {
    guard !text.isEmpty else { return }
    setFont(size: size, weight: weight)
    var te = cairo_text_extents_t()
    cairo_text_extents(cr, text, &te)
    var fe = cairo_font_extents_t()
    cairo_font_extents(cr, &fe)
    let dx: Double
    switch anchor {
    case .left: dx = 0
    case .center: dx = -te.x_advance / 2
    case .right: dx = -te.x_advance
    }
    // Centre on the cap height rather than the full ascent, which looks balanced for labels.
    let capHeight = fe.ascent * 0.76
    let dy: Double
    switch baseline {
    case .top: dy = capHeight
    case .middle: dy = capHeight / 2
    case .bottom: dy = -fe.descent * 0.2
    }
    cairo_save(cr)
    cairo_translate(cr, p.x, p.y)
    if angle != 0 { cairo_rotate(cr, angle) }
    setColor(color)
    cairo_move_to(cr, dx, dy)
    cairo_show_text(cr, text)
    cairo_new_path(cr)
    cairo_restore(cr)
  }

  // MARK: - Images

  /// Draws an image of `pixelWidth` x `pixelHeight` RGBA pixels (straight alpha, row-major, top row first)
  /// stretched over `rect`, smoothly or as crisp blocks.
  public func image(rgba: [UInt8], pixelWidth: Int, pixelHeight: Int, in rect: Rect, smooth: Bool) {
    guard pixelWidth > 0, pixelHeight > 0, rgba.count == pixelWidth * pixelHeight * 4 else { return }
    guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(pixelWidth), Int32(pixelHeight))
    else { return }
    defer { cairo_surface_destroy(surface) }
    cairo_surface_flush(surface)
    let stride = Int(cairo_image_surface_get_stride(surface))
    let data = cairo_image_surface_get_data(surface)!
    for row in 0..<pixelHeight {
      let line = (data + row * stride).withMemoryRebound(to: UInt32.self, capacity: pixelWidth) { $0 }
      for col in 0..<pixelWidth {
        let i = (row * pixelWidth + col) * 4
        let a = UInt32(rgba[i + 3])
        // Cairo wants premultiplied alpha, native-endian 0xAARRGGBB.
        let r = UInt32(rgba[i]) * a / 255
        let g = UInt32(rgba[i + 1]) * a / 255
        let b = UInt32(rgba[i + 2]) * a / 255
        line[col] = (a << 24) | (r << 16) | (g << 8) | b
      }
    }
    cairo_surface_mark_dirty(surface)
    imagesSmoothed.append(smooth)
    cairo_save(cr)
    cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
    cairo_clip(cr)
    cairo_translate(cr, rect.x, rect.y)
    cairo_scale(cr, rect.width / Double(pixelWidth), rect.height / Double(pixelHeight))
    cairo_set_source_surface(cr, surface, 0, 0)
    let pattern = cairo_get_source(cr)
    cairo_pattern_set_filter(pattern, smooth ? CAIRO_FILTER_BILINEAR : CAIRO_FILTER_NEAREST)
    cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
    cairo_paint(cr)
    cairo_restore(cr)
  }
}
