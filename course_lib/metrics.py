"""How super-resolution is measured: PSNR and SSIM on the Y (luma) channel, as the SR papers report them.

Convention of the papers (SRCNN, VDSR, EDSR, SRGAN, ...): convert to Y of ITU-R BT.601 YCbCr (MATLAB's
`rgb2ycbcr`), crop `scale` pixels from every border, then compute
  PSNR = 10 log10(L^2 / MSE)                                    (L = data range, 1 for images in [0,1])
  SSIM = mean over 11x11 Gaussian windows (sigma 1.5) of
         (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
         C1 = (0.01 L)^2, C2 = (0.03 L)^2                       (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004)
SSIM is computed on "valid" windows only (no padding), like Wang's `ssim_index.m` and scikit-image.

For the perception side (lesson 08) two texture proxies, SR relative to HR: sharpness (mean |grad Y|, Sobel) and
high-frequency energy (the share of the Y spectrum's energy above half the Nyquist frequency).
"""
import torch
import torch.nn.functional as F
from kornia.filters import spatial_gradient

from .degrade import quantize

# BT.601 for R, G, B in [0,1]: Y in [16, 235] (MATLAB rgb2ycbcr), returned / 255.
Y_OFFSET = 16.0
Y_COEFFS = (65.481, 128.553, 24.966)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0,1] -> (..., 1, H, W) BT.601 luma Y / 255, in [16/255, 235/255]."""
    if x.dim() < 3 or x.shape[-3] != 3:
        raise ValueError(f"rgb_to_y expects RGB images (..., 3, H, W), got shape {tuple(x.shape)}")
    r, g, b = x.unbind(dim=-3)
    y = Y_OFFSET + Y_COEFFS[0] * r + Y_COEFFS[1] * g + Y_COEFFS[2] * b
    return (y / 255.0).unsqueeze(-3)


# The full BT.601 transform (MATLAB rgb2ycbcr / ycbcr2rgb), for models that work on Y only (SRCNN, ESPCN):
# they super-resolve Y, and Cb, Cr come from the bicubic image.
YCBCR_MATRIX = torch.tensor([[65.481, 128.553, 24.966],
                             [-37.797, -74.203, 112.0],
                             [112.0, -93.786, -18.214]], dtype=torch.float64)
YCBCR_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0,1] -> BT.601 YCbCr / 255 (channel 0 is `rgb_to_y`)."""
    m, offset = YCBCR_MATRIX.to(x), YCBCR_OFFSET.to(x)
    return (torch.einsum("ij,...jhw->...ihw", m, x) + offset[:, None, None]) / 255.0


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_ycbcr` (not clamped)."""
    m_inv, offset = torch.linalg.inv(YCBCR_MATRIX).to(x), YCBCR_OFFSET.to(x)
    return torch.einsum("ij,...jhw->...ihw", m_inv, x * 255.0 - offset[:, None, None])


def _as_batch(a: torch.Tensor, b: torch.Tensor, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dim() not in (3, 4):
        raise ValueError(f"expected (C,H,W) or (B,C,H,W) images, got shape {tuple(a.shape)}")
    if crop:
        if min(a.shape[-2:]) <= 2 * crop:
            raise ValueError(f"crop={crop} removes the whole {a.shape[-2]}x{a.shape[-1]} image")
        a, b = a[..., crop:-crop, crop:-crop], b[..., crop:-crop, crop:-crop]
    if a.dim() == 3:
        a, b = a.unsqueeze(0), b.unsqueeze(0)
    return a.double(), b.double()


def _reduce(values: torch.Tensor, reduction: str):
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean().item()
    raise ValueError(f"reduction must be 'mean' or 'none', not {reduction!r}")


def psnr(a: torch.Tensor, b: torch.Tensor, crop: int = 0, data_range: float = 1.0, reduction: str = "mean"):
    """Peak signal-to-noise ratio in dB, 10 log10(data_range^2 / MSE), per image.

    a, b: (C,H,W) or (B,C,H,W); `crop` pixels are removed from every border first. Returns the mean over
    the batch as a float (reduction="mean"), or the per-image PSNRs as a (B,) tensor (reduction="none").
    Identical images give inf.
    """
    a, b = _as_batch(a, b, crop)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return _reduce(10 * torch.log10(data_range**2 / mse), reduction)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The (size, size) Gaussian weights of SSIM, summing to 1."""
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-t**2 / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(a: torch.Tensor, b: torch.Tensor, crop: int = 0, data_range: float = 1.0, reduction: str = "mean",
         window: int = 11, sigma: float = 1.5):
    """Structural similarity (Wang et al. 2004) with an 11x11 Gaussian window, sigma 1.5, valid windows only.

    Local means, variances and covariance are Gaussian-weighted averages; the SSIM map is averaged over
    pixels and channels of each image. Shapes, `crop` and `reduction` as in `psnr`.
    """
    a, b = _as_batch(a, b, crop)
    if min(a.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images of at least {window}x{window} pixels, got {tuple(a.shape[-2:])}")
    c = a.shape[1]
    w = gaussian_window(window, sigma).to(a.device).expand(c, 1, window, window)

    def blur(t):
        return F.conv2d(t, w, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return _reduce(ssim_map.flatten(1).mean(dim=1), reduction)


def sr_scores(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> dict:
    """The SR papers' numbers: {"psnr": dB, "ssim": ...} on Y, border crop = scale, after 8-bit quantisation.

    sr, hr: RGB (3 channels) or already Y (1 channel), (C,H,W) or (B,C,H,W) in [0,1]; the batch mean is returned.
    """
    sr, hr = quantize(sr), quantize(hr)
    if sr.shape[-3] == 3:
        sr = rgb_to_y(sr)
    if hr.shape[-3] == 3:
        hr = rgb_to_y(hr)
    return {"psnr": psnr(sr, hr, crop=scale), "ssim": ssim(sr, hr, crop=scale)}


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """|grad Y| per pixel of images (B,C,H,W) or (C,H,W), RGB or Y: (B,1,H,W). Normalised Sobel kernels (/8,
    `kornia.filters.spatial_gradient`); the outermost pixels see a replicated border."""
    x = x if x.dim() == 4 else x[None]
    y = rgb_to_y(x) if x.shape[-3] == 3 else x
    g = spatial_gradient(y, mode="sobel", order=1, normalized=True)  # (B,1,2,H,W): d/dx, d/dy
    return g.square().sum(dim=2).sqrt()


def sharpness_ratio(sr: torch.Tensor, hr: torch.Tensor, crop: int = 4) -> float:
    """mean |grad Y| of SR / of HR, ignoring `crop` + 1 border pixels (the +1: no gradient reads the padding):
    < 1 too smooth (blur), 1 as much detail as HR (which says nothing about whether that detail is right; PSNR
    does). sr, hr: RGB or Y, (C,H,W) or (B,C,H,W)."""
    b = crop + 1
    g_sr, g_hr = gradient_magnitude(sr)[..., b:-b, b:-b], gradient_magnitude(hr)[..., b:-b, b:-b]
    return (g_sr.mean() / g_hr.mean()).item()


def high_frequency_share(x: torch.Tensor, crop: int = 4) -> float:
    """The share of |FFT2(Y - mean Y)|^2 above half the Nyquist frequency along either axis, for images (C,H,W) or
    (B,C,H,W), RGB or Y, without `crop` border pixels."""
    y = rgb_to_y(x) if x.shape[-3] == 3 else x
    y = y[..., crop:-crop, crop:-crop] if crop else y
    y = y - y.mean()
    power = torch.fft.fftshift(torch.fft.fft2(y.double()), dim=(-2, -1)).abs().square()
    h, w = power.shape[-2:]
    fy, fx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    return (power[..., (fy.abs() > 0.5) | (fx.abs() > 0.5)].sum() / power.sum()).item()


def high_frequency_ratio(sr: torch.Tensor, hr: torch.Tensor, crop: int = 4) -> float:
    """`high_frequency_share` of SR / of HR: < 1 fewer fine details than HR, 1 as many, > 1 more (noise, artefacts)."""
    return high_frequency_share(sr, crop) / high_frequency_share(hr, crop)
