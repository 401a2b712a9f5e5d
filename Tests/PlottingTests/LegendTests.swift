@testable import Plotting
import XCTest

final class LegendTests: XCTestCase {
  func testBestPlacementAvoidsThePoints() throws {
    let fig = Figure(width: 400, height: 300)
    fig.printsWarnings = false
    let ax = fig.axes
    // A cloud in the upper right and one in the lower left: the legend must go to another corner.
    var xs: [Double] = [], ys: [Double] = []
    for i in 0..<50 {
      xs.append(9 + Double(i % 5) * 0.2); ys.append(9 + Double(i / 5) * 0.1)
      xs.append(0 + Double(i % 5) * 0.2); ys.append(0 + Double(i / 5) * 0.1)
    }
    ax.scatter(xs, ys, label: "points")
    _ = try fig.pngData()
    let placement = try XCTUnwrap(ax.chosenLegend)
    XCTAssert([.upperLeft, .lowerRight, .centerLeft, .centerRight, .upperCenter, .lowerCenter].contains(placement), "\(placement)")
  }

  func testBestPlacementWouldRatherCoverSomeLineThanALonePoint() throws {
    // A line from the lower left to the upper right, and one outlier alone in the upper left: covering the
    // outlier hides a datum, so the legend takes the lower right, where only the line's end passes.
    let fig = Figure(width: 400, height: 300)
    fig.printsWarnings = false
    let ax = fig.axes
    ax.line([0, 10], [0, 10], label: "fit")
    ax.scatter([0.3, 5, 6, 9.7], [9.7, 5, 6, 9.7], label: "data")
    _ = try fig.pngData()
    XCTAssertEqual(ax.chosenLegend, .lowerRight)
  }

  func testBestPlacementAvoidsAnnotations() throws {
    let fig = Figure(width: 400, height: 300)
    fig.printsWarnings = false
    let ax = fig.axes
    ax.yLimits = 0...10
    ax.line([0, 10], [1, 1], label: "flat")
    ax.text("a note in the corner", x: 9.5, y: 9.5, anchor: .right, baseline: .top)
    _ = try fig.pngData()
    XCTAssertNotEqual(ax.chosenLegend, .upperRight)
  }
}
