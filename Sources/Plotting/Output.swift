import CCairo
import Foundation

// MARK: - Rendering to bytes

/// Renders `draw` onto a white image surface of `width` x `height` logical pixels at `scale` and encodes it
/// as PNG (8-bit RGB) through libpng.
func renderPNG(width: Int, height: Int, scale: Double, _ draw: (Canvas) throws -> Void) throws -> Data {
  let pw = Int((Double(width) * scale).rounded())
  let ph = Int((Double(height) * scale).rounded())
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
  return try encodePNG(surface)
}

/// Encodes an opaque ARGB32 image surface as an RGB PNG with libpng's simplified API. The fast setting (no
/// filtering, low zlib level) keeps encoding from dominating the time to write a figure.
func encodePNG(_ surface: OpaquePointer) throws -> Data {
  let w = Int(cairo_image_surface_get_width(surface))
  let h = Int(cairo_image_surface_get_height(surface))
  let stride = Int(cairo_image_surface_get_stride(surface))
  let src = cairo_image_surface_get_data(surface)!
  var rgb = [UInt8](repeating: 0, count: w * h * 3)
  rgb.withUnsafeMutableBufferPointer { out in
    for row in 0..<h {
      let line = UnsafeRawPointer(src + row * stride).assumingMemoryBound(to: UInt32.self)
      var o = row * w * 3
      for col in 0..<w {
        let px = line[col]  // opaque, so premultiplied equals straight colour
        out[o] = UInt8(truncatingIfNeeded: px >> 16)
        out[o + 1] = UInt8(truncatingIfNeeded: px >> 8)
        out[o + 2] = UInt8(truncatingIfNeeded: px)
        o += 3
      }
    }
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
  do {
    let cr = cairo_create(surface)!
    defer { cairo_destroy(cr) }
    let canvas = try Canvas(context: cr, width: Double(width), height: Double(height))
    canvas.fill(Rect(x: 0, y: 0, width: Double(width), height: Double(height)), .white)
    try draw(canvas)
  }
  cairo_surface_finish(surface)
  let status = cairo_surface_status(surface)
  cairo_surface_destroy(surface)
  guard status == CAIRO_STATUS_SUCCESS else {
    throw PlotError.backend("Cairo could not write the SVG: \(String(cString: cairo_status_to_string(status)))")
  }
  return renumberSVGIds(sink.data)
}

/// Replaces the numbers in Cairo's `surfaceN`, `imageN`, `sourceN`, `patternN`, `clipN`, `maskN` ids (and
/// their references) by numbers counted from 1 in order of first appearance in the document.
func renumberSVGIds(_ svg: Data) -> Data {
  let prefixes: [[UInt8]] = ["surface", "image", "source", "pattern", "clip", "mask", "linear", "radial", "filter"]
    .map { Array($0.utf8) }
  let bytes = [UInt8](svg)
  var out = [UInt8]()
  out.reserveCapacity(bytes.count)
  var maps: [Int: [Int: Int]] = [:]
  var i = 0
  let n = bytes.count
  while i < n {
    let b = bytes[i]
    // An id starts after `id="` or `#`.
    let startsId =
      (b == UInt8(ascii: "#")) || (b == UInt8(ascii: "\"") && i >= 3 && bytes[i - 3] == UInt8(ascii: "i") && bytes[i - 2] == UInt8(ascii: "d") && bytes[i - 1] == UInt8(ascii: "="))
    out.append(b)
    i += 1
    guard startsId else { continue }
    for (k, prefix) in prefixes.enumerated() where i + prefix.count < n && bytes[i] == prefix[0] {
      guard Array(bytes[i..<(i + prefix.count)]) == prefix else { continue }
      var j = i + prefix.count
      var number = 0
      var digits = 0
      while j < n, bytes[j] >= 48, bytes[j] <= 57 {
        number = number * 10 + Int(bytes[j] - 48)
        j += 1
        digits += 1
      }
      // Only whole ids: the name must end right after the digits.
      guard digits > 0, j < n, !(bytes[j] >= 48 && bytes[j] <= 57), bytes[j] != UInt8(ascii: "-") else { break }
      var map = maps[k, default: [:]]
      let renumbered = map[number] ?? (map.count + 1)
      map[number] = renumbered
      maps[k] = map
      out.append(contentsOf: prefix)
      out.append(contentsOf: Array(String(renumbered).utf8))
      i = j
      break
    }
  }
  return Data(out)
}

// MARK: - Writing files

/// Writes `data` to `path` atomically: to a temporary file in the same folder, then renamed over the target,
/// so a killed run never leaves half a file. Creates the folder if needed.
public func writeAtomically(_ data: Data, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  let folder = url.deletingLastPathComponent()
  let fm = FileManager.default
  do {
    try fm.createDirectory(at: folder, withIntermediateDirectories: true)
  } catch {
    throw PlotError.cannotWrite(path: path, reason: "the folder \(folder.path) cannot be created (\(reasonText(error)))")
  }
  let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
  guard fm.createFile(atPath: temp.path, contents: data) else {
    let reason = String(cString: strerror(errno))
    throw PlotError.cannotWrite(path: path, reason: reason)
  }
  guard rename(temp.path, url.path) == 0 else {
    let reason = String(cString: strerror(errno))
    try? fm.removeItem(at: temp)
    throw PlotError.cannotWrite(path: path, reason: reason)
  }
}

private func reasonText(_ error: Error) -> String {
  let ns = error as NSError
  if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
    return String(cString: strerror(Int32(underlying.code)))
  }
  if ns.domain == NSCocoaErrorDomain, ns.code == NSFileWriteNoPermissionError { return "permission denied" }
  return ns.localizedDescription
}
