import CCairo
import Foundation
import Plotting
import Support

/// Figure regression testing: compares rendered figures with baselines kept beside the tests.
///
/// PNGs are compared by the RMS difference over the 0-255 RGB values of all pixels (tolerance 0 by
/// default, as matplotlib's `compare_images`); SVGs as text. On a mismatch the actual and expected files and
/// a x10 difference image go to `output/test-failures/` (or the folder `FIGURE_FAILURES_DIR` names), and the
/// thrown error gives the RMS. Set
/// `RECORD_BASELINES=1` to write the baselines instead (`RECORD_BASELINES=1 make test`); a missing baseline
/// fails otherwise.
public enum FigureBaseline {
  /// Why a figure did not match its baseline.
  public struct Mismatch: Error, CustomStringConvertible {
    public let description: String
    /// The RMS difference for PNGs (nil for SVG text mismatches and missing baselines).
    public let rms: Double?
  }

  /// True when `RECORD_BASELINES` is set to anything but 0 or empty.
  public static var isRecording: Bool {
    let v = ProcessInfo.processInfo.environment["RECORD_BASELINES"] ?? ""
    return !v.isEmpty && v != "0"
  }

  /// Checks `figure` against `Baselines/png/<name>.png` and `Baselines/svg/<name>.svg` in the folder of the
  /// calling test file.
  public static func check(_ figure: Figure, named name: String, formats: [FigureFormat] = [.png, .svg], tolerance: Double = 0, file: StaticString = #filePath) throws {
    let folder = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Baselines")
    for format in formats {
      let actual = try figure.data(format)
      let baseline = folder.appendingPathComponent(format.rawValue).appendingPathComponent("\(name).\(format.rawValue)")
      try check(actual, format: format, baseline: baseline.path, name: name, tolerance: tolerance)
    }
  }

  /// Checks already-rendered bytes against the baseline file at `baseline` (`record`: write it instead).
  public static func check(_ actual: Data, format: FigureFormat, baseline: String, name: String, tolerance: Double = 0, record: Bool = isRecording) throws {
    if record {
      try writeAtomically(actual, to: baseline)
      return
    }
    guard let expected = FileManager.default.contents(atPath: baseline) else {
      throw Mismatch(description: "no baseline for '\(name)' at \(baseline): run RECORD_BASELINES=1 make test to record it, then look at it", rms: nil)
    }
    switch format {
    case .svg:
      guard actual != expected else { return }
      try saveFailure(name: name, ext: "svg", actual: actual, expected: expected, diff: nil)
      let a = String(decoding: actual, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
      let e = String(decoding: expected, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
      let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] }.map { $0 + 1 } ?? min(a.count, e.count) + 1
      throw Mismatch(description: "SVG '\(name)' differs from its baseline from line \(line) on (\(a.count) lines against \(e.count)); see \(failureFolder)", rms: nil)
    case .png:
      if actual == expected { return }
      let a = try decodePNG(actual, what: "rendered '\(name)'")
      let e = try decodePNG(expected, what: "baseline \(baseline)")
      guard a.width == e.width, a.height == e.height else {
        try saveFailure(name: name, ext: "png", actual: actual, expected: expected, diff: nil)
        throw Mismatch(description: "PNG '\(name)' is \(a.width)x\(a.height) but its baseline is \(e.width)x\(e.height); see \(failureFolder)", rms: nil)
      }
      let (value, diff) = rms(a, e)
      guard value > tolerance else { return }
      try saveFailure(name: name, ext: "png", actual: actual, expected: expected, diff: diff)
      throw Mismatch(description: String(format: "PNG '%@' differs from its baseline: RMS %.4f > tolerance %.4f; see %@", name, value, tolerance, failureFolder), rms: value)
    }
  }

  // MARK: - Images

  /// Decoded RGB pixels of a PNG.
  public struct RGBImage {
    public let width: Int
    public let height: Int
    /// R, G, B per pixel, row-major.
    public var pixels: [UInt8]
  }

