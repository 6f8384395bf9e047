"""Plotting helpers: image grids and training curves (matplotlib; headless-safe)."""
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
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


def plot_history(history: dict, keys=None, title: str | None = None, ax=None, ylabel: str | None = None):
    """Plot per-epoch curves from a History (or any {name: list}); the y label defaults to the keys plotted."""
    keys = keys or [k for k in history if k != "epoch_time"]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or ", ".join(keys))
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def smooth(values, k: int = 20) -> list[float]:
    """Moving average over the last k values (fewer at the start), for noisy per-step curves."""
    v = torch.as_tensor(values, dtype=torch.float64)
    c = torch.cat([torch.zeros(1, dtype=torch.float64), v.cumsum(0)])
    i = torch.arange(1, len(v) + 1)
    return ((c[i] - c[(i - k).clamp(min=0)]) / i.clamp(max=k)).tolist()


def live_kernel() -> bool:
    """True inside a running Jupyter kernel, where ipywidgets can render."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def latent_explorer(G, z_start: torch.Tensor, z_end: torch.Tensor, steps: int = 16):
    """A slider over z_t = (1 - t) z_start + t z_end through generator G (outputs in [-1, 1]), one row of images per
    step; outside a live Jupyter kernel (a script, a static HTML page) it draws four steps as one figure."""
    ts = torch.linspace(0, 1, steps)

    @torch.no_grad()
    def frame(i):
        t = float(ts[i])
        return G((1 - t) * z_start + t * z_end).cpu()

    def show(step=0):
        show_images(frame(step), nrow=len(z_start), value_range=(-1, 1), title=f"t = {float(ts[step]):.2f}")
        plt.show()

    if live_kernel():
        import ipywidgets as widgets
        widgets.interact(show, step=widgets.IntSlider(value=0, min=0, max=steps - 1, description="step"))
        return None  # interact returns the function: returning it would echo its repr under the widget
    picks = [0, steps // 3, 2 * steps // 3, steps - 1]
    show_images(torch.cat([frame(i) for i in picks]), nrow=len(z_start), value_range=(-1, 1),
                title="t = " + ", ".join(f"{float(ts[i]):.2f}" for i in picks) + " (rows)")
    plt.show()
    return None


def detail_window(reference: torch.Tensor, hr: torch.Tensor, size: int) -> tuple[int, int]:
    """(top, left) of the size x size window where `reference` (e.g. bicubic) differs most from `hr`: where SR
    methods differ (textures, edges), not flat regions. Both (C, H, W); searched on a grid of 4 pixels."""
    error = F.avg_pool2d((reference - hr).abs().mean(0)[None, None], size, stride=4)[0, 0]
    row, col = divmod(int(error.argmax()), error.shape[-1])
    return 4 * row, 4 * col


def zoom_compare(outputs: dict, hr_images: dict, size: int = 64):
    """Side by side, for a photo and a zoom window chosen with widgets: {method: {photo: image}} and the HR photos.
    Opens on the first photo's window where the first method (bicubic) errs most; outside a live Jupyter kernel it
    draws that one static figure."""
    def draw(image, top, left, size=size):
        hr = hr_images[image]
        size = min(size, *hr.shape[-2:])
        top, left = min(top, hr.shape[-2] - size), min(left, hr.shape[-1] - size)
        show_row({**{name: out[image] for name, out in outputs.items()}, "HR": hr}, zoom=(top, left, size, size),
                 figsize=(13, 3.6))
        plt.show()

    first = next(iter(hr_images))
    top, left = detail_window(next(iter(outputs.values()))[first], hr_images[first],
                              min(size, *hr_images[first].shape[-2:]))
    if not live_kernel():
        draw(first, top, left)
        return None
    import ipywidgets as widgets
    largest = max(max(v.shape[-2:]) for v in hr_images.values())
    widgets.interact(draw, image=widgets.Dropdown(options=list(hr_images)),
                     top=widgets.IntSlider(top, 0, largest, 8), left=widgets.IntSlider(left, 0, largest, 8),
                     size=widgets.IntSlider(size, 32, 256, 16))
    return None


def plot_confusion(cm: torch.Tensor, title: str, ax=None):
    """A confusion matrix (rows: true class, columns: predicted) on a log colour scale, with its counts."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    n = cm.shape[0]
    ax.imshow(cm.float().log1p(), cmap="Blues")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7, color="white" if i == j else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax
