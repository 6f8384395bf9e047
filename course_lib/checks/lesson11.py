"""Public self-checks of lesson 11 (flow matching: the straight path, the flow-matching loss, Euler and Heun steps)."""
import math

import torch

from ..flow import euler_step, flow_loss, heun_step, interpolate, target_velocity, time_grid
from ..selfcheck import close, exercise, expect, expect_tensor_like


def interpolant(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor):
    """The exercise's reference: course_lib.flow's path and its velocity, (interpolate(x0, eps, t), eps - x0)."""
    return interpolate(x0, eps, t), target_velocity(x0, eps)


def _images(n: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 5, 7, generator=g) * 2 - 1, torch.randn(n, 1, 5, 7, generator=g)


# ---------------------------------------------------------------- l11_interpolant
path_ex = exercise("l11_interpolant", interpolant,
                   "interpolant(x0 (B, ...): images (B, C, H, W) or 2-D points (B, 2), eps like x0, t (B,) float in "
                   "[0, 1]) -> (x_t, target), both like x0: x_t = (1 - t) x0 + t eps with each sample's own t, "
                   "target = eps - x0 (the velocity d x_t / dt)",
                   forbidden=("course_lib.flow.interpolate", "course_lib.flow.target_velocity"))


def _path(fn, x0, eps, t):
    out = fn(x0, eps, t)
    expect(isinstance(out, (tuple, list)) and len(out) == 2, "interpolant must return two tensors, (x_t, target)")
    hint = "keep x0's shape (reshape t to (B, 1, ..., 1), one 1 per dimension of x0 after the first, so it " \
           "broadcasts over each sample)"
    return expect_tensor_like(out[0], x0, "x_t", hint), expect_tensor_like(out[1], x0, "target", hint)


@path_ex.test("returns (x_t, target): two tensors shaped like x0, for images and 2-D points")
def _(fn):
    x0, eps = _images(3)
    _path(fn, x0, eps, torch.tensor([0.1, 0.5, 0.9]))
    points, noise = torch.rand(5, 2) * 2 - 1, torch.randn(5, 2)
    _path(fn, points, noise, torch.rand(5))


@path_ex.test("t = 0 gives the image x0 and t = 1 gives the noise eps")
def _(fn):
    x0, eps = _images()
    at0, at1 = _path(fn, x0, eps, torch.zeros(4))[0], _path(fn, x0, eps, torch.ones(4))[0]
    swapped = close(at0, eps) and close(at1, x0)
    expect(close(at0, x0) and close(at1, eps), "x_t must be the clean image x0 at t = 0 and pure noise eps at t = 1"
           + (" (yours is the other way round)" if swapped else "") + ": x0 gets the weight 1 - t and eps the weight t")


@path_ex.test("uses each image's own t (t broadcast per image)")
def _(fn):
    x0, eps = _images()
    t = torch.tensor([0.05, 0.3, 0.65, 0.95])
    x_t, target = _path(fn, x0, eps, t)
    for i in range(4):
        one_x, one_target = _path(fn, x0[i:i + 1], eps[i:i + 1], t[i:i + 1])
        expect(close(x_t[i:i + 1], one_x) and close(target[i:i + 1], one_target),
               "image i of a batch differs from the same image alone: give every sample its own t, reshaped to "
               "(B, 1, ..., 1) (for images t.view(-1, 1, 1, 1)) so it broadcasts over that sample's values")


@path_ex.test("x_t lies on the straight line from x0 to eps (weights 1 - t and t)")
def _(fn):
    x0, eps = _images(seed=1)
    t = torch.tensor([0.2, 0.5, 0.7, 0.9])
    expect(close(_path(fn, x0, eps, t)[0], interpolate(x0, eps, t)),
           "x_t is not (1 - t) x0 + t eps: the weights are 1 - t and t, which add up to 1 (a straight line), not "
           "square roots as in lesson 10's variance-preserving path")


