"""Grade student notebooks in one command: `python -m course_lib.grade SUBMISSIONS/ --out grades/`.

For every notebook under SUBMISSIONS/ the grader finds the exercises by their ids (nbgrader
metadata, else the `check("lNN_...", obj)` calls and the exercise markers), which also tells the
lesson. A child process per notebook (`-j` of them at a time, no network, a memory cap) runs the
notebook's import lines, then each exercise cell on its own with a time limit, and the lesson's
public tests (course_lib.selfcheck) plus the instructor's private ones (`--extra-tests DIR`) on the
object the notebook passes to `check`. Only exercise cells run: it is fast, and a broken cell
later in the notebook cannot zero earlier exercises.

Writes OUT/grades.csv (one row per exercise) and OUT/feedback/<student>.md (results and the
public tests' messages, never test source or expected values), and prints a summary.
Points: an exercise's `points` times the fraction of its public tests passed, plus each private
test's points when it passes. docs/instructors.md describes the workflow.
"""
import argparse
import ast
import csv
import importlib.util
import json
import linecache
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .notebook import BEGIN, CHECK_CALL, import_lines

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["student", "lesson", "exercise", "points", "max_points", "status", "file"]
# Statuses of an exercise, then of a whole file (those rows have no exercise).
PASSED, FAILED, NOT_ATTEMPTED, MISSING = "passed", "failed", "not attempted", "missing"
SYNTAX_ERROR, ERROR, TIMEOUT, MEMORY, CRASHED = "syntax error", "error", "timeout", "memory limit", "crashed"
NOT_A_NOTEBOOK, NO_EXERCISES, EMPTY_FOLDER, GRADER_ERROR = ("not a notebook", "no exercises found",
                                                          "empty folder", "grader error")
MAX_FILE_BYTES = 200 * 2**20
STARTUP_SECONDS = 60  # on top of the exercises' time limits, for the child's imports


# ---------------------------------------------------------------- private tests
EXTRA_TESTS: dict = {}  # exercise id -> [(description, fn, points)]


def extra_test(exercise_id: str, description: str, points: float = 1):
    """Decorator for an instructor's private test: `@extra_test("l01_conv2d", "handles 1x1 kernels")`.

    `fn(student_obj)` fails like a public test (course_lib.selfcheck.expect); passing earns `points`.
    Students see only the description and whether it passed.
    """
    def register(fn):
        EXTRA_TESTS.setdefault(exercise_id, []).append((description, fn, points))
        return fn
    return register


def load_extra_tests(folder) -> dict:
    """Import every *.py in `folder` (sorted), which registers tests with @extra_test."""
    from .selfcheck import load_all
    EXTRA_TESTS.clear()
    if folder:
        for path in sorted(Path(folder).glob("*.py")):
            spec = importlib.util.spec_from_file_location(f"course_extra_tests.{path.stem}", path)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        unknown = sorted(set(EXTRA_TESTS) - set(load_all()))
        if unknown:
            raise ValueError(f"--extra-tests registers tests on unknown exercise(s): {', '.join(unknown)}")
    return EXTRA_TESTS


# ---------------------------------------------------------------- reading a submission
@dataclass
class Task:
    """One exercise of one notebook: where it is, what to grade, or why it cannot be graded."""
    exercise: str
    source: str = ""       # the exercise cell
    expression: str = ""   # the object to grade, as the check call names it
    status: str = ""       # set when it cannot be run (missing, syntax error)
    message: str = ""


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
    tests: list = field(default_factory=list)   # [description, status, message, private]
    notes: list = field(default_factory=list)   # about the whole notebook (an import that failed)
    seconds: float = 0.0                         # these two are printed, never written to a file
    log: str = ""


