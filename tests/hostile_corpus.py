"""Hostile submissions for tests/test_sandbox.py: one lesson-01 notebook per attack on the grader, each with
its exact expected grade (issue 11). Built from solutions/ like tests/submissions_corpus.py.

Most attacks sit at the top of the conv2d cell, wrapped in try/except so the cell goes on, and either keep
the correct solution (the attack must change nothing) or replace it by zeros of the right shape (the
attack must not turn a wrong answer into marks: 1 of 7 public tests, the shape test, passes: 0.14).
`build(folder, secrets)` takes the paths an attacker could know in the worst case (the submissions folder,
the private tests, the loopback ports the test listens on) and writes them into the attacks.
"""
import json
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSON01 = "01_tensors_and_convolution.ipynb"
SLEEPER = "HOSTILE-SLEEPER-7f3a"  # in the command line of a process that tries to outlive the grader
ZEROS = ("    return torch.zeros(x.shape[0], weight.shape[0], (x.shape[2] + 2 * padding - weight.shape[2]) // stride"
         " + 1, (x.shape[3] + 2 * padding - weight.shape[3]) // stride + 1)\n")

ATTACKS = {
    # Forged results: patching the test machinery in the process that runs student code
    "forge_run_checks": ("zeros", """
import course_lib.selfcheck as _sc
_sc.run_checks = lambda exercise_id, obj: [_sc.Result(d, _sc.PASS) for d, _ in _sc.get(exercise_id).tests]
_sc.run_test = lambda exercise_id, description, fn, obj, used=None: _sc.Result(description, _sc.PASS)
_sc.expect = lambda *a, **k: None
"""),
    "forge_allclose": ("zeros", """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda *a, **k: True
"""),
    "forge_json": ("zeros", """
import json, pickle
json.dumps = lambda *a, **k: '{"exercises": {"l01_conv2d": {"status": "passed", "tests": []}}}'
pickle.dumps = lambda *a, **k: b""
"""),
    "forge_result_and_exit": ("zeros", """
import os, pathlib
for folder in (pathlib.Path.cwd(), pathlib.Path("/tmp"), pathlib.Path.home()):
    (folder / "result.json").write_text('{"exercises": {"l01_conv2d": {"status": "passed", "tests": []}}}')
os._exit(0)
"""),
    "forge_channel": ("zeros", """
import os
for fd in range(3, 64):
    try:
        os.write(fd, (8).to_bytes(8, "big") + b"PASSPASS")
    except OSError:
        pass
"""),
    # Escapes from the child
    "escape_new_session": ("solved", f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import pathlib, time; time.sleep(6); "
                  "[p.write_text('pwned') for p in pathlib.Path('/').glob('**/grades.csv')]", "{SLEEPER}"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""),
    "escape_backdoor": ("solved", """
import pathlib, course_lib
for folder in {{pathlib.Path(course_lib.__file__).parent / "checks", pathlib.Path({root!r}) / "course_lib" / "checks"}}:
    (folder / "zz_backdoor.py").write_text("import course_lib.selfcheck as s\\ns.run_test = None\\n")
"""),
    "escape_other_student": ("solved", """
import pathlib
for path in pathlib.Path({submissions!r}).rglob("*.ipynb"):
    if "victim" in path.name:
        path.write_text("{{}}")
for status in pathlib.Path("/proc").glob("*/cmdline"):
    for word in status.read_bytes().split(b"\\0"):
        if word.endswith(b"submissions"):
            for path in pathlib.Path(word.decode()).rglob("victim*.ipynb"):
                path.write_text("{{}}")
"""),
    "escape_kill_parent": ("solved", """
import os, signal
for pid in [os.getppid(), 1, *range(2, 400)]:
    if pid != os.getpid():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            try:
                os.kill(pid, sig)
            except Exception:
                pass
"""),
    # Leaks and network
    "leak_private_tests": ("solved", """
import pathlib
for path in pathlib.Path({private!r}).glob("*.py"):
    raise RuntimeError(path.read_text())
"""),
    "network": ("solved", """
import _socket, subprocess, sys
s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
s.settimeout(1)
s.connect(("127.0.0.1", {tcp}))
s.send(b"leak-tcp")
"""),
    "network_udp_and_subprocess": ("solved", """
import _socket, subprocess, sys
_socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).sendto(b"leak-udp", ("127.0.0.1", {udp}))
subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', {tcp}), 1).send(b'leak-sub')"],
               timeout=10)
"""),
}

FORMATTED = {"escape_backdoor", "escape_other_student", "leak_private_tests", "network", "network_udp_and_subprocess"}

# Contracts: the body of conv2d / maxpool2d replaced by a forbidden shortcut
CONTRACTS = {
    "contract_conv2d": ("l01_conv2d", "    return F.conv2d(x, weight, bias, stride=stride, padding=padding)\n"),
    "contract_unfold": ("l01_conv2d",
                        "    cols = F.unfold(x, weight.shape[-2:], padding=padding, stride=stride)\n"
                        "    oh = (x.shape[2] + 2 * padding - weight.shape[2]) // stride + 1\n"
                        "    out = (weight.flatten(1) @ cols).unflatten(-1, (oh, -1))\n"
                        "    return out if bias is None else out + bias.view(1, -1, 1, 1)\n"),
    "contract_reference_wrapper": ("l01_conv2d", "    from course_lib.conv import conv2d as reference\n"
                                                 "    return reference(x, weight, bias, stride, padding)\n"),
    "contract_hidden_getattr": ("l01_conv2d", "    return getattr(F, 'con' + 'v2d')(x, weight, bias, stride, padding)\n"),
    "contract_aten": ("l01_conv2d", "    out = torch.ops.aten.convolution(x, weight, bias, [stride] * 2, [padding] * 2, [1, 1],"
                                    " False, [0, 0], 1)\n    return out\n"),
    "contract_maxpool": ("l01_maxpool2d", "    return F.max_pool2d(x, kernel, stride)\n"),
}

