"""Training recipes: one module per shipped checkpoint, run with `python -m course_lib.train NAME [options]`.

A recipe module `course_lib/recipes/<name>.py` has a docstring whose first line describes it (the list
`python -m course_lib.train --help` prints) and `main(argv: list[str]) -> int`. `common.py` holds what
they share (command line, fast/full settings, output path, validation photos), `sr.py` the SR training loop;
modules without a top-level `main` are helpers, not recipes. Nothing to register: a new file is a new recipe.
"""
from ._discover import describe, find, load  # noqa: F401
