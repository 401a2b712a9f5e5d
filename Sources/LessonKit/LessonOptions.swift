import ArgumentParser
import Foundation
import Plotting

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
