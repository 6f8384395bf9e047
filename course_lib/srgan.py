"""SRResNet and SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR), for 4x super-resolution of RGB photos (lesson 08).

    SRResNet (generator, Fig. 4 top):  LR (B,3,h,w) in [0,1] -> SR (B,3,4h,4w)
        conv 9x9 + PReLU -> B x [conv-BN-PReLU-conv-BN, + skip] -> conv-BN, + global skip
        -> 2 x [conv 3x3 (c -> 4c) -> PixelShuffle(2) -> PReLU] -> conv 9x9 -> 3 channels
    Discriminator (Fig. 4 bottom): HR-sized image -> one logit
        8 convs 3x3 (c, c, 2c, 2c, 4c, 4c, 8c, 8c; stride 1, 2 alternating) + BN (not the first) + LeakyReLU(0.2)
        -> dense (1024) -> LeakyReLU -> dense (1)

    Perceptual loss (Eq. 3):  l_SR = l_content + 1e-3 * l_adv,   l_adv = -log D(G(LR))   (Eq. 6, non-saturating)
    Content loss (Eq. 5):     MSE of VGG19 features phi_5,4 of SR and HR, rescaled by 1/12.75 (features / 12.75)

Presets: "cpu" (8 blocks, 32 channels, no batch norm, plus a bicubic skip, see SRResNet: 1200 steps in ten minutes
on one CPU core) and "paper" (16 blocks, 64 channels: the published model, for GPUs). The VGG19 content loss needs
torchvision's ImageNet weights; nothing downloads unless you opt in (`COURSE_DOWNLOAD=1` or `download=True`).
Without them the content loss is computed on the features of the SRGAN discriminator itself
(`content_extractor(kind="disc")`, see `DiscriminatorContent`),
and every run says which one it uses.

    python -m course_lib.train srresnet [--preset paper]   # MSE pre-training  -> checkpoints/srresnet_x4.pt
    python -m course_lib.train srgan [--preset paper]      # adversarial fine-tuning from srresnet_x4.pt
                                                           #                     -> checkpoints/srgan_x4.pt
Under torchrun the global batch is split over the processes (course_lib.distributed).
"""
import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed, env
from .gan import d_loss, g_loss

PRESETS = {  # generator and discriminator sizes
    "cpu": {"generator": dict(blocks=8, width=32, bicubic_skip=True, batch_norm=False),
            "discriminator": dict(width=32, dense=256)},
    "paper": {"generator": dict(blocks=16, width=64), "discriminator": dict(width=64, dense=1024)},
}
ADV_WEIGHT = 1e-3     # weight of the adversarial loss in Eq. 3
VGG_RESCALE = 12.75   # the paper divides the VGG feature maps by 12.75 (Sec. 3.4 / 4.2)


# ---------------------------------------------------------------- generator
class ResidualBlock(nn.Module):
    """x + BN(conv(PReLU(BN(conv(x))))): two 3x3 convs with batch norm, PReLU between, identity skip (He et al.
    2016, as modified by Gross & Wilber: no activation after the sum). batch_norm=False drops both BNs (EDSR)."""

    def __init__(self, width: int, batch_norm: bool = True):
        super().__init__()
        norm = (lambda: nn.BatchNorm2d(width)) if batch_norm else nn.Identity
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm), norm(), nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm), norm())

    def forward(self, x):
        return x + self.body(x)


def upsample_block(width: int, factor: int = 2) -> nn.Sequential:
    """x2 sub-pixel upsampling (Shi et al. 2016, ESPCN): conv 3x3 to factor^2 * width channels, PixelShuffle
    rearranges them to a factor-times larger image of `width` channels, then PReLU."""
    return nn.Sequential(nn.Conv2d(width, width * factor**2, 3, padding=1), nn.PixelShuffle(factor), nn.PReLU(width))


