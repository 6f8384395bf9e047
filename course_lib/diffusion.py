"""Denoising diffusion (Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models"; DDPM below).

Forward process: add Gaussian noise in T small steps, q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I).
With alpha_t = 1 - beta_t and alpha_bar_t = prod_{s<=t} alpha_s it has a closed form (DDPM Eq. 4):

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I),   i.e.   x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps.

A network eps_theta(x_t, t) learns to predict the noise eps: the simplified objective (DDPM Eq. 14)
L = E_{t, x_0, eps} ||eps - eps_theta(x_t, t)||^2. Sampling runs the process backwards:
- ancestral (DDPM Algorithm 2): x_{t-1} = (x_t - beta_t / sqrt(1 - a_t) eps_theta) / sqrt(alpha_t) + sigma_t z,
  sigma_t^2 = beta_t, T network evaluations per sample; the mean is the forward posterior's (Eq. 7) with x_0
  replaced by the network's estimate x0_hat (Eq. 15), which gives Eq. 11;
- DDIM (Song, Meng & Ermon 2021, Eq. 12): any sub-sequence of steps, deterministic with eta = 0 (sigma = 0),
  x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - sigma^2) eps_theta + sigma z, x0_hat = (x_t - sqrt(1 - a_t) eps_theta) / sqrt(a_t);
- classifier-free guidance (Ho & Salimans 2022, Eq. 6): eps~ = (1 + w) eps_theta(x_t, y) - w eps_theta(x_t, null).
Schedules: linear beta from 1e-4 to 0.02 (DDPM Sec. 4) or cosine (Nichol & Dhariwal 2021, Sec. 3.2).
Time steps are 0-based here: t = 0 .. T-1 stands for the paper's 1 .. T. Images live in [-1, 1].
"""
import math

import torch
import torch.nn.functional as F

from .loop import progress


# ---------------------------------------------------------------- noise schedules
def linear_betas(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    """DDPM Sec. 4: beta_t rising linearly from beta_1 to beta_T, (T,) float64."""
    return torch.linspace(beta_1, beta_T, T, dtype=torch.float64)


def cosine_betas(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal 2021, Sec. 3.2: alpha_bar_t = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi / 2);
    beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}, clipped at 0.999 to avoid the singularity at t = T. (T,) float64."""
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - f[1:] / f[:-1]).clamp(max=max_beta)


def alpha_bar(betas: torch.Tensor) -> torch.Tensor:
    """alpha_bar_t = prod_{s<=t} (1 - beta_s), (T,)."""
    return torch.cumprod(1 - betas, dim=0)


def snr(alpha_bars: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio of x_t: alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021)."""
    return alpha_bars / (1 - alpha_bars)


def make_schedule(kind: str = "linear", T: int = 1000) -> torch.Tensor:
    """betas of a named schedule: 'linear' or 'cosine'."""
    if kind not in ("linear", "cosine"):
        raise ValueError(f"unknown schedule {kind!r}: use 'linear' or 'cosine'")
    return linear_betas(T) if kind == "linear" else cosine_betas(T)


def _at(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (B, 1, 1, 1) to broadcast over images x, in x's dtype and device."""
    return values.to(x.device)[t].to(x.dtype).view(-1, *([1] * (x.dim() - 1)))


# ---------------------------------------------------------------- forward process and objective
def q_sample(x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, alpha_bars: torch.Tensor) -> torch.Tensor:
    """DDPM Eq. 4: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, per image t (B,)."""
    a = _at(alpha_bars, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def diffusion_loss(model, x0: torch.Tensor, alpha_bars: torch.Tensor, y=None, generator=None) -> torch.Tensor:
    """DDPM Eq. 14 (L_simple): t ~ U{0..T-1}, eps ~ N(0, I), mean ||eps - eps_theta(x_t, t [, y])||^2."""
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],), device=x0.device, generator=generator)
    eps = torch.randn(x0.shape, device=x0.device, generator=generator)
    x_t = q_sample(x0, t, eps, alpha_bars)
    pred = model(x_t, t) if y is None else model(x_t, t, y)
    return F.mse_loss(pred, eps)


