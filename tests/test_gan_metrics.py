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


def test_sample_is_deterministic_and_in_unit_range():
    from course_lib import dcgan
    torch.manual_seed(0)
    G = dcgan.Generator(nz=8, ngf=4).eval()
    a, b = m.sample(G, 7, batch_size=3, seed=1), m.sample(G, 7, batch_size=3, seed=1)
    assert a.shape == (7, 1, 28, 28) and torch.equal(a, b)  # the same codes for the same seed
    assert a.min() >= 0 and a.max() <= 1
    assert not torch.equal(a, m.sample(G, 7, seed=2))


def test_conditional_gan_labels_and_class_grid():
    import pytest

    from course_lib import cgan
    with pytest.raises(ValueError, match="0..9"):
        cgan.one_hot(torch.tensor([3, 10]))
    with pytest.raises(TypeError, match="integer"):
        cgan.one_hot(torch.tensor([0.0, 1.0]))
    torch.manual_seed(0)
    G, D = cgan.ConditionalGenerator(nz=8, ngf=4), cgan.ConditionalDiscriminator(ndf=4)
    grid = cgan.class_grid(G.eval(), per_class=3)
    assert grid.shape == (30, 1, 28, 28) and grid.min() >= 0 and grid.max() <= 1
    assert not torch.allclose(grid[0], grid[3])  # same z, digits 0 and 1
    x, y = torch.rand(4, 1, 28, 28) * 2 - 1, torch.tensor([0, 1, 2, 3])
    assert D(x, y).shape == (4,)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    out = cgan.train_step(G.train(), D, opt_g, opt_d, x, y)
    assert 0 <= float(out["d_real"]) <= 1 and torch.isfinite(out["loss_g"])
