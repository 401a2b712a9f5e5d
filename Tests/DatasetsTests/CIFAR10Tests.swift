import Datasets
import Tensors
import XCTest

/// A tiny data set in the official binary layout, made for the tests (they never need the real one).
enum CIFARFixture {
  static func make(records: Int = 12, seed: UInt64 = 1) -> CIFAR10 {
    var rng = SeededGenerator(seed: seed)
    let pixels = (0..<(records * CIFAR10.imageSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    return CIFAR10(pixels: pixels, labels: (0..<records).map { $0 % 10 })
  }

  /// A folder with data_batch_1..5.bin and test_batch.bin.
  static func folder(records: Int = 12) throws -> String {
    let dir = NSTemporaryDirectory() + "/cifar-fixture-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (i, file) in (CIFAR10.trainFiles + CIFAR10.testFiles).enumerated() {
      try make(records: records, seed: UInt64(i + 1)).write(to: dir + "/" + file)
    }
    return dir
  }
}

final class CIFAR10Tests: XCTestCase {
  func testRoundTripThroughTheBinaryLayout() throws {
    let dir = try CIFARFixture.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let train = try CIFAR10.load(folder: dir, files: CIFAR10.trainFiles)
    XCTAssertEqual(train.count, 60)
    XCTAssertEqual(Array(train.pixels.prefix(100)), Array(CIFARFixture.make(seed: 1).pixels.prefix(100)))
    XCTAssertEqual(Array(train.labels.prefix(12)), (0..<12).map { $0 % 10 })
    let limited = try CIFAR10.load(folder: dir, files: CIFAR10.trainFiles, limit: 15)
    XCTAssertEqual(limited.count, 15)
    XCTAssertEqual(limited.pixels.count, 15 * 3072)
  }

  func testBatchesAreNormalisedCHWTensors() throws {
    var rng = SeededGenerator(seed: 1)
    let set = CIFARFixture.make(records: 4)
    let b = try set.batch([2, 0], rng: &rng)
    XCTAssertEqual(b.shape, [2, 3, 32, 32])
    // The first value of image 2's red plane.
    let expected = (Float(set.pixels[2 * 3072]) / 255 - CIFAR10.mean[0]) / CIFAR10.std[0]
    XCTAssertEqual(b.data[0], expected, accuracy: 1e-6)
    let augmented = try set.batch([0, 1, 2, 3], augment: true, rng: &rng)
    XCTAssertEqual(augmented.shape, [4, 3, 32, 32])
    XCTAssertNotEqual(augmented.data, try set.batch([0, 1, 2, 3], rng: &rng).data)
  }

  /// Augmented batches against the definition, value by value: the source pixel of output (y, x) is
  /// (y + dy, x + dx), mirrored when flipped, zero when it falls outside; draws in the same order.
  func testAugmentationMatchesItsDefinition() throws {
    let set = CIFARFixture.make(records: 6)
    var rng = SeededGenerator(seed: 9), replay = SeededGenerator(seed: 9)
    let indices = [5, 0, 3, 3, 1, 2, 4, 0, 1, 5, 2, 4]
    let batch = try set.batch(indices, augment: true, rng: &rng)
    var expected = [Float](repeating: 0, count: indices.count * 3072)
    for (k, i) in indices.enumerated() {
      let flip = replay.next() % 2 == 0
      let dx = Int(replay.next() % 9) - 4, dy = Int(replay.next() % 9) - 4
      for c in 0..<3 {
        for y in 0..<32 {
          for x in 0..<32 {
            let sy = y + dy, sx = flip ? 31 - (x + dx) : x + dx
            guard sy >= 0 && sy < 32 && sx >= 0 && sx < 32 else { continue }
            expected[k * 3072 + c * 1024 + y * 32 + x] = (Float(set.pixels[i * 3072 + c * 1024 + sy * 32 + sx]) / 255 - CIFAR10.mean[c]) * (1 / CIFAR10.std[c])
          }
        }
      }
    }
    XCTAssertEqual(batch.data, expected)
  }

  func testBadDataIsReportedWithTheFile() throws {
    let dir = try CIFARFixture.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    XCTAssertThrowsError(try CIFAR10.load(folder: dir + "/nope", files: CIFAR10.trainFiles)) {
      XCTAssert("\($0)".contains("does not exist") && "\($0)".contains("make data"), "\($0)")
    }
    try FileManager.default.removeItem(atPath: dir + "/data_batch_3.bin")
    XCTAssertThrowsError(try CIFAR10.load(folder: dir, files: CIFAR10.trainFiles)) {
      XCTAssert("\($0)".contains("data_batch_3.bin is missing"), "\($0)")
    }
    var bytes = FileManager.default.contents(atPath: dir + "/test_batch.bin")!
    bytes.removeLast(10)
    try bytes.write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
    XCTAssertThrowsError(try CIFAR10.load(folder: dir, files: CIFAR10.testFiles)) {
      XCTAssert("\($0)".contains("test_batch.bin has 36866 bytes, not a multiple of 3073"), "\($0)")
    }
    var labels = FileManager.default.contents(atPath: dir + "/data_batch_1.bin")!
    labels[3073 * 2] = 12
    try labels.write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
    XCTAssertThrowsError(try CIFAR10.load(folder: dir, files: ["data_batch_1.bin"])) {
      XCTAssert("\($0)".contains("data_batch_1.bin: record 3 has label 12"), "\($0)")
    }
  }
}

final class XYDataTests: XCTestCase {
  func testColumnsByName() throws {
    let path = NSTemporaryDirectory() + "/xy-\(getpid()).csv"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try "y,x\n1,2\n3,4\n\"5\",6\n".write(toFile: path, atomically: true, encoding: .utf8)
    XCTAssertEqual(try XYData.load(csv: path), XYData(x: [2, 4, 6], y: [1, 3, 5]))
  }
}
