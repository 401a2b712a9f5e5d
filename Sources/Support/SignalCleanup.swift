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
///
/// Its state is one lock-protected value (`registry`); the signal handler itself touches none of it (it may not
/// take a lock), only the write end of a pipe, an immutable global created before the handler is installed.
public enum SignalCleanup {
  /// What is registered, the last token given, and whether the handlers are installed.
  struct Registry {
    var paths: [Int: String] = [:]
    var next = 0
    var installed = false
  }

  private static let registry = Locked(Registry())
  static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  /// Notes `path` (a file or a folder) for removal on a signal; returns a token for `unregister`.
  public static func register(_ path: String) -> Int {
    registry.withLock { r in
      if !r.installed { r.installed = install() }
      r.next += 1
      r.paths[r.next] = path
      return r.next
    }
  }

  /// Forgets a path noted by `register` (it was renamed into place or removed).
  public static func unregister(_ token: Int) {
    registry.withLock { $0.paths[token] = nil }
  }

  /// The paths now registered (for tests).
  public static var registered: [String] {
    registry.withLock { r in r.paths.keys.sorted().map { r.paths[$0]! } }
  }

  /// A C handler that only writes the signal's number to a pipe (async-signal-safe); a thread reading the
  /// pipe removes the files in ordinary code, then restores the default action and raises the signal again.
  /// The lock is held to the end, so no new temporary appears between the clean-up and the exit. Called with
  /// the lock held; false when no pipe could be made (then nothing is installed, and the next call tries again
  /// to install the handlers, without a pipe again).
  private static func install() -> Bool {
    let (reader, writer) = signalPipe
    guard reader >= 0 && writer >= 0 else { return false }
    let thread = Thread {
      var byte: UInt8 = 0
      while read(reader, &byte, 1) != 1 {}
      let sig = Int32(byte)
      registry.withLock { r in
        for path in r.paths.values { try? FileManager.default.removeItem(atPath: path) }
        r.paths = [:]
        signal(sig, SIG_DFL)
        raise(sig)
      }
    }
    thread.start()
    for sig in signals {
      signal(sig) { sig in
        var byte = UInt8(truncatingIfNeeded: sig)
        _ = write(signalPipe.write, &byte, 1)
      }
    }
    return true
  }
}

/// The pipe from the signal handler to the clean-up thread (read end, write end; -1 when `pipe` failed).
/// An immutable global, not a variable behind a lock: a signal handler may only call async-signal-safe
/// functions, and a lock is not one (the signal can arrive on a thread that holds it). It is created by
/// `install` before any handler exists, so the handler only reads an initialised constant.
private let signalPipe: (read: Int32, write: Int32) = {
  var fds: [Int32] = [-1, -1]
  guard pipe(&fds) == 0 else { return (-1, -1) }
  return (fds[0], fds[1])
}()
