"""SRCNN x3 (lesson 07) -> checkpoints/srcnn_x3.pt.

The 9-5-5 SRCNN (course_lib.sr_models) with residual learning (VDSR), trained with Adam and MSE on Y patches
(course_lib.recipes.sr). `--paper` trains the paper's model (no residual) with the same recipe; `--f2 1` the
9-1-5 variant.
"""
from ..sr_models import SRCNN
from . import common, sr

MODEL = dict(scale=3, channels=1, f1=9, f2=5, f3=5, n1=64, n2=32, residual=True)
FULL = dict(steps=6000, batch_size=16, patch=48, lr=1e-3, epochs=3)
FAST = dict(steps=6, batch_size=4, patch=24, lr=1e-3, epochs=1)
HELP = dict(batch_size="global batch", patch="HR patch size (a multiple of 3)",
            lr="Adam peak learning rate (one-cycle)",
            epochs="the steps are split into this many epochs (validation + checkpoint after each)")


def options(parser):
    parser.add_argument("--f2", type=int, default=MODEL["f2"], help="5: 9-5-5 (default), 1: 9-1-5 (7x fewer MACs)")
    parser.add_argument("--paper", action="store_true", help="the paper's model: no residual learning")


def main(argv: list[str]) -> int:
    args = common.parse(argv, "srcnn", __doc__, FULL, FAST, checkpoint="srcnn_x3", help=HELP, extra=options)
    device = common.start(args)
    model_config = {**MODEL, "f2": args.f2, **({"residual": False} if args.paper else {})}
    sr.run(SRCNN(**model_config), model_config, args, device)
    return common.finish()
