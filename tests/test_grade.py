"""course_lib.grade: the exact grades of a corpus of honest synthetic submissions (tests/submissions_corpus.py),
feedback that never shows the tests, determinism, and the command line's exit codes. The hostile corpus and
the isolation tests are in tests/test_sandbox.py.

The corpus is graded once (module fixture, through `python -m course_lib.grade`); the other tests read its files.
"""
import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import submissions_corpus as corpus

from course_lib import grade
from course_lib.authoring import notebook
from course_lib.benchmarks import grading as grading_benchmark
from course_lib.grade.judge import Task
from course_lib.selfcheck import load_all

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = ["-j", "2", "--timeout", "10", "--memory", "1024"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    corpus.build(root / "submissions")
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(root / "submissions"), "--out",
                           str(root / "grades"), "--extra-tests", str(root / "private"), *OPTIONS],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, proc.stdout


def rows(path: Path) -> list:
    with open(path, newline="") as f:
        return [tuple(row) for row in csv.reader(f)]


def test_every_submission_gets_its_exact_grade(graded):
    root, _ = graded
    table = rows(root / "grades" / "grades.csv")
    assert table[0] == tuple(grade.COLUMNS)
    assert table[1:] == sorted((row + ("",) for row in corpus.EXPECTED), key=lambda r: (r[0], r[1], r[6], r[2]))


def test_summary_lists_every_file_and_the_time(graded):
    _, stdout = graded
    for row in corpus.EXPECTED:
        assert row[6] in stdout
    files, students = len({row[6] for row in corpus.EXPECTED}), len({row[0] for row in corpus.EXPECTED})
    assert f"{files} file(s) of {students} student(s) graded in" in stdout


def test_feedback_says_what_happened(graded):
    root, _ = graded
    folder = root / "grades" / "feedback"
    assert sorted(p.stem for p in folder.glob("*.md")) == sorted({row[0] for row in corpus.EXPECTED})
    text = {p.stem: p.read_text() for p in folder.glob("*.md")}
    assert "Total: 1.86 / 3 points" in text["wrong_bias"] and "(0.86 / 2)" in text["wrong_bias"] and "Total: 3 / 3 points" in text["solved"]
    assert "[FAIL] adds the bias per output channel" in text["wrong_bias"]
    assert "[FAIL] private test: 1x1 kernels with a bias\n" in text["wrong_bias"]  # description only
    assert "syntax error" in text["broken_cells"] and "line 4:" in text["broken_cells"]
    assert "no cell defines maxpool2d" in text["broken_cells"]
    assert "no cell defines conv2d" in text["renamed_and_loop"] and "my_conv2d" in text["renamed_and_loop"]
    assert "stopped after 10 s" in text["renamed_and_loop"]
    assert "NameError: name 'x' is not defined" in text["exception_and_memory"]
    assert "can't allocate memory" in text["exception_and_memory"]
    assert "`import nonexistent_module` failed" in text["noisy"] and "x" * 1000 not in text["noisy"]
    assert "the notebook called sys.exit/os._exit (exit code 3)" in text["crash"]
    assert "not a notebook" in text["notes"] and "empty folder" in text["frank"]
    assert "lesson 06" in text["grace"] and "report.pdf: not a notebook" in text["heidi"]


def test_feedback_and_grades_never_show_test_source_or_expected_values(graded):
    root, _ = graded
    public = [line.strip() for line in (ROOT / "course_lib" / "checks" / "lesson01.py").read_text().splitlines()
              if len(line.strip()) > 25 and not line.strip().startswith(("@", "#", "expect(", '"', "f\""))]
    for path in [root / "grades" / "grades.csv", *(root / "grades" / "feedback").glob("*.md")]:
        text = path.read_text()
        for secret in (*corpus.SECRETS, "torch.randn", "F.conv2d(", "F.max_pool2d(", "allclose"):
            assert secret not in text, (path.name, secret)
        assert not [line for line in public if line in text], path.name


