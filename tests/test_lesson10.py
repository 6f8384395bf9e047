"""Hidden tests of lesson 10: each exercise passes on the solution, fails on the stub and on plausible mistakes."""
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import diffusion
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "10_diffusion_mnist.ipynb"
EXERCISES = ("l10_q_sample", "l10_diffusion_loss", "l10_ancestral_step", "l10_ddim_step", "l10_guided_eps")


def test_solutions_pass_and_stubs_fail():
    for ex in EXERCISES:
        assert_solution_passes(NB, ex)
        assert_stub_fails(NB, ex)


def _ab(alpha_bars, t):
    return alpha_bars[t].view(-1, 1, 1, 1)


# ---------------------------------------------------------------- q_sample
def q_sample_no_sqrt(x0, t, eps, alpha_bars):  # alpha_bar itself as the weights: variance != 1
    a = _ab(alpha_bars, t)
    return a * x0 + (1 - a) * eps


def q_sample_first_t(x0, t, eps, alpha_bars):  # one alpha_bar for the whole batch
    a = alpha_bars[t[0]]
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def q_sample_swapped(x0, t, eps, alpha_bars):  # signal and noise weights swapped
    a = _ab(alpha_bars, t)
    return (1 - a).sqrt() * x0 + a.sqrt() * eps


def q_sample_flat_index(x0, t, eps, alpha_bars):  # alpha_bars[t] not reshaped: broadcasts over the wrong axis
    a = alpha_bars[t]
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def test_q_sample_wrong():
    assert_wrong_fails("l10_q_sample", q_sample_no_sqrt, because="unit variance")
    assert_wrong_fails("l10_q_sample", q_sample_first_t, because="own t")
    assert_wrong_fails("l10_q_sample", q_sample_swapped, because="own t")
    assert_wrong_fails("l10_q_sample", q_sample_flat_index, because="same shape")


# ---------------------------------------------------------------- diffusion_loss
def loss_predicts_x0(model, x0, alpha_bars):  # regresses the clean image instead of the noise
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],))
    eps = torch.randn_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), x0)


def loss_summed(model, x0, alpha_bars):  # sum instead of mean
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],))
    eps = torch.randn_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps, reduction="sum")


def loss_uniform_noise(model, x0, alpha_bars):  # torch.rand instead of torch.randn
    t = torch.randint(0, len(alpha_bars), (x0.shape[0],))
    eps = torch.rand_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps)


def loss_one_t(model, x0, alpha_bars):  # one t for the whole batch
    t = torch.randint(0, len(alpha_bars), (1,)).expand(x0.shape[0])
    eps = torch.randn_like(x0)
    a = _ab(alpha_bars, t)
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps)


def test_diffusion_loss_wrong():
    assert_wrong_fails("l10_diffusion_loss", loss_predicts_x0, because="targets the noise")
    assert_wrong_fails("l10_diffusion_loss", loss_summed, because="targets the noise")
    assert_wrong_fails("l10_diffusion_loss", loss_uniform_noise, because="N(0, I)")
    assert_wrong_fails("l10_diffusion_loss", loss_one_t, because="uniformly")


# ---------------------------------------------------------------- ancestral_step
def ancestral_variance_not_std(x_t, t, eps_hat, betas, alpha_bars, noise):  # beta_t * z instead of sqrt(beta_t) * z
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps_hat) / math.sqrt(1 - beta)
    return mean if t == 0 else mean + beta * noise


def ancestral_noise_at_zero(x_t, t, eps_hat, betas, alpha_bars, noise):  # noise also at the last step
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    return (x_t - beta / math.sqrt(1 - a_bar) * eps_hat) / math.sqrt(1 - beta) + math.sqrt(beta) * noise


def ancestral_no_sqrt_alpha(x_t, t, eps_hat, betas, alpha_bars, noise):  # divides by alpha_t, not its root
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - beta / math.sqrt(1 - a_bar) * eps_hat) / (1 - beta)
    return mean if t == 0 else mean + math.sqrt(beta) * noise


