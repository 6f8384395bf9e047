"""Plotting helpers: image grids and training curves (matplotlib; headless-safe)."""
import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid


def to_image(x: torch.Tensor):
    """(C,H,W) or (H,W) tensor -> array matplotlib can show (H,W) or (H,W,3), clipped to [0,1]."""
    x = x.detach().float().cpu().clamp(0, 1)
    if x.dim() == 3:
        x = x[0] if x.shape[0] == 1 else x.permute(1, 2, 0)
    return x.numpy()


def show_images(images, nrow: int = 8, title: str | None = None, ax=None, value_range=(0, 1)):
    """Show a batch (B,C,H,W) or list of images as one grid. `value_range=(-1, 1)` for tanh outputs."""
    if isinstance(images, (list, tuple)):
        images = torch.stack([im if im.dim() == 3 else im[None] for im in images])
    lo, hi = value_range
    grid = make_grid(((images.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1), nrow=nrow, padding=2, pad_value=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12, nrow * 1.2), min(12, (len(images) + nrow - 1) // nrow * 1.2 + 0.4)))
    ax.imshow(to_image(grid), cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_row(images: dict, zoom=None, figsize=None):
    """Show named images side by side, e.g. {"bicubic": a, "SRCNN": b}; zoom=(top, left, h, w) crops."""
    fig, axes = plt.subplots(1, len(images), figsize=figsize or (3.2 * len(images), 3.4), squeeze=False)
    for ax, (name, im) in zip(axes[0], images.items()):
        if zoom is not None:
            t, l, h, w = zoom
            im = im[..., t:t + h, l:l + w]
        ax.imshow(to_image(im), cmap="gray", interpolation="nearest")
        ax.set_title(name)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_history(history: dict, keys=None, title: str | None = None, ax=None):
    """Plot per-epoch curves from a History (or any {name: list})."""
    keys = keys or [k for k in history if k != "epoch_time"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax
