"""The book's pages: an executed lesson notebook made into a page, the landing page, and the source tree Sphinx reads.

A lesson page is the executed solution notebook with
- the Colab badge cell dropped (the page has a Colab button, and the badge is an image from outside the site),
- the setup cell collapsed (MyST-NB's `hide-cell` tag: one click shows it and its "mode: ... device: ..." line),
- the cells `benchmark lessons` adds around a recorded run (its figure audit and probe) dropped,
- every ipywidgets output replaced by what it shows without JavaScript: the outputs its Output widgets captured
  (an explorer's figure at its initial value); widgets that show no output (progress bars) are dropped,
- one line under the title: which mode produced the outputs, on which device and when, and the downloads.
"""
import copy
import datetime
import re
from pathlib import Path

import nbformat

from . import release
from .notebook import title
from ..benchmarks.lessons import FIGURE_AUDIT, PROBE

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STUDENT_DIR = "_student"  # the student notebooks in the Sphinx source tree (excluded from the pages)
DOCS = ("instructors.md", "authoring.md")  # their order in the sidebar; other docs/*.md follow, sorted


# ---------------------------------------------------------------- which run produced the outputs
def run_line(run: dict) -> str:
    """'full mode (COURSE_FAST=0) on cpu, 2026-12-04 19:22 UTC, ...': the mode, device and date of `run`."""
    mode = run.get("mode")
    if mode not in ("full", "fast"):
        return "**no outputs**: this page was built without running the lesson (`book --no-execute`)"
    when = run.get("finished", "")
    try:
        when = datetime.datetime.fromisoformat(when).astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        when = when or "an unknown date"
    where = f"on {run.get('device') or 'an unknown device'}, {when}"
    if mode == "full":
        return (f"**full mode** (`COURSE_FAST=0`) {where}, recorded by "
                "`python -m course_lib.benchmark --record lessons`")
    return (f"**fast mode** (`COURSE_FAST=1`: less data, fewer steps; the text discusses the full-mode numbers) "
            f"{where}, executed by `make book`")


def setup_device(nb) -> str:
    """The device the setup cell printed ("device: cpu"), or ""."""
    for cell in nb.cells:
        if "setup" in cell.get("metadata", {}).get("tags", []):
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            found = re.search(r"device: (\S+)", text)
            return found.group(1) if found else ""
    return ""


# ---------------------------------------------------------------- widgets without JavaScript
def _referenced(value) -> list:
    """Model ids a widget state value points at ('IPY_MODEL_<id>', also inside lists and dicts)."""
    if isinstance(value, str):
        return [value[len("IPY_MODEL_"):]] if value.startswith("IPY_MODEL_") else []
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _referenced(v)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in _referenced(v)]
    return []


def widget_outputs(model_id: str, states: dict) -> list:
    """The outputs the Output widgets under `model_id` captured, in the order the widget tree holds them."""
    found, todo, seen = [], [model_id], set()
    while todo:
        current = todo.pop(0)
        if current in seen or current not in states:
            continue
        seen.add(current)
        model = states[current]
        if model.get("model_name") == "OutputModel":
            found += model.get("state", {}).get("outputs", [])
        children = model.get("state", {}).get("children", [])
        todo += _referenced(children)
    return [nbformat.from_dict(o) for o in found]


def static_widgets(nb) -> None:
    """Replace every widget output by the outputs its Output widgets captured; drop the widget state."""
    states = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            outputs += widget_outputs(view.get("model_id", ""), states) if view else [out]
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)


# ---------------------------------------------------------------- a lesson page
def _is_added_by_benchmark(cell) -> bool:
    return cell.cell_type == "code" and cell.source.strip() in (FIGURE_AUDIT.strip(), PROBE.strip())


