"""Evaluate a super-resolution model (or bicubic) the way the SR papers do: one command, one table.

    python -m course_lib.sr_eval --model bicubic --scale 2 3 4                 # bundled validation photos
    python -m course_lib.sr_eval --model srcnn_x3 --scale 3 --folder ~/data/Set5
    python -m course_lib.sr_eval --model path/to/my_model.pt --scale 4 --folder ~/data/Set14

Protocol (lesson 06): HR is mod-cropped to a multiple of the scale, LR = MATLAB-bicubic downscaling saved as
8-bit (`degrade.make_lr`), the model's output is scored on Y (BT.601) with a border crop of `scale` pixels
(`metrics.sr_scores`). Pointed at Set5, the bicubic rows should give the published 33.66 / 30.39 / 28.42 dB at
x2/x3/x4 (Set5 is not bundled, so this is not run here; on the bundled photos the papers' MATLAB variants, uint8
rounding between the resize passes or SRCNN's Y-first script, differ from this protocol by <= 0.01 dB, lesson 06).

A model is any course_lib checkpoint (`checkpoint.load_model`). The convention of the course's SR models:
`model.scale` (its factor), `model.channels` (1: works on Y, 3: RGB), and `upsample_first = True` for models
that take the bicubic-upsampled image (SRCNN) instead of the LR image (ESPCN, SRResNet, SRGAN).
"""
import argparse
import sys
import time

import torch

from . import checkpoint, data
from .device import get_device
from .loop import progress
from .degrade import make_lr, mod_crop, upsample
from .metrics import high_frequency_ratio, rgb_to_y, rgb_to_ycbcr, sharpness_ratio, sr_scores, ycbcr_to_rgb

SHIPPED = ("srcnn_x3", "espcn_x3", "srresnet_x4", "srgan_x4")


def load(name_or_path, device="cpu"):
    """"bicubic", or a course_lib SR model from a shipped checkpoint name or a path (eval mode)."""
    if name_or_path == "bicubic":
        return "bicubic"
    model, _ = checkpoint.load_model(name_or_path, device)
    return model


def model_name(model) -> str:
    return model if isinstance(model, str) else type(model).__name__


def _check_scale(model, scale: int) -> None:
    own = getattr(model, "scale", None)
    if own is not None and own != scale:
        raise ValueError(f"{model_name(model)} was trained for x{own}, not x{scale}; evaluate it with --scale {own}")


@torch.inference_mode()
def super_resolve(model, lr: torch.Tensor, scale: int, keep_y: bool = False) -> torch.Tensor:
    """The RGB SR image of an RGB `lr` (3,H,W) or (B,3,H,W) in [0,1], clamped to [0,1].

    model: "bicubic" (MATLAB bicubic) or an SR model following the course convention (module docstring).
    Y-only models (channels = 1) super-resolve Y, which is combined with the Cb, Cr channels of the bicubic
    image into RGB; with keep_y=True their Y (..., 1, sH, sW) is returned as is (that is what gets scored).
    """
    if lr.dim() not in (3, 4) or lr.shape[-3] != 3:
        raise ValueError(f"lr must be an RGB image (3,H,W) or batch (B,3,H,W), got shape {tuple(lr.shape)}")
    bicubic = upsample(lr, scale, "matlab")
    if isinstance(model, str):
        if model != "bicubic":
            raise ValueError(f"unknown baseline {model!r}; use 'bicubic' or an SR model")
        return bicubic
    _check_scale(model, scale)
    batched = lr.dim() == 4
    x = bicubic if getattr(model, "upsample_first", False) else lr
    x = x if batched else x.unsqueeze(0)
    channels = getattr(model, "channels", 3)
    if channels == 1:
        x = rgb_to_y(x)
    elif channels != 3:
        raise ValueError(f"{model_name(model)}.channels must be 1 (Y) or 3 (RGB), not {channels}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    out = model(x.to(device)).float().cpu().clamp(0, 1)
    out = out if batched else out.squeeze(0)
    if out.shape[-2:] != bicubic.shape[-2:]:
        raise ValueError(f"{model_name(model)} returned size {tuple(out.shape[-2:])} for x{scale}, "
                         f"expected {tuple(bicubic.shape[-2:])}")
    if channels == 3 or keep_y:
        return out
    ycbcr = rgb_to_ycbcr(bicubic)
    return ycbcr_to_rgb(torch.cat([out, ycbcr[..., 1:, :, :]], dim=-3)).clamp(0, 1)


def evaluate(model, images: dict, scale: int) -> list[dict]:
    """Rows {"image", "psnr", "ssim", "sharpness", "hf_energy", "seconds", "megapixels"}, one per HR image, then a
    "mean" row.

    images: {name: HR (3,H,W) in [0,1]} (e.g. `data.photos("val")` or `data.image_folder(path)`).
    "seconds" is the time `super_resolve` took; the "mean" row holds the mean scores and seconds and the
    total megapixels (of the HR images). RGB outputs are scored after 8-bit quantisation of RGB, Y-only
    outputs after quantisation of Y. "sharpness" and "hf_energy" are `metrics.sharpness_ratio` and
    `high_frequency_ratio` (border crop = scale) of the output before quantisation.
    """
    rows = []
    for name, hr in progress(images.items(), f"evaluate x{scale}", total=len(images)):
        hr = mod_crop(hr, scale)
        lr = make_lr(hr, scale)
        start = time.perf_counter()
        sr = super_resolve(model, lr, scale, keep_y=True)
        seconds = time.perf_counter() - start
        scores = {**sr_scores(sr, hr, scale), "sharpness": sharpness_ratio(sr, hr, scale),
                  "hf_energy": high_frequency_ratio(sr, hr, scale)}
        rows.append({"image": name, **scores, "seconds": seconds, "megapixels": hr.shape[-2] * hr.shape[-1] / 1e6})
    if rows:
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in ("psnr", "ssim", "sharpness", "hf_energy", "seconds")}
        rows.append({"image": "mean", **mean, "megapixels": sum(r["megapixels"] for r in rows)})
    return rows


