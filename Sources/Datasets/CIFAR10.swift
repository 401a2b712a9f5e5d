import Foundation
import Tensors

/// CIFAR-10 in the official binary layout (`cifar-10-batches-bin/`): records of 3,073 bytes, a label (0-9)
/// then 1,024 red, 1,024 green and 1,024 blue bytes of a 32x32 image. Images stay as bytes (150 MB for the
/// whole training set) and become Float tensors one batch at a time.
public struct CIFAR10 {
  public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
  public static let recordSize = 3073
  public static let imageSize = 3072
  /// Per-channel mean and standard deviation of the training images, for normalisation.
  public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
  public static let std: [Float] = [0.2470, 0.2435, 0.2616]

  /// Images, `imageSize` bytes each, CHW (all red, then green, then blue).
  public var pixels: [UInt8]
  public var labels: [Int]
  public var count: Int { labels.count }

  public init(pixels: [UInt8], labels: [Int]) {
    self.pixels = pixels
    self.labels = labels
  }

  /// The files of each split.
  public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
  public static let testFiles = ["test_batch.bin"]

  /// Reads the given batch files from `folder`, checking every file whole before using it: a missing file, a
  /// size that is not a multiple of 3,073 bytes, or a label outside 0-9 is reported with the file's name.
  public static func load(folder: String, files: [String], limit: Int? = nil) throws -> CIFAR10 {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw DataError("CIFAR-10 folder \(folder) does not exist: run make data, or pass --data DIR (or set CIFAR10_DIR) to a cifar-10-batches-bin folder")
    }
    var pixels: [UInt8] = []
    var labels: [Int] = []
    for file in files {
      let path = folder + "/" + file
      // A batch holds 10,000 records (30,730,000 bytes); a file larger than 60,000 records, a folder or a
      // device is refused by its size or kind before anything is read.
      let data = try DataFile.read(path, what: "a CIFAR-10 batch", maxBytes: 60_000 * recordSize,
        missing: "\(path) is missing: the folder must hold \(files.joined(separator: ", ")) (make data extracts them)")
      guard data.count > 0, data.count % recordSize == 0 else {
        throw DataError("\(path) has \(data.count) bytes, not a multiple of \(recordSize): the file is truncated or not CIFAR-10 binary; extract it again (make data)")
      }
      let records = data.count / recordSize
      var fileLabels = [Int](repeating: 0, count: records)
      var filePixels = [UInt8](repeating: 0, count: records * imageSize)
      try data.withUnsafeBytes { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        for r in 0..<records {
          let label = Int(bytes[r * recordSize])
          guard label < 10 else {
            throw DataError("\(path): record \(r + 1) has label \(label), outside 0-9: the file is damaged or not CIFAR-10")
          }
          fileLabels[r] = label
          filePixels.withUnsafeMutableBufferPointer { dst in
            UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(dst)[(r * imageSize)..<((r + 1) * imageSize)])
              .copyBytes(from: UnsafeRawBufferPointer(rebasing: raw[(r * recordSize + 1)..<((r + 1) * recordSize)]))
          }
        }
      }
      pixels += filePixels
      labels += fileLabels
      if let limit, labels.count >= limit { break }
    }
    if let limit, labels.count > limit {
      pixels.removeSubrange((limit * imageSize)...)
      labels.removeSubrange(limit...)
    }
    return CIFAR10(pixels: pixels, labels: labels)
  }

  /// Where to find the data: `--data`, then `CIFAR10_DIR`, then `data/cifar-10-batches-bin`.
  public static func locate(_ explicit: String?) -> String {
    if let explicit { return explicit }
    if let env = ProcessInfo.processInfo.environment["CIFAR10_DIR"], !env.isEmpty { return env }
    return "data/cifar-10-batches-bin"
  }

  /// The images at `indices` as a normalised [n, 3, 32, 32] tensor; with `augment`, each is flipped left to
  /// right at random and cropped at a random offset from a 4-pixel zero-padded copy.
  public func batch(_ indices: [Int], augment: Bool = false, rng: inout SeededGenerator) throws -> Tensor {
    var out = [Float](repeating: 0, count: indices.count * Self.imageSize)
    // Every byte value's normalised float per channel, computed as (p / 255 - mean) / std once.
    let table = Self.normalised
    pixels.withUnsafeBufferPointer { px in
      out.withUnsafeMutableBufferPointer { po in
        for (k, i) in indices.enumerated() {
          let flip = augment && rng.next() % 2 == 0
          let dx = augment ? Int(rng.next() % 9) - 4 : 0, dy = augment ? Int(rng.next() % 9) - 4 : 0
          // The output columns whose source column x + dx lies inside the image (zeros elsewhere).
          let x0 = max(0, -dx), x1 = min(32, 32 - dx)
          for c in 0..<3 {
            let lookup = table[c]
            let src = px.baseAddress! + i * Self.imageSize + c * 1024, dst = po.baseAddress! + k * Self.imageSize + c * 1024
            for y in 0..<32 {
              let sy = y + dy
              guard sy >= 0 && sy < 32 else { continue }
              let row = src + sy * 32, to = dst + y * 32
              if flip {
                for x in x0..<x1 { to[x] = lookup[Int(row[31 - (x + dx)])] }
              } else {
                for x in x0..<x1 { to[x] = lookup[Int(row[x + dx])] }
              }
            }
          }
        }
      }
    }
    return try Tensor(out, shape: [indices.count, 3, 32, 32])
  }

  /// normalised[c][p]: byte p of channel c as the network sees it.
  static let normalised: [[Float]] = (0..<3).map { c in
    let m = mean[c], s = 1 / std[c]
    return (0..<256).map { p in (Float(p) / 255 - m) * s }
  }

  /// The labels at `indices` as a [n] tensor of class indices.
  public func labelTensor(_ indices: [Int]) throws -> Tensor {
    try Tensor(indices.map { Float(labels[$0]) }, shape: [indices.count])
  }

  /// One image's bytes (CHW), for drawing.
  public func image(_ i: Int) -> [UInt8] { Array(pixels[(i * Self.imageSize)..<((i + 1) * Self.imageSize)]) }

  /// Writes images and labels as a CIFAR-10 binary batch file (for test fixtures).
  public func write(to path: String) throws {
    var data = Data(capacity: count * Self.recordSize)
    for i in 0..<count {
      data.append(UInt8(labels[i]))
      data.append(contentsOf: pixels[(i * Self.imageSize)..<((i + 1) * Self.imageSize)])
    }
    try data.write(to: URL(fileURLWithPath: path))
  }
}
