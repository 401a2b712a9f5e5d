import Datasets
import Foundation
import Tensors
import XCTest

/// A tiny digits set in the file's format, made for the tests (they never need the real one).
enum DigitsFixture {
  static func make(count: Int = 30, seed: UInt64 = 1) -> Digits {
    var rng = SeededGenerator(seed: seed)
    let pixels = (0..<(count * Digits.pixelCount)).map { _ in UInt8(rng.next() % 17) }
    return Digits(pixels: pixels, labels: (0..<count).map { $0 % 10 })
  }
}

final class DigitsTests: XCTestCase {
  private var dir = ""

  override func setUpWithError() throws {
    dir = NSTemporaryDirectory() + "/digits-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: dir)
  }

  private func file(_ text: String, name: String = "digits.csv") throws -> String {
    let path = dir + "/" + name
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// The error message `load` gives for `text`, or a failure when it accepts the file.
  private func error(_ text: String, file line: UInt = #line) throws -> String {
    let path = try file(text)
    do {
      _ = try Digits.load(csv: path)
      XCTFail("accepted a bad file", line: line)
      return ""
    } catch let e as DataError {
      XCTAssertTrue(e.description.hasPrefix(path), "'\(e.description)' does not start with the file's name", line: line)
      XCTAssertFalse(e.description.contains("\n"), "more than one line: \(e.description)", line: line)
      return e.description
    }
  }

  private let goodLine = (0..<64).map { String($0 % 17) }.joined(separator: ",") + ",7"

  func testRoundTripThroughTheCSVFormat() throws {
    let set = DigitsFixture.make()
    let path = dir + "/d.csv"
    try set.write(to: path)
    let back = try Digits.load(csv: path)
    XCTAssertEqual(back.pixels, set.pixels)
    XCTAssertEqual(back.labels, set.labels)
    XCTAssertEqual(back.count, 30)
  }

  func testCRLFSpacesAndATrailingBlankLineAreAccepted() throws {
    let spaced = goodLine.replacingOccurrences(of: ",", with: " , ")
    let set = try Digits.load(csv: try file(goodLine + "\r\n" + spaced + "\r\n\r\n"))
    XCTAssertEqual(set.count, 2)
    XCTAssertEqual(set.labels, [7, 7])
    XCTAssertEqual(set.image(1), (0..<64).map { UInt8($0 % 17) })
  }

  func testMissingFileSaysToRunMakeData() throws {
    XCTAssertThrowsError(try Digits.load(csv: dir + "/none.csv")) { e in
      XCTAssertEqual((e as? DataError)?.description, "\(dir)/none.csv not found: run make data (or pass --data FILE)")
    }
  }

  func testTruncatedFileIsRefusedWithItsLine() throws {
    let cut = String((goodLine + "\n" + goodLine).prefix(goodLine.count + 1 + 40))
    let message = try error(cut)
    XCTAssertTrue(message.contains("line 2") && message.contains("truncated"), message)
  }

  func testWrongColumnCountsAreRefused() throws {
    let short = try error(goodLine + "\n" + goodLine.split(separator: ",").dropLast().joined(separator: ",") + "\n")
    XCTAssertTrue(short.contains("line 2: 64 values, expected 65"), short)
    let long = try error(goodLine + ",3\n")
    XCTAssertTrue(long.contains("line 1: 66 values, expected 65"), long)
  }

  func testNonNumericAndOutOfRangeValuesAreRefused() throws {
    let text = try error(goodLine + "\n" + goodLine.replacingOccurrences(of: "0,1,2,", with: "0,x,2,") + "\n")
    XCTAssertTrue(text.contains("line 2: 'x' in column 2 is not an integer"), text)
    let fraction = try error("3.5," + goodLine.split(separator: ",").dropFirst().joined(separator: ",") + "\n")
    XCTAssertTrue(fraction.contains("'3.5' in column 1 is not an integer"), fraction)
    let empty = try error("," + goodLine.split(separator: ",").dropFirst().joined(separator: ",") + "\n")
    XCTAssertTrue(empty.contains("column 1 is not an integer"), empty)
    let pixel = try error("17," + goodLine.split(separator: ",").dropFirst().joined(separator: ",") + "\n")
    XCTAssertTrue(pixel.contains("line 1: pixel 1 is 17, outside 0-16"), pixel)
    let negative = try error("-1," + goodLine.split(separator: ",").dropFirst().joined(separator: ",") + "\n")
    XCTAssertTrue(negative.contains("pixel 1 is -1"), negative)
    let label = try error(String(goodLine.dropLast()) + "10\n")
    XCTAssertTrue(label.contains("line 1: label 10 is outside 0-9"), label)
  }

  func testEmptyBlankInsideGzipAndOversizedFilesAreRefused() throws {
    XCTAssertTrue(try error("").contains("is empty"))
    XCTAssertTrue(try error("\n\n").contains("no images"))
    XCTAssertTrue(try error(goodLine + "\n\n" + goodLine + "\n").contains("line 2: blank line"))
    let gz = dir + "/digits.csv.gz"
    try Data([0x1F, 0x8B, 0x08, 0x00, 0x00]).write(to: URL(fileURLWithPath: gz))
    XCTAssertThrowsError(try Digits.load(csv: gz)) { e in
      let m = (e as? DataError)?.description ?? ""
      XCTAssertTrue(m.contains("gzip-compressed") && m.contains("make data"), m)
    }
    // Far larger than the format allows: refused by size (a sparse file, never read).
    let big = dir + "/big.csv"
    XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
    try handle.truncate(atOffset: UInt64(Digits.maxFileSize + 1))
    try handle.close()
    XCTAssertThrowsError(try Digits.load(csv: big)) { e in
      XCTAssertTrue((e as? DataError)?.description.contains("more than a digits CSV can") ?? false, "\(e)")
    }
    XCTAssertThrowsError(try Digits.load(csv: dir)) { e in
      XCTAssertTrue((e as? DataError)?.description.contains("is a folder") ?? false, "\(e)")
    }
  }

  func testStratifiedSplitIsDisjointCompleteBalancedAndSeeded() throws {
    let set = DigitsFixture.make(count: 200)
    let parts = set.stratifiedSplit([0.6, 0.2, 0.2], seed: 3)
    XCTAssertEqual(parts.map(\.count), [120, 40, 40])
    XCTAssertEqual(Set(parts.joined()).count, 200)
    for part in parts {
      let perClass = (0..<10).map { c in part.filter { set.labels[$0] == c }.count }
      XCTAssertEqual(Set(perClass).count, 1, "unbalanced: \(perClass)")
    }
    XCTAssertEqual(parts, set.stratifiedSplit([0.6, 0.2, 0.2], seed: 3))
    XCTAssertNotEqual(parts[0], set.stratifiedSplit([0.6, 0.2, 0.2], seed: 4)[0])
  }

  func testFeaturesLabelsAndShifts() throws {
    let set = DigitsFixture.make(count: 4)
    let x = try set.features([2, 0])
    XCTAssertEqual(x.shape, [2, 64])
    XCTAssertEqual(x.data[0], Float(set.pixels[2 * 64]))
    XCTAssertEqual(x.data[64 + 63], Float(set.pixels[63]))
    XCTAssertEqual(try set.labelTensor([3, 1]).data, [3, 1])
    var image = [UInt8](repeating: 0, count: 64)
    image[0] = 5; image[63] = 9
    let moved = Digits.shifted(image, dx: 1, dy: 2)
    XCTAssertEqual(moved[2 * 8 + 1], 5)
    XCTAssertEqual(moved.reduce(0) { $0 + Int($1) }, 5, "the pixel pushed off the edge is gone")
    XCTAssertEqual(Digits.shifted(image, dx: 0, dy: 0), image)
    XCTAssertEqual(Digits.shifted(image, dx: -1, dy: -1)[6 * 8 + 6], 9)
  }
}
