"""Shared test setup: fast mode for everything, and per-notebook durations at the end of the run."""
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).parent))

_durations = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _durations[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if _durations:
        terminalreporter.section("notebook durations (s)")
        for path, seconds in sorted(_durations.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f}  {path}")
