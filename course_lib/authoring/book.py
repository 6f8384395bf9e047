"""The book view: every solution notebook, executed and rendered to a static HTML site.

`make book` (python -m course_lib.authoring.book) runs solutions/*.ipynb in fast mode (COURSE_FAST=1) with
nbclient and renders them with nbconvert's HTMLExporter into build/book/: index.html with the
lesson list and one page per lesson, so a self-learner can read the course without running it.

    python -m course_lib.authoring.book [--out build/book] [--timeout 600] [NOTEBOOK ...]
"""
import argparse
import html
import os
import sys
from pathlib import Path

from .notebook import title

REPO = Path(__file__).resolve().parents[2]


def execute(path: Path, timeout: int = 600):
    """Run a notebook in fast mode from its own folder; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["COURSE_FAST"] = "1"  # the kernel inherits our environment
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def render(nb, name: str) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb, resources={"metadata": {"name": name}})
    return body


def build(notebooks, out: Path, timeout: int = 600) -> Path:
    """Execute and render `notebooks` into `out`; return the index page."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for path in notebooks:
        path = Path(path).resolve()
        print(f"executing {path.name} ...", flush=True)
        nb = execute(path, timeout)
        page = path.stem + ".html"
        (out / page).write_text(render(nb, title(nb, path.stem)), encoding="utf-8")
        entries.append((page, title(nb, path.stem)))
    items = "\n".join(f'  <li><a href="{p}">{html.escape(t)}</a></li>' for p, t in entries)
    index = out / "index.html"
    index.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Image generation course</title></head>\n"
        "<body>\n<h1>Image generation and super-resolution with PyTorch</h1>\n"
        "<p>Every lesson's solution notebook, executed in fast mode (small data, few steps). "
        "Run them yourself with <code>make lab</code> or in Colab.</p>\n"
        f"<ol>\n{items}\n</ol>\n</body></html>\n", encoding="utf-8")
    print(f"wrote {index} ({len(entries)} lessons)")
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="default: solutions/*.ipynb")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "book")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "solutions").glob("[0-9]*.ipynb"))
    if not notebooks:
        sys.exit("no notebooks found: pass paths or run from the repository (solutions/*.ipynb)")
    build(notebooks, args.out, args.timeout)


if __name__ == "__main__":
    main()
