import BenchKit
import Foundation
import XCTest

/// The targets' history: which runs count towards "three runs in a row", and the file round trip.
final class TargetHistoryTests: XCTestCase {
  func run(_ cpu: String, _ holds: Bool?, quick: Bool = false, complete: Bool = true) -> TargetHistory.Run {
    .init(date: "2026-12-02T00:00:00Z", cpu: cpu, quick: quick, complete: complete, outcomes: [.init(target: "GEMM", value: "1.00x", holds: holds)])
  }

  func testThreeFullRunsInARowOnTheSameProcessor() throws {
    var history = TargetHistory()
    history.append(run("A", true))
    history.append(run("A", true))
    XCTAssertFalse(history.heldInARow("GEMM", cpu: "A"), "two runs are not three")
    history.append(run("B", false))
    history.append(run("A", true, quick: true))
    history.append(run("A", false, complete: false))
    XCTAssertFalse(history.heldInARow("GEMM", cpu: "A"), "other processors, quick and filtered runs do not count")
    history.append(run("A", true))
    XCTAssertTrue(history.heldInARow("GEMM", cpu: "A"))
    XCTAssertEqual(history.recent("GEMM", cpu: "A"), [true, true, true])
    history.append(run("A", nil))
    XCTAssertFalse(history.heldInARow("GEMM", cpu: "A"), "a target not measured does not hold")
    XCTAssertEqual(history.recent("GEMM", cpu: "B"), [false])
    XCTAssertEqual(history.recent("other", cpu: "A"), [nil, nil, nil])

    let back = try TargetHistory.decode(try history.encoded())
    XCTAssertEqual(back, history)
    XCTAssertThrowsError(try TargetHistory.decode(Data("not json".utf8)))
  }

  func testKeepsTheNewestRuns() {
    var history = TargetHistory()
    for i in 0..<40 { history.append(run("A", i % 2 == 0), keeping: 30) }
    XCTAssertEqual(history.runs.count, 30)
    XCTAssertEqual(history.recent("GEMM", cpu: "A", count: 2), [true, false], "runs 38 and 39, oldest first")
    // Quick runs go before full ones when the history is full.
    for _ in 0..<5 { history.append(run("A", false, quick: true), keeping: 30) }
    XCTAssertEqual(history.runs.count, 30)
    XCTAssertEqual(history.runs.filter(\.quick).count, 1, "only the newest quick run is left")
    XCTAssertEqual(history.recent("GEMM", cpu: "A", count: 2), [true, false])
  }
}
