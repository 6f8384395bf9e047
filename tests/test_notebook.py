"""course_lib.authoring.notebook: the one rule that says which cell is which exercise, as release, the grader and the
tests use it (with and without nbgrader metadata, reordered, duplicated, stubbed)."""
from pathlib import Path

import nbformat
import pytest

from course_lib.authoring import notebook, release

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _bare(nb):
    bare = nbformat.from_dict(nb)
    for cell in bare.cells:
        cell.metadata = {}
    return bare


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name[:2])
def test_the_rule_finds_the_same_cells_with_and_without_metadata(path):
    nb = nbformat.read(path, as_version=4)
    student = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
    cells = notebook.exercise_cells(nb)
    assert cells and all(notebook.grade_id(nb.cells[i]) == ex for i, ex in cells)
    for version in (_bare(nb), student, _bare(student)):
        assert notebook.exercise_cells(version) == cells
    # release normalises a solution whose metadata was lost into exactly the committed file
    bare = nbformat.from_dict(nb)
    for cell in bare.cells:
        cell.metadata.pop("nbgrader", None)
    release.normalize(bare, path.name)
    assert release.dumps(bare) == path.read_text()


def _toy(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


SOLVED = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"


def test_a_duplicated_exercise_is_the_cell_the_notebook_runs_last():
    nb = _toy("import torch", SOLVED, "f = check('l01_f', f)", SOLVED.replace("return x", "return 2 * x"),
              "f = check('l01_f', f)")
    where = notebook.locate(nb, "l01_f")
    assert (where.cell, where.duplicates, where.expression) == (3, [1], "f")
    for cell in nb.cells:  # the same with grade_id metadata on both copies
        cell.metadata["nbgrader"] = {"grade_id": "l01_f"}
    assert (notebook.locate(nb, "l01_f").cell, notebook.locate(nb, "l01_f").duplicates) == (4, [0, 1, 2, 3])


def test_evidence_order_metadata_then_stub_then_markers_then_definition():
    nb = _toy("def f(x):\n    " + notebook.stub_line("l01_f"), "f = check('l01_f', f)")
    assert notebook.locate(nb, "l01_f").cell == 0
    nb = _toy("def f(x):\n    return x", "x = 1", "g = check('l01_f', f)")  # markers removed by the student
    assert notebook.locate(nb, "l01_f").cell == 0
    nb = _toy("def f(x):\n    return x", "x = 1")  # check cell deleted: the reference's name
    assert notebook.locate(nb, "l01_f", reference_name="f").cell == 0
    where = notebook.locate(_toy("x = 1", "check('l01_f', g)"), "l01_f")
    assert where.cell is None and "no cell defines g" in where.problem
    nb = _toy("def g(x):\n    return x", "check('l01_f', f)")
    where = notebook.locate(nb, "l01_f")
    assert where.cell is None
    nb = _toy(SOLVED.replace("def f", "def g"), "check('l01_f', f)")  # renamed: found by markers, reported
    where = notebook.locate(nb, "l01_f")
    assert where.cell == 0 and "no cell defines f" in notebook.graded_expression(nb, where)[1]


def test_a_solution_cell_without_check_is_an_authoring_error():
    with pytest.raises(ValueError, match="no check"):
        notebook.exercise_cells(_toy(SOLVED))


def test_magics_titles_and_import_lines():
    assert notebook.python_source("%matplotlib inline\n!pip list\nx = 1") == "\n\nx = 1"
    assert notebook.python_source("%%time\nx = 1") == "\nx = 1"
    nb = _toy("%matplotlib inline\nimport torch\nx = 1", "from torch import nn\nimport torch", "def (")
    assert notebook.import_lines(nb) == "import torch\nfrom torch import nn"
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("text\n## Lesson one\nmore"))
    assert notebook.title(nb) == "Lesson one" and notebook.title(_toy("x"), "fb") == "fb"
    assert notebook.identify_lesson(_toy("check('l02_a', a)", "check('l01_b', b)", "check('l01_c', c)"),
                                    {"l01_b", "l01_c", "l02_a"}) == "01"
