"""The sandbox: a child process that runs one notebook's code, and can do nothing else.

Linux, with bubblewrap (`apt-get install bubblewrap`; `make sandbox` does it as root): the child gets
fresh namespaces (no network interface but loopback, its own pid space so every process it starts,
new sessions included, dies with it, its own user id 65534, its own IPC and hostname), the whole
filesystem read-only, /tmp, /run, /dev/shm and $HOME empty (the Python installation re-mounted
read-only), the submissions folder, the output folder and the private tests hidden, and one
writable scratch folder. Resource limits: CPU seconds, address space (set by the child after its
imports, before the first student line), processes, file size, no core files; the wall clock is
the parent's. It talks to the parent only through two pipes the parent owns (grade/channel.py).

Elsewhere (macOS, Windows, no bubblewrap, user namespaces disabled) `available()` says why, and the
grader refuses to start unless the instructor passes --unsafe-no-sandbox: then the child is a plain
process in its own session with the same rlimits; judging still happens in the parent (what holds
then is listed in docs/instructors.md).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import channel

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
SANDBOX_UID = 65534


@dataclass
class Limits:
    seconds: float = 60          # wall clock per exercise (its cell and its tests), enforced by the parent
    memory_mb: int = 4096        # address space the notebook may add to the course's imports
    cpu_seconds: int = 3600      # CPU time of the whole child
    processes: int = 256         # on top of those the user already runs
    file_mb: int = 64            # largest file the child may write


USER = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]


@lru_cache(maxsize=1)
def _mode() -> tuple[str, list]:
    """(why not, the user-namespace options): as root where user namespaces are off (some containers),
    bubblewrap still isolates, without them: the child is root without capabilities in its namespaces."""
    if not sys.platform.startswith("linux"):
        return f"no Linux namespaces on {sys.platform}", []
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap (or `make sandbox`)", []
    error = ""
    for user in ([USER, []] if os.geteuid() == 0 else [USER]):
        probe = subprocess.run(["bwrap", "--unshare-all", *user, "--die-with-parent", "--cap-drop", "ALL",
                                "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return "", user
        error = error or probe.stderr.strip()[:300]
    return f"bubblewrap cannot create namespaces here: {error}", []


def available() -> str:
    """"" when bubblewrap can isolate a child here, else why not."""
    return _mode()[0]


def _user_processes() -> int:
    uid = os.getuid()
    try:
        return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == uid)
    except OSError:
        return 0


def _bwrap_command(scratch: Path, hidden: list) -> list:
    home = Path.home().resolve()
    needed = [PACKAGE_ROOT, Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent,
              *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    command = ["bwrap", "--unshare-all", *_mode()[1], "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "grading",
               "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/run", "--tmpfs", "/dev/shm"]
    masked = [Path(p) for p in ("/tmp", "/var/tmp", "/run", "/dev/shm")]
    if home != Path("/"):
        command += ["--tmpfs", str(home)]
        masked.append(home)
    for path in dict.fromkeys(p.resolve() for p in needed):  # the course and Python, read-only, where a tmpfs hid them
        if path.exists() and any(m in path.parents for m in masked):  # (a checkout or venv under /tmp included)
            command += ["--ro-bind", str(path), str(path)]
    for path in hidden:  # after the binds: hidden even where they lie inside the checkout
        if path and Path(path).exists():
            command += ["--tmpfs", str(Path(path).resolve())]
    return command + ["--bind", str(scratch), "/tmp/work", "--chdir", "/tmp/work", "--setenv", "HOME", "/tmp/work"]


def child_env(scratch: str) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "LANG": "C.UTF-8",
           "COURSE_FAST": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": "", "COURSE_PROGRESS": "0", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(PACKAGE_ROOT), "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    return env


class Child:
    """One sandboxed child: start it, send requests with a deadline, learn how it ended, kill it."""

    def __init__(self, limits: Limits, hidden: list, unsafe: bool = False):
        self.limits, self.hidden, self.unsafe = limits, hidden, unsafe
        self.proc = None

    def start(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="grade-")
        os.chmod(self.tmp, 0o711)
        scratch = Path(self.tmp) / "work"
        scratch.mkdir(mode=0o777)
        os.chmod(scratch, 0o777)
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        limits, processes = self.limits, _user_processes() + self.limits.processes

        # limits the child cannot raise again (util-linux prlimit: no preexec_fn in a threaded parent)
        rlimits = ["prlimit", f"--cpu={limits.cpu_seconds}", f"--nproc={processes}",
                   f"--fsize={limits.file_mb << 20}", "--core=0", "--"] if shutil.which("prlimit") else []
        python = [sys.executable, "-m", "course_lib.grade.child", str(to_child_r), str(from_child_w),
                  str(self.limits.memory_mb)]
        if self.unsafe:
            command, cwd, env = rlimits + python, str(scratch), child_env(str(scratch))
        else:
            command, cwd, env = rlimits + _bwrap_command(scratch, self.hidden) + python, "/", child_env("/tmp/work")
        self.stderr = open(Path(self.tmp) / "stderr.txt", "wb")
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, pass_fds=(to_child_r, from_child_w),
                                     start_new_session=True)  # the instructor's Ctrl-C is for the parent
        os.close(to_child_r)
        os.close(from_child_w)

    def request(self, op: str, payload: dict, deadline: float) -> dict:
        """Send one request and wait for its reply until `deadline` (time.monotonic())."""
        channel.send(self.to_child, (op, payload))
        return channel.receive_untrusted(self.from_child, deadline)

    def ended(self, wait: float = 2.0) -> str:
        """How the child ended: "exit code N", "signal NAME", or "running"."""
        try:
            code = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return "running"
        if code < 0:
            return f"signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stderr_tail(self) -> str:
        try:
            return (Path(self.tmp) / "stderr.txt").read_bytes()[-2000:].decode(errors="replace").strip()
        except OSError:
            return ""

    def kill(self) -> None:
        """Stop the child and everything it started (the pid namespace dies with its first process)."""
        if self.proc is None:
            return
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.kill()
        self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = None
