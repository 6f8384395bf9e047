"""Grading against hostile submissions (issue 11): the isolation is really there, every attack of
tests/hostile_corpus.py gets its exact grade, nothing escapes, and the run survives Ctrl-C.

The isolation tests never skip on Linux: CI runs as root where bubblewrap (`make sandbox`) works; a
missing sandbox fails them. Every network test uses loopback addresses only.
"""
import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hostile_corpus as corpus
from course_lib.grade import cli, proxy, sandbox

ROOT = Path(__file__).resolve().parent.parent
LINUX = sys.platform.startswith("linux")
pytestmark = pytest.mark.skipif(not LINUX, reason="the sandbox needs Linux namespaces (see docs/instructors.md)")


class Listener:
    """A TCP and a UDP listener on 127.0.0.1 that record whatever reaches them."""

    def __init__(self):
        self.received = []
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen()
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @property
    def ports(self):
        return self.tcp.getsockname()[1], self.udp.getsockname()[1]

    def run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
                self.received.append(b"tcp connection")
                conn.close()
            except OSError:
                pass
            try:
                self.received.append(self.udp.recv(100))
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join()
        self.tcp.close()
        self.udp.close()


def test_the_sandbox_is_available():
    assert sandbox.available() == "", sandbox.available()


def _probe(code: str, hidden=()) -> dict:
    """Run `code` (defining probe() -> dict) in a sandboxed child; the dict it returns."""
    child = sandbox.Child(sandbox.Limits(seconds=60), list(hidden))
    child.start()
    try:
        session = proxy.Session(child, proxy.deadline_in(300))
        session.request("init", imports=[], lessons=["01"])
        done = session.request("exec", exercise="l01_conv2d", source=code, expression="probe")
        assert not done.get("status"), done
        return session.decode(done["object"])()
    finally:
        child.kill()


def test_the_child_cannot_reach_a_loopback_listener():
    listener = Listener()
    tcp, udp = listener.ports
    try:
        found = _probe(f"""
import _socket, subprocess, sys
def probe():
    out = {{}}
    try:
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(("127.0.0.1", {tcp}))
        out["tcp"] = "connected"
    except OSError as err:
        out["tcp"] = type(err).__name__
    try:
        _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).sendto(b"udp", ("127.0.0.1", {udp}))
        out["udp"] = "sent"
    except OSError as err:
        out["udp"] = type(err).__name__
    out["sub"] = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', {tcp}), 2)"],
                                capture_output=True).returncode
    out["interfaces"] = sorted(name for _, name in _socket.if_nameindex())
    return out
""")
        time.sleep(0.5)
    finally:
        listener.close()
    assert found["tcp"] == "ConnectionRefusedError" and found["sub"] != 0, found
    assert found["interfaces"] == ["lo"], found
    assert listener.received == [], listener.received


def test_the_child_cannot_write_the_checkout_or_see_hidden_folders(tmp_path):
    secret = tmp_path / "other_student"
    secret.mkdir()
    (secret / "work.ipynb").write_text("SECRET")
    found = _probe(f"""
import os, pathlib
def probe():
    out = {{"uid": os.getuid(), "hidden": sorted(os.listdir({str(secret)!r}))}}
    for target in ({str(ROOT / "course_lib" / "checks" / "zz_probe.py")!r}, {str(ROOT / "zz_probe.txt")!r}):
        try:
            pathlib.Path(target).write_text("x")
            out[target] = "written"
        except OSError as err:
            out[target] = type(err).__name__
    pathlib.Path("scratch.txt").write_text("ok")
    out["scratch"] = pathlib.Path("scratch.txt").read_text()
    out["parent visible"] = os.getppid() > 1 and pathlib.Path(f"/proc/{{os.getppid()}}/cmdline").read_bytes()
    return out
""", hidden=[secret])
    uid = sandbox.SANDBOX_UID if sandbox._mode()[1] else 0  # 0: root without capabilities (no user namespaces)
    assert found["uid"] == uid and found["hidden"] == [] and found["scratch"] == "ok", found
    assert [v for k, v in found.items() if k.startswith("/")] == ["OSError", "OSError"] or all(
        v in ("OSError", "PermissionError") for k, v in found.items() if k.startswith("/")), found
    assert not (ROOT / "course_lib" / "checks" / "zz_probe.py").exists() and not (ROOT / "zz_probe.txt").exists()
    assert b"course_lib" not in (found["parent visible"] or b""), found


def _alive(token: str) -> list:
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if token.encode() in cmdline.read_bytes():
                alive.append(cmdline.parent.name)
        except OSError:
            pass
    return alive


def test_every_process_of_the_child_dies_with_it():
    token = "SANDBOX-PROBE-SLEEPER-1b2c"
    found = _probe(f"""
import subprocess, sys, os
def probe():
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "{token}"], start_new_session=True)
    return {{"started": p.pid, "parent can be signalled": os.getppid()}}
""")
    time.sleep(1)
    assert found["started"] and _alive(token) == [], _alive(token)


def test_no_sandbox_means_no_grading_unless_the_instructor_insists(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "available", lambda: "no bubblewrap on this test machine")
    (tmp_path / "subs").mkdir()
    assert cli.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out")]) == 2
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    assert cli.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--unsafe-no-sandbox"]) == 0
    assert "WITHOUT a sandbox" in capsys.readouterr().err


