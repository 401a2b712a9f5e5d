import FigureTesting
import Foundation
@testable import Plotting
import XCTest

/// Series of millions of points render in bounded time and file size, and a decimated line looks like the
/// line drawn in full.
final class HugeSeriesTests: XCTestCase {
  /// A noisy, increasing-x series of n points.
  func series(_ n: Int) -> ([Double], [Double]) {
    var state: UInt64 = 12345
    let x = (0..<n).map { Double($0) / Double(n) }
    let y = x.map { v -> Double in
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return sin(12 * v) + Double(state >> 40) / Double(1 << 24) * 0.5
    }
    return (x, y)
  }

  func testAMillionPointLineRendersInBoundedTimeAndSize() throws {
    let (x, y) = series(1_000_000)
    let fig = Figure(width: 800, height: 500)
    fig.axes.line(x, y, label: "a million points")
    let start = Date()
    let svg = try fig.data(.svg), png = try fig.data(.png)
    XCTAssertLessThan(Date().timeIntervalSince(start), 30, "rendering took too long")
    XCTAssertLessThan(svg.count, 3_000_000, "the SVG of a million-point line is \(svg.count) bytes")
    XCTAssertLessThan(png.count, 1_000_000)
  }

  /// A path that wanders (x not monotone), like stochastic gradient descent's over a loss surface.
  func testAWanderingMillionPointPathRendersInBoundedTimeAndSize() throws {
    var state: UInt64 = 99
    var (w, b) = (0.0, 0.0)
    var xs: [Double] = [], ys: [Double] = []
    for _ in 0..<1_000_000 {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      let u = Double(state >> 11) / Double(1 << 53) - 0.5
      w += 0.01 * (2 - w) + 0.02 * u
      b += 0.01 * (1 - b) - 0.02 * u
      xs.append(w)
      ys.append(b)
    }
    let fig = Figure(width: 500, height: 400)
    fig.axes.line(xs, ys, label: "path")
    let start = Date()
    let svg = try fig.data(.svg)
    _ = try fig.data(.png)
    XCTAssertLessThan(Date().timeIntervalSince(start), 30, "rendering took too long")
    XCTAssertLessThan(svg.count, 4_000_000, "the SVG of a million-point path is \(svg.count) bytes")
  }

  func testAMillionPointScatterIsSampledWithAWarning() throws {
    let (x, y) = series(1_000_000)
    let fig = Figure(width: 800, height: 500)
    fig.axes.scatter(x, y, label: "points", size: 3)
    let svg = try fig.data(.svg)
    XCTAssertLessThan(svg.count, 3_000_000, "the SVG of a million-point scatter is \(svg.count) bytes")
    XCTAssert(fig.warnings.contains { $0.contains("sample of 5000 of its 1000000 points") }, "\(fig.warnings)")
  }

  /// The decimated line and the full one differ by less than antialiasing noise.
  func testDecimationDoesNotChangeTheLook() throws {
    let (x, y) = series(60_000)
    func render(decimated: Bool) throws -> FigureBaseline.RGBImage {
      let fig = Figure(width: 600, height: 400)
      fig.axes.line(x, y, width: 1)
      if !decimated { (fig.axes.items.last as! LineItem).decimationThreshold = .max }
      return try FigureBaseline.decodePNG(try fig.data(.png))
    }
    XCTAssertLessThan(Decimation.line((0..<60_000).map { Point(Double($0) / 100, Double($0 % 7)) }).count, 20_000)
    let decimated = try render(decimated: true), full = try render(decimated: false)
    let (rms, _) = FigureBaseline.rms(decimated, full)
    XCTAssertLessThan(rms, 2.0, "the decimated line looks different (RMS \(rms))")
  }

  func testShortLinesAreDrawnAsGiven() {
    let pts = (0..<1000).map { Point(Double($0), Double($0 % 3)) }
    XCTAssertEqual(Decimation.line(pts), pts)
  }

  /// A scale that rounds a side to zero pixels is an error, not a nil unwrap in the PNG encoder.
  func testATinyScaleIsAnErrorNotATrap() {
    let fig = Figure(width: 200, height: 100, scale: 0.001)
    fig.axes.line([0, 1], [0, 1])
    XCTAssertThrowsError(try fig.data(.png)) { XCTAssert("\($0)".contains("scale"), "\($0)") }
  }
}
