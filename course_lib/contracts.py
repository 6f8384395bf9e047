"""Exercise contracts: callables an exercise must not use ("without F.conv2d"), checked two ways.

An exercise declares them by dotted name, `exercise(..., forbidden=("torch.nn.functional.conv2d", ...))`.

- At run time (`watching`): while the student's code runs, a profile hook (every Python and C call,
  so aliases such as `torch.conv2d is F.conv2d` or `from course_lib.conv import conv2d as c` are the
  same call) and a TorchFunctionMode (torch functions reached through `__torch_function__`) record
  every forbidden callable that was entered. The notebook's `check` and the grader's sandboxed
  child both use it; in the child it is advisory, since student code can switch it off.
- In the source (`static_violations`), which the grader's trusted parent runs on the exercise cell
  and the notebook's import lines: every name and attribute chain is resolved through the imports
  and compared with the forbidden objects; lookups that would hide a name from this analysis
  (`getattr` with a computed name, `__import__`, `importlib`, `exec`, `eval`, `globals()`, `vars()`,
  `sys.modules`, `__dict__`, `__builtins__`) are reported too.
"""
import ast
import importlib
import sys
from contextlib import contextmanager

from torch.overrides import TorchFunctionMode

DYNAMIC = {"__import__", "importlib", "exec", "eval", "compile", "globals", "vars", "locals", "__builtins__",
           "__dict__", "__getattribute__", "import_module", "__code__"}


def resolve(name: str):
    """The object a dotted name refers to (importing its module), or None."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def short(name: str) -> str:
    """torch.nn.functional.conv2d -> F.conv2d, as the lessons write it."""
    return name.replace("torch.nn.functional.", "F.").replace("torch.nn.", "nn.")


def _targets(forbidden) -> tuple[dict, dict]:
    """({id of a C callable: name}, {code object: name}) of the forbidden callables."""
    by_id, by_code = {}, {}
    for name in forbidden:
        obj = resolve(name)
        if obj is None:
            continue
        if isinstance(obj, type):  # a class (nn.Conv2d): calling its forward (or building one) is the use
            obj = obj.__dict__.get("forward") or obj.__dict__.get("__init__") or obj
        code = getattr(obj, "__code__", None)
        if code is not None:
            by_code[code] = name
        else:
            by_id[id(obj)] = name
    return by_id, by_code


class _Mode(TorchFunctionMode):
    def __init__(self, by_id, used):
        super().__init__()
        self.by_id, self.used = by_id, used

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if id(func) in self.by_id and self.by_id[id(func)] not in self.used:
            self.used.append(self.by_id[id(func)])
        return func(*args, **(kwargs or {}))


@contextmanager
def watching(forbidden, used: list):
    """Record into `used` (names, in order of first use) the forbidden callables entered inside the block."""
    if not forbidden:
        yield used
        return
    by_id, by_code = _targets(forbidden)

    def profile(frame, event, arg):
        name = by_code.get(frame.f_code) if event == "call" else by_id.get(id(arg)) if event == "c_call" else None
        if name and name not in used:
            used.append(name)
    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        with _Mode(by_id, used):
            yield used
    finally:
        sys.setprofile(previous)


def guarded(obj, forbidden, used: list):
    """`obj` (a function) wrapped so that its calls record forbidden uses into `used`; classes as they are."""
    if not forbidden or isinstance(obj, type) or not callable(obj):
        return obj

    def call(*args, **kwargs):
        with watching(forbidden, used):
            return obj(*args, **kwargs)
    call.__wrapped__ = obj
    return call


# ---------------------------------------------------------------- static analysis (the grader's parent)
def _aliases(tree) -> dict:
    """{local name: dotted name} from the import statements of a module."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _dotted(node, aliases) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and len(node.args) >= 2 \
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
        inner = _dotted(node.args[0], aliases)
        return f"{inner}.{node.args[1].value}.{'.'.join(reversed(parts))}".rstrip(".") if inner else None
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id], *reversed(parts)])
    return None


def static_violations(source: str, imports: str, forbidden, dynamic: bool = True) -> list[str]:
    """What in `source` (with the notebook's `imports`) refers to a forbidden callable, and (`dynamic`)
    what hides a lookup from this analysis."""
    if not forbidden:
        return []
    try:
        tree = ast.parse(source)
        aliases = _aliases(ast.parse(imports or ""))
    except SyntaxError:
        return []
    aliases |= _aliases(tree)
    wanted = {}
    for name in forbidden:
        obj = resolve(name)
        if obj is not None:
            wanted[id(obj)] = name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name, ast.Call)):
            dotted = _dotted(node, aliases)
            if dotted and (dotted in forbidden or id(resolve(dotted)) in wanted):
                found.append(f"uses {short(wanted.get(id(resolve(dotted)), dotted))}")
        if not dynamic:
            continue
        if isinstance(node, ast.Attribute) and node.attr == "modules" and _dotted(node.value, aliases) == "sys":
            found.append("uses sys.modules, which hides what it calls")
        if isinstance(node, ast.Name) and node.id in DYNAMIC or isinstance(node, ast.Attribute) and node.attr in DYNAMIC:
            found.append(f"uses {node.id if isinstance(node, ast.Name) else node.attr}, which hides what it calls")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and not (
                len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
            found.append("uses getattr with a computed name, which hides what it calls")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(m.split(".")[0] in ("importlib", "builtins", "ctypes") for m in modules):
                found.append(f"imports {', '.join(modules)}, which hides what it calls")
    return list(dict.fromkeys(found))
