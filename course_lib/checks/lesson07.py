"""Public self-checks of lesson 07 (SRCNN and ESPCN, and their training patches)."""
import torch
from torch import nn

from ..contracts import short, watching
from ..selfcheck import exercise, expect
from ..sr_data import make_augment, sample_pair
from ..sr_models import ESPCN, SRCNN


def _build(cls, **kwargs) -> nn.Module:
    model = cls(**kwargs)
    expect(isinstance(model, nn.Module), "the model must be a torch.nn.Module subclass")
    return model


def _shapes(model: nn.Module) -> list:
    return [tuple(p.shape) for p in model.parameters()]


def _same_weights_output(cls, reference, x, **kwargs):
    """(student output, reference output) with the reference's weights copied into the student's model, in order."""
    ref, model = reference(**kwargs).eval(), _build(cls, **kwargs).eval()
    expect(_shapes(model) == _shapes(ref),
           f"the parameters of {cls.__name__}({kwargs}) are {_shapes(model)}: build the three convolutions of "
           "the contract (in that order, with biases)")
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters()):
            p.copy_(q)
        out = model(x)
        expect(torch.is_tensor(out) and out.shape == ref(x).shape,
               f"output shape {tuple(getattr(out, 'shape', ()))} for input {tuple(x.shape)}")
        return out, ref(x)


def _convention(cls, upsample_first: bool):
    model = _build(cls, scale=4, channels=3)
    expect(getattr(model, "scale", None) == 4 and getattr(model, "channels", None) == 3,
           "store the constructor's scale and channels as model.scale and model.channels (sr_eval reads them)")
    expect(getattr(model, "upsample_first", None) is upsample_first,
           f"set the class attribute upsample_first = {upsample_first} "
           f"({'SRCNN takes the bicubic-upsampled image' if upsample_first else 'ESPCN takes the LR image'})")


# ---------------------------------------------------------------- l07_srcnn
srcnn_ex = exercise("l07_srcnn", SRCNN,
                    "class SRCNN(nn.Module): SRCNN(scale=3, channels=1, f2=5); conv1 9x9 channels->64, ReLU, "
                    "conv2 f2 x f2 64->32, ReLU, conv3 5x5 32->channels, zero 'same' padding; forward(x: (B,C,H,W) "
                    "bicubic-upsampled) -> (B,C,H,W); attributes scale, channels, upsample_first = True")


@srcnn_ex.test("keeps the image size: (B,C,H,W) -> (B,C,H,W) for C = 1 and 3")
def _(cls):
    for channels, f2 in ((1, 5), (3, 1)):
        model = _build(cls, scale=3, channels=channels, f2=f2).eval()
        x = torch.rand(2, channels, 21, 17)
        with torch.no_grad():
            out = model(x)
        expect(torch.is_tensor(out) and tuple(out.shape) == tuple(x.shape),
               f"input {tuple(x.shape)} gave {tuple(getattr(out, 'shape', ()))}: pad each convolution by "
               "kernel_size // 2 so that the image does not shrink")


@srcnn_ex.test("has the paper's layers: 9x9 (64), f2 x f2 (32), 5x5 (channels) convolutions with biases")
def _(cls):
    for channels, f2 in ((1, 5), (1, 1), (3, 5)):
        model, ref = _build(cls, scale=3, channels=channels, f2=f2), SRCNN(3, channels, f2=f2)
        expect(_shapes(model) == _shapes(ref),
               f"SRCNN(channels={channels}, f2={f2}) has parameters {_shapes(model)}: check the kernel sizes, "
               "the numbers of filters and their order (conv1, conv2, conv3)")


@srcnn_ex.test("computes conv3(ReLU(conv2(ReLU(conv1(x))))) (same weights, same output)")
def _(cls):
    x = torch.rand(2, 1, 20, 20)
    out, ref = _same_weights_output(cls, SRCNN, x, scale=3, channels=1, f2=5)
    expect(torch.allclose(out, ref, atol=1e-5), "different output with the same weights: check the ReLUs "
           "(after conv1 and conv2, none after conv3) and the zero padding")


