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
  let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
  guard fm.createFile(atPath: temp.path, contents: data) else {
    throw FileWriteError(path: path, reason: String(cString: strerror(errno)))
  }
  guard rename(temp.path, url.path) == 0 else {
    let reason = String(cString: strerror(errno))
    try? fm.removeItem(at: temp)
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
