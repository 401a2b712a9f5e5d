import Foundation
import Tensors

/// Handwritten digits of 8x8 pixels (the UCI "Optical Recognition of Handwritten Digits" test set, the copy
/// scikit-learn ships: 1,797 images) as a CSV file without a header: one image a line, 64 pixel values
/// (integers 0-16, row-major) and then the label (0-9).
///
/// `make data` stores the file decompressed as `data/digits.csv` (Foundation on Linux reads no gzip); given
/// the `.gz` itself, the reader says so and what to do.
public struct Digits {
  /// Pixels per side.
  public static let side = 8
  /// Pixels per image (64), the network's inputs.
  public static let pixelCount = 64
  /// The largest pixel value (a pixel counts the set pixels of a 4x4 block of the original 32x32 bitmap).
  public static let maxPixel = 16
  /// Classes: the digits 0-9.
  public static let classCount = 10
  /// Values on a line: 64 pixels and the label.
  public static let columnCount = 65
  /// The largest file accepted, refused by size before reading: the real set is 264,712 bytes; a line is at
  /// most 195 bytes ("16," 64 times, a label, CR LF), so 4 MB is over 20,000 images.
  public static let maxFileSize = 4 << 20
  /// Where `make data` puts the file.
  public static let defaultPath = "data/digits.csv"

  /// Pixels, `pixelCount` values 0-16 per image, row-major.
  public var pixels: [UInt8]
  /// Labels 0-9, one per image.
  public var labels: [Int]
  /// The number of images.
  public var count: Int { labels.count }

  /// A set from pixels (64 per image, 0-16) and labels (0-9); `load` checks files, this trusts its caller.
  public init(pixels: [UInt8], labels: [Int]) {
    precondition(pixels.count == labels.count * Self.pixelCount, "Digits: \(pixels.count) pixels for \(labels.count) labels")
    self.pixels = pixels
    self.labels = labels
  }

  // MARK: - Reading

  /// Where to find the file: `--data`, then `DIGITS_CSV`, then `data/digits.csv`.
  public static func locate(_ explicit: String?) -> String {
    if let explicit { return explicit }
    if let env = ProcessInfo.processInfo.environment["DIGITS_CSV"], !env.isEmpty { return env }
    return defaultPath
  }

  /// Reads the CSV file at `path`. Every problem is one `DataError` line naming the file (and the line):
  /// a missing file, a gzip file, a file over `maxFileSize`, a line cut short (the file truncated), a line
  /// with other than 65 values, a value that is not an integer, a pixel outside 0-16, a label outside 0-9.
  public static func load(csv path: String) throws -> Digits {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw DataError("\(path) not found: run make data (or pass --data FILE)")
    }
    guard !isDirectory.boolValue else {
      throw DataError("\(path) is a folder: pass --data FILE, the digits CSV file (make data writes \(defaultPath))")
    }
    if let size = (try? fm.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue > maxFileSize {
      throw DataError("\(path) has \(size.intValue) bytes, more than a digits CSV can (at most \(maxFileSize)): it is not the digits set (pass --data FILE with the right file)")
    }
    let data = try DataFile.read(path, what: "a digits CSV", maxBytes: maxFileSize)
    return try parse(data, name: path)
  }

  /// Parses the CSV bytes; `name` (the file's path) starts every error message.
  public static func parse(_ data: Data, name: String) throws -> Digits {
    guard data.count <= maxFileSize else {
      throw DataError("\(name) has \(data.count) bytes, more than a digits CSV can (at most \(maxFileSize)): it is not the digits set")
    }
    if data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B {
      throw DataError("\(name) is gzip-compressed: run make data (it writes the decompressed \(defaultPath)), or gunzip -k it and pass the .csv")
    }
    guard !data.isEmpty else {
      throw DataError("\(name) is empty: expected one image a line, 64 pixel values 0-16 and a label 0-9 (make data writes \(defaultPath))")
    }
    var pixels: [UInt8] = []
    var labels: [Int] = []
    pixels.reserveCapacity(data.count / 2)
    try data.withUnsafeBytes { raw in
      let bytes = raw.bindMemory(to: UInt8.self)
      let n = bytes.count
      var i = 0, line = 0
      var row = [Int](repeating: 0, count: columnCount)
      while i < n {
        line += 1
        // One line: [i, end) without its LF (and CR).
        var end = i
        while end < n && bytes[end] != 0x0A { end += 1 }
        guard end < n else {
          throw DataError("\(name) line \(line): cut short (no end of line after \(countValues(bytes, i, end)) values): the file is truncated; run make data again")
        }
        let next = end + 1
        if end > i && bytes[end - 1] == 0x0D { end -= 1 }
        // A blank line is allowed only at the very end.
        if isBlank(bytes, i, end) {
          guard isBlank(bytes, next, n) else {
            throw DataError("\(name) line \(line): blank line inside the file; expected 65 values (64 pixels, then the label)")
          }
          break
        }
        var column = 0, j = i
        while true {
          var k = j
          while k < end && bytes[k] != UInt8(ascii: ",") { k += 1 }
          guard column < columnCount else {
            throw DataError("\(name) line \(line): \(countValues(bytes, i, end)) values, expected 65 (64 pixels, then the label)")
          }
          guard let value = integer(bytes, j, k) else {
            let cell = String(decoding: UnsafeBufferPointer(rebasing: bytes[j..<k]), as: UTF8.self)
            throw DataError("\(name) line \(line): '\(cell.trimmingCharacters(in: .whitespaces))' in column \(column + 1) is not an integer")
          }
          row[column] = value
          column += 1
          if k >= end { break }
          j = k + 1
        }
        guard column == columnCount else {
          throw DataError("\(name) line \(line): \(column) values, expected 65 (64 pixels, then the label)")
        }
        for c in 0..<pixelCount where row[c] < 0 || row[c] > maxPixel {
          throw DataError("\(name) line \(line): pixel \(c + 1) is \(row[c]), outside 0-\(maxPixel)")
        }
        guard (0..<classCount).contains(row[pixelCount]) else {
          throw DataError("\(name) line \(line): label \(row[pixelCount]) is outside 0-9")
        }
        for c in 0..<pixelCount { pixels.append(UInt8(row[c])) }
        labels.append(row[pixelCount])
        i = next
      }
    }
    guard !labels.isEmpty else {
      throw DataError("\(name) has no images: expected one image a line, 64 pixel values 0-16 and a label 0-9")
    }
    return Digits(pixels: pixels, labels: labels)
  }

