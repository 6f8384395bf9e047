"""Denoising diffusion on MNIST (lesson 10): U-Net, eps objective, EMA -> checkpoints/ddpm_mnist[_cfg].pt.

Unconditional: `python -m course_lib.train ddpm`. Class-conditional with classifier-free guidance (labels dropped
to the null label with probability p_uncond; Ho & Salimans 2022 found 0.1-0.2 better than 0.5, Sec. 4.2):
`python -m course_lib.train ddpm --conditional`; `--init ddpm_mnist` starts from the unconditional weights (the
class embedding is new and starts at zero, so the model starts as the unconditional one for every label).

The recipe, and why (each choice from a source, none tuned here):
- the eps objective L_simple (DDPM Eq. 14) on the cosine schedule (Nichol & Dhariwal 2021, Sec. 3.2: the linear
  schedule's end is too noisy to contribute much at 64 and 32 px), T = 1000;
- batch 128, AdamW at lr 1e-3 with a linear warm-up and a cosine decay to 0 over the run (the regime of every
  small MNIST reference in shared research: 3-25 epochs at batch 128-512, lr ~1e-3), gradient clipping at 1;
- an exponential moving average (EMA) of the weights, decay 0.999 with a warm-up, is the model saved and sampled
  (DDPM Appendix B uses 0.9999 over 800k steps; a short run needs a shorter average);
- a time budget: `--minutes M` ends the run after M minutes of training, and the learning rate decays with the
  elapsed share of M, so a run on a slow or a fast machine ends equally annealed (`--minutes 0`: `--steps`);
- `--cpu-bf16` (on by default) runs the forward pass in bfloat16 autocast on a CPU too (course_lib.device.autocast;
  on CUDA the course uses mixed precision anyway; weights, optimizer and loss stay float32). Where the CPU
  multiplies bfloat16 in hardware (Intel AMX, as the course's 2-core machine does) the U-Net's step takes about
  half the time and the whole loop, with its data and EMA work, gains less (a checkpoint's metadata has its steps
  and minutes); where it is emulated it is slower, and `--no-cpu-bf16` runs in float32.

Every `save_minutes` the EMA model is saved (usable at once) and the full state goes to `<out>.resume.pt`;
`--resume` continues a killed run from it. The metadata records steps, batch, threads, device, wall time and
the load average before and after; a run that starts from --init also records that run's ("init_metrics").

The shipped models: `ddpm_mnist` was trained on one NVIDIA H200 by tools/gpu_diffusion.sh (`--channels 64
--batch-size 256`, in two runs of a few minutes; its metadata has the settings and times); `ddpm_mnist_cpu` is this
recipe's default on the course's 2-core CPU (`python -m course_lib.train ddpm --threads 2 --out
course_lib/checkpoints/ddpm_mnist_cpu.pt`: 14,184 steps in its 70 minutes, where an earlier run in float32 took
7,495; git history has that one and its generators rows), and `ddpm_mnist_cfg` the same with labels, from scratch
(`python -m course_lib.train ddpm --conditional --threads 2`: 12,674 steps in 70 minutes). An earlier
`ddpm_mnist_cfg`, 1.25 GPU minutes with labels continued from `ddpm_mnist`, is in git history with its rows.
"""
import copy
import math
import os
import time

import torch

from .. import data
from ..checkpoint import load_model, save_checkpoint
from ..device import autocast, device_name, prepare
from ..diffusion import alpha_bar, diffusion_loss, make_schedule
from ..diffusion_unet import UNet
from . import common

FULL = dict(steps=100_000, minutes=70.0, batch_size=128, channels=32, lr=1e-3, warmup=200, ema=0.999, clip=1.0,
            schedule="cosine", T=1000, conditional=False, p_uncond=0.2, init="", resume=False, save_minutes=5.0,
            cpu_bf16=True)
FAST = dict(steps=3, minutes=0.0, batch_size=16, channels=8, lr=1e-3, warmup=2, ema=0.9, clip=1.0,
            schedule="cosine", T=1000, conditional=False, p_uncond=0.2, init="", resume=False, save_minutes=5.0,
            cpu_bf16=True)
HELP = {"init": "start from this checkpoint's weights", "resume": "continue from <out>.resume.pt",
        "minutes": "training time budget; the learning rate decays over it (0: run --steps)",
        "steps": "the most optimizer steps (the budget when --minutes 0)", "save_minutes": "interim save period",
        "p_uncond": "with --conditional: probability of replacing a label by the null label",
        "cpu_bf16": "on a CPU, run the forward pass in bfloat16 autocast (twice the throughput where the CPU has "
                    "bf16 units, Intel AMX / AVX512-BF16; slower where it emulates them)"}