def python_source(source: str) -> str:
    """A cell's code without IPython magics and shell lines (line numbers kept)."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        lines[0] = ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def read_notebook(path: Path):
    """The notebook at `path`, or ValueError saying why it is not one."""
    import nbformat
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"file larger than {MAX_FILE_BYTES >> 20} MB")
    try:
        with warnings.catch_warnings():  # Colab and old notebooks: missing cell ids and the like
            warnings.simplefilter("ignore")
            nb = nbformat.reads(path.read_text(encoding="utf-8-sig", errors="replace"), as_version=4)
    except Exception as err:  # not JSON, truncated, not nbformat
        raise ValueError(f"cannot be read as a Jupyter notebook ({type(err).__name__})") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("cannot be read as a Jupyter notebook (no cells)")
    nb.cells = [c for c in nb.cells if isinstance(c.get("source"), str) and c.get("cell_type")]
    return nb


def defined_names(source: str) -> list:
    """Names a cell defines at top level (def, class, assignment, import), in order."""
    try:
        body = ast.parse(python_source(source)).body
    except SyntaxError:  # still say what it tries to define, so a broken cell is found (and reported)
        return list(dict.fromkeys(a or b for a, b in re.findall(r"^(?:async +)?(?:def|class) +(\w+)|^(\w+) *=(?!=)",
                                                                  source, re.M)))
    names = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and not _is_check(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names]
    return list(dict.fromkeys(names))


def _is_check(node) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"


def check_calls(nb) -> list:
    """(cell index, exercise id, object expression or "") for every check("id", obj) call."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not CHECK_CALL.search(cell.source):
            continue
        try:
            calls = [(node.args[0].value, ast.unparse(node.args[1]) if len(node.args) > 1 else "")
                     for node in ast.walk(ast.parse(python_source(cell.source)))
                     if _is_check(node) and node.args and isinstance(node.args[0], ast.Constant)]
        except SyntaxError:  # fall back on the text
            calls = re.findall(r"""\bcheck\(\s*["']([\w.-]+)["']\s*(?:,\s*([\w.]+))?""", cell.source)
        found += [(i, exercise_id, expression) for exercise_id, expression in calls]
    return found


def grade_id(cell) -> str:
    """The nbgrader grade_id of a cell ("" when its metadata was lost or mangled)."""
    meta = cell.get("metadata")
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return str(nbgrader.get("grade_id", "")) if isinstance(nbgrader, dict) else ""


def exercise_ids(nb) -> list:
    """Every exercise id a notebook mentions: nbgrader metadata, check calls, stub messages."""
    ids = [grade_id(c) for c in nb.cells]
    ids += [exercise_id for _, exercise_id, _ in check_calls(nb)]
    ids += [m for c in nb.cells for m in re.findall(r"NotImplementedError\(\s*[\"']Exercise (l\d\d_\w+)", c.source)]
    return [i for i in ids if re.fullmatch(r"l\d\d_\w+", i)]


def identify_lesson(nb, known) -> str:
    """The lesson ("01") most of the notebook's known exercise ids belong to, or "" if none."""
    lessons = Counter(i[1:3] for i in exercise_ids(nb) if i in known)
    return min(lessons, key=lambda lesson: (-lessons[lesson], lesson)) if lessons else ""


def find_task(nb, exercise_id: str, reference_name: str) -> Task:
    """Locate one exercise in a notebook by its id (never by position: cells may be reordered)."""
    calls = [(i, expr) for i, ex, expr in check_calls(nb) if ex == exercise_id]
    check_cells = {i for i, _, _ in check_calls(nb)}
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    expression = calls[0][1] if calls else ""
    stub = re.compile(r"NotImplementedError\(\s*[\"']Exercise " + exercise_id + r"\b")
    cell = next((i for i, c in code if grade_id(c) == exercise_id), None)
    if cell is None:
        cell = next((i for i, c in code if stub.search(c.source)), None)
    if cell is None and calls:  # the solution markers, or the cell defining the checked name, nearest first
        before = [i for i, _ in code if i <= calls[0][0]][::-1] + [i for i, _ in code if i > calls[0][0]]
        cell = next((i for i in before if BEGIN in nb.cells[i].source and
                     min((j for j in check_cells if j > i), default=None) == calls[0][0]), None)
        if cell is None and expression.isidentifier():
            cell = next((i for i in before if expression in defined_names(nb.cells[i].source)), None)
    if cell is None and not calls:
        cell = next((i for i, c in code if reference_name in defined_names(c.source)), None)
    if cell is None:
        if calls and expression.isidentifier():
            why = f"no cell defines {expression} (the exercise cell was deleted, or the function renamed)"
        elif calls:
            why = "its exercise cell was not found (deleted?)"
        else:
            why = f'neither its exercise cell nor its check("{exercise_id}", ...) cell was found'
        return Task(exercise_id, status=MISSING, message=why)
    source = nb.cells[cell].source
    try:
        ast.parse(python_source(source))
    except SyntaxError as err:
        return Task(exercise_id, source, status=SYNTAX_ERROR, message=f"line {err.lineno}: {err.msg}")
    names = defined_names(source)
    if not expression:  # check call deleted: grade what the cell defines
        defs = [n for n in names if n == reference_name] or names[-1:]
        if not defs:
            return Task(exercise_id, status=MISSING, message="the exercise cell defines nothing to grade")
        expression = defs[0]
    root = expression.split(".")[0]
    if re.fullmatch(r"[\w.]+", expression) and root not in names:  # a plain name the cell should define
        defines = f" the exercise cell defines {', '.join(names)}" if names else ""
        return Task(exercise_id, status=MISSING, message=f'no cell defines {root}, which check("{exercise_id}", '
                                                         f"{expression}) grades (renamed?{defines})")
    return Task(exercise_id, source, expression)


