"""Trusted judging: the parent finds the exercises, runs each in the sandboxed child, and computes every
verdict itself from the values the child returns (grade/proxy.py). Private tests run only here.

Which public tests the parent can judge through proxies is measured, not assumed: `calibrate` runs
every test on course_lib's reference living in a fresh child (before any student code) and keeps
those that pass that way; the others (a test that needs isinstance or autograd through a remote
module) are judged inside the sandbox and marked untrusted (TestResult.trusted).
"""
import ast
import threading
import time
from pathlib import Path

from .. import contracts, selfcheck
from ..authoring import notebook
from . import channel, proxy
from .results import (CRASHED, ERROR, FAILED, GRADER_ERROR, MEMORY, MISSING, NO_EXERCISES, NOT_A_NOTEBOOK,
                      NOT_ATTEMPTED, PASSED, SYNTAX_ERROR, TEST_ERROR, TEST_FAIL, TEST_PASS, TEST_TODO, TIMEOUT,
                      Outcome, TestResult, clean)
from .sandbox import Child

# ---------------------------------------------------------------- private tests (parent only)
EXTRA_TESTS: dict = {}  # exercise id -> [(description, fn, points)]


def extra_test(exercise_id: str, description: str, points: float = 1):
    """Decorator for an instructor's private test: `@extra_test("l01_conv2d", "handles 1x1 kernels")`.

    `fn(student_obj)` fails like a public test (course_lib.selfcheck.expect); passing earns `points`.
    It runs in the grader's own process on a proxy of the student's object: students see only the
    description and whether it passed."""
    def register(fn):
        EXTRA_TESTS.setdefault(exercise_id, []).append((description, fn, points))
        return fn
    return register


def load_extra_tests(folder) -> dict:
    """Import every *.py in `folder` (sorted), which registers tests with @extra_test."""
    import importlib.util
    EXTRA_TESTS.clear()
    if folder:
        for path in sorted(Path(folder).glob("*.py")):
            spec = importlib.util.spec_from_file_location(f"course_extra_tests.{path.stem}", path)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        unknown = sorted(set(EXTRA_TESTS) - set(selfcheck.load_all()))
        if unknown:
            raise ValueError(f"--extra-tests registers tests on unknown exercise(s): {', '.join(unknown)}")
    return EXTRA_TESTS


# ---------------------------------------------------------------- calibration
_TRUSTED: dict = {}   # exercise id -> set of public test indices the parent judges
_LOCK = threading.Lock()


def calibrate(exercise_ids, options) -> dict:
    """{exercise id: indices of the public tests that pass on the reference through proxies}; cached."""
    with _LOCK:
        todo = [e for e in exercise_ids if e not in _TRUSTED]
        if todo:
            child = Child(options.limits, options.hidden, options.unsafe)
            child.start()
            try:
                session = proxy.Session(child, proxy.deadline_in(options.startup + 60 * len(todo)))
                session.request("init", imports=[], lessons=sorted({e[1:3] for e in todo}))
                for exercise_id in todo:
                    session.exercise = exercise_id
                    ref = session.decode(session.request("reference", exercise=exercise_id)["object"])
                    tests = selfcheck.get(exercise_id).tests
                    _TRUSTED[exercise_id] = {
                        i for i, (d, fn) in enumerate(tests)
                        if selfcheck.run_test(exercise_id, d, fn, ref, guard=False).status == TEST_PASS}
                    for description, fn, _ in EXTRA_TESTS.get(exercise_id, []):
                        if selfcheck.run_test("", description, fn, ref, guard=False).status != TEST_PASS:
                            options.warn(f"private test '{description}' of {exercise_id} fails on course_lib's "
                                         "reference when run on a proxy: it will fail for every student")
            finally:
                child.kill()
        return {e: _TRUSTED[e] for e in exercise_ids}


