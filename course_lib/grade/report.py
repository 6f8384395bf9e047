"""Writing what grading found: grades.csv, one feedback file per student, the summary printed at the end.

Feedback shows statuses and the public tests' messages, never test source, private test messages or
expected values. Times appear only in the printed summary, so the files are the same run after run.
"""
import csv
from collections import Counter, defaultdict
from pathlib import Path

from .results import COLUMNS, DUPLICATE_LESSON, NOT_ATTEMPTED, TEST_ERROR, TEST_FAIL, TEST_PASS, TEST_TODO
from .submissions import duplicate_lessons, feedback_names


def number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def flag_duplicates(outcomes) -> dict:
    """Mark the rows of a lesson handed in twice by one student; return what was found."""
    duplicates = duplicate_lessons(outcomes)
    for o in outcomes:
        if (o.student, o.lesson) in duplicates and DUPLICATE_LESSON not in o.flags:
            o.flags.append(DUPLICATE_LESSON)
    return duplicates


def feedback(student: str, outcomes: list) -> str:
    """One student's feedback in Markdown."""
    total, most = sum(o.points for o in outcomes), sum(o.max_points for o in outcomes)
    lines = [f"# Feedback for {student}", "", f"Total: {number(total)} / {number(most)} points", ""]
    for rel in sorted({o.file for o in outcomes}):
        mine = [o for o in outcomes if o.file == rel]
        head = mine[0]
        if not head.exercise:
            lines += [f"## {rel}: {head.status}", "", head.message, ""]
            continue
        lines += [f"## {rel} (lesson {head.lesson}): {number(sum(o.points for o in mine))} / "
                  f"{number(sum(o.max_points for o in mine))} points"]
        if head.flags:
            lines.append(f"Note: you handed in lesson {head.lesson} more than once; each copy is graded on its own.")
        lines += [f"Note: {note}" for note in head.notes]
        for o in mine:
            lines += ["", f"### {o.exercise}: {o.status} ({number(o.points)} / {number(o.max_points)})"]
            if o.message:
                lines.append(o.message)
            # one bug, one message (as course_lib.selfcheck.report): only the first failing public test's hint
            first = next((i for i, t in enumerate(o.tests)
                          if not t.private and t.status in (TEST_FAIL, TEST_ERROR)), None)
            for i, t in enumerate([] if o.status == NOT_ATTEMPTED else o.tests):
                mark = "PASS" if t.status == TEST_PASS else ("TODO" if t.status == TEST_TODO else "FAIL")
                name = f"private test: {t.description}" if t.private else t.description
                if t.private or not t.message:
                    lines.append(f"- [{mark}] {name}")
                elif first is not None and i > first and t.status != TEST_PASS:
                    lines.append(f"- [{mark}] {name} (may share the cause of the first failure)")
                else:
                    lines.append(f"- [{mark}] {name}: {t.message}")
        lines.append("")
    lines += ["---", "Each exercise cell was run on its own, after the notebook's import lines, and its object was "
              "tested as `check(...)` does in the notebook. Messages say what is wrong, never the expected values."]
    return "\n".join(lines).rstrip() + "\n"


def write_outputs(outcomes: list, out: Path) -> None:
    """grades.csv (sorted, no times) and feedback/<student>.md, replacing earlier feedback files."""
    out.mkdir(parents=True, exist_ok=True)
    flag_duplicates(outcomes)
    rows = sorted(([o.student, o.lesson, o.exercise, number(o.points), number(o.max_points), o.status, o.file,
                    "; ".join(o.flags)] for o in outcomes), key=lambda r: (r[0], r[1], r[6], r[2]))
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    folder = out / "feedback"
    if folder.exists():
        for old in folder.glob("*.md"):
            old.unlink()
    folder.mkdir(exist_ok=True)
    by_student = defaultdict(list)
    for o in outcomes:
        by_student[o.student].append(o)
    names = feedback_names(by_student)
    for student, mine in by_student.items():
        (folder / f"{names[student]}.md").write_text(feedback(student, mine), encoding="utf-8")


def summary(outcomes: list, seconds: float, jobs: int) -> str:
    """The table printed at the end: one line per submitted file (times here, never in the files)."""
    by_file = defaultdict(list)
    for o in outcomes:
        by_file[(o.student, o.file)].append(o)
    rows = [("student", "file", "lesson", "points", "statuses", "seconds")]
    for (student, rel), mine in sorted(by_file.items()):
        statuses = Counter(o.status for o in mine)
        rows.append((student, rel, mine[0].lesson or "-",
                     f"{number(sum(o.points for o in mine))}/{number(sum(o.max_points for o in mine))}",
                     ", ".join(f"{s} {n}" if n > 1 else s for s, n in sorted(statuses.items())),
                     f"{max(o.seconds for o in mine):.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    text = ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths)).rstrip() for r in rows]
    for (student, lesson), files in sorted(duplicate_lessons(outcomes).items()):
        text.append(f"FLAG: {student} handed in lesson {lesson} {len(files)} times: {', '.join(files)}")
    untrusted = sum(not t.trusted for o in outcomes for t in o.tests)
    if untrusted:
        text.append(f"{untrusted} test result(s) were judged inside the sandbox (see docs/instructors.md)")
    text.append(f"{len(by_file)} file(s) of {len({o.student for o in outcomes})} student(s) graded in "
                f"{seconds:.1f} s with {jobs} parallel job(s)")
    return "\n".join(text)
