import Foundation

/// The lines of a lesson's program that make a figure, marked in main.swift so the page shows them beside
/// the figure and can never drift from the code:
///
/// ```swift
/// // figure: loss-curve
/// let fig = Figure(width: 800, height: 500)
/// ...
/// try lesson.save(fig, as: "loss-curve")
/// // end figure
/// ```
///
/// A region may name several figures (`// figure: fit, loss-curve`), and a figure may have several regions
/// (the training call in one place, the plotting call in another): the page shows them in order.
struct CodeRegion: Equatable {
  let figures: [String]
  /// 1-based line numbers of the first and last line of code (the markers excluded).
  let firstLine: Int
  let lastLine: Int
  /// The code, its common indentation removed.
  let code: String

  static let startPrefix = "// figure:"
  static let end = "// end figure"

  /// Every region of `source`; an unclosed or nested region, or one without names, is an error naming the line.
  static func regions(in source: String, file: String) throws -> [CodeRegion] {
    var out: [CodeRegion] = []
    var open: (figures: [String], line: Int)?
    var body: [String] = []
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for (i, line) in lines.enumerated() {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix(startPrefix) {
        if let open { throw RegionError("\(file):\(i + 1): a figure region starts inside the one opened on line \(open.line)") }
        let names = trimmed.dropFirst(startPrefix.count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }) else {
          throw RegionError("\(file):\(i + 1): '// figure:' must name the figures it makes (// figure: loss-curve)")
        }
        open = (names, i + 1)
        body = []
      } else if trimmed == end {
        guard let o = open else { throw RegionError("\(file):\(i + 1): '\(end)' without a '// figure:' before it") }
        out.append(CodeRegion(figures: o.figures, firstLine: o.line + 1, lastLine: i, code: dedent(body)))
        open = nil
      } else if open != nil {
        body.append(line)
      }
    }
    if let open { throw RegionError("\(file):\(open.line): the figure region is never closed with '\(end)'") }
    return out
  }

  static func dedent(_ lines: [String]) -> String {
    var trimmed = lines
    while trimmed.first?.trimmingCharacters(in: .whitespaces).isEmpty == true { trimmed.removeFirst() }
    while trimmed.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { trimmed.removeLast() }
    let indent = trimmed.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
    return trimmed.map { $0.count >= indent ? String($0.dropFirst(indent)) : $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
  }
}

struct RegionError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
