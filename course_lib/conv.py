"""Convolution and pooling from scratch (lesson 01), as PyTorch defines them.

PyTorch's "convolution" is a cross-correlation (the kernel is not flipped):

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * x_pad[n, c, s*i + u, s*j + v]

with stride s and zero padding p, so the output has floor((H + 2p - k) / s) + 1 rows
(Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning", relationship 6).
"""
import torch
import torch.nn.functional as F


def output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int = 1, padding: int = 0) -> torch.Tensor:
    """(N,C,H,W) * (O,C,kH,kW) -> (N,O,H',W'): one shifted, strided view of x per kernel tap."""
    n, c, h, w = x.shape
    o, c_w, kh, kw = weight.shape
    if c != c_w:
        raise ValueError(f"x has {c} channels but weight expects {c_w}: weight must be (O, C, kH, kW)")
    x = F.pad(x, (padding, padding, padding, padding))
    oh, ow = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    out = x.new_zeros(n, o, oh, ow)
    for u in range(kh):
        for v in range(kw):
            patch = x[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]  # (N,C,H',W')
            out += torch.einsum("nchw,oc->nohw", patch, weight[:, :, u, v])
    if bias is not None:
        out += bias.view(1, o, 1, 1)
    return out


def maxpool2d(x: torch.Tensor, kernel: int, stride: int | None = None) -> torch.Tensor:
    """(N,C,H,W) -> (N,C,H',W'): the maximum of each kernel x kernel window (stride defaults to kernel)."""
    stride = stride or kernel
    oh, ow = output_size(x.shape[-2], kernel, stride), output_size(x.shape[-1], kernel, stride)
    taps = [x[..., u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]
            for u in range(kernel) for v in range(kernel)]
    return torch.stack(taps).amax(dim=0)


def receptive_field(layers) -> list[int]:
    """Receptive field after each layer of a stack [(kernel, stride), ...]:
    r_l = r_{l-1} + (k_l - 1) * prod_{i<l} s_i  (Araujo et al. 2019, Distill)."""
    r, jump, fields = 1, 1, []
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
        fields.append(r)
    return fields