def ancestral_alpha_bar_coefficient(x_t, t, eps_hat, betas, alpha_bars, noise):  # (1 - alpha_bar) / sqrt(1 - alpha_bar)
    beta, a_bar = float(betas[t]), float(alpha_bars[t])
    mean = (x_t - math.sqrt(1 - a_bar) * eps_hat) / math.sqrt(1 - beta)
    return mean if t == 0 else mean + math.sqrt(beta) * noise


def test_ancestral_step_wrong():
    assert_wrong_fails("l10_ancestral_step", ancestral_variance_not_std, because="standard deviation")
    assert_wrong_fails("l10_ancestral_step", ancestral_noise_at_zero, because="none at t = 0")
    assert_wrong_fails("l10_ancestral_step", ancestral_no_sqrt_alpha, because="Algorithm 2")
    assert_wrong_fails("l10_ancestral_step", ancestral_alpha_bar_coefficient, because="Algorithm 2")


# ---------------------------------------------------------------- ddim_step
def ddim_no_sqrt(x_t, eps_hat, a_t, a_prev):  # alphas without square roots
    x0 = (x_t - (1 - a_t) * eps_hat) / a_t
    return a_prev * x0 + (1 - a_prev) * eps_hat


def ddim_fresh_noise(x_t, eps_hat, a_t, a_prev):  # re-noises with new noise (the eta = 1 direction only)
    x0 = (x_t - math.sqrt(1 - a_t) * eps_hat) / math.sqrt(a_t)
    return math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * torch.randn_like(x_t)


def ddim_returns_x0(x_t, eps_hat, a_t, a_prev):  # jumps straight to the clean estimate
    return (x_t - math.sqrt(1 - a_t) * eps_hat) / math.sqrt(a_t)


def test_ddim_step_wrong():
    assert_wrong_fails("l10_ddim_step", ddim_no_sqrt, because="returns x0 exactly")
    assert_wrong_fails("l10_ddim_step", ddim_fresh_noise, because="same noising path")
    assert_wrong_fails("l10_ddim_step", ddim_returns_x0, because="same noising path")


# ---------------------------------------------------------------- guided_eps
def guidance_swapped(eps_cond, eps_uncond, w):  # the weights of the two predictions swapped
    return (1 + w) * eps_uncond - w * eps_cond


def guidance_interpolates(eps_cond, eps_uncond, w):  # w eps_cond + (1 - w) eps_uncond (Eq. 6 of another form)
    return w * eps_cond + (1 - w) * eps_uncond


def guidance_missing_one(eps_cond, eps_uncond, w):  # w (eps_cond - eps_uncond) + eps_cond, with w instead of 1 + w
    return eps_uncond + w * (eps_cond - eps_uncond)


def test_guided_eps_wrong():
    assert_wrong_fails("l10_guided_eps", guidance_swapped, because="w = 0")
    assert_wrong_fails("l10_guided_eps", guidance_interpolates, because="w = 0")
    assert_wrong_fails("l10_guided_eps", guidance_missing_one, because="extrapolates")


# ---------------------------------------------------------------- the reference samplers and schedules
def test_schedules_and_ddim_timesteps():
    for kind in ("linear", "cosine"):
        betas = diffusion.make_schedule(kind, 1000)
        ab = diffusion.alpha_bar(betas)
        assert betas.shape == (1000,) and (betas > 0).all() and (betas < 1).all()
        assert (ab[1:] < ab[:-1]).all() and ab[0] > 0.99 and ab[-1] < 1e-3
        assert (diffusion.snr(ab)[1:] < diffusion.snr(ab)[:-1]).all()
    steps = diffusion.ddim_timesteps(1000, 10)
    assert len(steps) == 10 and steps[0] == 999 and steps[-1] == 0 and steps == sorted(steps, reverse=True)


class _Exact(torch.nn.Module):
    """eps_theta for data that is a single image x0: the exact noise prediction at every t."""

    def __init__(self, x0, alpha_bars, num_classes=None):
        super().__init__()
        self.x0, self.ab, self.num_classes = x0, alpha_bars.float(), num_classes
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, t, y=None):
        a = self.ab[t].view(-1, 1, 1, 1)
        return (x - a.sqrt() * self.x0) / (1 - a).sqrt()


