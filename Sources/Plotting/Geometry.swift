import Foundation

/// A point in pixels (or in a diagram's own units).
public struct Point: Equatable, Sendable {
  public var x: Double
  public var y: Double
  public init(_ x: Double, _ y: Double) {
    self.x = x
    self.y = y
  }
}

/// An axis-aligned rectangle; `y` grows downwards on the canvas.
public struct Rect: Equatable, Sendable {
  public var x: Double
  public var y: Double
  public var width: Double
  public var height: Double
  public init(x: Double, y: Double, width: Double, height: Double) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }
  public var minX: Double { x }
  public var maxX: Double { x + width }
  public var minY: Double { y }
  public var maxY: Double { y + height }
  public var midX: Double { x + width / 2 }
  public var midY: Double { y + height / 2 }
  public func contains(_ p: Point) -> Bool { p.x >= minX && p.x <= maxX && p.y >= minY && p.y <= maxY }
  /// The rectangle moved in by the given amounts.
  public func inset(left: Double = 0, top: Double = 0, right: Double = 0, bottom: Double = 0) -> Rect {
    Rect(x: x + left, y: y + top, width: max(1, width - left - right), height: max(1, height - top - bottom))
  }
  public func intersects(_ o: Rect) -> Bool {
    minX < o.maxX && o.minX < maxX && minY < o.maxY && o.minY < maxY
  }
}

/// Where a text sits relative to its anchor point.
public enum TextAnchor: Sendable {
  case left, center, right
}

/// Where a text sits vertically relative to its anchor point.
public enum TextBaseline: Sendable {
  case top, middle, bottom
}

/// A stroke pattern.
public enum Dash: Sendable, Equatable {
  case solid, dashed, dotted, dashDot
  func pattern(width: Double) -> [Double] {
    let w = max(width, 1)
    switch self {
    case .solid: return []
    case .dashed: return [3.7 * w, 1.6 * w]
    case .dotted: return [1 * w, 1.65 * w]
    case .dashDot: return [6.4 * w, 1.6 * w, 1 * w, 1.6 * w]
    }
  }
}

/// A marker drawn at each data point.
public enum Marker: Sendable, Equatable, CaseIterable {
  case none, circle, square, triangle, diamond, cross, plus
}
