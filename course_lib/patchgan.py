"""The Pix2Pix discriminator: a conditional PatchGAN (Isola et al. 2017, Sec. 3.2.2 and Appendix 6.1.2).

    70x70 PatchGAN:  C64-C128-C256-C512 -> conv to 1 channel     (C64 without BatchNorm, LeakyReLU(0.2))
                     4x4 convolutions; stride 2 in the first three, stride 1 in the last two

Instead of one real/fake logit per image it outputs a map of logits, each judging one N x N patch (its receptive
field): "This discriminator tries to classify if each N x N patch in an image is real or fake. We run this
discriminator convolutionally across the image, averaging all responses." It only models high frequencies (the L1
term takes care of the low ones), has fewer parameters and runs on any image size. It is conditional: it sees the
input x and the (real or generated) output y, concatenated along the channels.

`n_layers` stride-2 layers: 1 -> 16x16 patches, 2 -> 34x34, 3 -> 70x70 (the paper's default), and
`receptive_field` computes N for any stack of convolutions.
"""
import torch
from torch import nn

from .unet import norm_layer


class PatchGAN(nn.Module):
    """D(x, y): input x (B,in_channels,H,W) and output y (B,out_channels,H,W) -> patch logits (B,1,h,w)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64, n_layers: int = 3,
                 norm: str = "batch"):
        super().__init__()
        layers, c_in = [], in_channels + out_channels
        for i in range(n_layers + 1):   # n_layers with stride 2, then one with stride 1 (C512 of the 70x70 net)
            c = width * min(2 ** i, 8)
            layers += [nn.Conv2d(c_in, c, 4, 2 if i < n_layers else 1, 1, bias=i == 0),
                       nn.Identity() if i == 0 else norm_layer(norm, c), nn.LeakyReLU(0.2)]
            c_in = c
        layers.append(nn.Conv2d(c_in, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x, y):
        return self.net(torch.cat([x, y], 1) * 2 - 1)


def receptive_field(model_or_layers) -> int:
    """Receptive field (in input pixels) of one output unit of a stack of convolutions: a model (its Conv2d layers
    in order) or a list of (kernel, stride) pairs. Walking back from one output pixel, each layer turns r pixels
    into (r - 1) * stride + kernel."""
    if isinstance(model_or_layers, nn.Module):
        layers = [(m.kernel_size[0], m.stride[0]) for m in model_or_layers.modules() if isinstance(m, nn.Conv2d)]
    else:
        layers = list(model_or_layers)
    r = 1
    for kernel, stride in reversed(layers):
        r = (r - 1) * stride + kernel
    return r


PAPER_70x70 = [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]   # C64-C128-C256-C512-out
