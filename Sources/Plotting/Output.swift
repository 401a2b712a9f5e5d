import CCairo
import CPNG
import Foundation
import Support

// MARK: - Rendering to bytes

/// Renders `draw` onto a white image surface of `width` x `height` logical pixels at `scale` and encodes it
/// as PNG (8-bit RGB) through libpng.
func renderPNG(width: Int, height: Int, scale: Double, compact: Bool = false, _ draw: (Canvas) throws -> Void) throws -> Data {
  let pw = Int((Double(width) * scale).rounded())
  let ph = Int((Double(height) * scale).rounded())
  // Cairo's image surfaces hold 1 to 32,767 pixels a side; outside that it returns a surface without data.
  guard scale.isFinite, (1...32767).contains(pw), (1...32767).contains(ph) else {
    throw PlotError.invalidData("a \(width)x\(height) figure at scale \(scale) would be \(pw)x\(ph) pixels; a PNG side must be 1 to 32,767 pixels: choose another scale")
  }
  guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(pw), Int32(ph)),
    cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS
  else { throw PlotError.backend("Cairo could not create a \(pw)x\(ph) image") }
  defer { cairo_surface_destroy(surface) }
  let cr = cairo_create(surface)!
  defer { cairo_destroy(cr) }
  cairo_scale(cr, scale, scale)
  let canvas = try Canvas(context: cr, width: Double(width), height: Double(height))
  canvas.fill(Rect(x: 0, y: 0, width: Double(width), height: Double(height)), .white)
  try draw(canvas)
  cairo_surface_flush(surface)
  return try encodePNG(surface, settings: compact ? compactPNGSettings : pngSettings)
}

/// PNG encoder settings: zlib level, strategy and row filters (see nl_png.h). Plots are mostly flat colour,
/// so run-length zlib on "up"-filtered rows is several times faster than the defaults at a similar size.
let pngSettings: (level: Int32, strategy: Int32, filters: Int32) = (1, 3, 0x20)
/// For figures kept by the thousand (the playground's frames): zlib level 6, default strategy, and libpng
/// choosing each row's filter: measured on the playground, 14% fewer bytes for 1.45x the time.
let compactPNGSettings: (level: Int32, strategy: Int32, filters: Int32) = (6, 0, 0xF8)

/// Encodes an opaque ARGB32 image surface as an RGB PNG with libpng.
func encodePNG(_ surface: OpaquePointer, settings: (level: Int32, strategy: Int32, filters: Int32) = pngSettings) throws -> Data {
  let w = cairo_image_surface_get_width(surface)
  let h = cairo_image_surface_get_height(surface)
  let stride = cairo_image_surface_get_stride(surface)
  guard let src = cairo_image_surface_get_data(surface) else { throw PlotError.backend("Cairo gave a \(w)x\(h) image without pixels") }
  var out: UnsafeMutablePointer<UInt8>?
  var length = 0
  var message = [CChar](repeating: 0, count: 256)
  let status = nl_png_encode_argb32(src, w, h, stride, settings.level, settings.strategy, settings.filters, &out, &length, &message, message.count)
  guard status == 0, let out else {
    let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw PlotError.backend("libpng could not write the PNG: \(text)")
  }
  defer { nl_png_free(out) }
  return Data(bytes: out, count: length)
}

/// Encodes 8-bit RGB pixels (row-major, top row first) as a PNG through libpng's simplified API.
public func encodePNG(rgb: [UInt8], width w: Int, height h: Int) throws -> Data {
  guard w > 0, h > 0, rgb.count == w * h * 3 else {
    throw PlotError.invalidData("a \(w)x\(h) RGB image needs \(w * h * 3) bytes, got \(rgb.count)")
  }
  var image = png_image()
  image.version = png_uint_32(PNG_IMAGE_VERSION)
  image.width = png_uint_32(w)
  image.height = png_uint_32(h)
  image.format = png_uint_32(PNG_FORMAT_RGB)
  image.flags = png_uint_32(PNG_IMAGE_FLAG_FAST)
  var size: Int = 0
  guard png_image_write_to_memory(&image, nil, &size, 0, rgb, 0, nil) != 0, size > 0 else {
    throw PlotError.backend("libpng could not size the PNG: \(pngMessage(image))")
  }
  var bytes = [UInt8](repeating: 0, count: size)
  let ok = bytes.withUnsafeMutableBytes { buf in
    png_image_write_to_memory(&image, buf.baseAddress, &size, 0, rgb, 0, nil)
  }
  png_image_free(&image)
  guard ok != 0 else { throw PlotError.backend("libpng could not write the PNG: \(pngMessage(image))") }
  return Data(bytes[0..<size])
}

private func pngMessage(_ image: png_image) -> String {
  var m = image.message
  return withUnsafeBytes(of: &m) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
}

/// Collects what Cairo's SVG surface writes.
private final class ByteSink {
  var data = Data()
}

