"""Browser test: JupyterLab in a real (headless) Chromium runs lesson 04 and its latent-space explorer.

Starts JupyterLab from this venv on a free localhost port (token, COURSE_FAST=1), serving a temp copy of
notebooks/, and opens the student version of lesson 04 (its unsolved exercises fall back to course_lib's
reference, as for a student who skipped them). Playwright drives Debian's /usr/bin/chromium (never a downloaded
browser): run all cells, wait for the explorer (an ipywidgets slider over a latent interpolation of the shipped
DCGAN), move the slider with the keyboard, check the generated digits changed, save a screenshot (tmp dir, and
$COURSE_ARTIFACTS when set). `make test` installs chromium when root.
"""
import os
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
