"""What grading produces: statuses as named constants, one test's result, one exercise's outcome.

Everything here is computed by the trusted parent; nothing in these objects was written by student code
except `TestResult.message` of a test judged inside the sandbox (`trusted=False`), which is cleaned.
"""
import re
from dataclasses import dataclass, field

COLUMNS = ["student", "lesson", "exercise", "points", "max_points", "status", "file", "flags"]

# The status of an exercise ...
PASSED, FAILED, NOT_ATTEMPTED, MISSING = "passed", "failed", "not attempted", "missing"
SYNTAX_ERROR, ERROR, TIMEOUT, MEMORY, CRASHED = "syntax error", "error", "timeout", "memory limit", "crashed"
EXITED, INTERRUPTED = "exited", "not graded (interrupted)"
# ... or of a whole file (those rows have no exercise).
NOT_A_NOTEBOOK, NO_EXERCISES, EMPTY_FOLDER, GRADER_ERROR = ("not a notebook", "no exercises found",
                                                          "empty folder", "grader error")
# A test's status (as course_lib.selfcheck's).
TEST_PASS, TEST_FAIL, TEST_ERROR, TEST_TODO = "pass", "fail", "error", "not implemented"
# Flags on a row.
DUPLICATE_LESSON = "several copies of this lesson"


@dataclass
class TestResult:
    """One public or private test of one exercise."""
    description: str
    status: str
    message: str = ""
    private: bool = False
    trusted: bool = True   # judged by the parent on the student object's outputs (False: inside the sandbox)


@dataclass
class Outcome:
    """The graded result of one exercise (or of a whole file when `exercise` is empty)."""
    student: str
    file: str
    lesson: str = ""
    exercise: str = ""
    points: float = 0.0
    max_points: float = 0.0
    status: str = ""
    message: str = ""
    tests: list = field(default_factory=list)   # [TestResult]
    notes: list = field(default_factory=list)   # about the whole notebook (an import that failed, a duplicate)
    flags: list = field(default_factory=list)   # written to the CSV (a second copy of the lesson)
    seconds: float = 0.0                         # these two are printed, never written to a file
    log: str = ""


def clean(message, limit: int = 500) -> str:
    """Short, deterministic, printable messages: no memory addresses, no control characters, bounded."""
    message = re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", str(message))
    message = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", message).strip()
    return message if len(message) <= limit else message[:limit] + " …"
