"""Public self-checks of lesson 01 (images as tensors, convolution from scratch, pooling)."""
import torch
import torch.nn.functional as F

from ..conv import conv2d, maxpool2d
from ..selfcheck import exercise, expect


def _close(a, b, tol=1e-4) -> bool:
    return torch.is_tensor(a) and a.shape == b.shape and torch.allclose(a.double(), b.double(), atol=tol, rtol=tol)


# ---------------------------------------------------------------- l01_conv2d
c_ex = exercise("l01_conv2d", conv2d,
                "conv2d(x (N,C,H,W) float, weight (O,C,kH,kW), bias (O,) or None, stride=1, padding=0) -> "
                "(N,O,H',W') cross-correlation as F.conv2d defines it, without any library convolution or unfold",
                forbidden=("torch.nn.functional.conv2d", "torch.nn.functional.unfold", "torch.Tensor.unfold",
                           "torch.nn.functional.conv1d", "torch.nn.functional.conv3d",
                           "torch.nn.functional.conv_transpose1d", "torch.nn.functional.conv_transpose2d",
                           "torch.nn.functional.conv_transpose3d", "torch.nn.Conv1d", "torch.nn.Conv3d",
                           "torch.nn.ConvTranspose2d", "torch.nn.Conv2d", "torch.nn.Unfold", "torch.convolution",
                           "torch._convolution",
                           "torch.ops.aten.convolution", "torch.ops.aten.im2col", "course_lib.conv.conv2d"))


def _compare(fn, x, w, b=None, stride=1, padding=0):
    out = fn(x, w, b, stride=stride, padding=padding)
    return out, F.conv2d(x, w, b, stride=stride, padding=padding)


@c_ex.test("output shape (N, O, H', W') with H' = floor((H + 2p - k)/s) + 1")
def _(fn):
    for (h, w, k, s, p) in [(7, 7, 3, 1, 0), (8, 6, 3, 2, 1), (5, 9, 2, 1, 2)]:
        x, wt = torch.randn(2, 3, h, w), torch.randn(4, 3, k, k)
        out, ref = _compare(fn, x, wt, None, s, p)
        expect(torch.is_tensor(out), "return a torch tensor")
        expect(tuple(out.shape) == tuple(ref.shape),
               f"input {tuple(x.shape)}, kernel {k}, stride {s}, padding {p} gave output shape "
               f"{tuple(out.shape)}: check the output size formula")


@c_ex.test("values for stride 1, padding 0 (one channel, asymmetric kernel: no flipping)")
def _(fn):
    x, w = torch.randn(1, 1, 6, 6), torch.randn(1, 1, 3, 3)
    out, ref = fn(x, w), F.conv2d(x, w)  # the defaults of the contract: bias=None, stride=1, padding=0
    if _close(out, ref):
        return
    # name the two classic mistakes (they also fail every later value test: one bug, one message)
    looks = ("your kernel looks flipped (a true convolution): " if _close(out, F.conv2d(x, w.flip(-2, -1))) else
             "your kernel looks transposed (rows and columns swapped, weight[..., v, u]): "
             if _close(out, F.conv2d(x, w.transpose(-2, -1))) else "")
    expect(False, f"wrong values: {looks}PyTorch's conv2d is a cross-correlation, w[u, v] multiplies "
                  "x[i + u, j + v]: u runs over rows, v over columns, and the kernel is not flipped")


@c_ex.test("multi-channel input and output, batch of images")
def _(fn):
    x, w = torch.randn(3, 4, 7, 6), torch.randn(5, 4, 3, 3)
    out, ref = _compare(fn, x, w)
    expect(_close(out, ref), "wrong values with several channels: sum over all input channels c, "
                             "one output channel per kernel o, each image of the batch on its own")


@c_ex.test("values with zero padding")
def _(fn):
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    for p in (1, 2):
        out, ref = _compare(fn, x, w, padding=p)
        expect(_close(out, ref), f"wrong values with padding={p}: pad p zeros on every side, before sliding")


@c_ex.test("values with stride")
def _(fn):
    x, w = torch.randn(1, 2, 9, 8), torch.randn(3, 2, 3, 3)
    for s, p in ((2, 0), (3, 1)):
        out, ref = _compare(fn, x, w, stride=s, padding=p)
        expect(_close(out, ref), f"wrong values with stride={s}, padding={p}: output (i, j) starts at input "
                                 "(s*i, s*j) of the padded image")


@c_ex.test("adds the bias per output channel, and accepts bias=None")
def _(fn):
    x, w, b = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3), torch.randn(4)
    out, ref = _compare(fn, x, w, b)
    expect(_close(out, ref), "wrong values with a bias: add bias[o] to every pixel of output channel o")
    out, ref = _compare(fn, x, w, None)
    expect(_close(out, ref), "wrong values with bias=None")


@c_ex.test("non-square kernels")
def _(fn):
    x = torch.randn(2, 2, 7, 8)
    for kh, kw in ((1, 3), (3, 2), (2, 5)):
        out, ref = _compare(fn, x, torch.randn(3, 2, kh, kw), stride=2, padding=1)
        expect(_close(out, ref), f"wrong values with a {kh}x{kw} kernel: kH runs over rows, kW over columns")


# ---------------------------------------------------------------- l01_maxpool2d
m_ex = exercise("l01_maxpool2d", maxpool2d,
                "maxpool2d(x (N,C,H,W), kernel: int, stride: int | None = None) -> (N,C,H',W'): the maximum of "
                "each kernel x kernel window, stride defaults to kernel, no padding; without F.max_pool2d",
                forbidden=("torch.nn.functional.max_pool2d", "torch.nn.MaxPool2d", "torch.max_pool2d",
                           "torch.nn.functional.max_pool2d_with_indices", "torch.nn.functional.adaptive_max_pool2d",
                           "torch.nn.AdaptiveMaxPool2d",
                           "torch.ops.aten.max_pool2d_with_indices", "course_lib.conv.maxpool2d"))


@m_ex.test("output shape, default stride = kernel")
def _(fn):
    for shape, k, s in (((1, 1, 8, 8), 2, None), ((2, 3, 9, 7), 3, None), ((1, 2, 9, 9), 3, 2)):
        x = torch.randn(*shape)
        out = fn(x, k) if s is None else fn(x, k, s)  # the contract's default: stride omitted -> kernel
        ref = F.max_pool2d(x, k, s)
        expect(torch.is_tensor(out), "return a torch tensor")
        expect(tuple(out.shape) == tuple(ref.shape), f"input {shape}, kernel {k}, stride {s} gave output shape "
                                                     f"{tuple(out.shape)}: stride defaults to kernel")


@m_ex.test("values: the maximum of each window (also overlapping windows, negative inputs)")
def _(fn):
    x = torch.randn(2, 3, 9, 8) - 3.0
    for k, s in ((2, None), (3, 2), (2, 1)):
        out = fn(x, k) if s is None else fn(x, k, s)
        expect(_close(out, F.max_pool2d(x, k, s)), f"wrong values with kernel {k}, stride {s}")