# ---------------------------------------------------------------- the hostile corpus
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    private = root / "private"
    private.mkdir()
    (private / "secret_tests.py").write_text(
        "from course_lib.grade import extra_test\n\n\n"
        "@extra_test('l01_maxpool2d', 'kernel 1 is the identity', points=0)\n"
        "def _(fn):  # PRIVATE-SECRET-SOURCE\n"
        "    import torch\n    x = torch.randn(1, 1, 3, 3)\n"
        "    assert torch.equal(fn(x, 1), x), 'PRIVATE-SECRET-MESSAGE'\n")
    listener = Listener()
    tcp, udp = listener.ports
    corpus.build(root / "submissions", private=private, tcp=tcp, udp=udp)
    victim = (root / "submissions" / "victim.ipynb").read_bytes()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(root / "submissions"), "--out",
                           str(root / "grades"), "--extra-tests", str(private), "-j", "2", "--timeout", "60"],
                          capture_output=True, text=True, timeout=1500)
    seconds = time.perf_counter() - start
    csv_after_run = (root / "grades" / "grades.csv").read_bytes()
    time.sleep(8)  # longer than the sleeper that tries to rewrite grades.csv waits
    listener.close()
    return {"root": root, "proc": proc, "victim": victim, "received": listener.received, "seconds": seconds,
            "csv": csv_after_run}


def test_every_attack_gets_its_exact_grade(hostile):
    proc = hostile["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(hostile["root"] / "grades" / "grades.csv", newline="") as f:
        table = [tuple(row) for row in csv.reader(f)]
    # the private test (0 points) does not change max_points
    got = sorted(table[1:], key=lambda r: (r[0], r[1], r[6], r[2]))
    want = sorted(corpus.EXPECTED, key=lambda r: (r[0], r[1], r[6], r[2]))
    assert [r for r in got if r not in want] == [] and [r for r in want if r not in got] == []


def test_nothing_escaped_the_sandbox(hostile):
    root = hostile["root"]
    assert (root / "grades" / "grades.csv").read_bytes() == hostile["csv"]  # not rewritten after the run
    assert b"pwned" not in hostile["csv"] and _alive(corpus.SLEEPER) == []
    assert not list((ROOT / "course_lib" / "checks").glob("zz_*.py"))
    assert (root / "submissions" / "victim.ipynb").read_bytes() == hostile["victim"]
    assert hostile["received"] == []
    for path in [root / "grades" / "grades.csv", *(root / "grades" / "feedback").glob("*.md")]:
        text = path.read_text()
        assert "PRIVATE-SECRET" not in text and "torch.equal(fn(x, 1), x)" not in text, path.name


def _feedback(hostile, student: str) -> str:
    folder = hostile["root"] / "grades" / "feedback"
    hits = [p for p in folder.glob("*.md") if p.read_text().startswith(f"# Feedback for {student}\n")]
    assert len(hits) == 1, (student, sorted(p.name for p in folder.glob("*.md")))
    return hits[0].read_text()


def test_messages_say_what_happened(hostile):
    assert "F.conv2d, which the contract forbids" in _feedback(hostile, "contract_conv2d")
    assert "F.unfold, which the contract forbids" in _feedback(hostile, "contract_unfold")
    assert "course_lib.conv.conv2d, which the contract forbids" in _feedback(hostile, "contract_reference_wrapper")
    assert "getattr with a computed name" in _feedback(hostile, "contract_hidden_getattr")
    assert "torch.ops.aten.convolution, which the contract forbids" in _feedback(hostile, "contract_aten")
    assert "F.max_pool2d, which the contract forbids" in _feedback(hostile, "contract_maxpool")
    assert "the notebook called sys.exit/os._exit (exit code 0)" in _feedback(hostile, "forge_result_and_exit")
    assert "out of memory" not in _feedback(hostile, "forge_result_and_exit")
    assert "appears in 2 cells; graded the last one" in _feedback(hostile, "duplicate_cell")


def test_names_never_collide_and_second_copies_are_flagged(hostile):
    folder = hostile["root"] / "grades" / "feedback"
    students = {row[0] for row in corpus.EXPECTED}
    assert len(list(folder.glob("*.md"))) == len(students)
    assert "Total: 2 / 2" in _feedback(hostile, "Ana Lima") and "Total: 1.14 / 2" in _feedback(hostile, "Ana_Lima")
    assert "Total: 2 / 2" in _feedback(hostile, "..dots")
    assert "FLAG: twice handed in lesson 01 2 times" in hostile["proc"].stdout
    assert "more than once" in _feedback(hostile, "twice")


def test_grading_time_is_printed(hostile):
    print(f"hostile corpus: {len({r[6] for r in corpus.EXPECTED})} files graded in {hostile['seconds']:.0f} s")
    assert "graded in" in hostile["proc"].stdout


def test_ctrl_c_writes_the_partial_results(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a", "b", "c", "d"):
        (subs / f"{name}.ipynb").write_bytes((ROOT / "solutions" / corpus.LESSON01).read_bytes())
    proc = subprocess.Popen([sys.executable, "-m", "course_lib.grade", str(subs), "--out", str(tmp_path / "out"),
                             "-j", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # as from a terminal: pytest-xdist workers ignore SIGINT, and children inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline().startswith("Grading 4 file(s)")  # imports done, grading started
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, out + err
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["file"] for r in rows} == {"a.ipynb", "b.ipynb", "c.ipynb", "d.ipynb"}
    assert {r["status"] for r in rows} <= {"passed", "not graded (interrupted)"} and "interrupted" in err