def test_samplers_reach_the_data_with_an_exact_model():
    betas = diffusion.make_schedule("linear", 1000)
    x0 = torch.rand(1, 1, 6, 6) * 2 - 1
    model = _Exact(x0, diffusion.alpha_bar(betas))
    g = torch.Generator().manual_seed(0)
    out = diffusion.sample_ddim(model, 4, betas, steps=10, generator=g, shape=(1, 6, 6))
    assert out.shape == (4, 1, 6, 6) and torch.allclose(out, x0.expand(4, -1, -1, -1), atol=1e-3)
    out = diffusion.sample_ddpm(model, 2, betas, generator=g, shape=(1, 6, 6))
    assert torch.allclose(out, x0.expand(2, -1, -1, -1), atol=0.05)


def test_unet_shapes_and_null_label():
    from course_lib.diffusion_unet import UNet
    model = UNet(channels=8, num_classes=10)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 500, 999])
    assert model(x, t).shape == (3, 1, 28, 28)
    with torch.no_grad():
        model.conv_out.weight.normal_()
        model.class_emb.weight.normal_()
    null = torch.full((3,), 10)
    assert torch.allclose(model(x, t), model(x, t, null))  # no label = the null label
    assert not torch.allclose(model(x, t, torch.tensor([1, 2, 3])), model(x, t, null))


# ---------------------------------------------------------------- recipes, rejection sampling, benchmark table
def test_fast_ddpm_recipe_writes_a_conditional_ema_model(tmp_path):
    from course_lib import checkpoint, train
    from course_lib.diffusion_unet import UNet
    base, out = tmp_path / "ddpm.pt", tmp_path / "ddpm_cfg.pt"
    assert train.main(["ddpm", "--fast", "--out", str(base)]) == 0
    assert train.main(["ddpm", "--fast", "--conditional", "--init", str(base), "--out", str(out)]) == 0
    model, meta = checkpoint.load_model(out)
    assert isinstance(model, UNet) and model.num_classes == 10 and not model.training
    m = meta["metrics"]
    assert m["steps"] == 3 and {"train_seconds", "loss", "schedule", "T", "threads", "load_before", "load_after",
                                "device_name", "images_seen"} <= set(m)
    assert m["init_metrics"]["steps"] == 3  # the run it continued from is recorded (and counted by the benchmark)
    assert m["recipe"]["cpu_bf16"] is True  # bfloat16 autocast on a CPU by default, as ddpm_mnist_cpu was trained
    cpu_run = checkpoint.load_model("ddpm_mnist_cpu")[1]["metrics"]
    assert cpu_run["recipe"]["cpu_bf16"] is True and cpu_run["recipe"]["minutes"] == 70 and cpu_run["threads"] == 2
    from course_lib.benchmarks.generators import total_seconds
    assert total_seconds(m) == pytest.approx(m["train_seconds"] + m["init_metrics"]["train_seconds"])
    assert diffusion.sample_ddim(model, 2, diffusion.make_schedule("cosine"), steps=2).shape == (2, 1, 28, 28)
    assert not (tmp_path / "ddpm.resume.pt").exists()  # the resume state is removed once the run ends


def test_ddpm_recipe_resumes_a_killed_run(tmp_path, monkeypatch):
    import pathlib
    from course_lib import train
    out = tmp_path / "r.pt"
    monkeypatch.setattr(pathlib.Path, "unlink", lambda self, missing_ok=False: None)  # keep the resume state
    assert train.main(["ddpm", "--fast", "--steps", "4", "--save-minutes", "0", "--out", str(out)]) == 0
    assert torch.load(out.with_suffix(".resume.pt"), weights_only=False)["step"] == 4
    assert train.main(["ddpm", "--fast", "--steps", "6", "--resume", "--out", str(out)]) == 0
    assert torch.load(out, weights_only=False)["metrics"]["steps"] == 6


def test_learning_rate_warms_up_then_decays_to_zero():
    from course_lib.recipes.ddpm import lr_factor
    assert lr_factor(1, 0.0, 10) == pytest.approx(0.1) and lr_factor(10, 0.0, 10) == pytest.approx(1.0)
    assert lr_factor(500, 0.5, 10) == pytest.approx(0.5) and lr_factor(900, 1.0, 10) == pytest.approx(0.0)


