"""Generators side by side (lesson 10): DCGAN, DCGAN + rejection sampling, diffusion samplers, on one judge.

Every row is measured with the lesson-02 classifier (course_lib.gan_metrics): classifier IS, Fréchet distance to
the 10,000 MNIST test digits' features, per-digit shares (min / max), the in-between share (max class probability
< 0.9), and the cost: training time (checkpoint metadata), network evaluations per sample (NFE) and images per
second while sampling on the machine that ran the benchmark (named in the results). FD falls with the sample count
(lesson 05), so besides each row's own FD the table gives FD on the first `n_common` samples of every row.

Rows: the real test digits (never seen by the judge; they are the FD reference, so no FD of their own) and real training
digits as the real-data reference; the DCGAN with and without rejection sampling; the unconditional diffusion model
`ddpm_mnist` with the course's samplers (DDIM 50, 20 and 10, deterministic and stochastic (eta = 1), DDPM 1000) and
diffusers' DPM-Solver++ at 10 and 20 evaluations (course_lib.schedulers); classifier-free guidance rows of
`ddpm_mnist_cfg` at several w (deterministic DDIM guided at every step or below t = 600, and stochastic DDIM); the
CPU-recipe model `ddpm_mnist_cpu` if present (DDIM, stochastic DDIM, and with `--cpu-dpm-steps` DPM-Solver++ rows); and
lesson 11's flow-matching models if present (`--flow`, `--flow-cfg`, `--flow-guide`; their rows:
course_lib.benchmarks.flow_rows). A group whose checkpoint is missing is skipped. Every row starts from noise seeded
with `--seed` (0; another seed adds "(noise seed S)" to the row names, so that --append keeps both and a row's spread
over noise can be read). `--record` (or `python -m course_lib.benchmark --record generators`) stores the table in
ddpm_mnist.pt's metadata, where lesson 10 reads it. The defaults measure every row on 10,000 samples, as the recorded
table's GPU rows were (about 2 minutes on one H200); rows measured on the CPU were added with `--append` (the table's
`appended` list keeps each run's arguments; `--drop NAME ...` removes rows that no new row replaces, as when a
checkpoint is retrained), and `--n 1000 --n-ddpm 100` gives a rougher table on a CPU.
"""
import argparse
import sys
import time

import torch

from .. import checkpoint, data
from ..dcgan import Discriminator  # noqa: F401  (the DRS discriminator's class, for load_model)
from ..device import device_name, get_device
from ..diffusion import ddim_timesteps, make_schedule, sample_ddim, sample_ddpm
from ..gan_metrics import class_coverage, classify, frechet_distance, inception_score
from ..rejection import rejection_sample
from .. import schedulers
from . import flow_rows

DIFFUSION, GUIDED, CPU_RECIPE = "ddpm_mnist", "ddpm_mnist_cfg", "ddpm_mnist_cpu"
GROUPS = ("real", "dcgan", "diffusion", "cfg", "cpu", "flow", "flowcfg", "flowag", "ddpm")
IN_BETWEEN = 0.9


def total_seconds(metrics: dict) -> float:
    """A checkpoint's training time, including the runs it started from (`init`), from its metadata."""
    return sum(r.get("train_seconds") or 0 for r in checkpoint.training_runs(metrics))


def scores(clf, images01, test_feats, n_common: int, fd: bool = True) -> dict:
    feats, probs = classify(clf, images01)
    cov = class_coverage(probs)
    return {"n": len(images01), "IS": inception_score(probs), "IS_common": inception_score(probs[:n_common]),
            "FD": frechet_distance(feats, test_feats) if fd else None,
            "FD_common": frechet_distance(feats[:n_common], test_feats) if fd else None,
            "min_class": float(cov.min()), "max_class": float(cov.max()),
            "in_between": float((probs.max(1).values < IN_BETWEEN).float().mean())}


