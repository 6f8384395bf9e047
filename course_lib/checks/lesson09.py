"""Public self-checks of lesson 09 (Pix2Pix: U-Net generator, PatchGAN discriminator, the combined objective)."""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..patchgan import PatchGAN, receptive_field
from ..pix2pix import train_step
from ..selfcheck import exercise, expect
from ..unet import UNet


def _modules(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def _build(cls, *args, **kwargs):
    out = cls(*args, **kwargs)
    expect(isinstance(out, nn.Module), f"return an nn.Module, got {type(out).__name__}")
    return out


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- l09_unet
unet_ex = exercise("l09_unet", UNet,
                   "UNet(in_channels, out_channels, width, depth): nn.Module, forward(x: (B,in,H,W) in [0,1]) -> "
                   "(B,out,H,W) in [0,1]; encoder e_0..e_{depth-1}: convs 4x4 stride 2, channels c_i = width * "
                   "min(2^i, 8); decoder d_0..d_{depth-2}: transposed convs 4x4 stride 2, d_j outputs the channels and "
                   "size of e_{depth-2-j}, Dropout(0.5) in d_0..d_2; d_0 reads e_{depth-1}'s output, d_j (j > 0) reads "
                   "torch.cat([d_{j-1}'s output, e_{depth-1-j}'s output], 1) (the encoder output of the same size); "
                   "the output layer (transposed conv 4x4 stride 2, Tanh) reads torch.cat([d_{depth-2}'s output, "
                   "e_0's output], 1)")


@unet_ex.test("maps (B, in, H, W) to (B, out, H, W)")
def _(cls):
    for cin, cout, width, depth, size in [(3, 3, 8, 5, 64), (5, 2, 4, 4, 32), (3, 3, 4, 5, 96)]:
        net = _build(cls, cin, cout, width, depth).eval()
        x = torch.rand(2, cin, size, size)
        out = net(x)
        expect(torch.is_tensor(out) and tuple(out.shape) == (2, cout, size, size),
               f"UNet({cin}, {cout}, {width}, {depth}) on {tuple(x.shape)} gave "
               f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}: "
               "each encoder layer halves the size (4x4, stride 2, padding 1), each decoder layer doubles it")


@unet_ex.test("outputs images in [0, 1] (Tanh, mapped back)")
def _(cls):
    net = _build(cls, 3, 3, 4, 4).eval()
    with torch.no_grad():
        for m in _modules(net, (nn.Conv2d, nn.ConvTranspose2d)):
            m.weight.mul_(20)
        out = net(torch.rand(2, 3, 32, 32))
    expect(out.min() >= 0 and out.max() <= 1, "outputs must lie in [0, 1]: end with (tanh(.) + 1) / 2")
    expect(out.max() - out.min() > 0.5, "the outputs barely vary: end with (tanh(.) + 1) / 2, not a constant")


@unet_ex.test("has depth 4x4 stride-2 convolutions and depth 4x4 stride-2 transposed convolutions")
def _(cls):
    net = _build(cls, 3, 3, 4, 5)
    down = [m for m in _modules(net, nn.Conv2d) if m.kernel_size == (4, 4) and m.stride == (2, 2)]
    up = [m for m in _modules(net, nn.ConvTranspose2d) if m.kernel_size == (4, 4) and m.stride == (2, 2)]
    expect(len(down) == 5, f"found {len(down)} Conv2d(kernel 4, stride 2) layers for depth 5")
    expect(len(up) == 5, f"found {len(up)} ConvTranspose2d(kernel 4, stride 2) layers for depth 5")