# ---------------------------------------------------------------- the child process
class GradingTimeout(BaseException):
    """Raised by the alarm inside the child; BaseException so that `except Exception` cannot swallow it."""


class _Sink:
    """Stands in for stdout/stderr in the child: keeps nothing, so huge outputs cost nothing."""
    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def _guard_network():
    """Refuse socket connections to anything but this machine (proxies point nowhere too)."""
    import socket
    connect = socket.socket.connect

    def local_only(self, address):
        host = address[0] if isinstance(address, tuple) else "local"
        if host not in ("local", "127.0.0.1", "::1", "localhost"):
            raise ConnectionRefusedError(111, f"network access is disabled while grading (tried {host})")
        return connect(self, address)

    def local_only_ex(self, address):
        try:
            local_only(self, address)
            return 0
        except OSError as err:
            return err.errno or 111
    socket.socket.connect, socket.socket.connect_ex = local_only, local_only_ex


def _cap_memory(megabytes: int):
    """Linux: the student's code may allocate `megabytes` more than the course's imports use."""
    try:
        import resource
        status = Path("/proc/self/status").read_text()
        size = int(re.search(r"VmSize:\s+(\d+) kB", status).group(1)) * 1024
        limit = size + megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, AttributeError, ValueError):
        pass  # no cap where the OS has no such limit (the per-notebook timeout still applies)


def _clean(message: str, limit: int = 500) -> str:
    """Short, deterministic messages: no memory addresses, bounded length."""
    message = re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", str(message)).strip()
    return message if len(message) <= limit else message[:limit] + " …"


def _run_exercise(task: dict, base: dict, seconds: float) -> dict:
    """Execute one exercise cell in a fresh copy of the imports' namespace, then its tests."""
    from . import selfcheck
    exercise_id = task["exercise"]

    def on_alarm(signum, frame):
        raise GradingTimeout
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    namespace = dict(base)
    filename = f"<exercise {exercise_id}>"
    linecache.cache[filename] = (len(task["source"]), None, task["source"].splitlines(True), filename)
    try:
        try:
            exec(compile(python_source(task["source"]), filename, "exec"), namespace)
        except NotImplementedError:
            return {"status": NOT_ATTEMPTED, "message": "the exercise cell raises NotImplementedError"}
        except GradingTimeout:
            raise
        except MemoryError:
            return {"status": MEMORY, "message": "running the exercise cell ran out of memory"}
        except BaseException as err:
            status = MEMORY if "can't allocate memory" in str(err) else ERROR
            return {"status": status, "message": _clean(f"running the exercise cell raised {type(err).__name__}: "
                                                        f"{err}{selfcheck.user_frame(err.__traceback__)}")}
        obj = eval(task["expression"], namespace)
        if obj is selfcheck.get(exercise_id).reference:
            return {"status": NOT_ATTEMPTED, "message": f"{task['expression']} is course_lib's reference, not your code"}
        results = [(r, False) for r in selfcheck.run_checks(exercise_id, obj)]
        if exercise_id + " (private)" in selfcheck.EXERCISES:
            results += [(r, True) for r in selfcheck.run_checks(exercise_id + " (private)", obj)]
    except GradingTimeout:
        return {"status": TIMEOUT, "message": f"stopped after {seconds:g} s (an endless loop?)"}
    except BaseException as err:
        return {"status": ERROR, "message": _clean(f"{type(err).__name__}: {err}")}
    finally:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
    tests = [[r.test, r.status, "" if private else _clean(r.message), private] for r, private in results]
    if all(r.status == selfcheck.TODO for r, private in results if not private):
        return {"status": NOT_ATTEMPTED, "message": "not implemented yet", "tests": tests}
    hint = (" The grader runs each exercise cell on its own, after the notebook's import lines: "
            "define your helpers inside the exercise cell.") if any("NameError" in t[2] for t in tests) else ""
    if all(r.status == selfcheck.PASS for r, _ in results):
        return {"status": PASSED, "message": "", "tests": tests}
    return {"status": FAILED, "message": hint.strip(), "tests": tests}