# student, lesson, exercise, points, max_points, status, file, flags
EXPECTED = []


def _expect(student, file, conv, pool, flags=""):
    EXPECTED.append((student, "01", "l01_conv2d", conv[0], "1", conv[1], file, flags))
    EXPECTED.append((student, "01", "l01_maxpool2d", pool[0], "1", pool[1], file, flags))


SOLVED, ZERO, FAILED0 = ("1", "passed"), ("0.14", "failed"), ("0", "failed")
for name, (kind, _) in ATTACKS.items():
    conv = {"forge_result_and_exit": ("0", "crashed"), "forge_channel": ("0", "error")}.get(
        name, SOLVED if kind == "solved" else ZERO)
    _expect(name, f"{name}.ipynb", conv, SOLVED)
for name, (exercise, _) in CONTRACTS.items():
    _expect(name, f"{name}.ipynb", FAILED0 if exercise == "l01_conv2d" else SOLVED,
            FAILED0 if exercise == "l01_maxpool2d" else SOLVED)
_expect("duplicate_cell", "duplicate_cell.ipynb", SOLVED, SOLVED)  # a wrong copy first, the right one last
_expect("uses_device", "uses_device.ipynb", SOLVED, SOLVED)        # the setup cell's `device` in the exercise
_expect("victim", "victim.ipynb", SOLVED, SOLVED)                  # escape_other_student tries to erase it
_expect("Ana Lima", "Ana Lima/01.ipynb", SOLVED, SOLVED)           # two students whose names collide ...
_expect("Ana_Lima", "Ana_Lima.ipynb", ZERO, SOLVED)                # ... in a file name
_expect("..dots", "..dots/01.ipynb", SOLVED, SOLVED)               # a folder starting with ..
_expect("twice", "twice/draft.ipynb", ZERO, SOLVED, "several copies of this lesson")
_expect("twice", "twice/final.ipynb", SOLVED, SOLVED, "several copies of this lesson")


def _read(folder: str):
    return nbformat.read(ROOT / folder / LESSON01, as_version=4)


def _cell(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _body(nb, grade_id: str, body: str):
    """Replace the solution between the markers of an exercise cell by `body`."""
    cell = nb.cells[_cell(nb, grade_id)]
    head, rest = cell.source.split("    ### BEGIN SOLUTION\n")
    cell.source = head + "    ### BEGIN SOLUTION\n" + body + "    ### END SOLUTION"
    return nb


def _prepend(nb, grade_id: str, code: str):
    cell = nb.cells[_cell(nb, grade_id)]
    lines = "\n".join("    " + line for line in code.strip().splitlines())
    cell.source = (f"try:  # the attack\n{lines}\nexcept Exception as _err:  # refused: carry on\n"
                   f"    if type(_err).__name__ == 'RuntimeError':\n        raise\n\n\n{cell.source}")
    return nb


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))


def build(folder: Path, *, private: Path, tcp: int, udp: int) -> list:
    """Write the hostile corpus into `folder`; return EXPECTED."""
    folder.mkdir(parents=True, exist_ok=True)
    solved = _read("solutions")
    new = lambda: nbformat.from_dict(solved)  # noqa: E731
    fill = {"root": str(ROOT), "submissions": str(folder), "private": str(private), "tcp": tcp, "udp": udp}
    for name, (kind, code) in ATTACKS.items():
        nb = new() if kind == "solved" else _body(new(), "l01_conv2d", ZEROS)
        code = code.format(**fill) if name in FORMATTED else code
        _write(_prepend(nb, "l01_conv2d", code), folder / f"{name}.ipynb")
    for name, (exercise, body) in CONTRACTS.items():
        _write(_body(new(), exercise, body), folder / f"{name}.ipynb")
    nb, wrong = new(), _body(new(), "l01_conv2d", ZEROS)
    conv = _cell(nb, "l01_conv2d")
    nb.cells.insert(conv, wrong.cells[conv])
    _write(nb, folder / "duplicate_cell.ipynb")
    nb = new()
    cell = nb.cells[_cell(nb, "l01_conv2d")]
    cell.source = cell.source.replace("    n, c, h, w = x.shape", "    x, weight = x.to(device), weight.to(device)\n"
                                                               "    n, c, h, w = x.shape")
    _write(nb, folder / "uses_device.ipynb")
    _write(new(), folder / "victim.ipynb")
    _write(new(), folder / "Ana Lima" / "01.ipynb")
    _write(_body(new(), "l01_conv2d", ZEROS), folder / "Ana_Lima.ipynb")
    _write(new(), folder / "..dots" / "01.ipynb")
    _write(_body(new(), "l01_conv2d", ZEROS), folder / "twice" / "draft.ipynb")
    _write(new(), folder / "twice" / "final.ipynb")
    return EXPECTED
