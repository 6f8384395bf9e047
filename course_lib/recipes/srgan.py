"""SRGAN x4 (lesson 08) -> checkpoints/srgan_x4.pt.

Adversarial fine-tuning of the pre-trained SRResNet (`--init`, default checkpoints/srresnet_x4.pt) with the
perceptual loss of Ledig et al. 2017 (Eq. 3; course_lib.srgan.srgan_step): content loss on VGG54 features if
their weights are on this machine, else on the discriminator's features (course_lib.perceptual), + 1e-3 x the
adversarial loss.
"""
import time

import torch
from torch import nn

from .. import distributed
from ..checkpoint import load_model
from ..device import prepare
from ..env import CHECKPOINT_DIR
from ..perceptual import content_extractor
from ..srgan import ADV_WEIGHT, PRESETS, Discriminator, SRResNet, srgan_step
from . import common, sr
from .srresnet import HELP, preset_option, recipe_info

FULL = dict(steps=600, batch_size=16, patch=96, lr=1e-4, epochs=3)
FAST = dict(steps=3, batch_size=4, patch=48, lr=1e-4, epochs=1)


def options(parser):
    preset_option(parser)
    parser.add_argument("--init", default=str(CHECKPOINT_DIR / "srresnet_x4.pt"), help="pre-trained SRResNet")
    parser.add_argument("--content", choices=["auto", "vgg", "disc", "pixel"], default="auto",
                        help="content loss: VGG54 if its weights are here, else discriminator features (auto)")
    parser.add_argument("--adv-weight", type=float, default=ADV_WEIGHT)
    parser.add_argument("--download", action="store_true", help="allow downloading the VGG19 weights")


def pretrained(path, preset: str) -> tuple[SRResNet, dict]:
    """The SRResNet at `path` and its config, which must be the `preset`'s."""
    config = {"scale": 4, **PRESETS[preset]["generator"]}
    init, meta = load_model(path)
    if type(init) is not SRResNet or {k: meta["config"].get(k) for k in config} != config:
        raise ValueError(f"{path} holds {meta['config']}, not the {preset} preset {config}; "
                         f"train it with `python -m course_lib.train srresnet --preset {preset}` first")
    G = SRResNet(**config)
    G.load_state_dict(init.state_dict())
    return G, config


def main(argv: list[str]) -> int:
    args = common.parse(argv, "srgan", __doc__, FULL, FAST, checkpoint="srgan_x4", help=HELP, extra=options)
    device = common.start(args)  # the same initial weights in every process
    G, config = pretrained(args.init, args.preset)
    G = distributed.wrap(prepare(G, device, channels_last=False), device)
    D = distributed.wrap(prepare(Discriminator(**PRESETS[args.preset]["discriminator"]), device,
                                 channels_last=False), device)
    loader = sr.patches(distributed.unwrap(G), args.settings, args.seed)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.9, 0.999))
    phi, what = content_extractor(args.content, D, download=args.download or None)
    phi = phi.to(device) if isinstance(phi, nn.Module) else phi
    step = srgan_step(G, D, opt_g, opt_d, phi, args.adv_weight)
    if distributed.is_main():
        print(f"srgan ({args.preset} preset {config}), content loss: {what}; {args.steps} steps of "
              f"{args.batch_size} x {args.patch}px HR patches on {device} x {distributed.world_size()}")
    start = time.perf_counter()
    sr.fit(step, loader, G, args.settings, device, val=common.validation_photos(args.fast), out=args.out,
           model_config=config, seed=args.seed, desc="srgan",
           recipe=recipe_info(args, device, content_loss=what, content=args.content, adv_weight=args.adv_weight))
    if distributed.is_main():
        print(f"saved {args.out} after {time.perf_counter() - start:.0f} s")
    return common.finish()
