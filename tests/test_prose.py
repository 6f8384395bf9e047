"""Numbers in the lessons' text must come from the notebook, a checkpoint or a cited source (issue 12, item 1).

A number typed into the Markdown of solutions/*.ipynb goes stale as soon as the code, the data or a checkpoint
changes, and then the text contradicts the output printed under it. So the prose may quote a number only if it is

- part of an equation (`$...$`) or of code (`...`, fenced blocks): formulas and commands, not results;
- a literal of the same notebook's code cells (kernel sizes, step counts, thresholds; "1 %" matches `0.01`);
- a value of a shipped checkpoint's metadata (or the difference of two values of one checkpoint, e.g. the gain
  `val_psnr - bicubic_psnr`), at the precision quoted, also as a percentage or seconds in minutes;
- a lesson, section, equation, figure or table number, a small count (0-10 without a unit), or the year of a
  citation;
- in a sentence that names its source: a citation such as "Shi et al. 2016" or "Chong & Forsyth 2020";
- on the ALLOWED list below, each with its reason.

Everything else is a result typed by hand. The fix is to print it in a code cell and refer to the printed value
("the cell above prints ..."), or to state where the measured fact comes from.
"""
import math
import re
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
CHECKPOINTS = sorted((REPO / "course_lib" / "checkpoints").glob("*.pt"))

# (lesson number, number as typed) -> why it may stay typed. Keep this list short: each entry is a number that
# no code cell prints and no checkpoint records.
ALLOWED = {
    ("01", "512"): "the astronaut photo's size, printed by the cell after the layout table",
    ("02", "60,000"): "MNIST's training-set size (LeCun et al. 1998); lesson 02 prints the tensor shapes in full mode",
    ("04", "60,000"): "MNIST's training-set size (LeCun et al. 1998)",
    ("11", "1.70"): "Karras et al. 2024's best autoguidance weights (their Sec. 5), cited",
    ("11", "2.85"): "Karras et al. 2024's best autoguidance weights (their Sec. 5), cited",
    ("11", "0.7"): "Karras et al. 2024's weights 1.70 to 2.85 minus 1 (the course's w)",
    ("11", "1.85"): "Karras et al. 2024's weights 1.70 to 2.85 minus 1 (the course's w)",
    ("11", "75"): "the course's CPU training budget in minutes for a model with its guide (issues 18 and 20); "
                  "the runs' own minutes are printed by the cells that describe them",
    ("07", "30.59"): "SRCNN paper model, `train srcnn --paper` at commit bdf755e (not shipped)",
    ("07", "+0.85"): "SRCNN paper model, `train srcnn --paper` at commit bdf755e (not shipped)",
    ("07", "9"): "SRCNN paper model's training minutes, `train srcnn --paper` at commit bdf755e (not shipped)",
    ("07", "30.39"): "ESPCN paper model, `train espcn --paper` at commit bdf755e (not shipped)",
    ("07", "+0.65"): "ESPCN paper model, `train espcn --paper` at commit bdf755e (not shipped)",
    ("07", "1.5"): "ESPCN paper model's training minutes, `train espcn --paper` at commit bdf755e (not shipped)",
    ("08", "26.65"): "the SRResNet ablation of cell 'What each change is worth', commit f03d744 (not shipped)",
    ("08", "+0.83"): "the SRResNet ablation, commit f03d744 (not shipped)",
    ("08", "+1.27"): "the SRResNet ablation, commit f03d744 (not shipped)",
    ("08", "+0.02"): "the SRResNet ablation, commit f03d744 (not shipped)",
    ("08", "256"): "CPU-preset discriminator width and dense size (srgan.PRESETS['cpu'], the discriminator cell prints "
                   "256 channels), and the f03d744 ablation's 256-pixel crops",
    ("08", "512"): "the paper's discriminator widths (Ledig et al. 2017, Fig. 4), srgan.PRESETS['paper']",
    ("08", "1024"): "the paper's discriminator dense layer (Ledig et al. 2017, Fig. 4), srgan.PRESETS['paper']",
    ("08", "548"): "size of torchvision's VGG19 ImageNet weights file (vgg19-dcbb9e9d.pth)",
    ("08", "0.25"): "CPU-preset generator's parameters in millions, printed by the presets cell (247,139)",
    ("08", "1.5"): "paper-preset generator's parameters in millions, printed by the presets cell (1,548,547)",
    ("09", "70"): "the paper's PatchGAN receptive field (Isola et al. 2017, Table 3), printed by the receptive-field cell",
    ("09", "34"): "our two-layer PatchGAN's receptive field, printed by the receptive-field cell",
    ("09", "286"): "the paper's whole-image discriminator, 286x286 (Isola et al. 2017, Table 3)",
    ("10", "60,000"): "MNIST's training-set size (LeCun et al. 1998)",
    ("10", "13.36"): "DDIM (Song et al. 2021) Table 1, CIFAR-10 FID with 10 steps, eta = 0",
    ("10", "41.07"): "DDIM (Song et al. 2021) Table 1, CIFAR-10 FID with 10 steps, eta = 1",
}

