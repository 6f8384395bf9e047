"""Measured numbers, printed as tables: `python -m course_lib.benchmark [SUITE ...]` (`make benchmark`).

Suites live beside the code they measure (function `benchmark_main(argv)` in each module).
Quality and speed are measured here, never asserted in timed tests.
"""
import importlib
import sys

SUITES = {
    "classifier": ("course_lib.classifier", "MNIST classifier test accuracy (shipped checkpoint)"),
    "gan": ("course_lib.gan_metrics", "DCGAN: classifier IS, Frechet distance, class coverage; loop throughput"),
    "sr": ("course_lib.sr_eval", "Super-resolution: Y-PSNR/SSIM of shipped models vs bicubic; time per megapixel"),
    "grading": ("course_lib.grade", "Grading 30 submissions of one lesson"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nSuites:\n" + "\n".join(f"  {k:<11} {v[1]}" for k, v in SUITES.items()))
        return 0
    names = argv or list(SUITES)
    for name in names:
        if name not in SUITES:
            print(f"unknown suite {name!r}; choose from {', '.join(SUITES)}", file=sys.stderr)
            return 2
        try:
            module = importlib.import_module(SUITES[name][0])
        except ModuleNotFoundError as err:
            print(f"== {name}: not available ({err})")
            continue
        print(f"== {name}: {SUITES[name][1]}")
        module.benchmark_main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
