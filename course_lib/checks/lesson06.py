"""Public self-checks of lesson 06 (the SR problem and how it is measured)."""
import math

import torch

from ..metrics import psnr, rgb_to_y
from ..selfcheck import exercise, expect


def _close(a, b, tol=1e-4) -> bool:
    return torch.allclose(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64),
                          atol=tol, rtol=0)


# ---------------------------------------------------------------- l06_rgb_to_y
y_ex = exercise("l06_rgb_to_y", rgb_to_y,
                "rgb_to_y(x: float (..., 3, H, W) RGB in [0,1]) -> float (..., 1, H, W): BT.601 luma "
                "Y = 16 + 65.481 R + 128.553 G + 24.966 B, divided by 255; plain tensor arithmetic, without "
                "kornia.color or metrics.rgb_to_y",
                forbidden=("kornia.color.rgb_to_ycbcr", "kornia.color.rgb_to_y", "kornia.color.RgbToYcbcr",
                           "course_lib.metrics.rgb_to_y", "course_lib.metrics.rgb_to_ycbcr"))


@y_ex.test("returns shape (..., 1, H, W) for one image and for a batch")
def _(fn):
    for shape in [(3, 5, 7), (2, 3, 4, 6)]:
        out = fn(torch.rand(*shape))
        expect(torch.is_tensor(out) and out.is_floating_point(), "return a float tensor")
        expect(tuple(out.shape) == shape[:-3] + (1,) + shape[-2:],
               f"input shape {shape} gave output shape {tuple(out.shape)}: keep the channel axis, with size 1")


@y_ex.test("black and white land on the BT.601 studio range (offset 16, divided by 255)")
def _(fn):
    black, white = torch.zeros(3, 2, 2), torch.ones(3, 2, 2)
    expect(_close(fn(black), rgb_to_y(black)),
           "wrong Y for black: BT.601 Y has an offset (black is not 0); remember to divide by 255")
    expect(_close(fn(white), rgb_to_y(white)), "wrong Y for white: check the offset and the division by 255")


@y_ex.test("matches BT.601 luma on random colours (coefficients of R, G, B)")
def _(fn):
    for channel in range(3):  # pure red, green, blue isolate each coefficient
        x = torch.zeros(3, 2, 2)
        x[channel] = 1.0
        expect(_close(fn(x), rgb_to_y(x)), f"wrong Y for pure {'RGB'[channel]}: check its BT.601 coefficient")
    x = torch.rand(4, 3, 8, 8)
    expect(_close(fn(x), rgb_to_y(x)), "wrong Y on random colours")


# ---------------------------------------------------------------- l06_psnr
p_ex = exercise("l06_psnr", psnr,
                "psnr(a, b, crop=0, data_range=1.0) -> float: 10 log10(data_range^2 / MSE) per image "
                "after removing `crop` pixels at every border; for batches (B,C,H,W) the mean over images; "
                "without metrics.psnr, scikit-image, torchmetrics or kornia.metrics",
                forbidden=("course_lib.metrics.psnr", "skimage.metrics.peak_signal_noise_ratio",
                           "skimage.metrics.mean_squared_error", "torchmetrics.functional.peak_signal_noise_ratio",
                           "torchmetrics.image.PeakSignalNoiseRatio", "kornia.metrics.psnr", "kornia.losses.psnr_loss"))


def _noisy(shape, sigma, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(*shape, generator=g)
    return a, (a + sigma * torch.randn(*shape, generator=g)).clamp(0, 1)


def _value(out) -> float:
    expect(isinstance(out, (float, int)) or (torch.is_tensor(out) and out.numel() == 1),
           f"return one number (a float), got {type(out).__name__}"
           + (f" of shape {tuple(out.shape)}" if torch.is_tensor(out) else ""))
    return float(out)


@p_ex.test("matches 10 log10(data_range^2 / MSE) on a noisy image")
def _(fn):
    for sigma in (0.01, 0.1):
        a, b = _noisy((3, 16, 16), sigma)
        expect(math.isclose(_value(fn(a, b)), psnr(a, b), abs_tol=1e-3),
               f"wrong PSNR for noise level {sigma}: average the squared error over all pixels first, "
               "then take the log")
    # error concentrated in a few pixels: the mean of per-pixel logs differs from the log of the mean
    a = torch.zeros(1, 8, 8)
    b = a.clone()
    b[0, 0, :4] = 0.5
    expect(math.isclose(_value(fn(a, b)), psnr(a, b), abs_tol=1e-3), "wrong PSNR when the error sits in a few pixels")


@p_ex.test("uses data_range (1 for [0,1] images, 255 for [0,255] images)")
def _(fn):
    a, b = _noisy((3, 16, 16), 0.05)
    ref = psnr(a, b)
    expect(math.isclose(_value(fn(a, b)), ref, abs_tol=1e-3), "wrong PSNR for [0,1] images with the default data_range")
    expect(math.isclose(_value(fn(a * 255, b * 255, data_range=255.0)), ref, abs_tol=1e-3),
           "the same images scaled to [0,255] with data_range=255 must give the same PSNR")


@p_ex.test("removes `crop` pixels at every border before comparing")
def _(fn):
    a, b = _noisy((1, 20, 20), 0.02, seed=1)
    b[..., :3, :] = 1 - b[..., :3, :]    # large errors on the top and left borders only
    b[..., :, :3] = 1 - b[..., :, :3]
    expect(math.isclose(_value(fn(a, b, crop=3)), psnr(a, b, crop=3), abs_tol=1e-3),
           "wrong PSNR with crop=3: drop 3 rows/columns at each of the four borders")
    expect(math.isclose(_value(fn(a, b)), psnr(a, b), abs_tol=1e-3), "wrong PSNR with crop=0")


@p_ex.test("for a batch, returns the mean of the per-image PSNRs")
def _(fn):
    a1, b1 = _noisy((3, 16, 16), 0.01, seed=2)
    a2, b2 = _noisy((3, 16, 16), 0.2, seed=3)
    a, b = torch.stack([a1, a2]), torch.stack([b1, b2])
    expect(math.isclose(_value(fn(a, b)), psnr(a, b), abs_tol=1e-3),
           "wrong PSNR for a batch of two images: compute each image's PSNR, then average "
           "(not the PSNR of the pooled error)")