# ---------------------------------------------------------------- DDPM's posterior, DDIM's family, the library
def test_ancestral_step_is_the_posterior_mean_at_x0_hat():
    betas = diffusion.make_schedule("cosine")
    ab = diffusion.alpha_bar(betas)
    x, eps, z = torch.randn(3, 2, 1, 5, 5, dtype=torch.float64)
    for t in (1, 300, 999):
        x0_hat = diffusion.predict_x0(x, eps, float(ab[t]))
        expected = diffusion.posterior_mean(x, x0_hat, t, betas, ab) + math.sqrt(float(betas[t])) * z
        assert torch.allclose(diffusion.ancestral_step(x, t, eps, betas, ab, z), expected, atol=1e-6)  # Eq. 11 = Eq. 7
        clipped = diffusion.posterior_mean(x, x0_hat.clamp(-1, 1), t, betas, ab) + math.sqrt(float(betas[t])) * z
        assert torch.allclose(diffusion.ancestral_step(x, t, eps, betas, ab, z, clip=True), clipped, atol=1e-6)


def test_ddim_eta_gives_equation_16s_noise():
    x, eps, z = torch.randn(3, 4, 1, 6, 6, dtype=torch.float64)
    a_t, a_prev = 0.3, 0.6
    sigma = math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
    x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
    expected = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev - sigma ** 2) * eps + sigma * z
    assert torch.allclose(diffusion.ddim_step(x, eps, a_t, a_prev, eta=1.0, noise=z), expected)
    assert torch.allclose(diffusion.ddim_step(x, eps, a_t, a_prev, eta=0.0, noise=z),
                          math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps)


def test_guidance_in_an_interval_is_unguided_above_it():
    from course_lib.diffusion_unet import UNet
    model = UNet(channels=8, num_classes=10).eval()
    with torch.no_grad():
        model.conv_out.weight.normal_(std=0.1), model.class_emb.weight.normal_()
    betas, y = diffusion.make_schedule("cosine"), torch.arange(4)
    run = (lambda **kw: diffusion.sample_ddim(model, 4, betas, 5, y=y, generator=torch.Generator().manual_seed(0), **kw))
    assert torch.equal(run(w=3.0, guide_below=0), run(w=0.0))
    assert not torch.allclose(run(w=3.0, guide_below=1000), run(w=0.0))


def test_diffusers_schedulers_match_the_course_steps():
    from course_lib import schedulers
    betas = diffusion.make_schedule("cosine")
    ab = diffusion.alpha_bar(betas)
    lib = schedulers.make_scheduler("ddim", betas, clip_sample=False, timestep_spacing="leading")
    lib.set_timesteps(10)
    x, eps = torch.randn(2, 2, 1, 4, 4)
    for t in lib.timesteps.tolist():
        prev = t - 100
        ours = diffusion.ddim_step(x, eps, float(ab[t]), float(ab[prev]) if prev >= 0 else 1.0)
        assert torch.allclose(lib.step(eps, t, x).prev_sample, ours, atol=1e-5)
    with pytest.raises(ValueError, match="unknown scheduler"):
        schedulers.make_scheduler("euler", betas)
    model = _Exact(torch.rand(1, 1, 4, 4) * 2 - 1, ab)
    for kind, k in (("ddim", 10), ("dpm", 10)):
        out = schedulers.sample(model, schedulers.make_scheduler(kind, betas), 2, k, shape=(1, 4, 4),
                                generator=torch.Generator().manual_seed(0))
        assert torch.allclose(out, model.x0.expand(2, -1, -1, -1), atol=1e-3), kind  # an exact model: the data


def test_drs_acceptance_follows_the_discriminator():
    from course_lib.rejection import drs_logit
    logits = torch.tensor([-3.0, 0.0, 2.0, 5.0])
    f = drs_logit(logits, logit_max=5.0)
    assert (f[1:] > f[:-1]).all() and torch.isfinite(f).all()  # higher D logit, likelier to be kept
    assert torch.allclose(drs_logit(logits, 5.0, gamma=1.0), f - 1.0)


