"""The Pix2Pix generator: a U-Net (Isola et al. 2017, Sec. 3.2.1 and Appendix 6.1.1; Ronneberger et al. 2015).

    encoder  C64-C128-C256-C512-C512-C512-C512-C512        Ck = Conv 4x4 stride 2 - BatchNorm - LeakyReLU(0.2)
    decoder  CD512-CD512-CD512-C512-C256-C128-C64 -> out  CDk = ConvTranspose 4x4 stride 2 - BatchNorm - Dropout(0.5)
                                                                 - ReLU; the last layer maps to the output channels
                                                                 followed by Tanh
    no BatchNorm in the first encoder layer (the paper) nor in the innermost one (the authors' code)

"The U-Net is an encoder-decoder with skip connections between mirrored layers" (Fig. 3): with encoder layers
e_0..e_{d-1} and decoder layers u_0..u_{d-2}, u_j restores the size and channels of e_{d-2-j}; its output is
concatenated (channels add up) with the output of that same-size encoder layer e_{d-2-j}, and the concatenation is
the input of the next layer, u_{j+1} or the output layer. So u_0 reads e_{d-1} (the bottleneck) alone and u_j
(j > 0) reads [u_{j-1}, e_{d-1-j}]: 2 c_{d-1-j} channels (the paper's U-Net decoder CD512-CD1024-...-C128 counts
these concatenated channels). Low-level information (here: where the region boundaries are) shuttles across the
net instead of squeezing through the 1x1 bottleneck. `skips=False` is the paper's plain encoder-decoder (its Fig. 5 /
Table 2 ablation).

The paper's net has 8 levels for 256x256 images (256 / 2^8 = 1); ours has `depth` levels (6 for 64x64) and
channels `width`, 2 width, 4 width, 8 width, 8 width, ... (width 64 is the paper's). Images are in [0,1] here
(the course's convention), mapped to [-1,1] on the way in and back on the way out (the paper's Tanh range).
"""
import torch
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    """"batch" (the paper), "instance" (the paper's test-time behaviour with batch size 1), or "none"."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch', 'instance' or 'none', not {kind!r}")


def encoder_widths(width: int, depth: int) -> list[int]:
    """Channels of the encoder layers: width, 2w, 4w, 8w, 8w, ... (doubling until 8 width, as C64..C512)."""
    return [width * min(2 ** i, 8) for i in range(depth)]


class UNet(nn.Module):
    """U-Net generator: (B,in_channels,H,W) in [0,1] -> (B,out_channels,H,W) in [0,1], H and W divisible by
    2^depth. `dropout` in the innermost three decoder layers is the paper's only source of noise (Sec. 3.1)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 32, depth: int = 6,
                 skips: bool = True, dropout: float = 0.5, norm: str = "batch"):
        super().__init__()
        widths = encoder_widths(width, depth)
        self.skips, self.depth = skips, depth
        self.down = nn.ModuleList()
        c_in = in_channels
        for i, c in enumerate(widths):
            plain = i == 0 or i == depth - 1   # no norm in the first layer and at the 1x1 bottleneck
            self.down.append(nn.Sequential(nn.Conv2d(c_in, c, 4, 2, 1, bias=plain),
                                           nn.Identity() if plain else norm_layer(norm, c), nn.LeakyReLU(0.2)))
            c_in = c
        self.up = nn.ModuleList()
        for j, c in enumerate(reversed(widths[:-1])):   # decoder layer j produces encoder layer depth-2-j's size
            c_in = widths[-1] if j == 0 else widths[depth - 1 - j] * (2 if skips else 1)
            self.up.append(nn.Sequential(nn.ConvTranspose2d(c_in, c, 4, 2, 1, bias=False), norm_layer(norm, c),
                                         nn.Dropout(dropout if j < 3 else 0.0), nn.ReLU()))
        self.out = nn.ConvTranspose2d(widths[0] * (2 if skips else 1), out_channels, 4, 2, 1)

    def forward(self, x):
        x = x * 2 - 1
        features = []
        for layer in self.down:
            x = layer(x)
            features.append(x)
        for j, layer in enumerate(self.up):
            if j > 0 and self.skips:                        # concatenate the mirrored encoder layer
                x = torch.cat([x, features[self.depth - 1 - j]], 1)
            x = layer(x)
        if self.skips:
            x = torch.cat([x, features[0]], 1)
        return (torch.tanh(self.out(x)) + 1) / 2