@torch.no_grad()
def timed(fn, n: int, batch_size: int, device, seed: int = 0):
    """Images in [0, 1] (on the CPU) from fn(count, generator) in batches, and images per second."""
    g, chunks = torch.Generator(device=device).manual_seed(seed), []
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        chunks.append(fn(min(batch_size, n - i), g).float().cpu())
    seconds = time.perf_counter() - start
    return (torch.cat(chunks) + 1) / 2, n / seconds


def diffusion_samplers(model, betas, args, label: str) -> list:
    """(row name, NFE, n, fn(count, generator)) of one unconditional diffusion model."""
    rows = [(f"{label}, DDIM {k}", k, args.n_ddim, lambda c, g, k=k: sample_ddim(model, c, betas, k, generator=g))
            for k in args.ddim_steps]
    rows += [(f"{label}, DDIM {k}, eta 1", k, args.n_ddim,
              lambda c, g, k=k: sample_ddim(model, c, betas, k, eta=1.0, generator=g)) for k in args.eta_steps]
    rows += [(f"{label}, DPM-Solver++ {k} (diffusers)", k, args.n_ddim,
              lambda c, g, k=k: schedulers.sample(model, schedulers.make_scheduler("dpm", betas), c, k, generator=g))
             for k in args.dpm_steps]
    return rows


def dcgan_rows(clf, test_feats, args, device):
    """The shipped DCGAN, and with discriminator rejection sampling (lesson 05)."""
    n_common = args.n_common
    G, g_meta = checkpoint.load_model("dcgan_mnist", device)
    images, rate = timed(lambda k, g: G(torch.randn(k, G.nz, generator=g, device=device)), args.n, 1000, device,
                         args.seed)
    yield {"name": "DCGAN (shipped)", "nfe": 1, "train_s": g_meta["metrics"].get("train_seconds"), "img_s": rate,
           **scores(clf, images, test_feats, n_common)}
    try:
        D, d_meta = checkpoint.load_model("dcgan_mnist_drs_d", device)
        m = d_meta["metrics"]
        images, rate = timed(lambda k, g: rejection_sample(G, D, k, m["logit_max"], m["gamma"],
                                                           seed=int(torch.randint(2**31, (1,), generator=g,
                                                                                  device=device)))[0],
                             args.n, 1000, device, args.seed)
        yield {"name": f"DCGAN + DRS (accept {m['acceptance']:.0%})", "nfe": 1 / m["acceptance"],
               "train_s": (g_meta["metrics"].get("train_seconds") or 0) + m["train_seconds"], "img_s": rate,
               **scores(clf, images, test_feats, n_common)}
    except checkpoint.CheckpointError:
        print("dcgan_mnist_drs_d missing: `python -m course_lib.train drs`")


