"""Public self-checks of lesson 02 (a CNN classifier on MNIST)."""
import copy
import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..classifier import MnistCNN, make_augment, train_step
from ..selfcheck import exercise, expect

MAX_PARAMETERS = 1_000_000


def _build(cls) -> nn.Module:
    model = cls()
    expect(isinstance(model, nn.Module), "the model must be a torch.nn.Module subclass")
    return model


@functools.lru_cache(maxsize=1)
def _test_digits() -> torch.Tensor:
    from ..data import mnist_tensors
    return mnist_tensors(train=False, n=300)[0]


def _digits(n: int = 8) -> torch.Tensor:
    """The first n (<= 300) real MNIST test digits, (n,1,28,28) in [0,1]."""
    return _test_digits()[:n].clone()


# ---------------------------------------------------------------- l02_model
model_ex = exercise("l02_model", MnistCNN,
                    "class MnistCNN(nn.Module), built with no arguments: forward(x: float (B,1,28,28) in [0,1]) -> "
                    "logits (B,10) (no softmax); features(x) -> (B,D) penultimate features; forward = head(features)")


@model_ex.test("maps a batch (B,1,28,28) to float logits (B,10), and features(x) to (B,D)")
def _(cls):
    model = _build(cls).eval()
    x = _digits(4)
    with torch.no_grad():
        out = model(x)
        feats = model.features(x)
    expect(torch.is_tensor(out) and out.is_floating_point(), "forward must return a float tensor")
    expect(tuple(out.shape) == (4, 10), f"input (4,1,28,28) gave output shape {tuple(out.shape)}: "
                                        "one row of 10 scores per image")
    expect(torch.is_tensor(feats) and feats.dim() == 2 and feats.shape[0] == 4,
           f"features(x) must return a 2-D tensor (B, D), got shape {tuple(getattr(feats, 'shape', ()))}")
    expect(torch.isfinite(out).all(), "the logits contain NaN or inf")


@model_ex.test("returns logits, not probabilities (no softmax at the end)")
def _(cls):
    model = _build(cls).eval()
    with torch.no_grad():
        out = model(_digits(4)).float()
    rows_are_probabilities = (out >= 0).all() and torch.allclose(out.sum(1), torch.ones(4), atol=1e-3)
    expect(not rows_are_probabilities, "each row is non-negative and sums to 1: that is softmax output. Return raw "
                                       "scores; F.cross_entropy applies log-softmax itself")


@model_ex.test("works for a single image (B=1)")
def _(cls):
    model = _build(cls).eval()
    with torch.no_grad():
        out = model(_digits(1))
    expect(tuple(out.shape) == (1, 10), f"input (1,1,28,28) gave output shape {tuple(out.shape)}; "
                                        "do not squeeze the batch axis away")


@model_ex.test("treats every image on its own in eval mode (batch independence)")
def _(cls):
    model = _build(cls).eval()
    x = _digits(6)
    with torch.no_grad():
        together = model(x)
        alone = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
    expect(together.shape == alone.shape and torch.allclose(together, alone, atol=1e-4, rtol=1e-4),
           "an image's logits change with the other images in its batch: check reshapes (keep the batch "
           "axis first) and do not normalise with statistics of the batch")


@model_ex.test("gradients reach every parameter")
def _(cls):
    model = _build(cls).train()
    params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    expect(params, "the model has no trainable parameters")
    loss = F.cross_entropy(model(_digits(8)), torch.arange(8) % 10)
    loss.backward()
    unused = [name for name, p in params if p.grad is None or not p.grad.abs().sum() > 0]
    expect(not unused, f"no gradient reaches {unused[:3]}: every layer you create must be used in forward")


@model_ex.test(f"is small: at most {MAX_PARAMETERS:,} parameters")
def _(cls):
    n = sum(p.numel() for p in _build(cls).parameters())
    expect(n <= MAX_PARAMETERS, f"{n:,} parameters: a few small convolutions are enough for MNIST "
                                "(big fully connected layers cost most)")


# ---------------------------------------------------------------- l02_train_step
step_ex = exercise("l02_train_step", train_step,
                   "train_step(model, batch=(x, y), optimizer, loss_fn) -> float: model.train(), zero the gradients, "
                   "forward, loss, backward, optimizer.step(); return the loss as a Python float")


class _ModeRecorder(nn.Module):
    """Identity that remembers whether it ran in training mode."""

    def forward(self, x):
        self.seen = self.training
        return x


def _tiny(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 16), nn.ReLU(), nn.Linear(16, 10), _ModeRecorder())
    x = _digits(16)
    y = torch.tensor([7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5])  # the first 16 test labels
    return model, (x, y)


