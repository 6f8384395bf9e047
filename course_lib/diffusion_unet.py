"""A small U-Net that predicts the noise eps_theta(x_t, t [, y]) of a 28x28 diffusion model.

The DDPM network (Ho et al. 2020, Sec. 4 and Appendix B), shrunk for CPU training: two resolution changes
(28 -> 14 -> 7: stride-2 convs down, nearest-neighbour up), one residual block per level with GroupNorm and SiLU, no self-attention. The timestep enters
through the Transformer's sinusoidal embedding (Vaswani et al. 2017, Sec. 3.5) and a small MLP, added to every
residual block. With `num_classes`, a learned class embedding is added too; index `num_classes` is the "null"
label that classifier-free guidance (Ho & Salimans 2022) trains with dropped labels.

    x (1, 28) -> conv -> Res(C) @28 -> down -> Res(2C) @14 -> down -> Res(2C) @7 -> Res(2C) mid
              -> Res(2C) @7 [+skip] -> up -> Res(C) @14 [+skip] -> up -> Res(C) @28 [+skip] -> conv -> eps (1, 28)
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding (B,) -> (B, dim): [sin(t w_k), cos(t w_k)] with w_k = max_period^(-k / (dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, add the (time [+ class]) embedding per channel, GroupNorm-SiLU-conv, plus a skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """eps_theta(x_t (B, 1, 28, 28), t (B,) integer steps [, y (B,) labels, num_classes = null]) -> (B, 1, 28, 28)."""

    def __init__(self, channels: int = 32, num_classes: int | None = None, image_channels: int = 1):
        super().__init__()
        c, emb_dim = channels, 4 * channels
        self.channels, self.num_classes = channels, num_classes
        self.time_mlp = nn.Sequential(nn.Linear(c, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.conv_in = nn.Conv2d(image_channels, c, 3, padding=1)
        self.enc28, self.down1 = ResBlock(c, c, emb_dim), nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.enc14, self.down2 = ResBlock(c, 2 * c, emb_dim), nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.enc7, self.mid = ResBlock(2 * c, 2 * c, emb_dim), ResBlock(2 * c, 2 * c, emb_dim)
        self.dec7 = ResBlock(4 * c, 2 * c, emb_dim)
        self.dec14, self.dec28 = ResBlock(4 * c, c, emb_dim), ResBlock(2 * c, c, emb_dim)
        self.norm_out, self.conv_out = nn.GroupNorm(8, c), nn.Conv2d(c, image_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight), nn.init.zeros_(self.conv_out.bias)  # start by predicting eps = 0

    def forward(self, x, t, y=None):
        emb = self.time_mlp(timestep_embedding(t, self.channels))
        if self.class_emb is not None:
            null = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            emb = emb + self.class_emb(null if y is None else y)
        e28 = self.enc28(self.conv_in(x), emb)
        e14 = self.enc14(self.down1(e28), emb)
        e7 = self.enc7(self.down2(e14), emb)
        h = self.dec7(torch.cat([self.mid(e7, emb), e7], 1), emb)
        h = self.dec14(torch.cat([F.interpolate(h, scale_factor=2.0), e14], 1), emb)  # nearest-neighbour upsampling;
        h = self.dec28(torch.cat([F.interpolate(h, scale_factor=2.0), e28], 1), emb)  # the block's convs smooth it
        return self.conv_out(F.silu(self.norm_out(h)))
