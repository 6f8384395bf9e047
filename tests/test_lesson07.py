"""Hidden tests of lesson 07: exercises (solution passes, stub and plausible mistakes fail), sr_data, sr_models."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import sr_data, sr_models
from course_lib.degrade import imresize, make_lr, mod_crop, quantize, upsample
from course_lib.metrics import rgb_to_y
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "07_srcnn_espcn.ipynb"


# ---------------------------------------------------------------- l07_srcnn
def test_srcnn_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l07_srcnn")
    assert_stub_fails(NB, "l07_srcnn")


class SRCNNNoPadding(nn.Module):  # valid convolutions, as in the paper: the image shrinks by 16 pixels
    upsample_first = True

    def __init__(self, scale=3, channels=1, f2=5):
        super().__init__()
        self.scale, self.channels = scale, channels
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(channels, 64, 9), nn.Conv2d(64, 32, f2), nn.Conv2d(32, channels, 5)

    def forward(self, x):
        return self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))


class SRCNNReluOut(sr_models.SRCNN):  # a ReLU after the reconstruction layer too
    def __init__(self, scale=3, channels=1, f2=5):
        super().__init__(scale, channels, f2=f2)

    def forward(self, x):
        return F.relu(super().forward(x))


class SRCNNSwappedWidths(sr_models.SRCNN):  # n1 = 32, n2 = 64
    def __init__(self, scale=3, channels=1, f2=5):
        super().__init__(scale, channels, f2=f2, n1=32, n2=64)


class SRCNNLRInput(sr_models.SRCNN):  # claims to take the LR image
    upsample_first = False

    def __init__(self, scale=3, channels=1, f2=5):
        super().__init__(scale, channels, f2=f2)


def test_srcnn_wrong_implementations_fail():
    assert_wrong_fails("l07_srcnn", SRCNNNoPadding, because="keeps the image size")
    assert_wrong_fails("l07_srcnn", SRCNNReluOut, because="same weights, same output")
    assert_wrong_fails("l07_srcnn", SRCNNSwappedWidths, because="paper's layers")
    assert_wrong_fails("l07_srcnn", SRCNNLRInput, because="sr_eval convention")


# ---------------------------------------------------------------- l07_espcn
def test_espcn_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l07_espcn")
    assert_stub_fails(NB, "l07_espcn")


class ESPCNInterpolate(nn.Module):  # convolutions in LR space, then bicubic interpolation instead of the shuffle
    upsample_first = False

    def __init__(self, scale=3, channels=1):
        super().__init__()
        self.scale, self.channels = scale, channels
        self.conv1, self.conv2 = nn.Conv2d(channels, 64, 5, padding=2), nn.Conv2d(64, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, channels, 3, padding=1)

    def forward(self, x):
        y = self.conv3(torch.tanh(self.conv2(torch.tanh(self.conv1(x)))))
        return F.interpolate(y, scale_factor=self.scale, mode="bicubic", align_corners=False)


class ESPCNSubpixelMajor(sr_models.ESPCN):  # channel order (s^2, C) instead of PixelShuffle's (C, s^2)
    def __init__(self, scale=3, channels=1):
        super().__init__(scale, channels)

    def forward(self, x):
        y = self.conv3(torch.tanh(self.conv2(torch.tanh(self.conv1(x)))))
        b, _, h, w = y.shape
        y = y.view(b, self.scale**2, self.channels, h, w).transpose(1, 2).reshape(b, -1, h, w)
        return self.shuffle(y)


class ESPCNReshape(sr_models.ESPCN):  # reshape instead of a periodic shuffle: blocks land in the wrong places
    def __init__(self, scale=3, channels=1):
        super().__init__(scale, channels)

    def forward(self, x):
        y = self.conv3(torch.tanh(self.conv2(torch.tanh(self.conv1(x)))))
        b, _, h, w = y.shape
        return y.reshape(b, self.channels, self.scale * h, self.scale * w)


class ESPCNRelu(sr_models.ESPCN):  # ReLU instead of the paper's tanh
    def __init__(self, scale=3, channels=1):
        super().__init__(scale, channels)

    def forward(self, x):
        return self.shuffle(self.conv3(F.relu(self.conv2(F.relu(self.conv1(x))))))


class ESPCNResidualBicubic(sr_models.ESPCN):  # the shipped model's residual trick: adds F.interpolate's bicubic
    def __init__(self, scale=3, channels=1):
        super().__init__(scale, channels)

    def forward(self, x):
        return super().forward(x) + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)


def test_espcn_wrong_implementations_fail():
    assert_wrong_fails("l07_espcn", ESPCNResidualBicubic, because="no F.interpolate")
    assert_wrong_fails("l07_espcn", ESPCNInterpolate, because="paper's layers")
    assert_wrong_fails("l07_espcn", ESPCNSubpixelMajor, because="sub-pixel layout")
    assert_wrong_fails("l07_espcn", ESPCNReshape, because="sub-pixel layout")
    assert_wrong_fails("l07_espcn", ESPCNRelu, because="sub-pixel layout")


# ---------------------------------------------------------------- l07_patches
def test_patches_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l07_patches")
    assert_stub_fails(NB, "l07_patches")


def _crop(lr, hr, scale, patch, di=0):
    p = patch // scale
    i = int(torch.randint(0, lr.shape[-2] - p + 1 - di, (1,)))
    j = int(torch.randint(0, lr.shape[-1] - p + 1, (1,)))
    return i, j, p, lr[..., i:i + p, j:j + p]


def pair_off_by_one(lr, hr, scale, patch, augment=None):  # HR crop one LR pixel (scale HR pixels) lower
    i, j, p, lr_patch = _crop(lr, hr, scale, patch, di=1)
    hr_patch = hr[..., scale * (i + 1):scale * (i + 1 + p), scale * j:scale * (j + p)]
    if augment is not None:
        lr_patch, hr_patch = (t[0] for t in augment(lr_patch[None], hr_patch[None]))
    return lr_patch, hr_patch


def pair_same_offset(lr, hr, scale, patch, augment=None):  # HR cropped at (i, j), not (s i, s j)
    i, j, p, lr_patch = _crop(lr, hr, scale, patch)
    hr_patch = hr[..., i:i + patch, j:j + patch]
    if augment is not None:
        lr_patch, hr_patch = (t[0] for t in augment(lr_patch[None], hr_patch[None]))
    return lr_patch, hr_patch


def pair_hr_only_augment(lr, hr, scale, patch, augment=None):
    i, j, p, lr_patch = _crop(lr, hr, scale, patch)
    hr_patch = hr[..., scale * i:scale * (i + p), scale * j:scale * (j + p)]
    if augment is not None:
        hr_patch = augment(hr_patch[None], hr_patch[None])[0][0]
    return lr_patch, hr_patch


def pair_separate_augment(lr, hr, scale, patch, augment=None):  # two calls: two different random draws
    i, j, p, lr_patch = _crop(lr, hr, scale, patch)
    hr_patch = hr[..., scale * i:scale * (i + p), scale * j:scale * (j + p)]
    if augment is not None:
        lr_patch = augment(lr_patch[None], lr_patch[None])[0][0]
        hr_patch = augment(hr_patch[None], hr_patch[None])[0][0]
    return lr_patch, hr_patch


def pair_never_last(lr, hr, scale, patch, augment=None):  # torch.randint(0, h - p): the last row never drawn
    p = patch // scale
    i = int(torch.randint(0, lr.shape[-2] - p, (1,)))
    j = int(torch.randint(0, lr.shape[-1] - p, (1,)))
    lr_patch, hr_patch = lr[..., i:i + p, j:j + p], hr[..., scale * i:scale * (i + p), scale * j:scale * (j + p)]
    if augment is not None:
        lr_patch, hr_patch = (t[0] for t in augment(lr_patch[None], hr_patch[None]))
    return lr_patch, hr_patch


def pair_ignores_augment(lr, hr, scale, patch, augment=None):
    return sr_data.sample_pair(lr, hr, scale, patch)


def pair_keeps_batch_axis(lr, hr, scale, patch, augment=None):
    lr_patch, hr_patch = sr_data.random_crop_pair(lr, hr, scale, patch)
    return lr_patch[None], hr_patch[None]


def test_patches_wrong_implementations_fail():
    assert_wrong_fails("l07_patches", pair_off_by_one, because="aligned pairs")
    assert_wrong_fails("l07_patches", pair_same_offset, because="aligned pairs")
    assert_wrong_fails("l07_patches", pair_hr_only_augment, because="same random flips")
    assert_wrong_fails("l07_patches", pair_separate_augment, because="same random flips")
    assert_wrong_fails("l07_patches", pair_never_last, because="every position")
    assert_wrong_fails("l07_patches", pair_ignores_augment, because="same random flips")
    assert_wrong_fails("l07_patches", pair_keeps_batch_axis, because="returns an LR patch")


# ---------------------------------------------------------------- sr_data
@pytest.fixture(scope="module")
def photos():
    g = torch.Generator().manual_seed(0)
    smooth = F.interpolate(torch.rand(1, 3, 20, 26, generator=g), size=(100, 131), mode="bicubic",
                           align_corners=False)[0].clamp(0, 1)
    return {"smooth": smooth, "noise": torch.rand(3, 61, 75, generator=g), "tiny": torch.rand(3, 20, 20)}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_patches_are_crops_of_the_whole_degraded_image(photos, scale):
    """LR patch == degrade(HR patch) away from its border (8-bit rounding and clamping aside)."""
    ds = sr_data.SRPatches(photos, scale=scale, patch=12 * scale, length=20, augment=False)
    assert len(ds.pairs) == 2  # the 20x20 photo is smaller than 36 and 48 pixels... and kept at x2
    for k in range(len(ds)):
        lr, hr = ds[k]
        assert lr.shape == (3, 12, 12) and hr.shape == (3, 12 * scale, 12 * scale)
        own = quantize(imresize(hr, 1 / scale))
        assert (own - lr)[..., 3:-3, 3:-3].abs().max() <= 1.01 / 255


def test_patches_from_whole_image_differ_from_per_patch_degradation_at_the_border(photos):
    ds = sr_data.SRPatches({"noise": photos["noise"]}, scale=3, patch=30, length=10, augment=False)
    lr, hr = ds[0]
    assert (quantize(imresize(hr, 1 / 3)) - lr)[..., 0, :].abs().max() > 2 / 255  # mirrored pixels at the border


def test_patches_with_augmentation_stay_aligned(photos):
    plain = sr_data.SRPatches(photos, scale=3, patch=36, length=40, augment=False)
    aug = sr_data.SRPatches(photos, scale=3, patch=36, length=40, augment=True)
    changed = 0
    for k in range(len(aug)):
        lr, hr = aug[k]
        own = quantize(imresize(hr, 1 / 3))
        assert (own - lr)[..., 3:-3, 3:-3].abs().max() <= 1.01 / 255
        lr0, hr0 = plain[k]                      # same item before augmentation: one of the 8 symmetries of it
        variants = [t for k90 in range(4) for t in (torch.rot90(hr0, k90, (-2, -1)),
                                                     torch.rot90(hr0.flip(-1), k90, (-2, -1)))]
        assert any(torch.allclose(v, hr, atol=1e-5) for v in variants)
        changed += not torch.equal(hr0, hr)
    assert changed > 20  # 7 of 8 draws change the patch


def test_patches_are_deterministic_and_change_with_seed_and_epoch(photos):
    a = sr_data.SRPatches(photos, scale=2, patch=16, length=8, seed=3)
    b = sr_data.SRPatches(photos, scale=2, patch=16, length=8, seed=3)
    c = sr_data.SRPatches(photos, scale=2, patch=16, length=8, seed=4)
    torch.manual_seed(0)
    first = [a[k] for k in range(8)]
    torch.manual_seed(1)  # the global RNG does not matter
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(first, [b[k] for k in range(8)]))
    assert not all(torch.equal(x[1], y[1]) for x, y in zip(first, [c[k] for k in range(8)]))
    a.set_epoch(1)
    assert not all(torch.equal(x[1], a[k][1]) for k, x in enumerate(first))
    state = torch.get_rng_state()
    a[0]
    assert torch.equal(state, torch.get_rng_state())  # items do not consume the global RNG


def test_patches_y_only_and_upsampled_match_sr_eval_inputs(photos):
    hr_full = mod_crop(photos["smooth"], 3)
    bicubic_y = rgb_to_y(upsample(make_lr(hr_full, 3), 3, "matlab"))
    ds = sr_data.SRPatches({"smooth": photos["smooth"]}, scale=3, patch=24, length=10, augment=False,
                           y_only=True, upsampled=True)
    for k in range(len(ds)):
        x, y = ds[k]
        assert x.shape == y.shape == (1, 24, 24)
        # find the crop: the target is a crop of the HR Y at a multiple of 3, the input the same crop of bicubic Y
        hr_y = rgb_to_y(hr_full)
        hits = [(i, j) for i in range(0, hr_y.shape[-2] - 23, 3) for j in range(0, hr_y.shape[-1] - 23, 3)
                if torch.equal(hr_y[..., i:i + 24, j:j + 24], y)]
        assert len(hits) == 1
        i, j = hits[0]
        assert torch.allclose(bicubic_y[..., i:i + 24, j:j + 24], x)


def test_patches_bad_arguments_say_what_to_do(photos):
    with pytest.raises(ValueError, match="multiple"):
        sr_data.SRPatches(photos, scale=3, patch=20)
    with pytest.raises(ValueError, match="smaller patch"):
        sr_data.SRPatches({"tiny": photos["tiny"]}, scale=2, patch=40)
    with pytest.raises(ValueError, match="mod-crop"):
        sr_data.random_crop_pair(torch.rand(3, 10, 10), torch.rand(3, 31, 30), 3, 9)


def test_patch_loader_batches(photos):
    loader = sr_data.patch_loader(photos, scale=4, patch=16, batch_size=4, steps=3, y_only=True)
    batches = list(loader)
    assert len(batches) == 3
    assert batches[0][0].shape == (4, 1, 4, 4) and batches[0][1].shape == (4, 1, 16, 16)


# ---------------------------------------------------------------- sr_models
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_model_shapes(scale, channels):
    lr = torch.rand(2, channels, 7, 9)
    espcn = sr_models.ESPCN(scale, channels)
    assert espcn(lr).shape == (2, channels, 7 * scale, 9 * scale)
    srcnn = sr_models.SRCNN(scale, channels)
    assert srcnn(upsample(lr, scale)).shape == (2, channels, 7 * scale, 9 * scale)
    for model in (espcn, srcnn):
        assert model.scale == scale and model.channels == channels


def test_espcn_pixel_shuffle_layout():
    """Output pixel (r y + i, r x + j) of channel c is conv3 channel c r^2 + r i + j at LR pixel (y, x)."""
    r, c = 3, 2
    model = sr_models.ESPCN(r, c)
    x = torch.rand(1, c, 4, 5)
    with torch.no_grad():
        hidden = model.conv3(torch.tanh(model.conv2(torch.tanh(model.conv1(x)))))
        out = model(x)
    for ch in range(c):
        for i in range(r):
            for j in range(r):
                assert torch.equal(out[0, ch, i::r, j::r], hidden[0, ch * r * r + r * i + j])


def test_residual_options_start_as_bicubic_and_keep_the_paper_defaults():
    srcnn, espcn = sr_models.SRCNN(residual=True).eval(), sr_models.ESPCN(residual=True, activation="relu").eval()
    x = torch.rand(1, 1, 12, 15)
    with torch.no_grad():
        assert torch.equal(srcnn(x), x)  # SRCNN's input is the bicubic image already
        assert torch.allclose(espcn(x), F.interpolate(x, scale_factor=3, mode="bicubic", align_corners=False),
                              atol=1e-6)
    paper_srcnn, paper_espcn = sr_models.SRCNN(), sr_models.ESPCN()
    assert not paper_srcnn.residual and not paper_espcn.residual and paper_espcn.activation == "tanh"
    with pytest.raises(ValueError, match="tanh"):
        sr_models.ESPCN(activation="sigmoid")
    # the activation is used: relu and tanh give different outputs for the same weights
    relu = sr_models.ESPCN(activation="relu")
    relu.load_state_dict(paper_espcn.state_dict())
    assert not torch.allclose(relu(x), paper_espcn(x))


def test_macs_per_output_pixel():
    assert sr_models.macs_per_output_pixel(sr_models.SRCNN(3, 1, f2=5)) == 9 * 9 * 64 + 5 * 5 * 64 * 32 + 5 * 5 * 32
    assert sr_models.macs_per_output_pixel(sr_models.SRCNN(3, 1, f2=1)) == 9 * 9 * 64 + 64 * 32 + 5 * 5 * 32
    espcn = (5 * 5 * 64 + 9 * 64 * 32 + 9 * 32 * 9) / 9
    assert sr_models.macs_per_output_pixel(sr_models.ESPCN(3, 1)) == pytest.approx(espcn)


def test_models_follow_the_sr_eval_convention():
    from course_lib import sr_eval
    lr = torch.rand(3, 10, 12)
    for model in (sr_models.SRCNN(3), sr_models.ESPCN(3)):
        sr = sr_eval.super_resolve(model.eval(), lr, 3)
        assert sr.shape == (3, 30, 36)


@pytest.mark.parametrize("name", ["srcnn_x3", "espcn_x3"])
def test_shipped_checkpoints_beat_bicubic(name):
    """The shipped models, as recorded in their checkpoints (measured on the full validation photos)."""
    from course_lib import checkpoint
    model, meta = checkpoint.load_model(name)
    m = meta["metrics"]
    assert model.scale == 3 and m["val_psnr"] > m["bicubic_psnr"]


def test_patches_accept_a_kornia_augmentation(photos):
    ds = sr_data.SRPatches(photos, scale=3, patch=36, length=10, augment=sr_data.make_augment())
    for k in range(len(ds)):
        lr, hr = ds[k]
        assert (quantize(imresize(hr, 1 / 3)) - lr)[..., 3:-3, 3:-3].abs().max() <= 1.01 / 255
    assert torch.equal(ds[4][1], ds[4][1])  # seeded per item


def test_with_rescaled_adds_smaller_8_bit_copies():
    hr = {"a": torch.rand(3, 40, 50)}
    out = sr_data.with_rescaled(hr, factors=(0.8, 0.5))
    assert list(out) == ["a", "a@0.8", "a@0.5"] and out["a"] is hr["a"]
    assert out["a@0.8"].shape == (3, 32, 40) and out["a@0.5"].shape == (3, 20, 25)
    assert torch.equal(out["a@0.5"], quantize(imresize(hr["a"], 0.5)))
    ds = sr_data.SRPatches(out, scale=3, patch=18, length=4)  # usable as training photos
    assert ds[0][1].shape == (3, 18, 18)


def test_dihedral_gives_the_8_symmetries():
    x = torch.arange(9.0).view(1, 3, 3)
    images = {tuple(sr_data.dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(images) == 8


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l07_espcn', ESPCNInterpolate, "paper's layers"),
    ('l07_espcn', ESPCNSubpixelMajor, 'sub-pixel layout'),
    ('l07_espcn', ESPCNReshape, 'sub-pixel layout'),
    ('l07_espcn', ESPCNRelu, 'sub-pixel layout'),
    ('l07_patches', pair_off_by_one, 'aligned pairs'),
    ('l07_patches', pair_same_offset, 'aligned pairs'),
    ('l07_patches', pair_hr_only_augment, 'same random flips'),
    ('l07_patches', pair_separate_augment, 'same random flips'),
    ('l07_patches', pair_never_last, 'every position'),
    ('l07_patches', pair_ignores_augment, 'same random flips'),
    ('l07_patches', pair_keeps_batch_axis, 'returns an LR patch'),
    ('l07_srcnn', SRCNNNoPadding, 'keeps the image size'),
    ('l07_srcnn', SRCNNReluOut, 'same weights, same output'),
    ('l07_srcnn', SRCNNSwappedWidths, "paper's layers"),
    ('l07_srcnn', SRCNNLRInput, 'sr_eval convention'),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
