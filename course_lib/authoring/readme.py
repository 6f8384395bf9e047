"""Generated parts of README.md: the settings table (from course_lib.env.SETTINGS) and the "Measured" table (from
the benchmark results recorded in course_lib/benchmarks/measured.json), between <!-- NAME:start/end --> markers.

    python -m course_lib.authoring.readme           # rewrite the blocks
    python -m course_lib.authoring.readme --check   # exit 1 if README.md is not what they would be (tests/test_readme.py)

Numbers are typed nowhere: re-measure with `python -m course_lib.benchmark --record SUITE`, then run this.
"""
import re
import sys
from pathlib import Path

from .. import benchmark, env
from ..benchmarks.lessons import duration

README = env.PACKAGE_DIR.parent / "README.md"


def settings_table() -> str:
    lines = ["| setting | values | default | effect |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {values} | {default} | {effect} |" for name, values, default, effect in env.SETTINGS]
    return "\n".join(lines)


def _missing(suite: str) -> str:
    return f"not recorded: `python -m course_lib.benchmark --record {suite}`"


def measured_rows(results: dict) -> list[tuple[str, str, str]]:
    """(what, measured, target) rows from the recorded benchmark results."""
    rows = []
    clf = results.get("classifier")
    rows.append(("MNIST classifier (`mnist_cnn`), test accuracy",
                 f"{100 * clf['accuracy']:.2f} %" if clf else _missing("classifier"), "≥ 99.0 %"))
    gan = results.get("gan")

    def gan_cells(r):
        return f"{r['IS']:.2f} / {r['FD']:.1f} / {100 * r['min_class']:.1f}–{100 * r['max_class']:.1f} %"
    n = f"{gan['n']:,}" if gan else "10,000"
    rows.append((f"DCGAN (`dcgan_mnist`), classifier IS / FD / digit shares, {n} samples",
                 gan_cells(gan["dcgan"]) if gan else _missing("gan"), "IS ≥ 9.0; 5–15 % each"))
    rows.append(("real MNIST train vs test, the same metrics (the floor)",
                 gan_cells(gan["real"]) if gan else _missing("gan"), ""))
    rows.append(("course_lib GAN loop vs a plain PyTorch loop, training throughput",
                 f"ratio {gan['course_lib_images_per_s'] / gan['plain_images_per_s']:.2f}" if gan else _missing("gan"),
                 "≥ 0.95"))
    sr = results.get("sr")
    if sr and not sr.get("crop"):
        m = sr["models"]

        def gain(name, bicubic):
            return f"{m[name]['psnr'] - m[bicubic]['psnr']:+.2f}"
        photos = f"{len(sr['images'])} validation photos"
        rows.append((f"SRCNN ×3 / ESPCN ×3, Y-PSNR over bicubic ({m['bicubic_x3']['psnr']:.2f} dB), {photos}",
                     f"{gain('srcnn_x3', 'bicubic_x3')} / {gain('espcn_x3', 'bicubic_x3')} dB", "≥ +1.0 dB"))
        rows.append((f"SRResNet ×4, Y-PSNR over bicubic ({m['bicubic_x4']['psnr']:.2f} dB)",
                     f"{gain('srresnet_x4', 'bicubic_x4')} dB", "≥ +1.2 dB"))
        r, g = m["srresnet_x4"], m["srgan_x4"]
        rows.append((f"SRGAN ×4: Y-PSNR, sharpness, high-frequency energy (SRResNet: {r['psnr']:.2f} dB, "
                     f"{r['sharpness']:.2f}, {r['hf_energy']:.2f})",
                     f"{g['psnr']:.2f} dB, {g['sharpness']:.2f}, {g['hf_energy']:.2f}", "lower PSNR, sharper"))
    else:
        rows.append(("super-resolution models vs bicubic, validation photos", _missing("sr"), ""))
    p2p = results.get("pix2pix")
    rows_by = {r["variant"]: r for r in p2p["rows"] if "missing" not in r} if p2p else {}
    if "L1" in rows_by and "L1 + cGAN" in rows_by:
        def cells(r):
            return f"{r['pixel_acc']:.3f} / {r['sharpness']:.2f} / {r['psnr']:.2f} dB"
        rows.append((f"Pix2Pix labels → photo, {p2p['n']} held-out pairs: FCN pixel accuracy / sharpness / PSNR, "
                     "L1 → L1 + cGAN", f"{cells(rows_by['L1'])} → {cells(rows_by['L1 + cGAN'])}",
                     "L1 + cGAN higher accuracy and sharpness"))
        rows.append(("Pix2Pix `train_step` vs a plain PyTorch loop, training throughput",
                     f"ratio {p2p['speed']['course_lib'] / p2p['speed']['plain']:.2f}", "≥ 0.95"))
    else:
        rows.append(("Pix2Pix ablation, held-out pairs", _missing("pix2pix"), ""))
    gen = results.get("generators")
    by_name = {r["name"]: r for r in gen["rows"]} if gen else {}
    shown = [n for n in ("diffusion, DDIM 50", "diffusion, DDIM 50, eta 1", "diffusion, DDPM 1000",
                         "DCGAN (shipped)") if n in by_name]
    if shown:
        rows.append((f"lesson 10, unconditional `ddpm_mnist` ({gen.get('device_name', 'CPU')}): IS / FD / in-between share"
                     f" of {' · '.join(n.replace('diffusion, ', '') for n in shown)}; n per row in lesson 10",
                     " · ".join(f"{by_name[n]['IS']:.2f} / {by_name[n]['FD']:.1f} / {100 * by_name[n]['in_between']:.1f} %"
                                for n in shown), "DDIM 50: IS ≥ 9.4, FD ≤ 5, in-between ≤ 5 %"))
        guided = max((r for r in gen["rows"] if r["name"].startswith("CFG")), key=lambda r: r["IS"], default=None)
        if guided:
            where = guided.get("device", gen.get("device_name", "CPU")).split(",")[0]
            rows.append((f"lesson 10, guided `ddpm_mnist_cfg` ({where}), best IS ({guided['name']}): IS / FD / "
                         f"in-between", f"{guided['IS']:.2f} / {guided['FD']:.1f} / {100 * guided['in_between']:.1f} % "
                         f"(n {guided['n']:,})", "IS ≥ 9.7, in-between ≤ 2 %"))
    else:
        rows.append(("diffusion vs DCGAN (lesson 10)", _missing("generators"), "IS ≥ 9.4, FD ≤ 5"))
    rows += flow_rows(by_name)
    grading = results.get("grading")
    if grading and "seconds" in grading:
        rows.append((grading.get("what", "grading submissions"), f"{grading['seconds']:.0f} s",
                     grading.get("target", "< 300 s")))
    return rows


