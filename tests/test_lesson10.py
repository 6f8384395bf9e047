"""Hidden tests of lesson 10: each exercise passes on the solution, fails on the stub and on plausible mistakes."""
import math

import torch
import torch.nn.functional as F

from course_lib import diffusion
from grading import assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "10_diffusion_mnist.ipynb"
EXERCISES = ("l10_q_sample", "l10_diffusion_loss", "l10_ancestral_step", "l10_ddim_step", "l10_guided_eps")


def test_solutions_pass_and_stubs_fail():
    for ex in EXERCISES:
        assert_solution_passes(NB, ex)
        assert_stub_fails(NB, ex)


def _ab(alpha_bars, t):
    return alpha_bars[t].view(-1, 1, 1, 1)


# ---------------------------------------------------------------- q_sample
def q_sample_no_sqrt(x0, t, eps, alpha_bars):  # alpha_bar itself as the weights: variance != 1
    a = _ab(alpha_bars, t)
    return a * x0 + (1 - a) * eps


def q_sample_first_t(x0, t, eps, alpha_bars):  # one alpha_bar for the whole batch
    a = alpha_bars[t[0]]
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def q_sample_swapped(x0, t, eps, alpha_bars):  # signal and noise weights swapped
    a = _ab(alpha_bars, t)
    return (1 - a).sqrt() * x0 + a.sqrt() * eps


def q_sample_flat_index(x0, t, eps, alpha_bars):  # alpha_bars[t] not reshaped: broadcasts over the wrong axis
    a = alpha_bars[t]
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def test_q_sample_wrong():
    assert_wrong_fails("l10_q_sample", q_sample_no_sqrt, because="unit variance")
    assert_wrong_fails("l10_q_sample", q_sample_first_t, because="own t")
    assert_wrong_fails("l10_q_sample", q_sample_swapped, because="own t")
    assert_wrong_fails("l10_q_sample", q_sample_flat_index, because="same shape")


# ---------------------------------------------------------------- diffusion_loss
def loss_predicts_x0(model, x0, alpha_bars):  # regresses the clean image instead of the noise
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],))
    eps = torch.randn_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), x0)


def loss_summed(model, x0, alpha_bars):  # sum instead of mean
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],))
    eps = torch.randn_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps, reduction="sum")


def loss_uniform_noise(model, x0, alpha_bars):  # torch.rand instead of torch.randn
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],))
    eps = torch.rand_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps)


def loss_one_t(model, x0, alpha_bars):  # one t for the whole batch
    t = torch.randint(0, len(alpha_bars), (1,)).expand(x0.shape[0])
    eps = torch.randn_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps)


def test_diffusion_loss_wrong():
    assert_wrong_fails("l10_diffusion_loss", loss_predicts_x0, because="targets the noise")
    assert_wrong_fails("l10_diffusion_loss", loss_summed, because="targets the noise")
    assert_wrong_fails("l10_diffusion_loss", loss_uniform_noise, because="N(0, I)")
    assert_wrong_fails("l10_diffusion_loss", loss_one_t, because="uniformly")


# ---------------------------------------------------------------- ancestral_step
def ancestral_variance_not_std(x_t, t, eps_hat, betas, alpha_bars, noise):  # beta_t * z instead of sqrt(beta_t) * z
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps_hat) / math.sqrt(1 - beta)
    return mean if t == 0 else mean + beta * noise


def ancestral_noise_at_zero(x_t, t, eps_hat, betas, alpha_bars, noise):  # noise also at the last step
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    return (x_t - beta / math.sqrt(1 - a_bar) * eps_hat) / math.sqrt(1 - beta) + math.sqrt(beta) * noise


def ancestral_no_sqrt_alpha(x_t, t, eps_hat, betas, alpha_bars, noise):  # divides by alpha_t, not its root
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps_hat) / (1 - beta)
    return mean if t == 0 else mean + math.sqrt(beta) * noise


def ancestral_alpha_bar_coefficient(x_t, t, eps_hat, betas, alpha_bars, noise):  # (1 - alpha_bar) / sqrt(1 - alpha_bar)
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - math.sqrt(1 - a_bar) * eps_hat) / math.sqrt(1 - beta)
    return mean if t == 0 else mean + math.sqrt(beta) * noise


def test_ancestral_step_wrong():
    assert_wrong_fails("l10_ancestral_step", ancestral_variance_not_std, because="standard deviation")
    assert_wrong_fails("l10_ancestral_step", ancestral_noise_at_zero, because="none at t = 0")
    assert_wrong_fails("l10_ancestral_step", ancestral_no_sqrt_alpha, because="Algorithm 2")
    assert_wrong_fails("l10_ancestral_step", ancestral_alpha_bar_coefficient, because="Algorithm 2")


