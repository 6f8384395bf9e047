"""The course's notebook model: what a lesson notebook's cells mean, in one place.

Used alike by the authoring tool (release), the book, the grader and the tests. A lesson notebook
holds exercises; exercise `lNN_name` is

- its *exercise cell*: a code cell whose solution sits between `### BEGIN SOLUTION` and
  `### END SOLUTION` (the student version has `raise NotImplementedError("Exercise lNN_name: ...")`
  there instead), and
- its *check cell*: the next code cell, which calls `check("lNN_name", obj)`; `obj` is what is graded.

The one rule that says which cell is exercise X (`locate`), in order of evidence:
1. a code cell whose nbgrader `grade_id` is X (release writes it into both versions);
2. a code cell holding X's stub (`NotImplementedError("Exercise X`);
3. a code cell holding the solution markers whose next check cell checks X;
4. the code cell defining the name that `check("X", name)` grades, or, with no check call left,
   the exercise's reference name (the nearest before the check cell first).
Within the first clause that matches, the LAST matching cell wins (it is the one the notebook runs
last), and the others are reported as duplicates.
"""
import ast
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.-]+)["']""")
EXERCISE_ID = re.compile(r"l\d\d_\w+")
MAX_FILE_BYTES = 200 * 2**20


def stub_line(exercise_id: str) -> str:
    return f'raise NotImplementedError("Exercise {exercise_id}: write your code here")'


def _stub_pattern(exercise_id: str):
    return re.compile(r"NotImplementedError\(\s*[\"']Exercise " + re.escape(exercise_id) + r"\b")


# ---------------------------------------------------------------- reading
def read(path: Path):
    """The notebook at `path`, tolerant of Colab/old files; ValueError saying why it is not one."""
    import nbformat
    path = Path(path)
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


def title(nb, fallback: str = "(untitled)") -> str:
    """The notebook's first Markdown heading line, else `fallback`."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.lstrip().startswith("#"):
                    return line.lstrip().lstrip("#").strip()
    return fallback


def python_source(source: str) -> str:
    """A cell's code without IPython magics and shell lines (line numbers kept)."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        lines[0] = ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def import_lines(nb) -> str:
    """Every top-level import statement of a notebook (to run an exercise cell on its own)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(python_source(cell.source))
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys(lines))


def strip_solution(source: str, exercise_id: str) -> str:
    """Replace every BEGIN/END SOLUTION block by a NotImplementedError at the same indentation."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + stub_line(exercise_id))
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN} in exercise {exercise_id}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END} in exercise {exercise_id}")
    return "\n".join(out)


# ---------------------------------------------------------------- cells
def grade_id(cell) -> str:
    """The nbgrader grade_id of a cell ("" when its metadata was lost or mangled)."""
    meta = cell.get("metadata")
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return str(nbgrader.get("grade_id", "")) if isinstance(nbgrader, dict) else ""


def _is_check(node) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"


def check_calls(nb) -> list:
    """(cell index, exercise id, graded expression or "") for every check("id", obj) call."""
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


def exercise_ids(nb) -> list:
    """Every exercise id a notebook mentions: nbgrader metadata, check calls, stub messages."""
    ids = [grade_id(c) for c in nb.cells]
    ids += [exercise_id for _, exercise_id, _ in check_calls(nb)]
    ids += [m for c in nb.cells for m in re.findall(r"NotImplementedError\(\s*[\"']Exercise (l\d\d_\w+)", c.source)]
    return [i for i in dict.fromkeys(ids) if EXERCISE_ID.fullmatch(i)]


def identify_lesson(nb, known) -> str:
    """The lesson ("01") most of the notebook's known exercise ids belong to, or "" if none."""
    counts: dict = {}
    for i in exercise_ids(nb):
        if i in known:
            counts[i[1:3]] = counts.get(i[1:3], 0) + 1
    return min(counts, key=lambda lesson: (-counts[lesson], lesson)) if counts else ""


@dataclass
class Located:
    """Where exercise `exercise` is in a notebook: its cell (None: not found, see `problem`)."""
    exercise: str
    cell: int | None = None
    expression: str = ""      # what check("id", expression) grades ("" when the check call is gone)
    check_cell: int | None = None
    duplicates: list = field(default_factory=list)  # other cells the same clause matched (run earlier)
    problem: str = ""


def locate(nb, exercise_id: str, reference_name: str = "") -> Located:
    """Find exercise `exercise_id` by the module's one rule (never by position: cells may be reordered)."""
    every_call = check_calls(nb)
    calls = [(i, expr) for i, ex, expr in every_call if ex == exercise_id]
    check_cell, expression = calls[-1] if calls else (None, "")
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    checks_of = {}
    for j, ex, _ in every_call:
        checks_of.setdefault(j, set()).add(ex)
    next_check = {i: min((j for j in checks_of if j > i), default=None) for i in code}
    stub = _stub_pattern(exercise_id)
    name = expression.split(".")[0] if expression else reference_name
    near = (sorted((i for i in code if i <= check_cell), reverse=True) + [i for i in code if i > check_cell]
            if check_cell is not None else code[::-1])
    clauses = [
        [i for i in code if grade_id(nb.cells[i]) == exercise_id],
        [i for i in code if stub.search(nb.cells[i].source)],
        [i for i in code if BEGIN in nb.cells[i].source and exercise_id in checks_of.get(next_check[i], ())],
        [i for i in near if name and name in defined_names(nb.cells[i].source)][:1],
    ]
    for cells in clauses:
        if cells:
            return Located(exercise_id, cells[-1], expression, check_cell, cells[:-1])
    if calls and expression.isidentifier():
        why = f"no cell defines {expression} (the exercise cell was deleted, or the function renamed)"
    elif calls:
        why = "its exercise cell was not found (deleted?)"
    else:
        why = f'neither its exercise cell nor its check("{exercise_id}", ...) cell was found'
    return Located(exercise_id, None, expression, check_cell, problem=why)


def exercise_cells(nb) -> list[tuple[int, str]]:
    """(cell index, exercise id) of every exercise of a solution notebook, in notebook order.

    Every solution-marker cell must be an exercise (ValueError otherwise): the authoring check."""
    found = {}
    for exercise_id in exercise_ids(nb):
        where = locate(nb, exercise_id)
        if where.cell is not None:
            found[where.cell] = exercise_id
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN in cell.source and i not in found:
            raise ValueError(f"solution cell {i} has no check(\"...\") cell after it")
    return sorted(found.items())


def graded_expression(nb, where: Located, reference_name: str = "") -> tuple[str, str]:
    """(expression to grade, problem): what check() grades, else what the exercise cell defines."""
    names = defined_names(nb.cells[where.cell].source)
    expression = where.expression
    if not expression:  # check call deleted: grade what the cell defines
        defs = [n for n in names if n == reference_name] or names[-1:]
        if not defs:
            return "", "the exercise cell defines nothing to grade"
        expression = defs[0]
    root = expression.split(".")[0]
    if re.fullmatch(r"[\w.]+", expression) and root not in names:  # a plain name the cell should define
        defines = f" the exercise cell defines {', '.join(names)}" if names else ""
        return "", (f'no cell defines {root}, which check("{where.exercise}", {expression}) grades '
                    f"(renamed?{defines})")
    return expression, ""