# ---------------------------------------------------------------- one reverse step
def posterior_mean(x_t, x0, t: int, betas: torch.Tensor, alpha_bars: torch.Tensor):
    """DDPM Eq. 7: the mean of the forward posterior q(x_{t-1} | x_t, x_0),
    mu~_t = sqrt(a_bar_{t-1}) beta_t / (1 - a_bar_t) x_0 + sqrt(alpha_t) (1 - a_bar_{t-1}) / (1 - a_bar_t) x_t."""
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    a_prev = float(alpha_bars[t - 1]) if t > 0 else 1.0
    return (math.sqrt(a_prev) * beta * x0 + math.sqrt(1 - beta) * (1 - a_prev) * x_t) / (1 - a_bar)


def predict_x0(x_t, eps_hat, a_t):
    """DDPM Eq. 15 (inverting Eq. 4): x0_hat = (x_t - sqrt(1 - a_bar_t) eps_hat) / sqrt(a_bar_t); a_t is a float
    or a tensor that broadcasts against x_t (one alpha_bar per image)."""
    return (x_t - (1 - a_t) ** 0.5 * eps_hat) / a_t ** 0.5


def ancestral_step(x_t, t: int, eps_hat, betas: torch.Tensor, alpha_bars: torch.Tensor, noise=None,
                   clip: bool = False):
    """DDPM Algorithm 2, one step: x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat)
    + sigma_t z with sigma_t^2 = beta_t and z ~ N(0, I); no noise at the last step (t = 0).
    The mean is Eq. 7's posterior mean with x_0 replaced by Eq. 15's x0_hat (Eq. 11). With clip, x0_hat is clamped
    to the data range [-1, 1] first, as DDPM's released sampler does (`clip_denoised`); without, the two are equal."""
    beta = float(betas[t])
    if clip:
        mean = posterior_mean(x_t, predict_x0(x_t, eps_hat, float(alpha_bars[t])).clamp(-1, 1), t, betas, alpha_bars)
    else:
        mean = (x_t - beta / math.sqrt(1 - float(alpha_bars[t])) * eps_hat) / math.sqrt(1 - beta)
    if t == 0:
        return mean
    noise = torch.randn_like(x_t) if noise is None else noise
    return mean + math.sqrt(beta) * noise


def ddim_sigma(a_t: float, a_prev: float, eta: float) -> float:
    """DDIM's Eq. 16: sigma = eta sqrt((1 - a_prev) / (1 - a_t)) sqrt(1 - a_t / a_prev), the noise of a step from
    alpha_bar a_t to a_prev (0 when eta = 0, and for a step to a_prev = 1)."""
    return eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) if eta else 0.0


def ddim_step(x_t, eps_hat, a_t: float, a_prev: float, clip: bool = False, eta: float = 0.0, noise=None):
    """DDIM (Song et al. 2021, Eq. 12): predict x_0, then move to the noise level a_prev (an alpha_bar),
    x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - sigma^2) eps_hat + sigma z, with Eq. 16's
    sigma = eta sqrt((1 - a_prev) / (1 - a_t)) sqrt(1 - a_t / a_prev): eta = 0 is deterministic, eta = 1 the
    DDPM-like stochastic sampler. With clip, x0_hat is clamped to [-1, 1] first (a practical addition, not Eq. 12)."""
    x0_hat = predict_x0(x_t, eps_hat, a_t)
    if clip:
        x0_hat = x0_hat.clamp(-1, 1)
    sigma = ddim_sigma(a_t, a_prev, eta)
    x_prev = math.sqrt(a_prev) * x0_hat + math.sqrt(max(1 - a_prev - sigma ** 2, 0.0)) * eps_hat
    if sigma:
        x_prev = x_prev + sigma * (torch.randn_like(x_t) if noise is None else noise)
    return x_prev


