"""DCGAN for 28x28 MNIST (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep
Convolutional GANs", Sec. 3): strided (transposed) convolutions instead of pooling, batch norm, ReLU in G and
LeakyReLU(0.2) in D, tanh output in [-1, 1], N(0, 0.02) init, Adam(lr 2e-4, beta1 0.5).

    G: z (nz) -> 4x4 (8 ngf) -> 7x7 (4 ngf) -> 14x14 (2 ngf) -> 28x28 (1), tanh
    D: 28x28 (1) -> 14x14 (ndf) -> 7x7 (2 ndf) -> 4x4 (4 ndf) -> 1 logit      (the mirror image of G)

The shipped generator is an exponential moving average (EMA) of G's weights over training (Yazici et al. 2019,
"The Unusual Effectiveness of Averaging in GAN Training"): training itself is unchanged, the average just smooths
out the last steps' oscillation of the game.

Reproduce the shipped checkpoint: `python -m course_lib.train dcgan` (writes checkpoints/dcgan_mnist.pt);
on several processes or GPUs: `torchrun --nproc_per_node=8 -m course_lib.train dcgan` (same global batch).
"""
import argparse
import copy
import tempfile
import time
from pathlib import Path

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


def mnist_loader(batch_size: int, n: int | None = None, shuffle: bool = True, seed: int = 0):
    """MNIST training digits in [0, 1]; `batch_size` is the global batch (split over torchrun processes)."""
    from .data import mnist_tensors
    x, y = mnist_tensors(train=True, n=n)
    return distributed.loader(torch.utils.data.TensorDataset(x, y), batch_size, shuffle=shuffle, seed=seed)


def _quick_scores(generators: dict, n: int = 1000) -> dict:
    """Classifier Inception Score (lesson 05) of n samples of each generator: progress to watch while training."""
    from .checkpoint import load_model
    from .gan_metrics import classify, inception_score, sample
    clf, _ = load_model("mnist_cnn")
    scores = {}
    for name, G in generators.items():
        mode = G.training
        scores[name] = inception_score(classify(clf, sample(G.eval(), n))[1])
        G.train(mode)
    return scores


def train_main(argv) -> int:
    from . import env
    from .checkpoint import CHECKPOINT_DIR, save_checkpoint
    from .device import get_device
    from .loop import fit
    p = argparse.ArgumentParser(prog="python -m course_lib.train dcgan",
                                description="Train the MNIST DCGAN; defaults reproduce checkpoints/dcgan_mnist.pt.")
    p.add_argument("--epochs", type=int, default=env.pick(full=20, fast=1))
    p.add_argument("--batch-size", type=int, default=64, help="global batch (split over torchrun processes)")
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay of the saved generator (0: save G itself)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: torch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None,
                   help="checkpoint path (default checkpoints/dcgan_mnist.pt; a temp file under COURSE_FAST=1)")
    args = p.parse_args(argv[1:])
    out = args.out or (Path(tempfile.gettempdir()) / "dcgan_mnist_fast.pt" if env.FAST
                       else CHECKPOINT_DIR / "dcgan_mnist.pt")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = distributed.init(get_device())
    torch.manual_seed(args.seed)  # the same initial weights in every process
    G, D = Generator(NZ, args.ngf).to(device), Discriminator(args.ndf).to(device)
    G.apply(weights_init), D.apply(weights_init)
    G, D = distributed.wrap(G, device), distributed.wrap(D, device)
    torch.manual_seed(args.seed + 1000 * distributed.rank())  # but different noise z in each process
    opt_g, opt_d = optimizers(G, D)
    G_ema = copy.deepcopy(distributed.unwrap(G)).eval()
    loader = mnist_loader(args.batch_size, n=env.pick(full=None, fast=512), seed=args.seed)
    config = {"nz": NZ, "ngf": args.ngf}
    recipe = {"epochs": args.epochs, "batch_size": args.batch_size, "ngf": args.ngf, "ndf": args.ndf,
              "ema": args.ema, "seed": args.seed, "processes": distributed.world_size(), "device": str(device)}
    step = gan_step(G, D, opt_g, opt_d)

    def step_and_average(batch):
        metrics = step(batch)
        ema_update(G_ema, distributed.unwrap(G), args.ema)
        return metrics

    def end_of_epoch(epoch, history):
        loader.sampler.set_epoch(epoch + 1)  # a new shuffle each epoch
        if distributed.is_main():
            history.log(**_quick_scores({"is_g": distributed.unwrap(G), "is_ema": G_ema}))
        save_checkpoint(out, G_ema if args.ema else G, config,
                        {"epochs": epoch + 1, **history.last(), "recipe": recipe,
                         "train_seconds": round(time.perf_counter() - start, 1)})

    start = time.perf_counter()
    fit(step_and_average, loader, args.epochs, device, on_epoch_end=end_of_epoch, desc="dcgan")
    if distributed.is_main():
        print(f"saved {out} after {time.perf_counter() - start:.0f} s")
    distributed.cleanup()
    return 0
