import Foundation
import XCTest

/// The site builder run on small fake lessons: pages, maths, figures, and the two mismatch errors.
final class SiteTests: XCTestCase {
  var root: String!

  override func setUpWithError() throws {
    root = NSTemporaryDirectory() + "/neural-lessons-site-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try makeLesson("01-first", readme: "# Lesson 1: first\n\nThe first idea. More.\n\n$$a^2 + b^2 = c^2$$\n\n![A plot](plot.svg)\n", figures: ["plot"])
    try makeLesson("02-second", readme: "# Lesson 2: second\n\nInline $x_1$ maths.\n\n![Curve](curve.svg)\n", figures: ["curve"])
  }

  override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

  func makeLesson(_ name: String, readme: String, figures: [String], numbers: String = "", source: String? = nil) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: "\(root!)/lessons/\(name)", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: "\(root!)/output/\(name)", withIntermediateDirectories: true)
    try readme.write(toFile: "\(root!)/lessons/\(name)/README.md", atomically: true, encoding: .utf8)
    let list = figures.map { "\"\($0)\"" }.joined(separator: ",")
    try "{\"figures\": [\(list)]\(numbers)}".write(toFile: "\(root!)/output/\(name)/summary.json", atomically: true, encoding: .utf8)
    // Every figure needs a code region; unless the test gives a program, each figure gets a one-line one.
    let program = source ?? figures.map { "// figure: \($0)\ntry lesson.save(fig, as: \"\($0)\")\n// end figure\n" }.joined()
    try program.write(toFile: "\(root!)/lessons/\(name)/main.swift", atomically: true, encoding: .utf8)
    for f in figures {
      try "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>".write(toFile: "\(root!)/output/\(name)/\(f).svg", atomically: true, encoding: .utf8)
      try Data([0x89, 0x50, 0x4e, 0x47]).write(to: URL(fileURLWithPath: "\(root!)/output/\(name)/\(f).png"))
    }
  }

  func runSite() throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = Bundle.main.bundleURL.appendingPathComponent("site")
    p.arguments = ["--lessons", "\(root!)/lessons", "--runs", "\(root!)/output", "--site", "\(root!)/output/site"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  func testPagesWithMathsFiguresAndNavigation() throws {
    let (status, output) = try runSite()
    if output.contains("pandoc is not installed") { throw XCTSkip("pandoc is not installed") }
    XCTAssertEqual(status, 0, output)
    let page = try String(contentsOfFile: "\(root!)/output/site/01-first.html", encoding: .utf8)
    XCTAssert(page.contains("<math"), "maths become MathML")
    XCTAssert(page.contains("src=\"figures/01-first/plot.svg\""), "figures are SVG")
    XCTAssert(page.contains("href=\"figures/01-first/plot.png\""), "with the PNG as a download")
    XCTAssert(page.contains("<figcaption>") && page.contains("A plot"), "and a caption")
    XCTAssert(page.contains("href=\"02-second.html\""), "next link")
    XCTAssertFalse(page.contains("<script"), "no scripts")
    XCTAssertNil(page.range(of: #"(src|href)="https?:"#, options: .regularExpression), "nothing external")
    XCTAssert(FileManager.default.fileExists(atPath: "\(root!)/output/site/figures/02-second/curve.png"))
    let index = try String(contentsOfFile: "\(root!)/output/site/index.html", encoding: .utf8)
    XCTAssert(index.contains("01-first.html") && index.contains("02-second.html") && index.contains("The first idea."), index)
    XCTAssert(index.range(of: "01-first.html")!.lowerBound < index.range(of: "02-second.html")!.lowerBound, "lessons in order")
  }

  func testAFigureThePageShowsButTheLessonDidNotWriteFailsTheBuild() throws {
    try makeLesson("03-third", readme: "# Lesson 3\n\n![Missing](missing.svg)\n", figures: [])
    let (status, output) = try runSite()
    XCTAssertNotEqual(status, 0)
    XCTAssert(output.contains("shows the figure 'missing', which 03-third did not write"), output)
  }

  func testAFigureNoPageShowsFailsTheBuild() throws {
    try makeLesson("03-third", readme: "# Lesson 3\n\nText.\n", figures: ["orphan"])
    let (status, output) = try runSite()
    XCTAssertNotEqual(status, 0)
    XCTAssert(output.contains("wrote the figure 'orphan'") && output.contains("does not show"), output)
  }

  func testNumbersComeFromTheRunAndMistakesAreBoxed() throws {
    try makeLesson(
      "03-third",
      readme: "# Lesson 3: numbers\n\nIt reached 70.0<!--=test_accuracy:p1-->% in 3<!--=epochs--> epochs.\n\n> **Common mistake:** wrong.\n",
      figures: [], numbers: ", \"test_accuracy\": 0.7154, \"epochs\": 3")
    let (status, output) = try runSite()
    if output.contains("pandoc is not installed") { throw XCTSkip("pandoc is not installed") }
    XCTAssertEqual(status, 0, output)
    let page = try String(contentsOfFile: "\(root!)/output/site/03-third.html", encoding: .utf8)
    XCTAssert(page.contains("It reached 71.5% in 3 epochs."), page)
    XCTAssertFalse(page.contains("<!--="), "markers are removed")
    XCTAssert(output.contains("writes 70.0 for test_accuracy; this run gave 71.5"), output)
    XCTAssert(page.contains("<blockquote class=\"mistake\">"), page)
  }

  func testAMarkerWhoseKeyTheRunDidNotWriteFailsTheBuild() throws {
    try makeLesson("03-third", readme: "# Lesson 3\n\nIt reached 70.0<!--=test_acuracy:p1-->%.\n", figures: [], numbers: ", \"test_accuracy\": 0.7")
    let (status, output) = try runSite()
    XCTAssertNotEqual(status, 0)
    XCTAssert(output.contains("03-third/README.md: summary.json has no 'test_acuracy'"), output)
  }

  func testEachFigureShowsTheCodeThatDrawsItNumberedWithTheSidebarAndContents() throws {
    let source = """
      import Plotting
      func main() {
        train()
        // figure: plot
        let fig = Figure(width: 10, height: 10)
        fig.axes.line([1, 2] , [3, 4])   // a < b && c > d

        try lesson.save(fig, as: "plot")
        // end figure
      }
      """
    try makeLesson("01-first", readme: "# Lesson 1: first\n\nSee @fig:plot.\n\n## A section\n\n![A plot](plot.svg)\n\n## A heading long enough that pandoc wraps it over two lines of its output, which must still reach the contents\n", figures: ["plot"], source: source)
    let (status, output) = try runSite()
    if output.contains("pandoc is not installed") { throw XCTSkip("pandoc is not installed") }
    XCTAssertEqual(status, 0, output)
    let page = try String(contentsOfFile: "\(root!)/output/site/01-first.html", encoding: .utf8)
    // The region's lines, dedented and escaped, exactly as in the source.
    XCTAssert(page.contains("<pre><code class=\"language-swift\">let fig = Figure(width: 10, height: 10)\nfig.axes.line([1, 2] , [3, 4])   // a &lt; b &amp;&amp; c &gt; d\n\ntry lesson.save(fig, as: &quot;plot&quot;)</code></pre>"), page)
    XCTAssert(page.contains("href=\"source/01-first.html#L5\">main.swift, lines 5–8</a>"), page)
    XCTAssert(page.contains("<span class=\"figure-number\">Figure 1.</span> A plot"), page)
    XCTAssert(page.contains("See <a href=\"#plot\">Figure 1</a>."), page)
    XCTAssert(page.contains("<nav class=\"toc\"") && page.contains("<a href=\"#a-section\">A section</a>"), page)
    XCTAssert(page.contains(">A heading long enough that pandoc wraps it over two lines of its output, which must still reach the contents</a>"), page)
    XCTAssert(page.contains("href=\"01-first.html\" aria-current=\"page\""), "the sidebar marks the current lesson")
    XCTAssert(page.contains("seed"), "the page says how its figures were made")
    let sourcePage = try String(contentsOfFile: "\(root!)/output/site/source/01-first.html", encoding: .utf8)
    XCTAssert(sourcePage.contains("<span id=\"L5\" class=\"line\">  let fig = Figure(width: 10, height: 10)</span>"), sourcePage)
  }

  func testAFigureWithoutItsCodeFailsTheBuild() throws {
    try makeLesson("01-first", readme: "# Lesson 1\n\n![A plot](plot.svg)\n", figures: ["plot"], source: "let x = 1\n")
    let (status, output) = try runSite()
    XCTAssertNotEqual(status, 0)
    XCTAssert(output.contains("main.swift marks no lines for the figure 'plot'"), output)
  }

  func testAnUnclosedCodeRegionFailsTheBuild() throws {
    try makeLesson("01-first", readme: "# Lesson 1\n\n![A plot](plot.svg)\n", figures: ["plot"], source: "// figure: plot\nlet x = 1\n")
    let (status, output) = try runSite()
    XCTAssertNotEqual(status, 0)
    XCTAssert(output.contains("main.swift:1: the figure region is never closed"), output)
  }

  func testAQuickRunNeverReachesTheCourseAndAFailedBuildKeepsThePreviousPages() throws {
    let (status, output) = try runSite()
    if output.contains("pandoc is not installed") { throw XCTSkip("pandoc is not installed") }
    XCTAssertEqual(status, 0, output)
    let before = try String(contentsOfFile: "\(root!)/output/site/01-first.html", encoding: .utf8)
    try makeLesson("01-first", readme: "# Lesson 1: changed\n\n![A plot](plot.svg)\n", figures: ["plot"], numbers: ", \"quick\": true")
    let (again, message) = try runSite()
    XCTAssertNotEqual(again, 0)
    XCTAssert(message.contains("comes from a --quick run, which is not for the course"), message)
    XCTAssertEqual(message.split(separator: "\n").count, 1, message)
    XCTAssertEqual(try String(contentsOfFile: "\(root!)/output/site/01-first.html", encoding: .utf8), before)
  }

  /// A fake playground: a manifest with one data set, two activations, two hidden shapes, one rate, three frames.
  func makePlayground(skipping missing: String? = nil) throws {
    let folder = "\(root!)/output/playground"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let ids = ["circle-linear-none-lr0.3", "circle-tanh-4-lr0.3", "circle-relu-4-lr0.3"]
    let manifest = """
      {"datasets": ["circle"], "activations": ["tanh", "relu"], "hidden": ["none", "4"], "learning_rates": [0.3],
       "frame_epochs": [0, 5, 10], "default": "circle-tanh-4-lr0.3", "settings": [\(ids.map { "\"\($0)\"" }.joined(separator: ", "))]}
      """
    try manifest.write(toFile: "\(folder)/manifest.json", atomically: true, encoding: .utf8)
    for id in ids {
      for k in 0..<3 where "\(id)-\(k)" != missing {
        try Data([0x89, 0x50, 0x4e, 0x47]).write(to: URL(fileURLWithPath: "\(folder)/\(id)-\(k).png"))
      }
    }
  }

  func testThePlaygroundPageHasEveryFrameItsControlsCanChoose() throws {
    try makePlayground()
    let (status, output) = try runSite()
    if output.contains("pandoc is not installed") { throw XCTSkip("pandoc is not installed") }
    XCTAssertEqual(status, 0, output)
    let page = try String(contentsOfFile: "\(root!)/output/site/playground.html", encoding: .utf8)
    XCTAssert(page.contains("src=\"playground/circle-tanh-4-lr0.3-2.png\""), "without scripts: the default run's last frame")
    XCTAssert(page.contains("<input type=\"range\" min=\"0\" max=\"2\" value=\"2\""), page)
    XCTAssert(page.contains("data-prefix=\"playground/circle-tanh-4-lr0.3-\""), page)
    XCTAssert(page.contains("value=\"relu\"") && page.contains("value=\"none\""), page)
    XCTAssertNil(page.range(of: #"<script[^>]*src="#, options: .regularExpression), "the only script is inline")
    for id in ["circle-linear-none-lr0.3", "circle-tanh-4-lr0.3", "circle-relu-4-lr0.3"] {
      for k in 0..<3 { XCTAssert(FileManager.default.fileExists(atPath: "\(root!)/output/site/playground/\(id)-\(k).png"), "\(id)-\(k)") }
    }
    let index = try String(contentsOfFile: "\(root!)/output/site/index.html", encoding: .utf8)
    XCTAssert(index.contains("href=\"playground.html\""))
  }

  func testAMissingPlaygroundFrameFailsTheBuild() throws {
    try makePlayground(skipping: "circle-relu-4-lr0.3-1")
    let (status, output) = try runSite()
    XCTAssertNotEqual(status, 0)
    XCTAssert(output.contains("circle-relu-4-lr0.3-1.png is missing: run make playground"), output)
  }

  func testAnAnimationPlaysItsFramesInThePlayer() throws {
    try makeLesson(
      "03-third", readme: "# Lesson 3: moving\n\nSee @fig:growing.\n\n![A plot](plot.svg)\n\n![It grows](growing.frames)\n", figures: ["plot"],
      numbers: ", \"animations\": [{\"name\": \"growing\", \"labels\": [\"epoch 1\", \"epoch 2\"]}]", source: "// figure: plot, growing\nlet f = 1\n// end figure\n")
    for k in 0..<2 { try Data([0x89, 0x50, 0x4e, 0x47]).write(to: URL(fileURLWithPath: "\(root!)/output/03-third/growing-\(k).png")) }
    let (status, output) = try runSite()
    if output.contains("pandoc is not installed") { throw XCTSkip("pandoc is not installed") }
    XCTAssertEqual(status, 0, output)
    let page = try String(contentsOfFile: "\(root!)/output/site/03-third.html", encoding: .utf8)
    XCTAssert(page.contains("<figure id=\"growing\" class=\"player\" data-prefix=\"figures/03-third/growing-\""), page)
    XCTAssert(page.contains("<img src=\"figures/03-third/growing-1.png\""), "without scripts: the last frame")
    XCTAssert(page.contains("Figure 2.</span> It grows"), page)
    XCTAssert(page.contains("See <a href=\"#growing\">Figure 2</a>"), page)
    XCTAssert(FileManager.default.fileExists(atPath: "\(root!)/output/site/figures/03-third/growing-0.png"))
    // A frame the lesson did not write fails the build.
    try FileManager.default.removeItem(atPath: "\(root!)/output/03-third/growing-0.png")
    let (again, message) = try runSite()
    XCTAssertNotEqual(again, 0)
    XCTAssert(message.contains("growing-0.png is missing (frame 1 of 2 of the animation 'growing')"), message)
  }
}