def test_rejection_sample_keeps_what_the_discriminator_prefers():
    from course_lib.rejection import rejection_sample

    class Line(torch.nn.Module):  # "generator": z -> a 1-pixel image holding z[0]
        nz = 2

        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(()))  # where the model lives (its device)

        def forward(self, z):
            return z[:, :1].view(-1, 1, 1, 1)

    class Prefer(torch.nn.Module):  # discriminator: logit grows with the pixel value
        def forward(self, x):
            return 4 * x.view(-1)

    images, rate = rejection_sample(Line(), Prefer(), 500, logit_max=12.0, gamma=-2.0)
    assert images.shape == (500, 1, 1, 1) and 0 < rate < 1
    assert images.mean() > 0.3  # the unfiltered mean is 0


def test_generators_table_prints_every_row():
    from course_lib.benchmarks import generators
    row = dict(n=100, IS=9.1, FD=3.0, IS_common=9.0, FD_common=4.0, min_class=0.08, max_class=0.12, in_between=0.03)
    text = generators.table([{"name": "a", "nfe": None, "train_s": None, "img_s": None, **row, "FD": None},
                             {"name": "b", "nfe": 50, "train_s": 3600.0, "img_s": 12.5, **row}], 100)
    assert len(text.splitlines()) == 3 and "FD@100" in text and "IS@100" in text and "3600" in text and "12.5" in text


def test_generators_guided_rows_name_their_sampler():
    """The cfg group: deterministic DDIM guided at every step or below --guide-below, and stochastic DDIM (eta 1),
    each named so (--append keeps them apart) and charged the evaluations it makes."""
    from course_lib.benchmarks import generators
    args = generators.parse(["--n", "8", "--n-ddim", "8", "--n-ddpm", "8", "--batch-size", "8", "--only", "cfg",
                             "--guidance", "0", "1", "--guidance-steps", "2", "--interval-guidance", "1",
                             "--eta-guidance", "0", "1"])
    rows = list(generators.rows(args))
    assert [(r["name"], r["nfe"]) for r in rows] == [  # DDIM 2 visits t = 999 and 0: below 600, one guided step
        ("CFG w=0, DDIM 2", 2), ("CFG w=1, DDIM 2", 4), ("CFG w=1 at t<600, DDIM 2", 3),
        ("CFG w=0, DDIM 2, eta 1", 2), ("CFG w=1, DDIM 2, eta 1", 4)]
    assert rows[3]["IS"] != rows[0]["IS"]  # the same noise seed, other samples: eta 1 adds noise on the way


