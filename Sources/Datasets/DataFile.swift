import Foundation

/// Reading a data file the user named, checked before a byte is read: a path that does not exist, a folder,
/// a device or pipe (/dev/zero would be read forever), and a file larger than its format allows are each
/// refused with one line naming the file, instead of being reported as missing or exhausting memory.
public enum DataFile {
  /// What a path is.
  public enum Kind: Equatable { case missing, folder, special, regular(bytes: Int) }

  public static func kind(_ path: String) -> Kind {
    var info = stat()
    guard stat(path, &info) == 0 else { return .missing }
    switch info.st_mode & S_IFMT {
    case S_IFDIR: return .folder
    case S_IFREG: return .regular(bytes: Int(info.st_size))
    default: return .special
    }
  }

  /// The bytes of `path`, a regular file of at most `maxBytes` bytes. `what` names the format in messages
  /// ("a CIFAR-10 batch"); `missing` is the message for a path that does not exist.
  public static func read(_ path: String, what: String, maxBytes: Int, missing: String? = nil) throws -> Data {
    switch kind(path) {
    case .missing:
      throw DataError(missing ?? "\(path): cannot be read (check the path)")
    case .folder:
      throw DataError("\(path) is a folder, not \(what) file")
    case .special:
      throw DataError("\(path) is a device or pipe, not \(what) file")
    case .regular(let bytes):
      guard bytes <= maxBytes else {
        throw DataError("\(path) has \(bytes) bytes, more than \(what) file can hold (at most \(maxBytes)): it is not the right file")
      }
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw DataError("\(path) exists but cannot be read (check its permissions)")
    }
    return data
  }
}
