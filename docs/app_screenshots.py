"""Take the screenshots of ``capacity serve`` in docs/ (run on demand, not by the tests).

    .venv/bin/python docs/app_screenshots.py

Starts ``capacity serve`` on a free port, opens a view in headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright) and writes ``docs/app.png`` (history against
embargo-2024 with the EV/Sales multiple at 8.5x) and ``docs/app-error.png`` (a bad capex
budget typed into that view: the error beside its field, the last results kept) and
``docs/app-stress.png`` (the stress fan of 100 draws), then stops the server.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEW = "?scenario=history&base=embargo-2024&set=finance.ev_sales_multiple%3D8.5"


def main() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "capacity.cli", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(url + VIEW)
            page.wait_for_selector("#tp-target_price", timeout=120_000)
            page.wait_for_selector("#g-fleet .main-svg .trace", timeout=120_000)
            page.wait_for_timeout(800)
            page.screenshot(path=DOCS / "app.png")
            box = page.locator("input[name='planner.capex_budget_m.2024']")
            box.fill("-5")
            box.press("Enter")
            page.wait_for_selector(".err:not(:empty)", timeout=120_000)
            page.wait_for_timeout(300)
            page.screenshot(path=DOCS / "app-error.png",
                            clip={"x": 0, "y": 0, "width": 1440, "height": 700})
            box.fill("3000")
            box.press("Enter")
            page.wait_for_function("() => document.querySelector('.err:not(:empty)') === null")
            page.fill("#stress-samples", "100")
            page.click("#stress-button")
            page.wait_for_selector("#s-stress", timeout=300_000)
            page.locator("#stress").scroll_into_view_if_needed()
            page.wait_for_timeout(800)
            page.screenshot(path=DOCS / "app-stress.png")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"wrote {DOCS / 'app.png'}, {DOCS / 'app-error.png'}, {DOCS / 'app-stress.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
