import FigureTesting
import PlotGallery
import Plotting
import XCTest

/// Every plot kind and diagram of the gallery, compared with its PNG and SVG baselines.
final class GalleryBaselineTests: XCTestCase {
  func testEveryGalleryFigureMatchesItsBaselines() throws {
    var failures: [String] = []
    for example in Gallery.examples {
      let fig = example.make()
      fig.printsWarnings = false
      do {
        try FigureBaseline.check(fig, named: example.name)
      } catch {
        failures.append("\(error)")
      }
    }
    XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
  }

  func testGalleryHasEveryPlotKind() {
    let names = Set(Gallery.examples.map(\.name))
    for kind in ["line", "line-styles", "band", "log-axes", "scatter", "heatmap", "decision-boundary", "contour", "bars", "histogram", "image-grid", "confusion-matrix", "annotations", "diagram", "mlp", "cnn-volumes", "subplots"] {
      XCTAssert(names.contains(kind), "the gallery has no '\(kind)' example")
    }
  }
}
