"""The library beside the scratch code: a course eps-network sampled through Hugging Face diffusers' schedulers.

course_lib.diffusion writes DDPM and DDIM out; diffusers (von Platen et al., github.com/huggingface/diffusers)
ships the same samplers and higher-order ODE solvers as `SchedulerMixin` objects with one interface:
`set_timesteps(k)`, then for each `t` in `scheduler.timesteps`, `x = scheduler.step(eps_theta(x, t), t, x).prev_sample`.
Built here from the *same* betas the network was trained with (`trained_betas`), so only the sampler differs:
- `ddpm`: `DDPMScheduler`, ancestral sampling (DDPM Algorithm 2, sigma_t^2 = beta_t: variance_type="fixed_large");
- `ddim`: `DDIMScheduler`, Song et al. 2021 Eq. 12 with eta = 0;
- `dpm`: `DPMSolverMultistepScheduler`, DPM-Solver++(2M) (Lu et al. 2022b): a second-order
  multistep solver of the probability-flow ODE that reuses the previous step's x0 prediction, so each step costs
  one network evaluation.
All clamp x0_hat to [-1, 1] like the course's samplers and use "trailing" spacing (steps start at t = T-1; Lin et al.
2024, Table 2). Nothing is downloaded: a scheduler is built from arguments, not fetched from a hub.
"""
import torch

from .diffusion import gaussian, predict_eps
from .loop import progress

KINDS = ("ddpm", "ddim", "dpm")


def make_scheduler(kind: str, betas: torch.Tensor, **overrides):
    """A diffusers scheduler of `kind` ('ddpm', 'ddim' or 'dpm') on the training betas (T,)."""
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
    if kind not in KINDS:
        raise ValueError(f"unknown scheduler {kind!r}: use one of {', '.join(KINDS)}")
    common = dict(num_train_timesteps=len(betas), trained_betas=betas.double().numpy(), timestep_spacing="trailing")
    if kind == "ddpm":
        settings = dict(variance_type="fixed_large", clip_sample=True, clip_sample_range=1.0)
        return DDPMScheduler(**{**common, **settings, **overrides})
    if kind == "ddim":
        settings = dict(clip_sample=True, clip_sample_range=1.0, set_alpha_to_one=True)
        return DDIMScheduler(**{**common, **settings, **overrides})
    settings = dict(algorithm_type="dpmsolver++", solver_order=2, thresholding=True, sample_max_value=1.0,
                    final_sigmas_type="zero")  # thresholding with max 1: x0_hat clamped to [-1, 1], as ours
    return DPMSolverMultistepScheduler(**{**common, **settings, **overrides})


@torch.no_grad()
def sample(model, scheduler, n: int, steps: int, y=None, w: float = 0.0, generator=None, shape=(1, 28, 28),
           desc: str | None = None) -> torch.Tensor:
    """n images in [-1, 1] from `steps` scheduler steps, one network evaluation each (two with guidance w)."""
    device = next(model.parameters()).device
    scheduler.set_timesteps(steps, device=device)
    x = gaussian(n, shape, generator, device) * scheduler.init_noise_sigma
    for t in progress(scheduler.timesteps, desc or f"{type(scheduler).__name__}, {steps} steps"):
        eps = predict_eps(model, x, int(t), y, w)
        x = scheduler.step(eps, t, x, generator=generator).prev_sample
    return x.clamp(-1, 1)
