#!/usr/bin/env python3
"""make check-site: open every page of output/site in headless Chromium, fail on a broken image or link,
and save a screenshot of each page to output/site-check/.

Uses Playwright with the system's Chromium (apt-get install chromium; pip install playwright), so nothing is
downloaded at run time.
"""
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse, unquote

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
    pages = sorted(site.glob("*.html"))
    if not pages:
        sys.exit(f"check-site: no pages in {site}: run make site first")
    shots.mkdir(parents=True, exist_ok=True)
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        external = []
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith("file://") and not r.url.startswith("data:") else None)
        for html in pages:
            problems = []
            external.clear()
            page.goto(html.as_uri(), wait_until="load")
            broken = page.evaluate("""() => Array.from(document.images)
                .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))""")
            problems += [f"broken image {src}" for src in broken]
            for href in page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"):
                url = urlparse(href)
                if url.scheme in ("http", "https"):
                    problems.append(f"external link {href} (pages must work offline)")
                    continue
                if url.scheme or not url.path:
                    continue
                target = (html.parent / unquote(url.path)).resolve()
                if not target.exists():
                    problems.append(f"broken link {href}")
            problems += [f"external request {u}" for u in external]
            if page.evaluate("() => document.querySelectorAll('script').length") > 0:
                problems.append("the page has scripts (pages should need none)")
            maths = page.evaluate("() => document.querySelectorAll('math').length")
            page.screenshot(path=str(shots / (html.stem + ".png")), full_page=True)
            status = "ok" if not problems else "FAILED"
            print(f"check-site: {html.name}: {status} ({maths} formulas, screenshot {shots.name}/{html.stem}.png)")
            for pr in problems:
                print(f"  {pr}")
            if problems:
                failures.append(html.name)
        browser.close()
    print(f"{len(pages) - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)

if __name__ == "__main__":
    main()
