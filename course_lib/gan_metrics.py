"""Evaluating generators with the lesson-02 MNIST classifier instead of Inception-v3.

- Fréchet distance (the FID of Heusel et al. 2017, the closed form of Dowson & Landau 1982) on classifier features:
  ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}). Tr((S_1 S_2)^{1/2}) is computed without scipy as
  sum sqrt(eig(A S_2 A)) with A = S_1^{1/2} (symmetric PSD, so torch.linalg.eigh is exact and stable).
- Classifier Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))).
- Class coverage: the share of samples the classifier assigns to each digit.
GAN samples live in [-1, 1]; map them to [0, 1] before the classifier.
"""
import torch
import torch.nn.functional as F

from .loop import progress


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D), float64."""
    f1, f2 = f1.double(), f2.double()
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = torch.cov(f1.T), torch.cov(f2.T)
    a = _sqrt_psd(s1)
    tr_sqrt = torch.linalg.eigvalsh(a @ s2 @ a).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt)


def inception_score(probs: torch.Tensor) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) for class probabilities (N, C); between 1 and C."""
    probs = probs.double().clamp(min=1e-12)
    marginal = probs.mean(0, keepdim=True)
    return float((probs * (probs.log() - marginal.log())).sum(1).mean().exp())


def class_coverage(probs: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Share of samples whose most likely class is each digit, (classes,), sums to 1."""
    return torch.bincount(probs.argmax(1), minlength=classes).float() / len(probs)


@torch.no_grad()
def classify(classifier, images01: torch.Tensor, batch_size: int = 500):
    """(features (N, D), probabilities (N, 10)) of images in [0, 1]."""
    device = next(classifier.parameters()).device
    feats, probs = [], []
    for x in progress(images01.split(batch_size), "classify"):
        f = classifier.features(x.to(device))
        feats.append(f.float().cpu())
        probs.append(F.softmax(classifier.head(f).float(), 1).cpu())
    return torch.cat(feats), torch.cat(probs)


@torch.no_grad()
def sample(G, n: int, batch_size: int = 500, seed: int = 0) -> torch.Tensor:
    """n generated digits mapped from [-1, 1] to [0, 1] (on the CPU; the same codes for the same seed)."""
    g, device = torch.Generator().manual_seed(seed), next(G.parameters()).device
    out = [G(torch.randn(min(batch_size, n - i), G.nz, generator=g).to(device)).cpu()
           for i in progress(range(0, n, batch_size), "sample")]
    return (torch.cat(out) + 1) / 2


def report(classifier, images01, reference_feats) -> dict:
    feats, probs = classify(classifier, images01)
    cov = class_coverage(probs)
    return {"IS": inception_score(probs), "FD": frechet_distance(feats, reference_feats),
            "min_class": float(cov.min()), "max_class": float(cov.max())}
