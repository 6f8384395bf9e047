"""Install test: the wheel works outside the repository.

Build the wheel, install it into a fresh virtual environment in a temp folder and run a student
notebook from another temp folder. MNIST (shipped as course_lib/_data), the shipped checkpoints and
the self-checks must all be found in the installed package, not in the repository.

Reinstalling torch in a fresh venv would take minutes, so the new venv has no packages of its own
except the wheel (`pip install --no-deps`); a .pth file makes the project venv's site-packages
visible as a plain path. A plain path line does not process the .pth files found there, so the
project's editable install of course_lib is invisible in the new venv (asserted below).
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
LESSON = "02_cnn_classifier.ipynb"  # uses MNIST, a shipped checkpoint and self-checks

PROBE = """\
import json, course_lib
from course_lib import env
print("PROBE " + json.dumps({"course_lib": course_lib.__file__, "data_dir": str(env.data_dir()),
                           "checkpoints": str(env.CHECKPOINT_DIR)}))
"""


def run(cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def build_wheel(out: Path) -> Path:
    """Build the wheel from a clean copy of the sources (no build/ or egg-info left in the repo)."""
    src = out / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ipynb_checkpoints"))
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "-w", out / "dist", src])
    (wheel,) = (out / "dist").glob("image_gen_course-*.whl")
    return wheel


def make_venv(path: Path, wheel: Path) -> Path:
    run([sys.executable, "-m", "venv", "--without-pip", path])
    python = path / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    # The project's dependencies, as a plain path (its .pth files, editable course_lib included, are not processed).
    (site / "_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", "--disable-pip-version-check", wheel])
    return python, site


def test_wheel_runs_a_lesson_outside_the_repo(tmp_path):
    wheel = build_wheel(tmp_path / "wheel")
    python, site = make_venv(tmp_path / "venv", wheel)

    work = tmp_path / "student"
    work.mkdir()
    nb = nbformat.read(REPO / "notebooks" / LESSON, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    nbformat.write(nb, work / LESSON)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_DATA", "VIRTUAL_ENV")}
    env.update(COURSE_FAST="1", COURSE_STRICT="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               COURSE_CACHE=str(tmp_path / "cache"), JUPYTER_PLATFORM_DIRS="1")
    run([python, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
         "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=600", LESSON],
        cwd=work, env=env)

    executed = nbformat.read(work / LESSON, as_version=4)
    text = "\n".join(o.get("text", "") for c in executed.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.get("output_type") == "stream")
    probe = json.loads(text.split("PROBE ", 1)[1].splitlines()[0])
    assert Path(probe["course_lib"]).resolve().is_relative_to(site.resolve()), probe
    assert not Path(probe["course_lib"]).resolve().is_relative_to(REPO), probe
    assert Path(probe["data_dir"]).resolve() == (site / "course_lib" / "_data").resolve(), probe
    assert Path(probe["checkpoints"]).resolve().is_relative_to(site.resolve()), probe
    assert "mode: FAST" in text, "the setup cell did not run in fast mode"
    assert "train (6400, 1, 28, 28)" in text, "MNIST was not loaded"
    assert "recorded at training time: test accuracy" in text, "the shipped checkpoint was not loaded"
    assert "l02_model" in text and "l02_augment" in text, "the self-check cells did not run"
