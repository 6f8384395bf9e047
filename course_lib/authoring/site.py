"""The book's site generator: Sphinx + MyST-NB + sphinx-book-theme, configured here (no conf.py), offline.

- Notebooks are rendered as they are (`nb_execution_mode = "off"`): book.py decides which run's outputs a page shows.
- Maths: MathJax 3 served from the site itself, `_static/mathjax/`, copied from the sphinx-mathjax-offline package:
  only the TeX-to-CommonHTML bundle, its web fonts and the TeX extensions it may autoload (about 2 MB of 24 MB).
- No widget JavaScript (`nb_ipywidgets_js = {}`); pages.py has turned widgets into their static outputs.
- A Colab button on every lesson (the theme's launch button, from the repository setting the badges use) and a
  download button for the student notebook; no copies of the page sources.
The theme gives the lesson sidebar, the per-page outline, prev/next, full-text search and light/dark.
"""
import importlib.metadata
import io
import shutil
import sys
from pathlib import Path

from . import pages, release

MATHJAX = "sphinx-mathjax-offline"  # the distribution that ships MathJax 3.2.2
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


def mathjax_source() -> Path:
    """The MathJax folder inside the installed sphinx-mathjax-offline package."""
    return Path(importlib.metadata.distribution(MATHJAX).locate_file("sphinx-mathjax-offline/static/mathjax"))


def settings(title: str) -> dict:
    """The Sphinx configuration of the book (what a conf.py would hold)."""
    repository = release.repository_url()
    return {
        "project": title, "html_title": title, "author": "the course's authors", "language": "en",
        "extensions": ["myst_nb", "course_lib.authoring.site"],
        "exclude_patterns": [f"{pages.STUDENT_DIR}/**", "**.ipynb_checkpoints"],
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "nb_execution_mode": "off",
        "nb_ipywidgets_js": {},
        "nb_merge_streams": True,
        "mathjax_path": "mathjax/tex-chtml.js",
        "html_theme": "sphinx_book_theme",
        "html_copy_source": False, "html_show_sourcelink": False, "html_show_copyright": False,
        "html_show_search_summary": False,  # its summaries fetch() the pages, which file:// refuses
        "html_theme_options": {
            "repository_url": repository, "repository_branch": "main", "path_to_docs": "notebooks",
            "use_repository_button": True, "use_download_button": False, "use_fullscreen_button": True,
            "launch_buttons": {"colab_url": "https://colab.research.google.com"},
            "show_toc_level": 2, "home_page_in_toc": True, "navigation_with_keys": False,
        },
        "suppress_warnings": ["myst.header", "mystnb.unknown_mime_type"],
    }


# ---------------------------------------------------------------- the Sphinx extension (hooks)
def _output_folder(app) -> None:
    """MyST-NB writes the figures it extracts beside the doctrees, not beside build/book/."""
    app.env.mystnb_config = app.env.mystnb_config.copy(
        output_folder=str(Path(app.doctreedir).parent / "jupyter_execute"))


def _download_button(app, pagename, templatename, context, doctree) -> None:
    """A header button that downloads the lesson's student notebook (the file the page's own link serves)."""
    wanted = f"{pages.STUDENT_DIR}/{pagename}.ipynb"
    for filename, (_, destination) in app.env.dlfiles.items():
        if Path(filename).as_posix() == wanted and "header_buttons" in context:
            context["header_buttons"].append({
                "type": "link", "url": context["pathto"](f"_downloads/{destination}", 1), "text": "student .ipynb",
                "tooltip": "Download the student notebook", "icon": "fas fa-download",
                "label": "download-student-notebook"})


def _finish(app, exception) -> None:
    """Copy the part of MathJax the pages use; drop what no page loads (source maps, the theme's translations, the
    figures and downloads of earlier builds)."""
    if exception is not None:
        return
    static = Path(app.outdir) / "_static"
    for path in static.rglob("*.map"):
        path.unlink()
    for folder, files in (("_images", app.env.images), ("_downloads", app.env.dlfiles)):
        kept = {Path(app.outdir, folder, destination) for _, destination in files.values()}
        for path in Path(app.outdir, folder).rglob("*"):  # left by earlier builds
            if path.is_file() and path not in kept:
                path.unlink()
    shutil.rmtree(static / "locales", ignore_errors=True)
    if (Path(app.outdir) / "_sources").is_dir() and not any((Path(app.outdir) / "_sources").iterdir()):
        (Path(app.outdir) / "_sources").rmdir()
    source, target = mathjax_source(), static / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def setup(app):
    app.connect("builder-inited", _output_folder, priority=900)  # after MyST-NB has set its own
    app.connect("html-page-context", _download_button, priority=600)  # after the theme's header buttons
    app.connect("build-finished", _finish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ---------------------------------------------------------------- running Sphinx
def build(source: Path, out: Path, work: Path, title: str, quiet: bool = True, jobs: int = 1) -> None:
    """Render the source tree `source` into the site `out` (doctrees and figures in `work`), reading `jobs` pages
    at a time; raise on failure."""
    from sphinx.application import Sphinx

    status = io.StringIO() if quiet else sys.stdout
    app = Sphinx(str(source), None, str(out), str(work / "doctrees"), "html", confoverrides=settings(title),
                 status=status, warning=sys.stderr, freshenv=False, parallel=jobs)
    app.build()
    if app.statuscode:
        raise RuntimeError(f"Sphinx failed (status {app.statuscode}); see the messages above")
