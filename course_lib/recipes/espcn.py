"""ESPCN x3 (lesson 07) -> checkpoints/espcn_x3.pt.

ESPCN (course_lib.sr_models) with ReLU instead of tanh and residual learning (VDSR), trained with Adam and MSE
on Y patches (course_lib.recipes.sr). `--paper` trains the paper's model (tanh, no residual) with the same recipe.
"""
from ..sr_models import ESPCN
from . import common, sr
from .srcnn import HELP

MODEL = dict(scale=3, channels=1, n1=64, n2=32, activation="relu", residual=True)
FULL = dict(steps=6000, batch_size=16, patch=72, lr=1e-3, epochs=3)
FAST = dict(steps=6, batch_size=4, patch=24, lr=1e-3, epochs=1)


def options(parser):
    parser.add_argument("--paper", action="store_true", help="the paper's model: no residual learning, tanh")


def main(argv: list[str]) -> int:
    args = common.parse(argv, "espcn", __doc__, FULL, FAST, checkpoint="espcn_x3", help=HELP, extra=options)
    device = common.start(args)
    model_config = {**MODEL, **({"residual": False, "activation": "tanh"} if args.paper else {})}
    sr.run(ESPCN(**model_config), model_config, args, device)
    return common.finish()