def lr_factor(step: int, progress: float, warmup: int) -> float:
    """Linear warm-up over `warmup` steps, then a cosine decay from 1 to 0 as progress goes 0 -> 1."""
    return min(1.0, step / max(warmup, 1)) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def build(args, device):
    """The model (from --init if given), its EMA copy, and the optimizer."""
    config = {"channels": args.channels, "num_classes": 10 if args.conditional else None}
    model = UNet(**config)
    if args.init:  # a conditional model's class embedding is new: zero, so every label starts as the null one
        base, base_meta = load_model(args.init)
        args.init_metrics = {k: base_meta["metrics"].get(k) for k in ("steps", "train_seconds", "device_name", "recipe",
                                                                       "threads", "load_before", "load_after", "init",
                                                                       "init_metrics")}
        missing = model.load_state_dict(base.state_dict(), strict=False).missing_keys
        if model.class_emb is not None and "class_emb.weight" in missing:
            torch.nn.init.zeros_(model.class_emb.weight)
    model = prepare(model, device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    return config, model, ema, opt


def main(argv: list[str]) -> int:
    conditional = "--conditional" in argv
    args = common.parse(argv, "ddpm", __doc__, FULL, FAST, checkpoint="ddpm_mnist_cfg" if conditional else "ddpm_mnist",
                        help=HELP)
    device = common.start(args, data_parallel=False)
    alpha_bars = alpha_bar(make_schedule(args.schedule, args.T)).float().to(device)

    def loss_fn(model, x0, y):
        return diffusion_loss(model, x0, alpha_bars, y=y)

    run(args, device, loss_fn, {"schedule": args.schedule, "T": args.T})
    return common.finish()


def run(args, device, loss_fn, meta: dict) -> dict:
    """The training loop every denoiser recipe shares (this one and recipes/flow.py): `loss_fn(model, x0, y)` on
    MNIST in [-1, 1] with AdamW, warm-up and cosine decay over the time budget, clipping, EMA, interim saves and
    --resume. Saves the EMA model to args.out with `meta` and the run's record; returns the record."""
    config, model, ema, opt = build(args, device)
    images, labels = data.mnist_tensors(train=True, n=512 if args.fast else None)
    images, labels = (images * 2 - 1).to(device), labels.to(device)
    resume_path = args.out.with_suffix(".resume.pt")
    step, done_s, g = 0, 0.0, torch.Generator().manual_seed(args.seed)
    if args.resume:
        state = torch.load(resume_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"]), ema.load_state_dict(state["ema"]), opt.load_state_dict(state["opt"])
        step, done_s = state["step"], state["seconds"]
        g.set_state(state["generator"])
    meta = {**meta, "recipe": args.settings, "init": args.init,
            "init_metrics": getattr(args, "init_metrics", None),
            "threads": torch.get_num_threads(), "device": str(device), "load_before": os.getloadavg(),
            "device_name": device_name(device)}
    budget_s, losses = 60 * args.minutes, []

    def record(elapsed: float, interim: bool) -> dict:
        return {**meta, "steps": step, "images_seen": step * args.batch_size, "train_seconds": round(elapsed, 1),
                "epochs": round(step * args.batch_size / len(images), 2), "load_after": os.getloadavg(),
                "loss": sum(losses[-200:]) / max(len(losses[-200:]), 1), "interim": interim}

    start = last_save = time.perf_counter() - done_s
    while step < args.steps:
        elapsed = time.perf_counter() - start
        progress = elapsed / budget_s if budget_s else step / args.steps
        if progress >= 1:
            break
        step += 1
        for group in opt.param_groups:
            group["lr"] = args.lr * lr_factor(step, progress, args.warmup)
        idx = torch.randint(0, len(images), (args.batch_size,), generator=g).to(device)
        y = None
        if args.conditional:
            y = labels[idx].clone()
            y[torch.rand(len(y), generator=g).to(device) < args.p_uncond] = 10  # the null label
        with autocast(device, args.cpu_bf16):
            loss = loss_fn(model, images[idx], y)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))  # EMA warm-up: early weights are forgotten quickly
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
        losses.append(loss.detach())
        if step % 100 == 0:
            losses = [float(v) for v in losses]  # one device sync per 100 steps
            print(f"step {step} loss {sum(losses[-100:]) / 100:.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"time {elapsed:.0f}s load {os.getloadavg()[0]:.2f}", flush=True)
        if time.perf_counter() - last_save > 60 * args.save_minutes:
            losses = [float(v) for v in losses]
            save_checkpoint(args.out, ema, config, record(time.perf_counter() - start, True))
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                        "seconds": time.perf_counter() - start, "generator": g.get_state()}, resume_path)
            last_save = time.perf_counter()
    losses = [float(v) for v in losses]
    metrics = record(time.perf_counter() - start, False)
    save_checkpoint(args.out, ema, config, metrics)
    resume_path.unlink(missing_ok=True)
    print(f"saved {args.out}: {step} steps ({metrics['epochs']} epochs) in {metrics['train_seconds']:.0f} s, "
          f"loss {metrics['loss']:.4f}", flush=True)
    return metrics
