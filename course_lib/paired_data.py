"""Paired data for Pix2Pix (lesson 09): label maps -> "photos" rendered from scikit-image's bundled textures.

The task is the paper's labels -> photo (Isola et al. 2017, Sec. 4: Cityscapes labels -> photo, with the
"FCN-score"). Each image is a random layout of regions (a Voronoi diagram of a few random seed points), each region
one of five classes, and the photo fills every region with a random crop of its class's texture:

    brick, gravel   the bundled grey brick and gravel photos, given the SAME colour, mean and contrast: only their
                    texture tells them apart (like road vs sidewalk in Cityscapes)
    grass           the grass photo, tinted green
    tissue          the immunohistochemistry photo (colour)
    space           the Hubble deep field (colour)

The input is the colour-coded label map (3 channels, PALETTE), as the paper feeds Cityscapes' colour labels. Where a
texture crop starts is random, so a label map has many right photos: the mean of them (what an L1-trained generator
predicts) is a flat, blurred average, which is the lesson's point.

Splits: "train" layouts are drawn on the fly from any seed and crop the left 70 % of every texture; the held-out
split (`heldout()`) uses its own seeds and only the right 30 % of every texture, so neither a layout nor a texture
pixel of it is ever seen in training. Everything is deterministic (torch.Generator on the CPU, integer 2x2 pooling,
elementwise float ops), see `checksum()` and data/README.md. The textures are scikit-image's (CC0 / public domain:
brick, grass, gravel by Stefan van der Walt; immunohistochemistry, Karolinska; Hubble deep field, NASA).
"""
import functools
import hashlib

import numpy as np
import torch
import torch.nn.functional as F

CLASSES = ("brick", "gravel", "grass", "tissue", "space")
PALETTE = torch.tensor([[0.85, 0.20, 0.20], [0.95, 0.85, 0.20], [0.20, 0.75, 0.25],
                        [0.80, 0.30, 0.90], [0.15, 0.25, 0.85]])  # label colours (the generator's input)
STONE = torch.tensor([0.62, 0.55, 0.48])   # brick and gravel share this colour
GREEN = torch.tensor([0.45, 0.70, 0.30])
TRAIN_FRACTION = 0.7   # texture columns [0, 70 %) train, [70 %, 100 %) held out
HELDOUT_SEED = 90_001
HELDOUT_SIZE = 256


def _skimage(name: str) -> np.ndarray:
    import skimage.data
    return getattr(skimage.data, name)()


def _pool2(a: np.ndarray) -> torch.Tensor:
    """uint8 (H,W[,3]) -> float (3,H/2,W/2) in [0,1] by exact 2x2 averaging (same bits on every machine)."""
    t = torch.from_numpy(np.ascontiguousarray(a)).to(torch.float32)
    t = t[..., None].expand(*t.shape, 3) if t.dim() == 2 else t[..., :3]
    h, w = t.shape[0] // 2 * 2, t.shape[1] // 2 * 2
    t = t[:h, :w].permute(2, 0, 1)
    return (t[:, 0::2, 0::2] + t[:, 1::2, 0::2] + t[:, 0::2, 1::2] + t[:, 1::2, 1::2]) / (4 * 255)


def _standardise(grey: torch.Tensor, colour: torch.Tensor, contrast: float = 0.16) -> torch.Tensor:
    """A grey texture (3,H,W) with mean `colour` and per-channel std `contrast` * colour / mean(colour)."""
    g = grey[0]
    g = (g - g.mean()) / g.std()
    return (colour.view(3, 1, 1) * (1 + contrast / colour.mean() * g)).clamp(0, 1)


@functools.lru_cache(maxsize=None)
def textures() -> tuple[torch.Tensor, ...]:
    """One texture (3,H,W) in [0,1] per class (CLASSES order), at half the bundled photos' resolution."""
    return (_standardise(_pool2(_skimage("brick")), STONE), _standardise(_pool2(_skimage("gravel")), STONE),
            _standardise(_pool2(_skimage("grass")), GREEN), _pool2(_skimage("immunohistochemistry")),
            _pool2(_skimage("hubble_deep_field")))


def texture_region(texture: torch.Tensor, split: str) -> torch.Tensor:
    """The columns of a texture a split may crop from: the left 70 % ("train") or the right 30 % ("heldout")."""
    cut = int(texture.shape[-1] * TRAIN_FRACTION)
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    return texture[..., :cut] if split == "train" else texture[..., cut:]


