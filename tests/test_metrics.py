"""course_lib.degrade (MATLAB bicubic imresize, LR images) and course_lib.metrics (Y-PSNR/SSIM) against
hand-computed values, properties of the cubic kernel, PyTorch's antialiased bicubic, and scikit-image."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from course_lib import data, degrade, metrics


def noisy_pair(shape, sigma=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(*shape, generator=g)
    return a, (a + sigma * torch.randn(*shape, generator=g)).clamp(0, 1)


# ---------------------------------------------------------------- the cubic kernel and imresize
def test_cubic_kernel_values_and_partition_of_unity():
    assert degrade.cubic(torch.tensor(0.0)).item() == 1
    assert degrade.cubic(torch.tensor([1.0, 2.0, -1.0, 2.5])).abs().max().item() == 0  # interpolating, support 2
    assert math.isclose(degrade.cubic(torch.tensor(0.5)).item(), 0.5625)       # (a+2)/8 - (a+3)/4 + 1, a=-0.5
    assert math.isclose(degrade.cubic(torch.tensor(1.5)).item(), -0.0625)      # a(27/8 - 45/4 + 12 - 4), a=-0.5
    for shift in torch.linspace(0, 1, 11):  # the 4 taps around any point sum to 1, for any a
        taps = shift + torch.tensor([-2.0, -1.0, 0.0, 1.0])
        for a in (-0.5, -0.75):
            assert math.isclose(degrade.cubic(taps, a).sum().item(), 1.0, abs_tol=1e-6)


def test_resize_matrix_hand_computed_matlab_weights():
    # imresize(1:4, 0.5), first output: u = 1.5 (1-based), reads pixels j = -2..5 with the widened kernel
    # k((u-j)/2)/2 at |u-j| = 0.5, 1.5, 2.5, 3.5: 0.43359375, 0.11328125, -0.03515625, -0.01171875.
    # Mirroring sends j = 0, -1, -2 to 1, 2, 3 and j = 5 to 4.
    W = degrade.resize_matrix(4, 0.5)
    expected_row = torch.tensor([0.43359375 + 0.11328125,    # j = 1 and j = 0
                                 0.43359375 - 0.03515625,    # j = 2 and j = -1
                                 0.11328125 - 0.01171875,    # j = 3 and j = -2
                                 -0.03515625 - 0.01171875],  # j = 4 and j = 5
                                dtype=torch.float64)
    assert torch.allclose(W[0], expected_row, atol=1e-12)
    assert torch.allclose(W[1], expected_row.flip(0), atol=1e-12)
    out = degrade.imresize(torch.arange(1.0, 5.0, dtype=torch.float64).view(1, 1, 4), 0.5)
    assert torch.allclose(out.flatten(), torch.tensor([1.4609375, 3.5390625], dtype=torch.float64))


def test_matches_octave_imresize_without_antialiasing():
    # Octave/MATLAB: imresize(transpose(reshape(0:15, 4, 4)), 0.5, 'bicubic', 'AntiAliasing', false)
    img = torch.arange(16, dtype=torch.float64).view(1, 4, 4)
    expected = torch.tensor([[2.1875, 4.3125], [10.6875, 12.8125]], dtype=torch.float64)
    assert torch.allclose(degrade.imresize(img, 0.5, antialias=False)[0], expected, atol=1e-12)


@pytest.mark.parametrize("scale", [2, 3, 4, 1 / 2, 1 / 3, 1 / 4, 0.75, 1.5])
def test_rows_sum_to_one_and_constants_stay_constant(scale):
    W = degrade.resize_matrix(37, scale)
    assert torch.allclose(W.sum(1), torch.ones(W.shape[0], dtype=torch.float64))
    x = torch.full((3, 24, 36), 0.3)
    y = degrade.imresize(x, scale)
    assert torch.allclose(y, torch.full_like(y, 0.3), atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3, 4, 1 / 2, 1 / 3, 1 / 4])
def test_linear_ramp_stays_linear_away_from_borders(scale):
    # cubic convolution reproduces linear functions exactly; output pixel i sits at input (i + 0.5)/s - 0.5
    n = 48
    ramp = torch.arange(n, dtype=torch.float64).view(1, 1, n).expand(1, 5, n)
    out = degrade.imresize(ramp, scale)[0, 0]  # rows are all equal
    i = torch.arange(out.numel(), dtype=torch.float64)
    expected = (i + 0.5) / scale - 0.5
    margin = math.ceil(3 / min(scale, 1) * max(scale, 1))  # kernel reach, in output pixels
    assert torch.allclose(out[margin:-margin], expected[margin:-margin], atol=1e-9)


def test_output_size_is_ceil_and_robust_to_float_error():
    assert degrade.imresize(torch.rand(1, 255, 10), 1 / 3).shape == (1, 85, 4)
    assert degrade.imresize(torch.rand(1, 7, 9), 2).shape == (1, 14, 18)
    assert degrade.imresize(torch.rand(2, 1, 10, 10), 0.25).shape == (2, 1, 3, 3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscaling_matches_pytorch_antialiased_bicubic_inside(scale):
    # PyTorch's antialias=True bicubic (ported from Pillow) uses the same widened a=-0.5 kernel;
    # only the borders differ (Pillow renormalises the cut kernel, MATLAB mirrors the image).
    x = torch.rand(1, 3, 24 * scale, 24 * scale, generator=torch.Generator().manual_seed(scale))
    ours = degrade.imresize(x, 1 / scale)
    torch_aa = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", align_corners=False, antialias=True)
    assert ours.shape == torch_aa.shape
    assert (ours - torch_aa)[..., 3:-3, 3:-3].abs().max() < 1e-5
    no_aa = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", align_corners=False)
    assert (ours - no_aa)[..., 3:-3, 3:-3].abs().max() > 0.01  # without antialias it is another operator


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscaling_with_a_minus_075_matches_pytorch_bicubic_inside(scale):
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0)).double()
    W = degrade.resize_matrix(16, scale, a=-0.75)
    ours = W @ x @ W.T
    theirs = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    inner = slice(2 * scale, -2 * scale)
    assert (ours - theirs)[..., inner, inner].abs().max() < 1e-9
    assert (degrade.imresize(x, scale) - theirs)[..., inner, inner].abs().max() > 1e-3  # MATLAB's a = -0.5


def test_imresize_does_not_clamp_and_rejects_bad_input():
    step = torch.zeros(1, 16, 16)
    step[:, :, 8:] = 1
    up = degrade.imresize(step, 2)
    assert up.min() < 0 and up.max() > 1  # bicubic overshoot is kept (documented)
    with pytest.raises(TypeError, match="float"):
        degrade.imresize(torch.zeros(3, 8, 8, dtype=torch.uint8), 0.5)
    with pytest.raises(ValueError, match="shape"):
        degrade.imresize(torch.zeros(8, 8), 0.5)


def test_mod_crop_make_lr_and_upsample():
    hr = data.photos("val")["chelsea"]  # 300 x 451
    assert degrade.mod_crop(hr, 4).shape == (3, 300, 448)
    assert degrade.mod_crop(hr, 3).shape == (3, 300, 450)
    lr = degrade.make_lr(hr, 4)
    assert lr.shape == (3, 75, 112) and lr.min() >= 0 and lr.max() <= 1
    assert torch.equal(lr, torch.round(lr * 255) / 255)  # 8-bit values, as a saved PNG
    assert torch.equal(lr, degrade.quantize(degrade.imresize(degrade.mod_crop(hr, 4), 0.25)))
    for mode in degrade.UPSAMPLE_MODES:
        sr = degrade.upsample(lr, 4, mode)
        assert sr.shape == (3, 300, 448) and sr.min() >= 0 and sr.max() <= 1
    assert degrade.upsample(lr[None], 4, "bilinear").shape == (1, 3, 300, 448)
    assert torch.equal(degrade.upsample(lr, 4, "matlab"), degrade.imresize(lr, 4).clamp(0, 1))
    with pytest.raises(ValueError, match="mode"):
        degrade.upsample(lr, 4, "lanczos")
    with pytest.raises(ValueError, match="smaller"):
        degrade.mod_crop(torch.rand(3, 2, 8), 3)


# ---------------------------------------------------------------- Y channel
def test_rgb_to_y_matches_scikit_image_bt601():
    x = torch.rand(3, 9, 7)
    ours = metrics.rgb_to_y(x)[0].numpy()
    theirs = rgb2ycbcr(x.permute(1, 2, 0).numpy())[..., 0] / 255
    assert np.abs(ours - theirs).max() < 1e-6
    assert math.isclose(metrics.rgb_to_y(torch.zeros(3, 1, 1)).item(), 16 / 255, abs_tol=1e-7)
    assert math.isclose(metrics.rgb_to_y(torch.ones(3, 1, 1)).item(), 235 / 255, abs_tol=1e-6)
    assert metrics.rgb_to_y(torch.rand(2, 3, 4, 5)).shape == (2, 1, 4, 5)
    with pytest.raises(ValueError, match="RGB"):
        metrics.rgb_to_y(torch.rand(1, 4, 5))


def test_ycbcr_round_trip_and_scikit_image():
    x = torch.rand(2, 3, 6, 5).double()
    ycc = metrics.rgb_to_ycbcr(x)
    assert torch.allclose(metrics.ycbcr_to_rgb(ycc), x, atol=1e-12)
    assert torch.allclose(ycc[:, :1], metrics.rgb_to_y(x), atol=1e-12)
    theirs = rgb2ycbcr(x[0].permute(1, 2, 0).numpy()) / 255
    assert np.abs(ycc[0].permute(1, 2, 0).numpy() - theirs).max() < 1e-9


# ---------------------------------------------------------------- PSNR and SSIM against scikit-image
@pytest.mark.parametrize("data_range", [1.0, 255.0])
@pytest.mark.parametrize("crop", [0, 3])
def test_psnr_and_ssim_match_scikit_image(data_range, crop):
    a, b = noisy_pair((3, 40, 52))
    a, b = a * data_range, b * data_range
    sl = (slice(None), slice(crop, -crop or None), slice(crop, -crop or None))
    an, bn = a[sl].numpy().astype(np.float64), b[sl].numpy().astype(np.float64)
    assert math.isclose(metrics.psnr(a, b, crop, data_range),
                        peak_signal_noise_ratio(an, bn, data_range=data_range), abs_tol=1e-6)
    skimage_ssim = structural_similarity(an, bn, channel_axis=0, data_range=data_range, gaussian_weights=True,
                                         sigma=1.5, use_sample_covariance=False)
    assert math.isclose(metrics.ssim(a, b, crop, data_range), skimage_ssim, abs_tol=1e-6)


def test_metrics_on_a_real_sr_result_match_scikit_image():
    hr = degrade.quantize(degrade.mod_crop(data.photos("val")["camera"], 4))
    sr = degrade.quantize(degrade.upsample(degrade.make_lr(hr, 4), 4, "matlab"))
    y_hr, y_sr = metrics.rgb_to_y(hr)[0, 4:-4, 4:-4].double(), metrics.rgb_to_y(sr)[0, 4:-4, 4:-4].double()
    scores = metrics.sr_scores(sr, hr, 4)
    assert math.isclose(scores["psnr"], peak_signal_noise_ratio(y_hr.numpy(), y_sr.numpy(), data_range=1.0),
                        abs_tol=1e-4)
    assert math.isclose(scores["ssim"], structural_similarity(
        y_hr.numpy(), y_sr.numpy(), data_range=1.0, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False), abs_tol=1e-5)
    assert 20 < scores["psnr"] < 35 and 0.5 < scores["ssim"] < 1


def test_batches_reduction_and_edge_cases():
    a1, b1 = noisy_pair((3, 20, 20), 0.01, seed=1)
    a2, b2 = noisy_pair((3, 20, 20), 0.2, seed=2)
    a, b = torch.stack([a1, a2]), torch.stack([b1, b2])
    per_image = metrics.psnr(a, b, reduction="none")
    assert per_image.shape == (2,)
    assert math.isclose(per_image[0].item(), metrics.psnr(a1, b1), abs_tol=1e-9)
    assert math.isclose(metrics.psnr(a, b), per_image.mean().item(), abs_tol=1e-9)
    assert math.isclose(metrics.ssim(a, b), metrics.ssim(a, b, reduction="none").mean().item(), abs_tol=1e-9)
    assert metrics.psnr(a1, a1) == math.inf and math.isclose(metrics.ssim(a1, a1), 1.0, abs_tol=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(a1, a1[:, :10])
    with pytest.raises(ValueError, match="crop"):
        metrics.psnr(a1, b1, crop=10)
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(a1[:, :8, :8], b1[:, :8, :8])


def test_sr_scores_quantise_use_y_and_crop_the_border():
    hr, sr = noisy_pair((3, 32, 32), 0.03, seed=3)
    sr = sr + 0.001  # below half an 8-bit step: quantisation removes part of it
    scores = metrics.sr_scores(sr, hr, 2)
    q = degrade.quantize
    y_sr, y_hr = metrics.rgb_to_y(q(sr)), metrics.rgb_to_y(q(hr))
    assert math.isclose(scores["psnr"], metrics.psnr(y_sr, y_hr, crop=2), abs_tol=1e-9)
    assert math.isclose(scores["ssim"], metrics.ssim(y_sr, y_hr, crop=2), abs_tol=1e-9)
    bad_border = sr.clone()
    bad_border[..., :2, :] = 1 - bad_border[..., :2, :]
    assert math.isclose(metrics.sr_scores(bad_border, hr, 2)["psnr"], scores["psnr"], abs_tol=1e-9)
    # a Y-only result (1 channel) is compared with the Y of the RGB ground truth
    assert math.isclose(metrics.sr_scores(y_sr, hr, 2)["psnr"], scores["psnr"], abs_tol=0.1)
