import Foundation
import Support

/// Checks the site builder makes before it writes anything (issue #17): paths it is given, the lesson texts
/// it reads, and every image a page would show.
enum SiteChecks {
  /// The lesson folders (NN-name) in `lessons`, with one line when the folder is missing or unreadable.
  static func lessonNames(in lessons: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: lessons, isDirectory: &isFolder) else {
      throw SiteError("--lessons \(lessons) does not exist: give the folder holding the lessons (NN-name/README.md), e.g. --lessons lessons")
    }
    guard isFolder.boolValue else { throw SiteError("--lessons \(lessons) is a file, not a folder: give the folder holding the lessons") }
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: lessons) else {
      throw SiteError("--lessons \(lessons) cannot be read (permissions?)")
    }
    return names.filter { $0.range(of: #"^\d\d-[a-z0-9-]+$"#, options: .regularExpression) != nil }.sorted()
  }

  /// A lesson's text: missing, not a regular file, and not UTF-8 are three different messages.
  static func readText(_ path: String, what: String) throws -> String {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw SiteError("\(path) is missing: every lesson needs its \(what)")
    }
    guard !isFolder.boolValue, let data = FileManager.default.contents(atPath: path) else {
      throw SiteError("\(path) cannot be read (\(isFolder.boolValue ? "it is a folder" : "permissions?")): every lesson needs its \(what)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw SiteError("\(path) is not UTF-8 text: save it as UTF-8")
    }
    return text
  }

  /// Every image an HTML page of the site shows (`<img src>`, whatever Markdown form or raw HTML made it)
  /// must be one of the files the build writes: a page never shows a broken image or needs the network.
  static func checkImages(_ files: [(path: String, data: Data)], site: String) throws {
    let written = Set(files.map { ($0.path as NSString).standardizingPath })
    let img = try! NSRegularExpression(pattern: #"<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#, options: [.caseInsensitive])
    for file in files where file.path.hasSuffix(".html") {
      let html = String(decoding: file.data, as: UTF8.self)
      let folder = (file.path as NSString).deletingLastPathComponent
      for m in img.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
        let src = (1...3).compactMap { Range(m.range(at: $0), in: html).map { String(html[$0]) } }.first ?? ""
        if src.hasPrefix("data:") { continue }
        let page = (file.path as NSString).lastPathComponent
        if src.isEmpty || src.contains("://") || src.hasPrefix("//") {
          throw SiteError("\(page) shows the image '\(src)', which is not a file of the site (the site works offline): refer to a figure the lesson writes, as ![caption](name.svg)")
        }
        let plain = src.split(separator: "#", maxSplits: 1).first.map(String.init) ?? src
        let path = ((folder as NSString).appendingPathComponent(plain.removingPercentEncoding ?? plain) as NSString).standardizingPath
        guard written.contains(path) else {
          throw SiteError("\(page) shows the image '\(src)', which the site does not have (the page would show it broken): refer only to figures the lesson writes, as ![caption](name.svg)")
        }
      }
    }
  }
}
