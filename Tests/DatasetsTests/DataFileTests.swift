import Datasets
import Foundation
import XCTest

/// Data files are checked before they are read: folders, devices and oversized files get their own message.
final class DataFileTests: XCTestCase {
  func testFoldersDevicesAndHugeFilesAreNamedAsSuch() throws {
    let folder = NSTemporaryDirectory() + "/neural-lessons-datafile-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder + "/sub.csv", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    XCTAssertThrowsError(try XYData.load(csv: folder + "/sub.csv")) { XCTAssert("\($0)".contains("is a folder"), "\($0)") }
    XCTAssertThrowsError(try XYData.load(csv: "/dev/zero")) { XCTAssert("\($0)".contains("device"), "\($0)") }
    let huge = folder + "/huge.bin"
    FileManager.default.createFile(atPath: huge, contents: nil)
    XCTAssertEqual(truncate(huge, 3 << 30), 0)
    XCTAssertThrowsError(try CIFAR10.load(folder: folder, files: ["huge.bin"])) { XCTAssert("\($0)".contains("more than a CIFAR-10 batch"), "\($0)") }
    XCTAssertThrowsError(try XYData.load(csv: folder + "/missing.csv")) { XCTAssert("\($0)".contains("cannot be read"), "\($0)") }
  }

  func testValuesWhoseSquareOverflowsAreRefused() throws {
    let path = NSTemporaryDirectory() + "/neural-lessons-big-\(getpid()).csv"
    try "x,y\n1e200,1\n2,3\n".write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertThrowsError(try XYData.load(csv: path)) { XCTAssert("\($0)".contains("line 2") && "\($0)".contains("too large"), "\($0)") }
  }
}
