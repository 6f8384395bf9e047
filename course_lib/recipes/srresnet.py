"""SRResNet x4 (lesson 08) -> checkpoints/srresnet_x4.pt.

MSE pre-training of the SRResNet generator (Ledig et al. 2017, Eq. 4; course_lib.srgan) with Adam and a one-cycle
learning rate instead of the paper's fixed 1e-4 (a short run), on RGB patches (course_lib.recipes.sr).
`--preset paper` trains the published size (GPUs); `--batch-norm` / `--no-bicubic-skip` undo the CPU preset's
two changes (the ablations of lesson 08).
"""
import time

import torch

from .. import distributed
from ..device import prepare
from ..srgan import PRESETS, SRResNet, mse_step
from . import common, sr

FULL = dict(steps=1200, batch_size=16, patch=96, lr=1e-3, epochs=3)
FAST = dict(steps=4, batch_size=4, patch=48, lr=1e-3, epochs=1)
HELP = dict(batch_size="global batch (split over processes)", patch="HR patch size (LR patch = patch / 4)",
            lr="Adam learning rate", epochs="the steps are split into this many epochs (a validation and an "
            "interim checkpoint after each)")


def preset_option(parser):
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="model size (default cpu; paper on GPUs)")


def options(parser):
    preset_option(parser)
    parser.add_argument("--batch-norm", action="store_true", help="with batch norm, as in the paper")
    parser.add_argument("--no-bicubic-skip", action="store_true", help="without the bicubic skip, as in the paper")


def recipe_info(args, device, **more) -> dict:
    """What the checkpoint records about its training."""
    return {**args.settings, "preset": args.preset, "seed": args.seed, "threads": args.threads,
            "processes": distributed.world_size(), "device": str(device), **more}


def main(argv: list[str]) -> int:
    args = common.parse(argv, "srresnet", __doc__, FULL, FAST, checkpoint="srresnet_x4", help=HELP, extra=options)
    device = common.start(args)  # the same initial weights in every process
    config = {"scale": 4, **PRESETS[args.preset]["generator"]}
    if args.batch_norm:
        config["batch_norm"] = True
    if args.no_bicubic_skip:
        config["bicubic_skip"] = False
    G = distributed.wrap(prepare(SRResNet(**config), device, channels_last=False), device)
    loader = sr.patches(distributed.unwrap(G), args.settings, args.seed)
    optimizer = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.9, 0.999))
    step = mse_step(G, optimizer, sr.one_cycle(optimizer, args.settings))
    if distributed.is_main():
        print(f"srresnet ({args.preset} preset {config}), pixel MSE; {args.steps} steps of {args.batch_size} x "
              f"{args.patch}px HR patches on {device} x {distributed.world_size()}")
    start = time.perf_counter()
    sr.fit(step, loader, G, args.settings, device, val=common.validation_photos(args.fast), out=args.out,
           model_config=config, recipe=recipe_info(args, device, content_loss="pixel MSE"), seed=args.seed,
           desc="srresnet")
    if distributed.is_main():
        print(f"saved {args.out} after {time.perf_counter() - start:.0f} s")
    return common.finish()
