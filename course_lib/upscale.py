"""Try it on your own photo: enlarge an image file with one of the course's shipped SR models (lessons 07-08).

    python -m course_lib.upscale photo.jpg --model srgan_x4              # -> photo_srgan_x4.png beside it
    python -m course_lib.upscale photo.jpg --model srcnn_x3 --out big.png --tile 128

The course's counterpart of pytorch/examples' super_resolution/super_resolve.py (load a trained model, run it on
one image, save the result). Each model runs exactly as `sr_eval.super_resolve` evaluates it: SRResNet and SRGAN
take the RGB image; SRCNN (on the bicubic-upsampled image) and ESPCN super-resolve Y only, and Cb, Cr come from
MATLAB bicubic. Here the photo *is* the LR input: there is no HR image, so no PSNR. The models learned from LR
images made by MATLAB bicubic downscaling (lesson 06); a camera JPEG is blurred and compressed differently.

Large photos are processed in tiles of `--tile` LR pixels, each computed with a margin of `margin(model)` pixels on
every side (at least the model's receptive-field radius) that is cropped away again: the tiles join without seams,
the result equals the untiled one up to float rounding, and memory is bounded by one tile (and the 8-bit result).
"""
import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

from . import checkpoint, data
from .degrade import quantize
from .device import get_device
from .loop import progress
from .sr_eval import SHIPPED, super_resolve

TILE = 256  # LR pixels per tile side, before the margins


class UpscaleError(ValueError):
    """The photo cannot be upscaled; the message says what is wrong and what to do."""


def read_image(source) -> torch.Tensor:
    """A path or the bytes of an image file (e.g. an upload) -> RGB (3,H,W) float in [0,1]; grey and RGBA become
    RGB, and a camera's EXIF orientation is applied."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, source = "the uploaded file", io.BytesIO(bytes(source))
    else:
        name = source = Path(source).expanduser()
        if not source.is_file():
            raise UpscaleError(f"{name}: no such file{' (it is a folder)' if source.is_dir() else ''}. "
                               "Give the path of an image file (PNG, JPEG, ...).")
    try:
        with Image.open(source) as im:
            return data.to_tensor(np.array(ImageOps.exif_transpose(im).convert("RGB")))
    except Image.DecompressionBombError as err:
        raise UpscaleError(f"{name} has too many pixels to open safely ({err}); downscale or crop it first.") from err
    except (UnidentifiedImageError, OSError) as err:
        raise UpscaleError(f"{name} is not an image Pillow can read ({err}). "
                           "Give a PNG, JPEG, BMP, TIFF or WebP file.") from err


def margin(model: nn.Module) -> int:
    """LR pixels beyond a tile that can change its output: each conv reaches dilation * (k - 1) / 2 pixels of the
    grid it runs on (LR or finer, so at most that many LR pixels), bicubic interpolation 2 more."""
    return 2 + sum(max(d * (k - 1) // 2 for d, k in zip(m.dilation, m.kernel_size))
                   for m in model.modules() if isinstance(m, nn.Conv2d))


def _out_of_memory(err: Exception) -> bool:
    return isinstance(err, MemoryError) or "memory" in str(err).lower()


@torch.inference_mode()
def upscale(model: nn.Module, image: torch.Tensor, tile: int = TILE) -> torch.Tensor:
    """`image` (3,H,W) in [0,1] super-resolved by `model` (course SR convention, `sr_eval`) -> uint8 (3, sH, sW),
    as saved. tile: LR pixels per tile side (0: the whole image at once)."""
    s, (h, w) = model.scale, image.shape[-2:]
    try:
        out = torch.empty(3, s * h, s * w, dtype=torch.uint8)
    except (MemoryError, RuntimeError) as err:
        raise UpscaleError(f"the {s * w}x{s * h} result ({3 * s * s * h * w / 1e9:.1f} GB) does not fit in memory; "
                           "downscale or crop the photo first.") from err
    step, pad = tile or max(h, w), margin(model)
    corners = [(y, x) for y in range(0, h, step) for x in range(0, w, step)]
    for y, x in progress(corners, f"upscale x{s}", total=len(corners)):
        y1, x1, py, px = min(y + step, h), min(x + step, w), max(y - pad, 0), max(x - pad, 0)
        try:
            sr = super_resolve(model, image[:, py: min(y1 + pad, h), px: min(x1 + pad, w)], s)
        except (MemoryError, RuntimeError) as err:
            if not _out_of_memory(err):
                raise
            raise UpscaleError(f"out of memory on a {step}-pixel tile: use a smaller --tile, "
                               f"e.g. --tile {max(step // 2, 16)}.") from err
        piece = sr[:, s * (y - py): s * (y1 - py), s * (x - px): s * (x1 - px)]
        out[:, s * y: s * y1, s * x: s * x1] = (quantize(piece) * 255).round().to(torch.uint8)
    return out


def output_path(image: Path, model_name: str, out=None) -> Path:
    """--out, or IMAGE_MODEL.png beside the input; never the input itself."""
    target = Path(out).expanduser() if out else image.with_name(f"{image.stem}_{model_name}.png")
    if target.resolve() == image.resolve():
        raise UpscaleError(f"{target} is the input photo: choose another --out (the input is never overwritten).")
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.upscale",
                                     description="course_lib: enlarge a photo with a shipped SR model.")
    parser.add_argument("image", help="the photo to enlarge (PNG, JPEG, ...)")
    parser.add_argument("--model", required=True, help=f"one of {', '.join(SHIPPED)}")
    parser.add_argument("--out", help="where to save the PNG (default: IMAGE_MODEL.png beside the input)")
    parser.add_argument("--tile", type=int, default=TILE,
                        help=f"LR pixels per tile side (default {TILE}; 0: the whole photo at once, needs more memory)")
    parser.add_argument("--device", help="cpu, cuda or mps (default: the best available, or $COURSE_DEVICE)")
    args = parser.parse_args(argv)
    try:
        if args.model not in SHIPPED:
            raise UpscaleError(f"unknown model {args.model!r}; choose one of: {', '.join(SHIPPED)}.")
        if args.tile < 0:
            raise UpscaleError(f"--tile must be 0 (no tiles) or a positive number of pixels, not {args.tile}.")
        path = Path(args.image).expanduser()
        image = read_image(path)
        target = output_path(path, args.model, args.out)
        try:
            device = get_device(args.device)
        except RuntimeError as err:  # an unavailable --device / COURSE_DEVICE
            raise UpscaleError(str(err)) from err
        model, _ = checkpoint.load_model(args.model, device)
        start = time.perf_counter()
        result = upscale(model, image, args.tile)
        try:
            Image.fromarray(result.permute(1, 2, 0).numpy()).save(target)
        except (OSError, ValueError) as err:
            raise UpscaleError(f"could not write {target} ({err}); check the folder and use a .png name.") from err
    except (UpscaleError, checkpoint.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{path} ({image.shape[-1]}x{image.shape[-2]}) -> {target} ({result.shape[-1]}x{result.shape[-2]}), "
          f"{args.model} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
