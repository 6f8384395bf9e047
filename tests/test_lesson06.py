"""Hidden tests of lesson 06: each exercise passes on the solution, fails on the stub and on plausible mistakes."""
import kornia
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from course_lib import metrics
from grading import (assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails,
                     failed_tests)

NB = "06_sr_problem_and_metrics.ipynb"


# ---------------------------------------------------------------- l06_rgb_to_y
def test_rgb_to_y_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l06_rgb_to_y")
    assert_stub_fails(NB, "l06_rgb_to_y")


def y_without_offset(x):
    r, g, b = x.unbind(-3)
    return ((65.481 * r + 128.553 * g + 24.966 * b) / 255).unsqueeze(-3)


def y_bt709(x):  # HDTV coefficients instead of BT.601
    r, g, b = x.unbind(-3)
    return ((16 + 219 * (0.2126 * r + 0.7152 * g + 0.0722 * b)) / 255).unsqueeze(-3)


def y_full_range(x):  # JPEG / kornia YCbCr: Y in [0, 1], no studio range
    r, g, b = x.unbind(-3)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)


def y_drops_channel_axis(x):
    r, g, b = x.unbind(-3)
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255


def y_from_course_lib(x):  # right values, but the contract forbids metrics.rgb_to_y
    return metrics.rgb_to_y(x)


def y_from_kornia(x):  # kornia's full-range Y rescaled to the studio range: right values, forbidden call
    return (16 + 219 * kornia.color.rgb_to_ycbcr(x)[..., :1, :, :]) / 255


def test_rgb_to_y_forbidden_shortcuts_fail():
    for wrong in (y_from_course_lib, y_from_kornia):
        assert_wrong_fails("l06_rgb_to_y", wrong, because="shape")
        assert all("which the contract forbids" in m for m in failed_tests("l06_rgb_to_y", wrong).values())


def test_rgb_to_y_wrong_implementations_fail():
    assert_wrong_fails("l06_rgb_to_y", y_without_offset, because="black and white")
    assert_wrong_fails("l06_rgb_to_y", y_bt709, because="coefficients")
    assert_wrong_fails("l06_rgb_to_y", y_full_range, because="black and white")
    assert_wrong_fails("l06_rgb_to_y", y_drops_channel_axis, because="shape")


# ---------------------------------------------------------------- l06_psnr
def test_psnr_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l06_psnr")
    assert_stub_fails(NB, "l06_psnr")


def _batch(a, b, crop):
    if crop:
        a, b = a[..., crop:-crop, crop:-crop], b[..., crop:-crop, crop:-crop]
    return (a[None], b[None]) if a.dim() == 3 else (a, b)


def psnr_range_255(a, b, crop=0, data_range=1.0):  # the 8-bit peak on [0,1] images
    a, b = _batch(a, b, crop)
    mse = (a - b).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(255.0**2 / mse)).mean().item()


def psnr_mean_of_log(a, b, crop=0, data_range=1.0):  # log per pixel, then average
    a, b = _batch(a, b, crop)
    return (10 * torch.log10(data_range**2 / (a - b).pow(2))).flatten(1).mean(1).mean().item()


def psnr_no_crop(a, b, crop=0, data_range=1.0):
    a, b = _batch(a, b, 0)
    mse = (a - b).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse)).mean().item()


def psnr_pooled_batch(a, b, crop=0, data_range=1.0):  # PSNR of the pooled MSE, not the mean PSNR
    a, b = _batch(a, b, crop)
    return (10 * torch.log10(data_range**2 / (a - b).pow(2).mean())).item()


def psnr_crop_one_side(a, b, crop=0, data_range=1.0):
    if crop:
        a, b = a[..., crop:, crop:], b[..., crop:, crop:]
    return psnr_no_crop(a, b, 0, data_range)


def psnr_from_course_lib(a, b, crop=0, data_range=1.0):  # right values, but the contract forbids metrics.psnr
    return metrics.psnr(a, b, crop=crop, data_range=data_range)


def psnr_from_skimage(a, b, crop=0, data_range=1.0):  # right values, forbidden scikit-image call
    a, b = _batch(a, b, crop)
    return sum(peak_signal_noise_ratio(x.double().numpy(), y.double().numpy(), data_range=data_range)
               for x, y in zip(a, b)) / len(a)


def test_psnr_forbidden_shortcuts_fail():
    for wrong in (psnr_from_course_lib, psnr_from_skimage):
        assert_wrong_fails("l06_psnr", wrong, because="noisy image")
        assert all("which the contract forbids" in m for m in failed_tests("l06_psnr", wrong).values())


def test_psnr_wrong_implementations_fail():
    assert_wrong_fails("l06_psnr", psnr_range_255, because="data_range")
    assert_wrong_fails("l06_psnr", psnr_mean_of_log, because="MSE")
    assert_wrong_fails("l06_psnr", psnr_no_crop, because="crop")
    assert_wrong_fails("l06_psnr", psnr_crop_one_side, because="crop")
    assert_wrong_fails("l06_psnr", psnr_pooled_batch, because="per-image")


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l06_psnr', psnr_range_255, 'data_range'),
    ('l06_psnr', psnr_mean_of_log, 'MSE'),
    ('l06_psnr', psnr_no_crop, 'crop'),
    ('l06_psnr', psnr_crop_one_side, 'crop'),
    ('l06_psnr', psnr_pooled_batch, 'per-image'),
    ('l06_rgb_to_y', y_without_offset, 'black and white'),
    ('l06_rgb_to_y', y_bt709, 'coefficients'),
    ('l06_rgb_to_y', y_full_range, 'black and white'),
    ('l06_rgb_to_y', y_drops_channel_axis, 'shape'),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
