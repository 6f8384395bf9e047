"""MNIST CNN classifier (lesson 02) -> checkpoints/mnist_cnn.pt.

AdamW with a one-cycle learning rate (Smith & Topin 2019) and random affine augmentation
(`classifier.make_augment`); the checkpoint records its test accuracy. Under torchrun the batch is split
over the processes (course_lib.distributed).
"""
import time

import torch
import torch.nn.functional as F
from torch import nn

from .. import data, distributed, loop
from ..checkpoint import save_checkpoint
from ..classifier import MnistCNN, evaluate, make_augment
from ..device import prepare, seed_everything
from . import common

MODEL_CONFIG = dict(width=32, feature_dim=128, num_classes=10, dropout=0.1)
FULL = dict(epochs=6, batch_size=128, lr=3e-3, warmup=0.3, weight_decay=5e-4, n_train=None, n_test=None, augment=True)
FAST = dict(epochs=1, batch_size=64, lr=1e-2, warmup=0.1, weight_decay=5e-4, n_train=12_800, n_test=2_000,
            augment=False)  # 200 steps
HELP = dict(warmup="share of the steps with a rising learning rate", n_train="training images (default: all)",
            n_test="test images scored (default: all)", augment="random small rotations, shifts and zooms")


def train(config: dict, device: torch.device, seed: int = 0):
    """Train MnistCNN with AdamW and a one-cycle learning rate; returns (model, history)."""
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


def main(argv: list[str]) -> int:
    args = common.parse(argv, "classifier", __doc__, FULL, FAST, checkpoint="mnist_cnn", help=HELP)
    device = common.start(args)
    start = time.perf_counter()
    model, history = train(args.settings, device, seed=args.seed)
    test_images, test_labels = data.mnist_tensors(train=False, n=args.n_test)
    acc, _ = evaluate(model, test_images, test_labels, device)
    metrics = {"test_accuracy": acc, "test_images": len(test_labels), "train_loss": history["loss"][-1],
               "train_seconds": round(time.perf_counter() - start, 1), "device": str(device),
               "recipe": {k: v for k, v in args.settings.items() if v is not None}, "seed": args.seed}
    save_checkpoint(args.out, model.cpu(), MODEL_CONFIG, metrics)
    if distributed.is_main():
        print(f"test accuracy {acc:.4f} on {len(test_labels)} images; saved {args.out}")
    return common.finish()
