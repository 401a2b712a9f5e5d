// make site: the course as HTML pages, one per lesson, with its figures and its maths as MathML.
import ArgumentParser
import Foundation
import Support

@main
struct Site: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "site",
    abstract: "Render each lesson's README.md into output/site/<lesson>.html with its figures, and an index of the lessons.")

  @Option(name: .long, help: ArgumentHelp("Folder of the lessons' sources.", valueName: "dir"))
  var lessons = "lessons"

  @Option(name: .long, help: ArgumentHelp("Folder where the lessons wrote their figures and summary.json.", valueName: "dir"))
  var output = "output"

  @Option(name: .long, help: ArgumentHelp("Folder for the site.", valueName: "dir"))
  var site = "output/site"

  @Option(name: .long, help: ArgumentHelp("pandoc executable (converts Markdown with LaTeX maths to HTML with MathML).", valueName: "path"))
  var pandoc = "pandoc"

  func run() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: lessons)
      .filter { $0.range(of: #"^\d\d-[a-z0-9-]+$"#, options: .regularExpression) != nil }
      .sorted()
    guard !names.isEmpty else { throw ValidationError("no lessons found in \(lessons)/ (folders named NN-name)") }
    var pages: [LessonPage] = []
    for name in names { pages.append(try LessonPage.read(name: name, lessons: lessons, output: output)) }
    for (i, page) in pages.enumerated() {
      let html = try page.html(pandoc: pandoc, previous: i > 0 ? pages[i - 1] : nil, next: i + 1 < pages.count ? pages[i + 1] : nil)
      try writeAtomically(Data(html.utf8), to: "\(site)/\(page.name).html")
      for figure in page.figures {
        for ext in ["svg", "png"] {
          let source = "\(output)/\(page.name)/\(figure).\(ext)"
          guard let data = FileManager.default.contents(atPath: source) else {
            throw ValidationError("\(source) is missing: run the lesson again (make lessons)")
          }
          try writeAtomically(data, to: "\(site)/figures/\(page.name)/\(figure).\(ext)")
        }
      }
      print("site: \(page.name).html (\(page.figures.count) figures)")
    }
    try writeAtomically(Data(index(pages).utf8), to: "\(site)/index.html")
    try writeAtomically(Data(Template.css.utf8), to: "\(site)/style.css")
    print("site: index.html with \(pages.count) lessons in \(site)/")
  }

  func index(_ pages: [LessonPage]) -> String {
    let items = pages.map { p in
      """
      <li class="lesson-card"><a href="\(p.name).html">
        <img src="figures/\(p.name)/\(p.figures.first ?? "").png" alt="" loading="lazy">
        <span class="number">Lesson \(Int(p.name.prefix(2)) ?? 0)</span>
        <span class="title">\(escape(p.shortTitle))</span>
        <span class="summary">\(escape(p.summary))</span>
      </a></li>
      """
    }.joined(separator: "\n")
    return Template.page(title: "NeuralLessons", body: """
      <header class="site"><h1>NeuralLessons</h1>
      <p class="lede">How neural networks work, learned by running them: every figure below was drawn by a small Swift program that trained something real.</p></header>
      <ol class="lessons">
      \(items)
      </ol>
      """)
  }
}

/// One lesson's page: its README and the figures its program wrote.
struct LessonPage {
  let name: String
  let title: String
  /// The title without "Lesson N: ", capitalised.
  let shortTitle: String
  /// The first sentence of the first paragraph.
  let summary: String
  let markdown: String
  /// Figures in the order the README shows them.
  let figures: [String]
  /// The run's summary.json, parsed: the numbers the text quotes come from here.
  let numbers: Any

