"""Student notebooks from solution notebooks: `python -m course_lib.authoring.release` (or `make notebooks`).

solutions/*.ipynb are the single source. Which cell is which exercise is course_lib.authoring.notebook's
rule (the solution between `### BEGIN SOLUTION` / `### END SOLUTION`, its id named by the next
`check("...")` cell). The student version replaces each marked block by `raise NotImplementedError`,
strips outputs, and starts with the Colab badge and the setup cell (both generated here, also
written back into the solution). Cells carry nbgrader metadata, so nbgrader can grade them too.
`--check` only reports stale files (the test suite uses it).
"""
import argparse
import sys
import tomllib
from pathlib import Path

import nbformat

from .notebook import CHECK_CALL, exercise_cells, strip_solution, title

ROOT = Path(__file__).resolve().parents[2]


def repository_url() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")


def colab_url(notebook: str, folder: str = "notebooks") -> str:
    """The Colab link of a notebook in `folder` (notebooks/ or solutions/), from the one setting in pyproject.toml."""
    path = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/main/{folder}/{notebook}"


def badge_source(notebook: str, folder: str = "notebooks") -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook, folder)})"


def setup_source() -> str:
    repo = repository_url()
    return f'''# Setup: run this cell first. Locally (`make lab`) everything is installed already;
# in Google Colab it fetches the course (code, data, checkpoints) and installs course_lib.
import os, subprocess, sys
if "google.colab" in sys.modules:
    from google.colab import output
    output.enable_custom_widget_manager()  # the lessons' ipywidgets render in Colab
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "--depth", "1", "{repo}", "/content/course"], check=True)
        # keeps Colab's own torch, ipywidgets and tqdm: course_lib's requirements are ranges they satisfy
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")
%matplotlib inline
import course_lib
device = course_lib.setup(seed=0)'''


def normalize(nb, name: str, folder: str = "solutions") -> None:
    """Badge cell (opening this notebook in `folder`), setup cell, no outputs, nbgrader metadata."""
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("widgets", None)
    head = [nbformat.v4.new_markdown_cell(badge_source(name, folder), metadata={"tags": ["colab-badge"]}),
            nbformat.v4.new_code_cell(setup_source(), metadata={"tags": ["setup"]})]
    body = [c for c in nb.cells if not {"colab-badge", "setup"} & set(c.metadata.get("tags", []))]
    nb.cells = head + body
    exercises = dict(exercise_cells(nb))
    for i, cell in enumerate(nb.cells):
        cell.pop("id", None)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if i in exercises:
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": exercises[i], "locked": False,
                                         "schema_version": 3, "solution": True}
        elif (match := CHECK_CALL.search(cell.source)):
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": f"check_{match.group(1)}", "locked": True,
                                         "schema_version": 3, "solution": False}


def student_version(nb, name: str):
    student = nbformat.from_dict(nb)
    student.cells[0].source = badge_source(name, "notebooks")  # the badge opens the student notebook
    for i, exercise_id in exercise_cells(student):
        student.cells[i].source = strip_solution(student.cells[i].source, exercise_id)
    return student


def dumps(nb) -> str:
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"  # stable ids: regenerating gives the same file
    return nbformat.writes(nb) + "\n"


def readme_table(lessons: list) -> str:
    rows = ["| # | lesson | student notebook | solution | Colab |", "|---|---|---|---|---|"]
    for name, nb in lessons:
        rows.append(f"| {name[:2]} | {title(nb)} | [notebooks/{name}](notebooks/{name}) | "
                    f"[solutions/{name}](solutions/{name}) | {badge_source(name)} |")
    return "\n".join(rows)


def with_table(readme: str, table: str) -> str:
    """README.md with the lesson table between its two marker comments replaced."""
    start, end = "<!-- lessons:start -->", "<!-- lessons:end -->"
    if start not in readme or end not in readme:
        return readme
    head, rest = readme.split(start, 1)
    return f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"


def build(check_only: bool = False) -> list[Path]:
    """Regenerate notebooks/, the README's lesson table (and normalise solutions/); return what changed."""
    stale = []
    sources = sorted((ROOT / "solutions").glob("*.ipynb"))
    wanted, lessons = {}, []
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        normalize(nb, path.name)
        lessons.append((path.name, nb))
        wanted[path] = dumps(nb)
        wanted[ROOT / "notebooks" / path.name] = dumps(student_version(nb, path.name))
    readme = ROOT / "README.md"
    if readme.exists():
        wanted[readme] = with_table(readme.read_text(), readme_table(lessons))
    for path, text in wanted.items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check_only:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text)
    extra = set((ROOT / "notebooks").glob("*.ipynb")) - set(wanted)
    for path in sorted(extra):  # a student notebook whose solution was removed
        stale.append(path)
        if not check_only:
            path.unlink()
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks; exit 1 if any")
    args = parser.parse_args(argv)
    stale = build(check_only=args.check)
    for path in stale:
        print(("stale: " if args.check else "wrote: ") + str(path.relative_to(ROOT)))
    if args.check and stale:
        print("Run `make notebooks` (python -m course_lib.authoring.release) and commit notebooks/.", file=sys.stderr)
        return 1
    print(f"{len(stale)} file(s) {'stale' if args.check else 'updated'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