def child_main(job_path: str) -> None:
    """Entry point of the grading child process (see `grade_notebook`)."""
    job_file = Path(job_path)
    job = json.loads(job_file.read_text())
    out = job_file.with_name("result.json")
    _guard_network()
    from . import selfcheck
    selfcheck.load_all()
    for exercise_id, tests in load_extra_tests(job["extra_tests"]).items():
        private = selfcheck.exercise(exercise_id + " (private)", None, "private tests")
        private.tests = [(description, fn) for description, fn, _ in tests]
    result = {"notes": [], "exercises": {}}

    def save():
        out.with_suffix(".tmp").write_text(json.dumps(result))
        out.with_suffix(".tmp").replace(out)
    sys.stdout = sys.stderr = _Sink()
    save()  # from here on, anything that goes wrong is the student's code
    base = {"__name__": "__main__", "display": lambda *args, **kwargs: None}
    for line in job["imports"]:
        try:
            exec(line, base)
        except BaseException as err:
            result["notes"].append(_clean(f"`{line}` failed ({type(err).__name__}: {err}); "
                                          "the grader went on without it."))
    base["check"] = lambda exercise_id, obj: obj  # a check call inside an exercise cell must not run the tests
    _cap_memory(job["memory_mb"])
    for task in job["tasks"]:
        result["exercises"][task["exercise"]] = _run_exercise(task, base, job["timeout"])
        save()


# ---------------------------------------------------------------- grading one file
def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_STRICT", "PYTHONSTARTUP")}
    env.update(COURSE_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               CUDA_VISIBLE_DEVICES="", COURSE_PROGRESS="0", PYTHONHASHSEED="0",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="",
               PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])))
    return env


_RUNNING: set = set()  # child processes now running (to stop them all on Ctrl-C)


def _kill(proc) -> None:
    """Stop a child and whatever it started (data loader workers, ...)."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.kill()
    proc.wait()


def _run_child(tasks: list, nb, options) -> tuple:
    """Run the runnable tasks in a child process; (result dict or None, how it ended, its stderr's tail)."""
    limit = STARTUP_SECONDS + options.timeout * (len(tasks) + 1)
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({
            "imports": import_lines(nb).splitlines(), "timeout": options.timeout, "memory_mb": options.memory,
            "extra_tests": str(Path(options.extra_tests).resolve()) if options.extra_tests else None,
            "tasks": [{"exercise": t.exercise, "source": t.source, "expression": t.expression} for t in tasks]}))
        command = [sys.executable, "-c", "import sys; from course_lib.grade import child_main; child_main(sys.argv[1])",
                   str(job)]
        with open(Path(tmp) / "stderr.txt", "wb") as err:
            proc = subprocess.Popen(command, cwd=tmp, env=_child_env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=os.name == "posix")
            _RUNNING.add(proc)
            try:
                proc.wait(timeout=limit)
                ended = "exit" if proc.returncode == 0 else f"died (exit code {proc.returncode})"
            except subprocess.TimeoutExpired:
                ended = "timeout"
            _kill(proc)
            _RUNNING.discard(proc)
        result_file = Path(tmp) / "result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else None
        tail = (Path(tmp) / "stderr.txt").read_bytes()[-2000:].decode(errors="replace").strip()
        return result, ended if ended != "timeout" else f"timeout after {limit:g} s", tail


