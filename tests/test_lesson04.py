"""Hidden tests of lesson 04: each exercise passes on the solution, fails on the stub and on plausible mistakes."""
import pytest
import torch
from torch import nn

from course_lib import gan
from course_lib.dcgan import Discriminator, Generator
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "04_dcgan_mnist.ipynb"
EXERCISES = ("l04_generator", "l04_discriminator", "l04_weights_init", "l04_train_step")


def test_solutions_pass_and_stubs_fail():
    for ex in EXERCISES:
        assert_solution_passes(NB, ex)
        assert_stub_fails(NB, ex)


# ---------------------------------------------------------------- wrong generators
class GeneratorNoTanh(Generator):  # forgets the output nonlinearity: values leave [-1, 1]
    def __init__(self, nz=64, ngf=32):
        super().__init__(nz, ngf)
        self.net = self.net[:-1]


class GeneratorSigmoid(Generator):  # outputs in [0, 1] while real digits are scaled to [-1, 1]
    def __init__(self, nz=64, ngf=32):
        super().__init__(nz, ngf)
        self.net[-1] = nn.Sigmoid()


class GeneratorMLP(nn.Module):  # a fully connected generator: works, but is not a DCGAN
    def __init__(self, nz=64):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(nn.Linear(nz, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, 1, 28, 28)


class GeneratorWrongSize(nn.Module):  # two upsamplings from 4x4: 16x16 images
    def __init__(self, nz=64):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(nn.ConvTranspose2d(nz, 64, 4, 1, 0), nn.BatchNorm2d(64), nn.ReLU(),
                                 nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
                                 nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


# ---------------------------------------------------------------- wrong discriminators
class DiscriminatorSigmoid(Discriminator):  # sigmoid + BCE-with-logits = a double sigmoid
    def forward(self, x):
        return torch.sigmoid(super().forward(x))


class DiscriminatorKeepsDims(Discriminator):  # returns (B, 1, 1, 1) instead of (B,)
    def forward(self, x):
        return self.net(x)


class DiscriminatorPooling(nn.Module):  # max-pooling instead of strided convolutions
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
                                 nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
                                 nn.Conv2d(64, 1, 7))

    def forward(self, x):
        return self.net(x).view(-1)


class DiscriminatorInputBatchNorm(nn.Module):  # batch norm right after the first convolution
    def __init__(self, ndf=32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1), nn.BatchNorm2d(ndf), nn.LeakyReLU(0.2),
                                 nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2),
                                 nn.Conv2d(ndf * 2, 1, 7))

    def forward(self, x):
        return self.net(x).view(-1)


class DiscriminatorLogitBatchNorm(Discriminator):  # "BatchNorm2d after every convolution except the first", literally
    def __init__(self, ndf=32):
        super().__init__(ndf)
        self.net.append(nn.BatchNorm2d(1))  # normalises the logits over the batch: every batch scores the same


# ---------------------------------------------------------------- wrong inits
def init_skips_transposed(m):  # isinstance(m, nn.Conv2d) is False for ConvTranspose2d
    if isinstance(m, nn.Conv2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_variance_not_std(m):  # passes 0.02 ** 2 where the standard deviation is expected
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02 ** 2)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_batchnorm_around_zero(m):  # batch-norm scales ~ N(0, 0.02^2): kills every activation
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- wrong steps
def _d_step(G, D, opt_d, real, fake):
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = gan.d_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    return loss_d, real_logits, fake_logits


def _result(loss_d, loss_g, real_logits, fake_logits):
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits).mean().detach(), "d_fake": torch.sigmoid(fake_logits).mean().detach()}


def step_g_on_detached_fakes(G, D, opt_g, opt_d, real):  # no gradient reaches G: G never learns
    fake = G(torch.randn(real.shape[0], G.nz))
    loss_d, rl, fl = _d_step(G, D, opt_d, real, fake)
    loss_g = gan.g_loss(D(fake.detach()))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return _result(loss_d, loss_g, rl, fl)