def test_generators_flow_and_cpu_rows(tmp_path, capsys, monkeypatch):
    import shutil
    from course_lib import checkpoint, train
    from course_lib.benchmarks import flow_rows, generators
    base, cond = tmp_path / "flow.pt", tmp_path / "flowc.pt"
    assert train.main(["flow", "--fast", "--out", str(base)]) == 0
    assert train.main(["flow", "--fast", "--conditional", "--init", str(base), "--out", str(cond)]) == 0
    tiny = ["--n", "8", "--n-ddim", "8", "--n-ddpm", "8", "--batch-size", "8"]
    args = generators.parse(tiny + ["--only", "cpu", "flow", "flowcfg", "--flow", str(base), "--flow-cfg", str(cond),
                                    "--cpu-steps", "--cpu-eta-steps", "--cpu-dpm-steps", "2",
                                    "--flow-euler-steps", "1", "2", "--flow-heun-steps", "2",
                                    "--flow-guidance", "0", "1", "--flow-guidance-steps", "2",
                                    "--flow-eta-steps", "2", "--flow-cfg-euler-steps", "3",
                                    "--flow-cfg-heun-steps", "2", "--flow-cfg-eta-steps", "2"])
    rows = list(generators.rows(args))
    cpu = ([("CPU recipe, DPM-Solver++ 2 (diffusers)", 2)]
           if (checkpoint.CHECKPOINT_DIR / f"{generators.CPU_RECIPE}.pt").exists() else [])
    assert [(r["name"], r["nfe"]) for r in rows] == cpu + [
        ("flow matching, Euler 1", 1), ("flow matching, Euler 2", 2), ("flow matching, Heun 2 steps", 3),
        ("flow matching, DDIM 2, eta 1", 2),
        ("flow CFG w=0, Euler 2", 2), ("flow CFG w=1, Euler 2", 4),  # guided: 2 evaluations a step
        ("flow CFG w=0, Euler 3", 3), ("flow CFG w=0, Heun 2 steps", 3),  # Heun: 2 evaluations a step, 1 for the last
        ("flow CFG w=0, DDIM 2, eta 1", 2)]
    measured = rows[len(cpu):]
    assert all(r["n"] == 8 and 0 <= r["in_between"] <= 1 and r["img_s"] > 0 for r in measured)
    meta = {p: checkpoint.load_model(p)[1]["metrics"] for p in (base, cond)}
    assert measured[0]["train_s"] == pytest.approx(meta[base]["train_seconds"])
    assert measured[-1]["train_s"] == pytest.approx(generators.total_seconds(meta[cond]))  # with its init run
    # another noise seed: other samples, and the seed in the row's name (so --append keeps both)
    one = tiny + ["--only", "flow", "--flow", str(base), "--flow-euler-steps", "2", "--flow-heun-steps",
                  "--flow-eta-steps"]
    seeded = generators.measure(one + ["--seed", "3"])["rows"]
    assert [r["name"] for r in seeded] == ["flow matching, Euler 2 (noise seed 3)"]
    assert seeded[0]["IS"] != measured[1]["IS"]
    # autoguidance: the unconditional model guided by another (here the fast model by itself, which changes nothing);
    # every evaluation calls both, and the training time is both runs'
    ag = generators.parse(tiny + ["--only", "flowag", "--flow", str(base), "--flow-guide", str(base),
                                  "--flow-autoguidance", "1", "--flow-ag-euler-steps", "2", "--flow-ag-heun-steps", "2",
                                  "--flow-ag-eta-steps", "2"])
    guided = list(generators.rows(ag))
    assert [(r["name"], r["nfe"]) for r in guided] == [
        ("flow matching + autoguidance w=1, Euler 2", 4), ("flow matching + autoguidance w=1, Heun 2 steps", 6),
        ("flow matching + autoguidance w=1, DDIM 2, eta 1", 4)]
    assert guided[0]["train_s"] == pytest.approx(2 * meta[base]["train_seconds"])
    assert guided[0]["IS"] == pytest.approx(measured[1]["IS"], abs=1e-4)  # a guide equal to the model: Euler 2's samples
    # a guidance interval: named in the row, and the guide's evaluations counted only on the steps it guides
    names = [(n, nfe) for n, nfe, *_ in flow_rows.samplers(generators.parse(
        ["--only", "flowag", "--flow", str(base), "--flow-guide", str(base), "--flow-ag-interval", "0.5", "1",
         "--flow-ag-euler-steps", "2", "--flow-ag-heun-steps", "2"]), "cpu", generators.total_seconds)]
    assert names == [("flow matching + autoguidance w=1 for t in (0.5, 1], Euler 2", 3),
                     ("flow matching + autoguidance w=1 for t in (0.5, 1], Heun 2 steps", 5)]
    # missing checkpoints: the group is skipped with a note
    capsys.readouterr()
    none = generators.parse(["--only", "flow", "flowcfg", "--flow", str(tmp_path / "no.pt"),
                             "--flow-cfg", str(tmp_path / "no_cfg.pt")])
    assert flow_rows.samplers(none, "cpu", generators.total_seconds) == []
    out = capsys.readouterr().out
    assert "no.pt missing: skipping the flow rows" in out and "no_cfg.pt missing: skipping the flowcfg rows" in out
    no_guide = generators.parse(["--only", "flowag", "--flow", str(base), "--flow-guide", str(tmp_path / "weak.pt")])
    assert flow_rows.samplers(no_guide, "cpu", generators.total_seconds) == []
    out = capsys.readouterr().out
    assert "weak.pt missing: skipping the flowag rows" in out and "--channels 8 --minutes 7 --no-cpu-bf16" in out
    # the measured checkpoints name the shipped flow models only when their groups ran
    monkeypatch.setattr(checkpoint, "CHECKPOINT_DIR", tmp_path)
    shutil.copy(base, tmp_path / "flow_mnist.pt"), shutil.copy(cond, tmp_path / "flow_mnist_cfg.pt")
    assert generators.checkpoints(generators.parse(["--only", "flow", "flowcfg"])) == ["flow_mnist", "flow_mnist_cfg"]
    shutil.copy(base, tmp_path / "flow_mnist_guide.pt")
    assert generators.checkpoints(generators.parse(["--only", "flowag"])) == ["flow_mnist", "flow_mnist_guide"]
    assert generators.checkpoints(generators.parse(["--only", "flow", "flowag"])) == ["flow_mnist", "flow_mnist_guide"]
    assert generators.checkpoints(generators.parse(["--only", "flowcfg"])) == ["flow_mnist_cfg"]
    assert generators.checkpoints(generators.parse(["--only", "real", "--flow", str(base)])) == []