def layouts(n: int, size: int, generator: torch.Generator, cells: tuple[int, int] = (3, 7)) -> torch.Tensor:
    """n random label maps (n,size,size) int64: Voronoi cells of 3-6 random seed points, each a random class."""
    k = cells[1]
    points = torch.rand(n, k, 2, generator=generator) * size
    counts = torch.randint(cells[0], cells[1], (n, 1), generator=generator)
    classes = torch.randint(len(CLASSES), (n, k), generator=generator)
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32) + 0.5,
                            torch.arange(size, dtype=torch.float32) + 0.5, indexing="ij")
    d = (yy[None, None] - points[..., 0, None, None]).square() + (xx[None, None] - points[..., 1, None, None]).square()
    d = d.masked_fill((torch.arange(k)[None] >= counts)[..., None, None], float("inf"))  # unused seed points
    return classes.gather(1, d.argmin(1).flatten(1)).view(n, size, size)


def render(labels: torch.Tensor, split: str, generator: torch.Generator) -> torch.Tensor:
    """The photos (n,3,S,S) of label maps (n,S,S): each class's pixels from a random crop of its texture."""
    n, size = labels.shape[0], labels.shape[-1]
    photo = torch.zeros(n, 3, size, size)
    for c, texture in enumerate(textures()):
        region = texture_region(texture, split)
        ys = torch.randint(region.shape[-2] - size + 1, (n,), generator=generator).tolist()
        xs = torch.randint(region.shape[-1] - size + 1, (n,), generator=generator).tolist()
        crops = torch.stack([region[:, y:y + size, x:x + size] for y, x in zip(ys, xs)])
        photo += (labels == c)[:, None] * crops
    return photo


def colourise(labels: torch.Tensor) -> torch.Tensor:
    """Label maps (n,S,S) -> colour-coded inputs (n,3,S,S) in [0,1] (PALETTE)."""
    return PALETTE[labels].permute(0, 3, 1, 2).contiguous()


def to_labels(coded: torch.Tensor) -> torch.Tensor:
    """Colour-coded inputs (n,3,S,S) -> label maps (n,S,S): the nearest palette colour (undoes colourise)."""
    return (coded[:, None] - PALETTE.view(1, -1, 3, 1, 1)).square().sum(2).argmin(1)


def pairs(n: int, seed: int, split: str = "train", size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n deterministic pairs: (colour-coded labels (n,3,S,S), photos (n,3,S,S) in [0,1], label maps (n,S,S))."""
    g = torch.Generator().manual_seed(seed)
    labels = layouts(n, size, g)
    return colourise(labels), render(labels, split, g), labels


def heldout(n: int = HELDOUT_SIZE, size: int = 64):
    """The fixed held-out split (never used for training): its own seed, the right 30 % of every texture."""
    return pairs(n, HELDOUT_SEED, "heldout", size)


def checksum(*tensors: torch.Tensor) -> str:
    """sha256 of tensors in [0,1] quantised to uint8 (the held-out split's digest is in data/README.md)."""
    h = hashlib.sha256()
    for t in tensors:
        h.update((t.clamp(0, 1) * 255).round().to(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def augmentation():
    """Kornia flips applied IDENTICALLY to the input, the target and the label map (one set of random parameters
    per sample for all three): call it as aug(coded, photo, labels_float)."""
    import kornia.augmentation as K
    return K.AugmentationSequential(K.RandomHorizontalFlip(), K.RandomVerticalFlip(),
                                    data_keys=["input", "input", "mask"])


class PairStream(torch.utils.data.IterableDataset):
    """`steps` training batches (coded, photo, labels) from the train split, batch i drawn from seed (seed, i),
    flipped by kornia; `epoch` shifts the seeds, so every epoch sees new layouts."""

    def __init__(self, batch_size: int, steps: int, size: int = 64, seed: int = 0, augment: bool = True):
        super().__init__()
        self.batch_size, self.steps, self.size, self.seed, self.epoch = batch_size, steps, size, seed, 0
        self.aug = augmentation() if augment else None

    def __len__(self):
        return self.steps

    def __iter__(self):
        for step in range(self.steps):
            seed = (self.seed * 1_000_003 + self.epoch * self.steps + step) % 2**62
            coded, photo, labels = pairs(self.batch_size, seed, "train", self.size)
            if self.aug is not None:
                with torch.random.fork_rng(devices=[]):  # kornia draws from the global generator
                    torch.manual_seed(seed)
                    coded, photo, labels = self.aug(coded, photo, labels[:, None].float())
                labels = labels[:, 0].round().long()
            yield coded, photo, labels


def loader(batch_size: int, steps: int, size: int = 64, seed: int = 0, augment: bool = True):
    """A DataLoader over PairStream (batches already formed; no worker processes)."""
    return torch.utils.data.DataLoader(PairStream(batch_size, steps, size, seed, augment), batch_size=None)