class SRResNet(nn.Module):
    """The SRResNet / SRGAN generator: LR RGB (B,3,h,w) in [0,1] -> SR RGB (B,3,scale*h,scale*w) (unclamped).

    Follows the course's SR convention (course_lib.sr_eval): `scale`, `channels` = 3 (RGB), takes the LR image
    (not a bicubic upsampling of it).

    Two options the paper does not have, both used by the CPU preset (the paper trains 10^6 steps, the CPU
    preset 1200; lesson 08 shows what each is worth):
    bicubic_skip: add the bicubic upsampling of the LR input to the output, so the network only learns the
        missing detail HR - bicubic (global residual learning, VDSR, Kim et al. 2016).
    batch_norm=False: no batch norm in the residual blocks and after them (EDSR, Lim et al. 2017: BN removes
        the range flexibility SR needs, and its running statistics lag behind fast-changing weights).
    """
    upsample_first = False
    channels = 3

    def __init__(self, scale: int = 4, blocks: int = 16, width: int = 64, bicubic_skip: bool = False,
                 batch_norm: bool = True):
        super().__init__()
        if scale not in (2, 4, 8):
            raise ValueError(f"scale must be 2, 4 or 8 (x2 PixelShuffle stages), not {scale}")
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(3, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(*[ResidualBlock(width, batch_norm) for _ in range(blocks)],
                                  nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm),
                                  nn.BatchNorm2d(width) if batch_norm else nn.Identity())
        self.upsample = nn.Sequential(*[upsample_block(width) for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(width, 3, 9, padding=4)
        self.bicubic_skip = bicubic_skip
        if bicubic_skip:  # start as bicubic interpolation
            nn.init.zeros_(self.tail.weight), nn.init.zeros_(self.tail.bias)

    def forward(self, lr):
        x = self.head(lr - 0.5)            # centre the input (the paper scales LR to [0,1] too)
        x = x + self.body(x)               # global skip around the residual blocks
        x = self.tail(self.upsample(x))
        if self.bicubic_skip:              # learn the residual HR - bicubic(LR) (VDSR, Kim et al. 2016)
            return x + F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return x + 0.5


# ---------------------------------------------------------------- discriminator
class Discriminator(nn.Module):
    """HR-sized RGB image (B,3,H,W) in [0,1] -> one logit per image (B,), for any H, W >= 16.

    Eight 3x3 convs whose channels double every second layer (width .. 8 width) while stride 2 halves the size,
    batch norm after all but the first, LeakyReLU(0.2); adaptive average pooling to `pool` x `pool` (a no-op for
    the paper's 96x96 patches: 96 / 16 = 6) makes any patch size work; then dense -> LeakyReLU -> dense(1).
    """

    def __init__(self, width: int = 64, dense: int = 1024, pool: int = 6):
        super().__init__()
        layers, c_in = [], 3
        for i in range(8):
            c_out, stride = width * 2 ** (i // 2), 1 + i % 2
            layers.append(nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, stride, 1, bias=i == 0),
                nn.Identity() if i == 0 else nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)))
            c_in = c_out
        self.convs = nn.ModuleList(layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(pool), nn.Flatten(), nn.Linear(c_in * pool * pool, dense),
                                  nn.LeakyReLU(0.2), nn.Linear(dense, 1))

    def features(self, x) -> list[torch.Tensor]:
        """The activations after each of the 8 conv layers (the input is centred like the generator's)."""
        feats, x = [], x - 0.5
        for layer in self.convs:
            x = layer(x)
            feats.append(x)
        return feats

    def forward(self, x):
        return self.head(self.features(x)[-1]).view(-1)


# ---------------------------------------------------------------- losses
def generator_loss(sr_features, hr_features, fake_logits, adv_weight: float = ADV_WEIGHT) -> torch.Tensor:
    """The perceptual loss of Eq. 3: content MSE between the features of SR and HR (Eq. 5 with phi = VGG54, or
    the identity for the pixel-wise MSE of Eq. 4) + adv_weight * the non-saturating adversarial loss -log D(G(LR))
    of Eq. 6, computed from D's logits (course_lib.gan.g_loss)."""
    return F.mse_loss(sr_features, hr_features) + adv_weight * g_loss(fake_logits)


