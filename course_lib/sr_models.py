"""The first CNNs for super-resolution (lesson 07): SRCNN works in HR space, ESPCN in LR space.

SRCNN (Dong, Loy, He, Tang, "Image super-resolution using deep convolutional networks", ECCV 2014 / TPAMI 2016)
    input: the bicubic-upsampled LR image Y (H, W) -> three convolutions, all at HR resolution:
    F1 = ReLU(W1 * Y + B1)   f1 = 9, n1 = 64   patch extraction and representation
    F2 = ReLU(W2 * F1 + B2)  f2 = 1 or 5, n2 = 32   non-linear mapping ("9-1-5" and "9-5-5")
    F  = W3 * F2 + B3        f3 = 5             reconstruction
ESPCN (Shi et al., "Real-time single image and video SR using an efficient sub-pixel CNN", CVPR 2016)
    input: the LR image itself (H/r, W/r) -> 5x5 conv (64), tanh, 3x3 conv (32), tanh, 3x3 conv (C r^2),
    then the periodic shuffle PS: (C r^2, H/r, W/r) -> (C, H, W), out[c, r y + i, r x + j] = in[c r^2 + r i + j, y, x]
    (`nn.PixelShuffle(r)`): all convolutions run on r^2 times fewer pixels than SRCNN's.

The shipped checkpoints add one change each, measured in lesson 07 (our CPU budget is minutes, not the papers' days):
`residual=True` predicts only the missing detail, output = bicubic + network (VDSR's global residual learning,
Kim et al., CVPR 2016), and ESPCN uses ReLU instead of tanh (`activation="relu"`). The defaults are the papers'.

Both papers train and score on Y (BT.601 luma) only, and so do we (channels = 1; `sr_eval` super-resolves Y and
takes Cb, Cr from the bicubic image). Convolutions are zero-padded ("same"), so the output has the input's size
(the papers used unpadded convolutions and scored the centre). The course convention (`sr_eval`): `scale`,
`channels`, and `upsample_first` (True: the model takes the bicubic-upsampled image).

Shipped: checkpoints/srcnn_x3.pt and espcn_x3.pt, reproduced with `python -m course_lib.train srcnn|espcn`
(course_lib/recipes/: Adam instead of the papers' SGD, MSE on random 8-bit-degraded Y patches of the bundled photos
and their downscaled copies, `course_lib.sr_data`); measured with `python -m course_lib.benchmark sr`.
"""
import torch
import torch.nn.functional as F
from torch import nn



class SRCNN(nn.Module):
    """SRCNN f1-f2-f3 (default 9-5-5, n1 = 64, n2 = 32): bicubic-upsampled (B,C,H,W) -> (B,C,H,W).

    residual=True (VDSR, not in SRCNN): return x + F(x), the network learns HR - bicubic; it starts as bicubic.
    """

    upsample_first = True

    def __init__(self, scale: int = 3, channels: int = 1, f1: int = 9, f2: int = 5, f3: int = 5,
                 n1: int = 64, n2: int = 32, residual: bool = False):
        super().__init__()
        self.scale, self.channels, self.residual = scale, channels, residual
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2)  # patch extraction
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2)        # non-linear mapping
        self.conv3 = nn.Conv2d(n2, channels, f3, padding=f3 // 2)  # reconstruction
        if residual:  # start as the identity on the bicubic image
            nn.init.zeros_(self.conv3.weight), nn.init.zeros_(self.conv3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return x + out if self.residual else out


class ESPCN(nn.Module):
    """ESPCN (5-3-3, 64-32 channels, tanh): LR (B,C,h,w) -> (B,C,rh,rw) via a sub-pixel convolution.

    Not in the paper: activation="relu", and residual=True, which adds the bicubic upsampling of x (torch's
    `F.interpolate`) to the output, so the sub-pixel layer learns HR - bicubic; it starts as bicubic.
    """

    upsample_first = False

    def __init__(self, scale: int = 3, channels: int = 1, n1: int = 64, n2: int = 32,
                 activation: str = "tanh", residual: bool = False):
        super().__init__()
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' (paper) or 'relu', not {activation!r}")
        self.scale, self.channels, self.activation, self.residual = scale, channels, activation, residual
        self.conv1 = nn.Conv2d(channels, n1, 5, padding=2)
        self.conv2 = nn.Conv2d(n1, n2, 3, padding=1)
        self.conv3 = nn.Conv2d(n2, channels * scale**2, 3, padding=1)  # r^2 sub-pixel values per LR pixel
        self.shuffle = nn.PixelShuffle(scale)                          # (C r^2, h, w) -> (C, r h, r w)
        if residual:
            nn.init.zeros_(self.conv3.weight), nn.init.zeros_(self.conv3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = torch.tanh if self.activation == "tanh" else F.relu
        out = self.shuffle(self.conv3(act(self.conv2(act(self.conv1(x))))))
        if self.residual:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out


def macs_per_output_pixel(model: nn.Module) -> float:
    """Multiply-accumulates per HR output pixel, counted from the conv layers: sum k^2 C_in C_out per pixel
    the layer runs on, divided by scale^2 for layers that run on LR pixels (the model does not upsample first)."""
    total = 0.0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            total += m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups * m.out_channels
    return total if getattr(model, "upsample_first", False) else total / model.scale**2
