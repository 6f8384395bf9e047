"""Flow matching on a straight path (Lipman et al. 2023, "Flow Matching for Generative Modeling"; Liu et al. 2023,
"Flow Straight and Fast", rectified flow), in the convention of Esser et al. 2024 (Stable Diffusion 3).

Convention used everywhere in the course: t = 0 is data and t = 1 is noise, as in lesson 10,

    x_t = (1 - t) x_0 + t eps,   eps ~ N(0, I),   t in [0, 1],

so the conditional velocity along one path is d x_t / dt = eps - x_0. (Lipman et al. run time the other way:
x_0 is noise and x_1 data, and their optimal-transport flow is
psi_t(x_0) = (1 - (1 - sigma_min) t) x_0 + t x_1, Eq. 22; with sigma_min = 0 and t -> 1 - t it is this path.)

A network v_theta(x_t, t) regresses that velocity: the conditional flow-matching loss (Lipman et al. Eq. 9)

    L_CFM = E_{t, x_0, eps} || v_theta(x_t, t) - (eps - x_0) ||^2      (Eq. 23 for the optimal-transport path),

whose gradient equals that of regressing the unknown marginal velocity field u_t(x) = E[eps - x_0 | x_t = x]
(Theorem 2, assuming p_t(x) > 0), the field whose ODE dx/dt = u_t(x) carries N(0, I) at t = 1 to the data at t = 0 (Theorem 1).
Another density of t that is positive on (0, 1) reweights the loss over t and leaves that minimiser in place;
`training_times` also draws Esser et al.'s logit-normal times (Sec. 3.1), which favour the middle of the path.
Sampling integrates that ODE from t = 1 to t = 0: Euler (one network evaluation per step) or Heun's second-order
method (two). Lesson 10's DDIM step, read on this path (`ddim_step`), is Euler's step when eta = 0 and a stochastic
sampler of the same model when eta > 0. Classifier-free guidance combines velocities as lesson 10 combined eps (Ho & Salimans 2022, Eq. 6):
at fixed x_t and t, v = (eps - x_t) / (1 - t) is affine in eps, and the weights (1 + w, -w) sum to 1, so the
combination is the same. Autoguidance (Karras et al. 2024, Eq. 3) combines the same way with a weaker model of the
same task in place of the unconditional one, (1 + w) v(x_t, t) - w v_weak(x_t, t) (their w is 1 + w): it needs no
labels, so it also guides an unconditional model.

The network is lesson 10's U-Net, unchanged: `VelocityField` feeds it TIME_SCALE * t (the scale of lesson 10's steps).
Images live in [-1, 1].
"""
import torch
from torch import nn

from .diffusion import ddim_sigma, gaussian
from .loop import progress

TIME_SCALE = 1000.0  # the U-Net's time input is TIME_SCALE * t, the scale of lesson 10's integer steps
TIME_SAMPLINGS = {"uniform": "U[0, 1]", "logit-normal": "sigmoid(N(0, 1)) (logit-normal)"}  # `training_times`' laws


# ---------------------------------------------------------------- the path and its velocity
def interpolate(x0: torch.Tensor, eps: torch.Tensor, t) -> torch.Tensor:
    """x_t = (1 - t) x_0 + t eps, with t of shape (B,) (or a number) broadcast over each image."""
    t = torch.as_tensor(t, dtype=x0.dtype, device=x0.device).reshape(-1, *([1] * (x0.dim() - 1)))
    return (1 - t) * x0 + t * eps


