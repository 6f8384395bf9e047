"""Training recipes and benchmark suites: discovery, the shared command line, and a fast run of each recipe."""
import ast
from pathlib import Path

import pytest
import torch

from course_lib import benchmark, checkpoint, classifier, data, env, recipes, sr_models, srgan, train
from course_lib.recipes import common

ROOT = Path(__file__).resolve().parents[1]
OURS = {"classifier", "dcgan", "srcnn", "espcn", "srresnet", "srgan", "pix2pix", "ddpm", "drs"}


def test_recipes_and_suites_are_discovered_with_their_descriptions(capsys):
    found = set(recipes.find("course_lib.recipes"))
    assert OURS <= found and not {"common", "sr"} & found  # helpers have no main
    assert train.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "srcnn       SRCNN x3 (lesson 07) -> checkpoints/srcnn_x3.pt." in text
    assert {"classifier", "gan", "sr"} <= set(recipes.find("course_lib.benchmarks"))
    assert benchmark.main(["--help"]) == 0 and "Super-resolution" in capsys.readouterr().out
    assert train.main(["nope"]) == 2 and benchmark.main(["nope"]) == 2


def test_fast_and_full_defaults_and_the_output_path(monkeypatch, tmp_path):
    full, fast = dict(steps=100, lr=1e-3, n=None, augment=True), dict(steps=2, lr=1e-2, n=64, augment=False)
    monkeypatch.setattr(env, "FAST", False)
    args = common.parse([], "toy", "Toy.", full, fast, checkpoint="toy_x1")
    assert args.settings == full and not args.fast and args.out == env.CHECKPOINT_DIR / "toy_x1.pt"
    args = common.parse(["--fast", "--steps", "5", "--no-augment"], "toy", "Toy.", full, fast, checkpoint="toy_x1")
    assert args.settings == dict(steps=5, lr=1e-2, n=64, augment=False)
    assert args.out.name == "toy_x1_fast.pt" and args.out.parent != env.CHECKPOINT_DIR  # never the shipped file
    monkeypatch.setattr(env, "FAST", True)
    assert common.parse([], "toy", "Toy.", full, fast, checkpoint="toy_x1").settings == fast
    args = common.parse(["--full", "--out", str(tmp_path / "a.pt")], "toy", "Toy.", full, fast, checkpoint="toy_x1")
    assert args.settings == full and args.out == tmp_path / "a.pt"


def test_one_fast_validation_crop():
    val = common.validation_photos(fast=True)
    assert set(val) == set(data.PHOTOS["val"])
    assert all(im.shape[-2:] == (96, 96) for im in val.values())
    assert all(im.shape[-1] > 96 for im in common.validation_photos(fast=False).values())


def test_fast_classifier_recipe_reaches_95_percent(tmp_path):
    out = tmp_path / "mnist_cnn_fast.pt"
    assert train.main(["classifier", "--fast", "--out", str(out)]) == 0
    model, meta = checkpoint.load_model(out)
    assert isinstance(model, classifier.MnistCNN) and not model.training
    images, labels = data.mnist_tensors(train=False, n=2000)
    accuracy, _ = classifier.evaluate(model, images, labels, torch.device("cpu"))
    assert accuracy >= 0.95, accuracy
    assert abs(meta["metrics"]["test_accuracy"] - accuracy) < 1e-6  # the file records what it measured


def test_fast_dcgan_recipe_writes_an_ema_generator(tmp_path):
    out = tmp_path / "dcgan.pt"
    assert train.main(["dcgan", "--fast", "--out", str(out)]) == 0
    G, meta = checkpoint.load_model(out)
    assert type(G).__name__ == "Generator" and meta["metrics"]["epochs"] == 1
    assert {"is_g", "is_ema", "loss_d"} <= set(meta["metrics"]) and meta["metrics"]["recipe"]["n_train"] == 512


@pytest.mark.parametrize("name,cls", [("srcnn", sr_models.SRCNN), ("espcn", sr_models.ESPCN)])
def test_fast_sr_recipes_validate_and_write_a_loadable_checkpoint(tmp_path, name, cls):
    out = tmp_path / f"{name}.pt"
    assert train.main([name, "--fast", "--steps", "2", "--batch-size", "2", "--out", str(out)]) == 0
    model, meta = checkpoint.load_model(out)
    assert type(model) is cls and model.scale == 3 and model.channels == 1 and model.residual
    assert {"val_psnr", "val_ssim", "val_sharpness", "bicubic_psnr", "steps", "train_seconds"} <= set(meta["metrics"])
    assert meta["metrics"]["val_images"] == sorted(data.PHOTOS["val"])


def test_paper_option_trains_the_papers_model(tmp_path):
    out = tmp_path / "espcn.pt"
    assert train.main(["espcn", "--fast", "--steps", "1", "--batch-size", "2", "--paper", "--out", str(out)]) == 0
    model, _ = checkpoint.load_model(out)
    assert not model.residual and model.activation == "tanh"


def test_fast_srresnet_then_srgan(tmp_path):
    out = tmp_path / "srresnet.pt"
    assert train.main(["srresnet", "--fast", "--out", str(out), "--epochs", "1"]) == 0
    model, meta = checkpoint.load_model(out)
    assert isinstance(model, srgan.SRResNet) and {"val_psnr", "val_ssim", "val_sharpness", "mse"} <= set(meta["metrics"])
    out_gan = tmp_path / "srgan.pt"
    assert train.main(["srgan", "--fast", "--init", str(out), "--out", str(out_gan), "--content", "disc"]) == 0
    _, meta = checkpoint.load_model(out_gan)
    assert "discriminator" in meta["metrics"]["recipe"]["content_loss"] and "loss_d" in meta["metrics"]
    with pytest.raises(ValueError, match="preset"):
        train.main(["srgan", "--fast", "--init", str(out), "--out", str(out_gan), "--preset", "paper"])


def test_shipped_checkpoints_load_from_the_concept_modules():
    shipped = sorted(p.stem for p in env.CHECKPOINT_DIR.glob("*.pt"))
    assert {"mnist_cnn", "dcgan_mnist", "srcnn_x3", "espcn_x3", "srresnet_x4", "srgan_x4", "pix2pix_l1",
            "pix2pix_l1cgan", "ddpm_mnist_cfg"} <= set(shipped)
    for name in shipped:
        payload = checkpoint.read_checkpoint(name)
        module = payload["model"].rsplit(".", 1)[0]
        assert not module.startswith("course_lib.recipes"), f"{name}: the model class lives with the concepts"
        checkpoint.load_model(name)


def _imports(path: Path, package: str) -> set:
    """course_lib modules imported anywhere in `path` (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.startswith("course_lib"):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("course_lib")}
    return found


def test_no_import_cycles():
    modules = {}
    for path in (ROOT / "course_lib").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if parts[-1] == "__init__" else ".".join(parts[:-1])
        modules[name] = (path, package)
    graph = {name: {m for m in _imports(path, package) if m in modules and m != name and not name.startswith(m + ".")
                    and not m.startswith(name + ".")}
             for name, (path, package) in modules.items()}
    graph = {name: deps - {"course_lib"} for name, deps in graph.items()}

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None

    cycles = [c for c in (cycle_from(name) for name in graph) if c]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_classifier_benchmark_prints_the_table(capsys):
    assert benchmark.main(["classifier"]) == 0
    text = capsys.readouterr().out
    assert "test accuracy (10,000 images)" in text and "digit 9" in text and "images/s" in text