@step_ex.test("returns the loss before the update as a Python float")
def _(fn):
    model, batch = _tiny()
    with torch.no_grad():
        before = F.cross_entropy(model(batch[0]), batch[1]).item()
    out = fn(model, batch, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    expect(isinstance(out, float), f"return a Python float (loss.item()), not {type(out).__name__}: "
                                   "a tensor keeps the whole graph alive")
    expect(math.isclose(out, before, rel_tol=1e-4, abs_tol=1e-5), "the returned value is not this batch's loss "
                                                                   "(computed with loss_fn before the update)")


@step_ex.test("puts the model in training mode")
def _(fn):
    model, batch = _tiny()
    model.eval()
    fn(model, batch, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    expect(getattr(model[-1], "seen", None) is True, "the forward pass ran in eval mode: call model.train() "
                                                     "(batch norm and dropout behave differently when training)")


@step_ex.test("updates the parameters (backward, then optimizer.step)")
def _(fn):
    model, batch = _tiny()
    before = [p.detach().clone() for p in model.parameters()]
    fn(model, batch, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    moved = [not torch.equal(a, p) for a, p in zip(before, model.parameters())]
    expect(all(moved), "the parameters did not change: compute loss.backward() and then call optimizer.step()")


@step_ex.test("gradients do not accumulate across calls (zero_grad)")
def _(fn):
    ours, batch = _tiny()
    theirs = copy.deepcopy(ours)
    for model, step in ((ours, train_step), (theirs, fn)):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            step(model, batch, optimizer, F.cross_entropy)
    same = all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours.parameters(), theirs.parameters()))
    expect(same, "after a few steps the parameters differ from plain SGD steps: zero the gradients before "
                 "each backward (they add up in .grad), and step after backward")


@step_ex.test("the loss goes down over a few steps on one batch")
def _(fn):
    model, batch = _tiny()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = [fn(model, batch, optimizer, F.cross_entropy) for _ in range(15)]
    first, last = (float(v.detach()) if torch.is_tensor(v) else float(v) for v in (losses[0], losses[-1]))
    expect(last < 0.5 * first, "15 steps on the same batch did not halve its loss")


# ---------------------------------------------------------------- l02_augment
aug_ex = exercise("l02_augment", make_augment,
                  "make_augment() -> nn.Module: kornia random small affine transform of (B,1,28,28) in [0,1] "
                  "(rotation, translation, scale), same shape/dtype/device, values in [0,1], no flips")


@functools.lru_cache(maxsize=1)
def _asymmetric_digits(n: int = 16) -> torch.Tensor:
    """Real digits that look different from their left-right and up-down mirror images."""
    x = _digits(300)
    distance = torch.minimum((x - x.flip(-1)).flatten(1).norm(dim=1), (x - x.flip(-2)).flatten(1).norm(dim=1))
    return x[distance.argsort(descending=True)[:n]].clone()


def _distance(a: torch.Tensor, b: torch.Tensor, shift: int = 5) -> torch.Tensor:
    """Per-image L2 distance between a and b, minimised over shifts of b by up to `shift` pixels."""
    padded = F.pad(b, (shift, shift, shift, shift))
    h, w = b.shape[-2:]
    return torch.stack([(a - padded[..., dy:dy + h, dx:dx + w]).flatten(1).norm(dim=1)
                        for dy in range(2 * shift + 1) for dx in range(2 * shift + 1)]).amin(0)


def _augment(fn, x):
    augment = fn()
    expect(isinstance(augment, nn.Module), f"make_augment() must return an nn.Module, not {type(augment).__name__}")
    return augment(x.clone())


@aug_ex.test("keeps the batch's shape, dtype and device")
def _(fn):
    x = _asymmetric_digits()[:8]
    out = _augment(fn, x)
    expect(torch.is_tensor(out), f"the augmentation returned {type(out).__name__}, not a tensor")
    expect(tuple(out.shape) == tuple(x.shape), f"input {tuple(x.shape)} gave {tuple(out.shape)}: keep the shape")
    expect(out.dtype == x.dtype and out.device == x.device, "keep the input's dtype and device")


@aug_ex.test("keeps pixel values in [0,1]")
def _(fn):
    out = _augment(fn, _asymmetric_digits())
    expect(out.min() >= -1e-6 and out.max() <= 1 + 1e-6, "values left [0,1]: clamp, or use only geometric changes")


@aug_ex.test("is random: changes the images, differently on every call")
def _(fn):
    x = _asymmetric_digits()[:8]
    augment = fn()
    a, b = augment(x.clone()), augment(x.clone())
    expect(not torch.allclose(a, x, atol=1e-3), "the images come out unchanged: the augmentation does nothing")
    expect(not torch.allclose(a, b, atol=1e-3), "two calls gave the same result: draw new random parameters each call")


@aug_ex.test("keeps the label: every digit stays closer to itself (up to a shift) than to its mirror image (no flips)")
def _(fn):
    x = _asymmetric_digits()
    augment = fn()
    for _ in range(4):
        out = augment(x.clone())
        to_self = _distance(out, x)
        to_mirror = torch.minimum(_distance(out, x.flip(-1)), _distance(out, x.flip(-2)))
        expect((to_self < to_mirror).all(), "some augmented digits look more like their mirror image: no flips "
                                            "(a mirrored 2 or 7 is not a digit) and keep rotations small")
