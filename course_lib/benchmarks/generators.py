"""Generators side by side (lesson 10): DCGAN, DCGAN + rejection sampling, diffusion (DDPM/DDIM) on one judge.

Every row is measured with the lesson-02 classifier (course_lib.gan_metrics): classifier IS, Fréchet distance to
the MNIST test features, per-digit coverage (min / max share), the in-between share (max class probability < 0.9),
and the cost: training time (from the checkpoint's metadata), network evaluations per sample (NFE) and images per
second while sampling on this machine. FD falls with the sample count (lesson 05), so besides each row's own FD
the table gives FD on the same first `n_common` samples of every row. Sample counts are printed per row: on a
2-core CPU, 1000-step ancestral sampling of 10,000 digits takes hours, so the diffusion rows use fewer (options).
`--record` writes the table into the diffusion checkpoint's metadata ("benchmark"), where lesson 10 reads it.
"""
import argparse
import time

import torch

from .. import checkpoint, data
from ..dcgan import Discriminator  # noqa: F401  (the DRS discriminator's class, for load_model)
from ..diffusion import make_schedule, sample_ddim, sample_ddpm
from ..gan_metrics import class_coverage, classify, frechet_distance, inception_score
from ..rejection import rejection_sample

DIFFUSION = "ddpm_mnist_cfg"  # one class-conditional model trained with label dropout: y = None samples unconditionally
IN_BETWEEN = 0.9


def scores(clf, images01, test_feats, n_common: int) -> dict:
    feats, probs = classify(clf, images01)
    cov = class_coverage(probs)
    return {"n": len(images01), "IS": inception_score(probs), "FD": frechet_distance(feats, test_feats),
            "IS_common": inception_score(probs[:n_common]), "FD_common": frechet_distance(feats[:n_common], test_feats),
            "min_class": float(cov.min()), "max_class": float(cov.max()),
            "in_between": float((probs.max(1).values < IN_BETWEEN).float().mean())}


@torch.no_grad()
def timed(fn, n: int, batch_size: int):
    """Images in [0, 1] from fn(count, generator) in batches, and images per second."""
    g, chunks, start = torch.Generator().manual_seed(0), [], time.perf_counter()
    for i in range(0, n, batch_size):
        chunks.append(fn(min(batch_size, n - i), g))
    seconds = time.perf_counter() - start
    return (torch.cat(chunks) + 1) / 2, n / seconds


def rows(args) -> list[dict]:
    clf, _ = checkpoint.load_model("mnist_cnn")
    test_feats, _ = classify(clf, data.mnist_tensors(train=False, n=10_000)[0])
    n_common = min(args.n, args.n_ddim, args.n_ddpm)
    out = [{"name": "real train digits (floor)", "nfe": None, "train_s": None, "img_s": None,
            **scores(clf, data.mnist_tensors(train=True, n=args.n)[0], test_feats, n_common)}]
    G, g_meta = checkpoint.load_model("dcgan_mnist")
    images, rate = timed(lambda k, g: G(torch.randn(k, G.nz, generator=g)), args.n, 1000)
    out.append({"name": "DCGAN (shipped)", "nfe": 1, "train_s": g_meta["metrics"].get("train_seconds"),
                "img_s": rate, **scores(clf, images, test_feats, n_common)})
    try:
        D, d_meta = checkpoint.load_model("dcgan_mnist_drs_d")
        m = d_meta["metrics"]
        images, rate = timed(lambda k, g: rejection_sample(G, D, k, m["logit_max"], m["gamma"], seed=int(torch.randint(2**31, (1,), generator=g)))[0],
                             args.n, 1000)
        out.append({"name": f"DCGAN + DRS (accept {m['acceptance']:.0%})", "nfe": 1 / m["acceptance"],
                    "train_s": (g_meta["metrics"].get("train_seconds") or 0) + m["train_seconds"], "img_s": rate,
                    **scores(clf, images, test_feats, n_common)})
    except checkpoint.CheckpointError:
        print("dcgan_mnist_drs_d missing: `python -m course_lib.train drs`")
    model, meta = checkpoint.load_model(DIFFUSION)
    betas, train_s = make_schedule(meta["metrics"]["schedule"], meta["metrics"]["T"]), meta["metrics"]["train_seconds"]
    samplers = [(f"DDIM {k}", k, args.n_ddim, lambda c, g, k=k: sample_ddim(model, c, betas, k, generator=g))
                for k in args.ddim_steps]
    samplers.append((f"DDPM {len(betas)}", len(betas), args.n_ddpm,
                     lambda c, g: sample_ddpm(model, c, betas, generator=g)))
    for name, nfe, n, fn in samplers:
        images, rate = timed(fn, n, args.batch_size)
        out.append({"name": f"diffusion, {name}", "nfe": nfe, "train_s": train_s, "img_s": rate,
                    **scores(clf, images, test_feats, n_common)})
    if args.guidance:
        for w in args.guidance:
            fn = (lambda c, g, w=w: sample_ddim(model, c, betas, args.guidance_steps, y=torch.arange(c) % 10, w=w,
                                                generator=g))  # every digit equally often
            images, rate = timed(fn, args.n_ddim, args.batch_size)
            out.append({"name": f"CFG w={w}, DDIM {args.guidance_steps}", "nfe": 2 * args.guidance_steps,
                        "train_s": train_s, "img_s": rate, **scores(clf, images, test_feats, n_common)})
    return out


