"""The book (`make book`): which run's outputs a page shows, what a lesson page holds, and a real page built by Sphinx.

tests/test_browser.py reads a whole built site in Chromium with the network blocked.
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest

from course_lib import benchmark
from course_lib.authoring import book, pages, release
from course_lib.benchmarks.lessons import FIGURE_AUDIT, PROBE

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "solutions" / "01_tensors_and_convolution.ipynb"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def recorded_run(solution: Path, fingerprint: str):
    """What `benchmark --record lessons` keeps: the figure audit, the lesson with outputs, the probe, a stamp."""
    nb = nbformat.read(solution, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="full-mode output\n")]
    nb.cells = ([nbformat.v4.new_code_cell(FIGURE_AUDIT)] + nb.cells + [nbformat.v4.new_code_cell(PROBE)])
    nb.metadata["course_run"] = {"mode": "full", "fingerprint": fingerprint, "device": "cpu",
                                 "finished": "2026-12-04T19:22:05+00:00"}
    return nb


def test_every_solution_notebook_is_a_page_in_order():
    solutions = sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
    assert book.lessons() == solutions  # a new lesson joins the book by itself
    runs = [(s, nbformat.read(s, as_version=4), {"mode": "none"}) for s in solutions]
    files = pages.source_tree(runs, (REPO / "README.md").read_text(), REPO / "docs")
    toctree = re.search(r":caption: Lessons\n\n(.*?)\n```", files["index.md"], re.S).group(1).split()
    assert toctree == [s.stem for s in solutions]
    assert {"docs/instructors.md", "docs/authoring.md"} <= set(files)
    for s in solutions:
        assert files[f"{pages.STUDENT_DIR}/{s.name}"] == pages.student_notebook(s)


def test_a_recorded_full_mode_run_is_used_only_while_current(tmp_path):
    solution = REPO / "solutions" / "03_gan_fundamentals.ipynb"
    recorded, work = tmp_path / "lessons", tmp_path / "work"
    recorded.mkdir()
    nbformat.write(recorded_run(solution, benchmark.lesson_fingerprint(solution)), recorded / solution.name)
    chosen, jobs = book.choose_runs([solution], recorded, work, execute=True)
    assert chosen == [(solution, recorded / solution.name, "full")] and not jobs
    nbformat.write(recorded_run(solution, "0" * 16), recorded / solution.name)  # run from other sources
    chosen, jobs = book.choose_runs([solution], recorded, work, execute=True)
    assert chosen == [(solution, work / "fast" / solution.name, "fast")] and jobs[0][0] == solution
    assert book.choose_runs([solution], recorded, work, execute={"04"})[0][0][2] == "none"


def test_the_fingerprint_follows_the_cells_and_course_lib(tmp_path):
    nb = nbformat.read(LESSON, as_version=4)
    copy = tmp_path / LESSON.name
    nbformat.write(nb, copy)
    assert benchmark.lesson_fingerprint(copy) == benchmark.lesson_fingerprint(LESSON)  # ids, formatting: no
    nb.cells[-1].source += "\n# changed"
    nbformat.write(nb, copy)
    assert benchmark.lesson_fingerprint(copy) != benchmark.lesson_fingerprint(LESSON)


def test_a_lesson_page_from_a_recorded_run():
    solution = REPO / "solutions" / "04_dcgan_mnist.ipynb"
    executed = recorded_run(solution, "f")
    explorer = next(c for c in executed.cells if "latent_explorer(" in c.source)
    explorer.outputs = [
        nbformat.v4.new_output("display_data", data={pages.WIDGET_VIEW: {"model_id": "box"}, "text/plain": "(...)"}),
        nbformat.v4.new_output("display_data", data={pages.WIDGET_VIEW: {"model_id": "bar"}, "text/plain": "HBox"})]
    executed.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_out"]}},
        "slider": {"model_name": "IntSliderModel", "state": {"value": 0}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure>"}, "metadata": {}}]}},
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_html"]}},
        "html": {"model_name": "HTMLModel", "state": {"value": "100%"}}}}}
    colab = release.colab_url(solution.name)
    page = pages.lesson_page(executed, solution.stem, executed.metadata["course_run"], colab, "_student/x.ipynb")
    sources = [c.source for c in page.cells]
    assert FIGURE_AUDIT not in sources and PROBE not in sources
    assert not any("colab-badge" in c.metadata.get("tags", []) for c in page.cells)
    title, setup = page.cells[0], page.cells[1]  # the title and its run line, then the setup cell, collapsed
    assert title.source.startswith("# DCGAN on MNIST\n\nOutputs: **full mode** (`COURSE_FAST=0`) on cpu, "
                                   "2026-12-04 19:22 UTC")
    assert colab in title.source and "{download}`student notebook <_student/x.ipynb>`" in title.source
    assert "hide-cell" in setup.metadata.tags and "course_lib.setup" in setup.source
    assert page.cells[2].source.startswith("Radford")  # the rest of the introduction
    shown = next(c for c in page.cells if c.source == explorer.source).outputs
    assert [o.data["image/png"] for o in shown] == [PNG]  # the explorer's figure; no widget, no progress bar
    assert "widgets" not in page.metadata and "course_run" not in page.metadata


def test_authoring_is_imported_only_by_the_tools_that_build_the_course():
    """Imports go one way: nothing outside course_lib/authoring/ imports it, except the notebook model."""
    offenders = []
    for path in (REPO / "course_lib").rglob("*.py"):
        rel = path.relative_to(REPO / "course_lib")
        if rel.parts[0] == "authoring":
            continue
        package = ["course_lib", *rel.parts[:-1]]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
                module = ".".join(p for p in (base, node.module or "") if p)
                names = [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            offenders += [f"{rel}: {n}" for n in names
                          if n.startswith("course_lib.authoring") and n != "course_lib.authoring.notebook"
                          and not n.startswith("course_lib.authoring.notebook.")]
    assert not offenders, offenders


@pytest.fixture(scope="module")
def lesson01_site(tmp_path_factory):
    """Lesson 01 alone, executed in fast mode (no recorded run), then built a second time."""
    tmp = tmp_path_factory.mktemp("book")
    (tmp / "lessons").mkdir()
    index = book.build([LESSON], tmp / "book", recorded=tmp / "lessons", work=tmp / "work")
    return index, tmp


def test_the_page_of_a_lesson_run_in_fast_mode(lesson01_site):
    index, tmp = lesson01_site
    site = index.parent
    page = (site / f"{LESSON.stem}.html").read_text(encoding="utf-8")
    assert f'href="{LESSON.stem}.html"' in index.read_text(encoding="utf-8")
    figures = re.findall(r'<img[^>]+src="(_images/[^"]+\.png)"', page)
    assert figures and all((site / f).exists() for f in figures), "no executed figure on the page"
    assert "checks passed" in page, "no self-check output on the page"
    assert re.search(r"Outputs: <strong>fast mode</strong>.*? on cpu, \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    setup = page.index("mode: FAST")  # the setup cell's output, inside its collapsed cell
    assert page.rfind("<details", 0, setup) > page.rfind("</details>", 0, setup), "the setup cell is not collapsed"
    assert page.index("<details") > page.index("Outputs: <strong>"), "the setup cell comes before the title"
    assert release.colab_url(LESSON.name) in page  # the badges' setting: the student notebook in Colab
    assert "colab-badge.svg" not in page
    download = re.search(r'href="(_downloads/[0-9a-f]+/' + LESSON.name + ')"', page)
    student = (site / download.group(1)).read_text()
    assert student == pages.student_notebook(LESSON) and "### BEGIN SOLUTION" not in student
    assert f'<a href="{download.group(1)}" target="_blank"\n   class="btn btn-sm btn-download-student-notebook"' in page
    assert "theme-switch-button" in page and "prev-next-area" in page  # light/dark, previous/next


def test_the_site_loads_nothing_from_outside(lesson01_site):
    index, _ = lesson01_site
    site = index.parent
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()
    external = re.compile(r"""<(?:script|img|iframe)\b[^>]*\bsrc=["'](?:https?:)?//|<link\b[^>]*\bhref=["']"""
                          r"""(?:https?:)?//[^>]*rel=["']?(?:stylesheet|preload|icon)|@import\s+url\(["']?(?:https?:)?//""")
    loaded = [f"{p.relative_to(site)}: {m.group(0)[:80]}" for p in site.rglob("*")
              if p.suffix in (".html", ".css") for m in external.finditer(p.read_text(errors="replace"))]
    assert not loaded, loaded
    page = (site / f"{LESSON.stem}.html").read_text(encoding="utf-8")
    assert '<script defer="defer" src="_static/mathjax/tex-chtml.js"' in page
    assert "require.js" not in page and "widget-view" not in page


def test_a_second_build_reuses_the_fast_mode_run(lesson01_site, capsys):
    _, tmp = lesson01_site
    capsys.readouterr()
    book.build([LESSON], tmp / "book", recorded=tmp / "lessons", work=tmp / "work")
    assert f"{LESSON.name}: its fast-mode run (current)" in capsys.readouterr().out
