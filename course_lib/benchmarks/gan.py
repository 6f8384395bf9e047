"""DCGAN: classifier IS, Frechet distance, class coverage; loop throughput.

The shipped generator (checkpoints/dcgan_mnist.pt) against the real-vs-real floor, measured with the lesson-02
classifier (course_lib.gan_metrics), and the images/s of course_lib.loop.fit against a hand-written loop.
"""
import time

import torch
import torch.nn.functional as F

from .. import dcgan
from ..checkpoint import load_model
from ..data import mnist_tensors
from ..gan_metrics import classify, report, sample
from ..loop import fit


def _throughput(n_steps: int = 60, batch_size: int = 64) -> tuple[float, float]:
    """images/s of course_lib.loop.fit + dcgan.gan_step vs a hand-written loop, same model and batch."""
    device = torch.device("cpu")
    x = torch.rand(batch_size * n_steps, 1, 28, 28)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(len(x))),
                                         batch_size=batch_size)
    rates = []
    for kind in ("plain", "course_lib", "plain", "course_lib"):
        torch.manual_seed(0)
        G, D = dcgan.Generator(), dcgan.Discriminator()
        opt_g, opt_d = dcgan.optimizers(G, D)
        start = time.perf_counter()
        if kind == "plain":
            for real, _ in loader:
                real = real * 2 - 1
                z = torch.randn(real.shape[0], G.nz)
                fake = G(z)
                loss_d = (F.binary_cross_entropy_with_logits(D(real), torch.ones(real.shape[0]))
                          + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(real.shape[0])))
                opt_d.zero_grad(); loss_d.backward(); opt_d.step()
                loss_g = F.binary_cross_entropy_with_logits(D(fake), torch.ones(real.shape[0]))
                opt_g.zero_grad(); loss_g.backward(); opt_g.step()
        else:
            fit(dcgan.gan_step(G, D, opt_g, opt_d), loader, 1, device, desc="bench")
        rates.append((kind, len(x) / (time.perf_counter() - start)))
    plain = max(r for k, r in rates if k == "plain")
    ours = max(r for k, r in rates if k == "course_lib")
    return plain, ours


def measure(argv=None) -> dict:
    """IS / FD / class shares of the shipped DCGAN and of real training digits (the floor), n = 10,000 each, vs the
    MNIST test features; training throughput of course_lib's loop vs a plain one."""
    n = 10_000
    clf, _ = load_model("mnist_cnn")
    G, meta = load_model("dcgan_mnist")
    test_x, _ = mnist_tensors(train=False, n=n)
    train_x, _ = mnist_tensors(train=True, n=n)
    test_feats, _ = classify(clf, test_x)
    plain, ours = _throughput()
    return {"checkpoints": ["mnist_cnn", "dcgan_mnist"], "n": n, "epochs": meta.get("metrics", {}).get("epochs"),
            "real": report(clf, train_x, test_feats), "dcgan": report(clf, sample(G, n), test_feats),
            "plain_images_per_s": plain, "course_lib_images_per_s": ours, "threads": torch.get_num_threads()}


def show(r: dict) -> None:
    rows = {"real train vs test (floor)": r["real"], f"DCGAN checkpoint ({r['epochs'] or '?'} epochs)": r["dcgan"]}
    print(f"{'':<32} {'IS':>6} {'FD':>9} {'min class':>10} {'max class':>10}   (n={r['n']}, vs MNIST test features)")
    for name, v in rows.items():
        print(f"{name:<32} {v['IS']:6.2f} {v['FD']:9.3f} {v['min_class']:10.3f} {v['max_class']:10.3f}")
    print("targets for the shipped DCGAN: IS >= 9.0, every digit between 0.05 and 0.15 of the samples")
    plain, ours = r["plain_images_per_s"], r["course_lib_images_per_s"]
    print(f"training throughput (CPU, batch 64, {r['threads']} threads): plain loop {plain:.0f} img/s, "
          f"course_lib loop {ours:.0f} img/s, ratio {ours / plain:.2f} (target >= 0.95)")


def main(argv=None) -> int:
    show(measure(argv))
    return 0
