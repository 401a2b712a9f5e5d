import Foundation

/// How an axis maps data to position.
public enum AxisScale: Sendable, Equatable {
  case linear
  /// Base-10 logarithmic: values <= 0 cannot be shown and are skipped with a warning.
  case log
}

/// A tick: its data value and its label (empty for an unlabelled minor tick).
public struct Tick: Equatable, Sendable {
  public var value: Double
  public var label: String
  public var isMinor: Bool
  public init(value: Double, label: String, isMinor: Bool = false) {
    self.value = value
    self.label = label
    self.isMinor = isMinor
  }
}

/// Tick placement in the way of matplotlib's MaxNLocator (linear) and LogLocator (log).
public enum Ticks {
  /// The step multiples MaxNLocator uses by default, per decade.
  static let steps: [Double] = [1, 2, 2.5, 5, 10]

  /// At most `maxTicks` evenly spaced "nice" values (a step of 1, 2, 2.5 or 5 times a power of ten) that lie
  /// in `lower...upper`.
  public static func linear(_ lower: Double, _ upper: Double, maxTicks: Int = 8) -> [Double] {
    guard lower.isFinite, upper.isFinite, upper > lower else { return lower.isFinite ? [lower] : [] }
    let step = niceStep(lower, upper, maxTicks: maxTicks)
    let first = (lower / step).rounded(.up)
    let last = (upper / step).rounded(.down)
    guard last >= first else { return [] }
    let eps = 1e-9
    // Round away binary noise (3 x 0.2 = 0.6000000000000001) at a few digits below the step.
    let unit = pow(10, (log10(step)).rounded(.down) - 3)
    var values: [Double] = []
    var k = first
    while k <= last + eps {
      var v = ((k * step) / unit).rounded() * unit
      if abs(v) < step * 1e-9 { v = 0 }  // no "-0" from rounding
      values.append(v)
      k += 1
    }
    return values
  }

  /// The smallest step from `steps` x 10^k giving at most `maxTicks` ticks in the range.
  static func niceStep(_ lower: Double, _ upper: Double, maxTicks: Int) -> Double {
    let bins = Double(max(1, maxTicks - 1))
    let raw = (upper - lower) / bins
    let scale = pow(10, (log10(raw)).rounded(.down))
    for s in steps {
      let step = s * scale
      let count = (upper / step).rounded(.down) - (lower / step).rounded(.up) + 1
      if count <= Double(maxTicks) { return step }
    }
    return 10 * scale
  }

  /// Labels for linear ticks: as many decimals as the step needs; scientific notation for very large or small
  /// magnitudes; a true minus sign.
  public static func labels(for values: [Double]) -> [String] {
    guard values.count > 0 else { return [] }
    let step = values.count > 1 ? abs(values[1] - values[0]) : max(abs(values[0]), 1)
    let biggest = values.map(abs).max() ?? 0
    if biggest >= 1e6 || (biggest > 0 && biggest < 1e-3) {
      return values.map { formatScientific($0) }
    }
    var decimals = max(0, -Int((log10(step)).rounded(.down)))
    // 2.5 x 10^k steps need one more decimal than the power suggests.
    let mantissa = step / pow(10, Double(-decimals))
    if values.count > 1, abs(mantissa - mantissa.rounded()) > 1e-6 {
      decimals += 1
    }
    return values.map { formatFixed($0, decimals: min(decimals, 10)) }
  }

  static func formatFixed(_ v: Double, decimals: Int) -> String {
    var s = String(format: "%.\(decimals)f", v)
    if s.hasPrefix("-") {
      // "-0.0" reads as zero.
      if Double(s) == 0 { s.removeFirst() } else { s = "\u{2212}" + s.dropFirst() }
    }
    return s
  }

  static func formatScientific(_ v: Double) -> String {
    if v == 0 { return "0" }
    var s = String(format: "%.3g", v).replacingOccurrences(of: "e+0", with: "e").replacingOccurrences(of: "e+", with: "e")
      .replacingOccurrences(of: "e-0", with: "e-")
    if s.hasPrefix("-") { s = "\u{2212}" + s.dropFirst() }
    return s
  }

  /// A compact label for one number, as in contour levels and cell values.
  public static func compact(_ v: Double, digits: Int = 3) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "\u{2212}inf") }
    let a = abs(v)
    if a != 0 && (a >= 1e5 || a < 1e-3) { return formatScientific(v) }
    var s = String(format: "%.\(digits)g", v)
    if s.contains("e") { s = String(format: "%.\(max(0, digits - 1))f", v) }
    if s.hasPrefix("-") { s = "\u{2212}" + s.dropFirst() }
    return s
  }

  /// Ticks for a log axis over `lower...upper` (both > 0): decades as major ticks (every k-th if there are
  /// many), 2...9 as minor ticks; within less than about a decade, 1-2-5 values are labelled instead.
  public static func log(_ lower: Double, _ upper: Double, maxTicks: Int = 8) -> [Tick] {
    guard lower > 0, upper > lower, lower.isFinite, upper.isFinite else { return [] }
    let lo = log10(lower)
    let hi = log10(upper)
    let firstDecade = Int(lo.rounded(.down))
    let lastDecade = Int(hi.rounded(.up))
    let inside = { (v: Double) in v >= lower * (1 - 1e-9) && v <= upper * (1 + 1e-9) }
    let decadesInside = (firstDecade...lastDecade).filter { inside(pow(10, Double($0))) }
    var ticks: [Tick] = []
    if decadesInside.count >= 2 {
      let every = max(1, Int((Double(decadesInside.count) / Double(maxTicks)).rounded(.up)))
      for d in decadesInside where (d - decadesInside[0]) % every == 0 {
        ticks.append(Tick(value: pow(10, Double(d)), label: powerOfTen(d)))
      }
      if every == 1 && decadesInside.count <= 8 {
        for d in firstDecade...lastDecade {
          for m in 2...9 {
            let v = Double(m) * pow(10, Double(d))
            if inside(v) { ticks.append(Tick(value: v, label: "", isMinor: true)) }
          }
        }
      }
    } else {
      // Less than two decades in view: label 1, 2 and 5 times each power of ten.
      for d in firstDecade...lastDecade {
        for m in [1.0, 2, 5] {
          let v = m * pow(10, Double(d))
          if inside(v) { ticks.append(Tick(value: v, label: compact(v))) }
        }
      }
      if ticks.count < 2 {
        // Narrower still: fall back to linear nice ticks.
        let values = linear(lower, upper, maxTicks: maxTicks).filter { $0 > 0 }
        ticks = zip(values, labels(for: values)).map { Tick(value: $0, label: $1) }
      }
    }
    return ticks
  }

  /// "10⁻³" with Unicode superscripts.
  static func powerOfTen(_ exponent: Int) -> String {
    if exponent == 0 { return "1" }
    if exponent == 1 { return "10" }
    let superscripts: [Character: Character] = [
      "0": "\u{2070}", "1": "\u{00b9}", "2": "\u{00b2}", "3": "\u{00b3}", "4": "\u{2074}", "5": "\u{2075}",
      "6": "\u{2076}", "7": "\u{2077}", "8": "\u{2078}", "9": "\u{2079}", "-": "\u{207b}",
    ]
    return "10" + String(String(exponent).map { superscripts[$0]! })
  }
}
