import Foundation

/// Why a figure could not be drawn or written. Each message is one line saying what is wrong and what to do.
public enum PlotError: Error, CustomStringConvertible, Equatable {
  /// A series was given no points, or none that can be drawn.
  case emptySeries(String)
  /// Two arrays that must match in length do not.
  case lengthMismatch(String)
  /// A value or argument that cannot be drawn (with the reason).
  case invalidData(String)
  /// The file name's extension is neither .png nor .svg.
  case unknownFormat(String)
  /// The file could not be written.
  case cannotWrite(path: String, reason: String)
  /// The font could not be loaded.
  case font(String)
  /// Cairo or libpng failed.
  case backend(String)

  public var description: String {
    switch self {
    case .emptySeries(let m), .lengthMismatch(let m), .invalidData(let m), .font(let m), .backend(let m):
      return m
    case .unknownFormat(let path):
      return "cannot tell the figure format of '\(path)': use a .png or .svg extension"
    case .cannotWrite(let path, let reason):
      return "cannot write '\(path)': \(reason); check that the folder exists and is writable, or pick another with --out"
    }
  }
}

extension PlotError: LocalizedError {
  public var errorDescription: String? { description }
}
