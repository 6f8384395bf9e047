"""Offline datasets: real MNIST (shipped in data/MNIST) and real photos (bundled with scikit-image).

Nothing is downloaded at run time. Missing or corrupt data raises DataError saying what to do;
there is never a silent fallback to random data.
"""
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision.transforms import v2 as T

from . import distributed
from .env import cache_dir, data_dir


class DataError(FileNotFoundError):
    """Course data is missing, corrupt or unreadable."""


# ---------------------------------------------------------------- MNIST (LeCun et al. 1998)
# sha256 of the committed files (see data/README.md for provenance and data/convert_mnist.py).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "71524e2cd1ad2968737f7f2f2ff69cbfc32df8ccddff51593f7cb2d4e0eb5b64",
    "train-labels-idx1-ubyte.gz": "fe03b8bd7915f70bf5aa08be480aa413fbd85afcaa58b35d230d335f284fd88e",
    "t10k-images-idx3-ubyte.gz": "5634745efa576a17e7d4cf5cd9d09123c75e6538e5114267c2d156edaf519341",
    "t10k-labels-idx1-ubyte.gz": "ae18e77e031ccde52407f794d123116439864147d33ac992975f85dd4dc42af6",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mnist_root() -> Path:
    """Unpack the committed .gz files once into a folder torchvision.datasets.MNIST can read."""
    source = data_dir() / "MNIST" / "raw"
    root = data_dir()
    for name in MNIST_SHA256:  # before anything else: a missing folder must not look like a read-only one
        if not (source / name).exists():
            raise DataError(f"MNIST file {source / name} is missing. It ships with the course repository: run "
                            "`git checkout -- data/MNIST` (or `git lfs pull` if you cloned without data), "
                            "or set COURSE_DATA to the folder that holds MNIST/raw/.")
    try:  # unpack beside the .gz files; fall back to the cache folder if data/ is read-only
        probe = source / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        root = cache_dir()
    target = root / "MNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for name, digest in MNIST_SHA256.items():
        unpacked = target / name[:-3]
        if unpacked.exists():
            continue
        gz = source / name
        if sha256(gz) != digest:
            raise DataError(f"MNIST file {gz} is corrupt (sha256 mismatch). Restore it with "
                            "`git checkout -- data/MNIST`, or rebuild it with data/convert_mnist.py.")
        tmp = unpacked.with_suffix(".tmp")
        with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        tmp.replace(unpacked)
    return root


def mnist(train: bool = True, transform=None) -> torchvision.datasets.MNIST:
    """torchvision's MNIST (60k train / 10k test) read from the shipped files; images -> [0,1] tensors."""
    transform = transform if transform is not None else T.Compose([T.ToImage(), T.ToDtype(torch.float32, scale=True)])
    return torchvision.datasets.MNIST(_mnist_root(), train=train, transform=transform, download=False)


def mnist_tensors(train: bool = True, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All (or the first n) MNIST images as one float tensor (N,1,28,28) in [0,1], and labels (N,)."""
    ds = mnist(train)
    images, labels = ds.data[:n], ds.targets[:n]
    return images.unsqueeze(1).float() / 255.0, labels


def mnist_loader(batch_size: int, n: int | None = None, shuffle: bool = True, seed: int = 0):
    """A DataLoader of MNIST training digits (images in [0, 1], labels); `batch_size` is the global batch (split
    over torchrun processes, course_lib.distributed)."""
    x, y = mnist_tensors(train=True, n=n)
    return distributed.loader(torch.utils.data.TensorDataset(x, y), batch_size, shuffle=shuffle, seed=seed)


# ---------------------------------------------------------------- real photos for super-resolution
# scikit-image's bundled photos (see data/README.md for sources and licences). A fixed split:
# validation holds the classic test subjects; training holds everything else.
PHOTOS = {
    "train": ["rocket", "hubble_deep_field", "retina", "immunohistochemistry", "motorcycle_left",
              "motorcycle_right", "brick", "grass", "gravel", "moon", "coins", "clock", "cell", "text", "page"],
    "val": ["astronaut", "chelsea", "coffee", "camera"],
}


def _skimage_photo(name: str) -> np.ndarray:
    try:
        import skimage.data
    except ImportError as err:
        raise DataError("The course photos come with scikit-image: `pip install scikit-image`.") from err
    try:
        if name.startswith("motorcycle_"):
            left, right, _ = skimage.data.stereo_motorcycle()
            return left if name.endswith("left") else right
        return getattr(skimage.data, name)()
    except Exception as err:
        raise DataError(f"scikit-image's bundled photo {name!r} could not be loaded ({err}). "
                        "Reinstall scikit-image (`pip install --force-reinstall scikit-image`).") from err


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """uint8 (H,W) or (H,W,3|4) array -> float (3,H,W) in [0,1]; grey is repeated to 3 channels."""
    t = torch.from_numpy(np.ascontiguousarray(array))
    t = t.unsqueeze(-1).expand(*t.shape, 3) if t.dim() == 2 else t[..., :3]
    return t.permute(2, 0, 1).float() / 255.0


def photos(split: str = "train") -> dict[str, torch.Tensor]:
    """The bundled photos of a split ("train" or "val"): {name: (3,H,W) float tensor in [0,1]}."""
    if split not in PHOTOS:
        raise ValueError(f"split must be one of {list(PHOTOS)}, not {split!r}")
    return {name: to_tensor(_skimage_photo(name)) for name in PHOTOS[split]}


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def image_folder(path) -> dict[str, torch.Tensor]:
    """Every image in a folder (DIV2K, Set5, Set14, your own): {file stem: (3,H,W) float in [0,1]}."""
    from PIL import Image, UnidentifiedImageError

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"Image folder {folder} does not exist. Download e.g. Set5/Set14 or DIV2K and "
                        "point to the folder that holds the image files.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}.")
    images = {}
    for file in files:
        try:
            with Image.open(file) as im:
                images[file.stem] = to_tensor(np.array(im.convert("RGB")))
        except (UnidentifiedImageError, OSError) as err:
            raise DataError(f"{file} is not a readable image ({err}). Remove or replace it.") from err
    return images
