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
}
