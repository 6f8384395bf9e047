"""Synthetic student submissions for tests/test_grade.py, built from the real solutions/ and notebooks/.

`build(folder)` writes one submission per situation the grader must handle (solved, blank, partly
solved, each kind of breakage) and returns EXPECTED: the exact rows of grades.csv they must give.
Lesson 01 (l01_conv2d, l01_maxpool2d) is the main lesson because its tests are fast; one lesson 06
notebook under a misleading name shows that the lesson comes from the exercise ids.
"""
import json
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSON01 = "01_tensors_and_convolution.ipynb"
LESSON06 = "06_sr_problem_and_metrics.ipynb"

# The private tests used with the corpus (--extra-tests): one per conv2d, worth 1 point.
PRIVATE_TESTS = '''
import torch
import torch.nn.functional as F

from course_lib.grade import extra_test
from course_lib.selfcheck import expect


@extra_test("l01_conv2d", "1x1 kernels with a bias")
def _(conv2d):
    x, w, b = torch.randn(2, 3, 4, 5), torch.randn(6, 3, 1, 1), torch.randn(6)
    expect(torch.allclose(conv2d(x, w, b), F.conv2d(x, w, b), atol=1e-4), "SECRET-MESSAGE-1x1")  # SECRET-SOURCE
'''
SECRETS = ("SECRET-MESSAGE-1x1", "SECRET-SOURCE", "F.conv2d(x, w, b)")

# student, lesson, exercise, points, max_points, status, file  (conv2d: 1 public point + 1 private point)
EXPECTED = [
    ("blank", "01", "l01_conv2d", "0", "2", "not attempted", "blank.ipynb"),
    ("blank", "01", "l01_maxpool2d", "0", "1", "not attempted", "blank.ipynb"),
    ("broken_cells", "01", "l01_conv2d", "0", "2", "syntax error", "broken_cells.ipynb"),
    ("broken_cells", "01", "l01_maxpool2d", "0", "1", "missing", "broken_cells.ipynb"),
    ("colab", "01", "l01_conv2d", "2", "2", "passed", "colab.ipynb"),
    ("colab", "01", "l01_maxpool2d", "0", "1", "not attempted", "colab.ipynb"),
    ("crash", "01", "l01_conv2d", "2", "2", "passed", "crash.ipynb"),
    ("crash", "01", "l01_maxpool2d", "0", "1", "crashed", "crash.ipynb"),
    ("exception_and_memory", "01", "l01_conv2d", "0", "2", "error", "exception_and_memory.ipynb"),
    ("exception_and_memory", "01", "l01_maxpool2d", "0", "1", "memory limit", "exception_and_memory.ipynb"),
    ("frank", "", "", "0", "0", "empty folder", "frank/"),
    ("grace", "06", "l06_psnr", "1", "1", "passed", "grace/lesson01_final.ipynb"),
    ("grace", "06", "l06_rgb_to_y", "1", "1", "passed", "grace/lesson01_final.ipynb"),
    ("heidi", "01", "l01_conv2d", "2", "2", "passed", "heidi/lesson01/01_tensors_and_convolution.ipynb"),
    ("heidi", "01", "l01_maxpool2d", "1", "1", "passed", "heidi/lesson01/01_tensors_and_convolution.ipynb"),
    ("heidi", "", "", "0", "0", "not a notebook", "heidi/report.pdf"),
    ("noisy", "01", "l01_conv2d", "2", "2", "passed", "noisy.ipynb"),
    ("noisy", "01", "l01_maxpool2d", "1", "1", "passed", "noisy.ipynb"),
    ("notes", "", "", "0", "0", "not a notebook", "notes.txt"),
    ("partial", "01", "l01_conv2d", "2", "2", "passed", "partial.ipynb"),
    ("partial", "01", "l01_maxpool2d", "0", "1", "not attempted", "partial.ipynb"),
    ("renamed_and_loop", "01", "l01_conv2d", "0", "2", "missing", "renamed_and_loop.ipynb"),
    ("renamed_and_loop", "01", "l01_maxpool2d", "0", "1", "timeout", "renamed_and_loop.ipynb"),
    ("reordered", "01", "l01_conv2d", "2", "2", "passed", "reordered.ipynb"),
    ("reordered", "01", "l01_maxpool2d", "1", "1", "passed", "reordered.ipynb"),
    ("solved", "01", "l01_conv2d", "2", "2", "passed", "solved.ipynb"),
    ("solved", "01", "l01_maxpool2d", "1", "1", "passed", "solved.ipynb"),
    ("truncated", "", "", "0", "0", "not a notebook", "truncated.ipynb"),
    ("unrelated", "", "", "0", "0", "no exercises found", "unrelated.ipynb"),
    # no bias: 6 of conv2d's 7 public tests pass (6/7 of its 1 point), the private test fails
    ("wrong_bias", "01", "l01_conv2d", "0.86", "2", "failed", "wrong_bias.ipynb"),
    ("wrong_bias", "01", "l01_maxpool2d", "1", "1", "passed", "wrong_bias.ipynb"),
]


def _read(folder: str, name: str = LESSON01):
    return nbformat.read(ROOT / folder / name, as_version=4)


