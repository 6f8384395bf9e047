"""The degradation y = H(x) of super-resolution: how low-resolution images are made, and the baselines.

The SR papers (SRCNN, VDSR, EDSR, SRGAN, ...) make LR images with MATLAB's `imresize(hr, 1/s, 'bicubic')`:
Keys' cubic convolution kernel (a = -0.5), *widened by s* when shrinking so that it also low-pass filters
(antialiasing), with symmetric (mirror) padding at the borders. `imresize` below reproduces it as two matrix
products, one per axis: out = W_h @ x @ W_w^T, where row i of W holds the kernel weights of the input pixels
that output pixel i reads. `F.interpolate(mode="bicubic")` is a different operator (a = -0.75, and no
antialiasing unless `antialias=True`), which is why LR images made with it give numbers that disagree with
the papers (lesson 06 measures by how much).

References: R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 1981;
MATLAB `imresize.m` (functions `cubic` and `contributions`).
"""
import math

import torch
import torch.nn.functional as F


def cubic(x: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel (support [-2, 2]); a = -0.5 as in MATLAB, PyTorch uses a = -0.75."""
    x = x.abs()
    near = ((a + 2) * x**3 - (a + 3) * x**2 + 1) * (x <= 1)
    far = (a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a) * ((x > 1) & (x <= 2))
    return near + far


def output_size(length: int, scale: float) -> int:
    """ceil(length * scale), as MATLAB; the tiny tolerance keeps e.g. 255 * (1/3) at 85, not 86."""
    return max(1, math.ceil(length * scale - 1e-9))


def resize_matrix(in_length: int, scale: float, antialias: bool = True, a: float = -0.5) -> torch.Tensor:
    """The (out_length, in_length) float64 matrix of MATLAB's bicubic `imresize` along one axis.

    Output pixel i (1-based, as in MATLAB) sits at input coordinate u = i / s + (1 - 1/s) / 2 (pixel centres
    line up). It reads the input pixels j within the kernel's reach, with weight h(u - j), normalised to sum 1.
    When shrinking (s < 1) with antialiasing the kernel is stretched, h(x) = s * cubic(s * x), so its
    support widens from 4 to 4/s input pixels. Indices outside [1, in_length] are mirrored back
    (symmetric padding: ... 2 1 | 1 2 3 ... n | n n-1 ...), so their weight goes to the mirrored pixel.
    """
    out_length = output_size(in_length, scale)
    width = 4.0
    if scale < 1 and antialias:
        kernel, width = (lambda t: scale * cubic(scale * t, a)), width / scale
    else:
        kernel = lambda t: cubic(t, a)  # noqa: E731
    i = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = i / scale + 0.5 * (1 - 1 / scale)                        # input coordinate of each output pixel
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    j = left[:, None] + torch.arange(taps, dtype=torch.float64)   # (out, taps) candidate input pixels
    weights = kernel(u[:, None] - j)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # symmetric padding: map j (1-based, any integer) into [1, n] by mirroring, period 2n
    n = in_length
    k = torch.remainder(j - 1, 2 * n).long()
    index = torch.where(k < n, k, 2 * n - 1 - k)                  # 0-based
    matrix = torch.zeros(out_length, in_length, dtype=torch.float64)
    matrix.scatter_add_(1, index, weights)
    return matrix


def imresize(x: torch.Tensor, scale: float, antialias: bool = True) -> torch.Tensor:
    """MATLAB-compatible bicubic resize of float images (C,H,W) or (B,C,H,W) by `scale`.

    Output size is (ceil(H*scale), ceil(W*scale)). Values are NOT clamped: bicubic overshoots a little
    past [0,1] at sharp edges; clamp (and quantise) yourself when you want a saved image, as `make_lr` does.
    MATLAB on uint8 input also rounds to uint8 between the two axes; we stay in float throughout, which
    changes the bicubic baseline's PSNR by less than 0.01 dB (measured in lesson 06).
    """
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise TypeError("imresize expects a float tensor in [0,1] (C,H,W) or (B,C,H,W); "
                        "convert uint8 images with x.float() / 255")
    if x.dim() not in (3, 4):
        raise ValueError(f"imresize expects (C,H,W) or (B,C,H,W), got shape {tuple(x.shape)}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    h, w = x.shape[-2:]
    wh = resize_matrix(h, scale, antialias).to(x)
    ww = resize_matrix(w, scale, antialias).to(x)
    return wh @ x @ ww.T


def mod_crop(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right so that H and W are multiples of `scale` (then H/s x W/s LR is exact)."""
    h, w = hr.shape[-2:]
    if h < scale or w < scale:
        raise ValueError(f"image of size {h}x{w} is smaller than the scale factor {scale}")
    return hr[..., : h - h % scale, : w - w % scale]


def quantize(x: torch.Tensor) -> torch.Tensor:
    """What saving as an 8-bit image does: clamp to [0,1] and round to multiples of 1/255."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def make_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The LR image of the SR papers: MATLAB bicubic downscaling of the mod-cropped HR, saved as 8-bit."""
    return quantize(imresize(mod_crop(hr, scale), 1 / scale))


UPSAMPLE_MODES = ("nearest", "bilinear", "bicubic", "matlab")


def upsample(lr: torch.Tensor, scale: int, mode: str = "bicubic") -> torch.Tensor:
    """Classical SR baselines: enlarge `lr` (C,H,W) or (B,C,H,W) by `scale`, clamped to [0,1].

    "nearest", "bilinear", "bicubic" are PyTorch's `F.interpolate` (bicubic with a = -0.75);
    "matlab" is MATLAB's bicubic `imresize` (a = -0.5), the "Bicubic" row of the SR papers' tables.
    """
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"mode must be one of {UPSAMPLE_MODES}, not {mode!r}")
    if mode == "matlab":
        return imresize(lr, scale).clamp(0, 1)
    batched = lr.dim() == 4
    x = lr if batched else lr.unsqueeze(0)
    size = (round(x.shape[-2] * scale), round(x.shape[-1] * scale))
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    y = F.interpolate(x, size=size, mode=mode, **kwargs).clamp(0, 1)
    return y if batched else y.squeeze(0)
