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

  /// Reads every tensor of a safetensors file, in the order of their data.
  public static func load(_ path: String) throws -> [(String, Tensor)] {
    guard let file = FileManager.default.contents(atPath: path) else {
      throw Error(description: "checkpoint \(path) cannot be read: check the path")
    }
    let bytes = [UInt8](file)
    guard bytes.count >= 8 else { throw Error(description: "checkpoint \(path) is truncated: \(bytes.count) bytes, less than its 8-byte header length") }
    let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard headerLength <= UInt64(bytes.count - 8) else {
      throw Error(description: "checkpoint \(path) is truncated or not safetensors: its header says \(headerLength) bytes but only \(bytes.count - 8) follow")
    }
    let dataStart = 8 + Int(headerLength)
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])), let header = object as? [String: Any] else {
      throw Error(description: "checkpoint \(path) has a header that is not a JSON object: not a safetensors file")
    }
    var out: [(Int, String, Tensor)] = []
    for (name, value) in header where name != "__metadata__" {
      guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
        let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
      else { throw Error(description: "checkpoint \(path): the entry for '\(name)' lacks dtype, shape or data_offsets") }
      guard dtype == "F32" else { throw Error(description: "checkpoint \(path): '\(name)' is \(dtype); only F32 is supported") }
      let count = shape.reduce(1, *)
      guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] - offsets[0] == count * 4 else {
        throw Error(description: "checkpoint \(path): '\(name)' of shape \(shape) needs \(count * 4) bytes but its offsets \(offsets) span \(offsets[1] - offsets[0])")
      }
      guard dataStart + offsets[1] <= bytes.count else {
        throw Error(description: "checkpoint \(path) is truncated: '\(name)' ends at byte \(dataStart + offsets[1]) of a \(bytes.count)-byte file")
      }
      var values = [Float](repeating: 0, count: count)
      for i in 0..<count {
        let o = dataStart + offsets[0] + i * 4
        let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        values[i] = Float(bitPattern: bits)
      }
      out.append((offsets[0], name, try Tensor(values, shape: shape)))
    }
    return out.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
  }

  /// The `__metadata__` strings of a safetensors file.
  public static func metadata(_ path: String) throws -> [String: String] {
    guard let file = FileManager.default.contents(atPath: path), file.count >= 8 else {
      throw Error(description: "checkpoint \(path) cannot be read or is truncated")
    }
    let bytes = [UInt8](file)
    let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    guard n <= bytes.count - 8, let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] else {
      throw Error(description: "checkpoint \(path) has no readable header")
    }
    return (header["__metadata__"] as? [String: String]) ?? [:]
  }
}

extension Sequential {
  /// Saves the parameters as a safetensors checkpoint (names as `namedParameters`).
  public func save(to path: String, metadata: [String: String] = [:]) throws {
    try Checkpoint.save(namedParameters, to: path, metadata: metadata)
  }

  /// Loads parameters saved by `save`; the names and shapes must match this model exactly.
  public func load(from path: String) throws {
    let loaded = Dictionary(uniqueKeysWithValues: try Checkpoint.load(path))
    let mine = namedParameters
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
