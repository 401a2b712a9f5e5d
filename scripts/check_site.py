#!/usr/bin/env python3
"""make check-site: open every page of output/site in headless Chromium at desktop width, phone width and in
dark mode; fail on a broken image or link, a request leaving the machine, a console error, a script loaded
from a file, or a page wider than the phone's screen; on the playground, click every control and check that the
shown frame changes; on every frame player, check that Play advances it. Screenshots of each page in each view go to output/site-check/.

Uses Playwright with the system's Chromium (apt-get install chromium; pip install playwright), so nothing is
downloaded at run time.
"""
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse, unquote

VIEWS = [
    ("desktop", {"width": 1280, "height": 900}, "light"),
    ("phone", {"width": 390, "height": 844}, "light"),
    ("dark", {"width": 1280, "height": 900}, "dark"),
]

# Every image loaded (lazy ones too: they are scrolled into view first) and decoded.
WAIT_FOR_IMAGES = """async () => {
  const images = Array.from(document.images);
  for (const img of images) { img.loading = 'eager'; }
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 10000);
  })));
  await Promise.all(images.map(img => img.decode ? img.decode().catch(() => null) : null));
}"""

BROKEN_IMAGES = """() => Array.from(document.images)
  .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))"""


def check_links(page, html):
    problems = []
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
    for href in hrefs:
        url = urlparse(href)
        if url.scheme in ("http", "https"):
            problems.append(f"external link {href} (pages must work offline)")
            continue
        if url.scheme or not url.path:
            if url.fragment and not url.path:
                found = page.evaluate("(id) => !!document.getElementById(id)", unquote(url.fragment))
                if not found:
                    problems.append(f"link to a missing anchor #{url.fragment}")
            continue
        target = (html.parent / unquote(url.path)).resolve()
        if not target.exists():
            problems.append(f"broken link {href}")
    return problems


def check_playground(page):
    """Clicks each control and the play button; each must change the frame shown."""
    problems = []
    src = lambda: page.get_attribute("#pg img", "src")
    page.wait_for_selector("#pg-controls", state="visible")
    for radio in page.query_selector_all("#pg-controls input[type=radio]"):
        if radio.is_checked() or radio.is_disabled():
            continue
        before = src()
        radio.check()
        page.wait_for_timeout(50)
        after = src()
        value = radio.get_attribute("value")
        name = radio.get_attribute("name")
        if after == before:
            problems.append(f"playground: choosing {name}={value} did not change the frame ({before})")
    problems += check_players(page, "playground: ")
    page.evaluate(WAIT_FOR_IMAGES)
    broken = page.evaluate(BROKEN_IMAGES)
    problems += [f"playground: broken frame {s}" for s in broken]
    return problems


def check_players(page, prefix=""):
    """Each frame player: its controls show, and Play advances the frame."""
    problems = []
    for i, fig in enumerate(page.query_selector_all("figure.player")):
        name = fig.get_attribute("id") or str(i)
        if not fig.query_selector(".player-controls").is_visible():
            problems.append(f"{prefix}the player '{name}' shows no controls")
            continue
        img = fig.query_selector("img")
        fig.query_selector("input[type=range]").evaluate("s => { s.value = 0; s.dispatchEvent(new Event('input')); }")
        first = img.get_attribute("src")
        fig.query_selector("button").click()
        page.wait_for_timeout(1300)
        if img.get_attribute("src") == first:
            problems.append(f"{prefix}Play did not advance the player '{name}'")
        fig.query_selector("button").click()
    return problems


def main():
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "output/site").resolve()
    shots = Path(sys.argv[2] if len(sys.argv) > 2 else "output/site-check").resolve()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("check-site: Playwright is missing: python3 -m pip install playwright (make setup-site does)")
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser_path:
        sys.exit("check-site: Chromium is missing: apt-get install chromium (make setup-site does)")
    pages = sorted(site.glob("*.html")) + sorted(site.glob("source/*.html"))
    if not pages:
        sys.exit(f"check-site: no pages in {site}: run make site first")
    shots.mkdir(parents=True, exist_ok=True)
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        for view, viewport, scheme in VIEWS:
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            external, console = [], []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file://", "data:")) else None)
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console.append(str(e)))
            for html in pages:
                problems = []
                external.clear()
                console.clear()
                page.goto(html.as_uri(), wait_until="load")
                page.evaluate(WAIT_FOR_IMAGES)
                problems += [f"broken image {src}" for src in page.evaluate(BROKEN_IMAGES)]
                if view == "desktop":
                    problems += check_links(page, html)
                scripts = page.evaluate("() => Array.from(document.scripts).map(s => s.src || 'inline')")
                problems += [f"a script loaded from {s} (only small inline scripts)" for s in scripts if s != "inline"]
                if html.name == "playground.html":
                    problems += check_playground(page)
                elif view == "desktop":
                    problems += check_players(page)
                if view == "phone":
                    wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                    if wide > 2:
                        problems.append(f"the page is {wide}px wider than the phone's screen (something does not scroll or scale)")
                problems += [f"request leaving the machine: {u}" for u in external]
                problems += [f"console error: {c}" for c in console]
                name = html.stem if html.parent == site else f"source-{html.stem}"
                shot = shots / f"{name}-{view}.png"
                page.screenshot(path=str(shot), full_page=view != "phone" or html.parent == site)
                status = "ok" if not problems else "FAILED"
                print(f"check-site: {view}: {html.relative_to(site)}: {status} (screenshot {shots.name}/{shot.name})")
                for pr in problems:
                    print(f"  {pr}")
                if problems:
                    failures.append(f"{view}: {html.name}")
            context.close()
        browser.close()
    total = len(pages) * len(VIEWS)
    print(f"check-site: {total - len(failures)} passed, {len(failures)} failed ({len(pages)} pages x {len(VIEWS)} views)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
