"""Public self-checks of lesson 05 (evaluating generators: Fréchet distance, Inception Score, a conditional G)."""
import math

import torch
from torch import nn

from ..cgan import ConditionalGenerator
from ..gan_metrics import frechet_distance, inception_score
from ..selfcheck import exercise, expect


def _number(out, what: str) -> float:
    expect(isinstance(out, (float, int)) or (torch.is_tensor(out) and out.numel() == 1),
           f"{what} must return one number (a Python float), got {type(out).__name__}")
    value = float(out)
    expect(math.isfinite(value), f"{what} returned {value}")
    return value


def _correlated(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """n samples of a d-dim Gaussian with a random (non-diagonal) covariance, like real features."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix.double() + shift


# ---------------------------------------------------------------- l05_frechet_distance
fd_ex = exercise("l05_frechet_distance", frechet_distance,
                 "frechet_distance(f1 (N, D), f2 (M, D)) -> float: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) "
                 "with means and sample covariances (torch.cov, N - 1) of the two feature sets; without gan_metrics "
                 "or scipy",
                 forbidden=("course_lib.gan_metrics.frechet_distance", "course_lib.gan_metrics._sqrt_psd",
                            "course_lib.gan_metrics.report", "scipy.linalg.sqrtm", "scipy.linalg.sqrtm_psd"))


@fd_ex.test("is 0 for a feature set against itself and grows with a mean shift")
def _(fn):
    a = _correlated(400, 5, seed=0)
    same = _number(fn(a, a), "frechet_distance")
    expect(abs(same) < 1e-4, f"FD of a set with itself is {same:.4g}, not 0: the cross term must be "
                             "-2 Tr((S1 S2)^(1/2)), which cancels Tr(S1 + S2) when S1 = S2")
    shifted = _number(fn(a, a + 1.0), "frechet_distance")
    expect(abs(shifted - 5) < 1e-3, f"shifting every one of 5 features by 1 gave FD {shifted:.4g}: the mean term is "
                                    "the squared distance ||mu1 - mu2||^2")


@fd_ex.test("matches ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for correlated features")
def _(fn):
    a, b = _correlated(600, 6, seed=1), _correlated(500, 6, seed=2, shift=0.5)
    out = _number(fn(a, b), "frechet_distance")
    want = frechet_distance(a, b)
    expect(abs(out - want) <= 1e-4 * max(1.0, abs(want)),
           "the distance is off for features with non-diagonal covariances: Tr((S1 S2)^(1/2)) is the sum of the "
           "square roots of the eigenvalues of S1 S2 (not the square root of its trace, and S1 S2 is not symmetric: "
           "use sqrt(S1) S2 sqrt(S1), which is)")


@fd_ex.test("is symmetric and accepts float32 features of different sizes")
def _(fn):
    a, b = _correlated(300, 4, seed=3).float(), _correlated(200, 4, seed=4, shift=1.0).float()
    ab, ba = _number(fn(a, b), "frechet_distance"), _number(fn(b, a), "frechet_distance")
    expect(abs(ab - ba) <= 1e-3 * max(1.0, abs(ab)), "FD(a, b) differs from FD(b, a): the distance is symmetric")
    expect(abs(ab - frechet_distance(a, b)) <= 1e-3 * max(1.0, abs(ab)),
           "wrong value for float32 inputs: compute in float64 (features.double())")


# ---------------------------------------------------------------- l05_inception_score
is_ex = exercise("l05_inception_score", inception_score,
                 "inception_score(probs (N, C), rows sum to 1) -> float: exp(mean_x KL(p(y|x) || p(y))), "
                 "p(y) = mean of the rows; between 1 and C; without gan_metrics or scipy",
                 forbidden=("course_lib.gan_metrics.inception_score", "course_lib.gan_metrics.report",
                            "scipy.stats.entropy", "scipy.special.rel_entr", "scipy.special.kl_div"))


@is_ex.test("is C for confident predictions spread evenly over C classes and 1 for a single class")
def _(fn):
    even = _number(fn(torch.eye(10).repeat(4, 1)), "inception_score")
    hint = ("the KL is KL(p(y|x) || p(y)), sum p(y|x) log(p(y|x) / p(y)), in that direction" if even > 10 else
            "remember the exp (the score counts classes)")
    expect(abs(even - 10) < 1e-3, f"confident, evenly spread predictions over 10 classes gave {even:.4g}: {hint}")
    one = _number(fn(torch.eye(10)[[7] * 30]), "inception_score")
    expect(abs(one - 1) < 1e-3, f"every sample in one class gave {one:.4g}: KL to the marginal is 0 there, exp(0) = 1")
    unsure = _number(fn(torch.full((20, 10), 0.1)), "inception_score")
    expect(abs(unsure - 1) < 1e-3, f"uniform predictions gave {unsure:.4g}: the score must be 1 (no confident class)")


@is_ex.test("matches exp(mean KL(p(y|x) || p(y))) on uneven, uncertain predictions")
def _(fn):
    g = torch.Generator().manual_seed(0)
    logits = 2 * torch.randn(300, 10, generator=g) + torch.linspace(-2, 2, 10)
    probs = torch.softmax(logits, 1)
    out = _number(fn(probs), "inception_score")
    want = inception_score(probs)
    expect(abs(out - want) < 1e-4 * want, "the score is off: KL(p(y|x) || p(y)) = sum_y p(y|x) (log p(y|x) - log p(y)), "
                                          "with p(y) the mean prediction over all samples (not uniform), averaged "
                                          "over x, then exp")


# ---------------------------------------------------------------- l05_conditional_generator
cg_ex = exercise("l05_conditional_generator", ConditionalGenerator,
                 "class ConditionalGenerator(nn.Module), built with no arguments: self.nz, self.classes (10); "
                 "forward(z (B, nz), y (B,) int64) -> (B, 1, 28, 28) in [-1, 1]: one-hot(y) concatenated to z, "
                 "then the DCGAN generator (ConvTranspose2d, BatchNorm2d, ReLU, tanh)")


def _build(cls) -> nn.Module:
    G = cls()
    expect(isinstance(G, nn.Module), "the class must build an nn.Module when called with no arguments")
    expect(isinstance(getattr(G, "nz", None), int) and getattr(G, "classes", None) == 10,
           "store the noise size as self.nz and the number of classes (10) as self.classes")
    return G


@cg_ex.test("maps (z (B, nz), labels (B,)) to images (B, 1, 28, 28) in [-1, 1]")
def _(cls):
    G = _build(cls)
    out = G(torch.randn(10, G.nz), torch.arange(10))
    expect(torch.is_tensor(out) and tuple(out.shape) == (10, 1, 28, 28),
           f"10 codes and labels gave {tuple(getattr(out, 'shape', ()))}: expected (10, 1, 28, 28)")
    expect(out.abs().max() <= 1 and torch.isfinite(out).all(), "outputs must lie in [-1, 1]: end with tanh")


@cg_ex.test("the label changes the digit: the same z with different labels gives different images")
def _(cls):
    G = _build(cls).eval()
    z = torch.randn(1, G.nz).repeat(10, 1)
    with torch.no_grad():
        out = G(z, torch.arange(10))
    expect((out - out[:1]).flatten(1).abs().amax(1)[1:].min() > 1e-4,
           "the same noise with labels 0..9 gives identical images: the label is ignored. Concatenate "
           "F.one_hot(y, 10) to z before the first layer")


@cg_ex.test("the noise still matters: one label with different z gives different images")
def _(cls):
    G = _build(cls).eval()
    with torch.no_grad():
        out = G(torch.randn(6, G.nz), torch.full((6,), 3))
    expect((out - out[:1]).flatten(1).abs().amax(1)[1:].min() > 1e-4,
           "different noise with the same label gives identical images: z must still feed the generator")


@cg_ex.test("is the DCGAN generator: ConvTranspose2d and BatchNorm2d layers, gradients reach every parameter")
def _(cls):
    G = _build(cls)
    kinds = {type(m) for m in G.modules()}
    expect(nn.ConvTranspose2d in kinds and nn.BatchNorm2d in kinds,
           "keep the lesson-04 architecture: strided ConvTranspose2d with BatchNorm2d (e.g. dcgan.Generator(nz + 10))")
    G(torch.randn(8, G.nz), torch.arange(8)).pow(2).mean().backward()
    missing = [n for n, p in G.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    expect(not missing, f"no gradient reaches parameters {missing[:3]}: are they used in forward?")
