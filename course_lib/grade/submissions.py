"""Finding submissions: which files, which student, and feedback file names that cannot collide.

SUBMISSIONS/<student>.ipynb or SUBMISSIONS/<student>/<any path>. Every file and every empty student
folder gets rows, including names that start with dots (`..Ana/`); only the artefacts tools leave
behind are skipped (.ipynb_checkpoints, .git, __MACOSX, __pycache__, .DS_Store, ._* AppleDouble files).
"""
import hashlib
import re
from collections import defaultdict
from pathlib import Path

SKIPPED = {".ipynb_checkpoints", ".git", "__MACOSX", "__pycache__", ".DS_Store", ".Trash-1000", ".virtual_documents"}


def _skipped(part: str) -> bool:
    return part in SKIPPED or part.startswith("._")


def find_submissions(root: Path, skip: list) -> list:
    """(student, relative path, path) for every file; a subfolder SUBMISSIONS/<student>/... names the student.
    Symbolic links are not followed (a link could point at another student's work or the grader's files)."""
    found, skip = [], [Path(s).resolve() for s in skip]
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(_skipped(part) for part in rel.parts) or path.is_symlink():
            continue
        if any(path.resolve() == s or s in path.resolve().parents for s in skip):
            continue
        student = rel.parts[0] if len(rel.parts) > 1 else path.stem
        if path.is_file():
            found.append((student, rel.as_posix(), path))
        elif path.is_dir() and len(rel.parts) == 1 and not any(
                p.is_file() and not any(_skipped(q) for q in p.relative_to(path).parts) for p in path.rglob("*")):
            found.append((student, rel.as_posix() + "/", path))
    return found


def feedback_names(students) -> dict:
    """{student: file stem}: the name made safe, plus a short hash wherever two students would collide."""
    safe = {s: re.sub(r"[^\w.-]", "_", s).lstrip(".") or "_" for s in students}
    by_name = defaultdict(list)
    for student, name in safe.items():
        by_name[name.lower()].append(student)  # case-insensitive file systems too
    names = {}
    for student, name in safe.items():
        clash = len(by_name[name.lower()]) > 1 or name != student
        names[student] = f"{name}-{hashlib.sha1(student.encode()).hexdigest()[:6]}" if clash else name
    return names


def duplicate_lessons(outcomes) -> dict:
    """{(student, lesson): [files]} where one student handed in the same lesson in more than one file."""
    files = defaultdict(set)
    for o in outcomes:
        if o.lesson:
            files[(o.student, o.lesson)].add(o.file)
    return {key: sorted(v) for key, v in files.items() if len(v) > 1}
