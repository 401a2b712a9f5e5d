import Foundation
import Support
import Tensors

/// Parameters saved as safetensors: an 8-byte little-endian header length, a JSON header of names, dtypes,
/// shapes and byte offsets (padded with spaces to a multiple of 8), then the raw little-endian data. The
/// files open in Python with `safetensors.numpy.load_file`.
public enum Checkpoint {
  /// Why a checkpoint could not be read or used.
  public struct Error: Swift.Error, CustomStringConvertible, Equatable {
    public let description: String
  }

  /// Writes `tensors` (name, tensor) to `path` atomically, in the given order, with optional metadata.
  public static func save(_ tensors: [(String, Tensor)], to path: String, metadata: [String: String] = [:]) throws {
    var header: [String] = []
    if !metadata.isEmpty {
      let entries = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
      header.append("\"__metadata__\":{\(entries.joined(separator: ","))}")
    }
    var offset = 0
    var seen = Set<String>()
    for (name, t) in tensors {
      guard seen.insert(name).inserted else { throw Error(description: "checkpoint: the name '\(name)' appears twice") }
      let bytes = t.count * 4
      header.append("\(jsonQuoted(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
      offset += bytes
    }
    var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var file = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: json)
    for (_, t) in tensors {
      var le = t.data.map { $0.bitPattern.littleEndian }
      le.withUnsafeMutableBytes { file.append(contentsOf: $0) }
    }
    try writeAtomically(file, to: path)
  }

  /// The largest checkpoint file read: 8 GiB (the lessons' checkpoints are a few MB). Larger files, and
  /// anything that is not a regular file (a folder, /dev/zero), are refused before reading.
  public static let maxFileBytes: UInt64 = 8 << 30

  /// Reads every tensor of a safetensors file, in the order of their data. A file that passes the header
  /// checks but is damaged inside (a shape whose size overflows, offsets out of range, overlapping or gapped
  /// tensors, trailing bytes, a name twice) is refused with a "damaged checkpoint"
  /// error naming the file and what is wrong.
  public static func load(_ path: String) throws -> [(String, Tensor)] {
    let (bytes, _, dataStart, entries) = try parse(path)
    return try entries.map { t in
      var values = [Float](repeating: 0, count: t.count)
      for i in 0..<t.count {
        let o = dataStart + t.begin + i * 4
        values[i] = Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
      }
      return (t.name, try Tensor(values, shape: t.shape))
    }
  }

  /// A tensor's place in the file, checked.
  struct Entry {
    let name: String, shape: [Int], count: Int, begin: Int, end: Int
  }

  /// Checks every entry of the header against the file: dtype, a shape whose size neither overflows nor
  /// exceeds the tensor limit, offsets inside the data, contiguous with no overlap, gap or trailing bytes.
  static func entries(_ header: [String: Any], available: Int, path: String) throws -> [Entry] {
    let damaged = { (what: String) in Error(description: "damaged checkpoint \(path): \(what); delete it or save it again") }
    var out: [Entry] = []
    for (name, value) in header where name != "__metadata__" {
      guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
        let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
      else { throw damaged("the entry for '\(name)' lacks dtype, shape or data_offsets (or they are not whole numbers)") }
      guard dtype == "F32" else { throw Error(description: "checkpoint \(path): '\(name)' is \(dtype); only F32 is supported") }
      let count: Int
      do { count = try Tensor.elementCount(shape, op: "'\(name)'") } catch {
        throw damaged("'\(name)' has shape \(shape), which is negative or larger than \(Tensor.maxElements) values")
      }
      let (begin, end) = (offsets[0], offsets[1])
      guard begin >= 0, end >= begin else { throw damaged("'\(name)' has data offsets \(offsets), which are not 0 <= begin <= end") }
      guard end - begin == count * 4 else {
        throw damaged("'\(name)' of shape \(shape) needs \(count * 4) bytes but its offsets \(offsets) span \(end - begin)")
      }
      guard end <= available else {
        throw Error(description: "damaged checkpoint \(path): truncated: '\(name)' ends at byte \(end) of the \(available) data bytes that follow the header")
      }
      out.append(Entry(name: name, shape: shape, count: count, begin: begin, end: end))
    }
    out.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
    // safetensors data is contiguous: each tensor starts where the previous one ends, and nothing follows.
    var position = 0
    for t in out {
      guard t.begin == position else {
        throw damaged(t.begin < position ? "'\(t.name)' overlaps the tensor before it (starts at byte \(t.begin), before \(position))" : "there is a gap of \(t.begin - position) bytes before '\(t.name)'")
      }
      position = t.end
    }
    guard position == available else { throw damaged("\(available - position) bytes of trailing data follow the last tensor") }
    return out
  }

  /// Before a fresh (not resumed) training run writes its checkpoint to `path`: refuses to replace a readable
  /// checkpoint of a different run, one whose `run` metadata differs from `run` (another configuration) or
  /// that holds more epochs than this run will train, so that a longer run's work is never lost silently.
  /// `how` says how to ask for it anyway (e.g. "pass --overwrite-checkpoint"). No file, or a damaged one
  /// (not a result worth keeping), may be replaced.
  public static func checkReplaceable(_ path: String, run: String, epochs: Int, how: String) throws {
    guard FileManager.default.fileExists(atPath: path), let saved = try? metadata(path) else { return }
    let savedEpochs = saved["epoch"].flatMap(Int.init) ?? 0
    if let savedRun = saved["run"], savedRun != run {
      throw Error(description: "\(path) holds \(savedEpochs) epoch\(savedEpochs == 1 ? "" : "s") of another run (\(savedRun)); this run (\(run)) would replace it: pass --resume to continue it, \(how) to replace it, or choose another --out")
    }
    if savedEpochs > epochs {
      throw Error(description: "\(path) holds \(savedEpochs) epochs, more than the \(epochs) this run trains; it would be replaced: pass --resume to continue it, \(how) to replace it, or choose another --out")
    }
  }

