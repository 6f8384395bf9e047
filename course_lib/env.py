"""Where and how the course runs: full or fast mode, and where data and checkpoints live.

Full mode (the default) trains for real. `COURSE_FAST=1` (set by `make test`) runs the same code
on less data and fewer steps, so every notebook executes in seconds to a minute on 2 CPU cores.
"""
import os
import sys
from pathlib import Path

FAST = os.environ.get("COURSE_FAST", "0").strip().lower() not in ("", "0", "false", "no")
PACKAGE_DIR = Path(__file__).resolve().parent
CHECKPOINT_DIR = PACKAGE_DIR / "checkpoints"


def pick(full, fast):
    """Return `full` normally and `fast` under COURSE_FAST=1, e.g. `epochs = pick(full=10, fast=1)`."""
    return fast if FAST else full


def data_dir() -> Path:
    """The course's data folder: $COURSE_DATA, else data/ in the repository, else the copy in an installed wheel."""
    if "COURSE_DATA" in os.environ:
        return Path(os.environ["COURSE_DATA"]).expanduser()
    repo = PACKAGE_DIR.parent / "data"
    return repo if (repo / "MNIST").is_dir() else PACKAGE_DIR / "_data"


def cache_dir() -> Path:
    """A writable folder for files course_lib unpacks (used when data/ is read-only)."""
    path = Path(os.environ.get("COURSE_CACHE", Path.home() / ".cache" / "image-gen-course")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def in_colab() -> bool:
    return "google.colab" in sys.modules


def setup(seed: int = 0):
    """First call of every notebook: seed everything, pick the device, say what mode we are in."""
    import torch

    from . import __version__
    from .device import get_device, seed_everything

    seed_everything(seed)
    device = get_device()
    mode = "FAST (COURSE_FAST=1: small data, few steps)" if FAST else "FULL (real training; COURSE_FAST=1 for a quick run)"
    print(f"course_lib {__version__} | torch {torch.__version__} | device: {device} | mode: {mode} | seed: {seed}")
    return device
