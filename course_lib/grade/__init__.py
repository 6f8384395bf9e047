"""Grade student notebooks in one command: `python -m course_lib.grade SUBMISSIONS/ --out grades/`.

Where trust ends:
- submissions.py, report.py, cli.py, judge.py, proxy.py, channel.py (parent side) are trusted: they
  run in the instructor's process, hold the public and private tests and compute every verdict.
- child.py runs in the sandbox (sandbox.py: bubblewrap namespaces, read-only filesystem, no network,
  rlimits) with the student's code; it only executes cells and calls the student's objects on the
  inputs the parent sends, and answers with data (tensors, numbers) through channel.py, which the
  parent decodes as hostile bytes.
- results.py: the statuses and the small records both sides agree on.
docs/instructors.md has the threat model and what holds on which platform.
"""
from .cli import main, parser
from .judge import EXTRA_TESTS, extra_test, grade_file, load_extra_tests
from .report import feedback, summary, write_outputs
from .results import *  # noqa: F401,F403 - the statuses, COLUMNS, Outcome, TestResult
from .submissions import feedback_names, find_submissions

__all__ = ["main", "parser", "extra_test", "load_extra_tests", "EXTRA_TESTS", "grade_file", "feedback", "summary",
           "write_outputs", "find_submissions", "feedback_names"]
