"""course_lib: the reference code behind the image-generation and super-resolution course.

Notebooks import it for data, device handling, training loops, checkpoints, plots and self-checks.
Each module holds one concept; read them beside the notebooks.
"""
__version__ = "0.1.0"

from .env import FAST, pick  # noqa: E402,F401
from .device import get_device, seed_everything, setup  # noqa: E402,F401
from .selfcheck import check  # noqa: E402,F401


def announce(key: str) -> None:
    """Print how long the next cell took in full mode when it was measured (`benchmark lessons`), per device."""
    from .benchmarks.lessons import announce as _announce
    _announce(key)
