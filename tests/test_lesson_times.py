"""Lesson times (issue 12, item 3): every lesson is measured in full mode, every long cell is announced with its
measured time and shows progress, and the harness that measures them reads cells right."""
import re
from pathlib import Path

import nbformat
import pytest

from course_lib import benchmark
from course_lib.benchmarks import lessons

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
CPU = benchmark.recorded().get("lessons", {}).get("devices", {}).get("cpu", {})


def announced(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return [(key, code[i + 1] if i + 1 < len(code) else None)
            for i, cell in enumerate(code) for key in lessons.ANNOUNCE.findall(cell.source)]


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:2] for p in SOLUTIONS])
def test_every_lesson_is_measured_on_the_cpu(path):
    run = CPU.get("lessons", {}).get(path.name[:2])
    assert run, f"{path.name} has no full-mode time: python -m course_lib.benchmarks.lessons --record {path.name[:2]}"
    assert "error" not in run, f"{path.name} failed in full mode: {run['error']}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:2] for p in SOLUTIONS])
def test_no_recorded_cell_runs_over_10_s_without_a_progress_bar(path):
    silent = [s for s in CPU.get("lessons", {}).get(path.name[:2], {}).get("slow", []) if not s["progress"]]
    assert not silent, f"{path.name}: cells that ran over {lessons.SLOW:.0f} s in full mode without progress: {silent}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:2] for p in SOLUTIONS])
def test_every_figure_the_lesson_showed_had_a_title_and_labelled_axes(path):
    run = CPU.get("lessons", {}).get(path.name[:2], {})
    assert "figures" in run, f"{path.name}: figures not audited: python -m course_lib.benchmarks.lessons --record " \
                             f"{path.name[:2]}"
    assert not run["figures"], f"{path.name}: figures without a title or axis labels in full mode: {run['figures']}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:2] for p in SOLUTIONS])
def test_announcements_name_their_lesson_precede_a_cell_and_are_measured(path):
    for key, following in announced(path):
        assert key.startswith(path.name[:2] + "/"), f"{path.name}: announce({key!r}) names another lesson"
        assert following is not None, f"{path.name}: announce({key!r}) is the last code cell"
        assert key in CPU.get("cells", {}), f"{path.name}: announce({key!r}) has no measured time"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:2] for p in SOLUTIONS])
def test_recorded_training_cells_are_announced(path):
    """A training cell of more than a minute says beforehand how long it takes."""
    nb = nbformat.read(path, as_version=4)
    keys_before = {}
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for (_, prev), (i, _) in zip(code, code[1:]):
        keys_before[i] = lessons.ANNOUNCE.findall(prev.source)
    for slow in CPU.get("lessons", {}).get(path.name[:2], {}).get("slow", []):
        source = nb.cells[slow["cell"]].source
        if slow["seconds"] > 60 and re.search(r"\bfit\(|\.train\(|backward\(", source):
            assert keys_before.get(slow["cell"]), f"{path.name} cell {slow['cell']} trains for {slow['seconds']} s " \
                                                  "without a course_lib.announce cell before it"


def test_announce_prints_the_measured_time_per_device(monkeypatch, capsys):
    runs = {"devices": {"cpu": {"cpu_count": 2, "threads": 2, "cells": {"02/train": 426.0}, "lessons": {}}}}
    monkeypatch.setattr(benchmark, "recorded", lambda: {"lessons": runs})
    lessons.announce("02/train")
    out = capsys.readouterr().out
    assert "7.1 min on cpu (2 cores, 2 threads)" in out and "on a GPU: not measured" in out
    runs["devices"]["NVIDIA H200"] = {"cpu_count": 16, "threads": 16, "cells": {"02/train": 21.0}, "lessons": {}}
    lessons.announce("02/train")
    out = capsys.readouterr().out
    assert "21 s on NVIDIA H200" in out and "not measured" not in out
    lessons.announce("02/other")
    assert "not measured yet" in capsys.readouterr().out


def test_the_harness_times_the_cell_after_an_announcement_and_sees_progress(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('import time\nfrom tqdm.auto import tqdm\nimport course_lib'),
        nbformat.v4.new_code_cell('course_lib.announce("99/sleep")'),
        nbformat.v4.new_code_cell("time.sleep(1.5)"),
        nbformat.v4.new_code_cell("for _ in tqdm(range(3)):\n    time.sleep(0.5)"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()"),
        nbformat.v4.new_code_cell("plt.imshow([[1, 2]]); plt.axis('off'); plt.title('an image'); plt.show()"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(); ax.plot([1, 2]); ax.set_title('shown at the end')"),
    ])
    path = tmp_path / "99_fake.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setattr(lessons, "SLOW", 1.0)
    monkeypatch.setattr(lessons, "EXECUTED", tmp_path / "executed")
    result = lessons.run_lesson(path, timeout=120)
    assert "error" not in result, result
    assert 1.4 < result["cells"]["99/sleep"] < 5
    slow = {s["cell"]: s["progress"] for s in result["slow"]}  # cell 0 may be slow too: it imports torch
    assert slow[2] is False and slow[3] is True and 1 not in slow
    assert result["figures"] == [{"cell": 4, "problem": "no title"}, {"cell": 6, "problem": "axes without labels"}]
    assert result["threads"] >= 1 and result["cpu"] > 0 and (tmp_path / "executed" / path.name).exists()
