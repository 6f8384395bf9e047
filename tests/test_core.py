"""Unit tests for course_lib's core: data, device, checkpoints, training loop, self-checks, release."""
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import course_lib
from course_lib import selfcheck as chk
from course_lib import checkpoint, data, device, loop
from course_lib.authoring import notebook, release


# ---------------------------------------------------------------- data
def test_mnist_is_the_real_mnist():
    train, test = data.mnist(train=True), data.mnist(train=False)
    assert len(train) == 60_000 and len(test) == 10_000
    assert train.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert train.targets.bincount().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test.targets.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train.data.dtype == torch.uint8 and train.data.shape == (60_000, 28, 28)
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and label == 5
    assert torch.allclose(image[0], train.data[0].float() / 255)


def test_mnist_missing_or_corrupt_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    with pytest.raises(data.DataError, match="missing"):
        data.mnist()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.MNIST_SHA256:
        (raw / name).write_bytes(b"not mnist")
    with pytest.raises(data.DataError, match="corrupt"):
        data.mnist()


def test_photos_split_is_fixed_real_and_disjoint():
    train, val = data.photos("train"), data.photos("val")
    assert set(train).isdisjoint(val) and len(train) >= 10 and len(val) >= 4
    for im in list(train.values()) + list(val.values()):
        assert im.dim() == 3 and im.shape[0] == 3 and im.dtype == torch.float32
        assert 0 <= im.min() and im.max() <= 1 and im.std() > 0.02  # a photo, not a constant
    with pytest.raises(ValueError):
        data.photos("test")


def test_image_folder_reads_images_and_rejects_bad_input(tmp_path):
    from PIL import Image
    with pytest.raises(data.DataError, match="does not exist"):
        data.image_folder(tmp_path / "nope")
    with pytest.raises(data.DataError, match="No images"):
        data.image_folder(tmp_path)
    Image.new("RGB", (10, 6), (255, 0, 0)).save(tmp_path / "a.png")
    images = data.image_folder(tmp_path)
    assert images["a"].shape == (3, 6, 10) and images["a"][0].min() == 1
    (tmp_path / "b.png").write_bytes(b"garbage")
    with pytest.raises(data.DataError, match="b.png"):
        data.image_folder(tmp_path)


