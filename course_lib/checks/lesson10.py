"""Public self-checks of lesson 10 (denoising diffusion: q_sample, the eps loss, ancestral and DDIM steps, guidance)."""
import math

import torch

from ..diffusion import alpha_bar, ancestral_step, ddim_step, diffusion_loss, guided_eps, linear_betas, q_sample
from ..selfcheck import close, exercise, expect, expect_tensor_like

T = 1000


def _schedule():
    betas = linear_betas(T)
    return betas, alpha_bar(betas).float()


# ---------------------------------------------------------------- l10_q_sample
qs_ex = exercise("l10_q_sample", q_sample,
                 "q_sample(x0 (B, C, H, W), t (B,) long in 0..T-1, eps like x0, alpha_bars (T,)) -> x_t like x0: "
                 "sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps with each image's own t (DDPM Eq. 4)")


@qs_ex.test("returns one noisy image per input image, same shape")
def _(fn):
    _, ab = _schedule()
    x0, eps = torch.rand(3, 1, 8, 8) * 2 - 1, torch.randn(3, 1, 8, 8)
    expect_tensor_like(fn(x0, torch.tensor([0, 500, 999]), eps, ab), x0, "q_sample")


@qs_ex.test("keeps unit variance: a unit-variance x0 gives a unit-variance x_t at every t")
def _(fn):
    _, ab = _schedule()
    for t in (100, 400, 700):
        x0, eps = torch.randn(4000, 1, 2, 2), torch.randn(4000, 1, 2, 2)
        var = float(fn(x0, torch.full((4000,), t), eps, ab).var())
        expect(abs(var - 1) < 0.1, f"Var(x_t) = {var:.3f} at t = {t}: the weights of x0 and eps must be the square "
                                   "roots of alpha_bar_t and 1 - alpha_bar_t (their squares add up to 1)")


@qs_ex.test("uses each image's own t (alpha_bar indexed per image)")
def _(fn):
    _, ab = _schedule()
    x0, eps = torch.rand(4, 1, 6, 6) * 2 - 1, torch.randn(4, 1, 6, 6)
    t = torch.tensor([10, 300, 650, 990])
    out = expect_tensor_like(fn(x0, t, eps, ab), x0, "q_sample")
    for i in range(4):
        one = fn(x0[i:i + 1], t[i:i + 1], eps[i:i + 1], ab)
        expect(close(out[i:i + 1], one), "image i of a batch differs from the same image alone: "
                                          "index alpha_bars with t and broadcast it as (B, 1, 1, 1)")
    expect(close(out, q_sample(x0, t, eps, ab)), "x_t is not sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps: "
                                                  "check which factor multiplies x0 and which eps")


# ---------------------------------------------------------------- l10_diffusion_loss
loss_ex = exercise("l10_diffusion_loss", diffusion_loss,
                   "diffusion_loss(model, x0 (B, C, H, W), alpha_bars (T,)) -> scalar tensor: t ~ uniform on 0..T-1 "
                   "(long, one per image), eps ~ N(0, I), x_t by Eq. 4, mean squared error between eps and "
                   "model(x_t, t) (DDPM Eq. 14)")


class _Oracle(torch.nn.Module):
    """Knows x0, so it can return the true noise (or x0, or noise + offset); remembers what it was called with."""

    def __init__(self, x0, alpha_bars, answer="eps", offset=0.0):
        super().__init__()
        self.x0, self.ab, self.answer, self.offset, self.calls = x0, alpha_bars, answer, offset, []
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x_t, t):
        self.calls.append((x_t.detach(), t.detach()))
        a = self.ab[t].view(-1, 1, 1, 1)
        eps = (x_t - a.sqrt() * self.x0) / (1 - a).sqrt()
        return self.w * ((eps if self.answer == "eps" else self.x0) + self.offset)


def _loss_value(fn, model, x0, ab) -> torch.Tensor:
    out = fn(model, x0, ab)
    expect(torch.is_tensor(out) and out.dim() == 0, "diffusion_loss must return one scalar tensor (a mean)")
    expect(torch.isfinite(out), "the loss is NaN or inf")
    return out


