import Support

/// The page frame and the style sheet: system fonts only, no external requests, so pages work offline.
enum Template {
  /// A page; `root` is the path back to the site's top folder ("" or "../"). The index passes no title.
  static func page(title: String?, root: String, body: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light dark">
    <title>\(title.map { escape($0) + " · NeuralLessons" } ?? "NeuralLessons: neural networks, learned by running them")</title>
    <link rel="stylesheet" href="\(root)style.css">
    </head>
    <body>
    <a class="skip" href="#content">Skip to the text</a>
    \(body.replacingOccurrences(of: "<main class=", with: "<main id=\"content\" class="))
    <footer>NeuralLessons: every figure is drawn by the lesson's own program. <a href="\(root)index.html">All lessons</a></footer>
    </body>
    </html>

    """
  }

  /// Every lesson, the current one marked.
  static func sidebar(_ lessons: [(name: String, number: Int, title: String)], current: String?, root: String) -> String {
    let items = lessons.map { l in
      let here = l.name == current ? " aria-current=\"page\"" : ""
      return "<li><a href=\"\(root)\(l.name).html\"\(here)><span class=\"n\">\(l.number)</span> \(escape(l.title))</a></li>"
    }.joined(separator: "\n")
    let here = current == "playground" ? " aria-current=\"page\"" : ""
    return """
      <nav class="sidebar" aria-label="Lessons"><a class="home" href="\(root)index.html">NeuralLessons</a>
      <ol>
      \(items)
      <li class="extra"><a href="\(root)playground.html"\(here)><span class="n">▶</span> Playground</a></li>
      </ol></nav>
      """
  }

  /// The frame player: a figure showing `prefix`0.png ... with play/pause and a scrubber (hidden until the
  /// script runs; without scripts the frame `start` shows). Lesson animations and the playground use it.
  static func player(id: String, prefix: String, labels: [String], alt: String, caption: String, start: Int, width: Int? = nil, height: Int? = nil) -> String {
    let json = "[" + labels.map { jsonQuoted($0) }.joined(separator: ",") + "]"
    let size = width.map { " width=\"\($0)\"" } ?? ""
    let size2 = height.map { " height=\"\($0)\"" } ?? ""
    return """
      <figure id="\(id)" class="player" data-prefix="\(escape(prefix))" data-labels="\(escape(json))">
      <img src="\(escape(prefix))\(start).png"\(size)\(size2) alt="\(escape(alt))">
      <div class="player-controls" hidden><button type="button">Play</button>
      <input type="range" min="0" max="\(max(labels.count - 1, 0))" value="\(start)" aria-label="frame">
      <output>\(escape(labels.indices.contains(start) ? labels[start] : ""))</output></div>
      <figcaption>\(caption)</figcaption></figure>
      """
  }

  /// Wires every frame player on the page: it only chooses which image to show. A player's prefix may be
  /// changed from outside (the playground's controls) followed by a 'prefixchange' event.
  static let playerScript = """
    <script>
    document.querySelectorAll('figure.player').forEach(function (fig) {
      var img = fig.querySelector('img'), slider = fig.querySelector('input[type=range]');
      var label = fig.querySelector('output'), play = fig.querySelector('button');
      var labels = JSON.parse(fig.dataset.labels), timer = null;
      fig.querySelector('.player-controls').hidden = false;
      function show() { img.src = fig.dataset.prefix + slider.value + '.png'; label.textContent = labels[+slider.value]; }
      function stop() { clearInterval(timer); timer = null; play.textContent = 'Play'; }
      slider.addEventListener('input', show);
      fig.addEventListener('prefixchange', show);
      play.addEventListener('click', function () {
        if (timer) { stop(); return; }
        if (+slider.value === labels.length - 1) { slider.value = 0; show(); }
        play.textContent = 'Pause';
        timer = setInterval(function () {
          if (+slider.value >= labels.length - 1) { stop(); return; }
          slider.value = +slider.value + 1; show();
        }, 500);
      });
    });
    </script>
    """

  static let css = """
    :root { --ink: #262626; --muted: #5a5a5a; --accent: #0867a8; --rule: #e3e3e3; --paper: #fff; --code: #f4f4f4;
      --mistake-bg: #fff6ed; --mistake-edge: #e8710a; --mistake-ink: #9a4706; --figure-bg: #fff; }
    @media (prefers-color-scheme: dark) {
      :root { --ink: #e4e4e4; --muted: #a8a8a8; --accent: #6cb8f0; --rule: #3a3a3a; --paper: #17181a; --code: #26282b;
        --mistake-bg: #2e2217; --mistake-edge: #e8710a; --mistake-ink: #f5a66a; }
    }
    * { box-sizing: border-box; }
    html { scroll-padding-top: 1rem; }
    body { margin: 0; color: var(--ink); background: var(--paper);
      font: 17px/1.6 "DejaVu Serif", Georgia, "Times New Roman", serif; }
    .skip { position: absolute; left: -999px; }
    .skip:focus { left: 1rem; top: 1rem; background: var(--paper); padding: 0.3rem; }
    h1, h2, h3, nav, footer, figcaption, .lessons, .provenance, summary { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
    h1 { font-size: 2rem; line-height: 1.2; margin: 1.2rem 0 0.6rem; overflow-wrap: anywhere; }
    h2 { font-size: 1.35rem; margin: 2.2rem 0 0.6rem; border-bottom: 1px solid var(--rule); padding-bottom: 0.2rem; }
    a { color: var(--accent); }
    code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.88em; background: var(--code); padding: 0.05em 0.25em; border-radius: 3px; }
    pre { background: var(--code); padding: 0.7rem 0.9rem; border-radius: 4px; overflow-x: auto; line-height: 1.4; }
    pre code { padding: 0; background: none; font-size: 0.82rem; }
    math[display="block"] { margin: 1rem 0; }
    .math-block { display: block; overflow-x: auto; overflow-y: hidden; max-width: 100%; }
    .table-wrap { overflow-x: auto; margin: 1rem 0; }
    table { border-collapse: collapse; font-size: 0.95rem; }
    th, td { border-bottom: 1px solid var(--rule); padding: 0.3rem 0.7rem; text-align: left; }
    figure { margin: 1.6rem 0; }
    figure img { display: block; width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; background: var(--figure-bg); }
    figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.4rem; }
    .figure-number { font-weight: bold; color: var(--ink); }
    details.code { margin-top: 0.4rem; font-size: 0.9rem; }
    details.code summary { cursor: pointer; color: var(--accent); font-size: 0.85rem; }
    details.code .where { margin: 0.2rem 0 0; font-size: 0.8rem; }
    .download { margin-left: 0.5rem; font-size: 0.8rem; border: 1px solid var(--rule); border-radius: 3px; padding: 0 0.35rem; text-decoration: none; }
    .provenance { color: var(--muted); font-size: 0.85rem; margin: 0 0 1rem; }
    nav.toc { border: 1px solid var(--rule); border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0 1.5rem; font-size: 0.9rem; }
    nav.toc p { margin: 0; font-weight: bold; }
    nav.toc ol { margin: 0.3rem 0 0.2rem; padding-left: 1.3rem; }
    nav.pager { display: flex; justify-content: space-between; gap: 1rem; font-size: 0.9rem; padding: 0.8rem 0; border-top: 1px solid var(--rule); margin-top: 2.5rem; }
    blockquote { margin: 1.2rem 0; padding: 0.2rem 1rem; border-left: 4px solid var(--rule); color: var(--muted); }
    blockquote.mistake { color: var(--ink); background: var(--mistake-bg); border-left-color: var(--mistake-edge); border-radius: 0 6px 6px 0; }
    blockquote.mistake strong:first-child { color: var(--mistake-ink); }
    /* The book layout: a sidebar of lessons beside the text; on a phone the sidebar becomes a strip on top. */
    nav.sidebar { position: fixed; top: 0; left: 0; width: 15rem; height: 100vh; overflow-y: auto; padding: 1.2rem 1rem;
      border-right: 1px solid var(--rule); font-size: 0.88rem; }
    nav.sidebar .home { display: block; font-weight: bold; font-size: 1.05rem; text-decoration: none; color: var(--ink); margin-bottom: 0.8rem; }
    nav.sidebar ol { list-style: none; padding: 0; margin: 0; }
    nav.sidebar li a { display: block; padding: 0.25rem 0.4rem; border-radius: 4px; text-decoration: none; color: var(--ink); }
    nav.sidebar li a[aria-current="page"] { background: var(--code); font-weight: bold; border-left: 3px solid var(--accent); }
    nav.sidebar .n { color: var(--muted); display: inline-block; width: 1.3rem; }
    main, footer { max-width: 50rem; margin: 0 auto; padding: 1rem 1.25rem; }
    nav.sidebar ~ main, nav.sidebar ~ footer { margin-left: max(16rem, calc(50% - 25rem + 7.5rem)); }
    main.index { max-width: 64rem; }
    footer { margin-top: 2rem; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--rule); }
    .lede { color: var(--muted); font-size: 1.1rem; }
    pre.numbered .line { display: block; }
    pre.numbered { counter-reset: line; }
    pre.numbered .line::before { counter-increment: line; content: counter(line); display: inline-block; width: 2.6rem; margin-right: 0.8rem;
      text-align: right; color: var(--muted); user-select: none; }
    pre.numbered .line:target { background: rgba(255, 200, 0, 0.25); }
    ol.lessons { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 1.2rem; }
    .lesson-card a { display: flex; flex-direction: column; height: 100%; color: var(--ink); text-decoration: none; border: 1px solid var(--rule); border-radius: 6px; overflow: hidden; }
    .lesson-card a:hover { border-color: var(--accent); }
    .lesson-card img { width: 100%; aspect-ratio: 16 / 10; object-fit: contain; background: var(--figure-bg); border-bottom: 1px solid var(--rule); }
    .lesson-card .number { color: var(--muted); font-size: 0.8rem; margin: 0.6rem 0.8rem 0; }
    .lesson-card .title { font-weight: bold; margin: 0.1rem 0.8rem; }
    .lesson-card .summary { color: var(--muted); font-size: 0.88rem; margin: 0.2rem 0.8rem 0.8rem; line-height: 1.4; }
    .pg-controls { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; font-family: "DejaVu Sans", Arial, sans-serif; font-size: 0.9rem; }
    .pg-controls fieldset { border: 1px solid var(--rule); border-radius: 6px; padding: 0.3rem 0.7rem 0.5rem; margin: 0; }
    .pg-controls fieldset:disabled { opacity: 0.45; }
    .pg-controls label { display: block; cursor: pointer; }
    .player-controls { display: flex; align-items: center; gap: 0.8rem; margin-top: 0.4rem; font-family: "DejaVu Sans", Arial, sans-serif; font-size: 0.9rem; }
    .player-controls[hidden] { display: none; }
    .player-controls input[type=range] { flex: 1; }
    .player-controls button { font: inherit; padding: 0.25rem 1.1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
    .player-controls output { min-width: 7rem; }
    .pg-time { display: flex; align-items: center; gap: 0.8rem; width: 100%; }
    .pg-time input[type=range] { flex: 1; }
    .pg-time button { font: inherit; padding: 0.3rem 1.2rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
    .pg-frame img { max-width: 100%; height: auto; }
    main.playground { max-width: 56rem; }
    .playground-link { font-family: "DejaVu Sans", Arial, sans-serif; }
    @media (max-width: 60rem) {
      nav.sidebar { position: static; width: auto; height: auto; border-right: none; border-bottom: 1px solid var(--rule); padding: 0.6rem 1rem; }
      nav.sidebar ol { display: flex; flex-wrap: wrap; gap: 0.2rem 0.6rem; }
      nav.sidebar li a { padding: 0.1rem 0.3rem; }
      nav.sidebar ~ main, nav.sidebar ~ footer { margin-left: auto; }
      body { font-size: 16px; }
      h1 { font-size: 1.6rem; }
    }
    @media print {
      nav.sidebar, nav.pager, nav.toc, .download, .skip, footer { display: none; }
      nav.sidebar ~ main { margin-left: 0; }
      body { font-size: 11pt; color: #000; background: #fff; }
      details.code { display: none; }
      figure { break-inside: avoid; }
      a { color: inherit; text-decoration: none; }
    }
    """
}
