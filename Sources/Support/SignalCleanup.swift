import Dispatch
import Foundation

/// Temporary files and folders of ours that must not outlive an interrupted run: registered while they
/// exist, removed when the process gets SIGINT, SIGTERM or SIGHUP (then the signal's default action
/// runs, so the exit status still says how the process ended).
///
/// ```swift
/// let token = SignalCleanup.register(tempPath)   // before creating it
/// defer { SignalCleanup.unregister(token) }      // once renamed into place or removed
/// ```
public enum SignalCleanup {
  private static let lock = NSLock()
  nonisolated(unsafe) private static var paths: [Int: String] = [:]
  nonisolated(unsafe) private static var next = 0
  nonisolated(unsafe) private static var installed = false
  static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  /// Notes `path` (a file or a folder) for removal on a signal; returns a token for `unregister`.
  public static func register(_ path: String) -> Int {
    lock.lock()
    defer { lock.unlock() }
    if !installed { install() }
    next += 1
    paths[next] = path
    return next
  }

  /// Forgets a path noted by `register` (it was renamed into place or removed).
  public static func unregister(_ token: Int) {
    lock.lock()
    paths[token] = nil
    lock.unlock()
  }

  /// The paths now registered (for tests).
  public static var registered: [String] {
    lock.lock()
    defer { lock.unlock() }
    return paths.keys.sorted().map { paths[$0]! }
  }

  /// A C handler that only writes the signal's number to a pipe (async-signal-safe); a thread reading the
  /// pipe removes the files in ordinary code, then restores the default action and raises the signal again.
  /// The lock is held to the end, so no new temporary appears between the clean-up and the exit.
  private static func install() {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return }
    signalPipe = fds[1]
    let reader = fds[0]
    let thread = Thread {
      var byte: UInt8 = 0
      while read(reader, &byte, 1) != 1 {}
      let sig = Int32(byte)
      lock.lock()
      for path in paths.values { try? FileManager.default.removeItem(atPath: path) }
      paths = [:]
      signal(sig, SIG_DFL)
      raise(sig)
    }
    thread.start()
    for sig in signals {
      signal(sig) { sig in
        var byte = UInt8(truncatingIfNeeded: sig)
        _ = write(signalPipe, &byte, 1)
      }
    }
    installed = true
  }
}

nonisolated(unsafe) private var signalPipe: Int32 = -1
