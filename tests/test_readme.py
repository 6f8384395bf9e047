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


def test_flow_rows_never_pick_a_row_measured_on_other_noise():
    def row(name, IS, FD, nfe):
        return dict(name=name, IS=IS, FD=FD, in_between=0.03, n=10_000, nfe=nfe)
    rows = [row("flow matching, Euler 20", 8.5, 39.0, 20), row("flow matching, Euler 20 (noise seed 1)", 9.9, 1.0, 20),
            row("diffusion, DDIM 20", 8.8, 28.0, 20),
            row("flow CFG w=0, Euler 20", 9.6, 4.9, 20), row("flow CFG w=0, Euler 20 (noise seed 1)", 9.9, 3.0, 20)]
    out = readme.flow_rows({r["name"]: r for r in rows})
    uncond = next(r for r in out if "≤ 20 evaluations" in r[0] and "`flow_mnist`" in r[0])
    assert "8.50 / 39.0" in uncond[1] and "9.90" not in uncond[1]
    # autoguided rows: their own line, the lowest FD (not the highest IS), never a row on other noise
    ag = rows + [row("flow matching + autoguidance w=1, Heun 5 steps", 9.2, 10.3, 18),
                 row("flow matching + autoguidance w=2, Heun 5 steps", 9.4, 21.0, 18),
                 row("flow matching + autoguidance w=1, Heun 5 steps (noise seed 1)", 9.5, 2.0, 18),
                 row("flow matching + autoguidance w=1, Heun 10 steps", 9.6, 3.0, 38)]
    out_ag = readme.flow_rows({r["name"]: r for r in ag})
    assert next(r for r in out_ag if "≤ 20 evaluations" in r[0] and "`flow_mnist`" in r[0])[1] == uncond[1]
    auto = next(r for r in out_ag if "autoguided" in r[0] and "≤ 20" in r[0])
    assert "w=1, Heun 5 steps:" in auto[0] and auto[1].startswith("9.20 / 10.3")
    assert "the same on noise seed 1" in auto[0] and "9.50 / 2.0" in auto[1]  # shown beside, not picked
    assert not any("autoguided" in r[0] for r in out)
    cond = next(r for r in out if "class-conditional" in r[0])
    assert "flow CFG w=0, Euler 20:" in cond[0] and "the same on noise seed 1" in cond[0]
    assert cond[1].startswith("9.60 / 4.9") and "9.90 / 3.0" in cond[1]  # the other noise shown beside, not picked
