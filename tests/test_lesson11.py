"""Hidden tests of lesson 11: each exercise passes on the solution, fails on the stub and on plausible mistakes;
course_lib.flow and the flow recipe do what the lesson says."""
import pytest
import torch
import torch.nn.functional as F

from course_lib import flow
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "11_flow_matching.ipynb"
EXERCISES = ("l11_interpolant", "l11_flow_loss", "l11_euler_step", "l11_heun_step")


def test_solutions_pass_and_stubs_fail():
    for ex in EXERCISES:
        assert_solution_passes(NB, ex)
        assert_stub_fails(NB, ex)


def _per_image(t, x0):
    return t.reshape(-1, *([1] * (x0.dim() - 1)))


# ---------------------------------------------------------------- interpolant
def path_swapped(x0, eps, t):  # the weights of x0 and eps swapped: t = 0 is noise
    t = _per_image(t, x0)
    return t * x0 + (1 - t) * eps, eps - x0


def path_target_reversed(x0, eps, t):  # the velocity with the wrong sign
    t = _per_image(t, x0)
    return (1 - t) * x0 + t * eps, x0 - eps


def path_sqrt(x0, eps, t):  # lesson 10's variance-preserving weights
    t = _per_image(t, x0)
    return (1 - t).sqrt() * x0 + t.sqrt() * eps, eps - x0


def path_first_t(x0, eps, t):  # one t for the whole batch
    return (1 - t[0]) * x0 + t[0] * eps, eps - x0


def path_flat_t(x0, eps, t):  # t not reshaped: (B,) meets the last axis
    return (1 - t) * x0 + t * eps, eps - x0


def test_interpolant_wrong():
    assert_wrong_fails("l11_interpolant", path_swapped, because="t = 0 gives")
    assert_wrong_fails("l11_interpolant", path_target_reversed, because="target is the velocity")
    assert_wrong_fails("l11_interpolant", path_sqrt, because="straight line")
    assert_wrong_fails("l11_interpolant", path_first_t, because="own t")
    assert_wrong_fails("l11_interpolant", path_flat_t, because="shaped like x0")


# ---------------------------------------------------------------- flow_loss
def _noisy(x0, t):
    eps = torch.randn_like(x0)
    return flow.interpolate(x0, eps, t), eps


def loss_targets_eps(v, x0):  # lesson 10's target
    t = torch.rand(x0.shape[0])
    x_t, eps = _noisy(x0, t)
    return F.mse_loss(v(x_t, t), eps)


def loss_targets_x0(v, x0):  # regresses the clean image
    t = torch.rand(x0.shape[0])
    x_t, eps = _noisy(x0, t)
    return F.mse_loss(v(x_t, t), x0)


def loss_integer_t(v, x0):  # lesson 10's integer steps as the time
    t = torch.randint(0, 1000, (x0.shape[0],))
    x_t, eps = _noisy(x0, t)
    return F.mse_loss(v(x_t, t), eps - x0)


def loss_one_t(v, x0):  # one t for the whole batch
    t = torch.rand(1)
    x_t, eps = _noisy(x0, t)
    return F.mse_loss(v(x_t, t), eps - x0)


def loss_uniform_noise(v, x0):  # torch.rand_like instead of torch.randn_like
    t = torch.rand(x0.shape[0])
    eps = torch.rand_like(x0)
    return F.mse_loss(v(flow.interpolate(x0, eps, t), t), eps - x0)


def loss_summed(v, x0):  # sum instead of mean
    t = torch.rand(x0.shape[0])
    x_t, eps = _noisy(x0, t)
    return F.mse_loss(v(x_t, t), eps - x0, reduction="sum")


def test_flow_loss_wrong():
    assert_wrong_fails("l11_flow_loss", loss_targets_eps, because="regresses the velocity")
    assert_wrong_fails("l11_flow_loss", loss_targets_x0, because="regresses the velocity")
    assert_wrong_fails("l11_flow_loss", loss_integer_t, because="uniformly")
    assert_wrong_fails("l11_flow_loss", loss_one_t, because="uniformly")
    assert_wrong_fails("l11_flow_loss", loss_uniform_noise, because="N(0, I)")
    assert_wrong_fails("l11_flow_loss", loss_summed, because="regresses the velocity")


