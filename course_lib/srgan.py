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
on one CPU core) and "paper" (16 blocks, 64 channels: the published model, for GPUs). The content loss phi (VGG54,
or the offline stand-in, the discriminator's own features) is in course_lib.perceptual; the sharpness proxy in
course_lib.metrics. The recipes (course_lib/recipes/srresnet.py, srgan.py):

    python -m course_lib.train srresnet [--preset paper]   # MSE pre-training  -> checkpoints/srresnet_x4.pt
    python -m course_lib.train srgan [--preset paper]      # adversarial fine-tuning from srresnet_x4.pt
                                                           #                     -> checkpoints/srgan_x4.pt
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed
from .gan import d_loss, g_loss
from .metrics import sharpness_ratio  # noqa: F401  (tests/test_lesson08.py still reads srgan.sharpness_ratio)
from .perceptual import VGG_RESCALE, DiscriminatorContent
from .perceptual import VGGContent, VGGUnavailable, content_extractor, vgg_weights_file  # noqa: F401  (idem)

PRESETS = {  # generator and discriminator sizes
    "cpu": {"generator": dict(blocks=8, width=32, bicubic_skip=True, batch_norm=False),
            "discriminator": dict(width=32, dense=256)},
    "paper": {"generator": dict(blocks=16, width=64), "discriminator": dict(width=64, dense=1024)},
}
ADV_WEIGHT = 1e-3     # weight of the adversarial loss in Eq. 3


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