def test_generators_drop_removes_the_named_rows_and_nothing_else(tmp_path, monkeypatch, capsys):
    from course_lib import benchmark, checkpoint
    from course_lib.benchmarks import generators
    from course_lib.unet import UNet
    monkeypatch.setattr(checkpoint, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path / "measured.json")
    rows = [{"name": name, "IS": 9.0} for name in ("kept", "old row", "also kept")]
    config = dict(in_channels=1, out_channels=1, width=4, depth=1)
    table = {"rows": rows, "checkpoints": [], "appended": [{"argv": ["--only", "flow"]}]}
    checkpoint.save_checkpoint(tmp_path / "ddpm_mnist.pt", UNet(**config), config, {"benchmark": table, "steps": 7})
    with pytest.raises(SystemExit, match="no recorded row is named"):  # a typo changes nothing
        generators.main(["--drop", "old row", "old rwo"])
    assert checkpoint.load_model("ddpm_mnist")[1]["metrics"]["benchmark"] == table
    assert generators.main(["--drop", "old row"]) == 0
    metrics = checkpoint.load_model("ddpm_mnist")[1]["metrics"]
    assert [r["name"] for r in metrics["benchmark"]["rows"]] == ["kept", "also kept"] and metrics["steps"] == 7
    assert metrics["benchmark"]["appended"][-1]["argv"] == ["--drop", "old row"]
    assert [r["name"] for r in benchmark.recorded()["generators"]["rows"]] == ["kept", "also kept"]


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ("l10_q_sample", q_sample_no_sqrt, "square roots"),
    ("l10_q_sample", q_sample_first_t, "index alpha_bars with t"),
    ("l10_q_sample", q_sample_swapped, "which factor multiplies x0"),
    ("l10_q_sample", q_sample_flat_index, "same shape"),
    ("l10_diffusion_loss", loss_predicts_x0, "not x0"),
    ("l10_diffusion_loss", loss_summed, "do not sum"),
    ("l10_diffusion_loss", loss_uniform_noise, "standard normal"),
    ("l10_diffusion_loss", loss_one_t, "uniformly"),
    ("l10_ancestral_step", ancestral_variance_not_std, "not the variance"),
    ("l10_ancestral_step", ancestral_noise_at_zero, "without noise"),
    ("l10_ancestral_step", ancestral_no_sqrt_alpha, "square root"),
    ("l10_ancestral_step", ancestral_alpha_bar_coefficient, "square root"),
    ("l10_ddim_step", ddim_no_sqrt, "x0_hat = (x_t - sqrt(1 - a_t) eps_hat) / sqrt(a_t)"),
    ("l10_ddim_step", ddim_fresh_noise, "no fresh"),
    ("l10_ddim_step", ddim_returns_x0, "new noise level"),
    ("l10_guided_eps", guidance_swapped, "1 + w on eps_cond"),
    ("l10_guided_eps", guidance_interpolates, "1 + w on eps_cond"),
    ("l10_guided_eps", guidance_missing_one, "1 + w on eps_cond"),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