# ---------------------------------------------------------------- device
def test_device_choice_and_override(monkeypatch):
    assert device.get_device().type in ("cpu", "cuda", "mps")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert device.get_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        monkeypatch.setenv("COURSE_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            device.get_device()


def test_amp_off_on_cpu_and_seeding_repeats():
    cpu = torch.device("cpu")
    assert device.amp_dtype(cpu) is None and not device.grad_scaler(cpu).is_enabled()
    device.seed_everything(3)
    a = torch.rand(3)
    device.seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    model = device.prepare(nn.Conv2d(3, 4, 3), cpu, channels_last=True)
    assert model.weight.is_contiguous(memory_format=torch.channels_last)


def test_cpu_bf16_only_when_asked(monkeypatch):
    cpu, conv = torch.device("cpu"), nn.Conv2d(1, 2, 3)
    assert device.amp_dtype(cpu, cpu_bf16=True) == torch.bfloat16
    with device.autocast(cpu):
        assert conv(torch.zeros(1, 1, 5, 5)).dtype == torch.float32
    with device.autocast(cpu, cpu_bf16=True):
        assert conv(torch.zeros(1, 1, 5, 5)).dtype == torch.bfloat16
    monkeypatch.setenv("COURSE_AMP", "0")  # the switch that turns mixed precision off everywhere wins
    assert device.amp_dtype(cpu, cpu_bf16=True) is None


def test_fast_mode_pick():
    assert course_lib.FAST  # the test suite runs in fast mode
    assert course_lib.pick(full=10, fast=1) == 1


# ---------------------------------------------------------------- checkpoints
class Tiny(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.fc = nn.Linear(3, width)


Tiny.__module__ = "course_lib.tests_tiny"  # load_model only builds course_lib classes


def test_checkpoint_roundtrip_and_metadata(tmp_path):
    model = Tiny(4)
    path = checkpoint.save_checkpoint(tmp_path / "t.pt", model, {"width": 4}, {"acc": 0.5})
    other = Tiny(4)
    meta = checkpoint.load_weights(other, path)
    assert torch.equal(other.fc.weight, model.fc.weight)
    assert meta["config"] == {"width": 4} and meta["metrics"] == {"acc": 0.5}
    assert meta["course_lib_version"] == course_lib.__version__
    assert not (tmp_path / "t.pt.tmp").exists()


def test_checkpoint_describe_lists_every_training_run():
    first = {"steps": 10, "recipe": {"batch_size": 8}, "train_seconds": 120.0, "device_name": "CPU", "loss": 0.5}
    second = {"steps": 5, "recipe": {"batch_size": 16}, "train_seconds": 30.0, "load_before": [1.94, 1.0, 1.0],
              "device_name": "CPU", "loss": 0.25, "schedule": "cosine", "init_metrics": first}
    assert checkpoint.training_runs(second) == [first, second] and checkpoint.training_runs(first) == [first]
    line = checkpoint.describe("m", {"config": {"channels": 4}, "metrics": second})
    assert line == ("m: 4 channels, cosine schedule, on CPU: 10 steps of batch 8 (2.0 min) then 5 steps of batch 16 "
                    "(0.5 min, load 1.9 before); final loss 0.2500")
    flow_run = {**first, "objective": "flow matching, t ~ U[0, 1]"}  # no schedule: the objective says what it learned
    assert checkpoint.describe("f", {"config": {"channels": 4}, "metrics": flow_run}).startswith(
        "f: 4 channels, flow matching, t ~ U[0, 1], on CPU: 10 steps")
    bf16_run = {**first, "recipe": {"batch_size": 8, "cpu_bf16": True}}  # the recipe's CPU bfloat16 autocast is named
    assert "10 steps of batch 8 (2.0 min, bfloat16 autocast)" in checkpoint.describe("b", {"config": {"channels": 4},
                                                                                         "metrics": bf16_run})


def test_checkpoint_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="No checkpoint"):
        checkpoint.load_weights(Tiny(), tmp_path / "missing.pt")
    path = checkpoint.save_checkpoint(tmp_path / "t.pt", Tiny(4), {"width": 4})
    with pytest.raises(checkpoint.CheckpointError, match="shape mismatches"):
        checkpoint.load_weights(Tiny(5), path)
    with pytest.raises(checkpoint.CheckpointError, match="holds a"):
        checkpoint.load_weights(nn.Linear(3, 4), path)
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:100])
    with pytest.raises(checkpoint.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load_weights(Tiny(4), tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "plain.pt")
    with pytest.raises(checkpoint.CheckpointError, match="not a course_lib checkpoint"):
        checkpoint.load_weights(Tiny(4), tmp_path / "plain.pt")


def test_checkpoint_refuses_code(tmp_path):
    import pickle
    payload = {"format": checkpoint.FORMAT, "evil": print}
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump(payload, f)
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.read_checkpoint(tmp_path / "evil.pt")


# ---------------------------------------------------------------- training loop
def test_fit_trains_and_records_history():
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = (x[:, 0] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    model = nn.Linear(2, 2)
    cpu = torch.device("cpu")
    step = loop.supervised_step(model, torch.optim.SGD(model.parameters(), lr=0.5), nn.functional.cross_entropy, cpu)
    seen = []
    history = loop.fit(step, loader, epochs=3, device=cpu, max_steps=5,
                       on_epoch_end=lambda epoch, h: seen.append(epoch))
    assert seen == [0, 1, 2] and len(history["loss"]) == 3 and len(history["epoch_time"]) == 3
    assert history["loss"][-1] < history["loss"][0]
    assert loop.accuracy(model, loader, cpu) > 0.9


# ---------------------------------------------------------------- self-checks
@pytest.fixture
def toy_exercise():
    def reference(x):
        return 2 * x
    ex = chk.exercise("toy_double", reference, "double(x: tensor) -> tensor of the same shape")

    @ex.test("doubles a tensor")
    def _(fn):
        x = torch.arange(4.0)
        chk.expect(torch.equal(fn(x), 2 * x), "wrong values for a small tensor")
    yield reference
    del chk.EXERCISES["toy_double"]


def test_check_passes_returns_student_object(toy_exercise, capsys):
    mine = lambda x: x + x  # noqa: E731
    assert chk.check("toy_double", mine) is mine
    assert "[OK] toy_double: 1/1" in capsys.readouterr().out


def test_check_failure_reports_without_expected_values_and_falls_back(toy_exercise, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_STRICT", "0")
    wrong = lambda x: x * 3  # noqa: E731
    assert chk.check("toy_double", wrong) is toy_exercise
    out = capsys.readouterr().out
    assert "[FAIL]" in out and "wrong values" in out and "reference" in out
    assert "tensor(" not in out and "0., 2., 4." not in out


def test_check_reports_student_exceptions(toy_exercise, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_STRICT", "0")
    def broken(x):
        return x.no_such_method()
    chk.check("toy_double", broken)
    assert "AttributeError" in capsys.readouterr().out


def test_check_says_one_bug_once_and_shows_no_check_source(capsys, monkeypatch):
    """A failing first (basic) test is reported first, later failures without their hints; a warning raised
    while testing is shown without the check's source line; COURSE_STRICT=true is strict too."""
    import warnings
    ex = chk.exercise("toy_shape", lambda x: 2 * x, "toy_shape(x) -> 2x, same shape")

    @ex.test("output shape")
    def _(fn):
        chk.expect(fn(torch.ones(3)).shape == (3,), "wrong output shape: SHAPE-HINT")

    @ex.test("values")
    def _(fn):
        chk.expect(torch.equal(fn(torch.ones(3)), 2 * torch.ones(3)), "VALUE-HINT")  # CHECK-SOURCE-LINE
    try:
        monkeypatch.setenv("COURSE_STRICT", "0")

        def wrong(x):
            warnings.warn("student warning")
            return torch.ones(4)
        chk.check("toy_shape", wrong)
        out = capsys.readouterr().out
        assert out.index("SHAPE-HINT") < out.index("may share the cause") and "VALUE-HINT" not in out
        assert "UserWarning: student warning" in out and "CHECK-SOURCE-LINE" not in out and "warnings.warn" not in out
        monkeypatch.setenv("COURSE_STRICT", "true")
        with pytest.raises(chk.CheckFailed):
            chk.check("toy_shape", wrong)
    finally:
        del chk.EXERCISES["toy_shape"]


def test_check_gives_one_hint_also_when_the_basic_test_passes(capsys, monkeypatch):
    """After the first failing value test, later failures are marked as possibly sharing its cause, without
    their own hints (a transposed kernel fails the padding, stride and bias tests too)."""
    ex = chk.exercise("toy_values", lambda x: 2 * x, "toy_values(x) -> 2x")
    ex.test("output shape")(lambda fn: chk.expect(fn(torch.ones(3)).shape == (3,), "SHAPE-HINT"))
    ex.test("values")(lambda fn: chk.expect(torch.equal(fn(torch.ones(3)), 2 * torch.ones(3)), "VALUE-HINT"))
    ex.test("negative values")(lambda fn: chk.expect(torch.equal(fn(-torch.ones(3)), -2 * torch.ones(3)),
                                                     "NEGATIVE-HINT"))
    try:
        monkeypatch.setenv("COURSE_STRICT", "0")
        chk.check("toy_values", lambda x: x + 3)
        out = capsys.readouterr().out
        assert "[PASS] output shape" in out and "SHAPE-HINT" not in out and "NEGATIVE-HINT" not in out
        assert out.index("VALUE-HINT") < out.index("Fix this first") < out.index("negative values (may share the")
        chk.check("toy_values", lambda x: x.abs() * 2)  # only the last test fails: its hint is shown
        out = capsys.readouterr().out
        assert "NEGATIVE-HINT" in out and "may share" not in out and "Fix this first" not in out
    finally:
        del chk.EXERCISES["toy_values"]


def test_check_strict_raises_on_wrong_but_not_on_stub(toy_exercise, monkeypatch):
    monkeypatch.setenv("COURSE_STRICT", "1")
    with pytest.raises(chk.CheckFailed):
        chk.check("toy_double", lambda x: x)
    def stub(x):
        raise NotImplementedError
    assert chk.check("toy_double", stub) is toy_exercise


def test_every_exercise_has_tests_and_a_contract():
    exercises = chk.load_all()
    for ex in exercises.values():
        assert ex.tests and ex.contract and callable(ex.reference), ex.id


# ---------------------------------------------------------------- notebooks
def test_student_notebooks_are_up_to_date():
    stale = release.build(check_only=True)
    assert not stale, f"stale: {stale}; run `make notebooks` and commit"


def test_strip_solution_keeps_indentation_and_rejects_unbalanced_markers():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert notebook.strip_solution(src, "e") == 'def f(x):\n    raise NotImplementedError("Exercise e: write your code here")'
    with pytest.raises(ValueError):
        notebook.strip_solution("### BEGIN SOLUTION\nx = 1\n", "e")


def test_every_notebook_follows_the_format():
    import nbformat
    for folder in ("solutions", "notebooks"):
        for path in sorted((release.ROOT / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            assert "setup" in nb.cells[1].metadata.get("tags", []), path
            assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path} has outputs"
            markers = [i for i, c in enumerate(nb.cells) if notebook.BEGIN in c.source or notebook.END in c.source]
            if folder == "notebooks":  # no solution left in a student notebook, one stub per exercise
                assert not markers, (path, markers)
                stubs = {i for i, c in enumerate(nb.cells) if "raise NotImplementedError(\"Exercise " in c.source}
                assert stubs == {i for i, _ in notebook.exercise_cells(nb)}, path
            else:
                assert markers == [i for i, _ in notebook.exercise_cells(nb)], path


def test_release_cli_check_mode():
    proc = subprocess.run([sys.executable, "-m", "course_lib.authoring.release", "--check"], capture_output=True, text=True,
                          cwd=release.ROOT, env={**os.environ})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_lesson_table_is_generated_from_the_repository_setting():
    table = release.readme_table([])
    assert table.startswith("| # | lesson |")
    readme = "intro\n<!-- lessons:start -->\nold\n<!-- lessons:end -->\noutro"
    assert release.with_table(readme, "NEW") == "intro\n<!-- lessons:start -->\nNEW\n<!-- lessons:end -->\noutro"
    assert release.colab_url("01_x.ipynb").startswith("https://colab.research.google.com/github/")
    assert release.repository_url().removeprefix("https://github.com/") in release.colab_url("01_x.ipynb")


@pytest.mark.parametrize("module, bad", [
    ("course_lib.train", ["no-such-thing"]), ("course_lib.benchmark", ["no-such-thing"]),
    ("course_lib.grade", ["no-such-thing"]), ("course_lib.sr_eval", ["no-such-thing"]),
    ("course_lib.upscale", ["photo.png", "--model", "srcnn_x3", "--no-such-thing"]),  # a usage error, not a file
])
def test_command_line_help(module, bad):
    proc = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "course_lib" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", module, *bad], capture_output=True, text=True)
    assert bad.returncode == 2 and "no-such-thing" in bad.stderr
