"""The course as a static site a reader can use offline: `make book` writes build/book/index.html.

    python -m course_lib.authoring.book [--out build/book] [--jobs 2] [--no-execute] [NOTEBOOK ...]

One page per solutions/NN_*.ipynb (every lesson there, in order), plus the landing page (the README's overview,
two commands and lesson table) and docs/*.md. A lesson page shows the outputs of
1. its full-mode run, when `python -m course_lib.benchmark --record lessons` left one in build/lessons/ that is
   current: recorded with the same `benchmark.lesson_fingerprint` (the notebook's cells and course_lib) as today's;
2. otherwise its fast-mode run (COURSE_FAST=1), kept in build/.book/fast/ and reused while its fingerprint holds;
   missing ones are executed with nbclient, at most --jobs at a time, in scratch folders;
3. with --no-execute, no outputs where neither exists (a quick look at the text).
Every page says which of these produced its outputs, on which device and when (pages.py); site.py renders the
pages with Sphinx. Nothing is fetched at build time or when the site is read.
"""
import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat

from .. import env
from ..benchmark import lesson_fingerprint
from ..benchmarks.lessons import EXECUTED
from . import pages, site
from .notebook import title

ROOT = env.PACKAGE_DIR.parent
OUT = ROOT / "build" / "book"
WORK = ROOT / "build" / ".book"  # fast-mode runs, the Sphinx source tree, doctrees
# Run first in the book's own executions: widgets draw the static figure they draw outside a live kernel.
STATIC_WIDGETS = "import course_lib.plot as _plot\n_plot.live_kernel = lambda: False  # the book is static"


def lessons(folder: Path = ROOT / "solutions") -> list[Path]:
    """Every lesson's solution notebook, in order (a new NN_*.ipynb joins the book by itself)."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def current_run(path: Path, fingerprint: str):
    """(the executed notebook at `path` if it was run from sources with this fingerprint, else None; why a run that
    exists is not used, or "")."""
    if not path.exists():
        return None, ""
    nb = nbformat.read(path, as_version=4)
    run = nb.metadata.get("course_run", {})
    if run.get("fingerprint") == fingerprint and run.get("mode") in ("full", "fast"):
        return nb, ""
    if not run.get("fingerprint"):
        return None, "no fingerprint in its metadata (recorded before runs were stamped)"
    return None, f"run from other sources (fingerprint {run['fingerprint']}, today {fingerprint})"


def execute(solution: str, target: str, fingerprint: str, timeout: int = 600) -> str:
    """Run a solution notebook in fast mode in a scratch folder; write it, stamped with its run, to `target`."""
    from nbclient import NotebookClient

    nb = nbformat.read(solution, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(STATIC_WIDGETS))
    kernel_env = {**os.environ, "COURSE_FAST": "1", "COURSE_PROGRESS": "0", "PYTHONUNBUFFERED": "1"}
    kernel_env.pop("MPLBACKEND", None)  # the inline backend, as in JupyterLab
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(solution, scratch)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": scratch}}).execute(env=kernel_env)
    nb.cells.pop(0)
    nb.metadata["course_run"] = {
        "mode": "fast", "fingerprint": fingerprint, "device": pages.setup_device(nb),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def _execute_all(jobs: list, parallel: int, timeout: int) -> list:
    """Run (solution, target, fingerprint) jobs, `parallel` at a time; the failures as (solution, message)."""
    failures = []
    if not jobs:
        return failures
    with ProcessPoolExecutor(max_workers=max(1, min(parallel, len(jobs))), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(execute, str(s), str(t), f, timeout): s for s, t, f in jobs}
        for future, solution in futures.items():
            try:
                future.result()
                print(f"  executed {solution.name} in fast mode", flush=True)
            except Exception as err:  # a failing cell: report every lesson that failed, then stop
                lines = str(err).strip().splitlines()
                failures.append((solution, f"{type(err).__name__}: {lines[-1] if lines else ''}"))
    return failures


def choose_runs(notebooks: list, recorded: Path, work: Path, execute: bool | set = True) -> tuple[list, list]:
    """([(solution, executed path or None, mode)], [fast-mode jobs to run]) for every lesson.

    execute: True (run what has no current run), False (run nothing) or the set of lesson numbers ("04") to run."""
    chosen, jobs = [], []
    for solution in notebooks:
        fingerprint = lesson_fingerprint(solution)
        full, fast = recorded / solution.name, work / "fast" / solution.name
        recorded_run, why = current_run(full, fingerprint)
        if why:
            print(f"{solution.name}: the full-mode run in {full.parent} is not used: {why}")
        if recorded_run is not None:
            chosen.append((solution, full, "full"))
        elif current_run(fast, fingerprint)[0] is not None:
            chosen.append((solution, fast, "fast"))
        elif execute is True or (execute and solution.name[:2] in execute):
            chosen.append((solution, fast, "fast"))
            jobs.append((solution, fast, fingerprint))
        else:
            chosen.append((solution, None, "none"))
    return chosen, jobs


def build(notebooks=None, out: Path = OUT, *, recorded: Path = EXECUTED, work: Path = WORK, jobs: int = 2,
          timeout: int = 600, execute: bool | set = True, quiet: bool = True) -> Path:
    """Build the site into `out` from `notebooks` (default: every lesson); return its index page."""
    notebooks = [Path(p).resolve() for p in (notebooks or lessons())]
    out, work = Path(out), Path(work)
    start = time.perf_counter()
    chosen, todo = choose_runs(notebooks, Path(recorded), work, execute)
    running = {job[0] for job in todo}
    for solution, _, mode in chosen:
        what = "to execute in fast mode" if solution in running else {
            "full": "its recorded full-mode run", "fast": "its fast-mode run (current)", "none": "no outputs"}[mode]
        print(f"{solution.name}: {what}", flush=True)
    failures = _execute_all(todo, jobs, timeout)
    if failures:
        raise SystemExit("the book was not built: lessons failed in fast mode:\n"
                         + "\n".join(f"  {s.name}: {message}" for s, message in failures))
    runs = []
    for solution, path, mode in chosen:
        executed = nbformat.read(path if path else solution, as_version=4)
        runs.append((solution, executed, executed.metadata.get("course_run", {}) if path else {"mode": "none"}))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    heading = pages.readme_sections(readme)[0]
    pages.write_tree(work / "src", pages.source_tree(runs, readme, ROOT / "docs"))
    site.build(work / "src", out, work, heading, quiet=quiet, jobs=jobs)
    print(f"wrote {out / 'index.html'}: {len(runs)} lessons in {time.perf_counter() - start:.0f} s")
    return out / "index.html"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every solutions/NN_*.ipynb")
    parser.add_argument("--out", type=Path, default=OUT, help="the site's folder (default: build/book)")
    parser.add_argument("--recorded", type=Path, default=EXECUTED,
                        help="full-mode runs of `benchmark --record lessons` (default: build/lessons)")
    parser.add_argument("--jobs", type=int, default=2, help="lessons executed, pages read at the same time (default: 2)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--no-execute", action="store_true", help="execute nothing: pages without a run show none")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    build(args.notebooks or None, args.out, recorded=args.recorded, jobs=args.jobs, timeout=args.timeout,
          execute=not args.no_execute, quiet=not args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
