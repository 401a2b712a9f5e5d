import Foundation
import XCTest

/// The site refuses what would show broken or mislead, and a failed build leaves the previous site as it was.
final class SiteChecksTests: XCTestCase {
  var root: String!

  override func setUpWithError() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pandoc") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/pandoc") else {
      throw XCTSkip("pandoc is not installed")
    }
    root = NSTemporaryDirectory() + "/neural-lessons-sitechecks-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try lesson("01-first", readme: "# Lesson 1: first\n\nThe first idea.\n\n![A plot](plot.svg)\n")
  }

  override func tearDown() { if let root { try? FileManager.default.removeItem(atPath: root) } }

  func lesson(_ name: String, readme: String) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: "\(root!)/lessons/\(name)", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: "\(root!)/output/\(name)", withIntermediateDirectories: true)
    try readme.write(toFile: "\(root!)/lessons/\(name)/README.md", atomically: true, encoding: .utf8)
    try "// figure: plot\ntry lesson.save(fig, as: \"plot\")\n// end figure\n".write(toFile: "\(root!)/lessons/\(name)/main.swift", atomically: true, encoding: .utf8)
    try "{\"figures\": [\"plot\"], \"seed\": 1}".write(toFile: "\(root!)/output/\(name)/summary.json", atomically: true, encoding: .utf8)
    try "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>".write(toFile: "\(root!)/output/\(name)/plot.svg", atomically: true, encoding: .utf8)
    try Data([0x89, 0x50, 0x4e, 0x47]).write(to: URL(fileURLWithPath: "\(root!)/output/\(name)/plot.png"))
  }

  func site(_ extra: [String] = []) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = Bundle.main.bundleURL.appendingPathComponent("site")
    p.arguments = ["--lessons", "\(root!)/lessons", "--output", "\(root!)/output", "--site", "\(root!)/site"] + extra
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  func pages() -> [String: Data] {
    var out: [String: Data] = [:]
    let e = FileManager.default.enumerator(atPath: root + "/site")
    while let path = e?.nextObject() as? String { out[path] = FileManager.default.contents(atPath: root + "/site/" + path) }
    return out
  }

  func testImagesThePageWouldShowBrokenFailTheBuildAndKeepThePreviousSite() throws {
    let good = try site()
    XCTAssertEqual(good.status, 0, good.output)
    let before = pages()
    XCTAssertFalse(before.isEmpty)
    let base = "# Lesson 1: first\n\nThe first idea.\n\n![A plot](plot.svg)\n\n"
    for (reference, shown) in [
      ("![the PNG](plot.png)", "plot.png"),
      ("![titled](plot.svg \"a title\")", "plot.svg"),
      ("<img src=\"other.svg\" alt=\"raw\">", "other.svg"),
      ("![by reference][r]\n\n[r]: missing.svg", "missing.svg"),
      ("![remote](https://example.com/x.png)", "https://example.com/x.png"),
    ] {
      try (base + reference + "\n").write(toFile: "\(root!)/lessons/01-first/README.md", atomically: true, encoding: .utf8)
      let run = try site()
      XCTAssertNotEqual(run.status, 0, "\(reference): \(run.output)")
      XCTAssert(run.output.contains("'\(shown)'"), "\(reference): \(run.output)")
      XCTAssertEqual(pages(), before, "\(reference): a failed build changed the previous site")
    }
  }

  func testANonUTF8ReadmeIsNotCalledMissing() throws {
    FileManager.default.createFile(atPath: "\(root!)/lessons/01-first/README.md", contents: Data("# Lesson 1: caf".utf8) + Data([0xE9, 0x0A]))
    let run = try site()
    XCTAssertNotEqual(run.status, 0)
    XCTAssert(run.output.contains("is not UTF-8"), run.output)
    XCTAssertFalse(run.output.contains("missing"), run.output)
  }

  func testAMissingLessonsFolderGetsOneLine() throws {
    let run = try site(["--lessons", root + "/nowhere"])
    XCTAssertNotEqual(run.status, 0)
    XCTAssert(run.output.contains("does not exist") && !run.output.contains("NSCocoaErrorDomain") && !run.output.contains("Error Domain"), run.output)
    XCTAssertEqual(run.output.split(separator: "\n").count, 1, run.output)
  }
}
