"""`python -m course_lib.upscale`: your own photo through a shipped SR model, with clear errors and tiles."""
import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import checkpoint, sr_eval, upscale

MODELS = {name: checkpoint.load_model(name)[0] for name in sr_eval.SHIPPED}


def photo(h=14, w=18, seed=0) -> np.ndarray:
    """A small uint8 RGB test image: smooth gradients plus texture, so every model has something to do."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([yy * 255 / h, xx * 255 / w, (yy + xx) * 127 / (h + w)], -1)
    return np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "me.png"
    Image.fromarray(photo()).save(path)
    return path


def run(capsys, *argv):
    status = upscale.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# ---------------------------------------------------------------- errors: a message, a status, no traceback
def test_missing_file(tmp_path, capsys):
    status, _, err = run(capsys, tmp_path / "nope.jpg", "--model", "srgan_x4")
    assert status == 1 and "no such file" in err and "image file" in err
    status, _, err = run(capsys, tmp_path, "--model", "srgan_x4")
    assert status == 1 and "folder" in err


def test_not_an_image(tmp_path, capsys):
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    status, _, err = run(capsys, fake, "--model", "srresnet_x4")
    assert status == 1 and "not an image" in err and "PNG" in err
    with pytest.raises(upscale.UpscaleError, match="uploaded file is not an image"):
        upscale.read_image(b"\x00garbage")


def test_unknown_model_lists_the_choices(png, capsys):
    status, _, err = run(capsys, png, "--model", "edsr_x4")
    assert status == 1 and "unknown model 'edsr_x4'" in err
    assert all(name in err for name in sr_eval.SHIPPED)


def test_errors_exit_non_zero_without_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course_lib.upscale", str(tmp_path / "nope.png"), "--model", "x"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr and "error:" in done.stderr


def test_the_input_is_never_overwritten(png, capsys):
    before = png.read_bytes()
    status, _, err = run(capsys, png, "--model", "espcn_x3", "--out", png)
    assert status == 1 and "never overwritten" in err and png.read_bytes() == before


def test_out_of_memory_says_what_to_do(png, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: not enough memory")
    monkeypatch.setattr(upscale, "super_resolve", no_memory)
    status, _, err = run(capsys, png, "--model", "srresnet_x4", "--tile", "64")
    assert status == 1 and "--tile 32" in err
    real_empty = torch.empty  # the 8-bit result itself does not fit

    def empty(*args, dtype=None, **kwargs):
        return no_memory() if dtype is torch.uint8 else real_empty(*args, dtype=dtype, **kwargs)
    monkeypatch.setattr(upscale.torch, "empty", empty)
    status, _, err = run(capsys, png, "--model", "srresnet_x4")
    assert status == 1 and "does not fit in memory" in err and "downscale or crop" in err


# ---------------------------------------------------------------- it works
@pytest.mark.parametrize("name", sr_eval.SHIPPED)
def test_end_to_end_output_is_scale_times_the_input(name, png, capsys):
    status, out, err = run(capsys, png, "--model", name)
    assert status == 0, err
    target = png.with_name(f"me_{name}.png")
    with Image.open(target) as im:
        assert im.mode == "RGB" and im.size == (18 * MODELS[name].scale, 14 * MODELS[name].scale)
    assert str(target) in out and png.exists()


def test_read_image_handles_grey_alpha_and_upload_bytes(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(photo()[..., 0]).save(buffer, format="PNG")
    grey = upscale.read_image(buffer.getvalue())
    assert grey.shape == (3, 14, 18) and torch.equal(grey[0], grey[2])
    rgba = np.concatenate([photo(), np.full((14, 18, 1), 128, np.uint8)], -1)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert torch.equal(upscale.read_image(tmp_path / "a.png"), torch.from_numpy(photo()).permute(2, 0, 1) / 255.0)


@pytest.mark.parametrize("name", sr_eval.SHIPPED)
def test_tiles_join_without_seams(name):
    """Tiled output == untiled output (the margins cover the receptive field); without margins it would differ."""
    model, image = MODELS[name], torch.from_numpy(photo(37, 41, seed=1)).permute(2, 0, 1) / 255.0
    whole = upscale.upscale(model, image, tile=0)
    tiled = upscale.upscale(model, image, tile=8)
    assert whole.dtype == torch.uint8 and whole.shape == (3, 37 * model.scale, 41 * model.scale)
    diff = (whole.int() - tiled.int()).abs()
    assert diff.max() <= 1 and (diff > 0).float().mean() < 1e-3, "tiles must not leave seams"
    untiled_8bit = (sr_eval.super_resolve(model, image, model.scale) * 255).round().to(torch.uint8)
    assert (whole.int() - untiled_8bit.int()).abs().max() <= 1, "upscale must run the model as sr_eval does"


def test_without_margins_the_tiles_would_show(monkeypatch):
    model, image = MODELS["srresnet_x4"], torch.from_numpy(photo(37, 41, seed=1)).permute(2, 0, 1) / 255.0
    whole = upscale.upscale(model, image, tile=0)
    monkeypatch.setattr(upscale, "margin", lambda m: 0)
    assert (whole.int() - upscale.upscale(model, image, tile=8).int()).abs().max() > 8


def test_a_large_photo_runs_tile_by_tile(monkeypatch):
    model, image = MODELS["espcn_x3"], torch.rand(3, 40, 50)
    sizes, real = [], upscale.super_resolve

    def recording(m, lr, scale):
        sizes.append(tuple(lr.shape[-2:]))
        return real(m, lr, scale)
    monkeypatch.setattr(upscale, "super_resolve", recording)
    out = upscale.upscale(model, image, tile=16)
    pad = upscale.margin(model)
    assert out.shape == (3, 120, 150) and len(sizes) == 3 * 4
    assert max(max(s) for s in sizes) <= 16 + 2 * pad, "each model call sees one tile and its margins only"
