"""The content loss of SRGAN (Ledig et al. 2017, Eq. 5): the MSE between feature maps phi of SR and HR.

    l_content = 1 / (W H) * sum (phi(HR) - phi(G(LR)))^2,   phi = VGG19 phi_5,4 / 12.75 in the paper (VGG54)

phi = VGG54 needs torchvision's ImageNet weights; nothing downloads unless you opt in (`COURSE_DOWNLOAD=1` or
`download=True`). Without them the content loss is computed on the features of the SRGAN discriminator itself
(`content_extractor(kind="disc")`, see `DiscriminatorContent`), and every run says which one it uses.
"""
import os
from pathlib import Path

import torch
from torch import nn

from . import distributed, env

VGG_RESCALE = 12.75   # the paper divides the VGG feature maps by 12.75 (Ledig et al. Sec. 3.2)


class VGGUnavailable(RuntimeError):
    """torchvision's ImageNet VGG19 weights are not on this machine (and downloading was not allowed or failed)."""


def vgg_weights_file() -> Path:
    """Where torchvision keeps VGG19_Weights.IMAGENET1K_V1: <torch.hub.get_dir()>/checkpoints/vgg19-dcbb9e9d.pth."""
    from torchvision.models import VGG19_Weights
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(VGG19_Weights.IMAGENET1K_V1.url)


class VGGContent(nn.Module):
    """phi_5,4 / 12.75: VGG19's 4th conv of block 5 after ReLU (before the 5th max-pool), on ImageNet-normalised
    RGB, frozen. The paper rescales its VGG's features by 1/12.75 "to obtain VGG losses of a scale that is
    comparable to the MSE loss" (Sec. 3.2); that constant was chosen for its own VGG and input range, so with
    torchvision's VGG on ImageNet-normalised inputs this loss need not have the paper's scale."""

    def __init__(self, download: bool | None = None):
        super().__init__()
        import torchvision
        from torchvision.models import VGG19_Weights
        path = vgg_weights_file()
        download = env.download() if download is None else download
        if not path.exists():
            if not download:
                raise VGGUnavailable(
                    f"VGG19 ImageNet weights not found at {path}. They are not downloaded unless you opt in: "
                    "set COURSE_DOWNLOAD=1 (or pass download=True) on a machine with internet access, or copy "
                    f"{VGG19_Weights.IMAGENET1K_V1.url} to that path.")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.hub.download_url_to_file(VGG19_Weights.IMAGENET1K_V1.url, str(path))
            except Exception as err:  # offline, proxy, disk full ...
                raise VGGUnavailable(f"could not download the VGG19 weights to {path} ({type(err).__name__}: {err}); "
                                     "are you offline? Copy the file there by hand or use another content loss.") \
                    from err
        vgg = torchvision.models.vgg19()
        vgg.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.features = vgg.features[:36].eval().requires_grad_(False)  # conv1_1 ... conv5_4 + ReLU
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def train(self, mode: bool = True):
        return super().train(False)  # always frozen, eval mode

    def forward(self, x):
        return self.features((x - self.mean) / self.std) / VGG_RESCALE


class DiscriminatorContent:
    """The offline content loss: MSE between the activations of the SRGAN discriminator's `layer`-th conv
    (default the 4th: 2 width channels at 1/4 resolution) for SR and HR.

    Why this is reasonable: it is the feature-matching loss of Salimans et al. 2016 (Sec. 3.1) and pix2pixHD
    (Wang et al. 2018, Eq. 4), computed per image instead of on batch means: D's features are learned to separate
    real from generated images, so matching them pushes SR towards what makes HR look real, like a VGG loss but
    learned on the task instead of ImageNet. Unlike VGG's they change while D trains, and they start random (the
    generator starts from the pre-trained SRResNet, so the first steps only need not to hurt). It costs one extra
    discriminator pass, much less than a VGG19 pass on a CPU.
    """

    def __init__(self, discriminator: nn.Module, layer: int = 3):
        self.discriminator, self.layer = discriminator, layer

    def __call__(self, x):
        return self.discriminator.features(x)[self.layer] / VGG_RESCALE


def content_extractor(kind: str = "auto", discriminator: nn.Module | None = None, download: bool | None = None):
    """(phi, description): the feature map phi(x) whose MSE between SR and HR is the content loss.

    kind: "vgg" (paper, VGG54; needs the ImageNet weights), "disc" (discriminator features, offline), "pixel"
    (phi = identity: the pixel MSE of Eq. 4, the paper's SRGAN-MSE), or "auto": vgg if the weights are on this
    machine (or COURSE_DOWNLOAD=1 / download=True), else disc, saying why.
    """
    if kind not in ("auto", "vgg", "disc", "pixel"):
        raise ValueError(f"content loss must be 'auto', 'vgg', 'disc' or 'pixel', not {kind!r}")
    if kind in ("auto", "vgg"):
        try:
            return VGGContent(download), "VGG19 phi_5,4 / 12.75 (ImageNet weights, the paper's content loss)"
        except VGGUnavailable as err:
            if kind == "vgg":
                raise
            print(f"content loss: {err}\n-> using the offline alternative instead: features of the SRGAN "
                  "discriminator (feature matching), see course_lib.perceptual.DiscriminatorContent.")
            kind = "disc"
    if kind == "pixel":
        return nn.Identity(), "pixel MSE (the paper's SRGAN-MSE)"
    if discriminator is None:
        raise ValueError("the 'disc' content loss needs the discriminator: content_extractor('disc', D)")
    return DiscriminatorContent(distributed.unwrap(discriminator)), \
        "SRGAN discriminator features, 4th conv (feature matching; offline stand-in for VGG54)"
