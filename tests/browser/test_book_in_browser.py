"""The built HTML book, opened page by page in a real headless Chromium.

Runs after the book build (``make test`` does: pytest, build, then this with
``-m browser``). It serves ``_build/html`` on localhost and checks every page the way
a reader meets it: no JavaScript console errors, no failed requests, every image
loaded, math typeset by the local MathJax, solution toggles that open, each chapter
with its figures; and the schedule explorer against lrlib. Screenshots of three pages
go to ``_build/screenshots``.

Needs Debian's chromium (``apt-get install chromium``; ``.ci/run`` installs it); without
it the tests skip and say so.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from lrlib import schedules as S

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if CHROMIUM is None:
    pytest.skip("no chromium on PATH: install Debian's chromium (sudo apt-get install "
                "chromium), as .ci/run does, to run the browser tests", allow_module_level=True)
if not (HTML / "index.html").exists():
    pytest.skip("no built book in _build/html: run `make book` first",
                allow_module_level=True)


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(str(Path(node["file"]).with_suffix("")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return found


PAGES = sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
               if not p.relative_to(HTML).parts[0].startswith(("_", ".")))
CHAPTER_PAGES = [f + ".html" for f in toc_files() if f.startswith("chapters/")]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports failed requests itself
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A page loaded with its console errors and failed requests recorded."""

    def __init__(self, browser, url):
        self.errors, self.failed = [], []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed",
                     lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response",
                     lambda r: r.status >= 400 and self.failed.append(f"{r.url} ({r.status})"))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        if self.page.locator(".math").count():
            self.page.wait_for_function(
                "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)",
                timeout=20_000)
            self.page.evaluate("() => MathJax.startup.promise.then(() => true)")

    def close(self):
        self.page.close()


def test_every_toc_entry_was_built():
    for name in toc_files():
        assert (HTML / f"{name}.html").exists(), f"{name} is in _toc.yml but was not built"


def test_internal_links_resolve():
    href = re.compile(r'(?:href|src)="([^"#?]+)[^"]*"')
    broken = []
    for page in PAGES:
        text = (HTML / page).read_text(encoding="utf-8")
        for target in href.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("//"):
                continue
            if not (HTML / page).parent.joinpath(target).resolve().exists():
                broken.append(f"{page} -> {target}")
    assert broken == []


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly_with_images_and_math(page, server, browser):
    visit = Visit(browser, server + page)
    try:
        assert visit.errors == [], f"console errors on {page}: {visit.errors}"
        assert visit.failed == [], f"failed requests on {page}: {visit.failed}"
        broken = visit.page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src)")
        assert broken == [], f"images that did not load on {page}: {broken}"
        math = visit.page.locator(".math").count()
        if math:
            typeset = visit.page.evaluate(
                "() => [...document.querySelectorAll('.math')]"
                ".filter(e => e.querySelector('mjx-container')).length")
            assert typeset == math, f"{page}: {math - typeset} of {math} formulas not typeset"
            assert visit.page.locator("mjx-merror").count() == 0, f"MathJax errors on {page}"
            # \text{} does not read macros: \text{min\_lr} shows a literal backslash
            stray = visit.page.locator("mjx-mtext mjx-c.mjx-c5C").count()
            assert stray == 0, f"{page}: {stray} literal backslashes in typeset text"
    finally:
        visit.close()


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_chapter_has_figures_and_solution_toggles_open(page, server, browser):
    visit = Visit(browser, server + page)
    try:
        if page == CHAPTER_PAGES[0]:
            SHOTS.mkdir(parents=True, exist_ok=True)
            visit.page.screenshot(path=str(SHOTS / "chapter.png"), full_page=False)
        figures = visit.page.locator(".cell_output img").count()
        assert figures > 0, f"{page} shows no figures"
        hidden = visit.page.locator("details.hide")
        for i in range(hidden.count()):
            details = hidden.nth(i)
            assert details.get_attribute("open") is None
            details.locator("summary").first.click()
            assert details.get_attribute("open") is not None
            assert details.locator("pre").first.is_visible()
        dropdowns = visit.page.locator(".dropdown.toggle")
        for i in range(dropdowns.count()):
            box = dropdowns.nth(i)
            body = box.locator(":scope > :not(.admonition-title)").first
            assert not body.is_visible()
            box.locator(".toggle-button").first.click()
            visit.page.wait_for_timeout(200)
            assert body.is_visible()
    finally:
        visit.close()


