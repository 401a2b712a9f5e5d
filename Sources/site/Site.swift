// make site: the course as HTML pages, one per lesson, with its figures, the code that draws them and its maths
// as MathML; an index; the playground.
import ArgumentParser
import Foundation
import PackageInfo
import Support

@main
struct Site: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "site",
    abstract: "Render each lesson's README.md into output/site/<lesson>.html with its figures, and an index of the lessons.",
    discussion: """
      Every page is built from a full run's output (output/<lesson>/): its figures, the numbers its text quotes \
      (markers like 71.5<!--=test_accuracy:p1--> are filled from summary.json), and the lines of main.swift that \
      draw each figure (regions marked '// figure: name' ... '// end figure'). Output of a --quick run is refused. \
      Nothing is written unless every page builds, so a failed build leaves the previous site as it was.
      """,
    version: NeuralLessons.version)

  @Option(name: .long, help: ArgumentHelp("Folder of the lessons' sources.", valueName: "dir"))
  var lessons = "lessons"

  /// An input: what the lessons' runs wrote (`--output`, its old name, still works).
  @Option(name: [.customLong("runs"), .customLong("output")], help: ArgumentHelp("Folder where the lessons' runs wrote their figures and summary.json, one folder a lesson (an input; --output is its old name).", valueName: "dir"))
  var output = "output"

  @Option(name: .long, help: ArgumentHelp("Folder for the site.", valueName: "dir"))
  var site = "output/site"

  @Option(name: .long, help: ArgumentHelp("Folder of the playground's frames and manifest.json (default: <runs>/playground, as make playground writes it); without it the site has no playground page.", valueName: "dir"))
  var playground: String?

  @Option(name: .long, help: ArgumentHelp("pandoc executable (converts Markdown with LaTeX maths to HTML with MathML).", valueName: "path"))
  var pandoc = "pandoc"

  @Flag(name: .long, help: "Instead of building the site, rewrite the numbers each lesson's README.md quotes from its run (its markers) as the site would show them, print what changed, and stop. A README that was not newer than its run's summary.json keeps a modification time no newer than it, so make does not rerun the lesson for refilled numbers.")
  var fillReadmes = false

  func validate() throws {
    do { _ = try checkedOutputFolder(site, flag: "--site", example: "output/site") } catch let e as PathError { throw ValidationError(e.description) }
  }

  /// `--fill-readmes` for one lesson (see the flag's help).
  func fillReadme(_ name: String) throws {
    let readmePath = "\(lessons)/\(name)/README.md", summaryPath = "\(output)/\(name)/summary.json"
    guard let data = FileManager.default.contents(atPath: summaryPath) else {
      print("site: \(name) has no run yet (\(summaryPath) is missing); its README is left as it is")
      return
    }
    guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw SiteError("\(summaryPath) is not a JSON object: run the lesson again") }
    if json["quick"] as? Bool == true { throw SiteError("\(summaryPath) comes from a --quick run, whose numbers are not for the text: run the lesson in full") }
    let markdown = try SiteChecks.readText(readmePath, what: "text")
    let filled: String, changes: [SummaryMarkers.Change]
    do { (filled, changes) = try SummaryMarkers.fill(markdown, summary: json, keepingMarkers: true) } catch let e as SummaryMarkers.MarkerError {
      throw SiteError("\(readmePath): \(e.description)")
    }
    for c in changes { print("site: \(readmePath): \(c.key) \(c.written) -> \(c.run)") }
    guard filled != markdown else { return }
    func modified(_ path: String) -> Date? { (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
    let current = (modified(readmePath) ?? .distantFuture) <= (modified(summaryPath) ?? .distantPast)
    try writeAtomically(Data(filled.utf8), to: readmePath)
    if current, let stamp = modified(summaryPath) { try FileManager.default.setAttributes([.modificationDate: stamp], ofItemAtPath: readmePath) }
  }

  func run() throws {
    let names = try SiteChecks.lessonNames(in: lessons)
    guard !names.isEmpty else { throw SiteError("no lessons found in \(lessons)/ (folders named NN-name)") }
    if fillReadmes {
      for name in names { try fillReadme(name) }
      return
    }
    var pages: [LessonPage] = []
    for name in names { pages.append(try LessonPage.read(name: name, lessons: lessons, output: output)) }
    // Everything is rendered before anything is written.
    var files: [(path: String, data: Data)] = []
    for (i, page) in pages.enumerated() {
      let html = try page.html(pandoc: pandoc, all: pages, previous: i > 0 ? pages[i - 1] : nil, next: i + 1 < pages.count ? pages[i + 1] : nil)
      files.append(("\(site)/\(page.name).html", Data(html.utf8)))
      files.append(("\(site)/source/\(page.name).html", Data(page.sourcePage(all: pages).utf8)))
      for figure in page.figures {
        for ext in ["svg", "png"] {
          let source = "\(output)/\(page.name)/\(figure).\(ext)"
          guard let data = FileManager.default.contents(atPath: source) else {
            throw SiteError("\(source) is missing: run the lesson again (make lessons)")
          }
          files.append(("\(site)/figures/\(page.name)/\(figure).\(ext)", data))
        }
      }
      for (animation, labels) in page.animations {
        for k in labels.indices {
          let source = "\(output)/\(page.name)/\(animation)-\(k).png"
          guard let data = FileManager.default.contents(atPath: source) else {
            throw SiteError("\(source) is missing (frame \(k + 1) of \(labels.count) of the animation '\(animation)'): run the lesson again (make lessons)")
          }
          files.append(("\(site)/figures/\(page.name)/\(animation)-\(k).png", data))
        }
      }
    }
    var hasPlayground = false
    let playground = self.playground ?? "\(output)/playground"
    if FileManager.default.fileExists(atPath: playground) {
      let page = try PlaygroundPage.read(folder: playground)
      let sidebar = Template.sidebar(pages.map { ($0.name, $0.number, $0.shortTitle) }, current: "playground", root: "")
      files.append(("\(site)/playground.html", Data(Template.page(title: "Playground", root: "", body: page.html(sidebar: sidebar)).utf8)))
      for (name, path) in page.files {
        guard let data = FileManager.default.contents(atPath: path) else { throw SiteError("\(path) cannot be read: run make playground") }
        files.append(("\(site)/playground/\(name)", data))
      }
      hasPlayground = true
    } else {
      print("site: no playground in \(playground)/ (make playground draws it); the site has no playground page")
    }
    files.append(("\(site)/index.html", Data(index(pages, playground: hasPlayground).utf8)))
    files.append(("\(site)/style.css", Data(Template.css.utf8)))
    try SiteChecks.checkImages(files, site: site)
    for (path, data) in files { try writeAtomically(data, to: path) }
    for page in pages { print("site: \(page.name).html (\(page.figures.count) figures)") }
    print("site: index.html with \(pages.count) lessons in \(site)/")
  }

  func index(_ pages: [LessonPage], playground: Bool) -> String {
    let items = pages.map { p in
      """
      <li class="lesson-card"><a href="\(p.name).html">
        \(p.figures.first.map { "<img src=\"figures/\(p.name)/\($0).png\" alt=\"\" loading=\"lazy\">" } ?? "")
        <span class="number">Lesson \(p.number)</span>
        <span class="title">\(escape(p.shortTitle))</span>
        <span class="summary">\(escape(p.summary))</span>
      </a></li>
      """
    }.joined(separator: "\n")
    return Template.page(title: nil, root: "", body: """
      <main class="index">
      <header class="site"><h1>NeuralLessons</h1>
      <p class="lede">How neural networks work, learned by running them: every figure below was drawn by a small Swift program that trained something real.</p></header>
      \(playground ? "<p class=\"playground-link\"><a href=\"playground.html\">The playground</a>: pick a data set, an activation, the hidden layers and a learning rate, and watch a network learn.</p>" : "")
      <ol class="lessons">
      \(items)
      </ol>
      </main>
      """)
  }
}

