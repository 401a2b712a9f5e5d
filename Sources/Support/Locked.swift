import Foundation

/// A value that is only read and written while holding its lock: a `Sendable` box for state shared between
/// threads (the `Mutex` of Swift's Synchronization module needs macOS 15, and this package claims no platform).
public final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  public init(_ value: Value) { self.value = value }

  /// Runs `body` on the value with the lock held.
  public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
