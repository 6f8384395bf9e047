"""GAN fundamentals (Goodfellow et al. 2014): the minimax objective written with logits, the optimal discriminator,
a toy 2-D mixture of Gaussians, and one alternating D/G step.

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]                   (Eq. 1)
    D*(x) = p_data(x) / (p_data(x) + p_g(x))                              (Prop. 1)
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-[log D(x) + log(1 - D(G(z)))], averaged: BCE with logits, real -> 1, fake -> 0 (mean of the two means)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -log D(G(z)) (Goodfellow et al. Sec. 3): BCE with logits against label 1."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss log(1 - D(G(z))) = -softplus(logit): its gradient vanishes when D wins."""
    return -F.softplus(fake_logits).mean()


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g) (Prop. 1)."""
    return p_data / (p_data + p_g)


def ring_mixture(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, generator=None) -> torch.Tensor:
    """n points from `modes` Gaussians evenly spaced on a circle (the classic mode-collapse toy)."""
    k = torch.randint(modes, (n,), generator=generator)
    angle = 2 * math.pi * k.float() / modes
    centres = radius * torch.stack([angle.cos(), angle.sin()], 1)
    return centres + std * torch.randn(n, 2, generator=generator)


def mlp(inp: int, out: int, hidden: int = 128) -> nn.Module:
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, out))


def gan_step(G, D, opt_g, opt_d, real: torch.Tensor, nz: int) -> dict:
    """One alternating step: D ascends Eq. 1 on real + detached fakes, then G descends the non-saturating loss."""
    z = torch.randn(real.shape[0], nz, device=real.device)
    fake = G(z)
    loss_d = d_loss(D(real).view(-1), D(fake.detach()).view(-1))
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    loss_g = g_loss(D(fake).view(-1))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