  static let figurePattern = try! NSRegularExpression(pattern: #"!\[([^\]]*)\]\(([A-Za-z0-9_-]+)\.svg\)"#)

  /// Reads the README and checks it against the figures the lesson wrote (summary.json's "figures").
  static func read(name: String, lessons: String, output: String) throws -> LessonPage {
    let readmePath = "\(lessons)/\(name)/README.md"
    guard let markdown = try? String(contentsOfFile: readmePath, encoding: .utf8) else {
      throw ValidationError("\(readmePath) is missing: every lesson needs its text")
    }
    let summaryPath = "\(output)/\(name)/summary.json"
    guard let data = FileManager.default.contents(atPath: summaryPath),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let written = json["figures"] as? [String]
    else { throw ValidationError("\(summaryPath) is missing or has no figure list: run the lesson first (make lessons)") }
    let shown = figurePattern.matches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown)).map { String(markdown[Range($0.range(at: 2), in: markdown)!]) }
    if let missing = shown.first(where: { !written.contains($0) }) {
      throw ValidationError("\(readmePath) shows the figure '\(missing)', which \(name) did not write (it wrote: \(written.joined(separator: ", ")))")
    }
    if let unshown = written.first(where: { !shown.contains($0) }) {
      throw ValidationError("\(name) wrote the figure '\(unshown)', which \(readmePath) does not show: add ![caption](\(unshown).svg) to the text or stop writing it")
    }
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let title = lines.first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) } ?? name
    // "Lesson 1: the neuron" is shown as "The neuron" on the index card, under its number.
    let shortTitle = title.range(of: #"^Lesson \d+: "#, options: .regularExpression).map { String(title[$0.upperBound...]) } ?? title
    let firstParagraph = lines.drop { $0.hasPrefix("#") || $0.isEmpty }.prefix { !$0.isEmpty }.joined(separator: " ")
    let sentence = firstParagraph.components(separatedBy: ". ").first ?? firstParagraph
    var plain = sentence.replacingOccurrences(of: #"\$[^$]*\$"#, with: "…", options: .regularExpression)
      .replacingOccurrences(of: "<!--[^>]*-->", with: "", options: .regularExpression)
      .trimmingCharacters(in: CharacterSet(charactersIn: ":;, "))
    if !plain.hasSuffix(".") { plain += "." }
    return LessonPage(
      name: name, title: title, shortTitle: shortTitle.prefix(1).uppercased() + shortTitle.dropFirst(), summary: plain, markdown: markdown,
      figures: shown, numbers: json)
  }

  /// The page: the README through pandoc (maths as MathML), figures as SVG with a PNG link, navigation.
  func html(pandoc: String, previous: LessonPage?, next: LessonPage?) throws -> String {
    // Numbers the text quotes from the run are filled in from summary.json (SummaryMarkers).
    let filled: String
    do {
      let (text, changes) = try SummaryMarkers.fill(markdown, summary: numbers)
      for c in changes {
        print("site: lessons/\(name)/README.md writes \(c.written) for \(c.key); this run gave \(c.run), which the page shows")
      }
      filled = text
    } catch let e as SummaryMarkers.MarkerError {
      throw ValidationError("lessons/\(name)/README.md: \(e.description)")
    }
    // Figures become HTML blocks before pandoc sees the text.
    var text = filled
    for match in Self.figurePattern.matches(in: filled, range: NSRange(filled.startIndex..., in: filled)).reversed() {
      let caption = String(filled[Range(match.range(at: 1), in: filled)!])
      let figure = String(filled[Range(match.range(at: 2), in: filled)!])
      let block = """
        <figure id="\(figure)"><a href="figures/\(name)/\(figure).svg"><img src="figures/\(name)/\(figure).svg" alt="\(escape(caption))"></a>
        <figcaption>\(escape(caption)) <a class="download" href="figures/\(name)/\(figure).png" download>PNG</a></figcaption></figure>
        """
      text.replaceSubrange(Range(match.range, in: filled)!, with: block)
    }
    // "Common mistake" blockquotes are drawn as boxes.
    let body = try runPandoc(pandoc, text)
      .replacingOccurrences(of: "<blockquote>\n<p><strong>Common mistake", with: "<blockquote class=\"mistake\">\n<p><strong>Common mistake")
    let nav = """
      <nav class="pager">\(previous.map { "<a rel=\"prev\" href=\"\($0.name).html\">← \(escape($0.title))</a>" } ?? "<span></span>")
      <a href="index.html">All lessons</a>
      \(next.map { "<a rel=\"next\" href=\"\($0.name).html\">\(escape($0.title)) →</a>" } ?? "<span></span>")</nav>
      """
    return Template.page(title: title, body: nav + "\n<main class=\"lesson\">\n" + body + "\n</main>\n" + nav)
  }
}

func runPandoc(_ pandoc: String, _ markdown: String) throws -> String {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = [pandoc, "--from", "markdown+tex_math_dollars-implicit_figures", "--to", "html5", "--mathml"]
  let input = Pipe(), output = Pipe(), errors = Pipe()
  p.standardInput = input
  p.standardOutput = output
  p.standardError = errors
  do { try p.run() } catch {
    throw ValidationError("pandoc cannot be started (\(error.localizedDescription)): install it with apt-get install pandoc (make setup does)")
  }
  input.fileHandleForWriting.write(Data(markdown.utf8))
  try input.fileHandleForWriting.close()
  let html = output.fileHandleForReading.readDataToEndOfFile()
  let message = errors.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else {
    if p.terminationStatus == 127 { throw ValidationError("pandoc is not installed: apt-get install pandoc (make setup does)") }
    throw ValidationError("pandoc failed: \(String(decoding: message, as: UTF8.self).split(separator: "\n").first ?? "")")
  }
  return String(decoding: html, as: UTF8.self)
}

func escape(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
