@testable import Plotting
import XCTest

final class TicksTests: XCTestCase {
  func testLinearTicksUseOneTwoFiveSteps() {
    XCTAssertEqual(Ticks.linear(0, 10, maxTicks: 6), [0, 2, 4, 6, 8, 10])
    XCTAssertEqual(Ticks.linear(0, 10, maxTicks: 11), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    XCTAssertEqual(Ticks.linear(-1.05, 1.05, maxTicks: 9), [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1])
    XCTAssertEqual(Ticks.linear(0.13, 0.87, maxTicks: 5), [0.2, 0.4, 0.6, 0.8])
    XCTAssertEqual(Ticks.linear(1995, 2025, maxTicks: 8), [1995, 2000, 2005, 2010, 2015, 2020, 2025])
  }

  func testLinearTicksNeverExceedTheMaximum() {
    for (lo, hi) in [(0.0, 1.0), (-3.7, 12.2), (1e-6, 3e-6), (100.0, 100.5), (-1e9, 1e9)] {
      for n in 3...10 {
        let t = Ticks.linear(lo, hi, maxTicks: n)
        XCTAssertLessThanOrEqual(t.count, n, "\(lo)...\(hi) with \(n)")
        XCTAssertGreaterThanOrEqual(t.count, 2, "\(lo)...\(hi) with \(n)")
        XCTAssert(t.allSatisfy { $0 >= lo - 1e-12 && $0 <= hi + 1e-12 })
      }
    }
  }

  func testLabelsHaveTheDecimalsTheStepNeeds() {
    XCTAssertEqual(Ticks.labels(for: [0, 0.25, 0.5]), ["0.00", "0.25", "0.50"])
    XCTAssertEqual(Ticks.labels(for: [-1, 0, 1]), ["\u{2212}1", "0", "1"])
    XCTAssertEqual(Ticks.labels(for: [0, 500, 1000]), ["0", "500", "1000"])
    XCTAssertEqual(Ticks.labels(for: [0, 2e6, 4e6]), ["0", "2e6", "4e6"])
  }

  func testLogTicksAreDecades() {
    let t = Ticks.log(1e-4, 10, maxTicks: 8).filter { !$0.isMinor }
    XCTAssertEqual(t.map(\.label), ["10\u{207b}\u{2074}", "10\u{207b}\u{00b3}", "10\u{207b}\u{00b2}", "10\u{207b}\u{00b9}", "1", "10"])
    let wide = Ticks.log(1e-12, 1e12, maxTicks: 6).filter { !$0.isMinor }
    XCTAssertLessThanOrEqual(wide.count, 7)
    let narrow = Ticks.log(2, 30, maxTicks: 8)
    XCTAssertEqual(narrow.map(\.label), ["2", "5", "10", "20"])
  }

  func testMarchingSquaresTracesACircle() {
    let n = 41
    let xs = cellCenters(-2...2, count: n)
    let v = xs.flatMap { y in xs.map { x in x * x + y * y } }
    let segs = marchingSquares(v, rows: n, columns: n, level: 1)
    XCTAssertGreaterThan(segs.count, 20)
    let step = xs[1] - xs[0]
    for (a, _) in segs {
      let r = hypot(xs[0] + a.x * step, xs[0] + a.y * step)
      XCTAssertEqual(r, 1, accuracy: 0.02)
    }
    let paths = joinSegments(segs)
    XCTAssertEqual(paths.count, 1, "a circle is one closed line")
  }

  func testHistogramBinsMatchNumpy() {
    // numpy.histogram([1, 2, 2, 3, 3, 3, 4], bins=3) -> counts [1, 2, 4], edges [1, 2, 3, 4]
    let (edges, counts) = histogramBins([1, 2, 2, 3, 3, 3, 4], bins: 3, range: nil, density: false)
    XCTAssertEqual(edges, [1, 2, 3, 4])
    XCTAssertEqual(counts, [1, 2, 4])
    let (_, density) = histogramBins([1, 2, 2, 3, 3, 3, 4], bins: 3, range: nil, density: true)
    XCTAssertEqual(density.reduce(0, +), 1, accuracy: 1e-12)
  }

  func testColormapsEndsAndMidpoints() {
    XCTAssertEqual(Colormap.viridis.color(at: 0).description, "#440154")
    XCTAssertEqual(Colormap.viridis.color(at: 1).description, "#fde725")
    XCTAssertEqual(Colormap.orangeBlue.color(at: 0), Color.negative)
    XCTAssertEqual(Colormap.orangeBlue.color(at: 1), Color.positive)
    XCTAssertEqual(Colormap.gray.color(at: 0.5).description, "#808080")
    XCTAssertEqual(Colormap.viridis.color(at: .nan), .clear)
    XCTAssertEqual(Set(Palette.okabeIto.map(\.description)).count, 8)
  }
}

extension TicksTests {
  func testLabelsIgnoreBinaryNoiseInTheStep() {
    XCTAssertEqual(Ticks.labels(for: Ticks.linear(4.5, 5.5, maxTicks: 6)), ["4.6", "4.8", "5.0", "5.2", "5.4"])
  }
}
