"""Reproduce a shipped checkpoint: `python -m course_lib.train RECIPE [options]` (`RECIPE --help` for its options).

Every recipe is a module in course_lib/recipes/ with `main(argv)`; it trains in full mode by default
(COURSE_FAST=1 or --fast: a quick smoke run written to a temp file) and writes course_lib/checkpoints/<name>.pt.
"""
import sys

from . import recipes

PACKAGE = "course_lib.recipes"


def usage() -> str:
    lines = [__doc__.strip(), "", "Recipes:"]
    lines += [f"  {name:<11} {recipes.describe(PACKAGE, name)}" for name in recipes.find(PACKAGE)]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] not in recipes.find(PACKAGE):
        print(f"unknown recipe {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return recipes.load(PACKAGE, argv[0]).main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
