"""Self-checks: `check("l01_conv2d", conv2d)` runs an exercise's public tests right in the notebook.

Each exercise registers its tests in course_lib/checks/lessonNN.py. A test gets the student's
object and raises CheckFailure with a message that says what is wrong, never the expected values.

`check` prints one line per test and returns what later cells should use: the student's object
when every test passes, otherwise course_lib's reference implementation, saying so plainly, so a
skipped exercise never blocks the rest of the notebook. Under COURSE_STRICT=1 (the test suite, read
through course_lib.env) a failing solution raises instead, so a broken solution notebook cannot pass
CI; a stub that is simply not done yet (NotImplementedError) still falls back.

One bug, one message: `check` shows the hint of the first failing test only and lists the later failures
without theirs, as possibly sharing its cause; the first test of an exercise is its basic one (shape, type,
the simplest case), so a wrong shape is named before any value test. Calling a callable that the
exercise's contract forbids (`forbidden=`, course_lib.contracts) fails the test.
"""
import importlib
import pkgutil
import traceback
import warnings
from dataclasses import dataclass, field

import torch

from . import env

PASS, FAIL, ERROR, TODO = "pass", "fail", "error", "not implemented"
EXERCISES: dict = {}


class CheckFailure(AssertionError):
    """Raised by a test: the student's object does not meet the contract."""


class CheckFailed(RuntimeError):
    """Raised by `check` under COURSE_STRICT=1 when an implemented exercise fails its tests."""


def expect(condition, message: str) -> None:
    """Fail the current test with `message` (which must not reveal expected values)."""
    if not condition:
        raise CheckFailure(message)


def expect_tensor_like(out, like: torch.Tensor, what: str, hint: str = "keep the input's shape") -> torch.Tensor:
    """Fail unless `out` is a finite tensor shaped like `like` (the basic test of an exercise); returns `out`."""
    expect(torch.is_tensor(out), f"{what} must be a tensor, got {type(out).__name__}")
    expect(tuple(out.shape) == tuple(like.shape),
           f"{what} has shape {tuple(out.shape)} for inputs of shape {tuple(like.shape)}: {hint}")
    expect(torch.isfinite(out).all(), f"{what} contains NaN or inf")
    return out


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    """|a - b| <= tol, relative to b's largest magnitude when that is above 1 (in float64)."""
    return bool((a.double() - b.double()).abs().max() <= tol * max(1.0, float(b.abs().max())))


@dataclass
class Result:
    test: str
    status: str
    message: str = ""
    warnings: list = field(default_factory=list)


class Exercise:
    def __init__(self, exercise_id: str, reference, contract: str, points: int = 1, forbidden=()):
        self.id, self.reference, self.contract, self.points = exercise_id, reference, contract, points
        self.forbidden = tuple(forbidden)  # dotted names of callables the contract forbids (course_lib.contracts)
        self.tests = []

    def test(self, description: str):
        """Decorator: register `fn(student_obj)` as one public test of this exercise."""
        def register(fn):
            self.tests.append((description, fn))
            return fn
        return register


def exercise(exercise_id: str, reference, contract: str, points: int = 1, forbidden=()) -> Exercise:
    """Declare an exercise (id, the course_lib reference to fall back on, its contract in one line, and the
    dotted names of the callables that contract forbids, e.g. ("torch.nn.functional.conv2d",))."""
    if exercise_id in EXERCISES:
        raise ValueError(f"exercise id {exercise_id!r} is declared twice")
    EXERCISES[exercise_id] = ex = Exercise(exercise_id, reference, contract, points, forbidden)
    return ex


def load_all() -> dict:
    """Import every course_lib/checks/*.py so all exercises are registered."""
    from . import checks
    for info in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"{checks.__name__}.{info.name}")
    return EXERCISES


def get(exercise_id: str) -> Exercise:
    load_all()
    if exercise_id not in EXERCISES:
        raise KeyError(f"No exercise {exercise_id!r}. Known: {', '.join(sorted(EXERCISES))}")
    return EXERCISES[exercise_id]