# ---------------------------------------------------------------- euler_step
def euler_wrong_sign(x, v_hat, t, t_next):  # t - t_next: a step towards the noise
    return x + (t - t_next) * v_hat


def euler_fixed_step(x, v_hat, t, t_next):  # always a step of 1/10, whatever the times
    return x - 0.1 * v_hat


def test_euler_step_wrong():
    assert_wrong_fails("l11_euler_step", euler_wrong_sign, because="lands on the image")
    assert_wrong_fails("l11_euler_step", euler_fixed_step, because="whatever the step size")


# ---------------------------------------------------------------- heun_step
def heun_slope_at_x(v, x, t, t_next):  # second slope at the start point, not at the predictor
    v1 = v(x, t)
    return x + (t_next - t) * 0.5 * (v1 + v(x, t_next))


def heun_slope_at_t(v, x, t, t_next):  # second slope at the old time
    v1 = v(x, t)
    return x + (t_next - t) * 0.5 * (v1 + v(x + (t_next - t) * v1, t))


def heun_sum(v, x, t, t_next):  # the sum of the slopes, not their average
    v1 = v(x, t)
    return x + (t_next - t) * (v1 + v(x + (t_next - t) * v1, t_next))


def heun_euler(v, x, t, t_next):  # plain Euler: one evaluation
    return x + (t_next - t) * v(x, t)


def heun_predictor_only(v, x, t, t_next):  # evaluates the corrector's slope but returns the predictor
    v1 = v(x, t)
    x_e = x + (t_next - t) * v1
    v(x_e, t_next)
    return x_e


def test_heun_step_wrong():
    assert_wrong_fails("l11_heun_step", heun_slope_at_x, because="Euler predictor")
    assert_wrong_fails("l11_heun_step", heun_slope_at_t, because="Euler predictor")
    assert_wrong_fails("l11_heun_step", heun_sum, because="averages")
    assert_wrong_fails("l11_heun_step", heun_euler, because="calls v twice")
    assert_wrong_fails("l11_heun_step", heun_predictor_only, because="averages")


# ---------------------------------------------------------------- course_lib.flow
class _Recorder(torch.nn.Module):
    """A stand-in U-Net: remembers the time it is given; its output depends on the time, the label and p."""

    def __init__(self, num_classes=None):
        super().__init__()
        self.num_classes, self.times = num_classes, []
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, t, y=None):
        self.times.append(t)
        out = x * t.view(-1, 1, 1, 1) / 1000 + self.p
        return out if y is None else out + y.float().view(-1, 1, 1, 1) ** 2


def test_velocity_field_scales_time_for_the_unet():
    net = _Recorder(num_classes=3)
    v = flow.VelocityField(net)
    assert v.num_classes == 3
    x = torch.randn(4, 1, 5, 5)
    v(x, 0.25)
    assert torch.allclose(net.times[-1], torch.full((4,), 0.25 * flow.TIME_SCALE))
    t = torch.tensor([0.0, 0.1, 0.5, 1.0])
    v(x, t, torch.tensor([0, 1, 2, 0]))
    assert torch.allclose(net.times[-1], t * flow.TIME_SCALE)


def test_guided_velocity_is_lesson_10s_combination():
    v = flow.VelocityField(_Recorder(num_classes=3))
    x, y = torch.randn(4, 1, 5, 5), torch.tensor([0, 1, 2, 1])
    null = torch.full_like(y, 3)
    for t in (0.4, torch.tensor([0.1, 0.3, 0.6, 0.9])):
        cond, uncond = v(x, t, y), v(x, t, null)
        assert not torch.allclose(cond, uncond)
        assert torch.allclose(flow.guided_velocity(v, x, t), v(x, t))
        assert torch.allclose(flow.guided_velocity(v, x, t, y, w=0.0), cond)
        assert torch.allclose(flow.guided_velocity(v, x, t, y, w=1.0), 2 * cond - uncond, atol=1e-6)


