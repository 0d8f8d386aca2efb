"""The app in a real browser: headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
FOUR = "...3.1..2..11.3."

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser.new_page(viewport={"width": 1280, "height": 1000})
        browser.close()


def test_solve_in_the_browser(page, app_url, tmp_path):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    page.goto(app_url)
    page.wait_for_selector(".gradio-container", timeout=20_000)
    page.locator("#sudoku-speed").get_by_text("fast").click()
    page.locator("#sudoku-text textarea").fill(FOUR)
    page.wait_for_selector("#sudoku-note .rmdm-verdict", timeout=30_000)  # the preview read it
    page.locator("#sudoku-solve").click()
    verdict = page.wait_for_selector("#sudoku-verdict [data-verdict]", timeout=60_000)
    if verdict.get_attribute("data-verdict") == "no-model":
        page.locator("#sudoku-exact").click()
        page.wait_for_selector("#sudoku-verdict [data-verdict='solved']", timeout=15_000)
    else:
        assert verdict.get_attribute("data-verdict") in ("solved", "invalid")
    board = page.locator("#sudoku-board table.rmdm-board")
    assert board.locator("td.given").count() == 6
    assert board.locator("td.filled").count() == 10  # every blank filled in the last frame
    page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
    assert (tmp_path / "app.png").stat().st_size > 10_000
    assert hosts <= {urlparse(app_url).netloc}, f"the page reached {hosts}"


def test_bad_input_shows_a_message_in_the_browser(page, app_url):
    page.goto(app_url)
    page.wait_for_selector(".gradio-container", timeout=20_000)
    page.locator("#sudoku-text textarea").fill("12x4")
    page.locator("#sudoku-exact").click()
    verdict = page.wait_for_selector("#sudoku-verdict [data-verdict='error']", timeout=15_000)
    assert "Cannot read the puzzle" in verdict.inner_text()
    assert "Traceback" not in page.content()


def test_countdown_solved_by_the_model_in_the_browser(page, app_url):
    """A 4-number ml instance (cd4_test's first) solved by the bundled countdown4 with the app's
    default decoding (the model orders a search over the calculator's legal steps)."""
    page.goto(app_url)
    page.wait_for_selector(".gradio-container", timeout=20_000)
    page.get_by_role("tab", name="Countdown").click()
    page.locator("#countdown-speed").get_by_text("fast").click()
    page.locator("#countdown-numbers input, #countdown-numbers textarea").first.fill("58, 11, 80, 83")
    page.locator("#countdown-target input, #countdown-target textarea").first.fill("81")
    page.locator("#countdown-solve").click()
    verdict = page.wait_for_selector("#countdown-verdict [data-verdict]", timeout=60_000)
    if verdict.get_attribute("data-verdict") == "no-model":
        pytest.skip("no bundled 4-number Countdown model in this checkout")
    page.wait_for_selector("#countdown-verdict [data-verdict='solved']", timeout=60_000)
    assert "Traceback" not in page.content()
