"""Training pairs for super-resolution: random aligned (LR, HR) patches of the bundled photos.

The SR papers train on small patches, not whole images:
  SRCNN (Dong et al., ECCV 2014 / TPAMI 2016): 33x33 sub-images of the bicubic-upsampled LR image (Y channel),
      cropped from whole images degraded by MATLAB `imresize` (their `generate_train.m`).
  ESPCN (Shi et al., CVPR 2016): 17r x 17r HR patches and the matching 17 x 17 LR patches (Y channel).
  SRResNet/SRGAN (Ledig et al., CVPR 2017): 96x96 HR patches, RGB, batch 16.
Data augmentation with flips and 90-degree rotations (the 8 symmetries of the square) is the usual addition
(Timofte et al., "Seven ways to improve example-based SR", CVPR 2016; EDSR).

How a pair is made here (`SRPatches`):
1. Each HR photo is mod-cropped and degraded ONCE, whole: lr = `degrade.make_lr(hr, s)` (MATLAB bicubic,
   8-bit), exactly as `sr_eval` makes test inputs. Degrading every patch on its own would be wrong:
   the bicubic kernel at x3 reads 12 HR pixels, so a patch's LR border would be made from mirrored pixels
   (symmetric padding) that the test images never see. Cropping the whole LR image is also much faster.
2. A random photo (all equally likely: drawing by area would give the big, mostly black retina and Hubble
   photos half of the patches), and in it a random LR crop of p/s x p/s pixels at (i, j) and the HR crop of
   p x p pixels at (s i, s j): LR pixel (i, j) is the (antialiased) average of the HR block
   [s i, s i + s) x [s j, s j + s), so the two crops show the same scene (`random_crop_pair`).
3. The same random flips / 90-degree rotation for both. `make_augment` is kornia's way, an
   `AugmentationSequential` with data_keys=["input", "input"] (one draw of random parameters for both inputs;
   lesson 07's exercise). `SRPatches` applies the same 8 symmetries with `torch.flip` / `torch.rot90` (`dihedral`):
   exact, and about 3 ms per pair cheaper on one CPU core, where kornia's per-call overhead would cost more
   than ESPCN's whole training step. Pass augment=make_augment() to use kornia instead.

Every patch is a deterministic function of (seed, epoch, index), so runs repeat, DataLoader workers and
torchrun processes draw different patches, and `set_epoch` gives fresh patches each epoch.

The shipped models also train on smaller copies of the photos (`with_rescaled`, FSRCNN's scale augmentation).

    ds = SRPatches(scale=3, patch=48, length=16 * 500)           # (lr (3,16,16), hr (3,48,48)) pairs
    ds = SRPatches(scale=3, patch=33, y_only=True, upsampled=True)  # SRCNN: (bicubic Y (1,33,33), HR Y)
    loader = patch_loader(scale=4, patch=96, batch_size=16, steps=1000)  # torchrun-aware DataLoader
"""
import kornia.augmentation as K
import torch

from . import data, distributed
from .degrade import imresize, make_lr, mod_crop, quantize, upsample
from .metrics import rgb_to_y


def make_augment() -> K.AugmentationSequential:
    """Random horizontal flip, vertical flip and rotation by 0/90/180/270 degrees, the SAME for every input.

    `augment(hr, lr)` takes (B,C,H,W) batches of any sizes and returns both transformed with one draw of the
    random parameters per batch element (kornia's global RNG; seed it with torch.manual_seed). Square patches
    only: a 90-degree rotation of a non-square patch changes its shape.
    """
    return K.AugmentationSequential(
        K.RandomHorizontalFlip(p=0.5),
        K.RandomVerticalFlip(p=0.5),
        K.RandomRotation90(times=(0, 3), p=1.0),
        data_keys=["input", "input"],
    )


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th (0..7) of the 8 symmetries of the square: rotate by 90 k degrees, mirrored first if k >= 4."""
    return torch.rot90(x.flip(-1) if k >= 4 else x, k % 4, dims=(-2, -1))


def with_rescaled(images: dict, factors=(0.9, 0.8, 0.7, 0.6)) -> dict:
    """`images` plus a copy of each HR photo downscaled by every factor (MATLAB bicubic, 8-bit), named "name@f".

    FSRCNN's data augmentation (Dong, Loy, Tang, ECCV 2016, Sec. 4.1: scales 0.9 ... 0.6): a downscaled photo is
    a new, sharper HR image of the same scene, so the few bundled photos give more varied training patches.
    """
    out = dict(images)
    for name, hr in images.items():
        for f in factors:
            out[f"{name}@{f}"] = quantize(imresize(hr, f))
    return out


def random_position(lr_size: tuple[int, int], lr_patch: int, generator: torch.Generator | None = None):
    """Top-left (i, j) of a random lr_patch x lr_patch crop of an LR image of size lr_size, in LR pixels."""
    h, w = lr_size
    if h < lr_patch or w < lr_patch:
        raise ValueError(f"LR image {h}x{w} is smaller than the LR patch {lr_patch}x{lr_patch}; use a smaller patch")
    i = int(torch.randint(0, h - lr_patch + 1, (1,), generator=generator))
    j = int(torch.randint(0, w - lr_patch + 1, (1,), generator=generator))
    return i, j


def random_crop_pair(lr: torch.Tensor, hr: torch.Tensor, scale: int, patch: int,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Aligned random crops: LR (C, patch/s, patch/s) at (i, j) and HR (C, patch, patch) at (s i, s j).

    lr: the LR image of hr (H/s x W/s). The position is drawn in LR pixels (so HR offsets are multiples of s).
    """
    if patch % scale:
        raise ValueError(f"HR patch size {patch} must be a multiple of the scale {scale}")
    h, w = lr.shape[-2:]
    if hr.shape[-2:] != (h * scale, w * scale):
        raise ValueError(f"hr {tuple(hr.shape[-2:])} is not {scale} x lr {tuple(lr.shape[-2:])}; mod-crop hr first")
    p = patch // scale
    i, j = random_position((h, w), p, generator)
    return lr[..., i:i + p, j:j + p], hr[..., i * scale:(i + p) * scale, j * scale:(j + p) * scale]


