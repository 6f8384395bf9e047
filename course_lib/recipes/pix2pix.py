"""Pix2Pix labels -> photo (lesson 09): --variant l1|cgan|l1cgan|l1cgan-noskip|fcn -> checkpoints/pix2pix_<variant>.pt.

The paper's ablation (Isola et al. 2017, Table 1-2) on course_lib.paired_data: the same U-Net trained with L1 only,
cGAN only, L1 + lambda cGAN, and L1 + cGAN with the encoder-decoder without skips; `fcn` trains the segmentation
net behind the FCN-score (course_lib.fcn_score) on real (rendered) pairs. Every epoch validates on the first
`n_val` held-out pairs and writes an interim checkpoint; the last one carries the full held-out numbers (with the
FCN-score once checkpoints/pix2pix_fcn.pt exists, so train `fcn` first).

    python -m course_lib.train pix2pix --variant fcn
    python -m course_lib.train pix2pix --variant l1cgan --threads 1
    python -m course_lib.train pix2pix --rescore checkpoints/pix2pix_l1.pt   # re-measure (e.g. after training fcn)
"""
import argparse
import sys
import time

import torch

from .. import distributed, loop, paired_data
from ..checkpoint import load_model, resolve, save_checkpoint
from ..env import CHECKPOINT_DIR
from ..fcn_score import Segmenter, fcn_score
from ..fcn_score import train_step as segmenter_step
from ..patchgan import PatchGAN, receptive_field
from ..pix2pix import LAMBDA, evaluate, init_weights, optimizers, train_step
from ..unet import UNet
from . import common

VARIANTS = {  # variant: (L1 term, GAN term, U-Net skips)
    "l1": (True, False, True), "cgan": (False, True, True), "l1cgan": (True, True, True),
    "l1cgan-noskip": (True, True, False), "fcn": None}
FULL = dict(steps=1200, batch_size=8, lr=2e-4, epochs=4, width=16, depth=5, d_width=16, d_layers=2, lam=LAMBDA,
            n_val=64, size=64)
FAST = dict(steps=3, batch_size=4, lr=2e-4, epochs=1, width=8, depth=5, d_width=8, d_layers=2, lam=LAMBDA,
            n_val=8, size=64)
FCN_FULL = dict(FULL, steps=600, batch_size=8, lr=1e-3, epochs=2)
HELP = dict(width="U-Net channels of the first layer", depth="U-Net levels (64 px / 2^5 = 2x2 bottleneck)",
            d_width="PatchGAN channels of the first layer", d_layers="PatchGAN stride-2 layers (2: 34x34 patches)",
            lam="lambda of Eq. 4", n_val="held-out pairs validated after each epoch", size="image size")


def _extra(parser):
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="l1cgan", help="what to train (default l1cgan)")
    parser.add_argument("--rescore", metavar="CHECKPOINT", help="only re-measure a generator checkpoint's held-out "
                        "numbers (with the FCN-score) and store them in its metadata")
    parser.add_argument("--note", help="with --rescore: a note stored in the metadata")


def scorer():
    """The shipped FCN-score segmenter, or None if it has not been trained yet."""
    path = CHECKPOINT_DIR / "pix2pix_fcn.pt"
    return load_model(path)[0] if path.exists() else None


def rescore(path, note: str | None = None) -> dict:
    """Measure a generator checkpoint on the whole held-out split (with the FCN-score) and write the numbers into
    its metadata (val_*), e.g. when the segmenter was trained after the generator."""
    path = resolve(path)
    G, meta = load_model(path)
    coded, photos, labels = paired_data.heldout()
    segmenter = scorer()
    if segmenter is None:
        raise FileNotFoundError("checkpoints/pix2pix_fcn.pt is missing: "
                                "python -m course_lib.train pix2pix --variant fcn")
    final = {f"val_{k}": v for k, v in evaluate(G, coded, photos, labels, segmenter).items()}
    metrics = {**meta["metrics"], **final, "heldout": len(coded), **({"note": note} if note else {})}
    save_checkpoint(path, G, meta["config"], metrics)
    print(f"{path}: held-out ({len(coded)} pairs): " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
    return metrics


def main(argv: list[str]) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--rescore", default=None)
    pre.add_argument("--note", default=None)
    known = pre.parse_known_args(argv)[0]
    if known.rescore:
        rescore(known.rescore, known.note)
        return 0
    pre.add_argument("--variant", choices=sorted(VARIANTS), default="l1cgan")
    variant = pre.parse_known_args(argv)[0].variant
    full = FCN_FULL if variant == "fcn" else FULL
    args = common.parse(argv, "pix2pix", __doc__, full, FAST, checkpoint=f"pix2pix_{variant}", help=HELP,
                        extra=_extra)
    device = common.start(args, data_parallel=False)
    steps_per_epoch = max(1, args.steps // args.epochs)
    data = paired_data.loader(args.batch_size, steps_per_epoch, args.size, seed=args.seed)
    coded, photos, labels = paired_data.heldout(size=args.size)
    if args.fast:
        coded, photos, labels = coded[:args.n_val], photos[:args.n_val], labels[:args.n_val]
    start = time.perf_counter()
    if variant == "fcn":
        model, config = Segmenter(classes=len(paired_data.CLASSES)), {"classes": len(paired_data.CLASSES)}
        model = model.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        step = segmenter_step(model, opt)

        def validate(n):
            return {f"real_{k}": v for k, v in fcn_score(model, photos[:n].to(device), labels[:n]).items()}
    else:
        use_l1, use_gan, skips = VARIANTS[variant]
        config = dict(width=args.width, depth=args.depth, skips=skips)
        model = init_weights(UNet(**config)).to(device)
        D = init_weights(PatchGAN(width=args.d_width, n_layers=args.d_layers)).to(device)
        opt_g, opt_d = optimizers(model, D, args.lr)

        def step(batch):
            x, y, _ = batch
            return train_step(model, D, opt_g, opt_d, x, y, args.lam, l1=use_l1, gan=use_gan)

        def validate(n, segmenter=None):
            return {f"val_{k}": v for k, v in evaluate(model, coded[:n], photos[:n], labels[:n], segmenter).items()}
        print(f"pix2pix {variant}: U-Net {config} ({sum(p.numel() for p in model.parameters()):,} parameters), "
              f"PatchGAN {args.d_width} x {args.d_layers} layers (receptive field {receptive_field(D)} px)"
              if use_gan else f"pix2pix {variant}: U-Net {config}, no discriminator")
    meta = {"variant": variant, "recipe": dict(args.settings), "seed": args.seed, "device": str(device),
            "data": "course_lib.paired_data train split; validated on the held-out split"}

    def end_of_epoch(epoch, history):
        data.dataset.epoch = epoch + 1
        history.log(**validate(args.n_val))
        save_checkpoint(args.out, model, config, {**meta, **history.last(), "steps": (epoch + 1) * steps_per_epoch,
                                                  "train_seconds": round(time.perf_counter() - start, 1)})
        sys.stdout.flush()

    history = loop.fit(step, data, args.epochs, device, on_epoch_end=end_of_epoch, desc=f"pix2pix {variant}")
    seconds = round(time.perf_counter() - start, 1)
    final = validate(len(coded)) if variant == "fcn" else validate(len(coded), scorer())
    save_checkpoint(args.out, model.cpu(), config, {**meta, **history.last(), **final, "heldout": len(coded),
                                                    "steps": args.epochs * steps_per_epoch, "train_seconds": seconds})
    if distributed.is_main():
        print(f"held-out ({len(coded)} pairs): " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
        print(f"saved {args.out} after {seconds:.0f} s")
    return common.finish()