def step_saturating(G, D, opt_g, opt_d, real):  # minimises log(1 - D(G(z))): vanishing gradients
    fake = G(torch.randn(real.shape[0], G.nz))
    loss_d, rl, fl = _d_step(G, D, opt_d, real, fake)
    loss_g = gan.g_loss_saturating(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return _result(loss_d, loss_g, rl, fl)


def step_g_first(G, D, opt_g, opt_d, real):  # updates G against the old D, then D
    fake = G(torch.randn(real.shape[0], G.nz))
    loss_g = gan.g_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    loss_d, rl, fl = _d_step(G, D, opt_d, real, fake)
    return _result(loss_d, loss_g, rl, fl)


def step_probabilities_as_logits(G, D, opt_g, opt_d, real):  # reports logits where probabilities are asked
    fake = G(torch.randn(real.shape[0], G.nz))
    loss_d, rl, fl = _d_step(G, D, opt_d, real, fake)
    loss_g = gan.g_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_real": rl.mean().detach(),
            "d_fake": fl.mean().detach()}


def test_wrong_implementations_fail():
    assert_wrong_fails("l04_generator", GeneratorNoTanh, because="ends with tanh")
    assert_wrong_fails("l04_generator", GeneratorSigmoid, because="ends with tanh")
    assert_wrong_fails("l04_generator", GeneratorMLP, because="is a DCGAN generator")
    assert_wrong_fails("l04_generator", GeneratorWrongSize, because="maps noise z")
    assert_wrong_fails("l04_discriminator", DiscriminatorSigmoid, because="not probabilities")
    assert_wrong_fails("l04_discriminator", DiscriminatorKeepsDims, because="one logit per image")
    assert_wrong_fails("l04_discriminator", DiscriminatorPooling, because="no pooling")
    assert_wrong_fails("l04_discriminator", DiscriminatorInputBatchNorm, because="no batch norm on the input layer")
    assert_wrong_fails("l04_discriminator", DiscriminatorLogitBatchNorm, because="no batch norm on the logit")
    assert_wrong_fails("l04_weights_init", init_skips_transposed, because="ConvTranspose2d weights")
    assert_wrong_fails("l04_weights_init", init_variance_not_std, because="Conv2d weights ~ N(0, 0.02^2)")
    assert_wrong_fails("l04_weights_init", init_batchnorm_around_zero, because="BatchNorm2d weight ~ N(1, 0.02^2)")
    assert_wrong_fails("l04_train_step", step_g_on_detached_fakes, because="reaches G through D")
    assert_wrong_fails("l04_train_step", step_saturating, because="non-saturating G")
    assert_wrong_fails("l04_train_step", step_g_first, because="exactly as one DCGAN step")
    assert_wrong_fails("l04_train_step", step_probabilities_as_logits, because="exactly as one DCGAN step")


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l04_generator', GeneratorNoTanh, 'ends with tanh'),
    ('l04_generator', GeneratorSigmoid, 'ends with tanh'),
    ('l04_generator', GeneratorMLP, 'is a DCGAN generator'),
    ('l04_generator', GeneratorWrongSize, 'maps noise z'),
    ('l04_discriminator', DiscriminatorSigmoid, 'not probabilities'),
    ('l04_discriminator', DiscriminatorKeepsDims, 'one logit per image'),
    ('l04_discriminator', DiscriminatorPooling, 'no pooling'),
    ('l04_discriminator', DiscriminatorInputBatchNorm, 'no batch norm on the input layer'),
    ('l04_discriminator', DiscriminatorLogitBatchNorm, 'no batch norm on the logit'),
    ('l04_weights_init', init_skips_transposed, 'ConvTranspose2d weights'),
    ('l04_weights_init', init_variance_not_std, 'Conv2d weights ~ N(0, 0.02^2)'),
    ('l04_weights_init', init_batchnorm_around_zero, 'BatchNorm2d weight ~ N(1, 0.02^2)'),
    ('l04_train_step', step_g_on_detached_fakes, "G's weights after the step differ"),
    ('l04_train_step', step_saturating, 'non-saturating G'),
    ('l04_train_step', step_g_first, 'exactly as one DCGAN step'),
    ('l04_train_step', step_probabilities_as_logits, 'exactly as one DCGAN step'),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
