"""DCGAN for 28x28 MNIST (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep
Convolutional GANs", Sec. 3): strided (transposed) convolutions instead of pooling, batch norm, ReLU in G and
LeakyReLU(0.2) in D, tanh output in [-1, 1], N(0, 0.02) init, Adam(lr 2e-4, beta1 0.5).

Reproduce the shipped checkpoint: `python -m course_lib.train dcgan` (writes checkpoints/dcgan_mnist.pt).
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from .gan import d_loss, g_loss

NZ = 64


class Generator(nn.Module):
    """z (B, nz) -> image (B, 1, 28, 28) in [-1, 1]: project to 7x7, then two stride-2 transposed convs."""

    def __init__(self, nz: int = NZ, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 7, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),   # 7x7
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 14
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1), nn.Tanh())                                              # 28

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """image (B, 1, 28, 28) -> one logit per image (B,): stride-2 convs, no batch norm on the input layer."""

    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),                                              # 14
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),  # 7
            nn.Conv2d(ndf * 2, 1, 7, 1, 0))                                                                  # 1

    def forward(self, x):
        return self.net(x).view(-1)


def weights_init(m: nn.Module) -> None:
    """Radford et al.: conv weights ~ N(0, 0.02), batch-norm scale ~ N(1, 0.02), bias 0. Use model.apply(weights_init)."""
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
    z = torch.randn(real.shape[0], G.nz, device=real.device)
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


def gan_step(G, D, opt_g, opt_d):
    """A step function for course_lib.loop.fit: batches are (images in [0,1], labels) from MNIST."""
    def step(batch):
        G.train(), D.train()
        return train_step(G, D, opt_g, opt_d, batch[0] * 2 - 1)
    return step


def mnist_loader(batch_size: int, n: int | None = None, shuffle: bool = True):
    from .data import mnist_tensors
    x, y = mnist_tensors(train=True, n=n)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size,
                                       shuffle=shuffle, drop_last=True)


def train_main(argv) -> int:
    from . import env
    from .checkpoint import CHECKPOINT_DIR, save_checkpoint
    from .loop import fit
    p = argparse.ArgumentParser(prog="python -m course_lib.train dcgan")
    p.add_argument("--epochs", type=int, default=env.pick(full=8, fast=1))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(CHECKPOINT_DIR / "dcgan_mnist.pt"))
    args = p.parse_args(argv[1:])
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    G, D = Generator(NZ, args.ngf), Discriminator(args.ndf)
    G.apply(weights_init), D.apply(weights_init)
    opt_g, opt_d = optimizers(G, D)
    loader = mnist_loader(args.batch_size, n=env.pick(full=None, fast=512))
    config = {"nz": NZ, "ngf": args.ngf}

    def save(epoch, history):
        save_checkpoint(args.out, G.eval(), config, {"epochs": epoch + 1, **history.last()})

    start = time.perf_counter()
    fit(gan_step(G, D, opt_g, opt_d), loader, args.epochs, device, on_epoch_end=save, desc="dcgan")
    print(f"saved {args.out} after {time.perf_counter() - start:.0f} s")
    return 0