def test_autoguidance_combines_with_a_weaker_model():
    v, weak = flow.VelocityField(_Recorder(num_classes=3)), flow.VelocityField(_Recorder(num_classes=3))
    with torch.no_grad():
        for p in weak.parameters():
            p.add_(0.3)
    x, y, t = torch.randn(4, 1, 5, 5), torch.tensor([0, 1, 2, 1]), 0.6
    assert not torch.allclose(v(x, t), weak(x, t))
    assert torch.allclose(flow.guided_velocity(v, x, t, w=0.0, guide=weak), v(x, t))
    assert torch.allclose(flow.guided_velocity(v, x, t, w=1.5, guide=weak), 2.5 * v(x, t) - 1.5 * weak(x, t), atol=1e-6)
    # with labels: both models are asked for the label (no null label: this is not classifier-free guidance)
    assert torch.allclose(flow.guided_velocity(v, x, t, y, w=1.0, guide=weak), 2 * v(x, t, y) - weak(x, t, y), atol=1e-6)


class _GaussianData(torch.nn.Module):
    """The exact velocity field E[eps - x0 | x_t = x] for data N(c, s^2) per pixel, as sample() calls it."""

    def __init__(self, c, s):
        super().__init__()
        self.c, self.s, self.num_classes = c, s, None
        self.p = torch.nn.Parameter(torch.zeros(()))  # where the model lives (its device)

    def forward(self, x, t, y=None):
        c, s = self.c, self.s
        return -c + (x - (1 - t) * c) * (t - (1 - t) * s ** 2) / ((1 - t) ** 2 * s ** 2 + t ** 2)


class _Counting(_GaussianData):
    def __init__(self, c, s):
        super().__init__(c, s)
        self.calls = 0

    def forward(self, x, t, y=None):
        self.calls += 1
        return super().forward(x, t, y)


def test_sample_with_the_exact_field_reaches_gaussian_data():
    c, s = 0.25, 0.2  # inside [-1, 1], where sample() clamps
    model = _GaussianData(c, s)
    out = {m: flow.sample(model, 2000, steps=20, method=m, generator=torch.Generator().manual_seed(0),
                          shape=(1, 4, 4)) for m in ("euler", "heun")}  # heun: 19 Heun steps, a last Euler step
    assert out["heun"].shape == (2000, 1, 4, 4)
    assert abs(float(out["heun"].mean()) - c) < 0.01 and abs(float(out["heun"].std()) / s - 1) < 0.05
    err = {m: abs(float(x.mean()) - c) + abs(float(x.std()) - s) for m, x in out.items()}
    assert err["heun"] < err["euler"]
    images, frames = flow.sample(model, 3, steps=4, method="heun", shape=(1, 4, 4), return_trajectory=True)
    assert len(frames) == 5 and torch.equal(frames[-1], images)
    with pytest.raises(ValueError, match="method"):
        flow.sample(model, 1, method="rk4")


