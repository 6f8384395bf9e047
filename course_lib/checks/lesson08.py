"""Public self-checks of lesson 08 (SRResNet and SRGAN)."""
import torch
import torch.nn.functional as F
from torch import nn

from ..srgan import ResidualBlock, generator_loss, upsample_block
from ..selfcheck import exercise, expect


def _modules(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def _build(factory, *args):
    out = factory(*args)
    expect(isinstance(out, nn.Module), f"return an nn.Module (e.g. nn.Sequential), got {type(out).__name__}")
    return out


# ---------------------------------------------------------------- l08_residual_block
rb_ex = exercise("l08_residual_block", ResidualBlock,
                 "ResidualBlock(width): nn.Module, forward(x: (B,width,H,W)) -> (B,width,H,W) = "
                 "x + BN(conv3x3(PReLU(BN(conv3x3(x))))) (same padding, no activation after the sum)")


@rb_ex.test("keeps the shape (B, width, H, W)")
def _(cls):
    for width, size in [(8, (5, 7)), (16, (6, 6))]:
        block = _build(cls, width)
        x = torch.randn(2, width, *size)
        out = block(x)
        expect(torch.is_tensor(out) and tuple(out.shape) == tuple(x.shape),
               f"width {width}, input {tuple(x.shape)} gave {tuple(out.shape) if torch.is_tensor(out) else out}: "
               "use 3x3 convolutions with padding 1 and keep `width` channels")


@rb_ex.test("has two 3x3 convolutions, two batch norms and a PReLU")
def _(cls):
    block = _build(cls, 8)
    convs = _modules(block, nn.Conv2d)
    expect(len(convs) == 2 and all(c.kernel_size == (3, 3) for c in convs),
           f"found {len(convs)} Conv2d layers with kernels {[c.kernel_size for c in convs]}: the block has two 3x3 convs")
    expect(len(_modules(block, nn.BatchNorm2d)) == 2, "put a BatchNorm2d after each of the two convolutions")
    expect(len(_modules(block, nn.PReLU)) == 1, "use one nn.PReLU, between the two conv-BN pairs")


@rb_ex.test("adds the input unchanged (identity skip, nothing after the sum)")
def _(cls):
    block = _build(cls, 8)
    with torch.no_grad():
        for bn in _modules(block, nn.BatchNorm2d):  # the body now outputs exactly 0
            bn.weight.zero_(), bn.bias.zero_()
    x = torch.randn(2, 8, 6, 6)
    out = block.train()(x)
    expect(torch.allclose(out, x, atol=1e-5), "when the body outputs zero the block must return its input x: "
           "return x + body(x), with no batch norm or activation after the sum")


def _copy_into_reference(block, width):
    """A reference block holding the student's conv, BN and PReLU values (conv biases folded out)."""
    ref = ResidualBlock(width)
    convs, bns, prelus = (_modules(block, k) for k in (nn.Conv2d, nn.BatchNorm2d, nn.PReLU))
    with torch.no_grad():
        for mine, theirs in zip(_modules(ref, nn.Conv2d), convs):
            theirs.weight.normal_(0, 0.2)
            mine.weight.copy_(theirs.weight)
            if theirs.bias is not None:
                theirs.bias.zero_()
        for mine, theirs in zip(_modules(ref, nn.BatchNorm2d), bns):
            theirs.weight.uniform_(0.5, 1.5), theirs.bias.uniform_(-0.5, 0.5)
            mine.weight.copy_(theirs.weight), mine.bias.copy_(theirs.bias)
        for mine, theirs in zip(_modules(ref, nn.PReLU), prelus):
            theirs.weight.fill_(0.2), mine.weight.fill_(0.2)
    return ref


@rb_ex.test("computes x + BN(conv(PReLU(BN(conv(x))))) in training and eval mode")
def _(cls):
    width = 8
    block = _build(cls, width)
    expect(len(_modules(block, nn.Conv2d)) == 2 and len(_modules(block, nn.BatchNorm2d)) == 2,
           "the block needs two Conv2d and two BatchNorm2d layers")
    ref = _copy_into_reference(block, width)
    x = torch.randn(4, width, 6, 6)
    expect(torch.allclose(block.train()(x), ref.train()(x), atol=1e-4),
           "wrong output in training mode: check the order conv -> BN -> PReLU -> conv -> BN, then + x")
    expect(torch.allclose(block.eval()(x), ref.eval()(x), atol=1e-4),
           "wrong output in eval mode (running statistics): use nn.BatchNorm2d, not a hand-made normalisation")


# ---------------------------------------------------------------- l08_upsample
up_ex = exercise("l08_upsample", upsample_block,
                 "upsample_block(width, factor=2) -> nn.Module mapping (B,width,H,W) -> (B,width,factor H,factor W): "
                 "conv 3x3 (padding 1) to width*factor^2 channels -> nn.PixelShuffle(factor) -> nn.PReLU; "
                 "no interpolation (no nn.Upsample / F.interpolate)",
                 forbidden=("torch.nn.Upsample", "torch.nn.UpsamplingNearest2d", "torch.nn.UpsamplingBilinear2d",
                            "torch.nn.functional.interpolate", "torch.nn.functional.upsample"))


@up_ex.test("maps (B, width, H, W) to (B, width, factor H, factor W)")
def _(fn):
    for width, factor in [(8, 2), (4, 3)]:
        x = torch.randn(2, width, 5, 6)
        out = _build(fn, width, factor)(x)
        expect(torch.is_tensor(out) and tuple(out.shape) == (2, width, 5 * factor, 6 * factor),
               f"width {width}, factor {factor}: input {tuple(x.shape)} gave "
               f"{tuple(out.shape) if torch.is_tensor(out) else out}; the conv must output width * factor^2 channels")


@up_ex.test("a 3x3 conv to width*factor^2 channels, then PixelShuffle (no interpolation)")
def _(fn):
    block = _build(fn, 8, 2)
    convs = _modules(block, nn.Conv2d)
    expect(len(convs) == 1 and convs[0].kernel_size == (3, 3) and convs[0].out_channels == 32,
           "use exactly one 3x3 Conv2d from width to width * factor^2 channels (it runs at the low resolution)")
    expect(not _modules(block, nn.Upsample), "no nn.Upsample: the conv's channels are rearranged into pixels")
    expect(len(_modules(block, nn.PixelShuffle)) == 1, "use nn.PixelShuffle(factor) after the convolution")


@up_ex.test("output equals PReLU(PixelShuffle(conv(x))) (sub-pixel layout, activation last)")
def _(fn):
    width = 4
    block = _build(fn, width, 2)
    conv = _modules(block, nn.Conv2d)
    expect(len(conv) == 1, "use exactly one Conv2d")
    conv = conv[0]
    ref = upsample_block(width, 2)
    with torch.no_grad():
        conv.weight.normal_(0, 0.3)
        ref[0].weight.copy_(conv.weight)
        ref[0].bias.copy_(conv.bias if conv.bias is not None else torch.zeros_like(ref[0].bias))
        for p in _modules(block, nn.PReLU):
            p.weight.fill_(0.1)
        ref[2].weight.fill_(0.1)
    expect(len(_modules(block, nn.PReLU)) == 1, "finish with one nn.PReLU")
    x = torch.randn(2, width, 5, 5)
    expect(torch.allclose(block(x), ref(x), atol=1e-5),
           "wrong output: conv (padding 1), then nn.PixelShuffle, then the PReLU, in that order")


# ---------------------------------------------------------------- l08_generator_loss
gl_ex = exercise("l08_generator_loss", generator_loss,
                 "generator_loss(sr_features, hr_features, fake_logits, adv_weight=1e-3) -> scalar tensor: "
                 "MSE(sr_features, hr_features) + adv_weight * mean(-log sigmoid(fake_logits)); "
                 "computed from logits (numerically stable), not from probabilities")


def _value(out):
    expect(torch.is_tensor(out) and out.numel() == 1, f"return a scalar tensor, got {type(out).__name__}"
           + (f" of shape {tuple(out.shape)}" if torch.is_tensor(out) else ""))
    return out.reshape(())


@gl_ex.test("returns a scalar tensor with gradients")
def _(fn):
    sr = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits = torch.randn(2, requires_grad=True)
    out = _value(fn(sr, torch.randn(2, 3, 4, 4), logits))
    expect(out.requires_grad, "the loss must stay differentiable (no .item(), .detach() or numpy)")
    out.backward()
    expect(sr.grad is not None and logits.grad is not None, "gradients must reach sr_features and fake_logits")


@gl_ex.test("content term: the mean squared error of the features")
def _(fn):
    sr, hr = torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5)
    confident = torch.full((2,), 50.0)  # D is sure SR is real: the adversarial term is ~0
    out = _value(fn(sr, hr, confident))
    summed = torch.isclose(out, F.mse_loss(sr, hr, reduction="sum"), rtol=1e-3)
    expect(torch.isclose(out, F.mse_loss(sr, hr), rtol=1e-4),
           "wrong content term: use the mean (not the sum) of the squared feature differences" if summed else
           "wrong loss when D is sure SR is real (logits +50): the content term is the mean squared feature "
           "difference, and the adversarial term must vanish there (non-saturating: -log sigmoid(logits))")


