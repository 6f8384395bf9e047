"""DCGAN for 28x28 MNIST (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep
Convolutional GANs", Sec. 3): strided (transposed) convolutions instead of pooling, batch norm, ReLU in G and
LeakyReLU(0.2) in D, tanh output in [-1, 1], N(0, 0.02^2) init (std 0.02), Adam(lr 2e-4, beta1 0.5).

    G: z (nz) -> 4x4 (8 ngf) -> 7x7 (4 ngf) -> 14x14 (2 ngf) -> 28x28 (1), tanh
    D: 28x28 (1) -> 14x14 (ndf) -> 7x7 (2 ndf) -> 4x4 (4 ndf) -> 1 logit      (the mirror image of G)

The shipped generator is an exponential moving average (EMA) of G's weights over training (Yazici et al. 2019,
"The Unusual Effectiveness of Averaging in GAN Training"): training itself is unchanged, the average just smooths
out the last steps' oscillation of the game.

Reproduce the shipped checkpoint: `python -m course_lib.train dcgan` (course_lib/recipes/dcgan.py, writes
checkpoints/dcgan_mnist.pt); on several processes or GPUs: `torchrun --nproc_per_node=8 -m course_lib.train dcgan`.
"""
import torch
from torch import nn

from . import distributed
from .gan import d_loss, g_loss

NZ = 64


class Generator(nn.Module):
    """z (B, nz) -> image (B, 1, 28, 28) in [-1, 1]: project to 4x4, then three stride-2 transposed convs."""

    def __init__(self, nz: int = NZ, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),      # 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 3, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),  # 7
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 14
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1), nn.Tanh())                                              # 28

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """image (B, channels, 28, 28) -> one logit per image (B,): stride-2 convs, no batch norm on the input layer."""

    def __init__(self, ndf: int = 32, channels: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),                                            # 14
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),      # 7
            nn.Conv2d(ndf * 2, ndf * 4, 3, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),  # 4
            nn.Conv2d(ndf * 4, 1, 4, 1, 0))                                                                      # 1

    def forward(self, x):
        return self.net(x).view(-1)


def weights_init(m: nn.Module) -> None:
    """Conv weights ~ N(0, 0.02^2) (Radford et al. Sec. 4: "a zero-centered Normal distribution with standard
    deviation 0.02"); batch-norm scale ~ N(1, 0.02^2) and zero biases, which the paper does not give: they are the
    reference code's (dcgan.torch, pytorch/examples' dcgan). Use model.apply(weights_init)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def optimizers(G: nn.Module, D: nn.Module, lr: float = 2e-4):
    return (torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)))


def train_step(G, D, opt_g, opt_d, real):
    """One DCGAN step on real images in [-1, 1]: update D on real + fake (BCE with logits), then G with the
    non-saturating loss. Returns losses and the mean D(x), D(G(z)) (probabilities)."""
    z = torch.randn(real.shape[0], distributed.unwrap(G).nz, device=real.device)
    fake = G(z)
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = d_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    fake_logits_g = D(fake)
    loss_g = g_loss(fake_logits_g)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits).mean().detach(),
            "d_fake": torch.sigmoid(fake_logits).mean().detach()}


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for the weights; batch-norm statistics are copied."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def gan_step(G, D, opt_g, opt_d):
    """A step function for course_lib.loop.fit: batches are (images in [0,1], labels) from MNIST."""
    def step(batch):
        G.train(), D.train()
        return train_step(G, D, opt_g, opt_d, batch[0] * 2 - 1)
    return step