@srcnn_ex.test("declares the sr_eval convention: scale, channels, upsample_first = True")
def _(cls):
    _convention(cls, True)


# ---------------------------------------------------------------- l07_espcn
ESPCN_FORBIDDEN = ("torch.nn.functional.interpolate", "torch.nn.functional.upsample", "torch.nn.Upsample")
espcn_ex = exercise("l07_espcn", ESPCN,
                    "class ESPCN(nn.Module): ESPCN(scale=3, channels=1); conv1 5x5 channels->64, tanh, conv2 3x3 "
                    "64->32, tanh, conv3 3x3 32->channels*scale**2, nn.PixelShuffle(scale); forward(x: LR (B,C,h,w)) "
                    "-> (B,C,scale*h,scale*w), all the upsampling done by the pixel shuffle (no F.interpolate); "
                    "attributes scale, channels, upsample_first = False",
                    forbidden=ESPCN_FORBIDDEN)


@espcn_ex.test("maps LR (B,C,h,w) to (B,C,rh,rw) for r = 2, 3, 4")
def _(cls):
    for scale, channels in ((2, 1), (3, 3), (4, 1)):
        model = _build(cls, scale=scale, channels=channels).eval()
        x = torch.rand(2, channels, 7, 5)
        with torch.no_grad():
            out = model(x)
        expected = (2, channels, 7 * scale, 5 * scale)
        expect(torch.is_tensor(out) and tuple(out.shape) == expected,
               f"x{scale}: input {tuple(x.shape)} gave {tuple(getattr(out, 'shape', ()))}, "
               "not (B, C, scale*h, scale*w)")


@espcn_ex.test("has the paper's layers: 5x5 (64), 3x3 (32), 3x3 (channels * r^2) convolutions with biases")
def _(cls):
    for scale, channels in ((3, 1), (2, 3)):
        model, ref = _build(cls, scale=scale, channels=channels), ESPCN(scale, channels)
        expect(_shapes(model) == _shapes(ref),
               f"ESPCN(scale={scale}, channels={channels}) has parameters {_shapes(model)}: the last convolution "
               "makes channels * scale**2 maps in LR space, which the periodic shuffle rearranges")


@espcn_ex.test("sub-pixel layout: same weights give the output of nn.PixelShuffle (tanh, RGB, x3)")
def _(cls):
    x = torch.rand(2, 3, 6, 5)
    out, ref = _same_weights_output(cls, ESPCN, x, scale=3, channels=3)
    expect(torch.allclose(out, ref, atol=1e-5), "different output with the same weights: output channel "
           "c * r^2 + r * i + j of conv3 must land on pixel (r y + i, r x + j) of channel c (nn.PixelShuffle), "
           "and both hidden layers use tanh")


@espcn_ex.test("declares the sr_eval convention: scale, channels, upsample_first = False")
def _(cls):
    _convention(cls, False)


@espcn_ex.test("upsamples only with the pixel shuffle (no F.interpolate, which the contract forbids)")
def _(cls):
    model, used = _build(cls, scale=3, channels=1).eval(), []
    with torch.no_grad(), watching(ESPCN_FORBIDDEN, used):
        model(torch.rand(1, 1, 6, 5))
    expect(not used, f"forward used {', '.join(map(short, used))}: all the upsampling is nn.PixelShuffle's")


# ---------------------------------------------------------------- l07_patches
patches_ex = exercise("l07_patches", sample_pair,
                      "sample_pair(lr: (C,h,w), hr: (C,s*h,s*w), scale: int, patch: int, augment=None) -> "
                      "(lr_patch (C,patch/s,patch/s), hr_patch (C,patch,patch)): a random aligned crop (torch.randint, "
                      "every position possible), then augment(lr_patch[None], hr_patch[None]) if augment is given")


def _blocky_pair(scale: int, h: int = 6, w: int = 7, channels: int = 2):
    """An LR image of distinct values and its nearest-neighbour HR image: LR pixel (i,j) = HR block (s i, s j)."""
    lr = torch.arange(channels * h * w, dtype=torch.float32).view(channels, h, w) / (channels * h * w)
    hr = lr.repeat_interleave(scale, -2).repeat_interleave(scale, -1)
    return lr, hr