# ---------------------------------------------------------------- one notebook
class Task:
    """One exercise of one notebook: its cell, what to grade, the contract check, or why it cannot run."""

    def __init__(self, nb, exercise_id: str, imports: str):
        ex = selfcheck.get(exercise_id)
        self.exercise, self.source, self.expression, self.status, self.message = exercise_id, "", "", "", ""
        self.notes, self.violations = [], []
        where = notebook.locate(nb, exercise_id, getattr(ex.reference, "__name__", ""))
        if where.cell is None:
            self.status, self.message = MISSING, where.problem
            return
        if where.duplicates:
            self.notes.append(f"{exercise_id} appears in {len(where.duplicates) + 1} cells; graded the last one "
                              f"(cell {where.cell + 1}), which the notebook runs last")
        self.source = nb.cells[where.cell].source
        code = notebook.python_source(self.source)
        try:
            ast.parse(code)
        except SyntaxError as err:
            self.status, self.message = SYNTAX_ERROR, f"line {err.lineno}: {err.msg}"
            return
        self.expression, problem = notebook.graded_expression(nb, where, getattr(ex.reference, "__name__", ""))
        if problem:
            self.status, self.message = MISSING, problem
            return
        reference = f"{ex.reference.__module__}.{ex.reference.__qualname__}"
        self.violations = (contracts.static_violations(code, imports, ex.forbidden) +
                           contracts.static_violations(code, imports, (reference,), dynamic=False))


def _points(ex, extra: list, status: str, tests: list) -> float:
    public = [t for t in tests if not t.private]
    if status in (PASSED, FAILED) and public:
        earned = sum(t.status == TEST_PASS for t in public) / len(public) * ex.points
        earned += sum(points for (_, _, points), t in zip(extra, [t for t in tests if t.private])
                      if t.status == TEST_PASS)
        return round(earned, 2)
    return 0.0


class Runner:
    """The child of one notebook: started on demand, restarted after it had to be killed."""

    def __init__(self, imports: list, lesson: str, options):
        self.imports, self.lesson, self.options, self.child, self.notes = imports, lesson, options, None, None

    def session(self, seconds: float) -> proxy.Session:
        if self.child is None:
            self.child = Child(self.options.limits, self.options.hidden, self.options.unsafe)
            self.child.start()
            session = proxy.Session(self.child, proxy.deadline_in(self.options.startup))
            reply = session.request("init", imports=self.imports, lessons=[self.lesson])
            if self.notes is None:
                self.notes = [clean(n) for n in (reply.get("notes") or [])[:20] if isinstance(n, str)]
        return proxy.Session(self.child, proxy.deadline_in(seconds))

    def kill(self) -> str:
        ended = self.child.ended(wait=0.5) if self.child else "never started"
        tail = self.child.stderr_tail() if self.child else ""
        if self.child:
            self.child.kill()
        self.child = None
        return ended, tail


def _ended_message(ended: str, options) -> tuple[str, str]:
    if ended.startswith("exit code"):
        return CRASHED, f"the notebook called sys.exit/os._exit ({ended}) while this exercise was graded"
    if ended == "signal SIGXCPU":
        return TIMEOUT, f"the notebook used up its CPU time ({options.limits.cpu_seconds} s)"
    if ended == "signal SIGXFSZ":
        return CRASHED, f"the notebook wrote a file larger than {options.limits.file_mb} MB"
    if ended == "signal SIGKILL":
        return MEMORY, "the grading process was killed (out of memory?)"
    return CRASHED, f"the grading process died ({ended})"