def _points(exercise, extra: list, status: str, tests: list) -> float:
    public = [t for t in tests if not t[3]]
    if status in (PASSED, FAILED) and public:
        passed = sum(t[1] == "pass" for t in public) / len(public) * exercise.points
        passed += sum(points for (_, _, points), t in zip(extra, [t for t in tests if t[3]]) if t[1] == "pass")
        return round(passed, 2)
    return 0.0


def grade_notebook(student: str, rel: str, path: Path, options) -> list:
    """Grade one file; a list of Outcomes (one per exercise, or one for the file)."""
    from .selfcheck import load_all
    known = load_all()
    start = time.perf_counter()
    try:
        nb = read_notebook(path)
    except ValueError as err:
        return [Outcome(student, rel, status=NOT_A_NOTEBOOK, message=f"{path.name} {err}")]
    lesson = identify_lesson(nb, known)
    if not lesson:
        return [Outcome(student, rel, status=NO_EXERCISES,
                        message=f"{path.name} is a notebook, but none of the course's exercise ids appear in it")]
    ids = sorted(i for i in known if i.startswith(f"l{lesson}_"))
    tasks = [find_task(nb, i, getattr(known[i].reference, "__name__", "")) for i in ids]
    runnable = [t for t in tasks if not t.status]
    result, ended, tail = _run_child(runnable, nb, options) if runnable else ({"notes": [], "exercises": {}}, "exit", "")
    outcomes = []
    for task in tasks:
        extra = EXTRA_TESTS.get(task.exercise, [])
        most = known[task.exercise].points + sum(points for _, _, points in extra)
        done = (result or {}).get("exercises", {}).get(task.exercise)
        if task.status:
            status, message, tests = task.status, task.message, []
        elif done:
            status, message, tests = done["status"], done["message"], done.get("tests", [])
        elif ended.startswith("timeout"):
            status, message, tests = TIMEOUT, f"the notebook was stopped ({ended})", []
        elif result is None:  # it failed before running any of the student's code: our failure
            status, message, tests = GRADER_ERROR, f"the grading process {ended} before running any code", []
        else:
            status, message, tests = CRASHED, f"the grading process {ended} (out of memory?)", []
        outcomes.append(Outcome(student, rel, lesson, task.exercise, _points(known[task.exercise], extra, status, tests),
                                most, status, message, tests))
    for outcome in outcomes:
        outcome.seconds, outcome.notes = time.perf_counter() - start, (result or {}).get("notes", [])
    if not ended.startswith(("exit", "timeout")):
        outcomes[0].log = f"{rel}: the grading process {ended}; the end of its stderr:\n{tail}"
    return outcomes


