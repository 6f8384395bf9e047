"""Public self-checks of lesson 04 (DCGAN on MNIST: generator, discriminator, init, one training step)."""
import copy

import torch
from torch import nn

from ..dcgan import Discriminator, Generator, train_step, weights_init
from ..selfcheck import exercise, expect

MAX_PARAMETERS = 3_000_000


def _build(cls) -> nn.Module:
    model = cls()
    expect(isinstance(model, nn.Module), "the class must build an nn.Module when called with no arguments")
    return model


def _scaled(model: nn.Module, factor: float = 20.0) -> nn.Module:
    """A copy with every parameter multiplied: large activations show what the last layer does."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(factor)
    return model


def _all_get_gradients(model: nn.Module, loss: torch.Tensor, what: str) -> None:
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    expect(not missing, f"no gradient reaches {what} parameters {missing[:3]}: are they used in forward?")


def _kinds(model: nn.Module) -> set:
    return {type(m) for m in model.modules()}


# ---------------------------------------------------------------- l04_generator
g_ex = exercise("l04_generator", Generator,
                "class Generator(nn.Module), Generator(nz=64): self.nz; forward(z (B, nz)) -> (B, 1, 28, 28) in [-1, 1]; "
                "stride-2 ConvTranspose2d + BatchNorm2d + ReLU, tanh output, at most 3M parameters")


@g_ex.test("maps noise z (B, nz) to images (B, 1, 28, 28)")
def _(cls):
    G = _build(cls)
    expect(isinstance(getattr(G, "nz", None), int), "store the noise size as self.nz (an int)")
    out = G(torch.randn(4, G.nz))
    expect(torch.is_tensor(out) and tuple(out.shape) == (4, 1, 28, 28),
           f"z of shape (4, {G.nz}) gave {tuple(getattr(out, 'shape', ()))}: expected one 1x28x28 image per code")
    expect(torch.isfinite(out).all(), "the output contains NaN or inf")


@g_ex.test("ends with tanh: outputs use both signs and never leave [-1, 1]")
def _(cls):
    G = _scaled(_build(cls))
    with torch.no_grad():
        out = G(torch.randn(16, G.nz))
    expect(out.abs().max() <= 1.0, "outputs leave [-1, 1] once weights grow: the last layer needs a tanh "
                                   "(real digits are scaled to [-1, 1])")
    expect(out.min() < -0.5 and out.max() > 0.5, "outputs do not cover [-1, 1] (all of one sign?): use tanh, "
                                                  "not sigmoid, since real digits are scaled to [-1, 1]")


@g_ex.test("is a DCGAN generator: ConvTranspose2d, BatchNorm2d, ReLU, at most 3M parameters")
def _(cls):
    G = _build(cls)
    kinds = _kinds(G)
    expect(nn.ConvTranspose2d in kinds, "upsample with strided nn.ConvTranspose2d layers (Radford et al.)")
    expect(nn.BatchNorm2d in kinds, "use nn.BatchNorm2d after the transposed convolutions (not on the output)")
    expect(nn.ReLU in kinds, "use ReLU activations in the generator")
    n = sum(p.numel() for p in G.parameters())
    expect(n <= MAX_PARAMETERS, f"{n:,} parameters: keep the generator under {MAX_PARAMETERS:,} so it trains on a CPU")


@g_ex.test("trains: gradients reach every parameter")
def _(cls):
    G = _build(cls)
    _all_get_gradients(G, G(torch.randn(8, G.nz)).pow(2).mean(), "the generator's")


# ---------------------------------------------------------------- l04_discriminator
d_ex = exercise("l04_discriminator", Discriminator,
                "class Discriminator(nn.Module), Discriminator(): forward(x (B, 1, 28, 28) in [-1, 1]) -> logits (B,) "
                "(no sigmoid); stride-2 Conv2d + LeakyReLU(0.2), BatchNorm2d after every conv except the first and the last, "
                "no pooling")


@d_ex.test("maps images (B, 1, 28, 28) to one logit per image (B,)")
def _(cls):
    D = _build(cls)
    out = D(torch.rand(4, 1, 28, 28) * 2 - 1)
    expect(torch.is_tensor(out) and tuple(out.shape) == (4,),
           f"a batch of 4 images gave shape {tuple(getattr(out, 'shape', ()))}: return one score per image, "
           "shape (B,) (flatten with .view(-1))")
    expect(torch.isfinite(out).all(), "the output contains NaN or inf")


@d_ex.test("returns raw logits, not probabilities (no sigmoid at the end)")
def _(cls):
    D = _scaled(_build(cls))
    with torch.no_grad():
        out = D(torch.rand(32, 1, 28, 28) * 2 - 1)
    expect(out.min() < 0 or out.max() > 1, "every output lies in [0, 1] even with large weights: that is a sigmoid. "
                                           "Return logits; the loss (BCE with logits) applies the sigmoid itself")


@d_ex.test("is a DCGAN discriminator: strided Conv2d, LeakyReLU, no pooling, no batch norm on the input layer")
def _(cls):
    D = _build(cls)
    kinds = _kinds(D)
    expect(nn.Conv2d in kinds, "use strided nn.Conv2d layers")
    expect(nn.LeakyReLU in kinds, "use LeakyReLU(0.2) activations in the discriminator")
    expect(not kinds & {nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d},
           "downsample with stride-2 convolutions, not pooling (Radford et al.)")
    order = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    expect(len(order) >= 2 and isinstance(order[0], nn.Conv2d) and not isinstance(order[1], nn.BatchNorm2d),
           "no batch norm right after the first convolution (Radford et al. leave D's input layer without it)")


@d_ex.test("can score one batch above another in train mode (no batch norm on the logit)")
def _(cls):
    D = _build(cls).train()
    noise, blank = torch.rand(16, 1, 28, 28) * 2 - 1, torch.rand(16, 1, 28, 28) * 0.2 - 1
    with torch.no_grad():
        a, b = D(noise).view(-1), D(blank).view(-1)
    expect(abs(float(a.mean() - b.mean())) > 1e-4,
           "in train mode every batch gets the same mean logit: a batch norm after the last "
                     "convolution normalises the logits over the batch, so D can never score real batches above fake "
                     "ones. Use BatchNorm2d after every convolution except the first and the last")


@d_ex.test("trains: gradients reach every parameter")
def _(cls):
    D = _build(cls)
    _all_get_gradients(D, D(torch.rand(8, 1, 28, 28) * 2 - 1).mean(), "the discriminator's")


# ---------------------------------------------------------------- l04_weights_init
init_ex = exercise("l04_weights_init", weights_init,
                   "weights_init(m) -> None, used as model.apply(weights_init): Conv2d and ConvTranspose2d weights "
                   "~ N(0, 0.02^2) (std 0.02) and biases 0; BatchNorm2d weight ~ N(1, 0.02^2), bias 0; other modules "
                   "unchanged")


def _moments(t: torch.Tensor) -> tuple[float, float]:
    t = t.detach()
    return float(t.mean()), float(t.std())


@init_ex.test("Conv2d weights ~ N(0, 0.02^2) (std 0.02), biases zero")
def _(fn):
    layer = nn.Conv2d(64, 64, 4)
    nn.Sequential(layer).apply(fn)
    mean, std = _moments(layer.weight)
    expect(abs(mean) < 0.002 and 0.018 < std < 0.022, f"Conv2d weights have mean {mean:.4f}, std {std:.4f}: draw "
                                                      "them from a normal distribution with mean 0, std 0.02")
    expect(layer.bias.abs().max() == 0, "set Conv2d biases to zero")


@init_ex.test("ConvTranspose2d weights ~ N(0, 0.02^2) (the generator's layers)")
def _(fn):
    layer = nn.ConvTranspose2d(64, 64, 4, bias=False)
    nn.Sequential(layer).apply(fn)
    mean, std = _moments(layer.weight)
    expect(abs(mean) < 0.002 and 0.018 < std < 0.022, f"ConvTranspose2d weights have mean {mean:.4f}, std {std:.4f}:"
                                                      " transposed convolutions need the same N(0, 0.02^2) init")


@init_ex.test("BatchNorm2d weight ~ N(1, 0.02^2), bias zero")
def _(fn):
    layer = nn.BatchNorm2d(4096)
    with torch.no_grad():
        layer.bias.fill_(0.5)
    nn.Sequential(layer).apply(fn)
    mean, std = _moments(layer.weight)
    expect(abs(mean - 1) < 0.003 and 0.017 < std < 0.023, f"batch-norm scales have mean {mean:.4f}, std {std:.4f}: "
                                                          "draw them from N(1, 0.02^2), std 0.02")
    expect(layer.bias.abs().max() == 0, "set batch-norm biases (shifts) to zero")


# ---------------------------------------------------------------- l04_train_step
step_ex = exercise("l04_train_step", train_step,
                   "train_step(G, D, opt_g, opt_d, real (B,1,28,28) in [-1,1]) -> {'loss_d', 'loss_g', 'd_real', "
                   "'d_fake'}: z = randn(B, G.nz); D step on D(real) and D(fake.detach()) with gan.d_loss; then G step "
                   "with gan.g_loss(D(fake)); d_real/d_fake = mean sigmoid of the D-step logits")


def _models():
    torch.manual_seed(1)
    G, D = Generator(nz=8, ngf=4), Discriminator(ndf=4)
    G.apply(weights_init), D.apply(weights_init)
    return G, D, torch.optim.SGD(G.parameters(), lr=0.5), torch.optim.SGD(D.parameters(), lr=0.5)


def _real() -> torch.Tensor:
    return torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1


def _run(fn):
    G, D, og, od = _models()
    torch.manual_seed(2)
    out = fn(G, D, og, od, _real())
    expect(isinstance(out, dict) and {"loss_d", "loss_g", "d_real", "d_fake"} <= set(out),
           "return a dict with 'loss_d', 'loss_g', 'd_real' and 'd_fake'")
    return G, D, out


@step_ex.test("updates D and G exactly as one DCGAN step (D on real + detached fakes, then non-saturating G)")
def _(fn):
    G, D, out = _run(fn)
    G_ref, D_ref, ref = _run(train_step)
    for name in ("loss_d", "loss_g", "d_real", "d_fake"):
        expect(abs(float(out[name]) - float(ref[name])) < 1e-4,
               f"'{name}' differs from one DCGAN step: draw z = torch.randn(B, G.nz) first, use gan.d_loss on the "
               "logits of real and detached fakes, gan.g_loss (non-saturating) on D(fake), sigmoid for d_real/d_fake")
    d_ok = all(torch.allclose(a, b, atol=1e-5) for a, b in zip(D.parameters(), D_ref.parameters()))
    expect(d_ok, "D's weights after the step differ: update D once on gan.d_loss(D(real), D(fake.detach()))")
    g_ok = all(torch.allclose(a, b, atol=1e-5) for a, b in zip(G.parameters(), G_ref.parameters()))
    expect(g_ok, "G's weights after the step differ: after the D step, zero G's gradients and minimise "
                 "gan.g_loss(D(fake)) (non-saturating), with the updated D")


@step_ex.test("the G step reaches G through D (fakes not detached there) and D's step leaves G alone")
def _(fn):
    G, D, og, od = _models()
    before = [p.detach().clone() for p in G.parameters()]
    torch.manual_seed(2)
    fn(G, D, og, od, _real())
    moved = [not torch.equal(a, b) for a, b in zip(before, G.parameters())]
    expect(any(moved), "G's weights did not change: in the G step pass the fakes to D without .detach(), "
                       "then call opt_g.step()")