/// One lesson's page: its README, the figures its program wrote, the code that drew them, its run's numbers.
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
  /// How the figures were made: seed and the date summary.json was written.
  let seed: String
  let date: String
  /// The program, and the regions of it that draw each figure.
  let source: String
  let regions: [CodeRegion]
  /// Animations the README shows, with the label of each frame (summary.json's "animations").
  let animations: [String: [String]]

  var number: Int { Int(name.prefix(2)) ?? 0 }

  static let figurePattern = try! NSRegularExpression(pattern: #"!\[([^\]]*)\]\(([A-Za-z0-9_-]+)\.svg\)"#)
  /// An animation: `![caption](name.frames)` shows the frames name-0.png ... the lesson wrote, in the frame player.
  static let animationPattern = try! NSRegularExpression(pattern: #"!\[([^\]]*)\]\(([A-Za-z0-9_-]+)\.frames\)"#)
  /// A cross-reference to a figure in the text: `@fig:loss-curve` becomes "Figure 3", linked.
  static let referencePattern = try! NSRegularExpression(pattern: #"@fig:([A-Za-z0-9_-]+)"#)

  /// Reads the README and checks it against the figures the lesson wrote (summary.json's "figures").
  static func read(name: String, lessons: String, output: String) throws -> LessonPage {
    let readmePath = "\(lessons)/\(name)/README.md"
    let markdown = try SiteChecks.readText(readmePath, what: "text")
    let summaryPath = "\(output)/\(name)/summary.json"
    guard let data = FileManager.default.contents(atPath: summaryPath),
      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let written = json["figures"] as? [String]
    else { throw SiteError("\(summaryPath) is missing or has no figure list: run the lesson first (make lessons)") }
    if json["quick"] as? Bool == true {
      throw SiteError("\(summaryPath) comes from a --quick run, which is not for the course: run the lesson in full (make lessons) and build the site again")
    }
    let shown = figurePattern.matches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown)).map { String(markdown[Range($0.range(at: 2), in: markdown)!]) }
    if let missing = shown.first(where: { !written.contains($0) }) {
      throw SiteError("\(readmePath) shows the figure '\(missing)', which \(name) did not write (it wrote: \(written.joined(separator: ", ")))")
    }
    if let unshown = written.first(where: { !shown.contains($0) }) {
      throw SiteError("\(name) wrote the figure '\(unshown)', which \(readmePath) does not show: add ![caption](\(unshown).svg) to the text or stop writing it")
    }
    // summary.json's "animations": a list of {"name": ..., "labels": [...]}.
    var writtenAnimations: [String: [String]] = [:]
    for entry in json["animations"] as? [[String: Any]] ?? [] {
      if let name = entry["name"] as? String, let labels = entry["labels"] as? [String] { writtenAnimations[name] = labels }
    }
    let shownAnimations = animationPattern.matches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown))
      .map { String(markdown[Range($0.range(at: 2), in: markdown)!]) }
    if let missing = shownAnimations.first(where: { writtenAnimations[$0] == nil }) {
      throw SiteError("\(readmePath) shows the animation '\(missing)', which \(name) did not write")
    }
    if let unshown = writtenAnimations.keys.sorted().first(where: { !shownAnimations.contains($0) }) {
      throw SiteError("\(name) wrote the animation '\(unshown)', which \(readmePath) does not show: add ![caption](\(unshown).frames) to the text")
    }
    let sourcePath = "\(lessons)/\(name)/main.swift"
    let source = (try? String(contentsOfFile: sourcePath, encoding: .utf8)) ?? ""
    let regions: [CodeRegion]
    do { regions = try CodeRegion.regions(in: source, file: sourcePath) } catch let e as RegionError { throw SiteError(e.description) }
    // Every figure shows the code that draws it.
    if let bare = (shown + shownAnimations).first(where: { f in !regions.contains { $0.figures.contains(f) } }) {
      throw SiteError("\(sourcePath) marks no lines for the figure '\(bare)': put '// figure: \(bare)' before the code that makes it and '// end figure' after")
    }
    for region in regions {
      if let unknown = region.figures.first(where: { !shown.contains($0) && writtenAnimations[$0] == nil }) {
        throw SiteError("\(sourcePath):\(region.firstLine - 1): the region names the figure '\(unknown)', which the lesson does not show")
      }
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
    let modified = (try? FileManager.default.attributesOfItem(atPath: summaryPath)[.modificationDate] as? Date) ?? nil
    let day = DateFormatter()
    day.dateFormat = "yyyy-MM-dd"
    day.timeZone = TimeZone(identifier: "UTC")
    let seed = (json["seed"] as? NSNumber).map { "\($0)" } ?? "?"
    return LessonPage(
      name: name, title: title, shortTitle: shortTitle.prefix(1).uppercased() + shortTitle.dropFirst(), summary: plain, markdown: markdown,
      figures: shown, numbers: json, seed: seed, date: modified.map { day.string(from: $0) } ?? "?", source: source, regions: regions,
      animations: writtenAnimations)
  }

  /// The page: the README through pandoc (maths as MathML), figures as SVG with a PNG link and their code,
  /// a sidebar of all lessons, a table of contents, figure numbers, navigation.
  func html(pandoc: String, all: [LessonPage], previous: LessonPage?, next: LessonPage?) throws -> String {
    // Numbers the text quotes from the run are filled in from summary.json (SummaryMarkers).
    var text: String
    do {
      let (filled, changes) = try SummaryMarkers.fill(markdown, summary: numbers)
      for c in changes {
        print("site: lessons/\(name)/README.md writes \(c.written) for \(c.key); this run gave \(c.run), which the page shows")
      }
      text = filled
    } catch let e as SummaryMarkers.MarkerError {
      throw SiteError("lessons/\(name)/README.md: \(e.description)")
    }
    // Figures and animations are numbered together, in the order the text shows them.
    let anyFigure = try! NSRegularExpression(pattern: #"!\[([^\]]*)\]\(([A-Za-z0-9_-]+)\.(svg|frames)\)"#)
    let order = anyFigure.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 2), in: text)!]) }
    // Cross-references: @fig:name becomes a link "Figure N".
    for match in Self.referencePattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
      let figure = String(text[Range(match.range(at: 1), in: text)!])
      guard let n = order.firstIndex(of: figure) else {
        throw SiteError("lessons/\(name)/README.md refers to @fig:\(figure), a figure the page does not show")
      }
      text.replaceSubrange(Range(match.range, in: text)!, with: "[Figure \(n + 1)](#\(figure))")
    }
    // Figures become HTML blocks before pandoc sees the text: numbered, with the code that draws them.
    // (Pandoc sees a placeholder paragraph, so the code inside is never read as Markdown.)
    var number = order.count
    var blocks: [String: String] = [:]
    for match in anyFigure.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
      let caption = String(text[Range(match.range(at: 1), in: text)!])
      let figure = String(text[Range(match.range(at: 2), in: text)!])
      let isAnimation = text[Range(match.range(at: 3), in: text)!] == "frames"
      let token = "NLFIGUREBLOCK\(number)X"
      blocks["<p>\(token)</p>"] = isAnimation
        ? animationBlock(figure, number: number, caption: caption) : figureBlock(figure, number: number, caption: caption)
      text.replaceSubrange(Range(match.range, in: text)!, with: "\n\n\(token)\n\n")
      number -= 1
    }
    var body = try runPandoc(pandoc, text)
    for (token, block) in blocks { body = body.replacingOccurrences(of: token, with: block) }
    body = body
      // "Common mistake" blockquotes are drawn as boxes; tables scroll sideways on a phone.
      .replacingOccurrences(of: "<blockquote>\n<p><strong>Common mistake", with: "<blockquote class=\"mistake\">\n<p><strong>Common mistake")
      // Display maths in a box that scrolls sideways: a MathML element does not clip what overflows it.
      .replacingOccurrences(of: #"(?s)(<math display="block".*?</math>)"#, with: "<span class=\"math-block\">$1</span>", options: .regularExpression)
      .replacingOccurrences(of: "<table>", with: "<div class=\"table-wrap\"><table>")
      .replacingOccurrences(of: "</table>", with: "</table></div>")
    // The table of contents and how the figures were made go right under the title.
    let provenance = """
      <p class="provenance">Figures and numbers on this page come from a full run of <code>\(name)</code> (seed \(seed), \(date)); \
      the code is <a href="source/\(name).html">main.swift</a>.</p>
      """
    let toc = tableOfContents(body)
    if let h1 = body.range(of: "</h1>") {
      body.insert(contentsOf: "\n" + provenance + "\n" + toc, at: h1.upperBound)
    } else {
      body = provenance + toc + body
    }
    let pager = """
      <nav class="pager">\(previous.map { "<a rel=\"prev\" href=\"\($0.name).html\">← \(escape($0.title))</a>" } ?? "<span></span>")
      \(next.map { "<a rel=\"next\" href=\"\($0.name).html\">\(escape($0.title)) →</a>" } ?? "<span></span>")</nav>
      """
    let script = animations.isEmpty ? "" : "\n" + Template.playerScript
    return Template.page(
      title: title, root: "",
      body: Template.sidebar(all.map { ($0.name, $0.number, $0.shortTitle) }, current: name, root: "")
        + "\n<main class=\"lesson\">\n" + body + "\n" + pager + script + "\n</main>\n")
  }

  /// The lines of main.swift that draw `figure`, folded under the figure.
  func codeBlock(_ figure: String) -> String {
    let mine = regions.filter { $0.figures.contains(figure) }
    guard !mine.isEmpty else { return "" }
    let snippets = mine.map { r in
      "<pre><code class=\"language-swift\">\(escape(r.code))</code></pre>\n<p class=\"where\"><a href=\"source/\(name).html#L\(r.firstLine)\">main.swift, lines \(r.firstLine)–\(r.lastLine)</a></p>"
    }.joined(separator: "\n")
    return "\n<details class=\"code\"><summary>The code that draws it</summary>\n\(snippets)\n</details>"
  }

  /// An animation in the frame player: the last frame without scripts; play/pause and a scrubber with them.
  func animationBlock(_ animation: String, number: Int, caption: String) -> String {
    let labels = animations[animation] ?? []
    let last = max(labels.count - 1, 0)
    return Template.player(
      id: animation, prefix: "figures/\(name)/\(animation)-", labels: labels, alt: caption,
      caption: "<span class=\"figure-number\">Figure \(number).</span> \(escape(caption)) (\(labels.count) frames: press Play or drag the slider)",
      start: last) + codeBlock(animation)
  }

  func figureBlock(_ figure: String, number: Int, caption: String) -> String {
    let code = codeBlock(figure)
    return """
      <figure id="\(figure)"><a href="figures/\(name)/\(figure).svg"><img src="figures/\(name)/\(figure).svg" alt="\(escape(caption))"></a>
      <figcaption><span class="figure-number">Figure \(number).</span> \(escape(caption)) <a class="download" href="figures/\(name)/\(figure).png" download>PNG</a></figcaption>\(code)</figure>
      """
  }

  /// The h2 headings of the page (pandoc gives them ids) as a list of links.
  func tableOfContents(_ html: String) -> String {
    // Pandoc wraps long headings over several lines.
    let pattern = try! NSRegularExpression(pattern: #"<h2\s+id="([^"]+)"[^>]*>(.*?)</h2>"#, options: [.dotMatchesLineSeparators])
    let items = pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { m in
      let id = String(html[Range(m.range(at: 1), in: html)!])
      let heading = String(html[Range(m.range(at: 2), in: html)!]).replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
      return "<li><a href=\"#\(id)\">\(heading)</a></li>"
    }
    guard !items.isEmpty else { return "" }
    return "<nav class=\"toc\" aria-label=\"On this page\"><p>On this page</p><ol>\n" + items.joined(separator: "\n") + "\n</ol></nav>\n"
  }

  /// The whole program, with numbered lines that the figures' code links to.
  func sourcePage(all: [LessonPage]) -> String {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    let numbered = lines.enumerated().map { i, line in "<span id=\"L\(i + 1)\" class=\"line\">\(escape(String(line)))</span>" }
      .joined(separator: "\n")
    return Template.page(
      title: "\(title): main.swift", root: "../",
      body: Template.sidebar(all.map { ($0.name, $0.number, $0.shortTitle) }, current: name, root: "../") + """
        <main class="lesson source">
        <h1>lessons/\(name)/main.swift</h1>
        <p>The program behind <a href="../\(name).html">\(escape(title))</a>: it trains, prints its progress and writes every figure on the page and summary.json. Run it with <code>swift run -c release \(name) --help</code>.</p>
        <pre class="numbered"><code class="language-swift">\(numbered)</code></pre>
        </main>
        """)
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
    throw SiteError("pandoc cannot be started (\(error.localizedDescription)): install it with apt-get install pandoc (make setup does)")
  }
  input.fileHandleForWriting.write(Data(markdown.utf8))
  try input.fileHandleForWriting.close()
  let html = output.fileHandleForReading.readDataToEndOfFile()
  let message = errors.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else {
    if p.terminationStatus == 127 { throw SiteError("pandoc is not installed: apt-get install pandoc (make setup does)") }
    throw SiteError("pandoc failed: \(String(decoding: message, as: UTF8.self).split(separator: "\n").first ?? "")")
  }
  return String(decoding: html, as: UTF8.self)
}

func escape(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// Why the site was not built: one line saying what is wrong and what to do (no usage text: the flags were fine).
struct SiteError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
