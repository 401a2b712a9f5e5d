/// The page frame and the style sheet: system fonts only, no scripts, so pages work offline.
enum Template {
  static func page(title: String, body: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(escape(title)) · NeuralLessons</title>
    <link rel="stylesheet" href="style.css">
    </head>
    <body>
    \(body)
    <footer>NeuralLessons: every figure is drawn by the lesson's own program. <a href="index.html">All lessons</a></footer>
    </body>
    </html>

    """
  }

  static let css = """
    :root { --ink: #262626; --muted: #555; --accent: #0877bd; --rule: #e3e3e3; --paper: #fff; }
    * { box-sizing: border-box; }
    body { margin: 0 auto; max-width: 52rem; padding: 1.5rem 1.25rem 3rem; color: var(--ink); background: var(--paper);
      font: 17px/1.6 "DejaVu Serif", Georgia, "Times New Roman", serif; }
    h1, h2, h3, nav, footer, figcaption, .lessons { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
    h1 { font-size: 2rem; line-height: 1.2; margin: 1.2rem 0 1rem; }
    h2 { font-size: 1.35rem; margin: 2.2rem 0 0.6rem; border-bottom: 1px solid var(--rule); padding-bottom: 0.2rem; }
    a { color: var(--accent); }
    code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; background: #f4f4f4; padding: 0.05em 0.25em; border-radius: 3px; }
    math[display="block"] { margin: 1rem 0; overflow-x: auto; }
    table { border-collapse: collapse; margin: 1rem 0; font-size: 0.95rem; }
    th, td { border-bottom: 1px solid var(--rule); padding: 0.3rem 0.7rem; text-align: left; }
    figure { margin: 1.6rem 0; }
    figure img { display: block; width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; }
    figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.4rem; }
    .download { margin-left: 0.5rem; font-size: 0.8rem; border: 1px solid var(--rule); border-radius: 3px; padding: 0 0.35rem; text-decoration: none; }
    nav.pager { display: flex; justify-content: space-between; gap: 1rem; font-size: 0.9rem; padding: 0.6rem 0; border-bottom: 1px solid var(--rule); }
    nav.pager:last-of-type { border-top: 1px solid var(--rule); border-bottom: none; margin-top: 2rem; }
    footer { margin-top: 3rem; color: var(--muted); font-size: 0.85rem; }
    blockquote { margin: 1.2rem 0; padding: 0.2rem 1rem; border-left: 4px solid var(--rule); color: var(--muted); }
    blockquote.mistake { color: var(--ink); background: #fff6ed; border-left-color: #e8710a; border-radius: 0 6px 6px 0; }
    blockquote.mistake strong:first-child { color: #b45309; }
    .lede { color: var(--muted); font-size: 1.1rem; }
    ol.lessons { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 1.2rem; }
    .lesson-card a { display: flex; flex-direction: column; height: 100%; color: var(--ink); text-decoration: none; border: 1px solid var(--rule); border-radius: 6px; overflow: hidden; }
    .lesson-card a:hover { border-color: var(--accent); }
    .lesson-card img { width: 100%; aspect-ratio: 16 / 10; object-fit: cover; object-position: top; border-bottom: 1px solid var(--rule); }
    .lesson-card .number { color: var(--muted); font-size: 0.8rem; margin: 0.6rem 0.8rem 0; }
    .lesson-card .title { font-weight: bold; margin: 0.1rem 0.8rem; }
    .lesson-card .summary { color: var(--muted); font-size: 0.88rem; margin: 0.2rem 0.8rem 0.8rem; line-height: 1.4; }
    """
}