class VGGUnavailable(RuntimeError):
    """torchvision's ImageNet VGG19 weights are not on this machine (and downloading was not allowed or failed)."""


def vgg_weights_file() -> Path:
    """Where torchvision keeps VGG19_Weights.IMAGENET1K_V1: <torch.hub.get_dir()>/checkpoints/vgg19-dcbb9e9d.pth."""
    from torchvision.models import VGG19_Weights
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(VGG19_Weights.IMAGENET1K_V1.url)


def download_allowed() -> bool:
    """Opt-in only: COURSE_DOWNLOAD=1."""
    return os.environ.get("COURSE_DOWNLOAD", "0").strip().lower() not in ("", "0", "false", "no")


class VGGContent(nn.Module):
    """phi_5,4 / 12.75: VGG19's 4th conv of block 5 after ReLU (before the 5th max-pool), on ImageNet-normalised
    RGB, frozen. The paper divides by 12.75 for its Caffe VGG on [0,255] inputs; torchvision's VGG takes
    normalised inputs, so its features (and this loss) are smaller than the paper's by a constant factor."""

    def __init__(self, download: bool | None = None):
        super().__init__()
        import torchvision
        from torchvision.models import VGG19_Weights
        path = vgg_weights_file()
        download = download_allowed() if download is None else download
        if not path.exists():
            if not download:
                raise VGGUnavailable(
                    f"VGG19 ImageNet weights not found at {path}. They are not downloaded unless you opt in: "
                    "set COURSE_DOWNLOAD=1 (or pass download=True) on a machine with internet access, or copy "
                    f"{VGG19_Weights.IMAGENET1K_V1.url} to that path.")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.hub.download_url_to_file(VGG19_Weights.IMAGENET1K_V1.url, str(path))
            except Exception as err:  # offline, proxy, disk full ...
                raise VGGUnavailable(f"could not download the VGG19 weights to {path} ({type(err).__name__}: {err}); "
                                     "are you offline? Copy the file there by hand or use another content loss.") \
                    from err
        vgg = torchvision.models.vgg19()
        vgg.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.features = vgg.features[:36].eval().requires_grad_(False)  # conv1_1 ... conv5_4 + ReLU
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def train(self, mode: bool = True):
        return super().train(False)  # always frozen, eval mode

    def forward(self, x):
        return self.features((x - self.mean) / self.std) / VGG_RESCALE


class DiscriminatorContent:
    """The offline content loss: MSE between the activations of the SRGAN discriminator's `layer`-th conv
    (default the 4th: 2 width channels at 1/4 resolution) for SR and HR.

    Why this is reasonable: it is the feature-matching loss of Salimans et al. 2016 (Sec. 3.1) and pix2pixHD
    (Wang et al. 2018, Eq. 4), computed per image instead of on batch means: D's features are learned to separate
    real from generated images, so matching them pushes SR towards what makes HR look real, like a VGG loss but
    learned on the task instead of ImageNet. Unlike VGG's they change while D trains, and they start random (the
    generator starts from the pre-trained SRResNet, so the first steps only need not to hurt). It costs one extra
    discriminator pass, much less than a VGG19 pass on a CPU.
    """

    def __init__(self, discriminator: nn.Module, layer: int = 3):
        self.discriminator, self.layer = discriminator, layer

    def __call__(self, x):
        return self.discriminator.features(x)[self.layer] / VGG_RESCALE


