"""Flow matching on MNIST (lesson 11): lesson 10's U-Net regressing the velocity -> checkpoints/flow_mnist[_cfg].pt.

Unconditional: `python -m course_lib.train flow`. Class-conditional for classifier-free guidance (labels dropped
to the null label with probability p_uncond, as in lesson 10): `python -m course_lib.train flow --conditional`;
`--init CHECKPOINT` starts from another model's weights (a class embedding it lacks starts at zero).

Everything but the objective and the default time budget (55 minutes here, 70 in lesson 10) is lesson 10's recipe (recipes/ddpm.py: the same U-Net, batch, AdamW with warm-up and
a cosine decay over the time budget `--minutes`, clipping, EMA, interim saves and `--resume`), so lesson 11
compares the objective and the sampler, not the training hygiene. The objective is the conditional flow-matching
loss on the straight path x_t = (1 - t) x_0 + t eps with t ~ U[0, 1] (course_lib/flow.py; Lipman et al. 2023,
Eq. 9 with their optimal-transport path (Eq. 22-23) at sigma_min = 0, time reversed; Liu et al. 2023).

The shipped models were trained by tools/cpu_flow.sh on the course's 2-core CPU: `flow_mnist` with the defaults
and `flow_mnist_cfg` with `--conditional --minutes 70`, from scratch (their metadata has the settings, times and
load averages). An earlier `flow_mnist_cfg`, 12 minutes with labels continued from `flow_mnist`, was far behind it
without guidance in the generators benchmark (git history has that checkpoint and its rows).
"""
from ..flow import TIME_SCALE, VelocityField, flow_loss
from . import common, ddpm

FULL = {**ddpm.FULL, "minutes": 55.0}
FAST = dict(ddpm.FAST)
for _settings in (FULL, FAST):
    del _settings["schedule"], _settings["T"]
HELP = ddpm.HELP


def main(argv: list[str]) -> int:
    conditional = "--conditional" in argv
    args = common.parse(argv, "flow", __doc__, FULL, FAST, checkpoint="flow_mnist_cfg" if conditional else "flow_mnist",
                        help=HELP)
    device = common.start(args)

    def loss_fn(model, x0, y):
        return flow_loss(VelocityField(model), x0, y=y)

    ddpm.run(args, device, loss_fn, {"objective": "flow matching, x_t = (1 - t) x_0 + t eps, t ~ U[0, 1]",
                                     "time_scale": TIME_SCALE})
    return common.finish()
