"""torchrun with two CPU processes takes the same steps as one process with the same global batch; the recipes that
train in one process refuse a multi-process launch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).with_name("ddp_train.py")


def run(cmd, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COURSE_PROGRESS": "0",
           "PYTHONPATH": os.pathsep.join([str(SCRIPT.parent.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    single = run([sys.executable, str(SCRIPT), str(tmp_path / "single.pt")], tmp_path)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"]
    multi = run(torchrun + [str(SCRIPT), str(tmp_path / "ddp.pt")], tmp_path)
    assert multi.count("train epoch 2/2") == 1, "only rank 0 should log"
    a = torch.load(tmp_path / "single.pt", weights_only=True)
    b = torch.load(tmp_path / "ddp.pt", weights_only=True)
    assert a["state_dict"].keys() == b["state_dict"].keys()  # saved unwrapped (no "module." prefix)
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key], b["state_dict"][key], atol=1e-4), key
    assert abs(a["metrics"]["loss"] - b["metrics"]["loss"]) < 1e-3
    # and training did something
    assert not torch.allclose(a["state_dict"]["net.0.weight"], torch.zeros_like(a["state_dict"]["net.0.weight"]))


def test_single_process_recipes_refuse_a_multi_process_launch(tmp_path, monkeypatch):
    from course_lib import train
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun --nproc_per_node=2 sets in each process
    for recipe in ("ddpm", "flow", "pix2pix", "drs"):
        out = tmp_path / f"{recipe}.pt"
        with pytest.raises(SystemExit, match="trains in one process .* torchrun started 2 processes"):
            train.main([recipe, "--fast", "--out", str(out)])
        assert not out.exists(), recipe  # stopped before training: nothing written
