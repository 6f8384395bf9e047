"""Flow matching on MNIST (lesson 11): lesson 10's U-Net regressing the velocity -> checkpoints/flow_mnist[_cfg].pt.

Unconditional: `python -m course_lib.train flow`. Class-conditional for classifier-free guidance (labels dropped
to the null label with probability p_uncond, as in lesson 10): `python -m course_lib.train flow --conditional`;
`--init CHECKPOINT` starts from another model's weights (a class embedding it lacks starts at zero).

Everything but the objective and the default time budget (68 minutes here, 70 in lesson 10) is lesson 10's recipe
(recipes/ddpm.py: the same U-Net, batch, AdamW with warm-up and a cosine decay over the time budget `--minutes`,
clipping, EMA, bfloat16 autocast on a CPU (`--cpu-bf16`, on by default), interim saves and `--resume`). On the
course's CPU, which multiplies bfloat16 in hardware, `flow_mnist` took 11,653 steps in 68 minutes and
`flow_mnist_cfg`, in float32, 9,941 in 70 (each checkpoint's metadata has its steps); on a CPU that emulates
bfloat16, `--no-cpu-bf16` is faster.
The objective is the conditional flow-matching loss on the straight path x_t = (1 - t) x_0 + t eps
(course_lib/flow.py; Lipman et al. 2023, Eq. 9 with their optimal-transport path (Eq. 22-23) at sigma_min = 0, time
reversed; Liu et al. 2023), with the training times drawn from Esser et al. 2024's logit-normal density,
t = sigmoid(u), u ~ N(0, 1) (their Sec. 3.1: the velocity is hardest to predict in the middle of the path, so train
there more often; flow.training_times); `--time-sampling uniform` draws t ~ U[0, 1], Lipman et al.'s choice.

The shipped models were trained by tools/cpu_flow.sh on the course's 2-core CPU, from scratch: `flow_mnist` with
the defaults, its weaker twin for autoguidance `flow_mnist_guide` (Karras et al. 2024) with `--channels 8 --minutes
7 --no-cpu-bf16`, and `flow_mnist_cfg` with `--conditional --minutes 70 --time-sampling uniform --no-cpu-bf16`
(their metadata has the settings, steps, times and load averages; the pair `flow_mnist` + guide is 75 minutes, the
issue's budget). Earlier `flow_mnist` runs, 55 minutes in float32 with uniform and then with logit-normal times, had
a clearly higher FD at every sampler measured (git history has those checkpoints and their generators rows), and an
earlier `flow_mnist_cfg`, 12 minutes with labels continued from `flow_mnist`, was far behind the shipped one without
guidance.
"""
from ..flow import TIME_SAMPLINGS, TIME_SCALE, VelocityField, flow_loss
from . import common, ddpm

FULL = {**ddpm.FULL, "minutes": 68.0, "time_sampling": "logit-normal"}
FAST = {**ddpm.FAST, "time_sampling": "logit-normal"}
for _settings in (FULL, FAST):
    del _settings["schedule"], _settings["T"]
HELP = {**ddpm.HELP, "time_sampling": "training times: uniform (Lipman et al.) or logit-normal (Esser et al. 2024)"}


def main(argv: list[str]) -> int:
    conditional = "--conditional" in argv
    args = common.parse(argv, "flow", __doc__, FULL, FAST, checkpoint="flow_mnist_cfg" if conditional else "flow_mnist",
                        help=HELP)
    if args.time_sampling not in TIME_SAMPLINGS:
        raise SystemExit(f"--time-sampling {args.time_sampling!r}: use one of {', '.join(TIME_SAMPLINGS)}")
    device = common.start(args, data_parallel=False)

    def loss_fn(model, x0, y):
        return flow_loss(VelocityField(model), x0, y=y, sampling=args.time_sampling)

    t_law = TIME_SAMPLINGS[args.time_sampling]
    ddpm.run(args, device, loss_fn, {"objective": f"flow matching, x_t = (1 - t) x_0 + t eps, t ~ {t_law}",
                                     "time_scale": TIME_SCALE})
    return common.finish()
