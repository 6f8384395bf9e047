"""Denoising diffusion on MNIST (lesson 10): small U-Net, eps objective, EMA -> checkpoints/ddpm_mnist[_cfg].pt.

Unconditional: `python -m course_lib.train ddpm`. Class-conditional with classifier-free guidance (labels dropped
to the null label with probability p_uncond, Ho & Salimans 2022): `python -m course_lib.train ddpm --conditional`;
one such model is also an unconditional one (sampled with the null label). `--init` starts from a checkpoint's
weights (a conditional model from an unconditional one: the class embedding is new and starts at zero). Training draws random batches of the 60k training digits (scaled to [-1, 1]), Adam with a linear
warm-up, and keeps an exponential moving average (EMA) of the weights, the model that is saved and sampled.
`--max-minutes` stops early (the metadata records the steps done). At the end the EMA model is measured with the
lesson-02 classifier on `eval_samples` DDIM-50 samples (IS, FD vs test features, coverage, in-between share).

The shipped checkpoints/ddpm_mnist_cfg.pt (the one model lesson 10 uses, conditionally and with the null label):
`python -m course_lib.train ddpm --conditional --threads 1` (1952 steps of 32 digits; 68 minutes on one thread of
a 2-core CPU shared with three other training jobs; measured by `python -m course_lib.benchmark generators`).
"""
import copy
import time

import torch

from .. import data
from ..checkpoint import load_model, load_weights, save_checkpoint
from ..diffusion import alpha_bar, diffusion_loss, make_schedule, sample_ddim
from ..diffusion_unet import UNet
from . import common

FULL = dict(steps=1952, batch_size=32, channels=32, lr=1e-3, warmup=100, ema=0.998, schedule="linear", T=1000,
            conditional=False, p_uncond=0.3, init="", max_minutes=0.0, save_minutes=5.0, eval_samples=0)
FAST = dict(steps=3, batch_size=16, channels=8, lr=1e-3, warmup=2, ema=0.9, schedule="linear", T=1000,
            conditional=False, p_uncond=0.3, init="", max_minutes=0.0, save_minutes=5.0, eval_samples=16)
HELP = {"init": "start from this checkpoint's weights",
        "max_minutes": "stop after this many minutes of training (0: run all steps)",
        "save_minutes": "write an interim checkpoint this often", "eval_samples": "DDIM-50 samples measured at the end",
        "p_uncond": "with --conditional: probability of replacing a label by the null label"}
IN_BETWEEN = 0.9  # a sample whose most likely class has probability below this is an "in-between" shape


def measure(model, betas, n: int, steps: int = 50, w: float = 0.0, seed: int = 0) -> dict:
    """IS, FD (vs MNIST test features), per-digit coverage and in-between share of n DDIM samples (same classifier
    as lesson 05). Conditional models get n/10 samples of each digit, guided with weight w."""
    from ..gan_metrics import class_coverage, classify, frechet_distance, inception_score
    clf, _ = load_model("mnist_cnn")
    test_feats, _ = classify(clf, data.mnist_tensors(train=False, n=10_000)[0])
    g, chunks = torch.Generator().manual_seed(seed), []
    for i in range(0, n, 500):
        y = torch.arange(i, min(i + 500, n)) % 10 if model.num_classes else None
        chunks.append(sample_ddim(model, len(y) if y is not None else min(500, n - i), betas, steps, y=y, w=w,
                                  generator=g))
    feats, probs = classify(clf, (torch.cat(chunks) + 1) / 2)
    cov = class_coverage(probs)
    return {"IS": inception_score(probs), "FD": frechet_distance(feats, test_feats), "min_class": float(cov.min()),
            "max_class": float(cov.max()), "in_between": float((probs.max(1).values < IN_BETWEEN).float().mean()),
            "samples": n, "sampler": f"DDIM {steps}" + (f", w={w}" if model.num_classes else "")}


def main(argv: list[str]) -> int:
    conditional = "--conditional" in argv
    name = "ddpm_mnist_cfg" if conditional else "ddpm_mnist"
    args = common.parse(argv, "ddpm", __doc__, FULL, FAST, checkpoint=name, help=HELP)
    device = common.start(args)
    config = {"channels": args.channels, "num_classes": 10 if args.conditional else None}
    model = UNet(**config).to(device)
    init = args.init
    if init:  # the unconditional weights; a conditional model's class embedding is new (and starts at zero)
        base, _ = load_model(init)
        missing = model.load_state_dict(base.state_dict(), strict=False).missing_keys
        if args.conditional and model.class_emb is not None and "class_emb.weight" in missing:
            torch.nn.init.zeros_(model.class_emb.weight)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    betas = make_schedule(args.schedule, args.T)
    alpha_bars = alpha_bar(betas).float().to(device)
    images, labels = data.mnist_tensors(train=True, n=512 if args.fast else None)
    images = (images * 2 - 1).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(args.warmup, 1)))
    g = torch.Generator().manual_seed(args.seed)
    start = last_save = time.perf_counter()
    meta = {"recipe": args.settings, "schedule": args.schedule, "T": args.T, "init": init,
            "threads": torch.get_num_threads(), "device": str(device)}
    losses, step = [], 0
    for step in range(1, args.steps + 1):
        idx = torch.randint(0, len(images), (args.batch_size,), generator=g)
        y = None
        if args.conditional:
            y = labels[idx].clone()
            y[torch.rand(len(y), generator=g) < args.p_uncond] = 10  # the null label
            y = y.to(device)
        loss = diffusion_loss(model, images[idx.to(device)], alpha_bars, y=y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        decay = min(args.ema, (1 + step) / (10 + step))  # EMA warm-up: early weights are forgotten quickly
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), model.parameters()):
                pe.lerp_(p, 1 - decay)
        losses.append(loss.item())
        elapsed = time.perf_counter() - start
        if step % 50 == 0 or step == args.steps:
            print(f"step {step} loss {sum(losses[-50:]) / len(losses[-50:]):.4f} time {elapsed:.0f}s", flush=True)
        stop = args.max_minutes and elapsed > 60 * args.max_minutes
        if time.perf_counter() - last_save > 60 * args.save_minutes and not stop:
            save_checkpoint(args.out, ema, config, {**meta, "steps": step, "train_seconds": round(elapsed, 1),
                                                    "loss": sum(losses[-200:]) / len(losses[-200:]), "interim": True})
            last_save = time.perf_counter()
        if stop:
            break
    train_seconds = round(time.perf_counter() - start, 1)
    metrics = {**meta, "steps": step, "train_seconds": train_seconds, "loss": sum(losses[-200:]) / len(losses[-200:])}
    save_checkpoint(args.out, ema, config, metrics)
    print(f"trained {step} steps in {train_seconds:.0f} s; measuring {args.eval_samples} DDIM-50 samples", flush=True)
    if args.eval_samples:
        metrics["eval"] = measure(ema, betas, args.eval_samples, w=1.0 if args.conditional else 0.0)
        save_checkpoint(args.out, ema, config, metrics)
    print(f"saved {args.out}: {metrics.get('eval')}", flush=True)
    return common.finish()
