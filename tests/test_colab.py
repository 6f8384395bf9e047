"""Colab install path (issue 12, item 5): the lessons' setup cells, run the way Colab runs them.

Colab gives a fresh machine with torch, ipywidgets 7.7.1 and tqdm already installed and `google.colab` imported;
a lesson's first cell must clone the course, install course_lib without upgrading what Colab ships (an upgraded
ipywidgets stops widgets from rendering there), and turn on Colab's custom widget manager for the widgets.

Offline stand-ins, nothing else changed:
- `google.colab` is a fake package whose `output.enable_custom_widget_manager()` writes a marker file;
- the clone URL is a local git repository made from this working tree, and /content is a temporary folder;
- the "fresh venv that already has torch" is a new venv that sees the project venv's packages as a plain path
  (as in test_install.py, so no download), plus installed-package metadata saying ipywidgets 7.7.1: if the
  course required a newer ipywidgets, pip would have to fetch one and fails (PIP_NO_INDEX), as it would
  replace Colab's on Colab. Build isolation is off for the same reason (it would download setuptools).

All lessons share one generated setup cell (course_lib/authoring/release.py); the test checks that they are identical and
runs every notebook's setup cell in one kernel: the first performs the clone and install, the others import.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
COLAB_WIDGETS = "7.7.1"

FAKE_OUTPUT = """\
from pathlib import Path

def enable_custom_widget_manager():
    Path({marker!r}).write_text("enabled")
"""

PROBE = """\
import importlib.metadata, json, course_lib
print("PROBE " + json.dumps({"course_lib": course_lib.__file__,
                           "ipywidgets": importlib.metadata.version("ipywidgets"),
                           "tqdm": importlib.metadata.version("tqdm")}))
"""


def run(cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def setup_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
    return cell.source


def local_remote(tmp: Path) -> Path:
    """This working tree as a git repository the setup cell can clone (committed or not, what is here now)."""
    src = tmp / "remote"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".ipynb_checkpoints"))
    git = ["git", "-C", src, "-c", "user.name=test", "-c", "user.email=test@example.org"]
    run(git[:3] + ["init", "-q"])
    run(git[:3] + ["add", "-A"])
    run(git + ["commit", "-q", "-m", "snapshot"])
    return src


def colab_venv(tmp: Path, marker: Path) -> Path:
    """A fresh venv like Colab's: torch & co. present, ipywidgets 7.7.1 by its metadata, a fake google.colab."""
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    info = site / f"ipywidgets-{COLAB_WIDGETS}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ipywidgets\nVersion: {COLAB_WIDGETS}\n")
    (info / "RECORD").write_text("")
    colab = site / "google" / "colab"   # "google" stays a namespace package
    colab.mkdir(parents=True)
    (colab / "__init__.py").write_text("")
    (colab / "output.py").write_text(FAKE_OUTPUT.format(marker=str(marker)))
    return python


def test_setup_cells_install_the_course_as_on_colab(tmp_path):
    cells = {path.relative_to(REPO).as_posix(): setup_cell(path) for path in NOTEBOOKS}
    first = cells[NOTEBOOKS[0].relative_to(REPO).as_posix()]
    assert all(source == first for source in cells.values()), "the lessons' setup cells differ"
    url = re.search(r"https://github\.com/[\w.-]+/[\w.-]+", first)
    assert url and "/content/course" in first, "the setup cell no longer clones the repository into /content"

    remote, content, marker = local_remote(tmp_path), tmp_path / "content", tmp_path / "widget-manager"
    content.mkdir()
    python = colab_venv(tmp_path, marker)
    local = {name: source.replace(url.group(0), f"file://{remote}").replace("/content", str(content))
             for name, source in cells.items()}
    nb = nbformat.v4.new_notebook()
    nb.cells = ([nbformat.v4.new_code_cell("import google.colab  # Colab imports it before any cell runs")]
                + [nbformat.v4.new_code_cell(source, metadata={"name": name}) for name, source in local.items()]
                + [nbformat.v4.new_code_cell(PROBE)])
    work = tmp_path / "student"
    work.mkdir()
    nbformat.write(nb, work / "colab.ipynb")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_DATA", "VIRTUAL_ENV")}
    env.update(COURSE_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1", JUPYTER_PLATFORM_DIRS="1",
               COURSE_CACHE=str(tmp_path / "cache"), PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    run([python, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
         "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.timeout=600", "colab.ipynb"],
        cwd=work, env=env)

    executed = nbformat.read(work / "colab.ipynb", as_version=4)
    text = "\n".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", [])
                     if o.get("output_type") == "stream")
    probe = json.loads(text.split("PROBE ", 1)[1].splitlines()[0])
    clone = content / "course"
    assert (clone / ".git").is_dir(), "the setup cell did not clone the course"
    assert Path(probe["course_lib"]).resolve().is_relative_to(clone.resolve()), probe
    assert probe["ipywidgets"] == COLAB_WIDGETS, f"the install replaced Colab's ipywidgets: {probe}"
    assert marker.exists(), "the setup cell did not enable Colab's custom widget manager"
    assert text.count("mode: FAST") == len(cells), "not every setup cell ran course_lib.setup"


def test_badges_open_the_notebook_they_sit_in():
    """A student notebook's Colab badge opens the student notebook; a solution's opens the solution."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        (badge,) = [c for c in nb.cells if "colab-badge" in c.metadata.get("tags", [])]
        link = re.search(r"\]\((https://colab\.research\.google\.com/github/[^)]+)\)", badge.source)
        assert link, f"{path.name}: no Colab link in the badge"
        assert link.group(1).endswith(f"/blob/main/{path.parent.name}/{path.name}"), (path, link.group(1))