  /// The integer in bytes[from..<to], spaces around it allowed; nil when it is not one (or absurdly long).
  private static func integer(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int? {
    var s = from, e = to
    while s < e && (b[s] == 0x20 || b[s] == 0x09) { s += 1 }
    while e > s && (b[e - 1] == 0x20 || b[e - 1] == 0x09) { e -= 1 }
    var negative = false
    if s < e && (b[s] == UInt8(ascii: "-") || b[s] == UInt8(ascii: "+")) { negative = b[s] == UInt8(ascii: "-"); s += 1 }
    guard s < e, e - s <= 9 else { return nil }
    var v = 0
    for p in s..<e {
      let d = Int(b[p]) - 48
      guard d >= 0 && d <= 9 else { return nil }
      v = v * 10 + d
    }
    return negative ? -v : v
  }

  private static func isBlank(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
    var p = from
    while p < to {
      if b[p] != 0x20 && b[p] != 0x09 && b[p] != 0x0D && b[p] != 0x0A { return false }
      p += 1
    }
    return true
  }

  private static func countValues(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
    if isBlank(b, from, to) { return 0 }
    var commas = 0
    for p in from..<to where b[p] == UInt8(ascii: ",") { commas += 1 }
    return commas + 1
  }

  // MARK: - Using

  /// One image's 64 pixels (0-16), row-major, for drawing.
  public func image(_ i: Int) -> [UInt8] { Array(pixels[(i * Self.pixelCount)..<((i + 1) * Self.pixelCount)]) }

  /// The images at `indices` as a [n, 64] tensor of raw pixel values (0-16, not normalised).
  public func features(_ indices: [Int]) throws -> Tensor {
    var out = [Float](repeating: 0, count: indices.count * Self.pixelCount)
    for (k, i) in indices.enumerated() {
      for p in 0..<Self.pixelCount { out[k * Self.pixelCount + p] = Float(pixels[i * Self.pixelCount + p]) }
    }
    return try Tensor(out, shape: [indices.count, Self.pixelCount])
  }

  /// The labels at `indices` as a [n] tensor of class indices.
  public func labelTensor(_ indices: [Int]) throws -> Tensor {
    try Tensor(indices.map { Float(labels[$0]) }, shape: [indices.count])
  }

  /// A stratified split fixed by `seed`: each class's images are shuffled and dealt out in the proportions
  /// `fractions` (e.g. [0.8, 0.2], or [0.6, 0.2, 0.2] for train/validation/test), so every part keeps the
  /// class balance. Each part is sorted by image index; parts are disjoint and cover all images.
  public func stratifiedSplit(_ fractions: [Double], seed: UInt64) -> [[Int]] {
    precondition(!fractions.isEmpty && fractions.allSatisfy { $0 >= 0 }, "stratifiedSplit: fractions must be non-negative")
    let total = fractions.reduce(0, +)
    var rng = SeededGenerator(seed: seed)
    var parts = [[Int]](repeating: [], count: fractions.count)
    for c in 0..<Self.classCount {
      var members = (0..<count).filter { labels[$0] == c }
      // Fisher-Yates with the seeded generator (the standard library's shuffle may change between versions).
      if members.count > 1 {
        for i in stride(from: members.count - 1, to: 0, by: -1) {
          members.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
      }
      var start = 0, cumulative = 0.0
      for (p, f) in fractions.enumerated() {
        cumulative += f
        let end = p == fractions.count - 1 ? members.count : Int((cumulative / total * Double(members.count)).rounded())
        parts[p] += members[start..<max(start, end)]
        start = max(start, end)
      }
    }
    return parts.map { $0.sorted() }
  }

  /// The image moved by (dx, dy) pixels (right and down), zeros shifted in: the augmentation for digits.
  public static func shifted(_ image: [UInt8], dx: Int, dy: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: pixelCount)
    for y in 0..<side {
      let sy = y - dy
      guard sy >= 0 && sy < side else { continue }
      for x in 0..<side {
        let sx = x - dx
        guard sx >= 0 && sx < side else { continue }
        out[y * side + x] = image[sy * side + sx]
      }
    }
    return out
  }

  /// The set as CSV text in the file's format (for test fixtures).
  public func csv() -> String {
    var text = ""
    for i in 0..<count {
      text += image(i).map { String($0) }.joined(separator: ",") + ",\(labels[i])\n"
    }
    return text
  }

  /// Writes the set as a CSV file in the file's format (for test fixtures).
  public func write(to path: String) throws {
    try Data(csv().utf8).write(to: URL(fileURLWithPath: path))
  }
}