  /// Refuses tensors holding a NaN or an infinity: a model's weights or an optimizer's moments loaded from
  /// `path` must be finite, or training would "diverge" at once for a reason that has nothing to do with the
  /// learning rate.
  public static func requireFinite(_ tensors: [(String, Tensor)], path: String) throws {
    for (name, t) in tensors {
      if let i = t.data.firstIndex(where: { !$0.isFinite }) {
        throw Error(description: "damaged checkpoint \(path): '\(name)' holds \(t.data[i]) at index \(i); saved weights are finite; delete it or save it again")
      }
    }
  }

  /// The `__metadata__` strings of a safetensors file (the whole file is checked as `load` checks it, so a
  /// damaged file is refused here already).
  public static func metadata(_ path: String) throws -> [String: String] {
    let (_, header, _, _) = try parse(path)
    guard let raw = header["__metadata__"] else { return [:] }
    guard let metadata = raw as? [String: String] else {
      throw Error(description: "damaged checkpoint \(path): its __metadata__ is not an object of strings; delete it or save it again")
    }
    return metadata
  }

  /// The file's bytes, its header as a JSON object, and where the data starts; refuses what is not a regular
  /// file of reasonable size, a header that is not one JSON object, and a name given twice.
  static func parse(_ path: String) throws -> (bytes: [UInt8], header: [String: Any], dataStart: Int, entries: [Entry]) {
    var info = stat()
    guard stat(path, &info) == 0 else { throw Error(description: "checkpoint \(path) cannot be read: check the path (\(String(cString: strerror(errno))))") }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw Error(description: "checkpoint \(path) is not a regular file (\((info.st_mode & S_IFMT) == S_IFDIR ? "a folder" : "a device or other special file")): expected a .safetensors file")
    }
    guard UInt64(info.st_size) <= maxFileBytes else {
      throw Error(description: "checkpoint \(path) is \(info.st_size) bytes, more than the \(maxFileBytes >> 30) GiB a checkpoint may be: not one of ours")
    }
    guard let file = FileManager.default.contents(atPath: path) else {
      throw Error(description: "checkpoint \(path) cannot be read: check the path and its permissions")
    }
    let bytes = [UInt8](file)
    guard bytes.count >= 8 else { throw Error(description: "damaged checkpoint \(path): truncated: \(bytes.count) bytes, less than its 8-byte header length") }
    let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard headerLength <= UInt64(bytes.count - 8) else {
      throw Error(description: "damaged checkpoint \(path): truncated or not safetensors: its header says \(headerLength) bytes but only \(bytes.count - 8) follow")
    }
    let dataStart = 8 + Int(headerLength)
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])), let header = object as? [String: Any] else {
      throw Error(description: "damaged checkpoint \(path): its header is not a JSON object: not a safetensors file")
    }
    var seen = Set<String>()
    for key in topLevelKeys(bytes[8..<dataStart]) where !seen.insert(key).inserted {
      throw Error(description: "damaged checkpoint \(path): the header names \(key) twice; delete it or save it again")
    }
    return (bytes, header, dataStart, try entries(header, available: bytes.count - dataStart, path: path))
  }

  /// The raw (still quoted) keys of a JSON object's top level, in order, for finding duplicates, which
  /// JSONSerialization merges silently. Assumes the text already parsed as JSON.
  static func topLevelKeys(_ text: ArraySlice<UInt8>) -> [String] {
    var keys: [String] = []
    var depth = 0, i = text.startIndex, expectKey = false
    while i < text.endIndex {
      let c = text[i]
      if c == UInt8(ascii: "\"") {
        let start = i
        i += 1
        while i < text.endIndex && text[i] != UInt8(ascii: "\"") { i += text[i] == UInt8(ascii: "\\") ? 2 : 1 }
        if depth == 1 && expectKey { keys.append(String(decoding: text[start...min(i, text.endIndex - 1)], as: UTF8.self)) }
        expectKey = false
      } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
        depth += 1
        expectKey = depth == 1
      } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
        depth -= 1
      } else if c == UInt8(ascii: ",") && depth == 1 {
        expectKey = true
      }
      i += 1
    }
    return keys
  }
}

extension Sequential {
  /// Saves the parameters and buffers as a safetensors checkpoint (names as `namedParameters` and
  /// `namedBuffers`). `TrainingCheckpoint` saves a run to resume (with the optimizer's state).
  public func save(to path: String, metadata: [String: String] = [:]) throws {
    try Checkpoint.save(namedParameters + namedBuffers, to: path, metadata: metadata)
  }

  /// Loads parameters and buffers saved by `save`; the names and shapes must match this model exactly.
  public func load(from path: String) throws {
    let all = try Checkpoint.load(path)
    try Checkpoint.requireFinite(all, path: path)
    let loaded = Dictionary(uniqueKeysWithValues: all)
    let mine = namedParameters + namedBuffers
    for (name, p) in mine {
      guard let t = loaded[name] else { throw Checkpoint.Error(description: "checkpoint \(path) has no '\(name)': it was saved from a different model") }
      guard t.shape == p.shape else {
        throw Checkpoint.Error(description: "checkpoint \(path): '\(name)' has shape \(t.shape) but the model's is \(p.shape)")
      }
    }
    if let extra = loaded.keys.sorted().first(where: { k in !mine.contains { $0.0 == k } }) {
      throw Checkpoint.Error(description: "checkpoint \(path) has '\(extra)', which this model does not: it was saved from a different model")
    }
    for (name, p) in mine { p.data = loaded[name]!.data }
  }
}
