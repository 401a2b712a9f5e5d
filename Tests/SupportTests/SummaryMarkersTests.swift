import Foundation
import Support
import XCTest

/// Markers that tie a lesson's quoted numbers to its summary.json.
final class SummaryMarkersTests: XCTestCase {
  let json: Any = try! JSONSerialization.jsonObject(with: Data(#"""
    {"acc": 0.71546, "n": 122570, "flag": true, "h": {"loss": [0.9, 0.5, 0.25]}, "tiny": 0.0000123, "big": 9.96e-3}
    """#.utf8))

  func testFindsNumbersKeysAndFormats() {
    let m = SummaryMarkers.find(in: "a 71.5<!--=acc:p1-->% and 122,570<!--=n:int--> and 1.2 × 10⁻⁵<!--=tiny:e1--> <!--=x-->")
    XCTAssertEqual(m.map(\.literal), ["71.5", "122,570", "1.2 × 10⁻⁵", ""])
    XCTAssertEqual(m.map(\.key), ["acc", "n", "tiny", "x"])
    XCTAssertEqual(m.map(\.format), ["p1", "int", "e1", nil])
  }

  func testPathsAndFormats() throws {
    XCTAssertEqual(try SummaryMarkers.value(at: "h.loss[-1]", in: json), 0.25)
    XCTAssertEqual(try SummaryMarkers.value(at: "h.loss[0]", in: json), 0.9)
    XCTAssertEqual(try SummaryMarkers.format(0.71546, "p1"), "71.5")
    XCTAssertEqual(try SummaryMarkers.format(0.71546, "f3"), "0.715")
    XCTAssertEqual(try SummaryMarkers.format(122570, "int"), "122,570")
    XCTAssertEqual(try SummaryMarkers.format(0.0000123, "e1"), "1.2 × 10⁻⁵")
    XCTAssertEqual(try SummaryMarkers.format(9.96e-3, "e1"), "1.0 × 10⁻²", "a mantissa that rounds to 10 moves the exponent")
    XCTAssertEqual(try SummaryMarkers.format(0.000123456, "s2"), "0.00012")
    XCTAssertEqual(try SummaryMarkers.format(3, nil), "3")
    XCTAssertEqual(try SummaryMarkers.format(0.25, nil), "0.25")
  }

  func testBadKeysAndFormatsSayWhatIsWrong() {
    XCTAssertThrowsError(try SummaryMarkers.value(at: "h.loss[3]", in: json)) { XCTAssertEqual("\($0)", "summary.json's 'h.loss' has 3 elements, no [3]") }
    XCTAssertThrowsError(try SummaryMarkers.value(at: "nope", in: json)) { XCTAssertEqual("\($0)", "summary.json has no 'nope'") }
    XCTAssertThrowsError(try SummaryMarkers.value(at: "flag", in: json)) { XCTAssertEqual("\($0)", "summary.json's 'flag' is not a number") }
    XCTAssertThrowsError(try SummaryMarkers.value(at: "h", in: json))
    XCTAssertThrowsError(try SummaryMarkers.format(1, "q2"))
    XCTAssertThrowsError(try SummaryMarkers.fill("alone <!--=acc-->", summary: json))
  }

  func testFillReplacesEveryMarkedNumberAndReportsChanges() throws {
    let (text, changes) = try SummaryMarkers.fill("at 70.0<!--=acc:p1-->% after 122,570<!--=n:int--> steps", summary: json)
    XCTAssertEqual(text, "at 71.5% after 122,570 steps")
    XCTAssertEqual(changes, [SummaryMarkers.Change(key: "acc", written: "70.0", run: "71.5")])
  }

  /// A README refilled from its run (`site --fill-readmes`) keeps its markers after the new numbers.
  func testFillCanKeepTheMarkers() throws {
    let text = "at 70.0<!--=acc:p1-->% after 1.0 × 10⁻⁴<!--=tiny:e1--> and 122,570<!--=n:int--> steps"
    let (filled, changes) = try SummaryMarkers.fill(text, summary: json, keepingMarkers: true)
    XCTAssertEqual(filled, "at 71.5<!--=acc:p1-->% after 1.2 × 10⁻⁵<!--=tiny:e1--> and 122,570<!--=n:int--> steps")
    XCTAssertEqual(changes.map(\.key), ["acc", "tiny"])
    XCTAssertEqual(try SummaryMarkers.fill(filled, summary: json, keepingMarkers: true).text, filled, "a second fill changes nothing")
  }
}