NUMBER = re.compile(r"(?<![\w.\\-])[+\u2212-]?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w.]*\w)")
UNIT = re.compile(r"\s?(%|dB|ms|s\b|min|minutes|seconds|hours|MB|GB|M\b|k\b|x\b|×)")
CITATION = re.compile(
    r"\b[A-Z][\w'\u00c0-\u024f-]+(?: et al\.?| & [A-Z][\w'\u00c0-\u024f-]+)?,?\s\(?(?:[A-Z]{3,} )?(19|20)\d\d\b")
REFERENCE = re.compile(
    r"\b(?:[Ll]essons?|Sec\.|Section|Eq\.|Eqs\.|Fig\.|Table|Prop\.|Algorithm|step|Step|row|column)\s+"
    r"(\d+(?:\.\d+)?(?:[\u2013,-]\s?\d+)*(?:\s(?:and|or)\s\d+)?)")
RESULT_UNITS = {"dB", "ms", "s", "min", "minutes", "seconds", "hours"}  # measured, never a code literal
CODE = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|<!--.*?-->|\]\([^)]*\)|https?://\S+", re.S)


def numbers_in(text: str) -> list[tuple[str, float, int, str]]:
    """(as typed, value, decimals, unit) for every number in text."""
    found = []
    for m in NUMBER.finditer(text):
        whole, frac = m.group(1).replace(",", ""), m.group(2)
        value = float(f"{whole}.{frac}" if frac else whole)
        if m.group(0)[0] in "-\u2212":
            value = -value
        unit = UNIT.match(text, m.end())
        found.append((m.group(0), value, len(frac or ""), unit.group(1) if unit else ""))
    return found


def sentences(markdown: str) -> list[str]:
    text = CODE.sub(" ", markdown)
    text = re.sub(r"^#+\s*\d+\.", "#", text, flags=re.M)         # "## 2. Convolution": a section number
    text = re.sub(r"^\s*\d+\.\s", "- ", text, flags=re.M)          # "1. ..." a numbered list
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z*(|])|\n\s*\n|\n(?=\s*[-|*]\s)", text)
    return [p for p in parts if p.strip()]


def code_numbers(nb) -> set[float]:
    values = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            for _, value, _, _ in numbers_in(re.sub(r"(\d)_(\d)", r"\1\2", cell.source)):
                values.add(abs(value))
            for m in re.finditer(r"(\d+(?:\.\d+)?)e(-?\d+)", cell.source):   # 2e-4, 1e-3
                values.add(float(m.group(0)))
    return values


@lru_cache(maxsize=None)
def metadata_numbers() -> tuple[tuple[str, float], ...]:
    """(key, value) for every number recorded in the shipped checkpoints' metadata, plus the differences of two
    metrics of one checkpoint that measure the same thing (`val_psnr - bicubic_psnr`: the gain over bicubic)."""
    values = []
    for path in CHECKPOINTS:
        meta = {k: v for k, v in torch.load(path, weights_only=True, map_location="cpu").items() if k != "state_dict"}
        named = []

        def walk(x, key=""):
            if isinstance(x, dict):
                for k, v in x.items():
                    walk(v, str(k))
            elif isinstance(x, (list, tuple)):
                for v in x:
                    walk(v, key)
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                named.append((key, float(x)))

        walk(meta)
        values += named
        values += [(f"{ka} - {kb}", a - b) for ka, a in named for kb, b in named
                   if ka != kb and "_" in ka and "_" in kb and ka.split("_")[-1] == kb.split("_")[-1]]
    return tuple(values)


# A unit says what a number may be: a dB value is a PSNR, minutes and seconds are durations.
KEYS_FOR_UNIT = {"dB": ("psnr",), "s": ("seconds", "time"), "min": ("seconds", "time"),
                 "minutes": ("seconds", "time")}
