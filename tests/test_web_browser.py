"""Issue 14 in a real browser: Debian's headless Chromium driven by Playwright for Python.

The database is seeded through the real pipeline (tests/webkit.py). Every page must load with
no console error (a CSP violation is one), every link must be reachable with the keyboard, the
council timeline must have one mark per stored report, and a detection must link to its
report. Screenshots of each page are saved under the test's temporary directory (or
$OFSTED_WATCH_ARTIFACTS) so a person can look at them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.webkit import SCRIPT_TITLE, Seeded, get, seed, serving

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {
    "index": "/",
    "council": "/councils/E06000038",
    "council-inadequate": "/councils/E06000037",
    "detections": "/detections",
    "alerts": "/alerts",
    "sources": "/sources",
}


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """The browser, or a visible skip outside CI; under CI=true its absence is a failure."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[str]:
    seeded: Seeded = seed(tmp_path_factory.mktemp("browser"))
    with serving(seeded.config) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("OFSTED_WATCH_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Watched:
    """A page with every console error, page error, failed request and dialog recorded."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "response",
            lambda r: self.problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
        )
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.close()


def test_every_page_loads_without_console_errors(base: str, tab: Watched, shots: Path) -> None:
    """Each page loads with no console error, failed request or CSP report, and a full-page
    screenshot of it is saved."""
    for name, path in PAGES.items():
        tab.page.goto(base + path, wait_until="load")
        assert tab.page.locator("main h1").count() == 1, name
        tab.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    print(f"screenshots in {shots}")
    assert tab.problems == []
    assert sorted(p.name for p in shots.glob("*.png")) == sorted(f"{n}.png" for n in PAGES)


def _tab_through(page: Any) -> tuple[int, set[int]]:
    """Number each link, then press Tab until focus has gone round: which links got focus."""
    total = page.evaluate(
        """() => { const links = [...document.querySelectorAll('a[href]')];
        links.forEach((a, i) => a.setAttribute('data-link', String(i))); return links.length; }"""
    )
    reached: set[int] = set()
    for _ in range(total * 2 + 40):
        page.keyboard.press("Tab")
        idx = page.evaluate("() => document.activeElement?.getAttribute('data-link') ?? null")
        if idx is not None:
            reached.add(int(idx))
        if len(reached) == total:
            break
    return total, reached


def test_keyboard_reaches_every_link(base: str, tab: Watched) -> None:
    """Pressing Tab from the top of each page focuses every link on it, SVG marks included,
    and the first stop is the skip link."""
    for name, path in PAGES.items():
        tab.page.goto(base + path)
        tab.page.keyboard.press("Tab")
        first = tab.page.evaluate("() => document.activeElement.textContent.trim()")
        assert first == "Skip to content", name
        tab.page.goto(base + path)
        total, reached = _tab_through(tab.page)
        assert total > 5 and reached == set(range(total)), name


def test_council_timeline_has_one_mark_per_stored_report(base: str, tab: Watched) -> None:
    """The council page's server-drawn SVG has exactly one mark per report stored for it."""
    for gss, council in (("E06000038", "Reading"), ("E06000037", "West Berkshire")):
        stored = get(f"{base}/api/reports?council={gss}&limit=500").json()["items"]
        tab.page.goto(f"{base}/councils/{gss}")
        marks = tab.page.locator("svg.timeline .mark")
        assert marks.count() == len(stored) > 0, council
        links = tab.page.locator("svg.timeline a")
        assert links.count() == len(stored)


def test_a_detection_links_to_its_report(base: str, tab: Watched) -> None:
    """Following a report detection's link lands on that report's row of the council page."""
    tab.page.goto(f"{base}/detections?council=E06000037&kind=ofsted_report")
    row = tab.page.locator("tr", has_text="Monitoring visit").first
    row.locator("a.report-link").click()
    tab.page.wait_for_load_state()
    assert "/councils/E06000037#report-" in tab.page.url
    target = tab.page.locator("tr:target")
    assert target.count() == 1 and "Monitoring visit" in target.inner_text()
    assert "2017-01-23" in target.inner_text()


def test_a_script_title_is_shown_as_text(base: str, tab: Watched) -> None:
    """The <script> title is visible text on every page that lists it and never runs."""
    for path in ("/", "/councils/E06000038", "/detections"):
        tab.page.goto(base + path)
        assert SCRIPT_TITLE in tab.page.inner_text("main"), path
    assert tab.dialogs == [] and tab.problems == []


def test_filters_work_without_javascript(base: str, browser: Any) -> None:
    """With JavaScript off, the detections form filters by council, kind and type."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(base + "/detections")
        page.select_option("#f-council", "E06000038")
        page.select_option("#f-kind", "news_article")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "council=E06000038" in page.url and "kind=news_article" in page.url
        rows = page.locator("tbody tr")
        assert rows.count() == 2
        assert all("news article" in rows.nth(i).inner_text() for i in range(rows.count()))
    finally:
        context.close()