@gl_ex.test("adversarial term: adv_weight * -log D(G(z)) (non-saturating), default weight 1e-3")
def _(fn):
    feats = torch.randn(3, 4, 5, 5)
    logits = torch.tensor([-2.0, 0.5, 3.0])
    for weight in (None, 0.5):
        out = _value(fn(feats, feats, logits) if weight is None else fn(feats, feats, logits, weight))
        expect(torch.isclose(out, generator_loss(feats, feats, logits, weight or 1e-3), rtol=1e-4, atol=1e-7),
               f"wrong adversarial term ({'default weight' if weight is None else 'adv_weight=0.5'}): -log D(G(z)) "
               "averaged over the batch, times adv_weight; D(G(z)) = sigmoid(logit)")


@gl_ex.test("the adversarial gradient does not vanish when D rejects SR (non-saturating, from logits)")
def _(fn):
    feats = torch.zeros(2, 1, 2, 2)
    logits = torch.tensor([-200.0, -30.0], requires_grad=True)
    out = _value(fn(feats, feats, logits, 1.0))
    expect(torch.isfinite(out) and torch.isclose(out, torch.tensor(115.0), rtol=1e-3),
           "wrong or infinite loss for very negative logits: compute -log sigmoid(logit) from the logits "
           "(softplus(-logit) or F.binary_cross_entropy_with_logits), not log(sigmoid(...))")
    out.backward()
    expect(bool((logits.grad < -0.4).all()), "the gradient w.r.t. very negative logits must stay large: minimise "
           "-log D(G(z)), not log(1 - D(G(z)))")
