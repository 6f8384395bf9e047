"""Where and how the course runs: every COURSE_* setting is read here, and only here.

Full mode (the default) trains for real. `COURSE_FAST=1` (set by `make test`) runs the same code
on less data and fewer steps, so every notebook executes in seconds to a minute on 2 CPU cores.

Yes/no settings share one parser, `flag`: 1/true/yes/on and 0/false/no/off (or empty) in any case;
anything else is an error that names the variable. The README's settings table lists them all.
Settings other modules read while running (`device()`, `amp()`, `progress()`, `strict()`, ...) are
read at call time, so a test or a notebook can change them; FAST is read once, at import.
"""
import os
from pathlib import Path

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def flag(name: str, default: bool = False) -> bool:
    """The yes/no setting $name: True for 1/true/yes/on, False for 0/false/no/off/empty, `default` if unset."""
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a yes/no setting: use 1/true/yes/on or 0/false/no/off")


def text(name: str) -> str | None:
    """The free-form setting $name (a path, a device name), or None when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


FAST = flag("COURSE_FAST")
PACKAGE_DIR = Path(__file__).resolve().parent
CHECKPOINT_DIR = PACKAGE_DIR / "checkpoints"


def pick(full, fast):
    """Return `full` normally and `fast` under COURSE_FAST=1, e.g. `epochs = pick(full=10, fast=1)`."""
    return fast if FAST else full


def strict() -> bool:
    """COURSE_STRICT=1 (the test suite): a failing self-check raises instead of printing."""
    return flag("COURSE_STRICT")


def device() -> str | None:
    """COURSE_DEVICE=cpu|cuda|mps|cuda:1 forces a device (None: the best available)."""
    return text("COURSE_DEVICE")


def amp() -> bool:
    """COURSE_AMP=0 turns mixed precision off (default on, where the device supports it)."""
    return flag("COURSE_AMP", default=True)


def progress() -> bool | None:
    """COURSE_PROGRESS=0/1 hides/shows progress bars; None (unset): show them in interactive sessions only."""
    return flag("COURSE_PROGRESS") if text("COURSE_PROGRESS") is not None else None


def download() -> bool:
    """COURSE_DOWNLOAD=1 allows downloading pretrained weights (VGG19 in lesson 08); off by default."""
    return flag("COURSE_DOWNLOAD")


def artifacts_dir() -> Path | None:
    """COURSE_ARTIFACTS=DIR: where the browser test keeps its screenshot (None: nowhere)."""
    value = text("COURSE_ARTIFACTS")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """The course's data folder: $COURSE_DATA, else data/ in the repository, else the copy in an installed wheel."""
    if text("COURSE_DATA"):
        return Path(text("COURSE_DATA")).expanduser()
    repo = PACKAGE_DIR.parent / "data"
    return repo if (repo / "MNIST").is_dir() else PACKAGE_DIR / "_data"


def cache_dir() -> Path:
    """A writable folder for files course_lib unpacks (used when data/ is read-only): $COURSE_CACHE or
    ~/.cache/image-gen-course."""
    path = Path(text("COURSE_CACHE") or Path.home() / ".cache" / "image-gen-course").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


# The settings table in the README is generated from this list (course_lib.authoring.readme).
SETTINGS = [
    ("COURSE_FAST", "0 / 1", "0", "1: small data and few steps, every notebook in seconds to a minute (`make test`)"),
    ("COURSE_STRICT", "0 / 1", "0", "1: a failing self-check raises instead of printing (the test suite)"),
    ("COURSE_DEVICE", "cpu, cuda, cuda:1, mps", "best available", "forces the device"),
    ("COURSE_AMP", "0 / 1", "1", "0: no mixed precision on CUDA/MPS"),
    ("COURSE_PROGRESS", "0 / 1", "interactive only", "hides / shows progress bars"),
    ("COURSE_DATA", "a folder", "data/ (or the wheel's copy)", "where MNIST/raw/ and the photos are"),
    ("COURSE_CACHE", "a folder", "~/.cache/image-gen-course", "where unpacked data goes when data/ is read-only"),
    ("COURSE_DOWNLOAD", "0 / 1", "0", "1: lesson 08 may download the VGG19 ImageNet weights"),
    ("COURSE_ARTIFACTS", "a folder", "unset", "the browser test keeps its screenshot there"),
]

