"""A small CNN that classifies MNIST digits (lesson 02), and the recipe that trains the shipped one.

The network is a LeNet-style stack (LeCun et al. 1998) with batch norm (Ioffe & Szegedy 2015): three
3x3 conv -> batch norm -> ReLU -> max-pool blocks, a linear layer to 128 features, a linear head.

    features(x): (B,1,28,28) in [0,1] -> (B, 128)   the penultimate activations (after ReLU): the role
                                                    Inception's pool3 features play for FID / Inception Score
    forward(x)  = head(features(x)) -> (B, 10)      logits (no softmax: F.cross_entropy takes logits)

Lessons 03-05 load the shipped checkpoint with `course_lib.checkpoint.load_model("mnist_cnn")` and use
`features` to measure GAN samples. Reproduce it with `python -m course_lib.train classifier`;
measure it with `python -m course_lib.benchmark classifier`.
"""
import argparse
import tempfile
import time
from pathlib import Path

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

from . import data, distributed, env, loop
from .checkpoint import load_model, save_checkpoint
from .device import autocast, get_device, prepare, seed_everything

CHECKPOINT = env.CHECKPOINT_DIR / "mnist_cnn.pt"


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution (same padding) -> batch norm -> ReLU. No conv bias: batch norm adds its own."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class MnistCNN(nn.Module):
    """28x28 -> conv(w) -> pool -> conv(2w) -> pool -> conv(4w) -> pool -> 3x3 -> linear(128) -> linear(10)."""

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 10, dropout: float = 0.1):
        super().__init__()
        self.body = nn.Sequential(
            conv_block(1, width), nn.MaxPool2d(2),              # (B, w, 14, 14)
            conv_block(width, 2 * width), nn.MaxPool2d(2),      # (B, 2w, 7, 7)
            conv_block(2 * width, 4 * width), nn.MaxPool2d(2),  # (B, 4w, 3, 3)
            nn.Flatten(), nn.Linear(4 * width * 3 * 3, feature_dim), nn.ReLU(),  # (B, feature_dim)
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (B, feature_dim) of images (B,1,28,28) in [0,1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer, loss_fn) -> float:
    """One step of gradient descent on one (images, labels) batch; returns the loss as a Python float."""
    x, y = batch
    model.train()                     # batch norm uses batch statistics, dropout is on
    optimizer.zero_grad()             # gradients accumulate in .grad unless cleared
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def make_augment(degrees: float = 10.0, translate: float = 0.1, scale=(0.9, 1.1)) -> nn.Module:
    """Random small rotations, shifts and zooms of a (B,1,28,28) batch, new ones per image and call.

    No flips: a mirrored 2 or 7 is not a digit any more (labels must survive augmentation).
    """
    return K.RandomAffine(degrees=degrees, translate=(translate, translate), scale=scale, p=1.0)


# ---------------------------------------------------------------- the recipe behind the shipped checkpoint
MODEL_CONFIG = dict(width=32, feature_dim=128, num_classes=10, dropout=0.1)
FULL = dict(epochs=6, batch_size=128, lr=3e-3, warmup=0.3, weight_decay=5e-4, n_train=None, n_test=None, augment=True)
FAST = dict(epochs=1, batch_size=64, lr=1e-2, warmup=0.1, weight_decay=5e-4, n_train=12_800, n_test=2_000,
            augment=False)  # 200 steps


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device, batch_size: int = 1000):
    """(accuracy, predictions) of `model` on a tensor of images."""
    device = torch.device(device)
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            with autocast(device):
                preds.append(model(images[i:i + batch_size].to(device)).argmax(1).cpu())
    preds = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    return (preds == labels).float().mean().item(), preds


