"""The FCN-score (Isola et al. 2017, Sec. 4.2): how recognisable generated photos are to a segmentation net that was
trained on REAL photos. "If the generated images are realistic, classifiers trained on real images will be able to
classify the synthesized image correctly as well." The paper uses FCN-8s trained on Cityscapes and reports per-pixel
accuracy, per-class accuracy and class IoU of its predictions against the input label maps; the same net on the
real photos is the ceiling ("ground truth" row of its Table 1).

Ours: a small fully convolutional net (dilated 3x3 convolutions, receptive field 31 px, so it can use texture and not
only colour) trained on rendered pairs of the train split (course_lib.paired_data) -> checkpoints/pix2pix_fcn.pt.
"""
import torch
import torch.nn.functional as F
from torch import nn


class Segmenter(nn.Module):
    """Photo (B,3,H,W) in [0,1] -> class logits (B,classes,H,W): conv3x3 with dilation 1, 2, 4, 8 (BN, ReLU)."""

    def __init__(self, classes: int = 5, width: int = 16, dilations: tuple = (1, 2, 4, 8)):
        super().__init__()
        layers, c_in = [], 3
        for d in dilations:
            layers += [nn.Conv2d(c_in, width, 3, padding=d, dilation=d, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            c_in = width
        self.net = nn.Sequential(*layers, nn.Conv2d(width, classes, 1))

    def forward(self, x):
        return self.net(x * 2 - 1)


def confusion(pred: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """(classes, classes) counts: row = true class, column = predicted."""
    return torch.bincount(labels.flatten() * classes + pred.flatten(), minlength=classes ** 2).view(classes, classes)


def scores(conf: torch.Tensor) -> dict:
    """The paper's three numbers from a confusion matrix: per-pixel accuracy, per-class accuracy, mean class IoU."""
    conf = conf.double()
    tp, true, predicted = conf.diag(), conf.sum(1), conf.sum(0)
    return {"pixel_acc": (tp.sum() / conf.sum()).item(),
            "class_acc": (tp / true.clamp(min=1)).mean().item(),
            "iou": (tp / (true + predicted - tp).clamp(min=1)).mean().item()}


@torch.no_grad()
def fcn_score(segmenter: nn.Module, photos: torch.Tensor, labels: torch.Tensor, batch_size: int = 64) -> dict:
    """FCN-score of photos (N,3,H,W) (generated or real) against their label maps (N,H,W)."""
    segmenter.eval()
    classes = segmenter.net[-1].out_channels
    conf = torch.zeros(classes, classes, dtype=torch.long)
    for i in range(0, len(photos), batch_size):
        pred = segmenter(photos[i:i + batch_size]).argmax(1)
        conf += confusion(pred.cpu(), labels[i:i + batch_size].cpu(), classes)
    return scores(conf)


def train_step(segmenter: nn.Module, optimizer):
    """Per-pixel cross-entropy on (coded, photo, labels) batches (course_lib.paired_data), for loop.fit."""
    def step(batch):
        _, photo, labels = batch
        segmenter.train()
        loss = F.cross_entropy(segmenter(photo), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach()}
    return step