FACTORS = {"%": (1.0, 100.0), "M": (1e-6,), "k": (1e-3, 1.0), "min": (1 / 60,), "minutes": (1 / 60,)}


def matches(value: float, decimals: int, unit: str, candidates) -> bool:
    """Is a number typed with `decimals` digits one of the candidates rounded the same way (a share in %,
    seconds in minutes, a count in M or k)?"""
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(math.isclose(abs(value), abs(c * f), abs_tol=tolerance)
               for c in candidates for f in FACTORS.get(unit, (1.0,)))


def in_metadata(typed: str, value: float, decimals: int, unit: str) -> bool:
    """A checkpoint records it: at least two significant digits (0.6 or 9 % would match too much by chance)."""
    if len(re.sub(r"\D", "", typed).lstrip("0")) < 2:
        return False
    keys = KEYS_FOR_UNIT.get(unit)
    return matches(value, decimals, unit, [v for k, v in metadata_numbers() if not keys or any(w in k for w in keys)])


def unexplained(path: Path, explain: bool = False) -> list[str]:
    """The numbers of a lesson's Markdown that nothing accounts for (explain=True: also say what accounts)."""
    nb = nbformat.read(path, as_version=4)
    lesson = path.name[:2]
    in_code = code_numbers(nb)
    checks = REPO / "course_lib" / "checks" / f"lesson{lesson}.py"   # the exercises' contracts live there
    if checks.exists():
        in_code |= {abs(v) for _, v, _, _ in numbers_in(re.sub(r"(\d)_(\d)", r"\1\2", checks.read_text()))}
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or "colab-badge" in cell.metadata.get("tags", []):
            continue
        for sentence in sentences(cell.source):
            if CITATION.search(sentence):
                continue
            referenced = {n.strip() for m in REFERENCE.finditer(sentence)
                          for n in re.split(r"[\u2013,-]|and|or", m.group(1))}
            for typed, value, decimals, unit in numbers_in(sentence):
                why = None
                if typed.lstrip("+-\u2212") in referenced:
                    why = "a reference"
                elif (lesson, typed) in ALLOWED:
                    why = ALLOWED[lesson, typed]
                elif decimals == 0 and 0 <= value <= 10 and unit in ("", "x", "\u00d7"):
                    why = "a small count"
                elif 1900 <= value <= 2030 and decimals == 0 and not unit:
                    why = "a year"
                elif unit not in RESULT_UNITS and matches(value, decimals, unit, in_code):
                    why = "a code literal"
                elif in_metadata(typed, value, decimals, unit):
                    why = "checkpoint metadata"
                where = f"{path.name} cell {index}: {typed}{(' ' + unit) if unit else ''}"
                if why is None:
                    problems.append(f"{where} in \"{' '.join(sentence.split())[:160]}\"")
                elif explain:
                    problems.append(f"{where}: {why}")
    return problems


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name[:2] for p in SOLUTIONS])
def test_numbers_in_the_text_come_from_somewhere(path):
    problems = unexplained(path)
    assert not problems, ("numbers typed into the lesson text that no code cell, checkpoint or cited source "
                          "produces (print them and refer to the printed value, or add a reason to ALLOWED):\n"
                          + "\n".join(problems))


def test_the_checker_catches_a_typed_result(tmp_path):
    """A sentence quoting a result nobody printed fails; the same number as a code literal or cited passes."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("steps = 3000\nthreshold = 0.01"),
        nbformat.v4.new_markdown_cell("We train 3000 steps and count a mode when 1 % of the samples hit it."),
        nbformat.v4.new_markdown_cell("Published: 33.13 dB on Set5 (Shi et al. 2016, Table 2)."),
        nbformat.v4.new_markdown_cell("Lessons 03–05 use it; see Eq. 6 and $d^2 = 2.5$ and `--steps 123456`."),
    ])
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(nb, path)
    assert unexplained(path) == []
    nb.cells.append(nbformat.v4.new_markdown_cell("The model reaches 30.84 dB, 6.283 % better, after 4321 steps."))
    nbformat.write(nb, path)
    flagged = [problem.split(" in ", 1)[0] for problem in unexplained(path)]
    assert flagged == ["99_probe.ipynb cell 4: 6.283 %", "99_probe.ipynb cell 4: 4321"]  # 30.84 dB: espcn_x3's val_psnr