def train(config: dict, device: torch.device, seed: int = 0):
    """Train MnistCNN with AdamW and a one-cycle learning rate (Smith & Topin 2019); returns (model, history)."""
    seed_everything(seed)
    images, labels = data.mnist_tensors(train=True)
    if config["n_train"]:
        keep = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:config["n_train"]]
        images, labels = images[keep], labels[keep]
    loader = distributed.loader(torch.utils.data.TensorDataset(images, labels), config["batch_size"], seed=seed)
    model = distributed.wrap(prepare(MnistCNN(**MODEL_CONFIG), device), device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config["lr"], epochs=config["epochs"],
                                                   steps_per_epoch=len(loader), pct_start=config["warmup"])
    step = loop.supervised_step(model, optimizer, F.cross_entropy, device)
    augment = make_augment().to(device) if config["augment"] else nn.Identity()

    def augmented_step(batch):
        x, y = batch
        metrics = step((augment(x), y))
        schedule.step()
        return metrics

    def next_epoch(epoch, history):
        loader.sampler.set_epoch(epoch + 1)  # a new shuffle each epoch

    history = loop.fit(augmented_step, loader, config["epochs"], device, on_epoch_end=next_epoch, desc="classifier")
    return distributed.unwrap(model), history


def train_main(argv=None) -> int:
    """`python -m course_lib.train classifier [--fast] [--out PATH] [--epochs N] [--seed S]`."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.train classifier",
                                     description="Train MnistCNN on MNIST and save it with its test accuracy.")
    parser.add_argument("--fast", action="store_true", default=env.FAST,
                        help="quick run on a subset (default under COURSE_FAST=1); writes to a temp file unless --out")
    parser.add_argument("--full", dest="fast", action="store_false", help="full run even under COURSE_FAST=1")
    parser.add_argument("--out", type=Path, default=None, help=f"checkpoint path (default {CHECKPOINT})")
    parser.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args((argv or ["classifier"])[1:])
    config = dict(FAST if args.fast else FULL)
    if args.epochs is not None:
        config["epochs"] = args.epochs
    out = args.out or (Path(tempfile.gettempdir()) / "mnist_cnn_fast.pt" if args.fast else CHECKPOINT)

    device = distributed.init(get_device())
    start = time.perf_counter()
    model, history = train(config, device, seed=args.seed)
    test_images, test_labels = data.mnist_tensors(train=False, n=config["n_test"])
    acc, _ = evaluate(model, test_images, test_labels, device)
    metrics = {"test_accuracy": acc, "test_images": len(test_labels), "train_loss": history["loss"][-1],
               "train_seconds": round(time.perf_counter() - start, 1), "device": str(device),
               "recipe": {k: v for k, v in config.items() if v is not None}, "seed": args.seed}
    save_checkpoint(out, model.cpu(), MODEL_CONFIG, metrics)
    if distributed.is_main():
        print(f"test accuracy {acc:.4f} on {len(test_labels)} images; saved {out}")
    distributed.cleanup()
    return 0


# ---------------------------------------------------------------- measured numbers
def benchmark_main(argv=None) -> int:
    """Test accuracy (overall and per digit) of the shipped checkpoint, and inference throughput."""
    device = get_device()
    model, meta = load_model("mnist_cnn", device)
    images, labels = data.mnist_tensors(train=False)
    acc, preds = evaluate(model, images, labels, device)
    x = images[:512].to(device)
    with torch.no_grad(), autocast(device):
        model(x)  # warm-up
        runs, start = 5, time.perf_counter()
        for _ in range(runs):
            model(x).argmax(1).cpu()  # .cpu() waits for the device to finish
        seconds = time.perf_counter() - start
    m = meta["metrics"]
    print(f"course_lib/checkpoints/mnist_cnn.pt: {CHECKPOINT.stat().st_size / 1e6:.2f} MB, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, trained {m.get('train_seconds')} s on "
          f"{m.get('device')} with {m.get('recipe')}")
    rows = [("test accuracy (10,000 images)", f"{acc:.4f}")]
    rows += [(f"  digit {d} ({int((labels == d).sum())} images)", f"{(preds[labels == d] == d).float().mean():.4f}")
             for d in range(10)]
    rows.append((f"inference images/s ({device}, batch 512, {torch.get_num_threads()} threads)",
                 f"{runs * len(x) / seconds:.0f}"))
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  {'value':>8}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>8}")
    return 0
