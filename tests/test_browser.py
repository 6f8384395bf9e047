"""Browser test: JupyterLab in a real (headless) Chromium runs a lesson with an ipywidgets slider.

Starts JupyterLab from this venv on a free localhost port (token, COURSE_FAST=1), serving a temp copy
of notebooks/ plus a small lesson-like notebook (MNIST digit picked by a slider, as the latent-space
explorer of lesson 04 does). Playwright drives Debian's /usr/bin/chromium (never a downloaded
browser): run all cells, move the slider with the keyboard, check the widget's image changed, save a
screenshot (tmp dir, and $COURSE_ARTIFACTS when set). `make test` installs chromium when root.
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

pytest.importorskip("playwright.sync_api", reason="playwright missing: pip install -e '.[dev]'")

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SETUP = """\
import course_lib
from course_lib import data
device = course_lib.setup()
images, labels = data.mnist_tensors(train=False, n=16)"""

WIDGET = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt

def show(index=0):
    plt.figure(figsize=(2, 2))
    plt.imshow(images[index, 0], cmap="gray")
    plt.title(f"digit {int(labels[index])}")
    plt.axis("off")
    plt.show()

widgets.interact(show, index=widgets.IntSlider(value=0, min=0, max=15, description="index"));"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on localhost serving a temp copy of notebooks/ plus widget_lesson.ipynb."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is missing: `sudo apt-get install --no-install-recommends chromium` "
                    "(`make test` installs it when run as root)")
    root = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Widget lesson"),
                                         nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(WIDGET)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "widget_lesson.ipynb")
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


def test_slider_changes_the_widget_output(lab, tmp_path):
    from playwright import sync_api

    url, token = lab
    shots = [tmp_path / "browser.png"]
    if os.environ.get("COURSE_ARTIFACTS"):
        Path(os.environ["COURSE_ARTIFACTS"]).mkdir(parents=True, exist_ok=True)
        shots.append(Path(os.environ["COURSE_ARTIFACTS"]) / "browser_widget.png")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        try:
            page.goto(f"{url}/lab/tree/widget_lesson.ipynb?token={token}", timeout=60_000)
            page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=30_000)
            # wait for the kernel, then run every cell (the widget cell is the last one)
            page.wait_for_function(
                "(() => { const w = window.jupyterapp.shell.currentWidget;"
                " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle'; })()", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            image = page.locator(".widget-output img, .jupyter-widgets-output-area img").first
            image.wait_for(timeout=60_000)
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
            after = page.locator(".widget-output img, .jupyter-widgets-output-area img").first.get_attribute("src")
        finally:
            for shot in shots:
                page.screenshot(path=str(shot))
            browser.close()
    assert before.startswith("data:image/png") and after.startswith("data:image/png")
    assert after != before, "moving the slider did not change the widget's image"
    assert readout.strip() == "3", f"slider readout {readout!r} after three ArrowRight presses"
