"""Public self-checks of lesson 03 (GAN fundamentals: losses with logits, one alternating step)."""
import copy

import torch
import torch.nn.functional as F

from ..gan import d_loss, g_loss, gan_step, mlp, ring_mixture
from ..selfcheck import exercise, expect


def _bce(p, target):
    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


# ---------------------------------------------------------------- l03_d_loss
d_ex = exercise("l03_d_loss", d_loss,
                "d_loss(real_logits, fake_logits) -> scalar: -mean log D(x) - mean log(1 - D(G(z))), D = sigmoid(logit); "
                "numerically stable (use F.binary_cross_entropy_with_logits, not sigmoid then log)")


@d_ex.test("equals -mean log D(x) - mean log(1 - D(G(z))) for moderate logits")
def _(fn):
    real, fake = torch.randn(16), torch.randn(12)
    out = fn(real, fake)
    expect(torch.is_tensor(out) and out.dim() == 0, "return a scalar tensor (0-d)")
    want = _bce(torch.sigmoid(real), torch.ones(16)) + _bce(torch.sigmoid(fake), torch.zeros(12))
    expect(torch.allclose(out, want, atol=1e-5), "the value is not -mean log D(real) - mean log(1 - D(fake)); check "
                                                 "which side gets label 1 and that the two terms are added")


@d_ex.test("stays finite for very confident logits (+-200)")
def _(fn):
    out = fn(torch.tensor([-200.0, 200.0]), torch.tensor([200.0, -200.0]))
    expect(torch.isfinite(out), "the loss is inf/NaN for large logits: work on logits "
                                "(binary_cross_entropy_with_logits), not log(sigmoid(x))")


# ---------------------------------------------------------------- l03_g_loss
g_ex = exercise("l03_g_loss", g_loss,
                "g_loss(fake_logits) -> scalar: the NON-saturating loss -mean log D(G(z)), D = sigmoid(logit)")


@g_ex.test("equals -mean log D(G(z)) (the non-saturating form)")
def _(fn):
    fake = torch.randn(20)
    out = fn(fake)
    expect(torch.is_tensor(out) and out.dim() == 0, "return a scalar tensor (0-d)")
    expect(torch.allclose(out, _bce(torch.sigmoid(fake), torch.ones(20)), atol=1e-5),
           "the value is not -mean log D(G(z)); the minimax form log(1 - D) saturates, use label 1 for fakes")


@g_ex.test("has a strong gradient when D confidently rejects the fakes")
def _(fn):
    fake = torch.full((4,), -8.0, requires_grad=True)
    fn(fake).backward()
    expect(fake.grad is not None and fake.grad.abs().mean() > 0.1,
           "the gradient vanishes where D(G(z)) is near 0: this is the saturating loss")


# ---------------------------------------------------------------- l03_gan_step
step_ex = exercise("l03_gan_step", gan_step,
                   "gan_step(G, D, opt_g, opt_d, real (B,2), nz) -> {'loss_d', 'loss_g'}: z = randn(B, nz) on "
                   "real's device; update D on real + detached fakes (d_loss), then G with g_loss; zero each "
                   "optimizer's gradients first")


def _setup():
    G, D = mlp(4, 2, 16), mlp(2, 1, 16)
    return G, D, torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)


def _expected(real):
    torch.manual_seed(1)
    G, D, og, od = _setup()
    torch.manual_seed(2)
    gan_step(G, D, og, od, real, 4)
    return G, D


@step_ex.test("updates D and G exactly as one alternating step (D first, on detached fakes)")
def _(fn):
    real = ring_mixture(32, generator=torch.Generator().manual_seed(0))
    G0, D0 = _expected(real)
    torch.manual_seed(1)
    G, D, og, od = _setup()
    torch.manual_seed(2)
    out = fn(G, D, og, od, real, 4)
    expect(isinstance(out, dict) and {"loss_d", "loss_g"} <= set(out), "return a dict with 'loss_d' and 'loss_g'")
    for name, a, b in (("D", D, D0), ("G", G, G0)):
        same = all(torch.allclose(p, q, atol=1e-5) for p, q in zip(a.parameters(), b.parameters()))
        expect(same, f"{name}'s parameters after the step differ from one alternating step: update D on real and "
                     "fake.detach() with d_loss, then G with g_loss on D(fake), zeroing gradients before each")


@step_ex.test("draws z on real's device (runs where the data and the models live, e.g. a GPU)")
def _(fn):
    G, D, _, _ = _setup()
    G, D = G.to("meta"), D.to("meta")  # a device that is not the CPU: tensors with shapes only, no values
    og, od = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    try:
        fn(G, D, og, od, torch.empty(8, 2, device="meta"), 4)
        failed = ""
    except RuntimeError as err:
        failed = str(err)
        if "device" not in failed:
            raise
    expect(not failed, "with real, G and D on another device than the CPU the step fails "
                       f"({failed.splitlines()[0][:80] if failed else ''}): draw the noise where the data lives, "
                       "torch.randn(B, nz, device=real.device)")
