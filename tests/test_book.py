"""The book view renders an executed lesson: figures (PNG) and self-check output are in the HTML."""
from pathlib import Path

from course_lib import book

REPO = Path(__file__).resolve().parents[1]


def test_book_renders_executed_lesson(tmp_path):
    index = book.build([REPO / "solutions" / "01_tensors_and_convolution.ipynb"], tmp_path / "book")
    page = (tmp_path / "book" / "01_tensors_and_convolution.html").read_text(encoding="utf-8")
    assert 'href="01_tensors_and_convolution.html"' in index.read_text(encoding="utf-8")
    assert "data:image/png;base64," in page, "no executed figure in the page"
    assert "checks passed" in page, "no self-check output in the page"
    assert "mode: FAST" in page, "the setup cell's output is missing"