def lesson_page(executed, name: str, run: dict, colab: str, student: str):
    """The page notebook of lesson `name` from its executed notebook and the run that produced it."""
    nb = copy.deepcopy(executed)
    nb.cells = [c for c in nb.cells
                if not _is_added_by_benchmark(c) and "colab-badge" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "setup" in tags and "hide-cell" not in tags:
            cell.metadata["tags"] = [*tags, "hide-cell"]
        cell.metadata.pop("execution", None)
    static_widgets(nb)
    line = (f"Outputs: {run_line(run)} · {{download}}`student notebook <{student}>` · "
            f"[open in Colab]({colab})")
    setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
    nb.cells = [c for c in nb.cells if not any(c is s for s in setup)]
    for i, cell in enumerate(nb.cells):  # the title, the line, the setup cell (collapsed), the rest
        match = re.search(r"(?m)^#\s.*$", cell.source) if cell.cell_type == "markdown" else None
        if match:
            head, rest = cell.source[:match.end()], cell.source[match.end():].strip()
            cell.source = f"{head}\n\n{line}"
            nb.cells[i + 1:i + 1] = setup + ([nbformat.v4.new_markdown_cell(rest)] if rest else [])
            break
    else:
        nb.cells[:0] = [nbformat.v4.new_markdown_cell(f"# {name}\n\n{line}"), *setup]
    nb.metadata.pop("course_run", None)
    return nb


def student_notebook(solution: Path) -> str:
    """The student version of a solution notebook, exactly as `make notebooks` writes it into notebooks/."""
    nb = nbformat.read(solution, as_version=4)
    release.normalize(nb, solution.name)
    return release.dumps(release.student_version(nb, solution.name))


# ---------------------------------------------------------------- the landing page
def readme_sections(readme: str) -> tuple[str, str, dict]:
    """(title, overview, {section heading: body}) of README.md's Markdown."""
    head, *sections = re.split(r"(?m)^## ", readme)
    lines = head.strip().splitlines()
    heading = lines[0].lstrip("#").strip() if lines and lines[0].startswith("# ") else "The course"
    overview = "\n".join(lines[1:]).strip()
    bodies = {}
    for section in sections:
        name, _, body = section.partition("\n")
        bodies[name.strip()] = body.strip()
    return heading, overview, bodies


def landing_page(readme: str, lessons: list, docs: list) -> str:
    """index.md: the README's overview and two commands, the lesson table, the sidebar's table of contents.

    lessons: (page name, title, run, colab url, student notebook path) per lesson; docs: page names under docs/."""
    heading, overview, sections = readme_sections(readme)
    rows = ["| # | lesson | outputs on the page | student notebook | Colab |", "|---|---|---|---|---|"]
    for page, lesson_title, run, colab, student in lessons:
        mode = {"full": "full mode", "fast": "fast mode"}.get(run.get("mode"), "none")
        rows.append(f"| {page[:2]} | [{lesson_title}]({page}.ipynb) | {mode} | "
                    f"{{download}}`{page}.ipynb <{student}>` | [open in Colab]({colab}) |")
    two = sections.get("Two commands", "").replace("click a badge below", "follow a lesson's Colab link below")
    parts = [f"# {heading}", overview]
    if two:
        parts += ["## Two commands", two]
    parts += ["## Lessons",
              "Each lesson page shows its outputs and says in one line which run produced them: the full-mode run "
              "recorded by `python -m course_lib.benchmark --record lessons` when it is current for the lesson's "
              "code, otherwise a fast-mode run (`COURSE_FAST=1`) made by `make book`.",
              "\n".join(rows),
              "```{toctree}\n:hidden:\n:caption: Lessons\n\n" + "\n".join(p for p, *_ in lessons) + "\n```",
              "```{toctree}\n:hidden:\n:caption: For instructors and authors\n\n"
              + "\n".join(f"docs/{d}" for d in docs) + "\n```"]
    return "\n\n".join(parts) + "\n"


def doc_pages(docs_dir: Path) -> list[Path]:
    """docs/*.md in the sidebar's order: DOCS first, then the others, sorted."""
    found = {p.name: p for p in docs_dir.glob("*.md")}
    return [found[n] for n in DOCS if n in found] + [found[n] for n in sorted(found) if n not in DOCS]


# ---------------------------------------------------------------- the source tree
def write_tree(root: Path, files: dict) -> int:
    """Make `root` hold exactly `files` ({relative path: text}); unchanged files keep their time stamps, so
    Sphinx re-reads only the pages that changed. Returns the number of files written or removed."""
    changed = 0
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed += 1
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in files:
            path.unlink()
            changed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return changed


def source_tree(lessons: list, readme: str, docs_dir: Path) -> dict:
    """{relative path: text} of the Sphinx source: index.md, one notebook per lesson, docs/, the student notebooks.

    lessons: (solution path, executed notebook, run) per lesson, in order."""
    files, rows = {}, []
    for solution, executed, run in lessons:
        page = solution.stem
        student = f"{STUDENT_DIR}/{solution.name}"
        colab = release.colab_url(solution.name)
        files[student] = student_notebook(solution)
        files[f"{page}.ipynb"] = nbformat.writes(lesson_page(executed, page, run, colab, student)) + "\n"
        rows.append((page, title(executed, page), run, colab, student))
    docs = doc_pages(docs_dir)
    for doc in docs:
        files[f"docs/{doc.name}"] = doc.read_text(encoding="utf-8")
    files["index.md"] = landing_page(readme, rows, [d.stem for d in docs])
    return files