def judge_exercise(task: Task, session: proxy.Session, trusted: set, runner) -> tuple[str, str, list]:
    """Run one exercise cell in the child and its tests here; (status, message, [TestResult])."""
    ex, extra = selfcheck.get(task.exercise), EXTRA_TESTS.get(task.exercise, [])
    session.exercise = task.exercise
    done = session.request("exec", exercise=task.exercise, source=task.source, expression=task.expression)
    if done.get("status"):
        status = str(done["status"]) if done["status"] in (NOT_ATTEMPTED, ERROR, MEMORY) else ERROR
        return status, clean(done.get("message", "")), []
    obj = session.decode(done.get("object"))
    results = []
    for i, (description, fn) in enumerate(ex.tests):
        session.used = []
        if task.violations:
            results.append(TestResult(description, TEST_FAIL, f"the exercise cell {task.violations[0]}, "
                                                              "which the contract forbids"))
        elif i in trusted:
            r = selfcheck.run_test(task.exercise, description, fn, obj, guard=False)
            status, message = r.status, r.message
            if session.used:
                status, message = TEST_FAIL, (f"your code used {', '.join(map(contracts.short, session.used))}, "
                                              "which the contract forbids")
            results.append(TestResult(description, status, clean(message)))
        else:
            import torch
            reply = session.request("judge", exercise=task.exercise, test=i, target=obj._hid,
                                    rng=torch.get_rng_state())
            status = reply.get("status") if reply.get("status") in (TEST_PASS, TEST_FAIL, TEST_ERROR, TEST_TODO) \
                else TEST_ERROR
            results.append(TestResult(description, status, clean(reply.get("message", "")), trusted=False))
    for description, fn, _ in extra:
        session.used = []
        r = selfcheck.run_test("", description, fn, obj, guard=False)
        passed = r.status == TEST_PASS and not session.used and not task.violations
        results.append(TestResult(description, TEST_PASS if passed else TEST_FAIL, "", private=True))
    public = [t for t in results if not t.private]
    if public and all(t.status == TEST_TODO for t in public):
        return NOT_ATTEMPTED, "not implemented yet", results
    if all(t.status == TEST_PASS for t in results):
        return PASSED, "", results
    hint = ("The grader runs each exercise cell on its own, after the notebook's import lines: define your "
            "helpers inside the exercise cell.") if any("NameError" in t.message for t in results) else ""
    return FAILED, hint, results


def grade_file(student: str, rel: str, path: Path, options) -> list:
    """Grade one file; a list of Outcomes (one per exercise, or one for the file)."""
    known = selfcheck.load_all()
    start = time.perf_counter()
    try:
        nb = notebook.read(path)
    except ValueError as err:
        return [Outcome(student, rel, status=NOT_A_NOTEBOOK, message=f"{path.name} {err}")]
    lesson = notebook.identify_lesson(nb, known)
    if not lesson:
        return [Outcome(student, rel, status=NO_EXERCISES,
                        message=f"{path.name} is a notebook, but none of the course's exercise ids appear in it")]
    ids = sorted(i for i in known if i.startswith(f"l{lesson}_"))
    imports = notebook.import_lines(nb)
    tasks = [Task(nb, i, imports) for i in ids]
    trusted = calibrate(ids, options)
    runner = Runner(imports.splitlines(), lesson, options)
    outcomes, log = [], ""
    try:
        for task in tasks:
            status, message, tests = task.status, task.message, []
            if not status:
                try:
                    session = runner.session(options.limits.seconds)
                    status, message, tests = judge_exercise(task, session, trusted[task.exercise], runner)
                except channel.ChannelTimeout:
                    runner.kill()
                    status, message = TIMEOUT, f"stopped after {options.limits.seconds:g} s (an endless loop?)"
                except channel.ChannelClosed:
                    ended, tail = runner.kill()
                    status, message = _ended_message(ended, options)
                    if runner.notes is None:  # it died before running any of the student's code: ours
                        status, message = GRADER_ERROR, f"the grading process ended ({ended}) before running any code"
                        log = f"{rel}: the grading process ended ({ended}); the end of its stderr:\n{tail}"
                except channel.BadReply as err:
                    runner.kill()
                    status, message = ERROR, f"the notebook's process sent an invalid reply: {err}"
            ex = known[task.exercise]
            extra = EXTRA_TESTS.get(task.exercise, [])
            outcomes.append(Outcome(student, rel, lesson, task.exercise, _points(ex, extra, status, tests),
                                    ex.points + sum(p for _, _, p in extra), status, message, tests,
                                    notes=task.notes))
    finally:
        runner.kill()
    notes = (runner.notes or []) + [n for t in tasks for n in t.notes]
    for outcome in outcomes:
        outcome.seconds, outcome.notes = time.perf_counter() - start, notes
    outcomes[0].log = log
    return outcomes
