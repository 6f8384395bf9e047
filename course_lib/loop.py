"""A small training loop: run a step function over a loader for some epochs, with progress and history.

The step owns the optimisation (one optimizer for a classifier, two for a GAN); the loop owns
the rest: moving batches to the device, the progress bar, per-epoch means in a History.
"""
import sys
import time
from collections import defaultdict

import torch
from tqdm.auto import tqdm

from . import distributed, env
from .device import autocast, grad_scaler, to_device


class History(dict):
    """{metric name: [one value per epoch]}, e.g. history["loss"][-1] is the last epoch's mean loss."""

    def log(self, **values):
        for key, value in values.items():
            self.setdefault(key, []).append(float(value))

    def last(self) -> dict:
        return {key: values[-1] for key, values in self.items() if values}


def progress_enabled() -> bool:
    """Progress bars everywhere but in non-interactive runs, unless COURSE_PROGRESS says otherwise."""
    setting = env.progress()
    if setting is not None:
        return setting and distributed.is_main()
    return (sys.stderr.isatty() or "ipykernel" in sys.modules) and distributed.is_main()


def progress(iterable, desc: str, total: int | None = None):
    """`iterable` with the course's tqdm progress bar (the one `fit` shows; hidden when progress is off)."""
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=not progress_enabled())


def fit(step, loader, epochs: int, device: torch.device, *, max_steps: int | None = None,
        on_epoch_end=None, history: History | None = None, desc: str = "train") -> History:
    """Train for `epochs` passes over `loader`.

    step(batch) -> dict of scalars (tensors or floats); it does backward and optimizer.step itself.
    max_steps caps the batches per epoch (fast mode). on_epoch_end(epoch, history) may log more
    (validation accuracy, sample grids). Returns the History of per-epoch means, plus `epoch_time`.
    """
    history = History() if history is None else history
    for epoch in range(epochs):
        sums, count, start = defaultdict(float), 0, time.perf_counter()
        total = len(loader) if max_steps is None else min(len(loader), max_steps)
        bar = tqdm(loader, total=total, desc=f"{desc} {epoch + 1}/{epochs}", leave=False,
                   disable=not progress_enabled())
        for i, batch in enumerate(bar):
            if max_steps is not None and i >= max_steps:
                break
            metrics = step(to_device(batch, device))
            for key, value in metrics.items():
                sums[key] += value.detach() if torch.is_tensor(value) else value
            count += 1
            if i % 20 == 0:  # reading a value waits for the GPU: do it rarely
                bar.set_postfix({k: f"{float(v) / count:.4f}" for k, v in sums.items()})
        bar.close()
        history.log(**{k: distributed.mean(float(v) / max(count, 1)) for k, v in sums.items()},
                    epoch_time=time.perf_counter() - start)
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if distributed.is_main():
            summary = ", ".join(f"{k} {v:.1f} s" if k == "epoch_time" else f"{k} {v:.4g}"  # seconds to one decimal
                                for k, v in history.last().items())
            print(f"{desc} epoch {epoch + 1}/{epochs}: {summary}")
    return history


def supervised_step(model, optimizer, loss_fn, device: torch.device):
    """The usual step for (input, target) batches: forward under autocast, backward, update."""
    scaler = grad_scaler(device)

    def step(batch):
        x, y = batch
        model.train()
        with autocast(device):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return {"loss": loss.detach()}

    return step


@torch.no_grad()
def accuracy(model, loader, device: torch.device, max_batches: int | None = None) -> float:
    """Top-1 accuracy of a classifier over a loader of (images, labels)."""
    model.eval()
    correct = total = 0
    for i, (x, y) in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        x, y = x.to(device), y.to(device)
        with autocast(device):
            logits = model(x)
        correct += (logits.argmax(1) == y).sum().item()
        total += y.numel()
    return correct / max(total, 1)
