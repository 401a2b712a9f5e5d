import FigureTesting
@testable import Plotting
import XCTest

/// Bad data gets a clear error or a documented treatment, never a crash and never a silently empty picture.
final class BadDataTests: XCTestCase {
  private func quiet(_ fig: Figure) -> Figure {
    fig.printsWarnings = false
    return fig
  }

  private func assertPlotError(_ fig: Figure, _ expected: (PlotError) -> Bool, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
    for format in FigureFormat.allCases {
      XCTAssertThrowsError(try fig.data(format), file: file, line: line) { error in
        guard let e = error as? PlotError else { return XCTFail("not a PlotError: \(error)", file: file, line: line) }
        XCTAssert(expected(e), "unexpected error \(e)", file: file, line: line)
        XCTAssert(e.description.contains(text), "'\(e)' should mention '\(text)'", file: file, line: line)
        XCTAssertFalse(e.description.contains("\n"), "errors are one line", file: file, line: line)
      }
    }
  }

  func testEmptySeriesIsAnError() {
    let fig = quiet(Figure())
    fig.axes.line([], [], label: "loss")
    assertPlotError(fig, { if case .emptySeries = $0 { return true } else { return false } }, contains: "line 'loss' has no points")
  }

  func testEmptyFigureIsAnError() {
    assertPlotError(quiet(Figure()), { if case .emptySeries = $0 { return true } else { return false } }, contains: "nothing in it")
  }

  func testMismatchedLengthsAreAnError() {
    let fig = quiet(Figure())
    fig.axes.line([1, 2, 3], [1, 2], label: "acc")
    assertPlotError(fig, { if case .lengthMismatch = $0 { return true } else { return false } }, contains: "x has 3 values but y has 2")
    let scatter = quiet(Figure())
    scatter.axes.scatter([1, 2], [1, 2], classes: [0])
    assertPlotError(scatter, { if case .lengthMismatch = $0 { return true } else { return false } }, contains: "classes has 1")
    let heat = quiet(Figure())
    heat.axes.heatmap([1, 2, 3], rows: 2, columns: 2, x: 0...1, y: 0...1)
    assertPlotError(heat, { if case .lengthMismatch = $0 { return true } else { return false } }, contains: "needs 4 values but got 3")
  }

  func testNaNAndInfinitePointsAreSkippedWithAWarning() throws {
    let fig = quiet(Figure(width: 400, height: 300))
    fig.axes.line([0, 1, 2, 3, 4], [1, .nan, 2, .infinity, 3], label: "loss")
    try FigureBaseline.check(fig, named: "nan-skipped")
    XCTAssertEqual(fig.warnings, ["line 'loss': skipped 2 NaN or infinite points"])
  }

  func testAllNaNIsAnError() {
    let fig = quiet(Figure())
    fig.axes.line([0, 1], [.nan, .nan], label: "loss")
    assertPlotError(fig, { if case .emptySeries = $0 { return true } else { return false } }, contains: "no point that can be drawn")
  }

  func testLogAxisSkipsValuesAtOrBelowZero() throws {
    let fig = quiet(Figure(width: 400, height: 300))
    fig.axes.yScale = .log
    fig.axes.line([0, 1, 2, 3], [10, 0, -1, 0.01], label: "loss")
    try FigureBaseline.check(fig, named: "log-nonpositive")
    XCTAssertEqual(fig.warnings, ["line 'loss': skipped 2 points <= 0 that a log axis cannot show"])
    let none = quiet(Figure())
    none.axes.xScale = .log
    none.axes.line([0, -1], [1, 2])
    assertPlotError(none, { if case .emptySeries = $0 { return true } else { return false } }, contains: "<= 0 on a log axis")
  }

  func testSinglePointIsDrawnAsADot() throws {
    let fig = quiet(Figure(width: 400, height: 300))
    fig.axes.line([2], [3], label: "one point")
    try FigureBaseline.check(fig, named: "single-point")
    let img = try FigureBaseline.decodePNG(fig.pngData())
    // The dot is in the middle of the plot: blue pixels exist.
    let blue = stride(from: 0, to: img.pixels.count, by: 3).filter { img.pixels[$0 + 2] > 150 && img.pixels[$0] < 60 }.count
    XCTAssertGreaterThan(blue, 5, "a single point must not vanish")
  }

  func testFlatRangeIsOpenedAroundTheValue() throws {
    let fig = quiet(Figure(width: 400, height: 300))
    fig.axes.line([0, 1, 2, 3], [5, 5, 5, 5], label: "flat")
    try FigureBaseline.check(fig, named: "flat-range")
    XCTAssert(fig.warnings.isEmpty)
  }

  func testBadLimitsAreAnError() {
    let fig = quiet(Figure())
    fig.axes.line([1, 2], [1, 2])
    fig.axes.yScale = .log
    fig.axes.yLimits = -1...10
    assertPlotError(fig, { if case .invalidData = $0 { return true } else { return false } }, contains: "log axis")
  }

  func testUnknownExtensionIsAnError() {
    let fig = quiet(Figure())
    fig.axes.line([1, 2], [1, 2])
    XCTAssertThrowsError(try fig.save(NSTemporaryDirectory() + "/figure.jpg")) { error in
      XCTAssertEqual(error as? PlotError, .unknownFormat(NSTemporaryDirectory() + "/figure.jpg"))
      XCTAssert("\(error)".contains("use a .png or .svg extension"))
    }
  }

  func testUnwritablePathIsAnErrorAndLeavesNothing() throws {
    let fig = quiet(Figure())
    fig.axes.line([1, 2], [1, 2])
    // A folder that cannot exist: its parent is a regular file (root may write anywhere else).
    let file = NSTemporaryDirectory() + "/neural-lessons-\(getpid())-file"
    try Data("x".utf8).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    XCTAssertThrowsError(try fig.save(file + "/sub/figure.png")) { error in
      guard case .cannotWrite(let path, _)? = error as? PlotError else { return XCTFail("\(error)") }
      XCTAssertEqual(path, file + "/sub/figure.png")
      XCTAssert("\(error)".contains("cannot write"))
    }
  }

  func testSaveIsAtomicAndLeavesNoTemporaryFiles() throws {
    let dir = NSTemporaryDirectory() + "/neural-lessons-\(getpid())-atomic"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let fig = quiet(Figure(width: 200, height: 150))
    fig.axes.line([1, 2], [1, 2])
    let written = try fig.save(to: dir + "/nested/fig", formats: [.png, .svg])
    XCTAssertEqual(written, [dir + "/nested/fig.png", dir + "/nested/fig.svg"])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/nested").sorted(), ["fig.png", "fig.svg"])
    // Overwriting replaces the file whole.
    try fig.save(dir + "/nested/fig.png")
    XCTAssertEqual(FileManager.default.contents(atPath: dir + "/nested/fig.png"), try fig.pngData())
  }

  func testBadImageSizeIsAnError() {
    XCTAssertThrowsError(try ImageTile(rgb: [1, 2, 3], width: 2, height: 2)) { error in
      XCTAssert("\(error)".contains("needs 12 values but got 3"), "\(error)")
    }
  }

  func testMLPWeightShapeIsChecked() {
    let fig = quiet(Figure())
    fig.diagram().mlp(layerSizes: [2, 3], weights: [[[1, 2, 3]]])
    assertPlotError(fig, { if case .lengthMismatch = $0 { return true } else { return false } }, contains: "must be 3x2")
  }
}
