"""What every training recipe shares: one command line, one fast/full switch, one output path, one validation.

A recipe declares its settings twice, `FULL` (the shipped checkpoint) and `FAST` (a smoke run of the same code),
and its main reads them through `parse`:

    FULL = dict(epochs=6, batch_size=128, lr=3e-3)
    FAST = dict(epochs=1, batch_size=64, lr=1e-2)

    def main(argv):
        args = common.parse(argv, "classifier", __doc__, FULL, FAST, checkpoint="mnist_cnn")
        device = common.start(args)                    # threads, torch.distributed, device, seed
        ... train with args.epochs, args.batch_size ...; save to args.out with args.settings as "recipe"
        return common.finish()

Fast or full: COURSE_FAST=1 (course_lib.env) or --fast / --full. Every key of the settings is an option
(`batch_size` -> `--batch-size`) whose default is the FULL or FAST value. Output: `--out`, else
course_lib/checkpoints/<checkpoint>.pt in full mode and <tmp>/<checkpoint>_fast.pt in fast mode (a smoke
run never overwrites a shipped checkpoint). SR recipes validate on `validation_photos()` with
`sr_eval.validate` (Y-PSNR/SSIM, sharpness, bicubic baseline).
"""
import argparse
import os
import tempfile
from pathlib import Path

import torch

from .. import data, distributed, env
from ..device import get_device, seed_everything
from ..sr_eval import center_crop

FAST_VALIDATION_CROP = 96  # px, central crop of each validation photo in fast mode (a multiple of 2, 3 and 4)


def output_path(checkpoint: str, fast: bool, out: Path | None = None) -> Path:
    """Where a recipe writes: `out` if given, else the shipped checkpoint (full) or a temp file (fast)."""
    if out is not None:
        return Path(out)
    return Path(tempfile.gettempdir()) / f"{checkpoint}_fast.pt" if fast else env.CHECKPOINT_DIR / f"{checkpoint}.pt"


def _option(parser, key: str, full, fast, default, help: str | None) -> None:
    example = full if full is not None else fast
    flag = "--" + key.replace("_", "-")
    if isinstance(example, bool):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help)
    else:
        kind = type(example) if example is not None else int
        parser.add_argument(flag, type=kind, default=default, help=help or f"(full {full}, fast {fast})")


def parse(argv: list[str], name: str, doc: str, full: dict, fast: dict, *, checkpoint: str,
          help: dict | None = None, extra=None) -> argparse.Namespace:
    """The recipe's arguments: args.fast, one attribute per settings key, args.seed, args.threads, args.out
    (resolved with `output_path`), args.settings ({key: value} of the settings, for the checkpoint's metadata).

    help: {key: help text}; extra(parser): adds the recipe's own options.
    """
    switch = argparse.ArgumentParser(add_help=False)
    switch.add_argument("--fast", action="store_true", default=env.FAST,
                        help="quick smoke run (default under COURSE_FAST=1); writes to a temp file unless --out")
    switch.add_argument("--full", dest="fast", action="store_false", help="full run, even under COURSE_FAST=1")
    fast_mode = switch.parse_known_args(argv)[0].fast
    lines = (doc or "").strip().splitlines()
    parser = argparse.ArgumentParser(prog=f"python -m course_lib.train {name}", parents=[switch],
                                     description=" ".join(lines[:1]) + f" Defaults reproduce "
                                     f"checkpoints/{checkpoint}.pt (fast mode: a few steps).")
    for key in full:
        _option(parser, key, full[key], fast[key], (fast if fast_mode else full)[key], (help or {}).get(key))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: torch's)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"checkpoint path (default checkpoints/{checkpoint}.pt; a temp file in fast mode)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    args.out = output_path(checkpoint, args.fast, args.out)
    args.settings = {key: getattr(args, key) for key in full}
    return args


def start(args: argparse.Namespace, data_parallel: bool = True) -> torch.device:
    """Set the CPU threads, join torch.distributed under torchrun, pick the device, seed everything (the same
    initial weights in every process); returns the device. A recipe that trains in one process (data_parallel=False:
    no DistributedDataParallel) stops under a multi-process torchrun instead of training copies side by side."""
    if not data_parallel and distributed.is_distributed():
        raise SystemExit(f"this recipe trains in one process (no DistributedDataParallel), but torchrun started "
                         f"{os.environ['WORLD_SIZE']} processes: run it with `python -m course_lib.train ...`; the "
                         f"classifier, dcgan, srcnn, espcn, srresnet and srgan recipes run under torchrun")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = distributed.init(get_device())
    seed_everything(args.seed)
    return device


def finish() -> int:
    """Leave torch.distributed (if joined); the recipe's exit status."""
    distributed.cleanup()
    return 0


def validation_photos(fast: bool) -> dict:
    """The SR recipes' validation images: the bundled validation photos, central crops in fast mode."""
    return center_crop(data.photos("val"), FAST_VALIDATION_CROP if fast else None)
