"""The SR evaluation harness: bicubic and model code paths, image folders (as for Set5/Set14), CLI, benchmark."""
import math
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from course_lib import checkpoint, data, degrade, metrics, sr_eval
from course_lib.benchmarks import sr as sr_benchmark


# Toy SR models following the course convention, in a stand-in course_lib module so load_model can rebuild them.
class BicubicRGB(nn.Module):
    """LR-space RGB model: returns MATLAB bicubic, so it must score exactly like the bicubic baseline."""
    channels = 3

    def __init__(self, scale: int = 3):
        super().__init__()
        self.scale = scale
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, lr):
        return degrade.imresize(lr, self.scale) * self.gain


class IdentityY(nn.Module):
    """SRCNN-like: takes the bicubic-upsampled Y and returns it unchanged."""
    channels, upsample_first = 1, True

    def __init__(self, scale: int = 3):
        super().__init__()
        self.scale = scale
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, y):
        assert y.shape[1] == 1
        return y * self.gain


TOY = types.ModuleType("course_lib._toy_sr")
for cls in (BicubicRGB, IdentityY):
    cls.__module__ = TOY.__name__
    setattr(TOY, cls.__name__, cls)


@pytest.fixture
def toy_module(monkeypatch):
    monkeypatch.setitem(sys.modules, TOY.__name__, TOY)


@pytest.fixture(scope="module")
def crops():
    return sr_eval.center_crop(data.photos("val"), 48)


def test_evaluate_bicubic_rows_follow_the_protocol(crops):
    rows = sr_eval.evaluate("bicubic", crops, 3)
    assert [r["image"] for r in rows] == list(crops) + ["mean"]
    for row, hr in zip(rows, crops.values()):
        hr = degrade.mod_crop(hr, 3)
        expected = metrics.sr_scores(degrade.upsample(degrade.make_lr(hr, 3), 3, "matlab"), hr, 3)
        assert math.isclose(row["psnr"], expected["psnr"], abs_tol=1e-9)
        assert math.isclose(row["ssim"], expected["ssim"], abs_tol=1e-9)
        assert row["seconds"] >= 0 and row["megapixels"] > 0
    assert math.isclose(rows[-1]["psnr"], np.mean([r["psnr"] for r in rows[:-1]]))
    assert rows[-1]["psnr"] > sr_eval.evaluate("bicubic", crops, 4)[-1]["psnr"]  # x4 is harder than x3


def test_models_lr_space_and_y_only_paths(crops):
    bicubic = sr_eval.evaluate("bicubic", crops, 3)
    rgb = sr_eval.evaluate(BicubicRGB(3), crops, 3)
    assert all(math.isclose(a["psnr"], b["psnr"], abs_tol=1e-6) for a, b in zip(rgb, bicubic))
    y_only = sr_eval.evaluate(IdentityY(3), crops, 3)  # scores Y itself, quantised as Y: within 0.1 dB
    assert all(abs(a["psnr"] - b["psnr"]) < 0.1 for a, b in zip(y_only, bicubic))

    lr = degrade.make_lr(degrade.mod_crop(crops["astronaut"], 3), 3)
    sr = sr_eval.super_resolve(IdentityY(3), lr, 3)  # Y from the model, Cb/Cr from bicubic -> RGB
    assert sr.shape == (3, 48, 48)
    assert (sr - degrade.upsample(lr, 3, "matlab")).abs().max() < 1e-4
    assert sr_eval.super_resolve(IdentityY(3), lr, 3, keep_y=True).shape == (1, 48, 48)
    assert sr_eval.super_resolve(BicubicRGB(3), lr[None], 3).shape == (1, 3, 48, 48)
    with pytest.raises(ValueError, match="x3, not x4"):
        sr_eval.super_resolve(BicubicRGB(3), lr, 4)
    with pytest.raises(ValueError, match="RGB"):
        sr_eval.super_resolve("bicubic", lr[:1], 3)


def test_folder_of_images_like_set5(tmp_path, crops, capsys):
    # what `--folder ~/datasets/Set5` does, on PNGs written here (Set5 cannot be downloaded in the tests)
    for name, im in crops.items():
        Image.fromarray((im.permute(1, 2, 0) * 255).round().byte().numpy()).save(tmp_path / f"{name}.png")
    assert sr_eval.main(["--model", "bicubic", "--scale", "2", "3", "--folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bicubic x2" in out and "bicubic x3" in out and all(name in out for name in crops)
    mean_x3 = [line for line in out.splitlines() if line.startswith("mean")][1]
    expected = sr_eval.evaluate("bicubic", data.image_folder(tmp_path), 3)[-1]
    assert f"{expected['psnr']:.2f}" in mean_x3 and f"{expected['ssim']:.4f}" in mean_x3


def test_cli_loads_checkpoints_and_reports_errors(tmp_path, toy_module, capsys):
    path = checkpoint.save_checkpoint(tmp_path / "toy_x3.pt", IdentityY(3), {"scale": 3})
    assert sr_eval.main(["--model", str(path), "--scale", "3", "--crop", "48"]) == 0
    assert "mean" in capsys.readouterr().out
    assert sr_eval.main(["--model", str(path), "--scale", "4", "--crop", "48"]) == 1
    assert "trained for x3" in capsys.readouterr().err
    assert sr_eval.main(["--model", str(tmp_path / "nope.pt")]) == 1
    assert "No checkpoint" in capsys.readouterr().err
    assert sr_eval.main(["--folder", str(tmp_path / "no_such_folder")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_benchmark_lists_bicubic_and_every_shipped_model(capsys):
    assert sr_benchmark.main(["--crop", "48"]) == 0
    out = capsys.readouterr().out
    assert "bicubic_x3" in out and "bicubic_x4" in out and "s/MP" in out
    for name in sr_eval.SHIPPED:
        assert name in out
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert ("missing" in line) != (checkpoint.resolve(name).exists())