def flow_rows(by_name: dict) -> list[tuple[str, str, str]]:
    """Lesson 11's rows: flow matching at <= 10 and <= 20 evaluations beside lesson 10's best there, the same model
    autoguided (its lowest FD there), and guidance. Rows measured again on other noise ("(noise seed S)") are never
    picked (the best seed would flatter); the picked autoguided and conditional rows show them beside them."""
    def cell(r):
        return f"{r['IS']:.2f} / {r['FD']:.1f} / {100 * r['in_between']:.1f} % (n {r['n']:,})"

    first = [r for r in by_name.values() if "noise seed" not in r["name"]]

    def best(prefix, budget):
        cands = [r for r in first if r["name"].startswith(prefix) and r["nfe"] and r["nfe"] <= budget]
        return max(cands, key=lambda r: r["IS"], default=None)

    def with_other_noise(pick):
        """(" · the same on noise seed S" for each row measured again on other noise, and the cells of all)."""
        again = [r for r in by_name.values() if r["name"].startswith(pick["name"] + " (noise seed")]
        return ("".join(f" · the same on {r['name'][len(pick['name']) + 2:-1]}" for r in again),
                " · ".join(cell(r) for r in [pick] + again))
    rows = []
    for budget, target in ((10, "beats lesson 10's best sampler at ≤ 10 evaluations on IS and FD"),
                           (20, "IS ≥ 9.4, FD ≤ 5, in-between ≤ 5 %")):
        fm, dm = best("flow matching,", budget), best("diffusion", budget)
        if fm and dm:
            rows.append((f"lesson 11, `flow_mnist` (CPU) at ≤ {budget} evaluations, {fm['name']} · lesson 10's best, "
                         f"{dm['name']}: IS / FD / in-between", f"{cell(fm)} · {cell(dm)}", target))
        auto = min((r for r in first if r["name"].startswith("flow matching + autoguidance") and r["nfe"] <= budget),
                   key=lambda r: r["FD"], default=None)
        if auto:
            label, cells = with_other_noise(auto)
            rows.append((f"lesson 11, `flow_mnist` autoguided by `flow_mnist_guide` (CPU) at ≤ {budget} evaluations "
                         f"of both, lowest FD, {auto['name'][len('flow matching + '):]}: IS / FD / in-between{label}",
                         cells, target))
    cond = [r for r in first if r["name"].startswith("flow CFG") and r["nfe"] <= 20]
    good = [r for r in cond if r["IS"] >= 9.4]  # the target's IS; among those the lowest FD, else the highest IS
    pick = min(good, key=lambda r: r["FD"]) if good else best("flow CFG", 20)
    if pick:
        label, cells = with_other_noise(pick)
        rows.append((f"lesson 11, class-conditional `flow_mnist_cfg` (CPU) at ≤ 20 evaluations, each digit asked "
                     f"equally often, {pick['name']}: IS / FD / in-between{label}", cells,
                     "IS ≥ 9.4, FD ≤ 5, in-between ≤ 5 %"))
    guided = max((r for r in first if r["name"].startswith("flow CFG") and "w=0," not in r["name"]),
                 key=lambda r: r["IS"], default=None)
    if guided:
        rows.append((f"lesson 11, guided `flow_mnist_cfg`, best IS ({guided['name']}): IS / FD / in-between",
                     cell(guided), "IS ≥ 9.7, in-between ≤ 2 %"))
    return rows


