"""The tools that build the course rather than teach it; a student never needs to read them.

- `notebook`: the notebook model (which cell is which exercise), used by release, the book and the grader;
- `release`: student notebooks, badges and setup cells from solutions/ (`python -m course_lib.authoring.release`);
- `readme`: the generated tables of README.md (`python -m course_lib.authoring.readme`);
- `book`, `pages`, `site`: the course as a static site in build/book/ (`python -m course_lib.authoring.book`).

Imports go one way: these modules import the concept modules, benchmark records and env; no concept module,
recipe or benchmark imports them, except the notebook model (course_lib.grade and the grading benchmark use it).
Nothing is imported here, so `import course_lib.authoring.notebook` does not pull in Sphinx or nbconvert.
"""
