"""Screenshots of the app for the README: docs/img/app-sudoku.png and docs/img/app-countdown.png.

    python benchmarks/screenshot_app.py [--out docs/img]

Launches the app on a free localhost port, solves a 9x9 example with the bundled model
(the exact solver where no model is bundled), scrubs back to a frame in the middle of the
run so the guesses show, and does the same for Countdown. Needs Debian's chromium
(/usr/bin/chromium) and the playwright Python package; never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

CHROMIUM = "/usr/bin/chromium"
SUDOKU = ".....8..53.69..82...15.2..951.7.34.68.4...1.....1.42...6741..8.425....611.8..6..."
COUNTDOWN = ("58,11,80,83", "81")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrub(page, tab: str, fraction: float) -> None:
    """Move the frame slider of `tab` to `fraction` of the run (through its number box)."""
    box = page.locator(f"#{tab}-frame input[type=number]")
    last = int(float(page.locator(f"#{tab}-frame input[type=range]").get_attribute("max")))
    box.fill(str(round(last * fraction)))
    box.press("Enter")
    page.wait_for_timeout(600)


def solve(page, tab: str) -> str:
    """Click the model's solve button (the exact solver's when no model is bundled); the verdict."""
    page.locator(f"#{tab}-speed").get_by_text("fast").click()
    page.locator(f"#{tab}-solve").click()
    verdict = page.wait_for_selector(f"#{tab}-verdict [data-verdict]", timeout=120_000)
    if verdict.get_attribute("data-verdict") == "no-model":
        page.locator(f"#{tab}-exact").click()
        verdict = page.wait_for_selector(f"#{tab}-verdict [data-verdict='solved']", timeout=60_000)
    return verdict.get_attribute("data-verdict")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--fraction", type=float, default=0.45, help="where in the run to stop (0..1)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from rmdm.app import blocks

    args.out.mkdir(parents=True, exist_ok=True)
    demo = blocks.build_demo()
    port = free_port()
    blocks.launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector(".gradio-container")
            page.locator("#sudoku-text textarea").fill(SUDOKU)
            print("sudoku:", solve(page, "sudoku"))
            scrub(page, "sudoku", args.fraction)
            page.screenshot(path=str(args.out / "app-sudoku.png"), full_page=True)
            page.get_by_role("tab", name="Countdown").click()
            page.locator("#countdown-numbers :is(input, textarea)").first.fill(COUNTDOWN[0])
            page.locator("#countdown-target :is(input, textarea)").first.fill(COUNTDOWN[1])
            print("countdown:", solve(page, "countdown"))
            scrub(page, "countdown", args.fraction)
            page.screenshot(path=str(args.out / "app-countdown.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out / 'app-sudoku.png'} and {args.out / 'app-countdown.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