def target_velocity(x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """d x_t / dt along the straight path: eps - x_0 (the same for every t)."""
    return eps - x0


class VelocityField(nn.Module):
    """v_theta(x, t [, y]) with t in [0, 1] (a number or a (B,) tensor), computed by lesson 10's U-Net, which reads
    the time as TIME_SCALE * t. Wraps the network without copying it; `num_classes` is the network's."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net, self.num_classes = net, getattr(net, "num_classes", None)

    def forward(self, x: torch.Tensor, t, y=None) -> torch.Tensor:
        tt = torch.as_tensor(t, dtype=torch.float32, device=x.device).expand(x.shape[0]) * TIME_SCALE
        return self.net(x, tt) if y is None else self.net(x, tt, y)


def guided_velocity(v, x: torch.Tensor, t, y=None, w: float = 0.0, guide=None) -> torch.Tensor:
    """v(x, t [, y]); with labels y and w != 0, the guided combination (1 + w) v(x, t, y) - w v(x, t, null)
    (one batched call of twice the size). With a weaker VelocityField `guide` of the same task (and w != 0):
    autoguidance, (1 + w) v(x, t [, y]) - w guide(x, t [, y]) (Karras et al. 2024, Eq. 3 with their w = 1 + w)."""
    if guide is not None:
        own = guided_velocity(v, x, t, y)
        return own if w == 0 else (1 + w) * own - w * guided_velocity(guide, x, t, y)
    if y is None:
        return v(x, t)
    if w == 0:
        return v(x, t, y)
    null = torch.full_like(y, v.num_classes)
    t2 = torch.cat([t, t]) if torch.is_tensor(t) and t.dim() else t
    cond, uncond = v(torch.cat([x, x]), t2, torch.cat([y, null])).chunk(2)
    return (1 + w) * cond - w * uncond


def training_times(n: int, sampling: str = "uniform", generator=None, device=None) -> torch.Tensor:
    """n training times: t ~ U[0, 1] (Lipman et al.'s L_CFM), or "logit-normal": t = sigmoid(u), u ~ N(0, 1),
    the density pi_ln(t; 0, 1) of Esser et al. 2024 (Sec. 3.1), which puts more of the training on middle times,
    where the velocity is hardest to predict, and less near t = 0 and 1. Any density that is positive on (0, 1)
    reweights the loss over t without moving its minimiser, the marginal field u_t."""
    if sampling == "uniform":
        return torch.rand(n, generator=generator, device=device)
    if sampling == "logit-normal":
        return torch.sigmoid(torch.randn(n, generator=generator, device=device))
    raise ValueError(f"time sampling {sampling!r}: use one of {', '.join(TIME_SAMPLINGS)}")


def flow_loss(v, x0: torch.Tensor, y=None, generator=None, sampling: str = "uniform") -> torch.Tensor:
    """L_CFM (Lipman et al. Eq. 9) on one batch: t ~ U[0, 1] per image (or `training_times`' other density),
    eps ~ N(0, I), the mean squared error between v(x_t, t [, y]) and eps - x_0."""
    t = training_times(x0.shape[0], sampling, generator, x0.device)
    eps = torch.randn(x0.shape, generator=generator, device=x0.device)
    out = v(interpolate(x0, eps, t), t) if y is None else v(interpolate(x0, eps, t), t, y)
    return (out.float() - target_velocity(x0, eps)).pow(2).mean()


# ---------------------------------------------------------------- lesson 10's model read as a flow
def flow_time(alpha_bar: torch.Tensor) -> torch.Tensor:
    """The flow time of a DDPM step with cumulative alpha_bar: the DDPM's x_t = sqrt(a) x_0 + sqrt(1 - a) eps,
    divided by sqrt(a) + sqrt(1 - a), is this path's x_t at t = sqrt(1 - a) / (sqrt(a) + sqrt(1 - a))."""
    s, n = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return n / (s + n)


def velocity_from_eps(x_t: torch.Tensor, eps_hat: torch.Tensor, t: float) -> torch.Tensor:
    """The velocity an eps prediction implies on this path: x0_hat = (x_t - t eps_hat) / (1 - t), and
    v = eps_hat - x0_hat = (eps_hat - x_t) / (1 - t) (t < 1)."""
    return (eps_hat - x_t) / (1 - t)


def alpha_bar_of(t: float) -> float:
    """The alpha_bar of lesson 10's path at flow time t (the inverse of flow_time): x_t / sqrt(a) has the noise
    t / (1 - t), so a = (1 - t)^2 / ((1 - t)^2 + t^2)."""
    return (1 - t) ** 2 / ((1 - t) ** 2 + t ** 2)


def ddim_step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float, eta: float = 0.0, noise=None):
    """Lesson 10's DDIM step (Song et al. 2021, Eq. 12 with Eq. 16's sigma) on this path. The velocity implies
    x0_hat = x_t - t v and eps_hat = x_t + (1 - t) v; the step rebuilds x at t_next from them,

        x_{t_next} = (1 - t_next) x0_hat + sqrt(t_next^2 - c^2) eps_hat + c z,   z ~ N(0, I),

    with c = eta t_next sqrt((1 - a_t / a_next) / (1 - a_t)): Eq. 16's sigma (diffusion.ddim_sigma) divided by
    sqrt(a) + sqrt(1 - a), the factor that turns lesson 10's x_t into this path's (a = alpha_bar_of(t)). With eta = 0
    it is exactly euler_step; eta = 1 replaces part of eps_hat with fresh noise at every step, as lesson 10's DDIM
    with eta 1."""
    x0_hat, eps_hat = x - t * v, x + (1 - t) * v
    a_t, a_next = alpha_bar_of(t), alpha_bar_of(t_next)
    c = ddim_sigma(a_t, a_next, eta) / (a_next ** 0.5 + (1 - a_next) ** 0.5)
    out = (1 - t_next) * x0_hat + max(t_next ** 2 - c ** 2, 0.0) ** 0.5 * eps_hat
    return out + c * (torch.randn_like(x) if noise is None else noise) if c else out


# ---------------------------------------------------------------- ODE solvers, t = 1 -> 0
def euler_step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float) -> torch.Tensor:
    """One Euler step of dx/dt = v: x_{t_next} = x_t + (t_next - t) v (t_next < t: a step towards the data)."""
    return x + (t_next - t) * v


def heun_step(field, x: torch.Tensor, t: float, t_next: float) -> torch.Tensor:
    """One step of Heun's method: an Euler step to t_next, then the average of the slopes at both ends.
    `field(x, t)` is the velocity; two evaluations per step."""
    v = field(x, t)
    x_euler = euler_step(x, v, t, t_next)
    return x + (t_next - t) * 0.5 * (v + field(x_euler, t_next))


def heun_evaluations(steps: int) -> int:
    """Network evaluations of `sample(..., method="heun")`: two per step, one for the last (Euler) step."""
    return 2 * steps - 1


def time_grid(steps: int) -> list[float]:
    """steps + 1 evenly spaced times from 1 (noise) to 0 (data)."""
    return [1 - i / steps for i in range(steps + 1)]


def in_interval(t: float, interval) -> bool:
    """Whether a step that starts at time t is guided: lo < t <= hi for interval = (lo, hi), with t rounded to 9
    decimals, so that a bound on a grid time (0.2 with 5 steps) means that time, not its float."""
    lo, hi = interval
    return lo < round(t, 9) <= hi


def guided_evaluations(steps: int, method: str = "euler", interval=(0.0, 1.0)) -> int:
    """Evaluations of the guided field that `sample(..., interval=)` makes: those of the steps that start in the
    interval (in_interval; each such evaluation calls a second network, or doubles the batch)."""
    grid = time_grid(steps)
    return sum(2 if method == "heun" and t_next > 0 else 1
               for t, t_next in zip(grid[:-1], grid[1:]) if in_interval(t, interval))


@torch.no_grad()
def sample(v, n: int, steps: int = 10, method: str = "euler", y=None, w: float = 0.0, generator=None,
           shape=(1, 28, 28), return_trajectory: bool = False, desc: str | None = None, eta: float = 0.0,
           guide=None, interval=(0.0, 1.0)):
    """n samples by integrating dx/dt = v(x, t) (a VelocityField) from x_1 ~ N(0, I) at t = 1 to t = 0 in `steps`
    equal steps, in `heun_evaluations(steps)` or `steps` network evaluations (twice that with guidance w != 0:
    classifier-free with labels y, or autoguidance by the weaker VelocityField `guide`; guided_velocity).
    "heun" takes Heun steps and a last Euler step, as Karras et al. 2022 do (Algorithm 1): at t = 0 the network
    has only seen clean images, so its slope there treats the noise left in the Euler prediction as data and a Heun
    step to t = 0 keeps part of it. "ddim" takes ddim_step with `eta` (eta = 0: the same samples as "euler").
    Guidance acts on the steps that start at a time t in `interval` = (lo, hi] and is off on the others, a whole step
    at a time (Kynkaanniemi et al. 2024, Eq. 5-6 and Sec. 3.1; the default guides every step).
    Images clamped to [-1, 1], plus the states after each step (x_1 first, unclamped) with return_trajectory."""
    if method not in ("euler", "heun", "ddim"):
        raise ValueError(f"method must be 'euler', 'heun' or 'ddim', not {method!r}")
    if eta and method != "ddim":
        raise ValueError(f"eta = {eta} needs method='ddim' (the {method} steps are deterministic)")
    lo, hi = interval
    if not 0 <= lo < hi:
        raise ValueError(f"interval {interval}: guidance acts for lo < t <= hi, so it needs 0 <= lo < hi")
    device = next(v.parameters()).device
    x = gaussian(n, shape, generator, device)
    grid, frames = time_grid(steps), [x.cpu()]

    for t, t_next in progress(list(zip(grid[:-1], grid[1:])), desc or f"{method} {steps}"):
        def field(x_, t_, w=w if in_interval(t, interval) else 0.0):  # one weight for the whole step (Sec. 3.1)
            return guided_velocity(v, x_, t_, y, w, guide)
        if method == "heun" and t_next > 0:
            x = heun_step(field, x, t, t_next)
        elif method == "ddim":
            noise = gaussian(n, shape, generator, device) if eta and t_next > 0 else None
            x = ddim_step(x, field(x, t), t, t_next, eta, noise)
        else:
            x = euler_step(x, field(x, t), t, t_next)
        if return_trajectory:
            frames.append(x.cpu())
    x = x.clamp(-1, 1)
    return (x, frames) if return_trajectory else x
