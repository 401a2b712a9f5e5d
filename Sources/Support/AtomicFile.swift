import Foundation

/// Why a file could not be written: one line with the path and the reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
  public let path: String
  public let reason: String
  public var description: String { "cannot write '\(path)': \(reason)" }
}

/// Writes `data` to `path` atomically: to a temporary file in the same folder, then renamed over the target,
/// so a killed run never leaves half a file. Creates the folder if needed.
public func writeAtomically(_ data: Data, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  let folder = url.deletingLastPathComponent()
  let fm = FileManager.default
  do {
    try fm.createDirectory(at: folder, withIntermediateDirectories: true)
  } catch {
    throw FileWriteError(path: path, reason: "the folder \(folder.path) cannot be created (\(reasonText(error)))")
  }
  // Our own temporary name, written with open/write/rename (FileManager.createFile would add a second,
  // Foundation-named temporary of its own), and removed if the run is interrupted meanwhile.
  let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
  let token = SignalCleanup.register(temp)
  defer { SignalCleanup.unregister(token) }
  let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
  guard fd >= 0 else { throw FileWriteError(path: path, reason: String(cString: strerror(errno))) }
  var failure: Int32 = 0
  data.withUnsafeBytes { raw in
    var done = 0
    while done < raw.count {
      let n = write(fd, raw.baseAddress! + done, raw.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        failure = errno
        return
      }
      done += n
    }
  }
  if close(fd) != 0 && failure == 0 { failure = errno }
  guard failure == 0 else {
    unlink(temp)
    throw FileWriteError(path: path, reason: String(cString: strerror(failure)))
  }
  guard rename(temp, url.path) == 0 else {
    let reason = String(cString: strerror(errno))
    unlink(temp)
    throw FileWriteError(path: path, reason: reason)
  }
}

private func reasonText(_ error: Error) -> String {
  let ns = error as NSError
  if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
    return String(cString: strerror(Int32(underlying.code)))
  }
  if ns.domain == NSCocoaErrorDomain, ns.code == NSFileWriteNoPermissionError { return "permission denied" }
  return ns.localizedDescription
}
