import ArgumentParser
import Foundation
import Plotting
import Support

/// The flags every lesson takes: `--out`, `--seed`, `--format`, `--quick`.
public struct LessonOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Folder for the figures and summary.json (default: output/<lesson>/, or output/quick/<lesson>/ with --quick).", valueName: "dir"))
  public var out: String?

  @Option(name: .long, help: "Seed for every random number: the same seed gives the same numbers and figures.")
  public var seed: UInt64 = 42

  @Option(name: .long, help: "Figure format: png, svg or both.")
  public var format: FormatChoice = .both

  @Flag(name: .long, help: "A small, fast run (used by the tests): fewer points and epochs. Its figures are not for the course: the site refuses them.")
  public var quick = false

  public init() {}

  /// An empty `--out` or the root folder is refused here, before the lesson starts.
  public func validate() throws {
    _ = try LessonOptions.checkedOutputFolder(out, default: "output/" + (CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? "lesson"))
    try LessonOptions.checkCommonLimits(CommandLine.arguments)
  }

  /// Upper limits for the size flags the lessons share, whatever lesson declares them: a typo such as
  /// `--epochs 1000000000` or `--batch-size 9223372036854775807` is refused with one line naming the limit,
  /// instead of overflowing, allocating without bound or running for days. Lessons check their lower
  /// bounds (and may set tighter limits with `checkSize`).
  public static let sizeLimits: [(flag: String, limit: Int)] = [
    ("--epochs", 100_000), ("--steps", 1_000_000), ("--batch-size", 65_536), ("--hidden", 4096),
    ("--train-subset", 10_000_000), ("--test-subset", 10_000_000), ("--per-class", 100_000),
  ]

  /// Number flags read as Float32 by some lesson: a value beyond Float's range would arrive as infinity.
  public static let floatFlags = ["--lr", "--delta", "--dropout", "--weight-decay"]

  /// Applies `sizeLimits` and `floatFlags` to the command line as typed (`--flag value` or `--flag=value`);
  /// values that are not numbers are left to the argument parser's own message.
  static func checkCommonLimits(_ arguments: [String]) throws {
    for (i, a) in arguments.enumerated() {
      let (flag, value): (String, String?) = a.contains("=") ? (String(a.prefix { $0 != "=" }), String(a.drop { $0 != "=" }.dropFirst())) : (a, i + 1 < arguments.count ? arguments[i + 1] : nil)
      guard let value else { continue }
      if let limit = sizeLimits.first(where: { $0.flag == flag })?.limit {
        // An integer too large for Int (or a huge one) is over the limit too.
        let digits = value.hasPrefix("+") ? String(value.dropFirst()) : value
        if !digits.isEmpty && digits.allSatisfy(\.isNumber) && (Int(digits) ?? Int.max) > limit {
          throw ValidationError("\(flag) \(value) is too large: at most \(limit)")
        }
      }
      if floatFlags.contains(flag), let v = Double(value), v.isFinite, Swift.abs(v) > Double(Float.greatestFiniteMagnitude) {
        throw ValidationError("\(flag) \(value) is too large for a Float32 (at most about 3.4e38): give a value such as 0.01")
      }
    }
  }

  /// `path` as an output folder, or `fallback` when nil; refuses an empty path (which would write into the
  /// current folder or, joined with "/", into the root) and the root folder itself, with one line naming the
  /// flag. Shared by the lessons, gallery, bench and site.
  public static func checkedOutputFolder(_ path: String?, default fallback: String, flag: String = "--out") throws -> String {
    guard let path else { return fallback }
    do {
      return try Support.checkedOutputFolder(path, flag: flag, example: fallback)
    } catch let error as PathError {
      throw ValidationError(error.description)
    }
  }

  /// A size flag (`--hidden`, `--epochs`, `--batch-size`, `--steps`...) checked against its range: a
  /// ValidationError saying the flag, the value and the range otherwise. Upper limits keep a typo from
  /// allocating without bound or overflowing; pick them generously above what a lesson needs.
  public static func checkSize(_ value: Int?, _ flag: String, in range: ClosedRange<Int>) throws {
    guard let value else { return }
    guard range.contains(value) else {
      throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
  }

  /// A count flag (`--epochs`, `--hidden`, `--batch-size`) that must be at least `minimum` when given: a
  /// ValidationError "--epochs must be at least 1, got 0" otherwise. (The upper limits are `sizeLimits`.)
  public static func checkAtLeast(_ value: Int?, _ flag: String, _ minimum: Int = 1) throws {
    if let value, value < minimum { throw ValidationError("\(flag) must be at least \(minimum), got \(value)") }
  }

  /// A rate flag (`--lr`) that must be positive and finite, with a message that quotes what was typed when
  /// it overflowed the type (1e40 is read as a Float infinity).
  public static func checkPositive<F: BinaryFloatingPoint>(_ value: F, _ flag: String, below limit: F? = nil) throws {
    let typed = LessonOptions.typed(flag) ?? "\(value)"
    if value.isInfinite { throw ValidationError("\(flag) \(typed) is too large (more than \(F.greatestFiniteMagnitude)); use a positive number such as 0.01") }
    guard value > 0, value.isFinite else { throw ValidationError("\(flag) must be a positive number, got \(typed)") }
    if let limit, value >= limit { throw ValidationError("\(flag) must be below \(limit), got \(typed)") }
  }

  /// The text typed after `flag` on the command line (`--lr 1e40` or `--lr=1e40`), if any.
  static func typed(_ flag: String) -> String? {
    let args = CommandLine.arguments
    for (i, a) in args.enumerated() {
      if a == flag, i + 1 < args.count { return args[i + 1] }
      if a.hasPrefix(flag + "=") { return String(a.dropFirst(flag.count + 1)) }
    }
    return nil
  }

  /// The formats to write.
  public var formats: [FigureFormat] {
    switch format {
    case .png: return [.png]
    case .svg: return [.svg]
    case .both: return [.png, .svg]
    }
  }
}

/// `--format` values.
public enum FormatChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
  case png, svg, both
}
