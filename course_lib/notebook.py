"""Moved: the notebook model is course_lib.authoring.notebook (issue 21). This stand-in remains only because
course_lib/benchmarks/grading.py still imports `from ..notebook import grade_id`; once that line reads
`from ..authoring.notebook import grade_id`, delete this file."""
from .authoring.notebook import *  # noqa: F401,F403
