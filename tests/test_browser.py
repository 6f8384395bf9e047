"""Browser tests: JupyterLab in a real (headless) Chromium runs lesson 04 and its latent-space explorer; the book's
site (`make book`) is read from file:// with the network blocked.

Starts JupyterLab from this venv on a free localhost port (token, COURSE_FAST=1), serving a temp copy of
notebooks/, and opens the student version of lesson 04 (its unsolved exercises fall back to course_lib's
reference, as for a student who skipped them). Playwright drives Debian's /usr/bin/chromium (never a downloaded
browser): run all cells, wait for the explorer (an ipywidgets slider over a latent interpolation of the shipped
DCGAN), move the slider with the keyboard, check the generated digits changed, save a screenshot (tmp dir, and
$COURSE_ARTIFACTS when set). `make test` installs chromium when root.

The site test builds every lesson into a temp folder, lesson 04 executed in fast mode and the others without outputs
(no recorded run is used), and opens it as a reader without a network would: every request that is not file: is
blocked and recorded.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_lib import env
from course_lib.authoring import book, pages

pytest.importorskip("playwright.sync_api", reason="playwright missing: pip install -e '.[dev]'")

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

NOTEBOOK = "04_dcgan_mnist.ipynb"  # its last code cell builds the explorer (latent_explorer)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on localhost serving a temp copy of notebooks/."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is missing: `sudo apt-get install --no-install-recommends chromium` "
                    "(`make test` installs it when run as root)")
    root = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    nb = nbformat.read(root / NOTEBOOK, as_version=4)
    assert any("latent_explorer(" in c.source for c in nb.cells if c.cell_type == "code"), \
        f"{NOTEBOOK} no longer builds the latent explorer this test drives"
    port, token = free_port(), "course-test-token"
    env = dict(os.environ, COURSE_FAST="1", MPLBACKEND="module://matplotlib_inline.backend_inline",
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter_config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--expose-app-in-browser",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
         "--MappingKernelManager.default_kernel_name=python3"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "lab.log").read_text()
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_lesson04_explorer_slider_changes_the_digits(lab, tmp_path):
    from playwright import sync_api

    url, token = lab
    shots = [tmp_path / "browser.png"]
    if env.artifacts_dir():
        env.artifacts_dir().mkdir(parents=True, exist_ok=True)
        shots.append(env.artifacts_dir() / "browser_widget.png")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}", timeout=60_000)
            page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=30_000)
            # wait for the kernel, then run every cell (fast mode: training steps, the shipped DCGAN, the explorer)
            page.wait_for_function(
                "(() => { const w = window.jupyterapp.shell.currentWidget;"
                " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle'; })()", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            image = page.locator(".widget-output img, .jupyter-widgets-output-area img").first
            image.wait_for(timeout=180_000)
            before = image.get_attribute("src")
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "before => { const i = document.querySelector('.widget-output img, .jupyter-widgets-output-area img');"
                " return i && i.src !== before; }", arg=before, timeout=30_000)
            page.wait_for_timeout(300)
            readout = page.locator(".widget-slider .widget-readout").first.inner_text()
            page.locator(".widget-slider").first.scroll_into_view_if_needed()
            after = page.locator(".widget-output img, .jupyter-widgets-output-area img").first.get_attribute("src")
        finally:
            for shot in shots:
                page.screenshot(path=str(shot))
            browser.close()
    assert before.startswith("data:image/png") and after.startswith("data:image/png")
    assert after != before, "moving the explorer's slider did not change the generated digits"
    assert readout.strip() == "3", f"slider readout {readout!r} after three ArrowRight presses"


LOCAL = ("file:", "data:", "blob:", "about:")  # what a page may load without a network


def only_in(lesson: str) -> str:
    """A word of lesson `lesson`'s Markdown that no other page of the site has (README, docs, other lessons)."""
    def words(text):
        return set(re.findall(r"[a-z]{7,}", text.lower()))

    def markdown(path):
        return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    others = set()
    for path in book.lessons():
        if not path.name.startswith(lesson):
            others |= words(markdown(path))
    for path in [REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        others |= words(path.read_text())
    target = next(p for p in book.lessons() if p.name.startswith(lesson))
    ours = [w for w in re.findall(r"[a-z]{7,}", "\n".join(
        c.source for c in nbformat.read(target, as_version=4).cells if c.cell_type == "markdown").lower())
        if w not in others]
    assert ours, f"lesson {lesson} has no word of its own"
    return max(ours, key=lambda w: (ours.count(w), len(w)))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is missing: `sudo apt-get install --no-install-recommends chromium`")
    tmp = tmp_path_factory.mktemp("site")
    (tmp / "lessons").mkdir()
    return book.build(out=tmp / "book", recorded=tmp / "lessons", work=tmp / "work", execute={"04"}).parent


def test_the_site_reads_offline(site, tmp_path):
    from playwright import sync_api

    lessons = book.lessons()
    url = {p.name[:2]: (site / f"{p.stem}.html").as_uri() for p in lessons}
    word = only_in("08")
    outside, failed = [], []
    shots = [tmp_path / "book.png"] + ([env.artifacts_dir() / "browser_book.png"] if env.artifacts_dir() else [])

    def block(route):
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        context.route("**/*", block)
        context.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
        context.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}") if r.url.startswith("file:")
                   and r.url not in outside else None)
        page = context.new_page()
        try:
            page.goto((site / "index.html").as_uri())
            sidebar = page.eval_on_selector_all("nav.bd-docs-nav a", "links => links.map(a => a.href)")
            missing = [p.name for p in lessons if url[p.name[:2]] not in sidebar]
            assert not missing, f"the sidebar does not list {missing}"

            page.goto(url["03"])
            assert page.get_attribute("a.right-next", "href").endswith(f"{lessons[3].stem}.html")
            page.goto(url["04"])
            assert page.get_attribute("a.left-prev", "href").endswith(f"{lessons[2].stem}.html")
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
            page.evaluate("() => MathJax.startup.promise")
            display = page.locator('article mjx-container[display="true"]').count()
            inline = page.locator("article mjx-container:not([display])").count()
            text = page.evaluate("""() => { const a = document.querySelector('article').cloneNode(true);
                a.querySelectorAll('pre, code, .cell_output, mjx-container').forEach(e => e.remove());
                return a.textContent; }""")
            raw = [t for t in ("$$", "\\[", "\\(") if t in text]
            figures = page.eval_on_selector_all(
                ".cell_output img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
            page.locator(".cell_output img").first.scroll_into_view_if_needed()
            for shot in shots:
                shot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot))

            page.goto((site / "search.html").as_uri() + f"?q={word}")
            page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
            found = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
        finally:
            browser.close()
    assert display > 0 and inline > 0, f"maths not typeset: {display} display, {inline} inline MathJax containers"
    assert not raw, f"raw TeX left in lesson 04's text: {raw}"
    assert figures and all(figures), f"lesson 04's figures did not load: {figures}"
    assert any(f"{lessons[7].stem}.html" in link for link in found), f"searching {word!r} found {found}"
    assert not outside, f"requests outside the site: {outside}"
    assert not failed, f"files of the site that failed to load: {failed}"
