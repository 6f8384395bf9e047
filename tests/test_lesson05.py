"""Hidden tests of lesson 05: each exercise passes on the solution, fails on the stub and on plausible mistakes."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.dcgan import Generator
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "05_evaluating_generators.ipynb"


def test_solutions_pass_and_stubs_fail():
    for ex in ("l05_frechet_distance", "l05_inception_score", "l05_conditional_generator"):
        assert_solution_passes(NB, ex)
        assert_stub_fails(NB, ex)


def _stats(f1, f2):
    f1, f2 = f1.double(), f2.double()
    return f1.mean(0), f2.mean(0), torch.cov(f1.T), torch.cov(f2.T)


def _sqrt_psd(m):
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


# ---------------------------------------------------------------- wrong Fréchet distances
def fd_without_cross_term(f1, f2):  # forgets -2 Tr((S1 S2)^(1/2))
    mu1, mu2, s1, s2 = _stats(f1, f2)
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace())


def fd_sqrt_of_trace(f1, f2):  # sqrt(Tr(S1 S2)) instead of Tr(sqrt(S1 S2))
    mu1, mu2, s1, s2 = _stats(f1, f2)
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * (s1 @ s2).trace().sqrt())


def fd_eigvalsh_of_product(f1, f2):  # S1 S2 is not symmetric: eigvalsh reads only its lower triangle
    mu1, mu2, s1, s2 = _stats(f1, f2)
    tr = torch.linalg.eigvalsh(s1 @ s2).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr)


def fd_product_of_roots(f1, f2):  # Tr(sqrt(S1) sqrt(S2)): equals Tr((S1 S2)^(1/2)) only if S1, S2 commute
    mu1, mu2, s1, s2 = _stats(f1, f2)
    tr = (_sqrt_psd(s1) @ _sqrt_psd(s2)).trace()
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr)


def fd_mean_distance_not_squared(f1, f2):  # ||mu1 - mu2|| instead of its square
    mu1, mu2, s1, s2 = _stats(f1, f2)
    tr = torch.linalg.eigvalsh(_sqrt_psd(s1) @ s2 @ _sqrt_psd(s1)).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).norm() + s1.trace() + s2.trace() - 2 * tr)


def fd_from_course_lib(f1, f2):  # the contract forbids gan_metrics: the reference's answer is not the student's
    from course_lib import gan_metrics
    return gan_metrics.frechet_distance(f1, f2)


def fd_with_scipy_sqrtm(f1, f2):  # the contract forbids scipy (the paper's code uses scipy.linalg.sqrtm)
    from scipy import linalg
    mu1, mu2, s1, s2 = _stats(f1, f2)
    root = torch.from_numpy(linalg.sqrtm((s1 @ s2).numpy()).real)
    return float((mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * root.trace())


# ---------------------------------------------------------------- wrong Inception Scores
def is_kl_reversed(probs):  # KL(p(y) || p(y|x))
    probs = probs.double().clamp(min=1e-12)
    marginal = probs.mean(0, keepdim=True)
    return float((marginal * (marginal.log() - probs.log())).sum(1).mean().exp())


def is_uniform_marginal(probs):  # assumes p(y) = 1/C instead of the mean prediction
    probs = probs.double().clamp(min=1e-12)
    return float((probs * (probs.log() + torch.log(torch.tensor(probs.shape[1], dtype=probs.dtype)))).sum(1)
                 .mean().exp())


def is_without_exp(probs):  # reports the mean KL itself
    probs = probs.double().clamp(min=1e-12)
    marginal = probs.mean(0, keepdim=True)
    return float((probs * (probs.log() - marginal.log())).sum(1).mean())


def is_from_course_lib(probs):  # the contract forbids gan_metrics
    from course_lib import gan_metrics
    return gan_metrics.inception_score(probs)


def is_with_scipy_entropy(probs):  # the contract forbids scipy: scipy.stats.entropy(p, q) is KL(p || q)
    from scipy import stats
    p = probs.double().clamp(min=1e-12).numpy()
    return float(torch.tensor(stats.entropy(p.T, p.mean(0, keepdims=True).T)).mean().exp())


# ---------------------------------------------------------------- wrong conditional generators
class IgnoresLabel(nn.Module):  # takes y but never uses it
    def __init__(self, nz=64, ngf=32, classes=10):
        super().__init__()
        self.nz, self.classes = nz, classes
        self.net = Generator(nz, ngf)

    def forward(self, z, y):
        return self.net(z)


class LabelReplacesNoise(nn.Module):  # feeds only the one-hot label: one image per digit
    def __init__(self, nz=64, ngf=32, classes=10):
        super().__init__()
        self.nz, self.classes = nz, classes
        self.net = Generator(classes, ngf)

    def forward(self, z, y):
        return self.net(F.one_hot(y, self.classes).float())


class LabelAsScalar(nn.Module):  # a fully connected net with y as one number: not the DCGAN generator
    def __init__(self, nz=64, ngf=32, classes=10):
        super().__init__()
        self.nz, self.classes = nz, classes
        self.net = nn.Sequential(nn.Linear(nz + 1, 784), nn.Tanh())

    def forward(self, z, y):
        return self.net(torch.cat([z, y[:, None].float()], 1)).view(-1, 1, 28, 28)


def test_wrong_implementations_fail():
    assert_wrong_fails("l05_frechet_distance", fd_without_cross_term, because="is 0 for a feature set")
    assert_wrong_fails("l05_frechet_distance", fd_sqrt_of_trace, because="for correlated features")
    assert_wrong_fails("l05_frechet_distance", fd_eigvalsh_of_product, because="for correlated features")
    assert_wrong_fails("l05_frechet_distance", fd_product_of_roots, because="for correlated features")
    assert_wrong_fails("l05_frechet_distance", fd_mean_distance_not_squared, because="grows with a mean shift")
    assert_wrong_fails("l05_frechet_distance", fd_from_course_lib, because="is 0 for a feature set")
    assert_wrong_fails("l05_frechet_distance", fd_with_scipy_sqrtm, because="is 0 for a feature set")
    assert_wrong_fails("l05_inception_score", is_from_course_lib, because="is C for confident")
    assert_wrong_fails("l05_inception_score", is_with_scipy_entropy, because="is C for confident")
    assert_wrong_fails("l05_inception_score", is_kl_reversed, because="matches exp(mean KL")
    assert_wrong_fails("l05_inception_score", is_uniform_marginal, because="matches exp(mean KL")
    assert_wrong_fails("l05_inception_score", is_without_exp, because="is C for confident")
    assert_wrong_fails("l05_conditional_generator", IgnoresLabel, because="the label changes the digit")
    assert_wrong_fails("l05_conditional_generator", LabelReplacesNoise, because="the noise still matters")
    assert_wrong_fails("l05_conditional_generator", LabelAsScalar, because="is the DCGAN generator")


def test_a_forbidden_call_fails_every_check_with_its_name():
    """The contract says "do not use gan_metrics or scipy": a correct value computed with them still fails."""
    from course_lib.selfcheck import run_checks
    for exercise_id, wrong, name in (("l05_frechet_distance", fd_from_course_lib, "gan_metrics.frechet_distance"),
                                     ("l05_frechet_distance", fd_with_scipy_sqrtm, "scipy.linalg.sqrtm"),
                                     ("l05_inception_score", is_from_course_lib, "gan_metrics.inception_score"),
                                     ("l05_inception_score", is_with_scipy_entropy, "scipy.stats.entropy")):
        results = run_checks(exercise_id, wrong)
        assert all(r.status == "fail" and name in r.message and "forbids" in r.message for r in results), \
            [(r.test, r.status, r.message) for r in results]


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l05_frechet_distance', fd_without_cross_term, 'is 0 for a feature set'),
    ('l05_frechet_distance', fd_sqrt_of_trace, 'cross term'),
    ('l05_frechet_distance', fd_eigvalsh_of_product, 'for correlated features'),
    ('l05_frechet_distance', fd_product_of_roots, 'for correlated features'),
    ('l05_frechet_distance', fd_mean_distance_not_squared, 'grows with a mean shift'),
    ('l05_frechet_distance', fd_from_course_lib, 'which the contract forbids'),
    ('l05_frechet_distance', fd_with_scipy_sqrtm, 'which the contract forbids'),
    ('l05_inception_score', is_from_course_lib, 'which the contract forbids'),
    ('l05_inception_score', is_with_scipy_entropy, 'which the contract forbids'),
    ('l05_inception_score', is_kl_reversed, 'in that direction'),
    ('l05_inception_score', is_uniform_marginal, 'KL to the marginal'),
    ('l05_inception_score', is_without_exp, 'is C for confident'),
    ('l05_conditional_generator', IgnoresLabel, 'the label changes the digit'),
    ('l05_conditional_generator', LabelReplacesNoise, 'the noise still matters'),
    ('l05_conditional_generator', LabelAsScalar, 'is the DCGAN generator'),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
