import Foundation

/// What went wrong in a tensor operation. Each message is one line naming the operation and the shapes or
/// values involved.
public struct TensorError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }

  static func shapes(_ op: String, _ a: [Int], _ b: [Int], _ why: String = "do not match") -> TensorError {
    TensorError("\(op): shapes \(a) and \(b) \(why)")
  }
}

extension TensorError: LocalizedError {
  public var errorDescription: String? { message }
}
