"""The mechanical part of the lessons' text (issue 19, item 2), on every solutions/*.ipynb:

1. A contract's prohibitions are declared. Every "do not use/call X", "don't use X", "never call X", "must not use X"
   or "without X" in the Markdown before an exercise cell (its contract, course_lib.authoring.notebook finds the cell) that
   names a callable or a library (a `code span`, or scipy, scikit-image, ...) must be in that exercise's
   `forbidden=` (course_lib.selfcheck.EXERCISES[id].forbidden; naming a module declares it when one of its
   callables is forbidden), or `check` could not enforce it. A prohibition of something that is not a callable
   ("do not use a for loop") must be in UNDECLARABLE with the reason it cannot be declared.
2. A lesson's Markdown lists render as lists. Parsed with mistune (nbconvert's Markdown parser, which renders the
   course's book; its list rules are CommonMark's, as JupyterLab's and markdown-it's), a cell fails when
   - a line that looks like a list item ("2. ...", "- ...") renders as paragraph text: a numbered list that does
     not start at 1 cannot interrupt a paragraph, so it needs a blank line before it;
   - a numbered list restarts at N > 1: a non-indented line or block between two items ended the list;
   - a non-indented text line follows a list item without a blank line: it is glued onto that item's text (a
     "lazy continuation"), so a stray remark becomes part of the item, and the list after it is interrupted.
"""
import pkgutil
import re
from pathlib import Path

import mistune
import nbformat
import pytest

import course_lib
from course_lib import contracts, selfcheck
from course_lib.authoring import notebook

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))

# ---------------------------------------------------------------- 1. prohibitions are declared
# Prohibitions that cannot be declared as forbidden callables, with the reason (phrase -> why). A phrase here
# is accepted after "do not use"/"without" in any contract; keep the list short and each reason true.
UNDECLARABLE = {
    "a for loop": "a loop is syntax, not a call: no profile hook or import analysis sees it (a test on the "
                  "running time or on the source would have to check it)",
    "loops": "the same: loops are syntax, not callables",
    "a python loop": "the same: loops are syntax, not callables",
    "in-place operations": "in-place operations are Tensor methods of every kind (add_, mul_, ...): checks "
                           "test the effect (autograd errors, the input unchanged) instead",
}
# Libraries named by their usual name in prose -> their import name.
LIBRARIES = {"scipy": "scipy", "scikit-image": "skimage", "skimage": "skimage", "scikit-learn": "sklearn",
             "sklearn": "sklearn", "torchmetrics": "torchmetrics", "kornia": "kornia", "numpy": "numpy",
             "torchvision": "torchvision", "opencv": "cv2", "cv2": "cv2", "pillow": "PIL", "PIL": "PIL"}
NEGATION = re.compile(r"\b(?:(?:do|does) not|don't|never|must not|may not|cannot|can't)\s+(?:use|call|import)"
                      r"(?:\s+(?:the|any))?\b|\bwithout(?:\s+(?:using|calling))?\b", re.IGNORECASE)
ITEM = re.compile(r"\s*(?:`([^`]+)`|(" + "|".join(map(re.escape, sorted(LIBRARIES, key=len, reverse=True)))
                  + r")\b)", re.IGNORECASE)
SEPARATOR = re.compile(r"\s*(?:,\s*(?:or|and|nor)\b|,|/|\bor\b|\band\b|\bnor\b)", re.IGNORECASE)
ALIASES = {"F": "torch.nn.functional", "nn": "torch.nn", "Tensor": "torch.Tensor", "np": "numpy"}
COURSE_MODULES = {m.name for m in pkgutil.iter_modules(course_lib.__path__)}


