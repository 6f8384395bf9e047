"""`python -m course_lib.grade SUBMISSIONS --out grades`: the command line, the parallel run, Ctrl-C."""
import argparse
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import selfcheck
from .judge import grade_file, load_extra_tests
from .report import summary, write_outputs
from .results import EMPTY_FOLDER, GRADER_ERROR, INTERRUPTED, Outcome
from .sandbox import Limits, available
from .submissions import find_submissions

STARTUP_SECONDS = 120  # the child's imports (torch, course_lib) before the first exercise


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m course_lib.grade",
        description="Grade the course_lib exercises of every notebook under SUBMISSIONS (SUBMISSIONS/<student>.ipynb "
                    "or SUBMISSIONS/<student>/<any name>.ipynb). Writes OUT/grades.csv and OUT/feedback/<student>.md. "
                    "Student code runs in a sandbox (bubblewrap); the verdicts are computed outside it.",
        epilog="See docs/instructors.md for the whole workflow and the threat model.")
    p.add_argument("submissions", metavar="SUBMISSIONS", help="folder of submitted notebooks")
    p.add_argument("--out", metavar="DIR", default="grades", help="folder for grades.csv and feedback/ (default: grades)")
    p.add_argument("-j", "--jobs", metavar="N", type=int, default=min(8, os.cpu_count() or 1),
                   help="notebooks graded at the same time, about 1 GB of memory each (default: CPU cores, at most 8)")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=60,
                   help="wall-clock seconds per exercise, its cell and its tests (default: 60)")
    p.add_argument("--memory", metavar="MB", type=int, default=4096,
                   help="MB a notebook's code may allocate on top of the course's imports (default: 4096)")
    p.add_argument("--extra-tests", metavar="DIR",
                   help="folder of private tests (*.py using course_lib.grade.extra_test); they run only in the grader "
                        "itself, never where student code runs")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade even where no sandbox is available (macOS, no bubblewrap): student code then runs as "
                        "you, with your files and network; only do this for work you trust")
    return p


class Options:
    def __init__(self, args, hidden: list):
        self.jobs, self.unsafe, self.startup = max(1, args.jobs), args.unsafe_no_sandbox, STARTUP_SECONDS
        self.limits = Limits(seconds=args.timeout, memory_mb=args.memory)
        self.hidden, self.warnings = hidden, []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            print(f"warning: {message}", file=sys.stderr)


def grade(root: Path, options, out: Path) -> tuple[list, bool]:
    """Grade every file under `root` in parallel; (Outcomes in a stable order, interrupted?).
    On Ctrl-C (or SIGTERM) the files not graded yet get rows saying so."""
    selfcheck.load_all()  # once, before the threads
    submissions = find_submissions(root, [out])
    if submissions:
        print(f"Grading {len(submissions)} file(s) with {options.jobs} job(s) ...", flush=True)
    results: dict = {}
    stop = threading.Event()

    def one(index: int):
        student, rel, path = submissions[index]
        if stop.is_set():
            return
        if path.is_dir():
            results[index] = [Outcome(student, rel, status=EMPTY_FOLDER, message="this folder holds no files")]
            return
        try:
            results[index] = grade_file(student, rel, path, options)
        except Exception as err:  # a bug of ours: say so, grade the others, exit 1
            results[index] = [Outcome(student, rel, status=GRADER_ERROR, message=f"{type(err).__name__}: {err}")]
    pool = ThreadPoolExecutor(max_workers=options.jobs)
    interrupted = False
    try:
        for future in [pool.submit(one, i) for i in range(len(submissions))]:
            future.result()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)  # the running children finish their exercise or time out
    finally:
        pool.shutdown()
    outcomes = []
    for i, (student, rel, _) in enumerate(submissions):
        outcomes += results.get(i) or [Outcome(student, rel, status=INTERRUPTED,
                                               message="grading was interrupted before this file")]
    return outcomes, interrupted


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    root, out = Path(args.submissions), Path(args.out)
    if not root.is_dir():
        print(f"error: {root} is not a folder of submissions", file=sys.stderr)
        return 2
    why = available()
    if why and not args.unsafe_no_sandbox:
        print(f"error: cannot isolate student code here ({why}). Install bubblewrap, or pass --unsafe-no-sandbox "
              "to grade without isolation (see docs/instructors.md).", file=sys.stderr)
        return 2
    try:
        load_extra_tests(args.extra_tests)
    except Exception as err:
        print(f"error: cannot load --extra-tests {args.extra_tests}: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    hidden = [root.resolve(), out.resolve()] + ([Path(args.extra_tests).resolve()] if args.extra_tests else [])
    options = Options(args, hidden)
    if why:
        options.warn(f"grading WITHOUT a sandbox ({why}): student code runs as you")
    start = time.perf_counter()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        outcomes, interrupted = grade(root, options, out)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    write_outputs(outcomes, out)
    if not outcomes:
        print(f"No submissions found in {root}: wrote an empty {out / 'grades.csv'}.")
        return 0
    print(summary(outcomes, time.perf_counter() - start, options.jobs))
    print(f"Wrote {out / 'grades.csv'} and {out / 'feedback'}/")
    for o in outcomes:
        if o.log:
            print(o.log, file=sys.stderr)
    if interrupted:
        print("Interrupted: the files graded so far are written; the others say 'not graded (interrupted)'.",
              file=sys.stderr)
        return 130
    failures = [o for o in outcomes if o.status == GRADER_ERROR]
    for o in failures:
        print(f"grader error on {o.file}: {o.message}", file=sys.stderr)
    return 1 if failures else 0
