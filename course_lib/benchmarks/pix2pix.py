"""Pix2Pix ablation (lesson 09): FCN-score, PSNR/SSIM, sharpness on the held-out split; training throughput.

The paper's Table 1-2 for labels -> photo, measured on course_lib.paired_data's held-out split with the shipped
checkpoints (checkpoints/pix2pix_<variant>.pt; variants that are not shipped are listed as missing, with the command
that trains them). The FCN-score uses the shipped segmenter (checkpoints/pix2pix_fcn.pt); its score on the real
photos is the ceiling. Throughput: images per second of `pix2pix.train_step` (what the recipe runs) against the
same update written as a plain PyTorch loop, as a ratio (1.00 = no overhead).
"""
import argparse
import time

import torch

from .. import env, paired_data, pix2pix
from ..checkpoint import CheckpointError, load_model
from ..fcn_score import fcn_score
from ..loop import progress
from ..patchgan import PatchGAN
from ..unet import UNet

VARIANTS = {"l1": "L1", "cgan": "cGAN", "l1cgan": "L1 + cGAN", "l1cgan-noskip": "L1 + cGAN, no skips"}
COLUMNS = ("pixel_acc", "class_acc", "iou", "psnr", "ssim", "sharpness")


def ablation(n: int | None = None) -> list[dict]:
    """One row per variant (and the real photos): the measured numbers, or {"missing": command}."""
    coded, photos, labels = paired_data.heldout()
    coded, photos, labels = coded[:n], photos[:n], labels[:n]
    segmenter = load_model("pix2pix_fcn")[0]
    rows = [{"variant": "real photos", **fcn_score(segmenter, photos, labels), "psnr": float("inf"), "ssim": 1.0,
             "sharpness": 1.0}]
    for variant, name in progress(VARIANTS.items(), "variants", total=len(VARIANTS)):
        try:
            G, meta = load_model(f"pix2pix_{variant}")
        except CheckpointError:
            rows.append({"variant": name, "missing": f"python -m course_lib.train pix2pix --variant {variant}"})
            continue
        rows.append({"variant": name, "steps": meta["metrics"].get("steps"),
                     **pix2pix.evaluate(G, coded, photos, labels, segmenter)})
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'variant':<22}{'steps':>6}" + "".join(f"{c:>11}" for c in COLUMNS)]
    for row in rows:
        if "missing" in row:
            lines.append(f"{row['variant']:<22} not shipped: {row['missing']}")
        else:
            values = "".join(f"{row[c]:>11.3f}" for c in COLUMNS)
            lines.append(f"{row['variant']:<22}{row.get('steps') or '-':>6}{values}")
    return "\n".join(lines)


def plain_step(G, D, opt_g, opt_d, x, y, lam):
    """The same update as pix2pix.train_step, written out as a plain PyTorch loop body (the baseline)."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    fake = G(x)
    real_logits, fake_logits = D(x, y), D(x, fake.detach())
    loss_d = 0.5 * (bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits)))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    logits = D(x, fake)
    loss_g = bce(logits, torch.ones_like(logits)) + lam * (fake - y).abs().mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()


def throughput(steps: int, batch_size: int = 8) -> dict:
    """Images per second of pix2pix.train_step and of plain_step on the recipe's models (one fixed batch)."""
    from ..recipes.pix2pix import FULL
    coded, photos, _ = paired_data.pairs(batch_size, seed=0)
    out = {}
    for name, fn in (("course_lib", pix2pix.train_step), ("plain", plain_step)):
        torch.manual_seed(0)
        G = UNet(width=FULL["width"], depth=FULL["depth"])
        D = PatchGAN(width=FULL["d_width"], n_layers=FULL["d_layers"])
        opt_g, opt_d = pix2pix.optimizers(G, D)
        fn(G, D, opt_g, opt_d, coded, photos, pix2pix.LAMBDA)  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            fn(G, D, opt_g, opt_d, coded, photos, pix2pix.LAMBDA)
        out[name] = steps * batch_size / (time.perf_counter() - start)
    return out


def measure(argv=None) -> dict:
    """The ablation rows on the held-out split and the training throughput (recorded by `--record`)."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.benchmark pix2pix")
    parser.add_argument("--n", type=int, default=env.pick(full=None, fast=32), help="held-out pairs (default all)")
    parser.add_argument("--steps", type=int, default=env.pick(full=20, fast=2), help="throughput steps")
    args = parser.parse_args(argv or [])
    rows = ablation(args.n)
    shipped = [f"pix2pix_{v}" for v, name in VARIANTS.items() if any(r["variant"] == name and "missing" not in r
                                                                     for r in rows)]
    return {"n": args.n or paired_data.HELDOUT_SIZE, "rows": rows, "speed": throughput(args.steps),
            "threads": torch.get_num_threads(), "checkpoints": ["pix2pix_fcn", *shipped]}


def show(r: dict) -> None:
    rows, speed = r["rows"], r["speed"]
    print(f"held-out split: {r['n']} pairs; FCN-score of course_lib.fcn_score")
    print(format_rows(rows))
    measured = {row["variant"]: row for row in rows if "missing" not in row}
    if "L1" in measured and "L1 + cGAN" in measured:
        l1, both = measured["L1"], measured["L1 + cGAN"]
        print(f"target L1 + cGAN beats L1: pixel accuracy {both['pixel_acc']:.3f} vs {l1['pixel_acc']:.3f} "
              f"({'met' if both['pixel_acc'] > l1['pixel_acc'] else 'missed'}), sharpness {both['sharpness']:.3f} "
              f"vs {l1['sharpness']:.3f} ({'met' if both['sharpness'] > l1['sharpness'] else 'missed'}); "
              f"PSNR {both['psnr']:.2f} vs {l1['psnr']:.2f} dB")
    print(f"training throughput (batch 8, 64x64, one thread of {r['threads']}): pix2pix.train_step "
          f"{speed['course_lib']:.1f} img/s, plain PyTorch loop {speed['plain']:.1f} img/s, "
          f"ratio {speed['course_lib'] / speed['plain']:.2f}")


def main(argv=None) -> int:
    show(measure(argv))
    return 0