def test_grading_twice_gives_the_same_files(graded, tmp_path, capsys):
    root, _ = graded
    subset = tmp_path / "submissions"
    subset.mkdir()
    for name in ("wrong_bias.ipynb", "colab.ipynb", "notes.txt"):
        shutil.copy(root / "submissions" / name, subset / name)
    outputs = []
    for run in ("a", "b"):
        args = [str(subset), "--out", str(tmp_path / run), "--extra-tests", str(root / "private"), *OPTIONS]
        assert grade.main(args) == 0
        outputs.append({p.relative_to(tmp_path / run): p.read_bytes() for p in (tmp_path / run).rglob("*.*")})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 4  # grades.csv and 3 feedback files
    main_run = root / "grades" / "feedback" / "wrong_bias.md"  # graded among other files: same text
    assert outputs[0][Path("feedback/wrong_bias.md")] == main_run.read_bytes()


def test_an_empty_folder_is_not_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert grade.main([str(tmp_path / "empty"), "--out", str(tmp_path / "grades")]) == 0
    assert "No submissions found" in capsys.readouterr().out
    assert rows(tmp_path / "grades" / "grades.csv") == [tuple(grade.COLUMNS)]


def test_usage_errors_exit_2_and_the_graders_own_failures_exit_1(tmp_path, monkeypatch, capsys):
    assert grade.main([str(tmp_path / "missing"), "--out", str(tmp_path / "grades")]) == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "t.py").write_text("from course_lib.grade import extra_test\n"
                                           "extra_test('l99_nothing', 'x')(print)\n")
    (tmp_path / "subs").mkdir()
    assert grade.main([str(tmp_path / "subs"), "--extra-tests", str(tmp_path / "bad")]) == 2
    assert "l99_nothing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        grade.main(["--help"])
    assert exit_.value.code == 0 and "SUBMISSIONS" in capsys.readouterr().out

    shutil.copy(ROOT / "solutions" / corpus.LESSON01, tmp_path / "subs" / "ann.ipynb")
    monkeypatch.setattr(grade.cli, "grade_file", lambda *args: 1 / 0)
    assert grade.main([str(tmp_path / "subs"), "--out", str(tmp_path / "grades")]) == 1
    assert "grader error" in (tmp_path / "grades" / "grades.csv").read_text()


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_every_lesson_is_identified_and_its_exercises_found(folder):
    """Static part only (no execution): with nbgrader metadata, and without it (as after a Colab save)."""
    known = load_all()
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        bare = nbformat.from_dict(nb)
        for cell in bare.cells:
            cell.metadata = {}
        for version in (nb, bare):
            lesson = notebook.identify_lesson(version, known)
            assert lesson == path.name[:2]
            for exercise_id in [i for i in known if i.startswith(f"l{lesson}_")]:
                task = Task(version, exercise_id, notebook.import_lines(version))
                assert task.status == "" and task.expression and not task.violations, (path.name, exercise_id)


def test_a_check_call_inside_the_exercise_cell_and_a_missing_check_call():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_code_cell("def conv2d(x, w, b=None, stride=1, padding=0):\n    return x\n\n"
                                  "conv2d = check('l01_conv2d', conv2d)"),
        nbformat.v4.new_code_cell("def helper():\n    pass\n\ndef maxpool2d(x, k, s=None):\n    return x")])
    assert Task(nb, "l01_conv2d", "").expression == "conv2d"
    assert Task(nb, "l01_maxpool2d", "").expression == "maxpool2d"
    assert notebook.identify_lesson(nb, load_all()) == "01"


def test_benchmark_prints_its_table(capsys):
    assert grading_benchmark.main(["--count", "2", "--no-calibration"]) == 0
    out = capsys.readouterr().out
    assert "seconds per submission" in out and "< 300 s" in out


def test_feedback_gives_one_hint_per_exercise():
    """One bug, one message (as `check` in the notebook): only the first failing public test's message is shown,
    also when the basic test passes; the later failures are marked as possibly sharing its cause."""
    from course_lib.grade.report import feedback
    from course_lib.grade.results import TEST_FAIL, TEST_PASS, Outcome, TestResult
    tests = [TestResult("output shape", TEST_PASS), TestResult("no flipping", TEST_FAIL, "FIRST-HINT"),
             TestResult("values with padding", TEST_FAIL, "PADDING-HINT"),
             TestResult("1x1 kernels", TEST_FAIL, "", private=True)]
    text = feedback("ana", [Outcome("ana", "a.ipynb", "01", "l01_conv2d", 0.3, 2, "failed", tests=tests)])
    assert "- [FAIL] no flipping: FIRST-HINT" in text and "PADDING-HINT" not in text
    assert "- [FAIL] values with padding (may share the cause of the first failure)" in text
    assert "- [FAIL] private test: 1x1 kernels\n" in text