  private final class Reader {
    let bytes: [UInt8]
    var offset = 0
    init(_ data: Data) { bytes = [UInt8](data) }
  }

  /// Decodes a PNG through Cairo (libpng) into RGB pixels.
  public static func decodePNG(_ data: Data, what: String = "PNG") throws -> RGBImage {
    let reader = Unmanaged.passRetained(Reader(data))
    defer { reader.release() }
    let read: cairo_read_func_t = { closure, out, length in
      let r = Unmanaged<Reader>.fromOpaque(closure!).takeUnretainedValue()
      let n = Int(length)
      guard r.offset + n <= r.bytes.count else { return CAIRO_STATUS_READ_ERROR }
      r.bytes.withUnsafeBufferPointer { out!.update(from: $0.baseAddress! + r.offset, count: n) }
      r.offset += n
      return CAIRO_STATUS_SUCCESS
    }
    guard let surface = cairo_image_surface_create_from_png_stream(read, reader.toOpaque()) else {
      throw Mismatch(description: "\(what) could not be decoded as PNG", rms: nil)
    }
    defer { cairo_surface_destroy(surface) }
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
      throw Mismatch(description: "\(what) is not a valid PNG (\(String(cString: cairo_status_to_string(cairo_surface_status(surface)))))", rms: nil)
    }
    let w = Int(cairo_image_surface_get_width(surface)), h = Int(cairo_image_surface_get_height(surface))
    let stride = Int(cairo_image_surface_get_stride(surface))
    let src = cairo_image_surface_get_data(surface)!
    let format = cairo_image_surface_get_format(surface)
    var pixels = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
      let row = UnsafeRawPointer(src + y * stride).assumingMemoryBound(to: UInt32.self)
      for x in 0..<w {
        let px = row[x]
        var a = format == CAIRO_FORMAT_ARGB32 ? (px >> 24) & 0xff : 255
        if a == 0 { a = 255 }
        // Cairo stores premultiplied alpha: undo it (our figures are opaque, so this is a no-op for them).
        let o = (y * w + x) * 3
        pixels[o] = UInt8(min(255, ((px >> 16) & 0xff) * 255 / a))
        pixels[o + 1] = UInt8(min(255, ((px >> 8) & 0xff) * 255 / a))
        pixels[o + 2] = UInt8(min(255, (px & 0xff) * 255 / a))
      }
    }
    return RGBImage(width: w, height: h, pixels: pixels)
  }

  /// RMS difference over all RGB values (0-255 scale) and the x10 difference image.
  public static func rms(_ a: RGBImage, _ b: RGBImage) -> (Double, [UInt8]) {
    var sum = 0.0
    var diff = [UInt8](repeating: 0, count: a.pixels.count)
    for i in a.pixels.indices {
      let d = Int(a.pixels[i]) - Int(b.pixels[i])
      sum += Double(d * d)
      diff[i] = UInt8(min(255, abs(d) * 10))
    }
    return ((sum / Double(max(1, a.pixels.count))).squareRoot(), diff)
  }

  // MARK: - Failure files

  /// Where mismatches are written: `FIGURE_FAILURES_DIR` if set, else `output/test-failures/` of the package the
  /// tests belong to.
  public static var failureFolder: String {
    if let chosen = ProcessInfo.processInfo.environment["FIGURE_FAILURES_DIR"], !chosen.isEmpty { return chosen }
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
      dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("output/test-failures").path
  }

  private static func saveFailure(name: String, ext: String, actual: Data, expected: Data, diff: [UInt8]?) throws {
    let base = failureFolder + "/" + name
    try writeAtomically(actual, to: "\(base)-actual.\(ext)")
    try writeAtomically(expected, to: "\(base)-expected.\(ext)")
    if let diff, let img = try? decodePNG(actual) {
      try writeAtomically(try encodePNG(rgb: diff, width: img.width, height: img.height), to: "\(base)-diff.png")
    }
  }
}
