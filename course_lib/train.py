"""Reproduce a shipped checkpoint: `python -m course_lib.train RECIPE [options]`.

Each recipe lives beside its model (course_lib/<module>.py, function `main(argv)`), trains in full
mode by default (COURSE_FAST=1 for a quick smoke run) and writes course_lib/checkpoints/<name>.pt.
"""
import importlib
import sys

RECIPES = {
    "classifier": ("course_lib.classifier", "MNIST CNN classifier (lesson 02) -> checkpoints/mnist_cnn.pt"),
    "dcgan": ("course_lib.dcgan", "DCGAN on MNIST (lesson 04) -> checkpoints/dcgan_mnist.pt"),
    "srcnn": ("course_lib.sr_models", "SRCNN x3 (lesson 07) -> checkpoints/srcnn_x3.pt"),
    "espcn": ("course_lib.sr_models", "ESPCN x3 (lesson 07) -> checkpoints/espcn_x3.pt"),
    "srresnet": ("course_lib.srgan", "SRResNet x4 (lesson 08) -> checkpoints/srresnet_x4.pt"),
    "srgan": ("course_lib.srgan", "SRGAN x4 (lesson 08) -> checkpoints/srgan_x4.pt"),
}


def usage() -> str:
    lines = [__doc__.strip(), "", "Recipes:"]
    lines += [f"  {name:<11} {what}" for name, (_, what) in RECIPES.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] not in RECIPES:
        print(f"unknown recipe {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(RECIPES[argv[0]][0])
    return module.train_main([argv[0], *argv[1:]]) or 0


if __name__ == "__main__":
    sys.exit(main())
