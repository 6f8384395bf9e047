"""Class-conditional DCGAN for MNIST (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"):
both networks see the label y. G gets its one-hot code concatenated to z; D gets it as 10 constant image
planes concatenated to the digit. Everything else is the DCGAN of course_lib.dcgan (lesson 04):

    G(z, y) = DCGAN-G([z, onehot(y)])                D(x, y) = DCGAN-D([x, onehot(y) broadcast to 28x28])
"""
import torch
import torch.nn.functional as F
from torch import nn

from .dcgan import NZ, Discriminator, Generator
from .gan import d_loss, g_loss

CLASSES = 10


def one_hot(y: torch.Tensor, classes: int = CLASSES) -> torch.Tensor:
    """Integer labels (B,) -> float one-hot (B, classes), with a clear error for wrong labels."""
    if y.dtype not in (torch.int64, torch.int32, torch.uint8) or y.dim() != 1:
        raise TypeError(f"labels must be a 1-D integer tensor (B,), got {y.dtype} of shape {tuple(y.shape)}")
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1}, got {int(y.min())}..{int(y.max())}")
    return F.one_hot(y.long(), classes).float()


class ConditionalGenerator(nn.Module):
    """(z (B, nz), y (B,) int) -> image (B, 1, 28, 28) in [-1, 1]: the DCGAN generator fed [z, onehot(y)]."""

    def __init__(self, nz: int = NZ, ngf: int = 32, classes: int = CLASSES):
        super().__init__()
        self.nz, self.classes = nz, classes
        self.net = Generator(nz + classes, ngf)

    def forward(self, z, y):
        return self.net(torch.cat([z.view(z.shape[0], -1), one_hot(y, self.classes).to(z)], 1))


class ConditionalDiscriminator(nn.Module):
    """(x (B, 1, 28, 28), y (B,) int) -> logit (B,): the DCGAN discriminator on [x, onehot(y) as planes]."""

    def __init__(self, ndf: int = 32, classes: int = CLASSES):
        super().__init__()
        self.classes = classes
        self.net = Discriminator(ndf, channels=1 + classes)

    def forward(self, x, y):
        planes = one_hot(y, self.classes).to(x)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.net(torch.cat([x, planes], 1))


def train_step(G, D, opt_g, opt_d, real, labels):
    """The DCGAN step (dcgan.train_step) with labels: fakes are drawn for the same labels as the real batch."""
    z = torch.randn(real.shape[0], G.nz, device=real.device)
    fake = G(z, labels)
    real_logits, fake_logits = D(real, labels), D(fake.detach(), labels)
    loss_d = d_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    loss_g = g_loss(D(fake, labels))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits).mean().detach(),
            "d_fake": torch.sigmoid(fake_logits).mean().detach()}


def cgan_step(G, D, opt_g, opt_d):
    """A step function for course_lib.loop.fit on (images in [0, 1], labels) batches."""
    def step(batch):
        G.train(), D.train()
        x, y = batch
        return train_step(G, D, opt_g, opt_d, x * 2 - 1, y)
    return step


@torch.no_grad()
def class_grid(G, per_class: int = 8, seed: int = 0) -> torch.Tensor:
    """(10 * per_class, 1, 28, 28) in [0, 1]: row d holds `per_class` samples of digit d (same z per column)."""
    g = torch.Generator().manual_seed(seed)
    device = next(G.parameters()).device
    z = torch.randn(per_class, G.nz, generator=g).to(device).repeat(G.classes, 1)
    y = torch.arange(G.classes, device=device).repeat_interleave(per_class)
    return (G(z, y).cpu() + 1) / 2
