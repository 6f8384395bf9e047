"""A small CNN that classifies MNIST digits (lesson 02).

The network is a LeNet-style stack (LeCun et al. 1998) with batch norm (Ioffe & Szegedy 2015): three
3x3 conv -> batch norm -> ReLU -> max-pool blocks, a linear layer to 128 features, a linear head.

    features(x): (B,1,28,28) in [0,1] -> (B, 128)   the penultimate activations (after ReLU): the role
                                                    Inception's pool3 features play for FID / Inception Score
    forward(x)  = head(features(x)) -> (B, 10)      logits (no softmax: F.cross_entropy takes logits)

Lessons 03-05 load the shipped checkpoint with `course_lib.checkpoint.load_model("mnist_cnn")` and use
`features` to measure GAN samples. Reproduce it with `python -m course_lib.train classifier`
(course_lib/recipes/classifier.py); measure it with `python -m course_lib.benchmark classifier`.
"""
import kornia.augmentation as K
import torch
from torch import nn

from . import env
from .device import autocast

CHECKPOINT = env.CHECKPOINT_DIR / "mnist_cnn.pt"


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution (same padding) -> batch norm -> ReLU. No conv bias: batch norm adds its own."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class MnistCNN(nn.Module):
    """28x28 -> conv(w) -> pool -> conv(2w) -> pool -> conv(4w) -> pool -> 3x3 -> linear(128) -> linear(10)."""

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 10, dropout: float = 0.1):
        super().__init__()
        self.body = nn.Sequential(
            conv_block(1, width), nn.MaxPool2d(2),              # (B, w, 14, 14)
            conv_block(width, 2 * width), nn.MaxPool2d(2),      # (B, 2w, 7, 7)
            conv_block(2 * width, 4 * width), nn.MaxPool2d(2),  # (B, 4w, 3, 3)
            nn.Flatten(), nn.Linear(4 * width * 3 * 3, feature_dim), nn.ReLU(),  # (B, feature_dim)
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (B, feature_dim) of images (B,1,28,28) in [0,1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_step(model: nn.Module, batch, optimizer: torch.optim.Optimizer, loss_fn) -> float:
    """One step of gradient descent on one (images, labels) batch; returns the loss as a Python float."""
    x, y = batch
    model.train()                     # batch norm uses batch statistics, dropout is on
    optimizer.zero_grad()             # gradients accumulate in .grad unless cleared
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def make_augment(degrees: float = 10.0, translate: float = 0.1, scale=(0.9, 1.1)) -> nn.Module:
    """Random small rotations, shifts and zooms of a (B,1,28,28) batch, new ones per image and call.

    No flips: a mirrored 2 or 7 is not a digit any more (labels must survive augmentation).
    """
    return K.RandomAffine(degrees=degrees, translate=(translate, translate), scale=scale, p=1.0)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device, batch_size: int = 1000):
    """(accuracy, predictions) of `model` on a tensor of images."""
    device = torch.device(device)
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            with autocast(device):
                preds.append(model(images[i:i + batch_size].to(device)).argmax(1).cpu())
    preds = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    return (preds == labels).float().mean().item(), preds
