import ArgumentParser
import Foundation
import PackageInfo
import PlotGallery
import Plotting

/// `make gallery`: renders an example of every plot kind and diagram, the plotting library's visual spec.
@main
struct GalleryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gallery",
    abstract: "Render an example of every plot kind and diagram as PNG and SVG.",
    version: NeuralLessons.version)

  @Option(name: .long, help: "Folder to write the figures to.")
  var out: String = "output/gallery"

  @Option(name: .long, help: "png, svg or both.")
  var format: String = "both"

  @Option(name: .long, help: "Pixel density of the PNGs (2 for high-resolution images).")
  var scale: Double = 1

  @Option(name: .long, help: "Only the examples whose name contains this text.")
  var filter: String?

  @Flag(name: .long, help: "Time the 800x600, 5 x 1,000-point line figure as PNG and as SVG instead (median of 30).")
  var time = false

  func validate() throws {
    guard ["png", "svg", "both"].contains(format) else {
      throw ValidationError("--format must be png, svg or both, not '\(format)'")
    }
    guard scale >= 0.25 && scale <= 8 else { throw ValidationError("--scale must be between 0.25 and 8, not \(scale)") }
    let trimmed = out.trimmingCharacters(in: .whitespaces)
    guard !trimmed.isEmpty else { throw ValidationError("--out is empty: give a folder to write to, e.g. --out output/gallery") }
    guard (trimmed as NSString).standardizingPath != "/", !trimmed.allSatisfy({ $0 == "/" }) else {
      throw ValidationError("--out '\(out)' is the root folder: give a folder of its own, e.g. --out output/gallery")
    }
  }

  func run() throws {
    if time { return try timeLineFigure() }
    let formats: [FigureFormat] = format == "both" ? [.png, .svg] : [FigureFormat(rawValue: format)!]
    let chosen = Gallery.examples.filter { filter == nil || $0.name.contains(filter!) }
    guard !chosen.isEmpty else { throw ValidationError("no example matches --filter '\(filter ?? "")'") }
    let start = Date()
    for (i, example) in chosen.enumerated() {
      let fig = example.make()
      fig.scale = scale
      do {
        try fig.save(to: out + "/" + example.name, formats: formats)
      } catch let error as PlotError {
        throw ValidationError("\(example.name): \(error)")
      }
      print("[\(i + 1)/\(chosen.count)] \(example.name)")
    }
    print(String(format: "wrote %d figures to %@ in %.2f s", chosen.count * formats.count, out, Date().timeIntervalSince(start)))
  }

  /// Median wall time of building and rendering the line example, per format.
  func timeLineFigure() throws {
    for format in FigureFormat.allCases {
      var times: [Double] = []
      for run in 0..<33 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try Gallery.line().data(format)
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        if run >= 3 { times.append(dt) }  // the first runs warm up caches and fonts
      }
      times.sort()
      print(String(format: "line 800x600, 5 x 1000 points, %@: median %.2f ms (min %.2f, max %.2f)", format.rawValue, times[times.count / 2], times[0], times[times.count - 1]))
    }
  }
}
