"""course_lib.gan_metrics: the Fréchet distance matches the closed form, IS and coverage behave at their extremes."""
import torch

from course_lib import gan_metrics as m


def test_frechet_distance_of_shifted_gaussians():
    torch.manual_seed(0)
    a = torch.randn(4000, 4)
    assert abs(m.frechet_distance(a, a)) < 1e-6
    # identical covariance, mean shifted by 1 in each of 4 dims: FD = 4
    assert abs(m.frechet_distance(a, a + 1) - 4) < 1e-6
    # scaled by 2: Tr(S1 + S2 - 2 sqrt(S1 S2)) = 4 * (1 + 4 - 4) = 4 (approximately, sample covariances)
    assert abs(m.frechet_distance(a, 2 * a) - 4 * torch.cov(a.T).diagonal().mean().item()) < 0.1


def test_inception_score_and_coverage_extremes():
    confident_all_classes = torch.eye(10).repeat(5, 1)
    assert abs(m.inception_score(confident_all_classes) - 10) < 1e-4
    assert abs(m.inception_score(torch.full((50, 10), 0.1)) - 1) < 1e-6
    one_class = torch.eye(10)[[3] * 50]
    assert abs(m.inception_score(one_class) - 1) < 1e-4
    cov = m.class_coverage(one_class)
    assert cov[3] == 1 and cov.sum() == 1