def _draw(fn, lr, hr, scale, patch, augment=None):
    out = fn(lr, hr, scale, patch) if augment is None else fn(lr, hr, scale, patch, augment)
    expect(isinstance(out, (tuple, list)) and len(out) == 2 and all(torch.is_tensor(t) for t in out),
           "return a pair of tensors (lr_patch, hr_patch)")
    lr_patch, hr_patch = out
    p = patch // scale
    expect(tuple(lr_patch.shape) == (lr.shape[0], p, p) and tuple(hr_patch.shape) == (hr.shape[0], patch, patch),
           f"patch={patch}, scale={scale} gave shapes {tuple(lr_patch.shape)} and {tuple(hr_patch.shape)}: "
           "(C, patch/scale, patch/scale) and (C, patch, patch), no batch axis")
    return lr_patch, hr_patch


def _aligned(lr_patch, hr_patch, scale) -> bool:
    """hr_patch is made of s x s blocks, block (i,j) equal to lr_patch pixel (i,j)."""
    up = lr_patch.repeat_interleave(scale, -2).repeat_interleave(scale, -1)
    return torch.allclose(up, hr_patch, atol=1e-5)


def _position(lr, lr_patch):
    """(i, j) if lr_patch is an unmodified crop of lr, else None."""
    p = lr_patch.shape[-1]
    flat = (lr[0] - lr_patch[0, 0, 0]).abs().argmin()
    i, j = divmod(int(flat), lr.shape[-1])
    crop = lr[..., i:i + p, j:j + p]
    return (i, j) if crop.shape == lr_patch.shape and torch.allclose(crop, lr_patch, atol=1e-6) else None


@patches_ex.test("returns an LR patch (C, p/s, p/s) and an HR patch (C, p, p) for s = 2, 3, 4")
def _(fn):
    for scale in (2, 3, 4):
        lr, hr = _blocky_pair(scale)
        _draw(fn, lr, hr, scale, 3 * scale)


@patches_ex.test("crops aligned pairs: the HR patch starts at s times the LR patch's position")
def _(fn):
    for scale in (2, 3):
        lr, hr = _blocky_pair(scale)
        for _ in range(20):
            lr_patch, hr_patch = _draw(fn, lr, hr, scale, 3 * scale)
            expect(_position(lr, lr_patch) is not None, "without augment the LR patch must be a plain crop of lr")
            expect(_aligned(lr_patch, hr_patch, scale),
                   f"x{scale}: the HR patch does not show the LR patch's area: crop LR at (i, j) and HR at "
                   "(scale*i, scale*j), with the HR patch scale times larger")


@patches_ex.test("draws every position, the last row and column included")
def _(fn):
    lr, hr = _blocky_pair(2, h=5, w=6)
    seen = {_position(lr, _draw(fn, lr, hr, 2, 6)[0]) for _ in range(300)}
    expect(len(seen - {None}) == (5 - 3 + 1) * (6 - 3 + 1),
           f"{len(seen - {None})} of the {(5 - 3 + 1) * (6 - 3 + 1)} possible positions drawn in 300 tries: "
           "torch.randint's upper bound is exclusive (h - p + 1)")


@patches_ex.test("applies the same random flips / rotations to both patches (augment)")
def _(fn):
    augment = make_augment()
    lr, hr = _blocky_pair(3)
    changed = 0
    for _ in range(30):
        lr_patch, hr_patch = _draw(fn, lr, hr, 3, 9, augment)
        expect(_aligned(lr_patch, hr_patch, 3), "after augmentation the HR patch no longer matches the LR patch: "
               "call augment once with both patches, augment(lr_patch[None], hr_patch[None]), so they share "
               "one set of random parameters")
        changed += _position(lr, lr_patch) is None
    expect(changed > 0, "augment was given but no patch was flipped or rotated in 30 draws: apply it")
