"""Hidden tests of lesson 03: each exercise passes on the solution, fails on the stub and on plausible mistakes."""
import pytest
import torch
import torch.nn.functional as F

from course_lib.gan import d_loss, g_loss
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "03_gan_fundamentals.ipynb"


def test_solutions_pass_and_stubs_fail():
    for ex in ("l03_d_loss", "l03_g_loss", "l03_gan_step"):
        assert_solution_passes(NB, ex)
        assert_stub_fails(NB, ex)


def d_loss_swapped_labels(real_logits, fake_logits):  # real -> 0, fake -> 1
    return (F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)))


def d_loss_unstable(real_logits, fake_logits):  # log of sigmoid overflows for confident logits
    return -(torch.log(torch.sigmoid(real_logits)).mean() + torch.log(1 - torch.sigmoid(fake_logits)).mean())


def g_loss_saturating(fake_logits):  # the minimax form log(1 - D(G(z)))
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


def gan_step_no_detach_g_first(G, D, opt_g, opt_d, real, nz):  # updates G before D
    z = torch.randn(real.shape[0], nz)
    fake = G(z)
    loss_g = g_loss(D(fake).view(-1))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    loss_d = d_loss(D(real).view(-1), D(fake.detach()).view(-1))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    return {"loss_d": loss_d, "loss_g": loss_g}


def gan_step_noise_on_cpu(G, D, opt_g, opt_d, real, nz):  # right on a CPU, crashes on a GPU (Colab)
    fake = G(torch.randn(real.shape[0], nz))
    loss_d = d_loss(D(real).view(-1), D(fake.detach()).view(-1))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = g_loss(D(fake).view(-1))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d, "loss_g": loss_g}


def test_wrong_implementations_fail():
    assert_wrong_fails("l03_d_loss", d_loss_swapped_labels, because="equals -mean log D(x)")
    assert_wrong_fails("l03_d_loss", d_loss_unstable, because="stays finite")
    assert_wrong_fails("l03_g_loss", g_loss_saturating, because="non-saturating form")
    assert_wrong_fails("l03_gan_step", gan_step_no_detach_g_first, because="updates D and G exactly")
    assert_wrong_fails("l03_gan_step", gan_step_noise_on_cpu, because="draws z on real's device")


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l03_d_loss', d_loss_swapped_labels, 'equals -mean log D(x)'),
    ('l03_d_loss', d_loss_unstable, 'stays finite'),
    ('l03_g_loss', g_loss_saturating, 'non-saturating form'),
    ('l03_gan_step', gan_step_no_detach_g_first, 'updates D and G exactly'),
    ('l03_gan_step', gan_step_noise_on_cpu, "draws z on real's device"),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
