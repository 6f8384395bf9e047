"""Student notebooks from solution notebooks: `python -m course_lib.release` (or `make notebooks`).

solutions/*.ipynb are the single source. An exercise is a code cell whose solution sits between
nbgrader's `### BEGIN SOLUTION` / `### END SOLUTION` markers; its id is the one named by the next
`check("...")` cell. The student version replaces each marked block by `raise NotImplementedError`,
strips outputs, and starts with the Colab badge and the setup cell (both generated here, also
written back into the solution). Cells carry nbgrader metadata, so nbgrader can grade them too.
`--check` only reports stale files (the test suite uses it).
"""
import argparse
import ast
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.-]+)["']""")


def repository_url() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")


def colab_url(notebook: str) -> str:
    """The Colab link of a student notebook, from the one setting in pyproject.toml."""
    path = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook}"


def badge_source(notebook: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def setup_source() -> str:
    repo = repository_url()
    return f'''# Setup: run this cell first. Locally (`make lab`) everything is installed already;
# in Google Colab it fetches the course (code, data, checkpoints) and installs course_lib.
import os, subprocess, sys
if "google.colab" in sys.modules and not os.path.isdir("/content/course"):
    subprocess.run(["git", "clone", "--depth", "1", "{repo}", "/content/course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/course"], check=True)
if "google.colab" in sys.modules:
    sys.path.insert(0, "/content/course")
%matplotlib inline
import course_lib
device = course_lib.setup(seed=0)'''


def strip_solution(source: str, exercise_id: str) -> str:
    """Replace every BEGIN/END SOLUTION block by a NotImplementedError at the same indentation."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("Exercise {exercise_id}: write your code here")')
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN} in exercise {exercise_id}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END} in exercise {exercise_id}")
    return "\n".join(out)


def exercise_cells(nb) -> list[tuple[int, str]]:
    """(cell index, exercise id) for every solution cell; the id comes from the next check() cell."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            for later in nb.cells[i + 1:]:
                match = CHECK_CALL.search(later.source) if later.cell_type == "code" else None
                if match:
                    found.append((i, match.group(1)))
                    break
            else:
                raise ValueError(f"solution cell {i} has no check(\"...\") cell after it")
    return found


def import_lines(nb) -> str:
    """Every top-level import statement of a notebook (to run an exercise cell on its own)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys(lines))


def normalize(nb, name: str) -> None:
    """Badge cell, setup cell, no outputs, nbgrader metadata: the same for solution and student."""
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("widgets", None)
    head = [nbformat.v4.new_markdown_cell(badge_source(name), metadata={"tags": ["colab-badge"]}),
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


def student_version(nb):
    student = nbformat.from_dict(nb)
    for i, exercise_id in exercise_cells(student):
        student.cells[i].source = strip_solution(student.cells[i].source, exercise_id)
    return student


def dumps(nb) -> str:
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"  # stable ids: regenerating gives the same file
    return nbformat.writes(nb) + "\n"


def title(nb) -> str:
    """A lesson's title: the first Markdown heading after the badge."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            return cell.source.lstrip().splitlines()[0].lstrip("# ").strip()
    return "(untitled)"


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
        wanted[ROOT / "notebooks" / path.name] = dumps(student_version(nb))
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
        print("Run `make notebooks` (python -m course_lib.release) and commit notebooks/.", file=sys.stderr)
        return 1
    print(f"{len(stale)} file(s) {'stale' if args.check else 'updated'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
