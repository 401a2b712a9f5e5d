import Datasets
import Foundation
import XCTest

/// The breast-cancer table reader on small files in the real file's format.
final class BreastCancerTests: XCTestCase {
  var paths: [String] = []
  override func tearDown() { for p in paths { try? FileManager.default.removeItem(atPath: p) } }

  func write(_ text: String) -> String {
    let path = NSTemporaryDirectory() + "/breast-cancer-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).csv"
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    paths.append(path)
    return path
  }

  let good = "3,2,malignant,benign\n1.5,2,0\n-3e2,0.25,1\n4,5,1\n"

  func testReadsTheFileAndItsHeader() throws {
    let t = try BreastCancer.load(path: write(good))
    XCTAssertEqual(t.count, 3)
    XCTAssertEqual(t.featureCount, 2)
    XCTAssertEqual(t.features, [1.5, 2, -300, 0.25, 4, 5])
    XCTAssertEqual(t.labels, [0, 1, 1])
    XCTAssertEqual(t.classNames, ["malignant", "benign"])
    XCTAssertEqual(Array(t.row(1)), [-300, 0.25])
    // Round trip through the format, CRLF line ends and no final newline read the same.
    XCTAssertEqual(try BreastCancer.load(path: write(t.csv())), t)
    XCTAssertEqual(try BreastCancer.load(path: write(good.replacingOccurrences(of: "\n", with: "\r\n"))), t)
    XCTAssertEqual(try BreastCancer.load(path: write(String(good.dropLast()))), t)
    XCTAssertEqual(BreastCancer.featureNames.count, 30)
    XCTAssertEqual(BreastCancer.featureNames[0], "mean radius")
    XCTAssertEqual(BreastCancer.featureNames[29], "worst fractal dimension")
  }

  func testBadFilesAreRefusedWithTheFileAndLine() throws {
    let cases: [(String, String)] = [
      ("", "the file is empty"),
      ("569,30\n1,2,0\n", "line 1: the header '569,30' is not"),
      ("x,y,malignant,benign\n1,2,0\n", "line 1: the header"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,0.25,1\n", "2 data rows but the header says 3: the file is truncated"),
      ("2,2,malignant,benign\n1.5,2,0\n-3e2,0.25,1\n4,5,1\n", "3 data rows but the header says 2: the header does not match"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,0.25\n4,5,1\n", "line 3: 2 columns, expected 3"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,0.25,1\n4,5,1,7\n", "line 4: 4 columns, expected 3"),
      ("3,2,malignant,benign\n1.5,2,0\n\n4,5,1\n", "line 3: 1 column, expected 3"),
      ("3,2,malignant,benign\n1.5,abc,0\n-3e2,0.25,1\n4,5,1\n", "line 2: 'abc' in column 2 (feature 2) is not a number"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,,1\n4,5,1\n", "line 3: '' in column 2 (feature 2) is not a number"),
      ("3,2,malignant,benign\n1.5,2,0\nnan,0.25,1\n4,5,1\n", "line 3: 'nan' in column 1 (feature 1) is not a number"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,0.25,1\n4,5,2\n", "line 4: label '2' is neither 0 (malignant) nor 1 (benign)"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,0.25,0.5\n4,5,1\n", "line 3: label '0.5' is neither 0"),
      ("3,2,malignant,benign\n1.5,2,0\n-3e2,0.25,yes\n4,5,1\n", "line 3: 'yes' in column 3 (the label) is not a number"),
    ]
    for (text, expected) in cases {
      let path = write(text)
      XCTAssertThrowsError(try BreastCancer.load(path: path), text.debugDescription) { error in
        let message = "\(error)"
        XCTAssert(message.contains(expected), "\(text.debugDescription): \(message)")
        XCTAssert(message.contains((path as NSString).lastPathComponent), "the message names the file: \(message)")
        XCTAssertFalse(message.contains("\n"), "one line: \(message)")
      }
    }
  }

  func testMissingAndOversizedFiles() throws {
    XCTAssertThrowsError(try BreastCancer.load(path: "/nonexistent/breast_cancer.csv")) {
      XCTAssertEqual("\($0)", "/nonexistent/breast_cancer.csv not found: run make data (or pass --data FILE)")
    }
    // Refused by its size before it is read: a valid table, but larger than allowed.
    let path = write(good)
    XCTAssertNoThrow(try BreastCancer.load(path: path, maximumBytes: good.utf8.count))
    XCTAssertThrowsError(try BreastCancer.load(path: path, maximumBytes: good.utf8.count - 1)) {
      XCTAssert("\($0)".contains("far more than a breast-cancer table can hold"), "\($0)")
    }
  }

  /// The real file, where `make data` has put it (skipped elsewhere, as in CI).
  func testTheRealFileWhenPresent() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let path = root + "/" + BreastCancer.defaultPath
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is absent (make data)") }
    let t = try BreastCancer.load(path: path)
    XCTAssertEqual(t.count, 569)
    XCTAssertEqual(t.featureCount, 30)
    XCTAssertEqual(t.labels.filter { $0 == 0 }.count, 212)
    XCTAssertEqual(t.features[0], 17.99)
  }
}