def sample_pair(lr: torch.Tensor, hr: torch.Tensor, scale: int, patch: int, augment=None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One training pair: `random_crop_pair`, then the same random `augment` (e.g. `make_augment()`) of both."""
    lr_patch, hr_patch = random_crop_pair(lr, hr, scale, patch, generator)
    if augment is None:
        return lr_patch, hr_patch
    lr_patch, hr_patch = augment(lr_patch[None], hr_patch[None])  # one draw of parameters for both
    return lr_patch[0], hr_patch[0]


class SRPatches(torch.utils.data.Dataset):
    """`length` random (input, target) patch pairs from HR photos; item k = f(seed, epoch, k).

    images: {name: HR (3,H,W) in [0,1]}, default `data.photos("train")`.
    scale, patch: the factor s and the HR patch size p (a multiple of s); targets are (C, p, p).
    inputs: the LR patch (C, p/s, p/s), or with upsampled=True its crop of the bicubic-upsampled LR image
        (C, p, p), the input of SRCNN (`sr_eval` feeds `upsample(lr, s, "matlab")` to such models).
    y_only: C = 1, BT.601 luma Y as scored by `metrics.sr_scores` (SRCNN, ESPCN); else C = 3 (RGB).
    augment: True: one of the 8 flips/rotations (`dihedral`), the same for input and target; False: none; or a
        callable like `make_augment()`, called as augment(input[None], target[None]) under a per-item seed.
    Images smaller than the patch are skipped. Each item first draws a photo, all equally likely (drawing by area
    would give the big, mostly flat retina and hubble photos half of the patches), then a position in it.
    """

    def __init__(self, images: dict | None = None, scale: int = 3, patch: int = 48, length: int = 1024,
                 seed: int = 0, augment=True, y_only: bool = False, upsampled: bool = False):
        if scale < 1 or patch < scale or patch % scale:
            raise ValueError(f"need scale >= 1 and an HR patch size that is a multiple of it, got {scale}, {patch}")
        if length < 1:
            raise ValueError(f"length (patches per epoch) must be positive, got {length}")
        images = data.photos("train") if images is None else images
        self.scale, self.patch, self.length, self.seed, self.epoch = scale, patch, length, seed, 0
        self.y_only, self.upsampled = y_only, upsampled
        self.augment = augment
        self.pairs = []                                # (input image, HR image), already degraded, Y if y_only
        for name, hr in images.items():
            if min(hr.shape[-2:]) < patch:
                continue
            hr = mod_crop(hr, scale)
            lr = make_lr(hr, scale)
            x = upsample(lr, scale, "matlab") if upsampled else lr
            if y_only:
                x, hr = rgb_to_y(x), rgb_to_y(hr)
            self.pairs.append((x.contiguous(), hr.contiguous()))
        if not self.pairs:
            raise ValueError(f"no image is at least {patch}x{patch} pixels; use a smaller patch")

    def set_epoch(self, epoch: int) -> None:
        """Draw new patches: item k of epoch e differs from item k of epoch e' (call before each epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} patches")
        g = torch.Generator().manual_seed(((self.seed * 1_000_003 + self.epoch) * 1_000_003 + index) % 2**63)
        x, hr = self.pairs[int(torch.randint(0, len(self.pairs), (1,), generator=g))]
        s, p = self.scale, self.patch
        if self.upsampled:  # input and target share the HR grid: the same crop of both, at a multiple of s
            i, j = random_position((hr.shape[-2] // s, hr.shape[-1] // s), p // s, g)
            x_patch, hr_patch = x[..., s * i:s * i + p, s * j:s * j + p], hr[..., s * i:s * i + p, s * j:s * j + p]
        else:
            x_patch, hr_patch = random_crop_pair(x, hr, s, p, g)
        if self.augment is True:
            k = int(torch.randint(0, 8, (1,), generator=g))
            x_patch, hr_patch = dihedral(x_patch, k), dihedral(hr_patch, k)
        elif self.augment:
            with torch.random.fork_rng(devices=[]):  # kornia draws from the global RNG: seed it for this item
                torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))
                x_patch, hr_patch = (t[0] for t in self.augment(x_patch[None], hr_patch[None]))
        return x_patch.contiguous(), hr_patch.contiguous()


def patch_loader(images: dict | None = None, *, scale: int, patch: int, batch_size: int, steps: int,
                 seed: int = 0, **kwargs) -> torch.utils.data.DataLoader:
    """A torchrun-aware DataLoader of `steps` batches of `batch_size` (global) fresh SRPatches pairs.

    kwargs go to SRPatches (augment, y_only, upsampled). For several epochs call
    `loader.dataset.set_epoch(e)` (new patches) and `loader.sampler.set_epoch(e)` (new order).
    """
    dataset = SRPatches(images, scale=scale, patch=patch, length=steps * batch_size, seed=seed, **kwargs)
    return distributed.loader(dataset, batch_size, seed=seed)