# ---------------------------------------------------------------- finding submissions, writing outputs
def find_submissions(root: Path, skip: Path) -> list:
    """(student, relative path, path) for every file; a subfolder SUBMISSIONS/<student>/... names the student."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__MACOSX" or part == "__pycache__" for part in rel.parts):
            continue
        if path.resolve() == skip or skip in path.resolve().parents:
            continue
        student = rel.parts[0] if len(rel.parts) > 1 else path.stem
        if path.is_file():
            found.append((student, rel.as_posix(), path))
        elif path.is_dir() and len(rel.parts) == 1 and not any(
                p.is_file() and not p.name.startswith(".") for p in path.rglob("*")):
            found.append((student, rel.as_posix() + "/", path))
    return found


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def feedback(student: str, outcomes: list) -> str:
    """One student's feedback in Markdown: statuses and the public tests' messages only."""
    total, most = sum(o.points for o in outcomes), sum(o.max_points for o in outcomes)
    lines = [f"# Feedback for {student}", "", f"Total: {_number(total)} / {_number(most)} points", ""]
    for rel in sorted({o.file for o in outcomes}):
        mine = [o for o in outcomes if o.file == rel]
        head = mine[0]
        if not head.exercise:
            lines += [f"## {rel}: {head.status}", "", head.message, ""]
            continue
        lines += [f"## {rel} (lesson {head.lesson}): {_number(sum(o.points for o in mine))} / "
                  f"{_number(sum(o.max_points for o in mine))} points"]
        lines += [f"Note: {note}" for note in head.notes]
        for o in mine:
            lines += ["", f"### {o.exercise}: {o.status} ({_number(o.points)} / {_number(o.max_points)})"]
            if o.message:
                lines.append(o.message)
            for description, status, message, private in ([] if o.status == NOT_ATTEMPTED else o.tests):
                mark = "PASS" if status == "pass" else ("TODO" if status == "not implemented" else "FAIL")
                name = f"private test: {description}" if private else description
                lines.append(f"- [{mark}] {name}" + (f": {message}" if message and not private else ""))
        lines.append("")
    lines += ["---", "Each exercise cell was run on its own, after the notebook's import lines, and its object was "
              "tested as `check(...)` does in the notebook. Messages say what is wrong, never the expected values."]
    return "\n".join(lines).rstrip() + "\n"


def write_outputs(outcomes: list, out: Path) -> None:
    """grades.csv (sorted, no times) and feedback/<student>.md, replacing earlier feedback files."""
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(([o.student, o.lesson, o.exercise, _number(o.points), _number(o.max_points), o.status, o.file]
                   for o in outcomes), key=lambda r: (r[0], r[1], r[6], r[2]))
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    folder = out / "feedback"
    if folder.exists():
        for old in folder.glob("*.md"):
            old.unlink()
    folder.mkdir(exist_ok=True)
    by_student = defaultdict(list)
    for o in outcomes:
        by_student[o.student].append(o)
    for student, mine in by_student.items():
        name = re.sub(r"[^\w.-]", "_", student) or "_"
        (folder / f"{name}.md").write_text(feedback(student, mine), encoding="utf-8")


def summary(outcomes: list, seconds: float, jobs: int) -> str:
    """The table printed at the end: one line per submitted file (times here, never in the files)."""
    by_file = defaultdict(list)
    for o in outcomes:
        by_file[(o.student, o.file)].append(o)
    rows = [("student", "file", "lesson", "points", "statuses", "seconds")]
    for (student, rel), mine in sorted(by_file.items()):
        statuses = Counter(o.status for o in mine)
        rows.append((student, rel, mine[0].lesson or "-",
                     f"{_number(sum(o.points for o in mine))}/{_number(sum(o.max_points for o in mine))}",
                     ", ".join(f"{s} {n}" if n > 1 else s for s, n in sorted(statuses.items())),
                     f"{max(o.seconds for o in mine):.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    text = ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths)).rstrip() for r in rows]
    text.append(f"{len(by_file)} file(s) of {len({o.student for o in outcomes})} student(s) graded in "
                f"{seconds:.1f} s with {jobs} parallel job(s)")
    return "\n".join(text)


def grade(root: Path, options) -> list:
    """Grade every file under `root` (in parallel); Outcomes in a stable order."""
    from .selfcheck import load_all
    load_all()  # once, before the threads
    submissions = find_submissions(root, Path(options.out).resolve())

    def one(item):
        student, rel, path = item
        if path.is_dir():
            return [Outcome(student, rel, status=EMPTY_FOLDER, message="this folder holds no files")]
        try:
            return grade_notebook(student, rel, path, options)
        except Exception as err:  # a bug of ours: say so, grade the others, exit 1
            return [Outcome(student, rel, status=GRADER_ERROR, message=f"{type(err).__name__}: {err}")]
    pool = ThreadPoolExecutor(max_workers=max(1, options.jobs))
    try:
        return [o for outcomes in pool.map(one, submissions) for o in outcomes]
    except KeyboardInterrupt:  # children run in their own sessions: stop them ourselves
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(_RUNNING):
            _kill(proc)
        raise
    finally:
        pool.shutdown()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m course_lib.grade",
        description="Grade the course_lib exercises of every notebook under SUBMISSIONS (SUBMISSIONS/<student>.ipynb "
                    "or SUBMISSIONS/<student>/<any name>.ipynb). Writes OUT/grades.csv and OUT/feedback/<student>.md.",
        epilog="See docs/instructors.md for the whole workflow (release, collect, grade, nbgrader).")
    p.add_argument("submissions", metavar="SUBMISSIONS", help="folder of submitted notebooks")
    p.add_argument("--out", metavar="DIR", default="grades", help="folder for grades.csv and feedback/ (default: grades)")
    p.add_argument("-j", "--jobs", metavar="N", type=int, default=min(8, os.cpu_count() or 1),
                   help="notebooks graded at the same time, about 1 GB of memory each (default: CPU cores, at most 8)")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=60,
                   help="per exercise (its cell and tests); a notebook gets (exercises + 1) x SECONDS + 60 (default: 60)")
    p.add_argument("--memory", metavar="MB", type=int, default=4096,
                   help="MB a notebook's code may allocate on top of the course's imports, Linux only (default: 4096)")
    p.add_argument("--extra-tests", metavar="DIR",
                   help="folder of private tests (*.py using course_lib.grade.extra_test), added to the public ones")
    return p


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    options = parser().parse_args(argv)
    root = Path(options.submissions)
    if not root.is_dir():
        print(f"error: {root} is not a folder of submissions", file=sys.stderr)
        return 2
    try:
        load_extra_tests(options.extra_tests)
    except Exception as err:
        print(f"error: cannot load --extra-tests {options.extra_tests}: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None  # `kill` stops children too
    try:
        outcomes = grade(root, options)
    except KeyboardInterrupt:
        print("Interrupted: grading stopped, nothing written.", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    write_outputs(outcomes, Path(options.out))
    if not outcomes:
        print(f"No submissions found in {root}: wrote an empty {Path(options.out) / 'grades.csv'}.")
        return 0
    print(summary(outcomes, time.perf_counter() - start, options.jobs))
    print(f"Wrote {Path(options.out) / 'grades.csv'} and {Path(options.out) / 'feedback'}/")
    for o in outcomes:
        if o.log:
            print(o.log, file=sys.stderr)
    failures = [o for o in outcomes if o.status == GRADER_ERROR]
    for o in failures:
        print(f"grader error on {o.file}: {o.message}", file=sys.stderr)
    return 1 if failures else 0


# ---------------------------------------------------------------- benchmark
def synthetic_submissions(folder: Path, count: int = 30, lesson: str = "01") -> None:
    """`count` submissions of a lesson from solutions/ and notebooks/: solved, blank, half done, broken."""
    import nbformat
    solved = nbformat.read(next((PACKAGE_ROOT / "solutions").glob(f"{lesson}_*.ipynb")), as_version=4)
    blank = nbformat.read(next((PACKAGE_ROOT / "notebooks").glob(f"{lesson}_*.ipynb")), as_version=4)
    exercises = [i for i, c in enumerate(solved.cells) if grade_id(c).startswith(f"l{lesson}_")]
    half, broken = nbformat.from_dict(blank), nbformat.from_dict(solved)
    half.cells[exercises[0]] = solved.cells[exercises[0]]
    broken.cells[exercises[-1]].source += "\n    return (("  # a syntax error
    kinds = [solved, blank, half, broken]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        nbformat.write(kinds[n % len(kinds)], folder / f"student{n:02d}.ipynb")


def benchmark_main(argv=None) -> int:
    """Time grading 30 synthetic submissions of lesson 01 with 2 jobs in fast mode (target: < 300 s)."""
    p = argparse.ArgumentParser(prog="python -m course_lib.benchmark grading")
    p.add_argument("--count", type=int, default=30, help="number of submissions (default: 30)")
    count = p.parse_args(argv).count
    if not (PACKAGE_ROOT / "solutions").is_dir():
        print("needs a repository checkout (solutions/ and notebooks/)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_submissions(Path(tmp) / "submissions", count)
        options = parser().parse_args([str(Path(tmp) / "submissions"), "--out", str(Path(tmp) / "grades"), "-j", "2"])
        load_extra_tests(None)
        start = time.perf_counter()
        outcomes = grade(Path(options.submissions), options)
        write_outputs(outcomes, Path(options.out))
        seconds = time.perf_counter() - start
    files = len({o.file for o in outcomes})
    rows = [("submissions (lesson 01, 2 jobs, fast mode)", f"{files}"), ("seconds", f"{seconds:.1f}"),
            ("seconds per submission", f"{seconds / files:.2f}"), ("target for 30 submissions", "< 300 s"),
            ("met", "yes" if seconds * 30 / files < 300 else "NO")]
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  {'value':>8}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>8}")
    return 0


if __name__ == "__main__":
    from course_lib.grade import main as _main  # the imported module, so @extra_test registers where we look
    sys.exit(_main())