def plain(markdown: str) -> str:
    """Markdown as one line of prose: fenced code and display maths dropped, emphasis markers removed."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"\*\*|__|(?<![\w`])_(?=\w)|(?<=\w)_(?![\w`])", "", text)
    return re.sub(r"\s+", " ", text)


def prohibitions(markdown: str) -> list[tuple[str, str]]:
    """[(kind, what)] for each thing the text forbids: ("callable", dotted name as written) for a code span that
    names a callable or module, ("library", import name) for a library, ("other", phrase) for a prohibition of
    anything else after "do not use/call" ("without" is common prose: only its callables and libraries count)."""
    text, found = plain(markdown), []
    for m in NEGATION.finditer(text):
        pos, items = m.end(), []
        while (item := ITEM.match(text, pos)) is not None:
            span, library = item.groups()
            name = re.sub(r"\(.*\)$", "", span.strip()) if span else None
            if span and re.fullmatch(r"[A-Za-z_][\w.]*", name):
                items.append(("callable", name))
            elif library:
                items.append(("library", LIBRARIES[next(k for k in LIBRARIES if k.lower() == library.lower())]))
            pos = item.end()
            sep = SEPARATOR.match(text, pos)
            if sep is None:
                break
            pos = sep.end()
        if items:
            found += items
        elif not m.group(0).lower().startswith("without"):
            found.append(("other", re.split(r"[.;:,(]", text[m.end():].strip(), maxsplit=1)[0].strip().lower()))
    return found


def dotted(name: str) -> str:
    """The full dotted name a contract's short name stands for: F.conv2d -> torch.nn.functional.conv2d,
    gan_metrics -> course_lib.gan_metrics, metrics.psnr -> course_lib.metrics.psnr."""
    head, _, rest = name.partition(".")
    if head in ALIASES:
        return ".".join(filter(None, [ALIASES[head], rest]))
    if head in COURSE_MODULES:
        return f"course_lib.{name}"
    return name


def declared(name: str, forbidden) -> bool:
    """`name` (full dotted) is forbidden, as itself, under another name of the same object, or as the module of
    a forbidden callable."""
    obj = contracts.resolve(name)
    return any(f == name or f.startswith(name + ".")
               or (obj is not None and not isinstance(obj, type(re)) and contracts.resolve(f) is obj)
               for f in forbidden)


def contract_markdown(nb, cell: int) -> str:
    """The Markdown cells right before an exercise cell: its contract and the text that leads to it."""
    cells = []
    while cell > 0 and nb.cells[cell - 1].cell_type == "markdown":
        cell -= 1
        cells.insert(0, nb.cells[cell].source)
    return "\n\n".join(cells)


def undeclared(nb) -> list[str]:
    selfcheck.load_all()
    problems = []
    for cell, exercise_id in notebook.exercise_cells(nb):
        forbidden = selfcheck.EXERCISES[exercise_id].forbidden
        for kind, what in prohibitions(contract_markdown(nb, cell)):
            if kind == "other":
                if not any(what.startswith(phrase) for phrase in UNDECLARABLE):
                    problems.append(f"{exercise_id} (cell {cell}): the contract forbids '{what}', which is not a "
                                    "callable: declare what it means in forbidden= or add it to UNDECLARABLE "
                                    "with the reason")
            elif not declared(dotted(what), forbidden):
                problems.append(f"{exercise_id} (cell {cell}): the contract forbids `{what}` but forbidden= does "
                                f"not declare {dotted(what)} (course_lib/checks/lesson{exercise_id[1:3]}.py)")
    return problems


def test_prohibitions_are_read_from_contract_sentences():
    text = ("- do **not** call `F.conv2d`, `F.unfold`/`Tensor.unfold` or `nn.Conv2d`. `F.pad`, slicing, `einsum` "
            "are fine.\nReturn a float. Do not use\n`gan_metrics` or scipy (the check fails). Do not use "
            "`metrics.psnr`, scikit-image, torchmetrics or `kornia.metrics`. Without the noise term when "
            "`t == 0`; without `F.interpolate`: the shuffle. Don't use a for loop over pixels.")
    assert prohibitions(text) == [
        ("callable", "F.conv2d"), ("callable", "F.unfold"), ("callable", "Tensor.unfold"),
        ("callable", "nn.Conv2d"), ("callable", "gan_metrics"), ("library", "scipy"),
        ("callable", "metrics.psnr"), ("library", "skimage"), ("library", "torchmetrics"),
        ("callable", "kornia.metrics"), ("callable", "F.interpolate"), ("other", "a for loop over pixels")]
    assert dotted("F.conv2d") == "torch.nn.functional.conv2d" and dotted("gan_metrics") == "course_lib.gan_metrics"
    assert declared("torch.nn.functional.unfold", ("torch.nn.functional.unfold",))
    assert declared("course_lib.gan_metrics", ("course_lib.gan_metrics.frechet_distance",))
    assert declared("torch.conv2d", ("torch.nn.functional.conv2d",))  # the same object under another name
    assert not declared("torch.Tensor.unfold", ("torch.nn.functional.unfold",))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_contract_prohibitions_are_declared_as_forbidden(path):
    problems = undeclared(nbformat.read(path, as_version=4))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- 2. lists render as lists
MARKER = re.compile(r"(?:[-*+]|\d{1,2}[.)])(?:\s|$)")  # up to 99 items: "2017) showed" in prose is no list
PARSE = mistune.create_markdown(renderer=None)
INTERRUPTS = re.compile(r"#|```|~~~|\$\$|\||>|<|(?:[-*+]|\d{1,9}[.)])(?:\s|$)")  # lines that end a paragraph


def without_blocks(source: str) -> str:
    """The cell with fenced code and $$ display maths blanked (same line count): their lines are not Markdown."""
    lines, inside = source.split("\n"), None
    for i, line in enumerate(lines):
        head = line.strip()[:3]
        fence = head if head in ("```", "~~~") else "$$" if head.startswith("$$") else None
        if inside:
            if fence == inside or (inside == "$$" and line.rstrip().endswith("$$")):
                inside = None
            lines[i] = ""
        elif fence and not (fence == "$$" and line.strip() != "$$" and line.rstrip().endswith("$$")):
            inside, lines[i] = fence, ""
    return "\n".join(lines)


def _texts(nodes):
    """Yield (previous node, node) of every inline text node, depth first."""
    for node in nodes:
        children = node.get("children") or []
        for before, child in zip([None, *children], children):
            if child.get("type") == "text":
                yield before, child
        yield from _texts(children)


def _blocks(nodes):
    for node in nodes:
        yield node
        yield from _blocks(node.get("children") or [])


def list_problems(source: str) -> list[str]:
    """Why a Markdown cell's lists would not render as lists ([] when they do)."""
    text, problems = without_blocks(source), []
    tree = PARSE(text)
    for before, node in _texts(tree):
        if before is not None and before.get("type") == "softbreak" and MARKER.match(node.get("raw", "")):
            problems.append(f"'{node['raw'][:50]}' renders as paragraph text, not as a list item: leave a blank "
                            "line before the list")
    for node in _blocks(tree):
        if node.get("type") == "list" and node.get("attrs", {}).get("start", 1) != 1:
            problems.append(f"a numbered list restarts at {node['attrs']['start']}: a non-indented line or block "
                            "ended the list before it (indent it under the item above)")
    lines = text.split("\n")
    in_item = False
    for i, line in enumerate(lines):
        if not line.strip():
            in_item = False
        elif MARKER.match(line.lstrip()) and len(line) - len(line.lstrip()) < 4:
            in_item = True
        elif in_item and not line[:1].isspace() and not INTERRUPTS.match(line):
            problems.append(f"line {i + 1} '{line[:50]}' follows a list item without indentation or a blank line: "
                            "it is glued onto that item (indent it to continue the item, or leave a blank line)")
            in_item = False
    return problems


def test_list_problems_are_found():
    assert list_problems("Steps:\n- one\n- two\n\n1. a\n2. b\n   more of b\n\nText.") == []
    assert list_problems("Intro\n```\n- not markdown\nx\n```\n$$\na\n- b\n$$") == []
    assert len(list_problems("Intro line\n2. second")) == 1                       # cannot interrupt a paragraph
    assert list_problems("As Zhu et al. (ICCV\n2017) showed, ...") == []             # a year, not an item
    assert len(list_problems("1. one\n\nA remark.\n\n2. two")) == 1               # the list restarts at 2
    assert len(list_problems("1. one\n(A stray remark.)\n2. two")) == 1           # glued onto item 1
    assert len(list_problems("- one\n- two\nReturn the sum.")) == 1               # glued onto the last item


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_markdown_lists_render_as_lists(path):
    nb = nbformat.read(path, as_version=4)
    problems = [f"cell {i}: {p}" for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
                for p in list_problems(cell.source)]
    assert not problems, "\n".join(problems)
