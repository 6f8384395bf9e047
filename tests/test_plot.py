"""course_lib.plot: the plumbing the notebooks share (smoothing, the latent explorer, the zoom comparison)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib import dcgan, plot  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    plt.close("all")
    figures = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: figures.append(plt.gcf()))  # record instead of showing
    return figures


def test_smooth_is_a_moving_average_that_starts_short():
    values = [4.0, 0.0, 2.0, 6.0]
    assert plot.smooth(values, k=2) == pytest.approx([4.0, 2.0, 1.0, 4.0])
    assert plot.smooth(values, k=10) == pytest.approx([4.0, 2.0, 2.0, 3.0])
    assert plot.smooth([], k=3) == []


def test_latent_explorer_falls_back_to_a_static_figure_outside_jupyter(shown):
    torch.manual_seed(0)
    G = dcgan.Generator(nz=8, ngf=4).eval()
    assert not plot.live_kernel()
    result = plot.latent_explorer(G, torch.randn(3, 8), torch.randn(3, 8), steps=6)
    assert result is None and len(shown) == 1, "outside Jupyter the explorer should draw one static figure"
    assert shown[0].axes and shown[0].axes[0].images, "the static figure shows no images"
    grid = shown[0].axes[0].images[0].get_array()
    assert grid.shape[0] > grid.shape[1], "four rows (steps) of three digits (codes) expected"


def test_zoom_compare_draws_every_method_and_hr(shown):
    hr = {"a": torch.rand(3, 40, 40), "b": torch.rand(3, 30, 50)}
    outputs = {"bicubic": {k: v * 0.5 for k, v in hr.items()}, "model": dict(hr)}
    assert plot.zoom_compare(outputs, hr, size=16) is None
    assert len(shown) == 1 and [ax.get_title() for ax in shown[0].axes] == ["bicubic", "model", "HR"]
    assert shown[0].axes[0].images[0].get_array().shape[:2] == (16, 16)


def test_plot_confusion_labels_its_axes():
    cm = torch.tensor([[5, 1], [0, 4]])
    ax = plot.plot_confusion(cm, "toy")
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true" and ax.get_title() == "toy"
    assert [t.get_text() for t in ax.texts] == ["5", "1", "4"]
