"""MNIST classifier test accuracy (shipped checkpoint).

Test accuracy, overall and per digit, of checkpoints/mnist_cnn.pt on the 10,000 MNIST test images, and its
inference throughput.
"""
import time

import torch

from .. import data
from ..checkpoint import load_model, resolve
from ..classifier import evaluate
from ..device import autocast, get_device


def measure(argv=None) -> dict:
    """Accuracy overall and per digit on the 10,000 test images, and images/s; with the checkpoint's metadata."""
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
    return {"checkpoints": ["mnist_cnn"], "accuracy": acc, "test_images": len(labels),
            "per_digit": {d: {"images": int((labels == d).sum()), "accuracy": (preds[labels == d] == d).float().mean().item()}
                          for d in range(10)},
            "images_per_s": runs * len(x) / seconds, "device": str(device), "threads": torch.get_num_threads(),
            "megabytes": resolve("mnist_cnn").stat().st_size / 1e6,
            "parameters": sum(p.numel() for p in model.parameters()), "trained": meta["metrics"]}


def show(r: dict) -> None:
    m = r["trained"]
    print(f"course_lib/checkpoints/mnist_cnn.pt: {r['megabytes']:.2f} MB, {r['parameters']:,} parameters, trained "
          f"{m.get('train_seconds')} s on {m.get('device')} with {m.get('recipe')}")
    rows = [(f"test accuracy ({r['test_images']:,} images)", f"{r['accuracy']:.4f}")]
    rows += [(f"  digit {d} ({v['images']} images)", f"{v['accuracy']:.4f}") for d, v in r["per_digit"].items()]
    rows.append((f"inference images/s ({r['device']}, batch 512, {r['threads']} threads)", f"{r['images_per_s']:.0f}"))
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  {'value':>8}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>8}")


def main(argv=None) -> int:
    show(measure(argv))
    return 0
