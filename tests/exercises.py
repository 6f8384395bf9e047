"""Load one exercise, as written in a notebook, so tests can run it outside the notebook.

The solution comes from solutions/, the stub from notebooks/; wrong implementations live in the
test files themselves. The cell is found by course_lib.authoring.notebook's one rule (as release and the
grader find it), and the object tested is whatever the notebook passes to check("id", ...).
"""
from pathlib import Path

import nbformat

from course_lib.authoring import notebook

ROOT = Path(__file__).resolve().parent.parent


def load(name: str, exercise_id: str, folder: str = "solutions"):
    nb = nbformat.read(ROOT / folder / name, as_version=4)
    where = notebook.locate(nb, exercise_id)
    if where.cell is None or not where.expression:
        raise KeyError(f"{folder}/{name} has no exercise {exercise_id!r} (found {notebook.exercise_ids(nb)})")
    namespace: dict = {}
    exec(notebook.import_lines(nb), namespace)
    exec(notebook.python_source(nb.cells[where.cell].source), namespace)
    return eval(where.expression, namespace)


def solution(name: str, exercise_id: str):
    return load(name, exercise_id, "solutions")


def stub(name: str, exercise_id: str):
    return load(name, exercise_id, "notebooks")
