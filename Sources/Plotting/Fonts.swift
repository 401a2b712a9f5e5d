import CCairo
import Foundation

/// The typefaces figures use: DejaVu Sans loaded from its file through FreeType, so no figure depends on
/// fontconfig. Set `NEURAL_LESSONS_FONT_DIR` to a folder holding `DejaVuSans.ttf` and `DejaVuSans-Bold.ttf`
/// to use other copies.
public enum FontWeight: Sendable {
  case regular, bold
}

/// Process-wide cache of the FreeType faces and their Cairo font faces (created once, kept for the process).
final class FontLibrary: @unchecked Sendable {
  static let shared = FontLibrary()

  private let lock = NSLock()
  private var library: FT_Library?
  private var faces: [FontWeight: OpaquePointer] = [:]

  /// Folders searched for the DejaVu files, in order.
  static var searchFolders: [String] {
    var folders: [String] = []
    if let dir = ProcessInfo.processInfo.environment["NEURAL_LESSONS_FONT_DIR"], !dir.isEmpty {
      folders.append(dir)
    }
    folders += ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts"]
    return folders
  }

  static func fileName(_ weight: FontWeight) -> String {
    weight == .bold ? "DejaVuSans-Bold.ttf" : "DejaVuSans.ttf"
  }

  /// The Cairo font face for `weight`, loading it on first use.
  func face(_ weight: FontWeight) throws -> OpaquePointer {
    lock.lock()
    defer { lock.unlock() }
    if let face = faces[weight] { return face }
    if library == nil {
      var lib: FT_Library?
      guard FT_Init_FreeType(&lib) == 0, let lib else { throw PlotError.font("FreeType could not start") }
      library = lib
    }
    let name = Self.fileName(weight)
    guard let path = Self.searchFolders.map({ $0 + "/" + name }).first(where: { FileManager.default.fileExists(atPath: $0) })
    else {
      throw PlotError.font(
        "\(name) not found in \(Self.searchFolders.joined(separator: ", ")): install fonts-dejavu-core (apt-get install fonts-dejavu-core) or set NEURAL_LESSONS_FONT_DIR")
    }
    var ftFace: FT_Face?
    guard FT_New_Face(library, path, 0, &ftFace) == 0, let ftFace else {
      throw PlotError.font("FreeType could not read \(path)")
    }
    guard let face = cairo_ft_font_face_create_for_ft_face(ftFace, 0),
      cairo_font_face_status(face) == CAIRO_STATUS_SUCCESS
    else { throw PlotError.font("Cairo could not use \(path)") }
    faces[weight] = face
    return face
  }
}
