"""The first CNNs for super-resolution (lesson 07): SRCNN works in HR space, ESPCN in LR space.

SRCNN (Dong, Loy, He, Tang, "Image super-resolution using deep convolutional networks", ECCV 2014 / TPAMI 2016)
    input: the bicubic-upsampled LR image Y (H, W) -> three convolutions, all at HR resolution:
    F1 = ReLU(W1 * Y + B1)   f1 = 9, n1 = 64   patch extraction and representation
    F2 = ReLU(W2 * F1 + B2)  f2 = 1 or 5, n2 = 32   non-linear mapping ("9-1-5" and "9-5-5")
    F  = W3 * F2 + B3        f3 = 5             reconstruction
ESPCN (Shi et al., "Real-time single image and video SR using an efficient sub-pixel CNN", CVPR 2016)
    input: the LR image itself (H/r, W/r) -> 5x5 conv (64), tanh, 3x3 conv (32), tanh, 3x3 conv (C r^2),
    then the periodic shuffle PS: (C r^2, H/r, W/r) -> (C, H, W), out[c, r y + i, r x + j] = in[c r^2 + r i + j, y, x]
    (`nn.PixelShuffle(r)`): all convolutions run on r^2 times fewer pixels than SRCNN's.

The shipped checkpoints add one change each, measured in lesson 07 (our CPU budget is minutes, not the papers' days):
`residual=True` predicts only the missing detail, output = bicubic + network (VDSR's global residual learning,
Kim et al., CVPR 2016), and ESPCN uses ReLU instead of tanh (`activation="relu"`). The defaults are the papers'.

Both papers train and score on Y (BT.601 luma) only, and so do we (channels = 1; `sr_eval` super-resolves Y and
takes Cb, Cr from the bicubic image). Convolutions are zero-padded ("same"), so the output has the input's size
(the papers used unpadded convolutions and scored the centre). The course convention (`sr_eval`): `scale`,
`channels`, and `upsample_first` (True: the model takes the bicubic-upsampled image).

Shipped: checkpoints/srcnn_x3.pt and espcn_x3.pt, reproduced with `python -m course_lib.train srcnn|espcn`
(Adam instead of the papers' SGD, MSE on random 8-bit-degraded Y patches of the bundled photos and their
downscaled copies, `course_lib.sr_data`); measured with `python -m course_lib.benchmark sr`.
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import data, distributed, env, loop, sr_data, sr_eval
from .checkpoint import save_checkpoint
from .device import get_device, prepare, seed_everything


class SRCNN(nn.Module):
    """SRCNN f1-f2-f3 (default 9-5-5, n1 = 64, n2 = 32): bicubic-upsampled (B,C,H,W) -> (B,C,H,W).

    residual=True (VDSR, not in SRCNN): return x + F(x), the network learns HR - bicubic; it starts as bicubic.
    """

    upsample_first = True

    def __init__(self, scale: int = 3, channels: int = 1, f1: int = 9, f2: int = 5, f3: int = 5,
                 n1: int = 64, n2: int = 32, residual: bool = False):
        super().__init__()
        self.scale, self.channels, self.residual = scale, channels, residual
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2)  # patch extraction
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2)        # non-linear mapping
        self.conv3 = nn.Conv2d(n2, channels, f3, padding=f3 // 2)  # reconstruction
        if residual:  # start as the identity on the bicubic image
            nn.init.zeros_(self.conv3.weight), nn.init.zeros_(self.conv3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return x + out if self.residual else out


class ESPCN(nn.Module):
    """ESPCN (5-3-3, 64-32 channels, tanh): LR (B,C,h,w) -> (B,C,rh,rw) via a sub-pixel convolution.

    Not in the paper: activation="relu", and residual=True, which adds the bicubic upsampling of x (torch's
    `F.interpolate`) to the output, so the sub-pixel layer learns HR - bicubic; it starts as bicubic.
    """

    upsample_first = False

    def __init__(self, scale: int = 3, channels: int = 1, n1: int = 64, n2: int = 32,
                 activation: str = "tanh", residual: bool = False):
        super().__init__()
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' (paper) or 'relu', not {activation!r}")
        self.scale, self.channels, self.activation, self.residual = scale, channels, activation, residual
        self.conv1 = nn.Conv2d(channels, n1, 5, padding=2)
        self.conv2 = nn.Conv2d(n1, n2, 3, padding=1)
        self.conv3 = nn.Conv2d(n2, channels * scale**2, 3, padding=1)  # r^2 sub-pixel values per LR pixel
        self.shuffle = nn.PixelShuffle(scale)                          # (C r^2, h, w) -> (C, r h, r w)
        if residual:
            nn.init.zeros_(self.conv3.weight), nn.init.zeros_(self.conv3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = torch.tanh if self.activation == "tanh" else F.relu
        out = self.shuffle(self.conv3(act(self.conv2(act(self.conv1(x))))))
        if self.residual:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out


def macs_per_output_pixel(model: nn.Module) -> float:
    """Multiply-accumulates per HR output pixel, counted from the conv layers: sum k^2 C_in C_out per pixel
    the layer runs on, divided by scale^2 for layers that run on LR pixels (the model does not upsample first)."""
    total = 0.0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            total += m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups * m.out_channels
    return total if getattr(model, "upsample_first", False) else total / model.scale**2


# ---------------------------------------------------------------- the recipes behind the shipped checkpoints
MODELS = {"srcnn": SRCNN, "espcn": ESPCN}
RECIPES = {
    #        model config,                 steps, batch, HR patch, Adam lr, epochs (a validation after each)
    "srcnn": dict(model=dict(scale=3, channels=1, f1=9, f2=5, f3=5, n1=64, n2=32, residual=True),   # 9-5-5
                  full=dict(steps=6000, batch_size=16, patch=48, lr=1e-3, epochs=3),
                  fast=dict(steps=6, batch_size=4, patch=24, lr=1e-3, epochs=1)),
    "espcn": dict(model=dict(scale=3, channels=1, n1=64, n2=32, activation="relu", residual=True),
                  full=dict(steps=6000, batch_size=16, patch=72, lr=1e-3, epochs=3),
                  fast=dict(steps=6, batch_size=4, patch=24, lr=1e-3, epochs=1)),
}


def validate(model: nn.Module, images: dict, scale: int) -> dict:
    """Mean Y-PSNR / SSIM on HR `images` with the `sr_eval` protocol, and the bicubic baseline's."""
    was_training = model.training
    model.eval()
    ours = sr_eval.evaluate(model, images, scale)[-1]
    model.train(was_training)
    bicubic = sr_eval.evaluate("bicubic", images, scale)[-1]
    return {"val_psnr": ours["psnr"], "val_ssim": ours["ssim"],
            "bicubic_psnr": bicubic["psnr"], "bicubic_ssim": bicubic["ssim"]}