/// Renders `draw` onto an SVG surface of `width` x `height` pixels and returns the document, with Cairo's
/// process-wide ids renumbered so that the same figure gives the same bytes however many came before it.
func renderSVG(width: Int, height: Int, _ draw: (Canvas) throws -> Void) throws -> Data {
  let sink = ByteSink()
  let writer: cairo_write_func_t = { closure, bytes, length in
    let sink = Unmanaged<ByteSink>.fromOpaque(closure!).takeUnretainedValue()
    sink.data.append(bytes!, count: Int(length))
    return CAIRO_STATUS_SUCCESS
  }
  let unmanaged = Unmanaged.passRetained(sink)
  defer { unmanaged.release() }
  guard let surface = cairo_svg_surface_create_for_stream(writer, unmanaged.toOpaque(), Double(width), Double(height)),
    cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS
  else { throw PlotError.backend("Cairo could not create an SVG surface") }
  cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX)
  var smoothed: [Bool] = []
  do {
    let cr = cairo_create(surface)!
    defer { cairo_destroy(cr) }
    let canvas = try Canvas(context: cr, width: Double(width), height: Double(height))
    canvas.fill(Rect(x: 0, y: 0, width: Double(width), height: Double(height)), .white)
    try draw(canvas)
    smoothed = canvas.imagesSmoothed
  }
  cairo_surface_finish(surface)
  let status = cairo_surface_status(surface)
  cairo_surface_destroy(surface)
  guard status == CAIRO_STATUS_SUCCESS else {
    throw PlotError.backend("Cairo could not write the SVG: \(String(cString: cairo_status_to_string(status)))")
  }
  return markCrispImages(renumberSVGIds(sink.data), smoothed: smoothed)
}

/// Adds `image-rendering` to each `<image>` element drawn without smoothing (Cairo writes one per image, in
/// drawing order), so that browsers show blocks as the PNG does. Left alone when the count does not match.
func markCrispImages(_ svg: Data, smoothed: [Bool]) -> Data {
  guard smoothed.contains(false) else { return svg }
  let tag = Array("<image ".utf8), mark = Array("image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\" ".utf8)
  let bytes = [UInt8](svg)
  var starts: [Int] = []
  var i = 0
  while i + tag.count <= bytes.count {
    if bytes[i] == tag[0] && Array(bytes[i..<(i + tag.count)]) == tag { starts.append(i + tag.count); i += tag.count } else { i += 1 }
  }
  guard starts.count == smoothed.count else { return svg }
  var out = [UInt8]()
  out.reserveCapacity(bytes.count + mark.count * starts.count)
  var copied = 0
  for (k, at) in starts.enumerated() where !smoothed[k] {
    out.append(contentsOf: bytes[copied..<at])
    out.append(contentsOf: mark)
    copied = at
  }
  out.append(contentsOf: bytes[copied...])
  return Data(out)
}

/// Replaces the numbers in Cairo's `surfaceN`, `imageN`, `sourceN`, `patternN`, `clipN`, `maskN` ids (and
/// their references) by numbers counted from 1 in order of first appearance in the document.
func renumberSVGIds(_ svg: Data) -> Data {
  let prefixes: [[UInt8]] = ["surface", "image", "source", "pattern", "clip", "mask", "linear", "radial", "filter"]
    .map { Array($0.utf8) }
  let bytes = [UInt8](svg)
  var out = [UInt8]()
  out.reserveCapacity(bytes.count + 64)
  var maps: [[Int: Int]] = Array(repeating: [:], count: prefixes.count)
  let n = bytes.count
  let hash = UInt8(ascii: "#"), quote = UInt8(ascii: "\"")
  bytes.withUnsafeBufferPointer { b in
    var copied = 0  // bytes[..<copied] are in `out`
    var i = 0
    while i < n {
      let c = b[i]
      i += 1
      // An id starts after `id="` or `#`.
      guard c == hash || (c == quote && i >= 4 && b[i - 4] == UInt8(ascii: "i") && b[i - 3] == UInt8(ascii: "d") && b[i - 2] == UInt8(ascii: "=")) else { continue }
      for (k, prefix) in prefixes.enumerated() where i + prefix.count < n && b[i] == prefix[0] {
        guard (0..<prefix.count).allSatisfy({ b[i + $0] == prefix[$0] }) else { continue }
        var j = i + prefix.count
        var number = 0
        let digitsStart = j
        while j < n, b[j] >= 48, b[j] <= 57 {
          number = number * 10 + Int(b[j] - 48)
          j += 1
        }
        // Only whole ids: digits right after the name, and nothing like "-1" after them.
        guard j > digitsStart, j < n, b[j] != UInt8(ascii: "-") else { break }
        let renumbered = maps[k][number] ?? (maps[k].count + 1)
        maps[k][number] = renumbered
        out.append(contentsOf: b[copied..<(i + prefix.count)])
        out.append(contentsOf: Array(String(renumbered).utf8))
        copied = j
        i = j
        break
      }
    }
    out.append(contentsOf: b[copied..<n])
  }
  return Data(out)
}

// MARK: - Writing files

/// Writes `data` to `path` atomically (temp file, then rename), creating the folder; failures become
/// `PlotError.cannotWrite`.
func writeAtomically(_ data: Data, to path: String) throws {
  do {
    try Support.writeAtomically(data, to: path)
  } catch let e as FileWriteError {
    throw PlotError.cannotWrite(path: e.path, reason: e.reason)
  }
}
