import BenchKit
import XCTest

final class CompareTests: XCTestCase {
  func report(_ gemmSeconds: Double, conv: Double = 0.01) -> BenchReport {
    BenchReport(machine: Machine(cpu: "test", cores: 2, gemm_kernel: "avx2-6x16", date: "today"), results: [
      BenchResult(kernel: "gemm-final", shape: "1024x1024x1024", threads: 2, samples: [gemmSeconds, gemmSeconds * 1.01, gemmSeconds * 0.99]),
      BenchResult(kernel: "conv2d-fwd-bwd", shape: "layer 1", threads: 2, samples: [conv]),
    ])
  }

  func testATwentyPercentSlowerGEMMIsReported() {
    let (regressions, unmatched) = compare(report(0.012), baseline: report(0.010), threshold: 0.1)
    XCTAssertEqual(regressions.map(\.key), ["gemm-final 1024x1024x1024 t2"])
    XCTAssertEqual(regressions.first?.slowdown ?? 0, 0.2, accuracy: 1e-9)
    XCTAssertEqual(unmatched, [])
    XCTAssert("\(regressions[0])".contains("+20%"), "\(regressions[0])")
  }

  func testNoiseBelowTheThresholdIsNot() {
    XCTAssertEqual(compare(report(0.0105), baseline: report(0.010), threshold: 0.1).regressions, [])
    XCTAssertEqual(compare(report(0.008), baseline: report(0.010), threshold: 0.1).regressions, [], "faster is fine")
  }

  func testRoundTripAndBadBaselines() throws {
    let path = NSTemporaryDirectory() + "/bench-\(getpid()).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try report(0.01).encoded().write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(try BenchReport.load(path), report(0.01))
    XCTAssertThrowsError(try BenchReport.load(path + ".missing")) { XCTAssert("\($0)".contains("cannot read the baseline")) }
    try Data("{}".utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try BenchReport.load(path)) { XCTAssert("\($0)".contains("not a results file")) }
  }
}