@unet_ex.test("the decoder sees the encoder's features (skip connections)")
def _(cls):
    net = _build(cls, 3, 3, 4, 5).eval()
    sizes = {}
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.__setitem__(m, o.shape[-1]))
             for m in _modules(net, nn.Conv2d)]
    net(torch.rand(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    bottleneck = min(sizes, key=sizes.get)  # the innermost convolution: cut everything that goes through it
    bottleneck.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
    with torch.no_grad():
        a, b = net(torch.rand(2, 3, 32, 32)), net(torch.rand(2, 3, 32, 32))
    expect((a - b).abs().max() > 1e-4, "with the bottleneck cut, the output no longer depends on the input: the "
           "decoder must concatenate the mirrored encoder layer's output to its input (torch.cat(..., dim=1))")
    reference = UNet(3, 3, 4, 5)
    expect(abs(_params(net) - _params(reference)) <= 0.02 * _params(reference),
           "the number of weights does not match the contract's layers: channels width * min(2^i, 8) in the "
           "encoder, the decoder mirrors them, and its inputs include the concatenated skip channels")


@unet_ex.test("uses Dropout(0.5) in the decoder: random in train mode, deterministic in eval mode")
def _(cls):
    net = _build(cls, 3, 3, 4, 5)
    drops = [m for m in _modules(net, nn.Dropout) if m.p == 0.5]
    expect(len(drops) == 3, f"found {len(drops)} Dropout(0.5) layers: the paper uses three (innermost decoder)")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        net.train()
        a, b = net(x), net(x)
        net.eval()
        c, d = net(x), net(x)
    expect((a - b).abs().max() > 1e-6, "two train-mode passes gave the same output: apply the dropout layers")
    expect(torch.equal(c, d), "two eval-mode passes differ: use nn.Dropout (off in eval mode), "
           "not F.dropout(..., training=True)")


# ---------------------------------------------------------------- l09_patchgan
patch_ex = exercise("l09_patchgan", PatchGAN,
                    "PatchGAN(in_channels, out_channels, width, n_layers): nn.Module, forward(x, y) -> logits "
                    "(B,1,h,w), one per patch, of torch.cat([x, y], 1): n_layers convs 4x4 stride 2, one 4x4 stride 1 "
                    "(channels width * min(2^i, 8); BatchNorm except the first; LeakyReLU(0.2)), a 4x4 stride-1 conv "
                    "to 1 channel; padding 1 everywhere")


def _logits(D, x, y):
    out = D(x, y)
    expect(torch.is_tensor(out), f"forward(x, y) must return a tensor, got {type(out).__name__}")
    return out


@patch_ex.test("returns a map of logits (B, 1, h, w), one per patch, not one per image")
def _(cls):
    for cin, cout, width, n_layers, size in [(3, 3, 8, 2, 64), (1, 3, 4, 3, 64), (3, 3, 4, 1, 32)]:
        D = _build(cls, cin, cout, width, n_layers).eval()
        out = _logits(D, torch.rand(2, cin, size, size), torch.rand(2, cout, size, size))
        want = PatchGAN(cin, cout, width, n_layers).eval()(torch.rand(2, cin, size, size),
                                                           torch.rand(2, cout, size, size))
        expect(tuple(out.shape) == tuple(want.shape),
               f"n_layers={n_layers} on {size}x{size} images gave {tuple(out.shape)}: expected a (B, 1, h, w) map of "
               "patch logits (4x4 kernels, padding 1; n_layers with stride 2, then two with stride 1; no pooling, "
               "no linear layer)")
    D = _build(cls, 3, 3, 4, 2).eval()
    with torch.no_grad():
        for m in _modules(D, nn.Conv2d):   # large weights: logits spread far beyond [0, 1], a sigmoid's do not
            m.weight.mul_(20)
        out = _logits(D, torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    expect(out.min() < 0 or out.max() > 1, "every output lies in [0, 1]: return logits, without a sigmoid at "
           "the end (binary_cross_entropy_with_logits applies it)")


@patch_ex.test("is conditional: the logits depend on the input x as well as on y")
def _(cls):
    D = _build(cls, 3, 3, 4, 2).eval()
    y = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        a, b = _logits(D, torch.rand(2, 3, 32, 32), y), _logits(D, torch.rand(2, 3, 32, 32), y)
    expect((a - b).abs().max() > 1e-6, "changing x left the logits unchanged: judge the pair, torch.cat([x, y], 1)")
    n_norm = len(_modules(D, (nn.BatchNorm2d, nn.InstanceNorm2d)))
    expect(n_norm == 2, f"found {n_norm} normalisation layers for n_layers=2: BatchNorm after every conv but the "
           "first and the last")


@patch_ex.test("each logit sees one patch of the contract's receptive field")
def _(cls):
    for n_layers in (1, 2, 3):
        D = _build(cls, 3, 3, 4, n_layers).eval()   # eval: batch norm acts per pixel
        x, y = torch.rand(1, 3, 96, 96, requires_grad=True), torch.rand(1, 3, 96, 96)
        out = _logits(D, x, y)
        out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
        expect(x.grad is not None, "the logits do not depend on the input x: judge the pair, torch.cat([x, y], 1)")
        rows = (x.grad.abs().sum((0, 1, 3)) > 0).nonzero()
        seen = int(rows.max() - rows.min() + 1) if len(rows) else 0
        expect(seen == receptive_field(PatchGAN(3, 3, 4, n_layers)),
               f"with n_layers={n_layers} one output logit sees {seen} input rows, not the patch size of the "
               "contract's layers: check kernel sizes, strides and the number of layers")


# ---------------------------------------------------------------- l09_train_step
step_ex = exercise("l09_train_step", train_step,
                   "train_step(G, D, opt_g, opt_d, x, y, lam) -> dict with floats loss_d, loss_g: fake = G(x); D step "
                   "on (BCE(D(x, y), 1) + BCE(D(x, fake.detach()), 0)) / 2; then G step on BCE(D(x, fake), 1) + "
                   "lam * mean|fake - y| (binary_cross_entropy_with_logits, means over all patches)")


class _Counting(nn.Module):
    """A small generator that counts how many backward passes reach its output."""

    def __init__(self):
        super().__init__()
        self.net, self.backwards = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Sigmoid()), 0

    def forward(self, x):
        out = self.net(x)
        if out.requires_grad:
            out.register_hook(lambda g: setattr(self, "backwards", self.backwards + 1))
        return out


def _setup(lr: float = 0.1):
    torch.manual_seed(0)
    G, D = _Counting(), PatchGAN(3, 3, 4, 1)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    return G, D, opt_g, opt_d, x, y


def _run(fn, lam: float = 10.0):
    G, D, opt_g, opt_d, x, y = _setup()
    try:
        out = fn(G, D, opt_g, opt_d, x, y, lam)
    except RuntimeError as e:
        expect("backward through the graph a second time" not in str(e),
               "G's backward failed because D's loss already went back through G(x) and freed its graph: give D "
               "fake.detach(), so that D's loss sends no gradient into G")
        raise
    expect(isinstance(out, dict) and {"loss_d", "loss_g"} <= set(out),
           f"return a dict with the keys loss_d and loss_g, got {out if not isinstance(out, dict) else sorted(out)}")
    return out, G, D


@step_ex.test("returns a dict with the losses loss_d and loss_g")
def _(fn):
    out, _, _ = _run(fn)
    for key in ("loss_d", "loss_g"):
        value = out[key]
        expect(isinstance(value, (float, int)) or (torch.is_tensor(value) and value.numel() == 1),
               f"{key} must be a number (loss.item()), got {type(value).__name__}")


@step_ex.test("D's loss sends no gradient into G (detach the fake for D)")
def _(fn):
    out, G, _ = _run(fn)
    expect(G.backwards == 1, f"{G.backwards} backward passes reached G's output in one step: only G's loss may reach "
           "it; give D fake.detach()")


@step_ex.test("D's loss is (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) / 2 and D takes one step on it")
def _(fn):
    out, _, D = _run(fn)
    ref, _, D_ref = _run(train_step)
    expect(abs(float(out["loss_d"]) - float(ref["loss_d"])) < 1e-5,
           "loss_d is wrong: real pairs (x, y) labelled 1, generated pairs (x, G(x)) labelled 0, the sum halved")
    expect(all(torch.allclose(a, b, atol=1e-5) for a, b in zip(D.parameters(), D_ref.parameters())),
           "D's weights after the step are wrong: one opt_d step on loss_d, before G's step, and no D update "
           "from G's loss")


@step_ex.test("G's loss is BCE(D(x, G(x)), 1) + lam * mean|G(x) - y| and G takes one step on it")
def _(fn):
    for lam in (10.0, 0.5):
        out, G, _ = _run(fn, lam)
        ref, G_ref, _ = _run(train_step, lam)
        expect(abs(float(out["loss_g"]) - float(ref["loss_g"])) < 1e-4,
               f"with lam={lam} loss_g is wrong: the non-saturating GAN term on the updated D plus lam times the L1 "
               "distance between G(x) and the target y")
        expect(all(torch.allclose(a, b, atol=1e-5) for a, b in zip(G.parameters(), G_ref.parameters())),
               f"with lam={lam} G's weights after the step are wrong: one opt_g step on loss_g only")
