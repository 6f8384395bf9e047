"""Train a small CNN on real MNIST with course_lib's loop; run alone or under torchrun (see test_distributed.py)."""
import sys

import torch
from torch import nn

from course_lib import data, distributed, loop
from course_lib.checkpoint import save_checkpoint
from course_lib.device import seed_everything


class SmallCNN(nn.Module):  # no batch norm: per-process statistics would differ from one process
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(16 * 6 * 6, 10))

    def forward(self, x):
        return self.net(x)


SmallCNN.__module__ = "course_lib.tests_ddp"


def main(out: str) -> None:
    device = distributed.init(torch.device("cpu"))
    seed_everything(0)
    images, labels = data.mnist_tensors(train=True, n=1024)
    train = distributed.loader(torch.utils.data.TensorDataset(images, labels), batch_size=64, shuffle=True)
    model = distributed.wrap(SmallCNN(), device)
    step = loop.supervised_step(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy, device)
    history = loop.fit(step, train, epochs=2, device=device)
    save_checkpoint(out, model, {}, {"loss": history["loss"][-1]})
    distributed.cleanup()


if __name__ == "__main__":
    main(sys.argv[1])
