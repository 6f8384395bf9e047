"""course_lib.env is the one reader of COURSE_* settings, with one yes/no parser, documented in one README table."""
import re
from pathlib import Path

import pytest

from course_lib import device, env, loop

ROOT = Path(__file__).resolve().parents[1]
# os.environ.get("COURSE_X"), os.getenv("COURSE_X"), os.environ["COURSE_X"] (not an assignment), "COURSE_X" in os.environ
READ = re.compile(r"""environ\.get\(\s*["']COURSE_|getenv\(\s*["']COURSE_|environ\[\s*["']COURSE_\w+["']\s*\](?!\s*=[^=])"""
                  r"""|["']COURSE_\w+["']\s+in\s+os\.environ""")


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " On "])
def test_flag_true(monkeypatch, value):
    monkeypatch.setenv("COURSE_X", value)
    assert env.flag("COURSE_X") is True


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off", ""])
def test_flag_false(monkeypatch, value):
    monkeypatch.setenv("COURSE_X", value)
    assert env.flag("COURSE_X", default=True) is False


def test_flag_unset_gives_the_default_and_garbage_is_an_error(monkeypatch):
    monkeypatch.delenv("COURSE_X", raising=False)
    assert env.flag("COURSE_X") is False and env.flag("COURSE_X", default=True) is True
    monkeypatch.setenv("COURSE_X", "maybe")
    with pytest.raises(ValueError, match="COURSE_X='maybe'"):
        env.flag("COURSE_X")


def test_strict_accepts_every_spelling(monkeypatch):
    monkeypatch.setenv("COURSE_STRICT", "true")  # was not strict when only "1" counted
    assert env.strict()
    monkeypatch.setenv("COURSE_STRICT", "off")
    assert not env.strict()


def test_settings_are_read_at_call_time(monkeypatch):
    monkeypatch.setenv("COURSE_AMP", "no")
    assert device.amp_dtype(device.torch.device("cuda")) is None
    monkeypatch.setenv("COURSE_PROGRESS", "false")
    assert loop.progress_enabled() is False
    monkeypatch.setenv("COURSE_PROGRESS", "yes")
    assert loop.progress_enabled() is True
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert device.get_device().type == "cpu"
    monkeypatch.setenv("COURSE_DOWNLOAD", "on")
    assert env.download()


def test_only_env_reads_course_settings():
    readers = []
    for path in (ROOT / "course_lib").rglob("*.py"):
        if path.name == "env.py":
            continue
        for line in path.read_text().splitlines():
            if READ.search(line):
                readers.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not readers, "read COURSE_* settings through course_lib.env:\n" + "\n".join(readers)


def test_every_setting_is_in_the_readme_table():
    used = set()
    for path in (ROOT / "course_lib").rglob("*.py"):
        used |= set(re.findall(r"\bCOURSE_[A-Z]+\b", path.read_text()))
    documented = {name for name, *_ in env.SETTINGS}
    assert used <= documented, f"settings missing from env.SETTINGS: {sorted(used - documented)}"
    readme = (ROOT / "README.md").read_text()
    for name, values, default, effect in env.SETTINGS:
        assert re.search(rf"\|\s*`{name}`\s*\|", readme), f"{name} is not in the README settings table"
