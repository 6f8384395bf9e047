"""How long each lesson takes in full mode: every solution notebook executed end to end, timed cell by cell.

    python -m course_lib.benchmark --record lessons          # all lessons, one after another (about an hour on a CPU)
    python -m course_lib.benchmarks.lessons --record 02 05   # some of them; the others keep their recorded times

Each solutions/NN_*.ipynb is copied to a scratch folder and run with nbclient in full mode (COURSE_FAST=0), on the
default device, with the kernel's default threads, as a student runs it. Recorded per lesson: the wall time from
kernel start to the last cell, the kernel's CPU time (user + system, its own and its children's), every cell that
took more than 10 s with whether it showed a progress bar, every figure shown without a title (or a plot
without axis labels), and the time of the cell after each `course_lib.announce(key)` cell. The executed notebooks
are kept in build/lessons/. Results are kept per device, so a GPU run adds to a CPU run instead of replacing it.
The README's per-lesson table and the notebooks' "this cell took ..." lines (`announce`) are read from the record.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from .. import env

SOLUTIONS = env.PACKAGE_DIR.parent / "solutions"
EXECUTED = env.PACKAGE_DIR.parent / "build" / "lessons"  # the executed notebooks of the last run
SLOW = 10.0  # seconds: a cell that runs longer must show progress
ANNOUNCE = re.compile(r"""announce\(\s*["']([\w/-]+)["']""")
# Run before the lesson: every figure the lesson shows (plt.show() or the end of a cell) is checked for a title
# (its own or an axes') and, for plots that are not images, labelled axes.
FIGURE_AUDIT = """import matplotlib.pyplot as _plt
from IPython import get_ipython as _ip
_figure_problems = []
def _audit_figures(*_):
    for _fig in map(_plt.figure, _plt.get_fignums()):
        _axes = [a for a in _fig.axes if a.get_visible() and a.get_label() != "<colorbar>"]
        _titled = (_fig._suptitle is not None and _fig._suptitle.get_text()) or any(a.get_title() for a in _axes)
        _plots = [a for a in _axes if a.axison and not a.images and a.has_data()]
        _unlabelled = [a for a in _plots if not (a.get_xlabel() and a.get_ylabel())]
        if _axes and (not _titled or _unlabelled):
            _figure_problems.append([_ip().execution_count, "no title" if not _titled else "axes without labels"])
_show = _plt.show
def _checked_show(*args, **kwargs):
    _audit_figures()
    return _show(*args, **kwargs)
_plt.show = _checked_show
_ip().events.callbacks["post_execute"].insert(0, _audit_figures)  # before the inline backend shows and closes them
"""
PROBE = """import json, resource, torch
from course_lib.device import get_device
_own, _kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpu": _own.ru_utime + _own.ru_stime + _kids.ru_utime + _kids.ru_stime, "figures": _figure_problems,
                  "threads": torch.get_num_threads(), "device": str(get_device())}))"""


def duration(seconds: float) -> str:
    """Seconds under 90 s, else minutes to one decimal (the lesson tables and the announce lines)."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def device_label() -> str:
    """'cpu' or the GPU's name: the key results are kept under."""
    from ..device import device_name, get_device
    device = get_device()
    return device_name(device) if device.type == "cuda" else device.type


def announce(key: str) -> None:
    """Print how long the next cell (after the one that calls this) took in full mode when measured, per device."""
    from ..benchmark import recorded
    runs = recorded().get("lessons", {}).get("devices", {})
    measured = {label: run for label, run in runs.items() if key in run.get("cells", {})}
    said = [f"{duration(run['cells'][key])} on {label} ({run['cpu_count']} cores, {run['threads']} threads)"
            for label, run in measured.items()]
    gpu = any(label != "cpu" for label in measured)
    where = "; ".join(said) or "not measured yet"
    print(f"Full mode, this cell took (benchmark lessons): {where}" + ("" if gpu else "; on a GPU: not measured")
          + (". Fast mode (COURSE_FAST=1) runs it in seconds." if env.FAST else "."))


def _cell_seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def _shows_progress(cell) -> bool:
    for out in cell.get("outputs", []):
        if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
            return True
        if "it/s]" in out.get("text", "") or "s/it]" in out.get("text", ""):
            return True
    return False


def run_lesson(path, timeout: int = 3600) -> dict:
    """Execute one solution notebook in full mode in a scratch copy; its timings (or the error)."""
    import nbformat
    from nbclient import NotebookClient
    from ..benchmark import lesson_fingerprint
    fingerprint = lesson_fingerprint(path)  # the sources the outputs come from, read before the run
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(FIGURE_AUDIT))
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    kernel_env = {**os.environ, "COURSE_FAST": "0", "PYTHONUNBUFFERED": "1"}
    kernel_env.pop("MPLBACKEND", None)  # the inline backend, as in JupyterLab
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(path, scratch)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": scratch}})
        start, error = time.perf_counter(), None
        try:
            client.execute(env=kernel_env)
        except Exception as e:  # a failing cell: record it and go on with the next lesson
            error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:200]}"
        wall = time.perf_counter() - start
    EXECUTED.mkdir(parents=True, exist_ok=True)
    if error is None:  # the book shows this run while the fingerprint is current
        nb.metadata["course_run"] = {"mode": "full", "fingerprint": fingerprint, "device": device_label(),
                                     "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    nbformat.write(nb, EXECUTED / path.name)  # the outputs, for reading the text against them
    nb.cells.pop(0)  # the audit cell: indices below are the lesson's own
    result, pending = {"wall": round(wall, 1), "cells": {}, "slow": []}, []
    for i, cell in enumerate(nb.cells[:-1]):
        seconds = _cell_seconds(cell) if cell.cell_type == "code" else None
        if seconds is None:
            continue
        result["cells"].update({key: round(seconds, 1) for key in pending})  # announce(key) speaks of the next cell
        pending = ANNOUNCE.findall(cell.source)
        if seconds > SLOW:
            first = next((ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
            result["slow"].append({"cell": i, "seconds": round(seconds, 1), "progress": _shows_progress(cell),
                                   "line": first[:80]})
    probe = [o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("name") == "stdout"]
    if probe and not error:
        result.update(json.loads(probe[-1].strip().splitlines()[-1]))
        cell_of = {c.get("execution_count"): i for i, c in enumerate(nb.cells[:-1]) if c.cell_type == "code"}
        result["figures"] = [{"cell": cell_of.get(n - 1 if n else n), "problem": problem}
                             for n, problem in result["figures"]]
    if error:
        result["error"] = error
    return result


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=env.PACKAGE_DIR.parent,
                              capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def measure(argv) -> dict:
    from ..benchmark import recorded
    wanted = [a for a in argv if re.fullmatch(r"\d\d", a)]
    if len(wanted) != len(argv):
        raise SystemExit(f"lessons: expected lesson numbers such as 02 05, got {' '.join(argv)}")
    paths = [p for p in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")) if not wanted or p.name[:2] in wanted]
    label = device_label()
    devices = recorded().get("lessons", {}).get("devices", {})
    run = dict(devices.get(label, {}))
    cells = dict(run.get("cells", {}))
    lessons = dict(run.get("lessons", {}))
    for path in paths:
        load = os.getloadavg()[0]
        print(f"{path.name}: running in full mode ...", flush=True)
        lessons[path.name[:2]] = {**run_lesson(path), "load": [round(load, 2), round(os.getloadavg()[0], 2)]}
        cells.update(lessons[path.name[:2]].pop("cells"))
        print(f"  {duration(lessons[path.name[:2]]['wall'])}", flush=True)
    threads = next((r["threads"] for r in lessons.values() if "threads" in r), run.get("threads"))
    run = {"cpu_count": os.cpu_count(), "threads": threads, "commit": _commit(),
           "date": datetime.date.today().isoformat(), "lessons": dict(sorted(lessons.items())), "cells": cells}
    return {"devices": {**devices, label: run}}


def show(results: dict) -> None:
    for label, run in results["devices"].items():
        print(f"{label}: {run['cpu_count']} cores, {run['threads']} threads, commit {run['commit']}, {run['date']}")
        print(f"{'lesson':<7}{'wall':>10}{'CPU':>10}{'load':>12}  cells over {SLOW:.0f} s (no progress bar: !)")
        for lesson, r in run["lessons"].items():
            slow = ", ".join(f"{s['cell']}:{duration(s['seconds'])}{'' if s['progress'] else '!'}" for s in r["slow"])
            cpu = duration(r["cpu"]) if "cpu" in r else "-"
            load = "–".join(f"{x:.1f}" for x in r.get("load", []))
            print(f"{lesson:<7}{duration(r['wall']):>10}{cpu:>10}{load:>12}  {slow}" + (f"  ERROR {r['error']}"
                                                                                        if "error" in r else ""))
        for lesson, r in run["lessons"].items():
            for problem in r.get("figures", []):
                print(f"lesson {lesson}, cell {problem['cell']}: a figure with {problem['problem']}")


def main(argv) -> int:
    from ..benchmark import record, recorded
    argv = list(argv)
    keep = "--record" in argv
    if not keep:
        results = recorded().get("lessons")
        if results is None:
            print("not recorded: python -m course_lib.benchmark --record lessons (runs every lesson in full mode)")
        else:
            show(results)
        return 0
    results = measure([a for a in argv if a != "--record"])
    record("lessons", results)
    show(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
