"""Super-resolution: Y-PSNR/SSIM of shipped models vs bicubic; time per megapixel.

Every shipped SR model (course_lib.sr_eval.SHIPPED) against bicubic on the bundled validation photos, with the
lesson 06 protocol (`sr_eval.evaluate`); `--crop N` scores central N x N crops only (quick runs).
"""
import argparse

from .. import checkpoint, data
from ..device import get_device
from ..sr_eval import SHIPPED, center_crop, evaluate, load


def measure(argv=None) -> dict:
    """Mean Y-PSNR / SSIM / sharpness and seconds per megapixel of bicubic and every shipped SR model."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.benchmark sr")
    parser.add_argument("--crop", type=int, help="central crop of each validation photo (quick runs)")
    parser.add_argument("--device", help="default: the best available, or $COURSE_DEVICE")
    args = parser.parse_args(argv or [])
    device = get_device(args.device)
    images = center_crop(data.photos("val"), args.crop)
    entries, missing = [], []
    for name in SHIPPED:
        try:
            entries.append((name, load(name, device)))
        except checkpoint.CheckpointError:
            missing.append(name)
    entries = [(name, model, getattr(model, "scale", int(name.rsplit("_x", 1)[1]))) for name, model in entries]
    scales = sorted({scale for _, _, scale in entries} | {3, 4})
    rows = {}
    for name, model, scale in [(f"bicubic_x{s}", "bicubic", s) for s in scales] + entries:
        evaluate(model, center_crop(images, 64), scale)  # warm-up
        mean = evaluate(model, images, scale)[-1]
        rows[name] = {"scale": scale, "psnr": mean["psnr"], "ssim": mean["ssim"], "sharpness": mean["sharpness"],
                      "hf_energy": mean["hf_energy"],
                      "seconds_per_megapixel": mean["seconds"] * len(images) / mean["megapixels"]}
    return {"checkpoints": [name for name, _, _ in entries], "missing": missing, "images": list(images),
            "crop": args.crop, "device": str(device), "models": rows}


def show(r: dict) -> None:
    print(f"validation photos: {', '.join(r['images'])}" + (f" (central {r['crop']}px crops)" if r["crop"] else ""))
    print(f"{'model':<14} {'scale':>5} {'Y-PSNR':>8} {'vs bicubic':>10} {'SSIM':>7} {'sharp':>6} {'HF':>5} {'s/MP':>8}"
          f"   (sharpness |grad Y|, HF energy: SR / HR; time per output megapixel, {r['device']})")
    for name, m in r["models"].items():
        bicubic = r["models"][f"bicubic_x{m['scale']}"]["psnr"]
        gain = "-" if name.startswith("bicubic") else f"{m['psnr'] - bicubic:+.2f} dB"
        print(f"{name:<14} {'x' + str(m['scale']):>5} {m['psnr']:>8.2f} {gain:>10} {m['ssim']:>7.4f} "
              f"{m['sharpness']:>6.2f} {m['hf_energy']:>5.2f} {m['seconds_per_megapixel']:>8.3f}")
    print("targets (validation photos): SRCNN and ESPCN x3 >= +1.0 dB, SRResNet x4 >= +1.2 dB over bicubic; "
          "SRGAN below SRResNet (the perception-distortion trade-off, lesson 08)")
    for name in r["missing"]:
        print(f"{name:<14} missing: train it with `python -m course_lib.train {name.split('_')[0]}`")


def main(argv=None) -> int:
    show(measure(argv))
    return 0
