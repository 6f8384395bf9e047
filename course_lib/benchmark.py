"""Measured numbers, printed as tables: `python -m course_lib.benchmark [--record] [SUITE ...]` (`make benchmark`).

Every suite is a module in course_lib/benchmarks/ with `main(argv)`; without arguments all of them run.
Quality and speed are measured here, never asserted in timed tests. Suites that also have `measure(argv) -> dict`
and `show(results)` can be recorded: `--record` stores their results, with a fingerprint of each checkpoint they
measured, in course_lib/benchmarks/measured.json, the one source of the README's "Measured" table
(`python -m course_lib.authoring.readme` regenerates it; tests/test_readme.py fails while either is stale).
"""
import hashlib
import json
import sys

from . import recipes
from .env import CHECKPOINT_DIR, PACKAGE_DIR

PACKAGE = "course_lib.benchmarks"
RESULTS = PACKAGE_DIR / "benchmarks" / "measured.json"


def fingerprint(checkpoint: str) -> str:
    """The first 16 hex digits of a shipped checkpoint's sha256: recorded numbers belong to these exact weights."""
    return hashlib.sha256((CHECKPOINT_DIR / f"{checkpoint}.pt").read_bytes()).hexdigest()[:16]


# What a lesson's outputs depend on besides its own cells: course_lib's code and shipped checkpoints. Not the tools
# that build the course (authoring/) or grade it (grade/), nor the checkpoints' interim saves or measured.json.
NOT_RUN_BY_LESSONS = ("authoring", "grade")


def lesson_fingerprint(notebook) -> str:
    """16 hex digits of the sha256 of what a lesson's outputs are made from: the notebook's cells (type and source)
    and course_lib (every .py file but the authoring and grading tools, every shipped checkpoint). Outputs executed
    from these sources stay current while it is unchanged (the book uses a recorded full-mode run only then)."""
    import nbformat
    digest = hashlib.sha256()
    for cell in nbformat.read(notebook, as_version=4).cells:
        digest.update(f"{cell.cell_type}\0{cell.source}\0".encode())
    files = [p for p in PACKAGE_DIR.rglob("*.py") if p.relative_to(PACKAGE_DIR).parts[0] not in NOT_RUN_BY_LESSONS]
    files += [p for p in CHECKPOINT_DIR.glob("*.pt") if not p.name.endswith(".resume.pt")]
    for path in sorted(files):
        digest.update(f"{path.relative_to(PACKAGE_DIR).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def recorded() -> dict:
    """{suite: results} of the last `--record` runs."""
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def record(name: str, results: dict) -> None:
    """Store one suite's results (and the fingerprints of the checkpoints it measured) in measured.json."""
    results = {**results, "fingerprints": {c: fingerprint(c) for c in results.get("checkpoints", [])}}
    everything = {**recorded(), name: results}
    RESULTS.write_text(json.dumps(dict(sorted(everything.items())), indent=1, sort_keys=True, default=float) + "\n")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    suites = recipes.find(PACKAGE)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nSuites:\n" +
              "\n".join(f"  {name:<11} {recipes.describe(PACKAGE, name)}" for name in suites))
        return 0
    keep = "--record" in argv
    names = [a for a in argv if a != "--record"] or suites
    for name in names:
        if name not in suites:
            print(f"unknown suite {name!r}; choose from {', '.join(suites)}", file=sys.stderr)
            return 2
    status = 0
    for name in names:
        print(f"== {name}: {recipes.describe(PACKAGE, name)}")
        module = recipes.load(PACKAGE, name)
        if keep and hasattr(module, "measure"):
            results = module.measure([])
            module.show(results)
            if hasattr(module, "store"):  # a suite that also writes its results into a checkpoint's metadata
                module.store(results)
            record(name, results)
            print(f"(recorded in {RESULTS.relative_to(PACKAGE_DIR.parent)})")
        else:
            status = module.main([]) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