def _cell(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _edit(nb, grade_id: str, old: str, new: str):
    cell = nb.cells[_cell(nb, grade_id)]
    assert old in cell.source, (grade_id, old)
    cell.source = cell.source.replace(old, new, 1)
    return nb


def _colab(nb):
    """What a Colab download looks like: no nbgrader metadata or cell ids, Colab metadata, outputs kept."""
    nb.metadata = {"colab": {"provenance": [], "name": "Copy of 01.ipynb"}, "accelerator": "GPU",
                   "kernelspec": {"name": "python3", "display_name": "Python 3"},
                   "language_info": {"name": "python"}}
    nb.nbformat_minor = 0
    for i, cell in enumerate(nb.cells):
        cell.pop("id", None)
        cell.metadata = {"id": f"colab{i:04d}"} | ({"colab": {"base_uri": "https://localhost:8080/"}}
                                                   if cell.cell_type == "code" else {})
        if cell.cell_type == "code":
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of cell {i}\n")]
    return nb


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))  # as saved, without nbformat's validation or id filling


def build(folder: Path) -> list:
    """Write the corpus into `folder` (and the private tests into folder/../private); return EXPECTED."""
    folder.mkdir(parents=True, exist_ok=True)
    solved, blank = _read("solutions"), _read("notebooks")
    new = lambda: nbformat.from_dict(solved)  # noqa: E731
    conv, pool = _cell(solved, "l01_conv2d"), _cell(solved, "l01_maxpool2d")

    _write(solved, folder / "solved.ipynb")
    _write(blank, folder / "blank.ipynb")
    partial = nbformat.from_dict(blank)
    partial.cells[conv] = solved.cells[conv]
    _write(partial, folder / "partial.ipynb")
    _write(_edit(new(), "l01_conv2d", "    if bias is not None:\n        out += bias.view(1, o, 1, 1)\n", ""),
           folder / "wrong_bias.ipynb")
    # Two breakages per notebook, one in each exercise: each must cost only its own exercise.
    nb = _edit(new(), "l01_conv2d", "n, c, h, w = x.shape", "n, c, h, w = x.shape)")  # syntax error
    del nb.cells[pool]  # maxpool2d's exercise cell deleted
    _write(nb, folder / "broken_cells.ipynb")
    nb = _edit(new(), "l01_conv2d", "def conv2d(", "def my_conv2d(")  # check("l01_conv2d", conv2d) unchanged
    _write(_edit(nb, "l01_maxpool2d", "stride = stride or kernel", "while True:\n        pass"),
           folder / "renamed_and_loop.ipynb")
    nb = _edit(new(), "l01_conv2d", "    ### END SOLUTION",  # x, w live in other cells: NameError on its own
               "    ### END SOLUTION\n\n\nprint(conv2d(x, w).shape)")
    _write(_edit(nb, "l01_maxpool2d", "def maxpool2d(", "lookup_table = torch.ones(2**31)\n\n\ndef maxpool2d("),
           folder / "exception_and_memory.ipynb")  # 8 GB, far above the --memory cap used with this corpus
    nb = _edit(new(), "l01_conv2d", "def conv2d(", 'print("x" * 50_000_000)\n\n\ndef conv2d(')
    nb.cells[conv].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 50_000_000 + "\n")]
    imports = next(c for c in nb.cells if c.cell_type == "code" and "import torch\n" in c.source)
    imports.source = "import nonexistent_module\n" + imports.source
    _write(nb, folder / "noisy.ipynb")  # prints 50 MB (and saved it), imports a module that does not exist
    nb = new()
    del nb.cells[conv + 1]  # conv2d's check cell
    nb.cells = nb.cells[::-1]
    _write(nb, folder / "reordered.ipynb")  # every cell in reverse order, and conv2d's check cell deleted
    _write(_edit(new(), "l01_maxpool2d", "def maxpool2d(", "os._exit(3)  # the process dies, as on a segfault\n\n\n"
                 "def maxpool2d("), folder / "crash.ipynb")
    colab = nbformat.from_dict(blank)
    colab.cells[conv].source = solved.cells[conv].source.replace("    ### BEGIN SOLUTION\n", "").replace(
        "\n    ### END SOLUTION", "")  # a student's own code: no markers left
    _write(_colab(colab), folder / "colab.ipynb")
    (folder / "notes.txt").write_text("I could not get Jupyter to start, sorry!\n")
    (folder / "truncated.ipynb").write_text(json.dumps(solved)[:5000])
    unrelated = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('my own project')")])
    _write(unrelated, folder / "unrelated.ipynb")
    (folder / "frank").mkdir(exist_ok=True)  # a student folder with nothing in it
    _write(_read("solutions", LESSON06), folder / "grace" / "lesson01_final.ipynb")  # lesson 06, misnamed
    _write(solved, folder / "heidi" / "lesson01" / LESSON01)  # nbgrader's layout: <student>/<assignment>/
    _write(blank, folder / "heidi" / ".ipynb_checkpoints" / "01-checkpoint.ipynb")  # hidden: ignored
    (folder / "heidi" / "report.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")

    private = folder.parent / "private"
    private.mkdir(exist_ok=True)
    (private / "conv_extra.py").write_text(PRIVATE_TESTS)
    return EXPECTED
