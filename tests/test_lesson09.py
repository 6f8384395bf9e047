"""Hidden tests of lesson 09 (Pix2Pix): exercises pass on the solution, fail on the stub and on plausible mistakes;
the paired data (split, determinism, identical augmentation), the models, the recipe and the shipped checkpoints."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import paired_data, pix2pix
from course_lib.checkpoint import load_model
from course_lib.patchgan import PAPER_70x70, PatchGAN, receptive_field
from course_lib.unet import UNet
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "09_pix2pix.ipynb"
# sha256 of the held-out split (coded labels + photos, uint8), also in data/README.md
HELDOUT_SHA256 = "2e51d3d6e35ebb0fb8374a3fe3eaf7d55a0e60694ed255ff76c20e9a266dcfca"


# ---------------------------------------------------------------- l09_unet
def test_unet_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l09_unet")
    assert_stub_fails(NB, "l09_unet")


class UNetNoSkips(UNet):  # the plain encoder-decoder: everything squeezes through the bottleneck
    def __init__(self, in_channels, out_channels, width, depth):
        super().__init__(in_channels, out_channels, width, depth, skips=False)


class UNetAddSkips(UNet):  # adds the encoder features instead of concatenating them (needs fewer weights)
    def __init__(self, in_channels, out_channels, width, depth):
        super().__init__(in_channels, out_channels, width, depth, skips=False)

    def forward(self, x):
        x, features = x * 2 - 1, []
        for layer in self.down:
            x = layer(x)
            features.append(x)
        for j, layer in enumerate(self.up):
            if j > 0:
                x = x + features[self.depth - 1 - j]
            x = layer(x)
        return (torch.tanh(self.out(x + features[0])) + 1) / 2


class UNetNoDropout(UNet):
    def __init__(self, in_channels, out_channels, width, depth):
        super().__init__(in_channels, out_channels, width, depth, dropout=0.0)


class UNetTanhRange(UNet):  # forgets to map Tanh's [-1, 1] back to [0, 1]
    def forward(self, x):
        return super().forward(x) * 2 - 1


class UNetUpsampleConv(UNet):  # nearest upsampling + 3x3 conv instead of transposed convolutions
    def __init__(self, in_channels, out_channels, width, depth):
        super().__init__(in_channels, out_channels, width, depth)
        for seq in self.up:
            t = seq[0]
            seq[0] = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(t.in_channels, t.out_channels, 3, 1, 1))


def test_unet_wrong_implementations_fail():
    assert_wrong_fails("l09_unet", UNetNoSkips, because="skip connections")
    assert_wrong_fails("l09_unet", UNetAddSkips, because="skip connections")
    assert_wrong_fails("l09_unet", UNetNoDropout, because="Dropout")
    assert_wrong_fails("l09_unet", UNetTanhRange, because="[0, 1]")
    assert_wrong_fails("l09_unet", UNetUpsampleConv, because="transposed convolutions")


# ---------------------------------------------------------------- l09_patchgan
def test_patchgan_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l09_patchgan")
    assert_stub_fails(NB, "l09_patchgan")


class OneLogit(PatchGAN):  # averages the patch logits into one logit per image
    def forward(self, x, y):
        return super().forward(x, y).mean((1, 2, 3))


class OneLogitLinear(PatchGAN):  # a classic image discriminator head (pool + linear)
    def __init__(self, in_channels, out_channels, width, n_layers):
        super().__init__(in_channels, out_channels, width, n_layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 1))

    def forward(self, x, y):
        return self.head(super().forward(x, y)).view(-1, 1, 1, 1)


class Unconditional(PatchGAN):  # D(y) of Eq. 2: never looks at the input
    def forward(self, x, y):
        return super().forward(torch.zeros_like(x), y)


class ThreeByThree(PatchGAN):  # 3x3 kernels: a smaller patch per logit
    def __init__(self, in_channels, out_channels, width, n_layers):
        super().__init__(in_channels, out_channels, width, n_layers)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.Conv2d):
                self.net[i] = nn.Conv2d(m.in_channels, m.out_channels, 3, m.stride, 1, bias=m.bias is not None)


class SigmoidAtTheEnd(PatchGAN):  # probabilities instead of logits: BCE-with-logits would squash them twice
    def forward(self, x, y):
        return torch.sigmoid(super().forward(x, y))


def test_patchgan_wrong_implementations_fail():
    assert_wrong_fails("l09_patchgan", SigmoidAtTheEnd, because="not one per image")
    assert_wrong_fails("l09_patchgan", OneLogit, because="not one per image")
    assert_wrong_fails("l09_patchgan", OneLogitLinear, because="not one per image")
    assert_wrong_fails("l09_patchgan", Unconditional, because="conditional")
    assert_wrong_fails("l09_patchgan", ThreeByThree, because="receptive field")


# ---------------------------------------------------------------- l09_train_step
def test_train_step_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l09_train_step")
    assert_stub_fails(NB, "l09_train_step")


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def _step(G, D, opt_g, opt_d, x, y, lam, *, l1_target="y", lam_on="l1", detach=True, halve=True, early_zero=False):
    fake = G(x)
    if early_zero:
        opt_g.zero_grad()
    loss_d = _bce(D(x, y), 1) + _bce(D(x, fake.detach() if detach else fake), 0)
    loss_d = loss_d / 2 if halve else loss_d
    opt_d.zero_grad()
    loss_d.backward(retain_graph=not detach)
    opt_d.step()
    rec = (fake - (y if l1_target == "y" else x)).abs().mean()
    adv = _bce(D(x, fake), 1)
    loss_g = adv + lam * rec if lam_on == "l1" else lam * adv + rec
    if not early_zero:
        opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}


def l1_on_input(*a):
    return _step(*a, l1_target="x")


def lambda_on_gan(*a):
    return _step(*a, lam_on="gan")


def no_detach(*a):          # D's loss flows into G, and G's gradient is zeroed too early to hide it
    return _step(*a, detach=False, early_zero=True)


def no_detach_plain(*a):    # D's loss frees G's graph: G's own backward then fails
    G, D, opt_g, opt_d, x, y, lam = a
    fake = G(x)
    loss_d = (_bce(D(x, y), 1) + _bce(D(x, fake), 0)) / 2
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = _bce(D(x, fake), 1) + lam * (fake - y).abs().mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}


def not_halved(*a):
    return _step(*a, halve=False)


def test_train_step_wrong_implementations_fail():
    assert_wrong_fails("l09_train_step", l1_on_input, because="G's loss")
    assert_wrong_fails("l09_train_step", lambda_on_gan, because="G's loss")
    assert_wrong_fails("l09_train_step", no_detach, because="detach")
    assert_wrong_fails("l09_train_step", no_detach_plain, because="detach")
    assert_wrong_fails("l09_train_step", not_halved, because="D's loss is")


def test_reference_step_matches_written_out_step():
    for fn in (pix2pix.train_step, _step):
        torch.manual_seed(0)
        G, D = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Sigmoid()), PatchGAN(3, 3, 4, 1)
        opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
        x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
        out = fn(G, D, opt_g, opt_d, x, y, 10.0)
        if fn is pix2pix.train_step:
            ref, ref_g = out, [p.clone() for p in G.parameters()]
    assert abs(out["loss_g"] - ref["loss_g"]) < 1e-5 and abs(out["loss_d"] - ref["loss_d"]) < 1e-5
    assert all(torch.allclose(a, b) for a, b in zip(G.parameters(), ref_g))


# ---------------------------------------------------------------- models
def test_patchgan_receptive_fields_and_sizes():
    assert receptive_field(PAPER_70x70) == 70
    assert [receptive_field(PatchGAN(n_layers=n)) for n in (1, 2, 3)] == [16, 34, 70]
    D = PatchGAN(width=8, n_layers=3)
    assert D(torch.rand(1, 3, 256, 256), torch.rand(1, 3, 256, 256)).shape == (1, 1, 30, 30)  # the paper's 30x30


def test_unet_skips_option_and_norms():
    x = torch.rand(2, 3, 64, 64)
    for kwargs in (dict(), dict(skips=False), dict(norm="instance"), dict(norm="none")):
        out = UNet(width=4, **kwargs).eval()(x)
        assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert sum(p.numel() for p in UNet(skips=False).parameters()) < sum(p.numel() for p in UNet().parameters())
    with pytest.raises(ValueError, match="norm"):
        UNet(norm="group")


def test_ablation_switches_drop_a_term():
    torch.manual_seed(0)
    G, D = UNet(width=4, depth=4), PatchGAN(width=4, n_layers=1)
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    fake = G(x)
    total, adv, rec = pix2pix.generator_loss(D, x, y, fake, 100.0)
    assert torch.allclose(total, adv + 100 * rec)
    assert torch.allclose(pix2pix.generator_loss(D, x, y, fake, 100.0, gan=False)[0], 100 * rec)
    assert torch.allclose(pix2pix.generator_loss(D, x, y, fake, 100.0, l1=False)[0], adv)
    opt_g, opt_d = pix2pix.optimizers(G, D)
    before = [p.clone() for p in D.parameters()]
    out = pix2pix.train_step(G, D, opt_g, opt_d, x, y, gan=False)  # L1 only: D is never updated
    assert out["loss_d"] == 0 and all(torch.equal(a, b) for a, b in zip(before, D.parameters()))


# ---------------------------------------------------------------- data
def test_heldout_split_is_deterministic_and_matches_the_documented_checksum():
    coded, photos, labels = paired_data.heldout()
    assert coded.shape == photos.shape == (paired_data.HELDOUT_SIZE, 3, 64, 64) and labels.shape == (256, 64, 64)
    assert paired_data.checksum(coded, photos) == HELDOUT_SHA256
    assert torch.equal(paired_data.to_labels(coded), labels)
    assert set(labels.unique().tolist()) == set(range(len(paired_data.CLASSES)))


def test_heldout_textures_are_never_seen_in_training():
    for texture in paired_data.textures():
        train, held = (paired_data.texture_region(texture, s) for s in ("train", "heldout"))
        assert train.shape[-1] + held.shape[-1] == texture.shape[-1]
        assert torch.equal(torch.cat([train, held], -1), texture)  # disjoint columns that tile the texture
        assert held.shape[-1] >= 64
    with pytest.raises(ValueError, match="split"):
        paired_data.texture_region(paired_data.textures()[0], "test")


def test_brick_and_gravel_differ_only_in_texture():
    brick, gravel = paired_data.textures()[:2]
    assert torch.allclose(brick.mean((1, 2)), gravel.mean((1, 2)), atol=0.01)
    assert torch.allclose(brick.std((1, 2)), gravel.std((1, 2)), atol=0.03)


def test_augmentation_flips_input_target_and_labels_identically():
    coded, photos, labels = paired_data.pairs(16, seed=3)
    torch.manual_seed(1)
    a_coded, a_photos, a_labels = paired_data.augmentation()(coded, photos, labels[:, None].float())
    assert torch.equal(paired_data.to_labels(a_coded), a_labels[:, 0].round().long())
    flipped = 0
    for i in range(16):  # find the flip that maps the input, and check it maps the target the same way
        for dims in ([], [-1], [-2], [-2, -1]):
            if torch.equal(coded[i].flip(dims) if dims else coded[i], a_coded[i]):
                assert torch.allclose(photos[i].flip(dims) if dims else photos[i], a_photos[i])
                flipped += bool(dims)
                break
        else:
            raise AssertionError(f"sample {i}: the input was not flipped")
    assert flipped > 0


def test_pair_stream_is_reproducible_and_new_each_epoch():
    stream = paired_data.PairStream(batch_size=2, steps=2, seed=5)
    a = [b[1] for b in stream]
    b = [b[1] for b in stream]
    stream.epoch = 1
    c = [b[1] for b in stream]
    assert all(torch.equal(u, v) for u, v in zip(a, b)) and not torch.equal(a[0], c[0])


# ---------------------------------------------------------------- recipe, checkpoints, benchmark
def test_recipe_smoke(tmp_path):
    from course_lib.recipes import pix2pix as recipe
    for variant in ("fcn", "l1", "l1cgan-noskip"):
        out = tmp_path / f"{variant}.pt"
        assert recipe.main(["--fast", "--variant", variant, "--out", str(out)]) == 0
        model, meta = load_model(out)
        assert meta["metrics"]["variant"] == variant and meta["metrics"]["steps"] == recipe.FAST["steps"]
    assert model.skips is False and "val_psnr" in meta["metrics"]


@pytest.mark.parametrize("variant", ["l1", "l1cgan"])
def test_shipped_checkpoint_reproduces_its_recorded_numbers(variant):
    G, meta = load_model(f"pix2pix_{variant}")
    segmenter = load_model("pix2pix_fcn")[0]
    coded, photos, labels = paired_data.heldout()
    now = pix2pix.evaluate(G, coded, photos, labels, segmenter)
    for key in ("psnr", "sharpness", "pixel_acc"):
        assert abs(now[key] - meta["metrics"][f"val_{key}"]) < 1e-3, (key, now[key], meta["metrics"])


def test_fcn_scorer_reads_real_photos_well():
    segmenter, meta = load_model("pix2pix_fcn")
    assert meta["metrics"]["real_pixel_acc"] > 0.8


def test_benchmark_fast(capsys):
    from course_lib.benchmarks import pix2pix as bench
    assert bench.main(["--n", "8", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "L1 + cGAN" in out and "ratio" in out and "real photos" in out


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ("l09_unet", UNetNoSkips, "skip connections"),
    ("l09_unet", UNetAddSkips, "skip connections"),
    ("l09_unet", UNetNoDropout, "Dropout"),
    ("l09_unet", UNetTanhRange, "[0, 1]"),
    ("l09_unet", UNetUpsampleConv, "transposed convolutions"),
    ("l09_patchgan", OneLogit, "not one per image"),
    ("l09_patchgan", SigmoidAtTheEnd, "without a sigmoid"),
    ("l09_patchgan", OneLogitLinear, "no linear layer"),
    ("l09_patchgan", Unconditional, "torch.cat([x, y], 1)"),
    ("l09_patchgan", ThreeByThree, "4x4 kernels"),
    ("l09_train_step", l1_on_input, "distance between G(x) and the target y"),
    ("l09_train_step", lambda_on_gan, "plus lam times the L1"),
    ("l09_train_step", no_detach, "detach"),
    ("l09_train_step", no_detach_plain, "detach"),
    ("l09_train_step", not_halved, "halved"),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
