import FigureTesting
import Plotting
import XCTest

/// The baseline comparison itself must catch small changes.
final class ComparisonTests: XCTestCase {
  private func smallFigure(extraLineAt x: Double? = nil) -> Figure {
    let fig = Figure(width: 320, height: 240)
    fig.axes.line([0, 1, 2, 3], [0, 1, 0.5, 2], label: "y")
    if let x { fig.axes.verticalLine(at: x, color: .black, width: 1, dash: .solid) }
    return fig
  }

  func testOnePixelWideChangeIsCaught() throws {
    let baseline = try smallFigure().pngData()
    let changed = try smallFigure(extraLineAt: 1.5).pngData()
    let path = NSTemporaryDirectory() + "/neural-lessons-\(getpid())-baseline.png"
    try baseline.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertNoThrow(try FigureBaseline.check(baseline, format: .png, baseline: path, name: "comparison-same", record: false))
    XCTAssertThrowsError(try FigureBaseline.check(changed, format: .png, baseline: path, name: "comparison-one-pixel", record: false)) { error in
      let m = error as? FigureBaseline.Mismatch
      XCTAssertNotNil(m?.rms)
      XCTAssertGreaterThan(m?.rms ?? 0, 0)
      XCTAssert("\(error)".contains("RMS"), "\(error)")
    }
    XCTAssert(FileManager.default.fileExists(atPath: FigureBaseline.failureFolder + "/comparison-one-pixel-diff.png"))
    // A tolerance above the RMS lets it pass.
    XCTAssertNoThrow(try FigureBaseline.check(changed, format: .png, baseline: path, name: "comparison-tolerant", tolerance: 50, record: false))
  }

  func testFailuresGoWhereFigureFailuresDirSays() throws {
    let folder = NSTemporaryDirectory() + "/neural-lessons-failures-\(getpid())"
    setenv("FIGURE_FAILURES_DIR", folder, 1)
    defer { unsetenv("FIGURE_FAILURES_DIR"); try? FileManager.default.removeItem(atPath: folder) }
    XCTAssertEqual(FigureBaseline.failureFolder, folder)
    let path = NSTemporaryDirectory() + "/neural-lessons-\(getpid())-baseline-dir.png"
    try smallFigure().pngData().write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertThrowsError(try FigureBaseline.check(try smallFigure(extraLineAt: 1.5).pngData(), format: .png, baseline: path, name: "moved", record: false))
    XCTAssert(FileManager.default.fileExists(atPath: folder + "/moved-diff.png"))
  }

  func testOnePixelChangeMovesTheRMS() throws {
    var img = try FigureBaseline.decodePNG(smallFigure().pngData())
    let original = img
    for y in 0..<img.height { img.pixels[(y * img.width + 100) * 3] ^= 0xff }
    let (rms, diff) = FigureBaseline.rms(img, original)
    XCTAssertGreaterThan(rms, 0)
    XCTAssertEqual(diff.filter { $0 != 0 }.count, diff.filter { $0 == 255 }.count)
  }

  func testSVGTextChangeIsCaught() throws {
    let a = try smallFigure().svgData()
    let b = try smallFigure(extraLineAt: 1.5).svgData()
    let path = NSTemporaryDirectory() + "/neural-lessons-\(getpid())-baseline.svg"
    try a.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertNoThrow(try FigureBaseline.check(a, format: .svg, baseline: path, name: "svg-same", record: false))
    XCTAssertThrowsError(try FigureBaseline.check(b, format: .svg, baseline: path, name: "svg-changed", record: false))
  }

  func testMissingBaselineFails() throws {
    XCTAssertThrowsError(try FigureBaseline.check(Data(), format: .png, baseline: "/nonexistent/x.png", name: "missing", record: false)) { error in
      XCTAssert("\(error)".contains("RECORD_BASELINES=1"), "\(error)")
    }
  }
}