def train(name: str, config: dict, device: torch.device, seed: int = 0, val: dict | None = None,
          out: Path | None = None, model_config: dict | None = None):
    """Train `name` ("srcnn"/"espcn") with Adam and MSE on Y patches; one-cycle learning rate (5 % warm-up,
    cosine decay to ~0).

    config: steps, batch_size, patch, lr, epochs. After each epoch: validation on `val` (if given) and an
    interim checkpoint at `out` (if given). Returns (model, history).
    """
    seed_everything(seed)
    model_config = dict(model_config or RECIPES[name]["model"])
    model = MODELS[name](**model_config)
    scale = model_config["scale"]
    epochs = config["epochs"]
    per_epoch = max(1, config["steps"] // epochs)
    loader = sr_data.patch_loader(sr_data.with_rescaled(data.photos("train")), scale=scale, patch=config["patch"],
                                  batch_size=config["batch_size"], steps=per_epoch, seed=seed,
                                  y_only=model_config.get("channels", 1) == 1, upsampled=model.upsample_first)
    model = distributed.wrap(prepare(model, device, channels_last=False), device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config["lr"], total_steps=epochs * per_epoch,
                                                   pct_start=0.05)  # as srgan's recipe: warm-up, cosine decay
    step = loop.supervised_step(model, optimizer, F.mse_loss, device)
    start = time.perf_counter()

    def train_step(batch):
        metrics = step(batch)
        schedule.step()
        metrics["psnr"] = -10 * torch.log10(metrics["loss"])  # patch PSNR (no border crop, before 8 bits)
        return metrics

    def end_of_epoch(epoch, history):
        loader.dataset.set_epoch(epoch + 1)  # fresh patches
        loader.sampler.set_epoch(epoch + 1)
        if not distributed.is_main():
            return
        if val is not None:
            history.log(**validate(distributed.unwrap(model), val, scale))
        if out is not None:
            save_checkpoint(out, model, model_config,
                            {**history.last(), "steps": (epoch + 1) * per_epoch, "recipe": dict(config),
                             "train_seconds": round(time.perf_counter() - start, 1), "device": str(device),
                             "seed": seed, "val_images": sorted(val or {})})

    history = loop.fit(train_step, loader, epochs, device, on_epoch_end=end_of_epoch, desc=name)
    return distributed.unwrap(model), history


def train_main(argv) -> int:
    """`python -m course_lib.train srcnn|espcn [--steps N] [--batch-size B] [--patch P] [--lr LR] ...`."""
    name = argv[0] if argv else "srcnn"
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, not {name!r}")
    defaults = RECIPES[name]["fast" if env.FAST else "full"]
    parser = argparse.ArgumentParser(prog=f"python -m course_lib.train {name}",
                                     description=f"Train {name.upper()} x3 on Y patches of the bundled photos; the "
                                     f"defaults reproduce checkpoints/{name}_x3.pt (COURSE_FAST=1: a few steps).")
    parser.add_argument("--steps", type=int, default=defaults["steps"])
    parser.add_argument("--batch-size", type=int, default=defaults["batch_size"], help="global batch")
    parser.add_argument("--patch", type=int, default=defaults["patch"], help="HR patch size (a multiple of 3)")
    parser.add_argument("--lr", type=float, default=defaults["lr"], help="Adam peak learning rate (one-cycle)")
    parser.add_argument("--epochs", type=int, default=defaults["epochs"],
                        help="the steps are split into this many epochs (validation + checkpoint after each)")
    if name == "srcnn":
        parser.add_argument("--f2", type=int, default=RECIPES[name]["model"]["f2"],
                            help="5: 9-5-5 (default), 1: 9-1-5 (7x fewer MACs)")
    parser.add_argument("--paper", action="store_true",
                        help="the paper's model: no residual learning" + (", tanh" if name == "espcn" else ""))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"checkpoint path (default checkpoints/{name}_x3.pt; a temp file under COURSE_FAST=1)")
    args = parser.parse_args(argv[1:])
    if args.threads:
        torch.set_num_threads(args.threads)
    model_config = dict(RECIPES[name]["model"])
    if name == "srcnn":
        model_config["f2"] = args.f2
    if args.paper:
        model_config.update(residual=False, **({"activation": "tanh"} if name == "espcn" else {}))
    config = {k: getattr(args, k) for k in ("steps", "batch_size", "patch", "lr", "epochs")}
    out = args.out or (Path(tempfile.gettempdir()) / f"{name}_x3_fast.pt" if env.FAST
                       else env.CHECKPOINT_DIR / f"{name}_x3.pt")
    val = sr_eval.center_crop(data.photos("val"), 96 if env.FAST else None)

    device = distributed.init(get_device())
    if distributed.is_main():
        print(f"{name} {model_config}: {config['steps']} steps of {config['batch_size']} x {config['patch']}px "
              f"Y patches on {device} x {distributed.world_size()}, {torch.get_num_threads()} threads")
    start = time.perf_counter()
    _, history = train(name, config, device, seed=args.seed, val=val, out=out, model_config=model_config)
    if distributed.is_main():
        h = history.last()
        print(f"val Y-PSNR {h['val_psnr']:.2f} dB (bicubic {h['bicubic_psnr']:.2f}), SSIM {h['val_ssim']:.4f} "
              f"(bicubic {h['bicubic_ssim']:.4f}); {time.perf_counter() - start:.0f} s; saved {out}")
    distributed.cleanup()
    return 0