def content_extractor(kind: str = "auto", discriminator: nn.Module | None = None, download: bool | None = None):
    """(phi, description): the feature map phi(x) whose MSE between SR and HR is the content loss.

    kind: "vgg" (paper, VGG54; needs the ImageNet weights), "disc" (discriminator features, offline), "pixel"
    (phi = identity: the pixel MSE of Eq. 4, the paper's SRGAN-MSE), or "auto": vgg if the weights are on this
    machine (or COURSE_DOWNLOAD=1 / download=True), else disc, saying why.
    """
    if kind not in ("auto", "vgg", "disc", "pixel"):
        raise ValueError(f"content loss must be 'auto', 'vgg', 'disc' or 'pixel', not {kind!r}")
    if kind in ("auto", "vgg"):
        try:
            return VGGContent(download), "VGG19 phi_5,4 / 12.75 (ImageNet weights, the paper's content loss)"
        except VGGUnavailable as err:
            if kind == "vgg":
                raise
            print(f"content loss: {err}\n-> using the offline alternative instead: features of the SRGAN "
                  "discriminator (feature matching), see course_lib.srgan.DiscriminatorContent.")
            kind = "disc"
    if kind == "pixel":
        return nn.Identity(), "pixel MSE (the paper's SRGAN-MSE)"
    if discriminator is None:
        raise ValueError("the 'disc' content loss needs the discriminator: content_extractor('disc', D)")
    return DiscriminatorContent(distributed.unwrap(discriminator)), \
        "SRGAN discriminator features, 4th conv (feature matching; offline stand-in for VGG54)"


# ---------------------------------------------------------------- a sharpness proxy for the perception side
def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """|grad Y| per pixel (Sobel) of RGB images (B,3,H,W) or (3,H,W): (B,1,H-2,W-2)."""
    from .metrics import rgb_to_y
    y = rgb_to_y(x if x.dim() == 4 else x[None])
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=y.dtype, device=y.device) / 8
    gx, gy = F.conv2d(y, kx.view(1, 1, 3, 3)), F.conv2d(y, kx.t().reshape(1, 1, 3, 3))
    return (gx.square() + gy.square()).sqrt()


def sharpness_ratio(sr: torch.Tensor, hr: torch.Tensor, crop: int = 4) -> float:
    """mean |grad Y| of SR / of HR, ignoring `crop` border pixels: < 1 too smooth (blur), 1 as much detail as HR
    (which says nothing about whether that detail is right; PSNR does)."""
    g_sr, g_hr = gradient_magnitude(sr), gradient_magnitude(hr)
    if crop:
        g_sr, g_hr = g_sr[..., crop:-crop, crop:-crop], g_hr[..., crop:-crop, crop:-crop]
    return (g_sr.mean() / g_hr.mean()).item()