def guided_eps(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans 2022, Eq. 6): (1 + w) eps(x_t, y) - w eps(x_t, null).
    w = 0 is the plain conditional model; larger w trades diversity for fidelity."""
    return (1 + w) * eps_cond - w * eps_uncond


# ---------------------------------------------------------------- samplers
def gaussian(n: int, shape, generator, device) -> torch.Tensor:
    """n standard-normal images on `device`, drawn from `generator` (on its own device) when one is given."""
    where = generator.device if generator is not None else device
    return torch.randn(n, *shape, generator=generator, device=where).to(device)


def predict_eps(model, x, t: int, y=None, w: float = 0.0):
    """eps_theta(x, t [, y]) for one integer step t; with labels y and w != 0, the guided combination."""
    tt = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
    if y is None:
        return model(x, tt)
    if w == 0:
        return model(x, tt, y)
    null = torch.full_like(y, model.num_classes)
    both = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, null]))
    return guided_eps(*both.chunk(2), w)


@torch.no_grad()
def sample_ddpm(model, n: int, betas: torch.Tensor, y=None, w: float = 0.0, generator=None,
                shape=(1, 28, 28), trajectory_every: int = 0, clip: bool = True, desc: str = "DDPM"):
    """n samples by ancestral sampling from x_T ~ N(0, I), T network evaluations (2T with guidance), x0_hat
    clamped to [-1, 1] in each step (`clip`). Returns images in [-1, 1], plus the intermediate x_t when
    trajectory_every > 0."""
    device = next(model.parameters()).device
    alpha_bars, T = alpha_bar(betas), len(betas)
    x = gaussian(n, shape, generator, device)
    frames = []
    for t in progress(range(T - 1, -1, -1), desc):
        eps = predict_eps(model, x, t, y, w)
        noise = gaussian(n, shape, generator, device) if generator is not None else None
        x = ancestral_step(x, t, eps, betas, alpha_bars, noise, clip=clip)
        if trajectory_every and (t % trajectory_every == 0):
            frames.append(x.clamp(-1, 1).cpu())
    x = x.clamp(-1, 1)
    return (x, frames) if trajectory_every else x


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """`steps` evenly spaced steps from T-1 down to 0 (Song et al. 2021, Sec. 4.2: a sub-sequence tau)."""
    return sorted({round(i * (T - 1) / max(steps - 1, 1)) for i in range(steps)}, reverse=True)


@torch.no_grad()
def sample_ddim(model, n: int, betas: torch.Tensor, steps: int = 50, y=None, w: float = 0.0, generator=None,
                shape=(1, 28, 28), clip: bool = True, eta: float = 0.0, guide_below: int | None = None,
                return_trajectory: bool = False, desc: str = "DDIM"):
    """n samples with `steps` DDIM steps (network evaluations; 2x with guidance), in [-1, 1]; eta = 0 is
    deterministic (the default), eta > 0 adds Eq. 16's noise. With guide_below, guidance w applies only at steps
    t < guide_below (guidance in a limited interval, Kynkäänniemi et al. 2024); above it the conditional eps."""
    device = next(model.parameters()).device
    alpha_bars = alpha_bar(betas)
    x = gaussian(n, shape, generator, device)
    taus, frames = ddim_timesteps(len(betas), steps), []
    for i, t in enumerate(progress(taus, desc)):
        a_prev = float(alpha_bars[taus[i + 1]]) if i + 1 < len(taus) else 1.0
        noise = gaussian(n, shape, generator, device) if eta and generator is not None else None
        w_t = w if guide_below is None or t < guide_below else 0.0
        x = ddim_step(x, predict_eps(model, x, t, y, w_t), float(alpha_bars[t]), a_prev, clip=clip, eta=eta, noise=noise)
        if return_trajectory:
            frames.append(x.clamp(-1, 1).cpu())
    x = x.clamp(-1, 1)
    return (x, frames) if return_trajectory else x
