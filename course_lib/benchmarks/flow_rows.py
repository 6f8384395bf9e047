"""Lesson 11's rows of the generators benchmark (course_lib.benchmarks.generators): the flow-matching models.

`flow_mnist` integrated with Euler (NFE = steps) and Heun (NFE = 2 x steps - 1, the last step an Euler step, so Heun
3, 5 and 10 steps stand beside Euler 5, 10 and 20), and sampled stochastically with lesson 10's DDIM step read on the
straight path with eta = 1 (course_lib.flow.ddim_step; NFE = steps); the class-conditional `flow_mnist_cfg` asked
for every digit equally often at several guidance weights w with Euler (NFE doubled when w != 0), and unguided with
more Euler steps, with Heun and with DDIM eta 1; and `flow_mnist` autoguided by the smaller, shorter-trained
`flow_mnist_guide` (Karras et al. 2024; course_lib.flow.guided_velocity) at weights w with Euler and Heun (NFE
doubled: one evaluation of each network per evaluation of the field; the training time is both models'), on every
step or only on those that start at t in (LO, HI] (`--flow-ag-interval`; Kynkaanniemi et al. 2024's guidance
interval; NFE counts the guide's evaluations on those steps).
A group whose checkpoint is missing is skipped with a note.
"""
import torch

from .. import checkpoint, flow

FLOW, FLOW_GUIDED, FLOW_GUIDE = "flow_mnist", "flow_mnist_cfg", "flow_mnist_guide"  # --flow, --flow-cfg, --flow-guide


TRAIN_OPTIONS = {"flow": "",  # how each group's missing model is trained (tools/cpu_flow.sh)
                 "flowcfg": " --conditional --minutes 70 --time-sampling uniform --no-cpu-bf16",
                 "flowag": f" --channels 8 --minutes 7 --no-cpu-bf16 --out course_lib/checkpoints/{FLOW_GUIDE}.pt"}


def add_arguments(p) -> None:
    p.add_argument("--flow", default=FLOW, help="the flow-matching checkpoint (a shipped name or a path)")
    p.add_argument("--flow-cfg", default=FLOW_GUIDED, help="the class-conditional flow-matching checkpoint")
    p.add_argument("--flow-euler-steps", type=int, nargs="*", default=[5, 10, 20, 50], help="Euler rows (NFE = steps)")
    p.add_argument("--flow-heun-steps", type=int, nargs="*", default=[3, 5, 10], help="Heun rows (NFE = 2 x steps - 1)")
    p.add_argument("--flow-eta-steps", type=int, nargs="*", default=[10, 20],
                   help="stochastic rows: DDIM on the straight path, eta = 1 (NFE = steps)")
    p.add_argument("--flow-guidance", type=float, nargs="*", default=[0.0, 0.5, 1.0, 2.0], help="flow CFG weights w")
    p.add_argument("--flow-guidance-steps", type=int, default=10, help="Euler steps of the guided flow rows")
    p.add_argument("--flow-cfg-euler-steps", type=int, nargs="*", default=[20], help="its further unguided Euler rows")
    p.add_argument("--flow-cfg-heun-steps", type=int, nargs="*", default=[10], help="its unguided Heun rows")
    p.add_argument("--flow-cfg-eta-steps", type=int, nargs="*", default=[10, 20], help="its unguided DDIM eta 1 rows")
    p.add_argument("--flow-guide", default=FLOW_GUIDE, help="the weaker flow model that autoguides --flow")
    p.add_argument("--flow-autoguidance", type=float, nargs="*", default=[1.0], help="autoguidance weights w")
    p.add_argument("--flow-ag-euler-steps", type=int, nargs="*", default=[10], help="autoguided Euler rows")
    p.add_argument("--flow-ag-heun-steps", type=int, nargs="*", default=[3, 5], help="autoguided Heun rows")
    p.add_argument("--flow-ag-eta-steps", type=int, nargs="*", default=[], help="autoguided DDIM eta 1 rows")
    p.add_argument("--flow-ag-interval", type=float, nargs=2, default=[0.0, 1.0], metavar=("LO", "HI"),
                   help="autoguidance only on the steps that start at t in (LO, HI] (Kynkaanniemi et al. 2024)")


def unguided(args, prefix: str) -> list:
    """(method, steps, NFE, row name) of the unguided samplers `args` asks for under a group's options `prefix`."""
    opt = lambda what: getattr(args, f"{prefix}_{what}_steps")  # noqa: E731
    return ([("euler", k, k, f"Euler {k}") for k in opt("euler")]
            + [("heun", k, flow.heun_evaluations(k), f"Heun {k} steps") for k in opt("heun")]
            + [("ddim", k, k, f"DDIM {k}, eta 1") for k in opt("eta")])


def samplers(args, device, seconds) -> list:
    """(row name, NFE, training seconds, fn(count, generator)) of the flow-matching groups asked for; `seconds(meta)`
    is a checkpoint's training time."""
    out = []
    for group, name in (("flow", args.flow), ("flowcfg", args.flow_cfg), ("flowag", args.flow)):
        if group not in args.only:
            continue
        needed = [name] + [args.flow_guide] * (group == "flowag")
        if missing := [c for c in needed if not checkpoint.resolve(c).exists()]:
            print(f"{missing[0]} missing: skipping the {group} rows (`python -m course_lib.train flow"
                  f"{TRAIN_OPTIONS[group if missing[0] != name else 'flow']}`)")
            continue
        net, meta = checkpoint.load_model(name, device)
        v, s, steps = flow.VelocityField(net), seconds(meta["metrics"]), args.flow_guidance_steps

        def fn(m, k, y=None, w=0.0, v=v, guide=None, interval=(0.0, 1.0)):
            return lambda c, g: flow.sample(v, c, k, m, y=None if y is None else y(c), w=w, generator=g,
                                            eta=1.0 if m == "ddim" else 0.0, guide=guide, interval=interval)
        if group == "flow":
            out += [(f"flow matching, {label}", nfe, s, fn(m, k)) for m, k, nfe, label in unguided(args, "flow")]
            continue
        if group == "flowag":
            weak, weak_meta = checkpoint.load_model(args.flow_guide, device)
            guide, s = flow.VelocityField(weak), s + seconds(weak_meta["metrics"])
            iv = tuple(args.flow_ag_interval)
            where = "" if iv == (0.0, 1.0) else f" for t in ({iv[0]:g}, {iv[1]:g}]"
            out += [(f"flow matching + autoguidance w={w:g}{where}, {label}", nfe + flow.guided_evaluations(k, m, iv),
                     s, fn(m, k, w=w, guide=guide, interval=iv))
                    for w in args.flow_autoguidance for m, k, nfe, label in unguided(args, "flow_ag")]
            continue
        digits = lambda c: torch.arange(c, device=device) % 10  # noqa: E731  every digit equally often
        out += [(f"flow CFG w={w:g}, Euler {steps}", steps * (1 + (w != 0)), s, fn("euler", steps, digits, w))
                for w in args.flow_guidance]
        out += [(f"flow CFG w=0, {label}", nfe, s, fn(m, k, digits)) for m, k, nfe, label in unguided(args, "flow_cfg")]
    return out