def user_frame(tb) -> str:
    """Where in the student's code an exception came from (not course_lib internals)."""
    frames = [f for f in traceback.extract_tb(tb) if "course_lib" not in f.filename]
    return f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""


def run_test(exercise_id: str, description: str, fn, obj, used: list | None = None, guard: bool = True) -> Result:
    """Run one public test on `obj` (seeded); never raises. A forbidden callable used by `obj` fails it
    (`guard=False`: the caller watches for them itself, as the grader does in its sandboxed child)."""
    from .contracts import guarded, short
    forbidden = EXERCISES[exercise_id].forbidden if exercise_id in EXERCISES and guard else ()
    used = [] if used is None else used
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(0)
        try:
            fn(guarded(obj, forbidden, used))
            result = Result(description, PASS)
        except NotImplementedError:
            result = Result(description, TODO, "not implemented yet")
        except CheckFailure as err:
            result = Result(description, FAIL, str(err))
        except Exception as err:  # the student's code crashed: show its own error, not ours
            result = Result(description, ERROR,
                            f"your code raised {type(err).__name__}: {err}{user_frame(err.__traceback__)}")
    if used and result.status != TODO:
        result = Result(description, FAIL, f"your code used {', '.join(map(short, used))}, which the contract forbids")
    result.warnings = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))[:3]
    return result


def run_checks(exercise_id: str, obj) -> list[Result]:
    """Run every public test of an exercise on `obj`; never raises, never prints."""
    return [run_test(exercise_id, description, fn, obj) for description, fn in get(exercise_id).tests]


def first_failure(statuses) -> int | None:
    """Index of the first failed (or crashed) test among `statuses`, None when none failed. One bug, one
    message: only that test's hint is shown; every later failure may share its cause (course_lib.grade too)."""
    return next((i for i, s in enumerate(statuses) if s in (FAIL, ERROR)), None)


def report(results: list[Result]) -> list[str]:
    """The lines `check` prints: one bug, one message. The first failing test's message is shown in full; the
    later failures are listed without their hints, marked as possibly sharing its cause (a transposed kernel
    also fails the padding, stride and bias tests): fix the first, re-run, and the next hint shows when the
    first test passes. When the first failure is the basic test (shape, type, the simplest case), it says so
    before the rest. Warnings are shown without any source line."""
    lines, first = [], first_failure([r.status for r in results])
    for i, r in enumerate(results):
        mark = "PASS" if r.status == PASS else "FAIL"
        if first is not None and i > first and r.status != PASS:
            lines.append(f"  [{mark}] {r.test} (may share the cause above)")
        else:
            lines.append(f"  [{mark}] {r.test}" + (f": {r.message}" if r.message else ""))
        lines += [f"         warning: {w}" for w in getattr(r, "warnings", [])]
        if i == first and any(q.status != PASS for q in results[i + 1:]):
            lines.append("  Fix this first: the failures below may all come from it." if i == 0 else
                         "  Fix this first, then re-run: the failures below may come from the same mistake.")
    return lines


def check(exercise_id: str, obj):
    """Self-check an exercise in the notebook. Returns `obj` if it passes, else the reference."""
    ex = get(exercise_id)
    results = run_checks(exercise_id, obj)
    passed = sum(r.status == PASS for r in results)
    if all(r.status == TODO for r in results):
        print(f"[TODO] {exercise_id}: not implemented yet. Contract: {ex.contract}")
    else:
        print("\n".join(report(results)))
        print(f"{'[OK]' if passed == len(results) else '[FAIL]'} {exercise_id}: {passed}/{len(results)} checks passed")
    if passed == len(results):
        return obj
    if env.strict() and any(r.status in (FAIL, ERROR) for r in results):
        raise CheckFailed(f"{exercise_id} failed its self-check under COURSE_STRICT=1")
    name = getattr(ex.reference, "__qualname__", repr(ex.reference))
    print(f"-> The rest of this notebook uses course_lib's reference `{ex.reference.__module__}.{name}` "
          f"instead of yours. Come back to this exercise and re-run this cell when it is done.")
    return ex.reference
