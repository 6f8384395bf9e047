"""Training super-resolution models: what the SR recipes (srcnn, espcn, srresnet, srgan) share.

Random HR/LR patch pairs of the bundled training photos and their downscaled copies (`sr_data`), Adam with a
one-cycle learning rate (5 % warm-up, cosine decay), and after each epoch a validation with the lesson 06
protocol (`sr_eval.validate` on `common.validation_photos`) and an interim checkpoint.

    config: steps, batch_size, patch (HR pixels), lr, epochs (the steps are split into this many epochs)

`train` is the whole MSE training of SRCNN / ESPCN (lesson 07 calls it too); SRResNet and SRGAN bring their
own step functions (course_lib.srgan) and use `patches`, `one_cycle` and `fit`.
"""
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import data, distributed, loop, sr_data, sr_eval
from ..checkpoint import save_checkpoint
from ..device import prepare
from . import common


def epochs_and_steps(config: dict) -> tuple[int, int]:
    """(epochs, steps per epoch) covering at least config["steps"] steps in config["epochs"] epochs."""
    per_epoch = max(1, config["steps"] // config["epochs"])
    return math.ceil(config["steps"] / per_epoch), per_epoch


def patches(model, config: dict, seed: int = 0, images: dict | None = None):
    """The loader of one epoch of (input, HR) patch pairs for `model` (Y only if model.channels == 1, bicubic
    input if model.upsample_first), from `images` (default: the training photos and their downscaled copies)."""
    images = sr_data.with_rescaled(data.photos("train")) if images is None else images
    return sr_data.patch_loader(images, scale=model.scale, patch=config["patch"], batch_size=config["batch_size"],
                                steps=epochs_and_steps(config)[1], seed=seed,
                                y_only=getattr(model, "channels", 3) == 1,
                                upsampled=getattr(model, "upsample_first", False))


def one_cycle(optimizer, config: dict):
    """A short run's schedule: warm up for 5 % of the steps, then cosine decay to ~0."""
    epochs, per_epoch = epochs_and_steps(config)
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config["lr"], total_steps=epochs * per_epoch,
                                               pct_start=0.05)


def fit(step, loader, model, config: dict, device, *, val: dict | None = None, out: Path | None = None,
        model_config: dict | None = None, recipe: dict | None = None, seed: int = 0, desc: str = "sr"):
    """Run `step` over `loader` for the config's epochs; after each: fresh patches, `sr_eval.validate` on `val`
    (if given) and a checkpoint of `model` at `out` (if given) with the history and the recipe. Returns History."""
    epochs, per_epoch = epochs_and_steps(config)
    start = time.perf_counter()

    def end_of_epoch(epoch, history):
        loader.dataset.set_epoch(epoch + 1), loader.sampler.set_epoch(epoch + 1)  # fresh patches, new order
        if not distributed.is_main():
            return
        if val is not None:
            history.log(**sr_eval.validate(distributed.unwrap(model), val, distributed.unwrap(model).scale))
        if out is not None:
            save_checkpoint(out, model, model_config, {
                **history.last(), "steps": (epoch + 1) * per_epoch, "recipe": dict(recipe or config),
                "train_seconds": round(time.perf_counter() - start, 1), "device": str(device), "seed": seed,
                "val_images": sorted(val or {})})

    return loop.fit(step, loader, epochs, device, max_steps=per_epoch, on_epoch_end=end_of_epoch, desc=desc)


def train(model, config: dict, device, *, images: dict | None = None, seed: int = 0, **fit_options):
    """Train an SRCNN or ESPCN with Adam and MSE on patches; the `psnr` column is -10 log10(patch MSE) (no border
    crop, before 8 bits). fit_options: val, out, model_config, recipe (see `fit`). Returns (model, history)."""
    loader = patches(model, config, seed, images)
    model = distributed.wrap(prepare(model, device, channels_last=False), device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    schedule = one_cycle(optimizer, config)
    step = loop.supervised_step(model, optimizer, F.mse_loss, device)

    def train_step(batch):
        metrics = step(batch)
        schedule.step()
        metrics["psnr"] = -10 * torch.log10(metrics["loss"])
        return metrics

    history = fit(train_step, loader, model, config, device, seed=seed,
                  desc=type(distributed.unwrap(model)).__name__, **fit_options)
    return distributed.unwrap(model), history


def run(model, model_config: dict, args, device) -> None:
    """The SRCNN / ESPCN recipes after parsing: train `model` with args.settings, validate on the validation
    photos, save to args.out, print the last validation against bicubic."""
    if distributed.is_main():
        print(f"{type(model).__name__} {model_config}: {args.steps} steps of {args.batch_size} x {args.patch}px Y "
              f"patches on {device} x {distributed.world_size()}")
    start = time.perf_counter()
    _, history = train(model, args.settings, device, seed=args.seed, out=args.out, model_config=model_config,
                       val=common.validation_photos(args.fast))
    if distributed.is_main():
        h = history.last()
        print(f"val Y-PSNR {h['val_psnr']:.2f} dB (bicubic {h['bicubic_psnr']:.2f}), SSIM {h['val_ssim']:.4f} "
              f"(bicubic {h['bicubic_ssim']:.4f}), sharpness {h['val_sharpness']:.2f}; "
              f"{time.perf_counter() - start:.0f} s; saved {args.out}")
