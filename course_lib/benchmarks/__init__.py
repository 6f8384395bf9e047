"""Benchmark suites: measured numbers printed as tables, `python -m course_lib.benchmark [SUITE ...]`.

A suite module `course_lib/benchmarks/<suite>.py` has a docstring whose first line describes it and
`main(argv: list[str]) -> int`. Suites are discovered (course_lib.recipes.find): a new file is a new suite.
Quality and speed are measured here, never asserted in timed tests.
"""