# ---------------------------------------------------------------- training steps (for course_lib.loop.fit)
def mse_step(G, optimizer, schedule=None):
    """SRResNet pre-training (Eq. 4): pixel MSE between G(LR) and HR; batches are (lr, hr) in [0,1]."""
    def step(batch):
        lr, hr = batch
        G.train()
        loss = F.mse_loss(G(lr), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        return {"mse": loss.detach()}
    return step


def srgan_step(G, D, opt_g, opt_d, phi, adv_weight: float = ADV_WEIGHT):
    """One SRGAN update on a batch (lr, hr): D on HR (real) vs detached SR (fake) with the logit BCE of lesson 03,
    then G on the perceptual loss (content of phi + adv_weight * non-saturating adversarial). D's weights are
    frozen during G's update (no gradients wasted on them; under torchrun its DDP wrapper is bypassed there)."""
    D_plain = distributed.unwrap(D)

    def step(batch):
        lr, hr = batch
        G.train(), D.train()
        sr = G(lr)
        real_logits, fake_logits = D(hr), D(sr.detach())
        loss_d = d_loss(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        D_plain.requires_grad_(False)
        with torch.no_grad():
            hr_features = phi(hr)
        if isinstance(phi, DiscriminatorContent):  # one pass through D gives both the features and the logit
            feats = D_plain.features(sr)
            sr_features, fake_logits_g = feats[phi.layer] / VGG_RESCALE, D_plain.head(feats[-1]).view(-1)
        else:
            sr_features, fake_logits_g = phi(sr), D_plain(sr)
        loss_g = generator_loss(sr_features, hr_features, fake_logits_g, adv_weight)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D_plain.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "mse": F.mse_loss(sr.detach(), hr),
                "d_real": torch.sigmoid(real_logits).mean().detach(),
                "d_fake": torch.sigmoid(fake_logits).mean().detach()}
    return step


# ---------------------------------------------------------------- measuring a generator
@torch.no_grad()
def validate(G, images: dict, scale: int = 4) -> dict:
    """Mean Y-PSNR / SSIM (course_lib.sr_eval protocol) and sharpness ratio of G on HR `images`."""
    from . import sr_eval
    from .degrade import make_lr, mod_crop
    was_training = G.training
    G.eval()
    mean = sr_eval.evaluate(G, images, scale)[-1]
    ratios = []
    for hr in images.values():
        hr = mod_crop(hr, scale)
        ratios.append(sharpness_ratio(sr_eval.super_resolve(G, make_lr(hr, scale), scale), hr, scale))
    G.train(was_training)
    return {"val_psnr": mean["psnr"], "val_ssim": mean["ssim"], "val_sharpness": sum(ratios) / len(ratios)}


# ---------------------------------------------------------------- the recipes behind the shipped checkpoints
RECIPES = {
    #               steps, global batch, HR patch, learning rate (Adam), epochs (a validation after each)
    "srresnet": dict(full=dict(steps=1200, batch_size=16, patch=96, lr=1e-3, epochs=3),
                     fast=dict(steps=4, batch_size=4, patch=48, lr=1e-3, epochs=1)),
    "srgan": dict(full=dict(steps=600, batch_size=16, patch=96, lr=1e-4, epochs=3),
                  fast=dict(steps=3, batch_size=4, patch=48, lr=1e-4, epochs=1)),
}


def train_main(argv) -> int:
    """`python -m course_lib.train srresnet|srgan [--preset cpu|paper] [--steps N] ...` (see --help)."""
    from . import data, sr_data
    from .checkpoint import CHECKPOINT_DIR, load_model, save_checkpoint
    from .device import get_device, prepare
    from .loop import fit

    recipe = argv[0] if argv else "srresnet"
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be 'srresnet' or 'srgan', not {recipe!r}")
    defaults = RECIPES[recipe]["fast" if env.FAST else "full"]
    p = argparse.ArgumentParser(prog=f"python -m course_lib.train {recipe}",
                                description=f"Train {recipe} x4 on the bundled photos; defaults reproduce "
                                            f"checkpoints/{recipe}_x4.pt (COURSE_FAST=1: a few steps).")
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="model size (default cpu; paper on GPUs)")
    p.add_argument("--steps", type=int, default=defaults["steps"])
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"], help="global batch (split over processes)")
    p.add_argument("--patch", type=int, default=defaults["patch"], help="HR patch size (LR patch = patch / 4)")
    p.add_argument("--lr", type=float, default=defaults["lr"], help="Adam learning rate")
    p.add_argument("--epochs", type=int, default=defaults["epochs"],
                   help="the steps are split into this many epochs (a validation and an interim checkpoint after each)")
    if recipe == "srgan":
        p.add_argument("--init", default=str(CHECKPOINT_DIR / "srresnet_x4.pt"), help="pre-trained SRResNet")
        p.add_argument("--content", choices=["auto", "vgg", "disc", "pixel"], default="auto",
                       help="content loss: VGG54 if its weights are here, else discriminator features (auto)")
        p.add_argument("--adv-weight", type=float, default=ADV_WEIGHT)
        p.add_argument("--download", action="store_true", help="allow downloading the VGG19 weights")
    if recipe == "srresnet":  # ablations of the CPU preset's two changes (lesson 08)
        p.add_argument("--batch-norm", action="store_true", help="with batch norm, as in the paper")
        p.add_argument("--no-bicubic-skip", action="store_true", help="without the bicubic skip, as in the paper")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help=f"checkpoint path (default checkpoints/{recipe}_x4.pt; "
                                                          "a temp file under COURSE_FAST=1)")
    args = p.parse_args(argv[1:])
    out = args.out or (Path(tempfile.gettempdir()) / f"{recipe}_x4_fast.pt" if env.FAST
                       else CHECKPOINT_DIR / f"{recipe}_x4.pt")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = distributed.init(get_device())
    torch.manual_seed(args.seed)  # the same initial weights in every process
    config = {"scale": 4, **PRESETS[args.preset]["generator"]}
    if getattr(args, "batch_norm", False):
        config["batch_norm"] = True
    if getattr(args, "no_bicubic_skip", False):
        config["bicubic_skip"] = False
    G = SRResNet(**config)
    if recipe == "srgan":
        init, meta = load_model(args.init)
        if type(init) is not SRResNet or {k: meta["config"].get(k) for k in config} != config:
            raise ValueError(f"{args.init} holds {meta['config']}, not the {args.preset} preset {config}; "
                             f"train it with `python -m course_lib.train srresnet --preset {args.preset}` first")
        G.load_state_dict(init.state_dict())
    G = distributed.wrap(prepare(G, device, channels_last=False), device)

    val = data.photos("val") if not env.FAST else {k: v[..., :64, :64] for k, v in data.photos("val").items()}
    steps_per_epoch = max(1, args.steps // args.epochs)
    epochs = math.ceil(args.steps / steps_per_epoch)
    loader = sr_data.patch_loader(sr_data.with_rescaled(data.photos("train")), scale=4, patch=args.patch,
                                  batch_size=args.batch_size, steps=steps_per_epoch, seed=args.seed)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.9, 0.999))
    if recipe == "srresnet":  # a short run: one-cycle (warm-up, cosine decay) instead of the paper's fixed 1e-4
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt_g, max_lr=args.lr, total_steps=epochs * steps_per_epoch,
                                                       pct_start=0.05)
        step, what = mse_step(G, opt_g, schedule), "pixel MSE"
    else:
        D = Discriminator(**PRESETS[args.preset]["discriminator"])
        D = distributed.wrap(prepare(D, device, channels_last=False), device)
        opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.9, 0.999))
        phi, what = content_extractor(args.content, D, download=args.download or None)
        phi = phi.to(device) if isinstance(phi, nn.Module) else phi
        step = srgan_step(G, D, opt_g, opt_d, phi, args.adv_weight)
    if distributed.is_main():
        print(f"{recipe} ({args.preset} preset {config}), content loss: {what}; {epochs} x {steps_per_epoch} steps "
              f"of {args.batch_size} x {args.patch}px HR patches on {device} x {distributed.world_size()}")
    recipe_info = {k: v for k, v in vars(args).items() if k not in ("out", "init")}
    recipe_info.update(processes=distributed.world_size(), device=str(device), content_loss=what)
    start = time.perf_counter()

    def end_of_epoch(epoch, history):
        loader.dataset.set_epoch(epoch + 1), loader.sampler.set_epoch(epoch + 1)  # fresh patches, new order
        if distributed.is_main():
            metrics = validate(distributed.unwrap(G), val)
            history.log(**metrics)
            save_checkpoint(out, G, config, {**history.last(), "steps": (epoch + 1) * steps_per_epoch,
                                             "recipe": recipe_info, "train_seconds": round(time.perf_counter() - start, 1)})

    fit(step, loader, epochs, device, max_steps=steps_per_epoch, on_epoch_end=end_of_epoch, desc=recipe)
    if distributed.is_main():
        print(f"saved {out} after {time.perf_counter() - start:.0f} s")
    distributed.cleanup()
    return 0