def test_autoguided_sampling_pulls_samples_to_where_the_models_agree():
    # the weak model's data N(c, 0.3^2) is wider than the good one's N(c, 0.2^2) (Karras et al. 2024: a weaker model
    # spreads its density more); guiding away from it narrows the samples, keeps their mean, and a guide equal to
    # the model changes nothing; every field evaluation calls each model once
    c, s, s_weak = 0.25, 0.2, 0.3
    good, weak = _Counting(c, s), _Counting(c, s_weak)
    out = {w: flow.sample(good, 4000, steps=20, method="heun", w=w, guide=weak, shape=(1, 2, 2),
                          generator=torch.Generator().manual_seed(0)) for w in (0.0, 1.0)}
    assert good.calls == 2 * 39 and weak.calls == 39  # w = 0 never calls the guide
    assert abs(float(out[1.0].mean()) - c) < 0.01
    assert float(out[1.0].std()) < 0.9 * float(out[0.0].std()) and abs(float(out[0.0].std()) / s - 1) < 0.05
    same = flow.sample(good, 8, steps=10, w=2.0, guide=_Counting(c, s), generator=torch.Generator().manual_seed(1))
    plain = flow.sample(good, 8, steps=10, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(same, plain, atol=1e-6)


class _Times(_Counting):
    def __init__(self, c, s):
        super().__init__(c, s)
        self.times = []

    def forward(self, x, t, y=None):
        self.times.append(round(float(t), 6))
        return super().forward(x, t, y)


def test_guidance_interval_guides_whole_steps_that_start_inside_it():
    # Kynkaanniemi et al. 2024, Eq. 5-6: guidance on the steps whose start time is in (lo, hi], both evaluations of a
    # Heun step alike (Sec. 3.1); the guide is called exactly guided_evaluations times
    c, s = 0.25, 0.2
    good, weak = _Counting(c, s), _Times(c, 0.3)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    x = flow.sample(good, 16, steps=5, method="heun", w=1.0, guide=weak, interval=(0.2, 1.0), generator=g())
    assert weak.times == [1.0, 0.8, 0.8, 0.6, 0.6, 0.4, 0.4, 0.2]  # the last step, from t = 0.2 to 0, unguided
    assert weak.calls == flow.guided_evaluations(5, "heun", (0.2, 1.0)) == 8 and good.calls == 9
    assert flow.guided_evaluations(5, "heun") == 9 and flow.guided_evaluations(10, "euler", (0.2, 0.5)) == 3
    full = flow.sample(good, 16, steps=5, method="heun", w=1.0, guide=weak, interval=(0.0, 1.0), generator=g())
    assert torch.equal(full, flow.sample(good, 16, steps=5, method="heun", w=1.0, guide=weak, generator=g()))
    assert not torch.allclose(x, full)  # the last step's guidance is really gone
    none = flow.sample(good, 16, steps=5, method="heun", w=1.0, guide=weak, interval=(0.5, 0.55), generator=g())
    assert torch.equal(none, flow.sample(good, 16, steps=5, method="heun", generator=g()))  # no step starts there
    for bad in ((0.5, 0.5), (-0.1, 1.0), (0.8, 0.2)):
        with pytest.raises(ValueError, match="0 <= lo < hi"):
            flow.sample(good, 1, steps=2, w=1.0, guide=weak, interval=bad)


def test_ddim_step_is_lesson_10s_step_on_this_path():
    from course_lib import diffusion
    g = torch.Generator().manual_seed(0)
    x, v, z = (torch.randn(4, 1, 4, 4, generator=g, dtype=torch.float64) for _ in range(3))
    for t, t_next in ((0.9, 0.7), (0.5, 0.45), (0.2, 0.0)):
        assert torch.allclose(flow.ddim_step(x, v, t, t_next), flow.euler_step(x, v, t, t_next))  # eta = 0: Euler
        a_t, a_next = flow.alpha_bar_of(t), flow.alpha_bar_of(t_next)
        assert abs(float(flow.flow_time(torch.tensor(a_t))) - t) < 1e-6  # alpha_bar_of inverts flow_time
        scale = lambda a: a ** 0.5 + (1 - a) ** 0.5  # noqa: E731  lesson 10's x_t = scale(a) * this path's x_t
        eps_hat = x + (1 - t) * v
        for eta in (0.5, 1.0):
            lesson10 = diffusion.ddim_step(scale(a_t) * x, eps_hat, a_t, a_next, eta=eta, noise=z) / scale(a_next)
            assert torch.allclose(flow.ddim_step(x, v, t, t_next, eta, noise=z), lesson10)
    # from pure noise (t = 1, where lesson 10's step divides by zero) eta = 1 keeps none of eps_hat
    assert torch.allclose(flow.ddim_step(x, v, 1.0, 0.8, 1.0, noise=z), 0.2 * (x - v) + 0.8 * z)


def test_stochastic_sampling_with_the_exact_field_reaches_gaussian_data():
    c, s = 0.25, 0.2
    model = _GaussianData(c, s)
    kw = dict(steps=400, shape=(1, 4, 4))
    x = flow.sample(model, 2000, method="ddim", eta=1.0, generator=torch.Generator().manual_seed(0), **kw)
    assert abs(float(x.mean()) - c) < 0.01 and abs(float(x.std()) / s - 1) < 0.03
    same = [flow.sample(model, 8, method=m, generator=torch.Generator().manual_seed(1), **kw) for m in ("ddim", "euler")]
    assert torch.allclose(*same, atol=1e-5)  # eta = 0: the Euler sampler (up to rounding)
    with pytest.raises(ValueError, match="needs method='ddim'"):
        flow.sample(model, 1, eta=1.0)


def test_flow_time_reads_a_ddpm_state_as_a_point_of_the_path():
    from course_lib import diffusion
    ab = diffusion.alpha_bar(diffusion.make_schedule("cosine")).double()
    x0, eps = torch.rand(3, 1, 4, 4, dtype=torch.float64) * 2 - 1, torch.randn(3, 1, 4, 4, dtype=torch.float64)
    steps = torch.tensor([10, 500, 990])
    a = ab[steps].view(-1, 1, 1, 1)
    t = flow.flow_time(ab[steps])
    assert (t[1:] > t[:-1]).all() and (0 < t).all() and (t < 1).all()
    ddpm_x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
    x_t = flow.interpolate(x0, eps, t)
    assert torch.allclose(ddpm_x_t / (a.sqrt() + (1 - a).sqrt()), x_t)
    for i in range(3):
        v = flow.velocity_from_eps(x_t[i:i + 1], eps[i:i + 1], float(t[i]))
        assert torch.allclose(v, flow.target_velocity(x0[i:i + 1], eps[i:i + 1]))


def test_training_times_uniform_and_logit_normal():
    g = torch.Generator().manual_seed(0)
    uniform = flow.training_times(200_000, "uniform", generator=g)
    ln = flow.training_times(200_000, "logit-normal", generator=g)
    assert uniform.shape == ln.shape == (200_000,) and (0 <= uniform).all() and (uniform < 1).all()
    assert (0 < ln).all() and (ln < 1).all()
    logit = torch.log(ln / (1 - ln))
    assert abs(float(logit.mean())) < 0.01 and abs(float(logit.std()) - 1) < 0.01  # u = logit(t) ~ N(0, 1)
    middle = lambda t: float(((t > torch.sigmoid(torch.tensor(-1.0))) & (t < torch.sigmoid(torch.tensor(1.0)))).float().mean())
    assert abs(middle(ln) - 0.6827) < 0.005 and abs(middle(uniform) - 0.4621) < 0.005  # P(|u| < 1) vs its length
    with pytest.raises(ValueError, match="uniform, logit-normal"):
        flow.training_times(4, "lognormal")


def test_flow_loss_draws_its_times_from_the_chosen_density():
    seen = []

    def field(x, t):
        seen.append(t)
        return torch.zeros_like(x)

    x0 = torch.zeros(5000, 1, 2, 2)
    for sampling in flow.TIME_SAMPLINGS:
        loss = flow.flow_loss(field, x0, generator=torch.Generator().manual_seed(3), sampling=sampling)
        g = torch.Generator().manual_seed(3)
        t = flow.training_times(5000, sampling, generator=g)
        eps = torch.randn(x0.shape, generator=g)
        assert torch.equal(seen[-1], t) and torch.allclose(loss, eps.pow(2).mean())


# ---------------------------------------------------------------- the recipe
def test_fast_flow_recipe_and_its_conditional_continuation(tmp_path, monkeypatch):
    from course_lib import checkpoint, train
    from course_lib.diffusion_unet import UNet
    from course_lib.recipes import ddpm
    base, out = tmp_path / "flow.pt", tmp_path / "flow_cfg.pt"
    assert train.main(["flow", "--fast", "--out", str(base)]) == 0
    model, meta = checkpoint.load_model(base)
    m = meta["metrics"]
    assert isinstance(model, UNet) and model.num_classes is None
    assert m["steps"] == 3 and m["recipe"]["batch_size"] == 16 and m["images_seen"] == 3 * 16
    assert {"threads", "train_seconds", "load_before", "load_after", "objective", "loss"} <= set(m)
    assert "flow matching" in m["objective"] and m["time_scale"] == flow.TIME_SCALE
    assert "schedule" not in m["recipe"] and "T" not in m["recipe"] and m["recipe"]["time_sampling"] == "logit-normal"
    assert "t ~ sigmoid(N(0, 1))" in m["objective"]
    assert m["recipe"]["cpu_bf16"] is True  # bfloat16 autocast on a CPU, the shipped model's setting

    seen = []
    autocast = ddpm.autocast
    monkeypatch.setattr(ddpm, "autocast", lambda dev, cpu_bf16=False: seen.append(cpu_bf16) or autocast(dev, cpu_bf16))
    assert train.main(["flow", "--fast", "--no-cpu-bf16", "--out", str(tmp_path / "fp32.pt")]) == 0
    assert seen == [False] * 3  # every step's forward pass in float32
    assert checkpoint.load_model(tmp_path / "fp32.pt")[1]["metrics"]["recipe"]["cpu_bf16"] is False
    monkeypatch.setattr(ddpm, "autocast", autocast)
    with pytest.raises(SystemExit, match="use one of uniform, logit-normal"):
        train.main(["flow", "--fast", "--time-sampling", "lognormal", "--out", str(tmp_path / "bad.pt")])
    assert not (tmp_path / "bad.pt").exists()  # a bad option stops before training

    built = {}
    build = ddpm.build

    def spy(args, device):
        config, net, ema, opt = build(args, device)
        built["class_emb"] = net.class_emb.weight.detach().clone()
        built["conv_in"] = net.conv_in.weight.detach().clone()
        return config, net, ema, opt

    monkeypatch.setattr(ddpm, "build", spy)
    assert train.main(["flow", "--fast", "--conditional", "--init", str(base), "--out", str(out)]) == 0
    assert torch.count_nonzero(built["class_emb"]) == 0  # every label starts as the null label
    assert torch.equal(built["conv_in"], model.conv_in.weight)  # the rest starts from the unconditional model
    cond, meta = checkpoint.load_model(out)
    assert cond.num_classes == 10 and meta["metrics"]["init_metrics"]["steps"] == 3
    assert flow.sample(flow.VelocityField(cond), 2, steps=2, y=torch.tensor([3, 7]), w=1.0).shape == (2, 1, 28, 28)


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ("l11_interpolant", path_swapped, "other way round"),
    ("l11_interpolant", path_target_reversed, "not x0 - eps"),
    ("l11_interpolant", path_sqrt, "square roots"),
    ("l11_interpolant", path_first_t, "its own t"),
    ("l11_interpolant", path_flat_t, "shaped like x0"),
    ("l11_flow_loss", loss_targets_eps, "not eps"),
    ("l11_flow_loss", loss_targets_x0, "not x0"),
    ("l11_flow_loss", loss_integer_t, "not integer steps"),
    ("l11_flow_loss", loss_one_t, "one t for the whole batch"),
    ("l11_flow_loss", loss_uniform_noise, "standard normal"),
    ("l11_flow_loss", loss_summed, "do not sum"),
    ("l11_euler_step", euler_wrong_sign, "mind the sign"),
    ("l11_euler_step", euler_fixed_step, "not a fixed size"),
    ("l11_heun_step", heun_slope_at_x, "not at x"),
    ("l11_heun_step", heun_slope_at_t, "not at t"),
    ("l11_heun_step", heun_sum, "half their sum"),
    ("l11_heun_step", heun_euler, "twice"),
    ("l11_heun_step", heun_predictor_only, "not the predictor's slope alone"),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
