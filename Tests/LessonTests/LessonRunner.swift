import FigureTesting
import Foundation
import Support
import XCTest

/// Runs a lesson's executable (built by `swift test` beside the tests) and reads what it wrote.
struct LessonRun {
  let name: String
  let folder: String
  let status: Int32
  let output: String
  let errorOutput: String

  /// The folder holding the built executables.
  static var productsDirectory: URL { Bundle.main.bundleURL }

  static func run(_ name: String, _ arguments: [String], folder: String? = nil) throws -> LessonRun {
    let out = folder ?? NSTemporaryDirectory() + "/neural-lessons-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let p = Process()
    p.executableURL = productsDirectory.appendingPathComponent(name)
    p.arguments = arguments.contains("--out") ? arguments : arguments + ["--out", out]
    let stdout = Pipe(), stderr = Pipe()
    p.standardOutput = stdout
    p.standardError = stderr
    try p.run()
    let o = stdout.fileHandleForReading.readDataToEndOfFile()
    let e = stderr.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return LessonRun(name: name, folder: out, status: p.terminationStatus, output: String(decoding: o, as: UTF8.self), errorOutput: String(decoding: e, as: UTF8.self))
  }

  /// summary.json as a dictionary.
  func summary() throws -> [String: Any] {
    let data = try XCTUnwrap(FileManager.default.contents(atPath: folder + "/summary.json"), "\(name) wrote no summary.json")
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  func figures() throws -> [String] { try XCTUnwrap(try summary()["figures"] as? [String]) }

  /// Every figure exists as a decodable PNG whose size matches its SVG's.
  func checkFigureFiles(file: StaticString = #filePath, line: UInt = #line) throws {
    for fig in try figures() {
      let png = try XCTUnwrap(FileManager.default.contents(atPath: "\(folder)/\(fig).png"), "\(fig).png missing", file: file, line: line)
      let svg = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: "\(folder)/\(fig).svg"), "\(fig).svg missing", file: file, line: line), as: UTF8.self)
      let image = try FigureBaseline.decodePNG(png, what: "\(fig).png")
      XCTAssert(svg.hasPrefix("<?xml") && svg.contains("</svg>"), "\(fig).svg is not a whole SVG document", file: file, line: line)
      XCTAssert(svg.contains("width=\"\(image.width)px\" height=\"\(image.height)px\""), "\(fig): the PNG is \(image.width)x\(image.height) but the SVG says otherwise", file: file, line: line)
      XCTAssertGreaterThan(image.width, 200, file: file, line: line)
      // Not a blank picture: more than one colour.
      XCTAssertGreaterThan(Set(stride(from: 0, to: image.pixels.count, by: 97).map { image.pixels[$0] }).count, 3, "\(fig).png looks blank", file: file, line: line)
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
    XCTAssertEqual(leftovers, [], "temporary files left behind", file: file, line: line)
  }

  /// The lesson's README.
  static func readme(_ name: String) throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return try String(contentsOf: root.appendingPathComponent("lessons/\(name)/README.md"), encoding: .utf8)
  }

  /// Every number the README quotes from the run names a key this run wrote, as a number, in a format the site
  /// knows (SummaryMarkers): the page built from a full run can then fill each one in.
  /// summary.json is also checked for what other tools expect: every key snake_case (no spaces, no capitals, at
  /// every depth), and the keys every lesson writes.
  func checkNumberMarkers(file: StaticString = #filePath, line: UInt = #line) throws {
    let json = try JSONSerialization.jsonObject(with: try XCTUnwrap(FileManager.default.contents(atPath: folder + "/summary.json")))
    do { _ = try SummaryMarkers.fill(try LessonRun.readme(name), summary: json) } catch {
      XCTFail("\(name)/README.md: \(error)", file: file, line: line)
    }
    var badKeys: [String] = []
    func walk(_ node: Any, _ path: String) {
      if let dict = node as? [String: Any] {
        for (key, value) in dict {
          if key.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) == nil { badKeys.append(path + key) }
          walk(value, path + key + ".")
        }
      } else if let list = node as? [Any] {
        for item in list { walk(item, path + "[]." ) }
      }
    }
    walk(json, "")
    XCTAssertEqual(badKeys.sorted(), [], "\(name): summary.json keys must be snake_case", file: file, line: line)
    let top = json as? [String: Any] ?? [:]
    for key in ["lesson", "seed", "quick", "figures", "run_seconds"] {
      XCTAssertNotNil(top[key], "\(name): summary.json lacks '\(key)'", file: file, line: line)
    }
    // The JSON Schemas in docs/schema too, when python3 and jsonschema are there (SchemaTests skips without them).
    if let problems = try? LessonRun.schemaProblems(folders: [folder]) {
      XCTAssertEqual(problems, "", "\(name): summary.json or history.json breaks docs/schema", file: file, line: line)
    }
  }

  /// What scripts/check_schema.py says of the output folders ("" when all is valid); throws XCTSkip when python3
  /// or its jsonschema package is missing.
  static func schemaProblems(folders: [String]) throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", root + "/scripts/check_schema.py"] + folders
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    do { try p.run() } catch { throw XCTSkip("python3 is not available: the JSON Schemas are not checked") }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    if p.terminationStatus == 127 { throw XCTSkip("python3 is not available: the JSON Schemas are not checked") }
    if p.terminationStatus == 77 { throw XCTSkip("python3 has no jsonschema package: the JSON Schemas are not checked") }
    if p.terminationStatus == 2 { throw SchemaCheckError("check_schema.py could not run: \(text)") }
    return p.terminationStatus == 0 ? "" : text
  }

  /// The figures the lesson's README shows, as `![caption](name.svg)`.
  static func readmeFigures(_ name: String) throws -> [String] {
    let text = try readme(name)
    let regex = try NSRegularExpression(pattern: #"!\[[^\]]*\]\(([A-Za-z0-9_-]+)\.svg\)"#)
    return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 1), in: text)!]) }
  }

  func checkBaseline(_ figure: String, tolerance: Double = 0, file: StaticString = #filePath) throws {
    let png = try XCTUnwrap(FileManager.default.contents(atPath: "\(folder)/\(figure).png"))
    let baseline = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Baselines/png/\(name)-\(figure).png").path
    try FigureBaseline.check(png, format: .png, baseline: baseline, name: "\(name)-\(figure)", tolerance: tolerance)
  }

  func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

/// A schema check that could not run (a missing or unreadable file).
struct SchemaCheckError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }
