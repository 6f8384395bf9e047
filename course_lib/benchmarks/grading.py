"""Grading: 30 synthetic lesson-01 submissions graded in the sandbox with 2 jobs (target: < 300 s).

    python -m course_lib.benchmark grading [--count N] [--no-calibration]

The submissions come from solutions/ and notebooks/ (solved, blank, half done, broken), so this
needs a repository checkout. It prints the time per submission and whether the target is met, then
for every exercise how many public tests the trusted parent judges through proxies and which ones
run inside the sandbox instead (course_lib.grade.judge.calibrate on the references).
"""
import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def synthetic_submissions(folder: Path, count: int = 30, lesson: str = "01") -> None:
    """`count` submissions of a lesson from solutions/ and notebooks/: solved, blank, half done, broken."""
    import nbformat

    from ..authoring.notebook import grade_id
    solved = nbformat.read(next((ROOT / "solutions").glob(f"{lesson}_*.ipynb")), as_version=4)
    blank = nbformat.read(next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb")), as_version=4)
    exercises = [i for i, c in enumerate(solved.cells) if grade_id(c).startswith(f"l{lesson}_")]
    half, broken = nbformat.from_dict(blank), nbformat.from_dict(solved)
    half.cells[exercises[0]] = solved.cells[exercises[0]]
    broken.cells[exercises[-1]].source += "\n    return (("  # a syntax error
    kinds = [solved, blank, half, broken]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        nbformat.write(kinds[n % len(kinds)], folder / f"student{n:02d}.ipynb")


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m course_lib.benchmark grading")
    p.add_argument("--count", type=int, default=30, help="number of submissions (default: 30)")
    p.add_argument("--unsafe-no-sandbox", action="store_true", help="time the grader without the sandbox")
    p.add_argument("--no-calibration", action="store_true", help="skip the table of tests judged in the sandbox")
    return p.parse_args(argv or [])


def measure(argv=None) -> dict:
    """Grade `--count` synthetic lesson-01 submissions with 2 jobs; the time it took (recorded by `--record`)."""
    return _grade(_parse(argv))[0]


def _grade(args):
    from ..grade import cli, judge, report, sandbox
    if not (ROOT / "solutions").is_dir():
        raise SystemExit("needs a repository checkout (solutions/ and notebooks/)")
    if sandbox.available() and not args.unsafe_no_sandbox:
        raise SystemExit(f"no sandbox here ({sandbox.available()}); pass --unsafe-no-sandbox to time the grader "
                         "without it")
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "grades"
        synthetic_submissions(subs, args.count)
        options = cli.Options(cli.parser().parse_args([str(subs), "--out", str(out), "-j", "2"] +
                                                      (["--unsafe-no-sandbox"] if args.unsafe_no_sandbox else [])),
                              [subs, out])
        judge.load_extra_tests(None)
        start = time.perf_counter()
        outcomes, _ = cli.grade(subs, options, out)
        report.write_outputs(outcomes, out)
        seconds = time.perf_counter() - start
    files = len({o.file for o in outcomes})
    sandboxed = "none (unsafe)" if args.unsafe_no_sandbox else "bubblewrap"
    return {"seconds": seconds, "files": files, "sandbox": sandboxed, "target": "< 300 s", "checkpoints": [],
            "what": f"grading {files} lesson-01 submissions, 2 jobs, fast mode, sandbox: {sandboxed}"}, options


def show(r: dict) -> None:
    seconds, files = r["seconds"], r["files"]
    rows = [("submissions (lesson 01, 2 jobs, fast mode)", f"{files}"), ("sandbox", r["sandbox"]),
            ("seconds", f"{seconds:.1f}"), ("seconds per submission", f"{seconds / files:.2f}"),
            ("target for 30 submissions", "< 300 s"), ("met", "yes" if seconds * 30 / files < 300 else "NO")]
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  {'value':>13}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>13}")


def main(argv=None) -> int:
    args = _parse(argv)
    try:
        results, options = _grade(args)
    except SystemExit as stop:
        print(stop)
        return 0
    show(results)
    if not args.no_calibration:
        calibration(options)
    return 0


def calibration(options) -> None:
    """Per exercise: public tests judged by the parent (on the student's outputs) / all of them."""
    from .. import selfcheck
    from ..grade import judge
    known = selfcheck.load_all()
    trusted = judge.calibrate(sorted(known), options)
    print(f"\n{'exercise':<26} {'judged outside':>14}  tests judged inside the sandbox")
    for exercise_id in sorted(known):
        tests = known[exercise_id].tests
        inside = [d for i, (d, _) in enumerate(tests) if i not in trusted[exercise_id]]
        print(f"{exercise_id:<26} {len(trusted[exercise_id]):>6} of {len(tests):<5}  {'; '.join(inside)[:90]}")
    total = sum(len(known[e].tests) for e in known)
    print(f"{'all':<26} {sum(map(len, trusted.values())):>6} of {total:<5}")