def rows(args):
    """Yield the rows one by one (see the module docstring), so a long run shows them as they come."""
    device = get_device()
    clf = checkpoint.load_model("mnist_cnn", device)[0]
    test_images = data.mnist_tensors(train=False, n=10_000)[0]
    test_feats, _ = classify(clf, test_images)
    n_common, only = args.n_common, set(args.only)
    if "real" in only:
        yield {"name": "real test digits (FD reference)", "nfe": None, "train_s": None, "img_s": None,
               **scores(clf, test_images, test_feats, n_common, fd=False)}
        yield {"name": "real training digits", "nfe": None, "train_s": None, "img_s": None,
               **scores(clf, data.mnist_tensors(train=True, n=args.n)[0], test_feats, n_common)}
    if "dcgan" in only:
        yield from dcgan_rows(clf, test_feats, args, device)
    model, meta = checkpoint.load_model(DIFFUSION, device)
    betas, train_s = make_schedule(meta["metrics"]["schedule"], meta["metrics"]["T"]), total_seconds(meta["metrics"])
    ddim_rate = None
    for name, nfe, n, fn in diffusion_samplers(model, betas, args, "diffusion") if "diffusion" in only else []:
        images, rate = timed(fn, n, args.batch_size, device, args.seed)
        ddim_rate = ddim_rate or rate * nfe  # network evaluations per second, from the first row
        yield {"name": name, "nfe": nfe, "train_s": train_s, "img_s": rate, **scores(clf, images, test_feats, n_common)}
    if "cfg" in only and checkpoint.CHECKPOINT_DIR.joinpath(f"{GUIDED}.pt").exists():
        cfg, cfg_meta = checkpoint.load_model(GUIDED, device)
        cfg_s = total_seconds(cfg_meta["metrics"])
        settings = ([(w, None, 0.0) for w in args.guidance]  # (w, guided only below this t, eta)
                    + [(w, args.guide_below, 0.0) for w in args.interval_guidance]
                    + [(w, None, 1.0) for w in args.eta_guidance])
        for w, below, eta in settings:  # every digit equally often
            fn = (lambda c, g, w=w, below=below, eta=eta: sample_ddim(
                cfg, c, betas, args.guidance_steps, w=w, generator=g, y=torch.arange(c, device=device) % 10,
                guide_below=below, eta=eta))
            images, rate = timed(fn, args.n_ddim, args.batch_size, device, args.seed)
            guided = sum(t < (below or len(betas)) for t in ddim_timesteps(len(betas), args.guidance_steps)) * (w != 0)
            yield {"name": f"CFG w={w:g}" + (f" at t<{below}" if below else "") + f", DDIM {args.guidance_steps}"
                           + (", eta 1" if eta else ""),
                   "nfe": args.guidance_steps + guided, "train_s": cfg_s, "img_s": rate,
                   **scores(clf, images, test_feats, n_common)}
    if "cpu" in only and cpu_ran(args) and checkpoint.CHECKPOINT_DIR.joinpath(f"{CPU_RECIPE}.pt").exists():
        small, small_meta = checkpoint.load_model(CPU_RECIPE, device)
        small_betas = make_schedule(small_meta["metrics"]["schedule"], small_meta["metrics"]["T"])
        steps = argparse.Namespace(n_ddim=args.n_ddim, ddim_steps=args.cpu_steps, eta_steps=args.cpu_eta_steps,
                                   dpm_steps=args.cpu_dpm_steps)
        for name, nfe, n, fn in diffusion_samplers(small, small_betas, steps, "CPU recipe"):
            images, rate = timed(fn, n, args.batch_size, device, args.seed)
            yield {"name": name, "nfe": nfe, "train_s": total_seconds(small_meta["metrics"]), "img_s": rate,
                   **scores(clf, images, test_feats, n_common)}
    for name, nfe, seconds, fn in flow_rows.samplers(args, device, total_seconds):
        images, rate = timed(fn, args.n_ddim, args.batch_size, device, args.seed)
        yield {"name": name, "nfe": nfe, "train_s": seconds, "img_s": rate, **scores(clf, images, test_feats, n_common)}
    if "ddpm" not in only:
        return
    T = len(betas)  # last: the slowest row, sized to the time left when --ddpm-seconds is set
    n = args.n_ddpm
    if args.ddpm_seconds and ddim_rate:
        n = max(args.n_common, min(n, int(ddim_rate * args.ddpm_seconds / T) // 1000 * 1000))
    images, rate = timed(lambda c, g: sample_ddpm(model, c, betas, generator=g), n, args.batch_size, device,
                         args.seed)
    yield {"name": f"diffusion, DDPM {T}", "nfe": T, "train_s": train_s, "img_s": rate,
           **scores(clf, images, test_feats, n_common)}


def table(rows: list[dict], n_common: int) -> str:
    width = max([40] + [len(r["name"]) + 1 for r in rows])  # the name column fits the longest name
    lines = [f"{'':<{width}}{'n':>6}{'IS':>7}{'FD':>8}{f'IS@{n_common}':>9}{f'FD@{n_common}':>9}{'digits %':>13}"
             f"{'in-betw.':>9}{'train s':>9}{'NFE':>7}{'img/s':>9}"]
    fmt = (lambda v, spec: format(v, spec) if v is not None else "-")
    for r in rows:
        lines.append(f"{r['name']:<{width}}{r['n']:>6}{r['IS']:>7.2f}{fmt(r['FD'], '>8.2f'):>8}{r['IS_common']:>9.2f}"
                     f"{fmt(r['FD_common'], '>9.2f'):>9}{100 * r['min_class']:>6.1f}-{100 * r['max_class']:<5.1f}"
                     f"{100 * r['in_between']:>8.1f}%{fmt(r['train_s'], '>9.0f'):>9}{fmt(r['nfe'], '>7.1f'):>7}"
                     f"{fmt(r['img_s'], '>9.3g'):>9}")
    return "\n".join(lines)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m course_lib.benchmark generators")
    p.add_argument("--n", type=int, default=10_000, help="samples for the real and DCGAN rows")
    p.add_argument("--n-ddim", type=int, default=10_000, help="samples per DDIM, DPM-Solver, CFG and flow row")
    p.add_argument("--n-ddpm", type=int, default=10_000, help="samples for the 1000-step ancestral row")
    p.add_argument("--ddpm-seconds", type=float, default=0, help="cap the DDPM row's samples to about this time")
    p.add_argument("--n-common", type=int, default=1_000, help="the sample count of the IS@n and FD@n columns")
    p.add_argument("--ddim-steps", type=int, nargs="*", default=[50, 20, 10], help="deterministic DDIM rows")
    p.add_argument("--eta-steps", type=int, nargs="*", default=[50], help="stochastic DDIM (eta = 1) rows")
    p.add_argument("--dpm-steps", type=int, nargs="*", default=[10, 20], help="DPM-Solver++ rows (diffusers)")
    p.add_argument("--guidance", type=float, nargs="*", default=[0.0, 0.5, 1.0, 2.0, 4.0], help="CFG weights w")
    p.add_argument("--guidance-steps", type=int, default=20, help="DDIM steps of the guided rows")
    p.add_argument("--interval-guidance", type=float, nargs="*", default=[1.0, 2.0, 4.0],
                   help="CFG weights applied only at steps t < --guide-below")
    p.add_argument("--guide-below", type=int, default=600)
    p.add_argument("--eta-guidance", type=float, nargs="*", default=[0.0, 0.5, 1.0],
                   help="CFG weights w of stochastic guided rows (DDIM with eta = 1)")
    p.add_argument("--cpu-steps", type=int, nargs="*", default=[50, 20], help="DDIM rows of the CPU-recipe model")
    p.add_argument("--cpu-eta-steps", type=int, nargs="*", default=[50], help="its stochastic DDIM rows (eta = 1)")
    p.add_argument("--cpu-dpm-steps", type=int, nargs="*", default=[], help="its DPM-Solver++ rows (diffusers)")
    flow_rows.add_arguments(p)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--seed", type=int, default=0, help="the noise's seed (another adds '(noise seed S)' to the rows)")
    p.add_argument("--only", nargs="+", default=list(GROUPS), choices=GROUPS, help="measure only these groups of rows")
    p.add_argument("--record", action="store_true", help=f"store the table in {DIFFUSION}.pt's metadata")
    p.add_argument("--append", action="store_true", help="with --record: add these rows to the recorded table "
                   "(replacing rows of the same name) instead of replacing it")
    p.add_argument("--drop", nargs="+", metavar="NAME", default=[], help="remove the recorded rows of these names "
                   "(say, rows of a checkpoint since retrained that no new row replaces), measuring nothing")
    args = p.parse_args(argv or [])
    args.n_common = min(args.n_common, args.n, args.n_ddim, args.n_ddpm)
    return args


def cpu_ran(args) -> bool:
    """Whether the "cpu" group has rows: `--cpu-steps` with no steps (and no --cpu-dpm-steps) turns it off."""
    return bool(args.cpu_steps or args.cpu_dpm_steps)


def checkpoints(args) -> list[str]:
    """The shipped checkpoints the run measured, each once (only those are fingerprinted: a --flow / --flow-cfg /
    --flow-guide path outside course_lib/checkpoints/ is left out)."""
    names = ["mnist_cnn", "dcgan_mnist", "dcgan_mnist_drs_d", DIFFUSION, GUIDED] + [CPU_RECIPE] * cpu_ran(args)
    paths = [checkpoint.resolve(c) for group, c in (("flow", args.flow), ("flowcfg", args.flow_cfg),
                                                     ("flowag", args.flow), ("flowag", args.flow_guide))
             if group in args.only]
    names += [p.stem for p in paths if p.exists() and p.resolve().parent == checkpoint.CHECKPOINT_DIR.resolve()]
    return [c for c in dict.fromkeys(names) if (checkpoint.CHECKPOINT_DIR / f"{c}.pt").exists()]


def measure(argv=None) -> dict:
    """Every row (see the module docstring), printed as it comes, and the checkpoints they measured."""
    args, start, out = parse(argv), time.perf_counter(), []
    device = get_device()
    name = device_name(device)
    where = name if device.type == "cuda" else f"{name}, {torch.get_num_threads()} threads"
    for row in rows(args):
        row = {**row, "name": row["name"] + (f" (noise seed {args.seed})" if args.seed else ""), "device": where}
        out.append(row)
        print(table([row], args.n_common).splitlines()[-1], flush=True)
    return {"checkpoints": checkpoints(args), "rows": out,
            "n_common": args.n_common, "threads": torch.get_num_threads(), "device": str(device),
            "device_name": name,
            "seconds": time.perf_counter() - start, "argv": [a for a in (argv or []) if a != "--record"]}


def show(results: dict) -> None:
    print(table(results["rows"], results["n_common"]))
    print(f"({results.get('device_name', 'CPU')}, {results['threads']} CPU threads; {results['seconds']:.0f} s) "
          "targets: unconditional DDIM 50 IS >= 9.4, FD <= 5, every digit 8-12 %, in-between <= 5 %, within 0.2 IS "
          "of DDPM 1000; guided IS >= 9.7, in-between <= 2 %")


def store(results: dict) -> None:
    """Write the table into the diffusion checkpoint's metadata (where lesson 10 reads it)."""
    model, meta = checkpoint.load_model(DIFFUSION)
    path = checkpoint.resolve(DIFFUSION)
    checkpoint.save_checkpoint(path, model, meta["config"], {**meta["metrics"], "benchmark": results})
    print(f"recorded in {path}")


def recorded_table() -> dict | None:
    """The table stored in the diffusion checkpoint's metadata by the last --record (None before the first)."""
    return checkpoint.load_model(DIFFUSION)[1]["metrics"].get("benchmark")


def merged(results: dict) -> dict:
    """The recorded table with `results`' rows added (rows of the same name replaced), for --append."""
    old = recorded_table()
    if old is None:
        return results
    names = {r["name"] for r in results["rows"]}
    return {**old, "rows": [r for r in old["rows"] if r["name"] not in names] + results["rows"],
            "checkpoints": sorted(set(old["checkpoints"]) | set(results["checkpoints"])),
            "appended": old.get("appended", []) + [{k: results[k] for k in ("argv", "device_name", "seconds")}]}


def without(names: list[str]) -> dict:
    """The recorded table without the rows named `names` (each must be there), for --drop."""
    old = recorded_table() or {"rows": []}
    missing = sorted(set(names) - {r["name"] for r in old["rows"]})
    if missing:
        raise SystemExit(f"--drop: no recorded row is named {missing}; the recorded names are the "
                         f"'name' fields of 'generators' in course_lib/benchmarks/measured.json (quote a name with "
                         f"spaces). Nothing was changed.")
    return {**old, "rows": [r for r in old["rows"] if r["name"] not in names],
            "appended": old.get("appended", []) + [{"argv": ["--drop", *names], "device_name": None, "seconds": 0}]}


def main(argv=None) -> int:
    from .. import benchmark
    args = parse(argv)
    if args.drop:
        results = without(args.drop)
    else:
        results = measure(argv)
        show(results)
        if not args.record:
            return 0
        results = merged(results) if args.append else results
    store(results)
    benchmark.record("generators", results)
    return 0


if __name__ == "__main__":  # python -m course_lib.benchmarks.generators [--record [--append]] OPTIONS
    sys.exit(main(sys.argv[1:]))