@loss_ex.test("returns a scalar tensor that gradients flow through")
def _(fn):
    _, ab = _schedule()
    x0 = torch.rand(8, 1, 4, 4) * 2 - 1
    model = _Oracle(x0, ab, offset=0.3)
    _loss_value(fn, model, x0, ab).backward()
    expect(model.w.grad is not None and model.w.grad.abs() > 0, "no gradient reaches the model's parameters: "
                                                                 "compute the loss from model(x_t, t) without detaching")


@loss_ex.test("targets the noise eps (a model that predicts eps exactly has zero loss)")
def _(fn):
    _, ab = _schedule()
    x0 = torch.rand(64, 1, 4, 4) * 2 - 1
    exact = float(_loss_value(fn, _Oracle(x0, ab), x0, ab).detach())
    expect(exact < 1e-3, f"a model returning the true noise gets loss {exact:.4f}: the target of the regression is "
                         "the noise eps added in x_t (Eq. 14), not x0 or x_t")
    off = float(_loss_value(fn, _Oracle(x0, ab, offset=0.5), x0, ab).detach())
    expect(abs(off - 0.25) < 1e-3, f"a model off by 0.5 everywhere gets loss {off:.4f}: average the squared error "
                                   "over every pixel and image (F.mse_loss), do not sum it")


@loss_ex.test("draws t uniformly over 0..T-1 and eps from N(0, I), one per image")
def _(fn):
    _, ab = _schedule()
    x0 = torch.zeros(4000, 1, 2, 2)
    model = _Oracle(x0, ab)
    _loss_value(fn, model, x0, ab)
    expect(len(model.calls) == 1, "call the model once per loss, on the whole batch")
    x_t, t = model.calls[0]
    expect(t.dtype == torch.long and tuple(t.shape) == (4000,), "t must be a long tensor with one step per image")
    expect(int(t.min()) >= 0 and int(t.max()) <= T - 1, "t leaves 0..T-1 (steps are 0-based here)")
    expect(int(t.min()) < 20 and int(t.max()) > T - 20 and abs(float(t.float().mean()) - (T - 1) / 2) < 30,
           "t is not spread uniformly over all T steps: use torch.randint(0, T, (B,))")
    eps = x_t / (1 - ab[t]).sqrt().view(-1, 1, 1, 1)  # x0 = 0, so x_t = sqrt(1 - alpha_bar_t) eps
    expect(abs(float(eps.mean())) < 0.05 and abs(float(eps.std()) - 1) < 0.05,
           "the noise in x_t is not standard normal: draw eps with torch.randn_like(x0)")


# ---------------------------------------------------------------- l10_ancestral_step
anc_ex = exercise("l10_ancestral_step", ancestral_step,
                  "ancestral_step(x_t, t int, eps_hat like x_t, betas (T,), alpha_bars (T,), noise like x_t) -> x_{t-1}: "
                  "(x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t) + sqrt(beta_t) noise, "
                  "and no noise at t = 0 (DDPM Algorithm 2, sigma_t^2 = beta_t)")


def _step_inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(5, 1, 6, 6, generator=g), torch.randn(5, 1, 6, 6, generator=g), torch.randn(5, 1, 6, 6, generator=g)


@anc_ex.test("returns x_{t-1} with the shape of x_t")
def _(fn):
    betas, ab = _schedule()
    x, eps, z = _step_inputs()
    expect_tensor_like(fn(x, 500, eps, betas, ab, z), x, "ancestral_step")


@anc_ex.test("the mean removes the predicted noise as in Algorithm 2")
def _(fn):
    betas, ab = _schedule()
    x, eps, _ = _step_inputs(1)
    for t in (999, 400, 30):
        out = expect_tensor_like(fn(x, t, eps, betas, ab, torch.zeros_like(x)), x, "ancestral_step")
        expect(close(out, ancestral_step(x, t, eps, betas, ab, torch.zeros_like(x))),
               f"with zero noise, x_(t-1) at t = {t} is not (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / "
               "sqrt(alpha_t), alpha_t = 1 - beta_t: check each square root")


