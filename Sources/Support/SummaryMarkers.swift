import Foundation

/// Numbers in a lesson's text that come from its run.
///
/// A README writes a run-produced number followed by a marker naming its summary.json key, as an HTML comment
/// (invisible on GitHub and in pandoc's output):
///
/// ```
/// reaches 71.5<!--=test_accuracy:p1-->% after 10<!--=epochs--> epochs
/// ```
///
/// The site replaces the number before each marker with the value from the run's summary.json, so a page can
/// never quote a number its run did not produce. Keys are paths: names separated by `.`, array elements as
/// `[i]` (`[-1]` is the last). Formats: `fN` (N decimals), `pN` (percent: x100, N decimals), `int` (rounded,
/// thousands separated), `sN` (N significant digits), `eN` ("1.2 × 10⁻⁵", N decimals); none: the number as
/// JSON has it.
public enum SummaryMarkers {
  /// One marker and the number written before it.
  public struct Marker: Equatable, Sendable {
    /// The number as the text writes it.
    public let literal: String
    public let key: String
    public let format: String?
    /// Where the number and its marker are, in UTF-16 offsets of the text.
    public let range: NSRange
  }

  /// What is wrong with a marker: one line naming the key.
  public struct MarkerError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
  }

  private static let number = #"-?[0-9][0-9,]*(?:\.[0-9]+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"#
  private static let pattern = try! NSRegularExpression(pattern: "(\(number))?<!--=([^:>]*?)(?::([a-z]+[0-9]*))?-->")

  /// Every marker in `text`, in order. A marker without a number right before it has an empty literal.
  public static func find(in text: String) -> [Marker] {
    pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
      func group(_ i: Int) -> String? { Range(m.range(at: i), in: text).map { String(text[$0]) } }
      return Marker(literal: group(1) ?? "", key: group(2) ?? "", format: group(3), range: m.range)
    }
  }

  /// The number at `key` in a parsed summary.json (JSONSerialization's output).
  public static func value(at key: String, in json: Any) throws -> Double {
    var node: Any = json
    var walked = ""
    let tokens = try path(key)
    for token in tokens {
      switch token {
      case .name(let name):
        guard let dict = node as? [String: Any], let next = dict[name] else {
          throw MarkerError("summary.json has no '\(walked.isEmpty ? name : walked + "." + name)'")
        }
        node = next
        walked += walked.isEmpty ? name : "." + name
      case .index(let i):
        guard let array = node as? [Any] else { throw MarkerError("summary.json's '\(walked)' is not a list") }
        let j = i < 0 ? array.count + i : i
        guard array.indices.contains(j) else {
          throw MarkerError("summary.json's '\(walked)' has \(array.count) elements, no [\(i)]")
        }
        node = array[j]
        walked += "[\(i)]"
      }
    }
    // JSONSerialization reads numbers as NSNumber; booleans are NSNumber too (of type char) and are refused.
    guard let n = node as? NSNumber, String(cString: n.objCType) != "c" else {
      throw MarkerError("summary.json's '\(key)' is not a number")
    }
    return n.doubleValue
  }

  private enum Token { case name(String), index(Int) }

  private static func path(_ key: String) throws -> [Token] {
    var tokens: [Token] = []
    for part in key.split(separator: ".", omittingEmptySubsequences: false) {
      var rest = Substring(part)
      let name = rest.prefix { $0 != "[" }
      rest = rest.dropFirst(name.count)
      if !name.isEmpty { tokens.append(.name(String(name))) }
      while rest.first == "[" {
        guard let close = rest.firstIndex(of: "]"), let i = Int(rest[rest.index(after: rest.startIndex)..<close]) else {
          throw MarkerError("the key '\(key)' has a bad index (write [0], [3] or [-1])")
        }
        tokens.append(.index(i))
        rest = rest[rest.index(after: close)...]
      }
      guard rest.isEmpty, !(name.isEmpty && tokens.isEmpty) else { throw MarkerError("the key '\(key)' is not a path like a.b[0]") }
    }
    guard !tokens.isEmpty else { throw MarkerError("a marker names no key") }
    return tokens
  }

  /// `value` written in `format` (see the type's documentation).
  public static func format(_ value: Double, _ format: String?) throws -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
    guard let format else {
      if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
      return "\(value)"
    }
    let kind = format.prefix { $0.isLetter }
    let digits = Int(format.dropFirst(kind.count))
    switch (kind, digits) {
    case ("f", let n?) where n <= 12: return String(format: "%.\(n)f", value)
    case ("p", let n?) where n <= 12: return String(format: "%.\(n)f", value * 100)
    case ("s", let n?) where (1...17).contains(n): return String(format: "%.\(n)g", value)
    case ("int", nil):
      let f = NumberFormatter()
      f.numberStyle = .decimal
      f.groupingSeparator = ","
      f.usesGroupingSeparator = true
      f.maximumFractionDigits = 0
      f.roundingMode = .halfEven
      return f.string(from: NSNumber(value: value.rounded())) ?? String(Int64(value.rounded()))
    case ("e", let n?) where n <= 12:
      if value == 0 { return String(format: "%.\(n)f", 0.0) }
      var exponent = Int(floor(log10(abs(value))))
      var mantissa = String(format: "%.\(n)f", value / pow(10, Double(exponent)))
      if let m = Double(mantissa), abs(m) >= 10 {
        exponent += 1
        mantissa = String(format: "%.\(n)f", value / pow(10, Double(exponent)))
      }
      return "\(mantissa) × 10\(superscript(exponent))"
    default:
      throw MarkerError("unknown number format '\(format)' (use fN, pN, sN, eN or int)")
    }
  }

  private static func superscript(_ n: Int) -> String {
    let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    return (n < 0 ? "⁻" : "") + String(abs(n)).map { digits[Int(String($0))!] }
  }

  /// A number the text quotes that its run changed.
  public struct Change: Equatable, Sendable {
    public let key: String
    public let written: String
    public let run: String
    public init(key: String, written: String, run: String) {
      self.key = key
      self.written = written
      self.run = run
    }
  }

  /// `text` with every marked number replaced by the run's value and the markers removed (or, `keepingMarkers`,
  /// kept after the new number: a README refilled from its run), and the numbers that differ from what the
  /// text wrote.
  public static func fill(_ text: String, summary: Any, keepingMarkers: Bool = false) throws -> (text: String, changes: [Change]) {
    var out = text as NSString
    var changes: [Change] = []
    for marker in find(in: text).reversed() {
      guard !marker.literal.isEmpty else {
        throw MarkerError("the marker for '\(marker.key)' has no number right before it (write 0.93<!--=\(marker.key)-->)")
      }
      let value: String
      do { value = try format(try Self.value(at: marker.key, in: summary), marker.format) } catch let e as MarkerError {
        throw MarkerError("\(e.description) (marker after \(marker.literal))")
      }
      if value != marker.literal { changes.append(Change(key: marker.key, written: marker.literal, run: value)) }
      let comment = keepingMarkers ? String(out.substring(with: marker.range).dropFirst(marker.literal.count)) : ""
      out = out.replacingCharacters(in: marker.range, with: value + comment) as NSString
    }
    return (out as String, changes.reversed())
  }
}
