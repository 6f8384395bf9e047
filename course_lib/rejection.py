"""Discriminator rejection sampling (Azadi, Olsson, Darrell, Goodfellow & Odena 2019, "Discriminator Rejection
Sampling"): a sampling-time filter that keeps the generator unconditional and unchanged.

If D is the optimal discriminator for a fixed generator G, D*(x) = p_data(x) / (p_data(x) + p_g(x)), so its logit is
D~(x) = log p_data(x) / p_g(x). Rejection sampling with acceptance p_data / (M p_g) = exp(D~(x) - D~_M) then draws
from p_data (D~_M = the largest logit, estimated on a burn-in batch). To keep a usable acceptance rate the paper
accepts with probability sigmoid(F(x)) (Sec. 3.2, Algorithm 1):

    F(x) = D~(x) - D~_M - log(1 - exp(D~(x) - D~_M - eps)) - gamma

where gamma shifts the acceptance (here: chosen so a target share of burn-in samples has F > 0).
The shipped dcgan_mnist.pt holds only the generator, so D is trained afresh to tell real digits from the fixed
(EMA) generator's samples, the near-optimal discriminator DRS needs (the paper also keeps training D on a fixed G).
Disclosed as what it is: a filter that spends extra generator and discriminator evaluations per accepted sample.
"""
import torch
import torch.nn.functional as F

from .loop import progress


def drs_logit(d_logits: torch.Tensor, logit_max: float, gamma: float = 0.0, eps: float = 1e-6) -> torch.Tensor:
    """F(x) of Azadi et al. (Algorithm 1): the acceptance probability is sigmoid(F(x))."""
    delta = (d_logits - logit_max).clamp(max=0)
    return delta - torch.log1p(-torch.exp(delta - eps)) - gamma


def train_discriminator(D, G, real: torch.Tensor, steps: int = 1500, batch_size: int = 64, lr: float = 2e-4,
                        seed: int = 0) -> list[float]:
    """Fit D (logits) to separate real images in [-1, 1] from samples of the fixed G with binary cross-entropy.
    Returns the loss per step."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    D.train(), G.eval()
    losses = []
    for _ in progress(range(steps), "DRS discriminator"):
        x = real[torch.randint(0, len(real), (batch_size,), generator=g)]
        with torch.no_grad():
            fake = G(torch.randn(batch_size, G.nz, generator=g))
        logits = D(torch.cat([x, fake]))
        target = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)])
        loss = F.binary_cross_entropy_with_logits(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def calibrate(D, G, n: int = 10_000, keep: float = 0.5, seed: int = 1) -> tuple[float, float]:
    """Burn-in: D~_M = the largest logit over n samples, gamma such that a share `keep` of them has F > 0."""
    D.eval()
    g = torch.Generator().manual_seed(seed)
    logits = torch.cat([D(G(torch.randn(min(1000, n - i), G.nz, generator=g))) for i in range(0, n, 1000)])
    logit_max = float(logits.max())
    gamma = float(torch.quantile(drs_logit(logits, logit_max), 1 - keep))
    return logit_max, gamma


@torch.no_grad()
def rejection_sample(G, D, n: int, logit_max: float, gamma: float, batch_size: int = 1000, seed: int = 0):
    """n accepted samples in [-1, 1]: draw batches from G, keep each x with probability sigmoid(F(x)).
    Returns (images (n, 1, 28, 28) on the CPU, acceptance rate = accepted / drawn)."""
    D.eval(), G.eval()
    g, device = torch.Generator().manual_seed(seed), next(G.parameters()).device
    kept, accepted, drawn = [], 0, 0
    while accepted < n:
        x = G(torch.randn(batch_size, G.nz, generator=g).to(device))
        p_accept = torch.sigmoid(drs_logit(D(x), logit_max, gamma)).cpu()
        x = x.cpu()
        accept = torch.rand(batch_size, generator=g) < p_accept
        kept.append(x[accept])
        accepted, drawn = accepted + int(accept.sum()), drawn + batch_size
    return torch.cat(kept)[:n], accepted / drawn
