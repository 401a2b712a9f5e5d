import Foundation

/// Why a path given on the command line cannot be used: one line naming the flag and what to give instead.
public struct PathError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Checks a folder to write into, given with `flag`: an empty path (which would write into the current
/// folder, or joined with "/" into the root) and the root folder itself are refused. Returns the path
/// without a trailing slash. `example` is a sensible value to suggest.
public func checkedOutputFolder(_ path: String, flag: String, example: String) throws -> String {
  let trimmed = path.trimmingCharacters(in: .whitespaces)
  guard !trimmed.isEmpty else { throw PathError("\(flag) is empty: give a folder to write to, e.g. \(flag) \(example)") }
  guard !trimmed.allSatisfy({ $0 == "/" }), (trimmed as NSString).standardizingPath != "/" else {
    throw PathError("\(flag) '\(path)' is the root folder: give a folder of its own, e.g. \(flag) \(example)")
  }
  var out = path
  while out.count > 1 && out.hasSuffix("/") { out.removeLast() }
  return out
}