def validate(model, images: dict, scale: int) -> dict:
    """The numbers recipes and notebooks log after each epoch: mean Y-PSNR, SSIM and sharpness of `model` on HR
    `images` with this protocol (in eval mode, then back), and the bicubic baseline's PSNR and SSIM."""
    was_training = model.training
    model.eval()
    ours = evaluate(model, images, scale)[-1]
    model.train(was_training)
    bicubic = evaluate("bicubic", images, scale)[-1]
    return {"val_psnr": ours["psnr"], "val_ssim": ours["ssim"], "val_sharpness": ours["sharpness"],
            "bicubic_psnr": bicubic["psnr"], "bicubic_ssim": bicubic["ssim"]}


def format_table(rows: list[dict], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'image':<20} {'PSNR (dB)':>10} {'SSIM':>8}")
    for r in rows:
        lines.append(f"{r['image']:<20} {r['psnr']:>10.2f} {r['ssim']:>8.4f}")
    return "\n".join(lines)


def center_crop(images: dict, size: int | None) -> dict:
    """The central size x size part of every image (all of it if smaller, or if size is None), e.g. fast mode."""
    if size is None:
        return images
    out = {}
    for name, im in images.items():
        h, w = im.shape[-2:]
        top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
        out[name] = im[..., top: top + size, left: left + size]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.sr_eval",
                                     description="course_lib: Y-PSNR/SSIM of an SR model or bicubic, per image and mean.")
    parser.add_argument("--model", default="bicubic", help="'bicubic', a shipped checkpoint name "
                        f"({', '.join(SHIPPED)}) or a checkpoint path")
    parser.add_argument("--scale", type=int, nargs="+", default=[2, 3, 4], help="scale factors (default 2 3 4)")
    parser.add_argument("--folder", help="a folder of HR images (Set5, Set14, ...); default: bundled validation photos")
    parser.add_argument("--crop", type=int, help="evaluate the central CROP x CROP part of each image only")
    parser.add_argument("--device", help="cpu, cuda or mps (default: the best available, or $COURSE_DEVICE)")
    args = parser.parse_args(argv)
    try:
        images = data.image_folder(args.folder) if args.folder else data.photos("val")
        model = load(args.model, get_device(args.device))
    except (data.DataError, checkpoint.CheckpointError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    images = center_crop(images, args.crop)
    source = args.folder or "bundled validation photos"
    status = 0
    for scale in args.scale:
        try:
            rows = evaluate(model, images, scale)
        except ValueError as err:
            print(f"x{scale}: skipped ({err})", file=sys.stderr)
            status = 1
            continue
        print(format_table(rows, f"\n{args.model} x{scale} on {source} (Y channel, border crop {scale})"))
    return status


if __name__ == "__main__":
    sys.exit(main())