def measured_table(results: dict | None = None) -> str:
    results = benchmark.recorded() if results is None else results
    lines = ["| what | measured | target |", "|---|---|---|"]
    lines += [f"| {what} | {value} | {target} |" for what, value, target in measured_rows(results)]
    return "\n".join(lines)


def lesson_times_table(results: dict | None = None) -> str:
    """Full-mode time of every lesson, one column per device measured (`benchmark --record lessons`)."""
    results = benchmark.recorded() if results is None else results
    runs = results.get("lessons", {}).get("devices", {})
    lessons = sorted(p.name for p in (env.PACKAGE_DIR.parent / "solutions").glob("[0-9][0-9]_*.ipynb"))
    heads = [f"{label}, {run['cpu_count']} cores ({run['commit']}, {run['date']})" for label, run in runs.items()]
    no_gpu = all(label == "cpu" for label in runs)  # then a column says so
    lines = ["| lesson | " + " | ".join(f"full mode on {h}: wall / kernel CPU / longest cell / load" for h in heads)
             + (" | on a GPU |" if no_gpu else " |"),
             "|---|" + "---|" * len(heads) + ("---|" if no_gpu else "")]
    for name in lessons:
        cells = []
        for run in runs.values():
            r = run["lessons"].get(name[:2])
            if r is None:
                cells.append(f"not measured: `python -m course_lib.benchmarks.lessons --record {name[:2]}`")
            elif "error" in r:
                cells.append(f"failed: {r['error']}")
            else:
                longest = max(r["slow"], key=lambda c: c["seconds"], default=None)
                cells.append(f"{duration(r['wall'])} / {duration(r['cpu'])} / "
                             + (f"{duration(longest['seconds'])} (cell {longest['cell']})" if longest else "–")
                             + " / " + "–".join(f"{x:.1f}" for x in r.get("load", [])))
        if no_gpu:
            cells.append("not measured")
        lines.append(f"| {name.removesuffix('.ipynb')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def with_block(text: str, name: str, block: str) -> str:
    """`text` with the part between <!-- name:start --> and <!-- name:end --> replaced by `block`."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)


def render(text: str) -> str:
    text = with_block(text, "lesson-times", lesson_times_table())
    return with_block(with_block(text, "settings", settings_table()), "measured", measured_table())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = README.read_text()
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md is stale: run `python -m course_lib.authoring.readme`", file=sys.stderr)
            return 1
        return 0
    Path(README).write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