@anc_ex.test("adds noise with standard deviation sqrt(beta_t), and none at t = 0")
def _(fn):
    betas, ab = _schedule()
    x, eps, z = _step_inputs(2)
    t = 600
    added = fn(x, t, eps, betas, ab, z) - fn(x, t, eps, betas, ab, torch.zeros_like(z))
    expect(close(added, math.sqrt(float(betas[t])) * z),
           "the noise term is not sigma_t * noise with sigma_t = sqrt(beta_t): scale the given noise by the "
           "standard deviation (not the variance), and use the noise argument")
    last = fn(x, 0, eps, betas, ab, z) - fn(x, 0, eps, betas, ab, torch.zeros_like(z))
    expect(float(last.abs().max()) < 1e-6, "the last step (t = 0) must return the mean, without noise (Algorithm 2)")


# ---------------------------------------------------------------- l10_ddim_step
ddim_ex = exercise("l10_ddim_step", ddim_step,
                   "ddim_step(x_t, eps_hat like x_t, a_t float, a_prev float) -> x_prev (alphas are alpha_bar values): "
                   "x0_hat = (x_t - sqrt(1 - a_t) eps_hat) / sqrt(a_t), x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev) "
                   "eps_hat; deterministic (Song et al. 2021, Eq. 12, sigma = 0)")


def _noisy(a: float, seed: int = 3):
    g = torch.Generator().manual_seed(seed)
    x0, eps = torch.rand(4, 1, 6, 6, generator=g) * 2 - 1, torch.randn(4, 1, 6, 6, generator=g)
    return x0, eps, math.sqrt(a) * x0 + math.sqrt(1 - a) * eps


@ddim_ex.test("returns x_prev with the shape of x_t")
def _(fn):
    _, eps, x = _noisy(0.5)
    expect_tensor_like(fn(x, eps, 0.5, 0.7), x, "ddim_step")


@ddim_ex.test("with the true noise and a_prev = 1 it returns x0 exactly")
def _(fn):
    for a in (0.9, 0.3, 0.02):
        x0, eps, x = _noisy(a)
        out = expect_tensor_like(fn(x, eps, a, 1.0), x, "ddim_step")
        expect(close(out, x0), f"with the true eps at alpha_bar = {a}, x0_hat is wrong: invert Eq. 4, "
                                "x0_hat = (x_t - sqrt(1 - a_t) eps_hat) / sqrt(a_t)")


@ddim_ex.test("with the true noise it moves along the same noising path, deterministically")
def _(fn):
    x0, eps, x = _noisy(0.2)
    out = expect_tensor_like(fn(x, eps, 0.2, 0.6), x, "ddim_step")
    expect(close(out, math.sqrt(0.6) * x0 + math.sqrt(0.4) * eps),
           "the step does not land on the image with the same x0 and eps at the new noise level: "
           "x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev) eps_hat (no fresh noise)")
    expect(torch.equal(out, fn(x, eps, 0.2, 0.6)), "two identical calls gave different results: with sigma = 0 "
                                                   "DDIM adds no random noise")


# ---------------------------------------------------------------- l10_guided_eps
cfg_ex = exercise("l10_guided_eps", guided_eps,
                  "guided_eps(eps_cond, eps_uncond (same shape), w float >= 0) -> tensor: "
                  "(1 + w) eps_cond - w eps_uncond (Ho & Salimans 2022, Eq. 6)")


@cfg_ex.test("returns one prediction with the inputs' shape")
def _(fn):
    c, u = torch.randn(3, 1, 5, 5), torch.randn(3, 1, 5, 5)
    expect_tensor_like(fn(c, u, 2.0), c, "guided_eps")


@cfg_ex.test("w = 0 gives the conditional prediction itself")
def _(fn):
    c, u = torch.randn(3, 1, 5, 5), torch.randn(3, 1, 5, 5)
    out = fn(c, u, 0.0)
    expect(close(out, c), "with w = 0 guidance must be off and give eps_cond" + (", not eps_uncond" if close(out, u)
           else "") + ": the weights are 1 + w on eps_cond and -w on eps_uncond, (1 + w) eps_cond - w eps_uncond")


@cfg_ex.test("w > 0 extrapolates from the unconditional prediction past the conditional one")
def _(fn):
    c, u = torch.randn(3, 1, 5, 5), torch.randn(3, 1, 5, 5)
    for w in (0.5, 3.0):
        out = fn(c, u, w)
        expect(close(out - u, (1 + w) * (c - u)), f"at w = {w} the result is not eps_uncond + (1 + w) (eps_cond - "
                                                   "eps_uncond): the conditional term gets weight 1 + w, the "
                                                   "unconditional one -w")
