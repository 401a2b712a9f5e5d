import FigureTesting
import PlotGallery
@testable import Plotting
import XCTest

final class DeterminismTests: XCTestCase {
  /// Two renders of one figure in one process give the same bytes, even with other figures (and their
  /// Cairo surface ids) in between.
  func testSameFigureGivesIdenticalBytesWithinOneProcess() throws {
    for example in Gallery.examples.filter({ ["line", "image-grid", "decision-boundary", "mlp"].contains($0.name) }) {
      let first = example.make()
      let png1 = try first.pngData(), svg1 = try first.svgData()
      _ = try Gallery.examples[5].make().svgData()
      _ = try Gallery.examples[10].make().svgData()
      let second = example.make()
      XCTAssertEqual(png1, try second.pngData(), "\(example.name): PNG bytes differ between two renders")
      XCTAssertEqual(svg1, try second.svgData(), "\(example.name): SVG bytes differ between two renders")
    }
  }

  func testSVGIdsAreRenumberedFromOne() {
    let svg = Data(##"<g id="surface57"><use xlink:href="#image203"/><g clip-path="url(#clip9)"/><image id="image203"/></g><symbol id="glyph0-1"/>"##.utf8)
    let out = String(decoding: renumberSVGIds(svg), as: UTF8.self)
    XCTAssertEqual(out, ##"<g id="surface1"><use xlink:href="#image1"/><g clip-path="url(#clip1)"/><image id="image1"/></g><symbol id="glyph0-1"/>"##)
  }

  func testPNGHasTheRequestedSizeAndScale() throws {
    let fig = Gallery.examples[0].make()
    fig.scale = 2
    let img = try FigureBaseline.decodePNG(fig.pngData())
    XCTAssertEqual(img.width, 1600)
    XCTAssertEqual(img.height, 1200)
    let svg = String(decoding: try fig.svgData(), as: UTF8.self)
    XCTAssert(svg.contains(#"width="800px" height="600px""#), "the SVG should be 800x600 px: \(svg.prefix(300))")
  }
}