def table(rows: list[dict], n_common: int) -> str:
    lines = [f"{'':<34}{'n':>6}{'IS':>7}{'FD':>8}{f'IS@{n_common}':>8}{f'FD@{n_common}':>9}{'digits %':>13}{'in-betw.':>9}"
             f"{'train s':>9}{'NFE':>7}{'img/s':>8}"]
    fmt = (lambda v, spec: format(v, spec) if v is not None else "-")
    for r in rows:
        lines.append(f"{r['name']:<34}{r['n']:>6}{r['IS']:>7.2f}{r['FD']:>8.2f}{r['IS_common']:>8.2f}{r['FD_common']:>9.2f}"
                     f"{100 * r['min_class']:>6.1f}-{100 * r['max_class']:<5.1f}{100 * r['in_between']:>8.1f}%"
                     f"{fmt(r['train_s'], '>9.0f'):>9}{fmt(r['nfe'], '>7.1f'):>7}{fmt(r['img_s'], '>8.3g'):>8}")
    return "\n".join(lines)


def parse(argv=None) -> argparse.Namespace:
    """The defaults are the recorded run's settings (about 25 minutes on 2 busy CPU threads)."""
    p = argparse.ArgumentParser(prog="python -m course_lib.benchmark generators")
    p.add_argument("--n", type=int, default=10_000, help="samples for the real and DCGAN rows")
    p.add_argument("--n-ddim", type=int, default=200, help="samples per DDIM row")
    p.add_argument("--n-ddpm", type=int, default=20, help="samples for the 1000-step ancestral row")
    p.add_argument("--ddim-steps", type=int, nargs="+", default=[50, 20, 10])
    p.add_argument("--guidance", type=float, nargs="*", default=[2.0], help="CFG weights w (class-conditional rows)")
    p.add_argument("--guidance-steps", type=int, default=20, help="DDIM steps of the guided rows")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--record", action="store_true", help=f"store the table in {DIFFUSION}.pt's metadata")
    return p.parse_args(argv or [])


def measure(argv=None) -> dict:
    """Every row (see the module docstring) and the checkpoints they measured."""
    args, start = parse(argv), time.perf_counter()
    result = rows(args)
    names = ["mnist_cnn", "dcgan_mnist", "dcgan_mnist_drs_d", DIFFUSION]
    return {"checkpoints": [c for c in names if (checkpoint.CHECKPOINT_DIR / f"{c}.pt").exists()], "rows": result,
            "n_common": min(args.n, args.n_ddim, args.n_ddpm), "threads": torch.get_num_threads(),
            "seconds": time.perf_counter() - start, "argv": [a for a in (argv or []) if a != "--record"]}


def show(results: dict) -> None:
    print(table(results["rows"], results["n_common"]))
    print(f"({results['threads']} CPU threads; {results['seconds']:.0f} s) targets: diffusion IS >= 9.4, "
          "FD <= half the DCGAN's, every digit 8-12 %, in-between <= 5 %, DDIM <= 50 steps within 0.2 IS of DDPM; "
          "DCGAN or its remedy IS >= 9.0 with FD no worse than the shipped one")


def main(argv=None) -> int:
    results = measure(argv)
    show(results)
    if parse(argv).record:
        model, meta = checkpoint.load_model(DIFFUSION)
        path = checkpoint.resolve(DIFFUSION)
        checkpoint.save_checkpoint(path, model, meta["config"], {**meta["metrics"], "benchmark": results})
        print(f"recorded in {path}")
    return 0