@path_ex.test("target is the velocity eps - x0, the same at every t")
def _(fn):
    x0, eps = _images(seed=2)
    for t in (torch.full((4,), 0.1), torch.tensor([0.3, 0.9, 0.5, 0.7])):
        target = _path(fn, x0, eps, t)[1]
        expect(close(target, target_velocity(x0, eps)),
               "target must be the velocity of the path, d x_t / dt = eps - x0 (eps minus x0, not x0 - eps, "
               "not eps alone): differentiate (1 - t) x0 + t eps in t; it does not depend on t")


# ---------------------------------------------------------------- l11_flow_loss
loss_ex = exercise("l11_flow_loss", flow_loss,
                   "flow_loss(v, x0 (B, ...)) -> scalar tensor: t ~ U[0, 1] (float (B,), one per sample), eps ~ "
                   "N(0, I), x_t = (1 - t) x0 + t eps; the mean squared error between v(x_t, t) (one call on the whole "
                   "batch) and the velocity eps - x0 (Lipman et al. 2023, Eq. 9)",
                   forbidden=("course_lib.flow.flow_loss",))


class _Oracle(torch.nn.Module):
    """Knows x0, so from x_t = (1 - t) x0 + t eps it recovers eps and returns the exact velocity eps - x0 (plus an
    offset); remembers what it was called with."""

    def __init__(self, x0, offset=0.0):
        super().__init__()
        self.x0, self.offset, self.calls = x0, offset, []
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x_t, t):
        self.calls.append((x_t.detach(), t.detach() if torch.is_tensor(t) else t))
        tt = torch.as_tensor(t).to(x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
        eps = (x_t - (1 - tt) * self.x0) / tt.clamp_min(1e-12)
        return self.w * (eps - self.x0 + self.offset)


def _loss_value(fn, v, x0) -> torch.Tensor:
    out = fn(v, x0)
    expect(torch.is_tensor(out) and out.dim() == 0, "flow_loss must return one scalar tensor (a mean)")
    expect(torch.isfinite(out), "the loss is NaN or inf")
    return out


@loss_ex.test("returns a scalar tensor that gradients flow through (images and 2-D points)")
def _(fn):
    for x0 in (torch.rand(8, 1, 4, 4) * 2 - 1, torch.rand(8, 2) * 2 - 1):
        v = _Oracle(x0, offset=0.3)
        _loss_value(fn, v, x0).backward()
        expect(v.w.grad is not None and v.w.grad.abs() > 0, "no gradient reaches v's parameters: compute the loss "
                                                             "from v(x_t, t) without detaching it")


@loss_ex.test("regresses the velocity eps - x0 (the exact velocity has zero loss)")
def _(fn):
    x0 = torch.rand(64, 1, 4, 4) * 2 - 1
    exact = float(_loss_value(fn, _Oracle(x0), x0).detach())
    expect(exact < 1e-3, f"a v returning the exact velocity eps - x0 gets loss {exact:.4f}: the regression target "
                         "is the velocity d x_t / dt = eps - x0 (Eq. 9), not eps and not x0")
    off = float(_loss_value(fn, _Oracle(x0, offset=0.5), x0).detach())
    expect(abs(off - 0.25) < 1e-3, f"a v off by 0.5 everywhere gets loss {off:.4f}: average the squared error over "
                                   "every pixel and image (F.mse_loss), do not sum it")


@loss_ex.test("draws t uniformly on [0, 1], a float per image (v called once, on the whole batch)")
def _(fn):
    x0 = torch.zeros(4000, 1, 2, 2)
    v = _Oracle(x0)
    _loss_value(fn, v, x0)
    expect(len(v.calls) == 1, f"v was called {len(v.calls)} times: call it once per loss, on the whole batch")
    t = v.calls[0][1]
    expect(torch.is_tensor(t) and t.is_floating_point(), "t must be a float tensor of times in [0, 1], not "
                                                         "integer steps as in lesson 10: draw it with torch.rand")
    expect(tuple(t.shape) == (4000,), f"t has shape {tuple(t.shape)}: draw one time per image, torch.rand(B), not "
                                      "one t for the whole batch")
    expect(float(t.min()) >= 0 and float(t.max()) <= 1, "t leaves [0, 1] (0 is the data, 1 the noise)")
    expect(float(t.min()) < 0.02 and float(t.max()) > 0.98 and abs(float(t.mean()) - 0.5) < 0.03,
           "t is not spread uniformly over [0, 1]: draw a fresh t for every image, torch.rand(B, device=x0.device)")


class _Constant(torch.nn.Module):
    """v(x_t, t) = value everywhere: with x0 = 0 the loss is the mean of (value - eps)^2."""

    def __init__(self, value: float):
        super().__init__()
        self.value, self.w = value, torch.nn.Parameter(torch.ones(()))

    def forward(self, x_t, t):
        return self.w * torch.full_like(x_t, self.value)


@loss_ex.test("draws eps from N(0, I)")
def _(fn):
    x0 = torch.zeros(4000, 1, 2, 2)  # target eps: v = 0 gives E[eps^2], v = 1 gives 1 - 2 E[eps] + E[eps^2]
    at0, at1 = (float(_loss_value(fn, _Constant(c), x0).detach()) for c in (0.0, 1.0))
    expect(abs(at0 - 1) < 0.05 and abs((1 + at0 - at1) / 2) < 0.05,
           "the noise in x_t is not standard normal: draw eps with torch.randn_like(x0)")


# ---------------------------------------------------------------- l11_euler_step
euler_ex = exercise("l11_euler_step", euler_step,
                    "euler_step(x, v_hat like x, t float, t_next float) -> x_next like x: one Euler step of "
                    "dx/dt = v, x + (t_next - t) v_hat (t_next < t: a step towards the data)",
                    forbidden=("course_lib.flow.euler_step",))


def _state(seed: int = 0, shape=(5, 1, 6, 6)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


@euler_ex.test("returns x_next with the shape of x")
def _(fn):
    x, v = _state()
    expect_tensor_like(fn(x, v, 0.6, 0.5), x, "euler_step's result")


@euler_ex.test("moves by (t_next - t) times the velocity, whatever the step size")
def _(fn):
    x, v = _state(1)
    for t, t_next in ((1.0, 0.9), (0.9, 0.65), (0.3, 0.0)):
        moved = float((expect_tensor_like(fn(x, v, t, t_next), x, "euler_step's result") - x).norm() / v.norm())
        expect(abs(moved - abs(t_next - t)) < 1e-4,
               f"from t = {t} to t_next = {t_next} the step moved {moved:.3f} times the velocity: the step size is "
               "t_next - t, from the two times given, not a fixed size")


@euler_ex.test("runs from noise (t = 1) to the data (t = 0): the exact velocity lands on the image")
def _(fn):
    x0, eps = _state(2, (3, 1, 6, 6))
    x = eps  # x_1: pure noise
    for t, t_next in ((1.0, 0.6), (0.6, 0.25), (0.25, 0.0)):
        x = expect_tensor_like(fn(x, (x - x0) / t, t, t_next), x0, "euler_step's result")  # (x_t - x0) / t = eps - x0
    expect(close(x, x0), "stepping from noise at t = 1 to t = 0 with the exact velocity eps - x0 of a straight path "
                          "did not reach the image: x_next = x + (t_next - t) v_hat; t_next < t, so mind the sign "
                          "(the step goes against v_hat)")


# ---------------------------------------------------------------- l11_heun_step
heun_ex = exercise("l11_heun_step", heun_step,
                   "heun_step(v, x, t float, t_next float) -> x_next like x: v1 = v(x, t), x_e = x + (t_next - t) v1, "
                   "v2 = v(x_e, t_next), x_next = x + (t_next - t) (v1 + v2) / 2 (Heun's method, two calls of v)",
                   forbidden=("course_lib.flow.heun_step",))


class _Field:
    """v(x, t) = sin(x) (1 + t), a nonlinear field; remembers each (x, t) it was called at."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, t):
        self.calls.append((x.detach().clone(), float(t)))
        return torch.sin(x) * (1 + t)


def _linear(x, t):
    """v(x, t) = (1 + t) x: from t = 1 to 0 its exact solution is x(0) = x(1) exp(-1.5)."""
    return (1 + t) * x


class _Gaussian:
    """The exact velocity field when the data is N(c, s^2) per pixel: E[eps - x0 | x_t = x]."""

    def __init__(self, c: float, s: float):
        self.c, self.s = c, s

    def __call__(self, x, t):
        c, s = self.c, self.s
        return -c + (x - (1 - t) * c) * (t - (1 - t) * s ** 2) / ((1 - t) ** 2 * s ** 2 + t ** 2)


def _solve(fn, field, x, steps: int):
    for t, t_next in zip(time_grid(steps)[:-1], time_grid(steps)[1:]):
        x = expect_tensor_like(fn(field, x, t, t_next), x, "heun_step's result")
    return x


@heun_ex.test("returns x_next with the shape of x")
def _(fn):
    x, _ = _state()
    expect_tensor_like(fn(_Field(), x, 0.6, 0.5), x, "heun_step's result")


@heun_ex.test("calls v twice: at (x, t), then at the Euler predictor at t_next")
def _(fn):
    x, _ = _state(3)
    field = _Field()
    fn(field, x, 0.8, 0.55)
    n = len(field.calls)
    expect(n == 2, f"v was called {n} time(s): Heun's method evaluates the velocity twice per step, at the start "
                   "(x, t) and at the end of an Euler step (x_e, t_next)")
    (x1, t1), (x2, t2) = field.calls
    expect(close(x1, x) and abs(t1 - 0.8) < 1e-6, "the first slope must be v(x, t), at the current point and time")
    expect(abs(t2 - 0.55) < 1e-6, "the second slope is taken at t_next, the end of the step, not at t")
    expect(close(x2, x + (0.55 - 0.8) * torch.sin(x) * 1.8),
           "the second slope is taken at the Euler predictor x_e = x + (t_next - t) v(x, t), not at x")


@heun_ex.test("averages the slopes at both ends: matches Heun's step on a nonlinear field")
def _(fn):
    x, _ = _state(4)
    for t, t_next in ((1.0, 0.9), (0.5, 0.2)):
        out = expect_tensor_like(fn(_Field(), x, t, t_next), x, "heun_step's result")
        expect(close(out, heun_step(_Field(), x, t, t_next)),
               f"from t = {t} to t_next = {t_next} the step is not x + (t_next - t) (v1 + v2) / 2: move with the "
               "average of the two slopes (half their sum), not their sum and not the predictor's slope alone")


@heun_ex.test("is second order: halving the step cuts the error about 4 times (Euler's: 2 times)")
def _(fn):
    x1 = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    exact = x1 * math.exp(-1.5)
    err4, err8 = ((_solve(fn, _linear, x1, n) - exact).abs().max() for n in (4, 8))
    ratio = float(err4 / err8.clamp_min(1e-300))
    expect(ratio > 3, f"on dx/dt = (1 + t) x, 8 steps instead of 4 cut the error {ratio:.1f} times: a second-order "
                      "method cuts it about 4 times; average the slopes at x and at the Euler predictor")


@heun_ex.test("carries N(0, I) at t = 1 to Gaussian data at t = 0 in 10 steps")
def _(fn):
    c, s = 0.5, 0.3
    x1 = torch.randn(1000, 1, 2, 2)
    x1 = (x1 - x1.mean()) / x1.std()
    x0 = _solve(fn, _Gaussian(c, s), x1, 10)
    expect(abs(float(x0.mean()) - c) < 0.02 and abs(float(x0.std()) / s - 1) < 0.05,
           "10 steps with the exact velocity field of Gaussian data did not reproduce the data's mean and standard "
           "deviation: x_next = x + (t_next - t) (v(x, t) + v(x_e, t_next)) / 2")
