"""Load one exercise, as written in a notebook, so tests can run it outside the notebook.

The solution comes from solutions/, the stub from notebooks/; wrong implementations live in the
test files themselves. The object tested is whatever the notebook passes to check("id", ...).
"""
import ast
from pathlib import Path

import nbformat

from course_lib.release import CHECK_CALL, import_lines

ROOT = Path(__file__).resolve().parent.parent


def load(notebook: str, exercise_id: str, folder: str = "solutions"):
    nb = nbformat.read(ROOT / folder / notebook, as_version=4)
    cells = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells)
             if c.metadata.get("nbgrader", {}).get("solution")}  # set by course_lib.release in both versions
    if exercise_id not in cells:
        raise KeyError(f"{folder}/{notebook} has no exercise {exercise_id!r} (found {sorted(cells)})")
    namespace: dict = {}
    exec(import_lines(nb), namespace)
    exec(nb.cells[cells[exercise_id]].source, namespace)
    for cell in nb.cells[cells[exercise_id] + 1:]:
        match = CHECK_CALL.search(cell.source)
        if match and match.group(1) == exercise_id:
            call = next(node for node in ast.walk(ast.parse(cell.source))
                        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check")
            return eval(ast.unparse(call.args[1]), namespace)
    raise KeyError(exercise_id)


def solution(notebook: str, exercise_id: str):
    return load(notebook, exercise_id, "solutions")


def stub(notebook: str, exercise_id: str):
    return load(notebook, exercise_id, "notebooks")