# ---------------------------------------------------------------- ddim_step
def ddim_no_sqrt(x_t, eps_hat, a_t, a_prev):  # alphas without square roots
    x0 = (x_t - (1 - a_t) * eps_hat) / a_t
    return a_prev * x0 + (1 - a_prev) * eps_hat


def ddim_fresh_noise(x_t, eps_hat, a_t, a_prev):  # re-noises with new noise (the eta = 1 direction only)
    x0 = (x_t - math.sqrt(1 - a_t) * eps_hat) / math.sqrt(a_t)
    return math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * torch.randn_like(x_t)


def ddim_returns_x0(x_t, eps_hat, a_t, a_prev):  # jumps straight to the clean estimate
    return (x_t - math.sqrt(1 - a_t) * eps_hat) / math.sqrt(a_t)


def test_ddim_step_wrong():
    assert_wrong_fails("l10_ddim_step", ddim_no_sqrt, because="returns x0 exactly")
    assert_wrong_fails("l10_ddim_step", ddim_fresh_noise, because="same noising path")
    assert_wrong_fails("l10_ddim_step", ddim_returns_x0, because="same noising path")


# ---------------------------------------------------------------- guided_eps
def guidance_swapped(eps_cond, eps_uncond, w):  # the weights of the two predictions swapped
    return (1 + w) * eps_uncond - w * eps_cond


def guidance_interpolates(eps_cond, eps_uncond, w):  # w eps_cond + (1 - w) eps_uncond (Eq. 6 of another form)
    return w * eps_cond + (1 - w) * eps_uncond


def guidance_missing_one(eps_cond, eps_uncond, w):  # w (eps_cond - eps_uncond) + eps_cond, with w instead of 1 + w
    return eps_uncond + w * (eps_cond - eps_uncond)


def test_guided_eps_wrong():
    assert_wrong_fails("l10_guided_eps", guidance_swapped, because="w = 0")
    assert_wrong_fails("l10_guided_eps", guidance_interpolates, because="w = 0")
    assert_wrong_fails("l10_guided_eps", guidance_missing_one, because="extrapolates")


# ---------------------------------------------------------------- the reference samplers and schedules
def test_schedules_and_ddim_timesteps():
    for kind in ("linear", "cosine"):
        betas = diffusion.make_schedule(kind, 1000)
        ab = diffusion.alpha_bar(betas)
        assert betas.shape == (1000,) and (betas > 0).all() and (betas < 1).all()
        assert (ab[1:] < ab[:-1]).all() and ab[0] > 0.99 and ab[-1] < 1e-3
        assert (diffusion.snr(ab)[1:] < diffusion.snr(ab)[:-1]).all()
    steps = diffusion.ddim_timesteps(1000, 10)
    assert len(steps) == 10 and steps[0] == 999 and steps[-1] == 0 and steps == sorted(steps, reverse=True)


class _Exact(torch.nn.Module):
    """eps_theta for data that is a single image x0: the exact noise prediction at every t."""

    def __init__(self, x0, alpha_bars, num_classes=None):
        super().__init__()
        self.x0, self.ab, self.num_classes = x0, alpha_bars.float(), num_classes
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, t, y=None):
        a = self.ab[t].view(-1, 1, 1, 1)
        return (x - a.sqrt() * self.x0) / (1 - a).sqrt()


def test_samplers_reach_the_data_with_an_exact_model():
    betas = diffusion.make_schedule("linear", 1000)
    x0 = torch.rand(1, 1, 6, 6) * 2 - 1
    model = _Exact(x0, diffusion.alpha_bar(betas))
    g = torch.Generator().manual_seed(0)
    out = diffusion.sample_ddim(model, 4, betas, steps=10, generator=g, shape=(1, 6, 6))
    assert out.shape == (4, 1, 6, 6) and torch.allclose(out, x0.expand(4, -1, -1, -1), atol=1e-3)
    out = diffusion.sample_ddpm(model, 2, betas, generator=g, shape=(1, 6, 6))
    assert torch.allclose(out, x0.expand(2, -1, -1, -1), atol=0.05)


def test_unet_shapes_and_null_label():
    from course_lib.diffusion_unet import UNet
    model = UNet(channels=8, num_classes=10)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 500, 999])
    assert model(x, t).shape == (3, 1, 28, 28)
    with torch.no_grad():
        model.conv_out.weight.normal_()
        model.class_emb.weight.normal_()
    null = torch.full((3,), 10)
    assert torch.allclose(model(x, t), model(x, t, null))  # no label = the null label
    assert not torch.allclose(model(x, t, torch.tensor([1, 2, 3])), model(x, t, null))
