import Foundation

/// An sRGB colour with components in 0...1 and an alpha (opacity) in 0...1.
public struct Color: Equatable, Hashable, Sendable, CustomStringConvertible {
  public var red: Double
  public var green: Double
  public var blue: Double
  public var alpha: Double

  /// A colour from components in 0...1.
  public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
    self.red = red
    self.green = green
    self.blue = blue
    self.alpha = alpha
  }

  /// A colour from a 24-bit hexadecimal value such as `0x1f77b4`.
  public init(hex: UInt32, alpha: Double = 1) {
    self.init(
      red: Double((hex >> 16) & 0xff) / 255, green: Double((hex >> 8) & 0xff) / 255,
      blue: Double(hex & 0xff) / 255, alpha: alpha)
  }

  /// The same colour with another alpha.
  public func withAlpha(_ alpha: Double) -> Color {
    Color(red: red, green: green, blue: blue, alpha: alpha)
  }

  /// The colour a fraction `t` of the way from `self` to `other` (alpha included).
  public func mixed(with other: Color, _ t: Double) -> Color {
    Color(
      red: red + (other.red - red) * t, green: green + (other.green - green) * t,
      blue: blue + (other.blue - blue) * t, alpha: alpha + (other.alpha - alpha) * t)
  }

  /// Relative luminance (Rec. 709 weights on the sRGB components): above ~0.5 wants dark text.
  public var luminance: Double { 0.2126 * red + 0.7152 * green + 0.0722 * blue }

  /// `#rrggbb`.
  public var description: String {
    let c = [red, green, blue].map { Int(($0 * 255).rounded()).clamped(to: 0...255) }
    return String(format: "#%02x%02x%02x", c[0], c[1], c[2])
  }

  public static let black = Color(hex: 0x000000)
  public static let white = Color(hex: 0xffffff)
  public static let clear = Color(red: 0, green: 0, blue: 0, alpha: 0)
  /// Text and axis lines.
  public static let ink = Color(hex: 0x262626)
  /// Grid lines.
  public static let gridGrey = Color(hex: 0xe3e3e3)
  /// Secondary text (tick labels, captions).
  public static let mutedInk = Color(hex: 0x555555)

  /// TensorFlow Playground's blue: positive values and class 1.
  public static let positive = Color(hex: 0x0877bd)
  /// TensorFlow Playground's orange: negative values and class 0.
  public static let negative = Color(hex: 0xf59322)
}

// MARK: - Categorical palette

/// The Okabe-Ito palette: eight colours that stay distinct under the common colour-vision deficiencies.
/// Series without an explicit colour take these in order (black is moved last).
public enum Palette {
  public static let okabeIto: [Color] = [
    Color(hex: 0x0072b2),  // blue
    Color(hex: 0xe69f00),  // orange
    Color(hex: 0x009e73),  // bluish green
    Color(hex: 0xd55e00),  // vermillion
    Color(hex: 0xcc79a7),  // reddish purple
    Color(hex: 0x56b4e9),  // sky blue
    Color(hex: 0xf0e442),  // yellow
    Color(hex: 0x000000),  // black
  ]

  /// The `index`-th categorical colour, cycling after eight.
  public static func color(_ index: Int) -> Color {
    okabeIto[((index % okabeIto.count) + okabeIto.count) % okabeIto.count]
  }

  /// Class colours for two-class plots: class 0 orange, class 1 blue (TensorFlow Playground), more classes
  /// from the categorical palette.
  public static func classColor(_ label: Int, classCount: Int) -> Color {
    if classCount <= 2 { return label == 0 ? Color.negative : Color.positive }
    return color(label)
  }
}

extension Comparable {
  func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