def test_intro_screenshot(server, browser):
    visit = Visit(browser, server + "intro.html")
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(path=str(SHOTS / "intro.png"), full_page=True)
        assert visit.page.locator("h1").first.inner_text().startswith("Learning rates")
    finally:
        visit.close()


# --- the schedule explorer ----------------------------------------------------------------

def lrlib_schedule(family, p):
    """The lrlib schedule that the explorer's family and parameters describe."""
    if family == "multistep":
        return S.multistep(p["lr"], [p["milestone_1"], p["milestone_2"]], p["gamma"])
    if family == "warmup_cosine":
        return S.warmup(S.cosine(p["lr"], p["T_max"], p["eta_min"]), p["warmup_steps"],
                        p["start_factor"])
    if family == "cyclic":
        return S.cyclic(p["base_lr"], p["max_lr"], p["step_size_up"], p["step_size_down"],
                        p["mode"], p["gamma"], p["base_momentum"], p["max_momentum"])
    return getattr(S, family)(**p)


def random_params(families, family, rng):
    """Parameters drawn inside the explorer's slider ranges, valid for lrlib."""
    while True:
        p = {}
        for name, kind, _, *bounds in families[family]["params"]:
            if kind == "bool":
                p[name] = bool(rng.integers(2))
            elif kind == "choice":
                p[name] = str(rng.choice(bounds[0]))
            elif kind == "log":
                p[name] = float(10 ** rng.uniform(bounds[0], bounds[1]))
            elif kind == "int":
                p[name] = int(rng.integers(bounds[0], bounds[1] + 1))
            else:
                p[name] = float(rng.uniform(bounds[0], bounds[1]))
        try:
            lrlib_schedule(family, p)
            return p
        except ValueError:
            continue  # a combination lrlib refuses (the page says so); draw again


@pytest.fixture(scope="module")
def explorer(server, browser):
    visit = Visit(browser, server + "docs/explorer.html")
    yield visit
    visit.close()


def test_explorer_formulas_match_lrlib_at_many_points(explorer):
    page = explorer.page
    families = page.evaluate("() => window.lrExplorer.families")
    assert set(families) >= {"step", "exponential", "inverse_time", "cosine",
                             "cosine_restarts", "cyclic", "one_cycle", "warmup_cosine"}
    rng = np.random.default_rng(0)
    steps = np.unique(np.concatenate([np.arange(0, 60), rng.integers(0, 3000, 200)]))
    for family in families:
        for _ in range(12):
            p = random_params(families, family, rng)
            got = page.evaluate(
                "([f, p, ts]) => ts.map(t => window.lrExplorer.schedules[f](p, t))",
                [family, p, steps.tolist()])
            sched = lrlib_schedule(family, p)
            np.testing.assert_allclose(got, sched(steps), rtol=1e-12, atol=1e-15,
                                       err_msg=f"{family} {p}")
            if family in ("cyclic", "one_cycle"):
                mom = page.evaluate(
                    "([f, p, ts]) => ts.map(t => window.lrExplorer.momenta[f](p, t))",
                    [family, p, steps.tolist()])
                np.testing.assert_allclose(mom, sched.momentum(steps), rtol=1e-12)


def test_explorer_slider_moves_the_curve(explorer):
    page = explorer.page
    assert explorer.errors == [] and explorer.failed == []
    page.select_option("select.lr-family", "cyclic")
    before = page.evaluate("() => window.lrExplorer.current()")
    assert before["mom"] is not None and len(before["lr"]) == 400
    slider = page.locator("input[data-param='step_size_up']")
    slider.fill("120")  # moves the range input and fires its input event
    after = page.evaluate("() => window.lrExplorer.current()")
    assert after["params"]["step_size_up"] == 120 and after["lr"] != before["lr"]
    sched = lrlib_schedule("cyclic", after["params"])
    np.testing.assert_allclose(after["lr"], sched(np.arange(400)), rtol=1e-12)
    np.testing.assert_allclose(after["mom"], sched.momentum(np.arange(400)), rtol=1e-12)
    page.locator("input[data-param='base_lr']").fill("-1")  # base_lr 0.1 > max_lr
    refused = page.evaluate("() => window.lrExplorer.current()")
    if refused["params"]["base_lr"] > refused["params"]["max_lr"]:
        assert "max_lr must be >= base_lr" in page.locator(".lr-readout").inner_text()
    page.select_option("select.lr-family", "one_cycle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explorer.png"), full_page=True)
    assert explorer.errors == [], explorer.errors
