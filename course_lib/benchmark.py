"""Measured numbers, printed as tables: `python -m course_lib.benchmark [SUITE ...]` (`make benchmark`).

Every suite is a module in course_lib/benchmarks/ with `main(argv)`; without arguments all of them run.
Quality and speed are measured here, never asserted in timed tests.
"""
import sys

from . import recipes

PACKAGE = "course_lib.benchmarks"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    suites = recipes.find(PACKAGE)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nSuites:\n" +
              "\n".join(f"  {name:<11} {recipes.describe(PACKAGE, name)}" for name in suites))
        return 0
    for name in argv or suites:
        if name not in suites:
            print(f"unknown suite {name!r}; choose from {', '.join(suites)}", file=sys.stderr)
            return 2
    status = 0
    for name in argv or suites:
        print(f"== {name}: {recipes.describe(PACKAGE, name)}")
        status = recipes.load(PACKAGE, name).main([]) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
