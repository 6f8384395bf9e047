"""The README's generated tables are current, and its measured numbers belong to the shipped checkpoints."""
import pytest

from course_lib import benchmark, checkpoint
from course_lib.authoring import readme


def test_readme_blocks_are_current():
    assert readme.main(["--check"]) == 0, "README.md is stale: run `python -m course_lib.authoring.readme`"


def test_a_stale_block_is_detected(tmp_path, monkeypatch):
    stale = tmp_path / "README.md"
    stale.write_text(readme.README.read_text().replace("| `COURSE_FAST` |", "| `COURSE_FASTER` |"))
    monkeypatch.setattr(readme, "README", stale)
    assert readme.main(["--check"]) == 1


def test_recorded_numbers_belong_to_the_shipped_checkpoints():
    results = benchmark.recorded()
    assert {"classifier", "gan", "sr"} <= set(results), "run `python -m course_lib.benchmark --record SUITE`"
    for suite, r in results.items():
        for name, recorded in r.get("fingerprints", {}).items():
            assert benchmark.fingerprint(name) == recorded, \
                f"{name}.pt changed since `benchmark --record {suite}`: re-record it and run `python -m course_lib.authoring.readme`"


def test_recorded_numbers_agree_with_the_checkpoints_metadata():
    results = benchmark.recorded()
    accuracy = checkpoint.read_checkpoint("mnist_cnn")["metrics"]["test_accuracy"]
    assert results["classifier"]["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    for name, m in results["sr"]["models"].items():
        if not name.startswith("bicubic"):
            assert m["psnr"] == pytest.approx(checkpoint.read_checkpoint(name)["metrics"]["val_psnr"], abs=0.01), name
