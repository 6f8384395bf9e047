"""Hidden tests of lesson 08 (SRResNet and SRGAN): exercises pass on the solution, fail on the stub and on
plausible mistakes; the models, the content-loss fallback and the training recipe."""
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import srgan
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "08_srresnet_srgan.ipynb"


# ---------------------------------------------------------------- l08_residual_block
def test_residual_block_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l08_residual_block")
    assert_stub_fails(NB, "l08_residual_block")


def _body(width):
    return nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.PReLU(width),
                         nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))


class BlockWithoutSkip(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.body = _body(width)

    def forward(self, x):
        return self.body(x)


class BlockBNAfterSum(nn.Module):  # the batch norm moved behind the addition
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  nn.PReLU(width), nn.Conv2d(width, width, 3, padding=1, bias=False))
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x):
        return self.bn(x + self.body(x))


class BlockReLUAfterSum(nn.Module):  # the original ResNet block: activation after the addition
    def __init__(self, width):
        super().__init__()
        self.body = _body(width)

    def forward(self, x):
        return F.relu(x + self.body(x))


class BlockActivationLast(nn.Module):  # conv-BN-conv-BN-PReLU: activation at the end of the body
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  nn.PReLU(width))

    def forward(self, x):
        return x + self.body(x)


class BlockNoPadding(BlockWithoutSkip):
    def __init__(self, width):
        super().__init__(width)
        self.body[0].padding = self.body[3].padding = (0, 0)

    def forward(self, x):
        return x[..., 2:-2, 2:-2] + self.body(x)


def test_residual_block_wrong_implementations_fail():
    assert_wrong_fails("l08_residual_block", BlockWithoutSkip, because="identity skip")
    assert_wrong_fails("l08_residual_block", BlockBNAfterSum, because="identity skip")
    assert_wrong_fails("l08_residual_block", BlockReLUAfterSum, because="nothing after the sum")
    assert_wrong_fails("l08_residual_block", BlockActivationLast, because="BN(conv(PReLU")
    assert_wrong_fails("l08_residual_block", BlockNoPadding, because="shape")


# ---------------------------------------------------------------- l08_upsample
def test_upsample_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l08_upsample")
    assert_stub_fails(NB, "l08_upsample")


def upsample_interpolate(width, factor=2):  # enlarge first, then a conv: what PixelShuffle avoids
    return nn.Sequential(nn.Upsample(scale_factor=factor, mode="nearest"), nn.Conv2d(width, width, 3, padding=1),
                         nn.PReLU(width))


def upsample_wrong_channels(width, factor=2):  # factor instead of factor^2 times the channels
    return nn.Sequential(nn.Conv2d(width, width * factor, 3, padding=1), nn.PixelShuffle(factor), nn.PReLU())


def upsample_hardcoded_4(width, factor=2):
    return nn.Sequential(nn.Conv2d(width, width * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())


def upsample_relu(width, factor=2):  # ReLU instead of the learned-slope PReLU
    return nn.Sequential(nn.Conv2d(width, width * factor**2, 3, padding=1), nn.PixelShuffle(factor), nn.ReLU())


def upsample_no_activation(width, factor=2):
    return nn.Sequential(nn.Conv2d(width, width * factor**2, 3, padding=1), nn.PixelShuffle(factor))


class ShuffleByReshape(nn.Module):  # a "pixel shuffle" that forgets the permute: pixels land in wrong places
    def __init__(self, width, factor=2):
        super().__init__()
        self.conv, self.act, self.factor = nn.Conv2d(width, width * factor**2, 3, padding=1), nn.PReLU(), factor

    def forward(self, x):
        y = self.conv(x)
        b, _, h, w = y.shape
        return self.act(y.reshape(b, -1, h * self.factor, w * self.factor))


def upsample_shuffle_wrapped(width, factor=2):
    block = ShuffleByReshape(width, factor)
    block.shuffle = nn.PixelShuffle(factor)  # registered, but not used in forward
    return block


def test_upsample_wrong_implementations_fail():
    assert_wrong_fails("l08_upsample", upsample_interpolate, because="no interpolation")
    assert_wrong_fails("l08_upsample", upsample_wrong_channels, because="factor H")
    assert_wrong_fails("l08_upsample", upsample_hardcoded_4, because="factor H")
    assert_wrong_fails("l08_upsample", upsample_relu, because="activation last")
    assert_wrong_fails("l08_upsample", upsample_no_activation, because="activation last")
    assert_wrong_fails("l08_upsample", upsample_shuffle_wrapped, because="sub-pixel layout")


def test_upsample_contract_forbids_interpolation_in_the_source():
    """The contract's "No nn.Upsample / F.interpolate" is declared, so the grader flags it in the cell's source."""
    from course_lib import contracts
    from course_lib.selfcheck import get
    forbidden = get("l08_upsample").forbidden
    imports = "import torch.nn.functional as F\nfrom torch import nn"
    cell = ("def upsample_block(width, factor=2):\n"
            "    return nn.Sequential(nn.Upsample(scale_factor=factor), nn.Conv2d(width, width, 3, padding=1))")
    assert contracts.static_violations(cell, imports, forbidden) == ["uses nn.Upsample"]
    assert contracts.static_violations(cell.replace("nn.Upsample(", "F.interpolate("), imports, forbidden) \
        == ["uses F.interpolate"]


# ---------------------------------------------------------------- l08_generator_loss
def test_generator_loss_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l08_generator_loss")
    assert_stub_fails(NB, "l08_generator_loss")


def loss_saturating(sr, hr, logits, adv_weight=1e-3):  # minimax log(1 - D(G(z)))
    return F.mse_loss(sr, hr) - adv_weight * F.softplus(logits).mean()


def loss_wrong_sign(sr, hr, logits, adv_weight=1e-3):  # rewards D for rejecting SR
    return F.mse_loss(sr, hr) - adv_weight * F.softplus(-logits).mean()


def loss_unweighted(sr, hr, logits, adv_weight=1e-3):
    return F.mse_loss(sr, hr) + F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def loss_from_probabilities(sr, hr, logits, adv_weight=1e-3):  # log(sigmoid): -inf for confident D
    return F.mse_loss(sr, hr) - adv_weight * torch.log(torch.sigmoid(logits)).mean()


def loss_bce_on_probabilities(sr, hr, logits, adv_weight=1e-3):  # F.binary_cross_entropy clamps log at -100
    p = torch.sigmoid(logits)
    return F.mse_loss(sr, hr) + adv_weight * F.binary_cross_entropy(p, torch.ones_like(p))


def loss_sum_content(sr, hr, logits, adv_weight=1e-3):
    return F.mse_loss(sr, hr, reduction="sum") + adv_weight * F.softplus(-logits).mean()


def loss_detached(sr, hr, logits, adv_weight=1e-3):
    return (F.mse_loss(sr, hr) + adv_weight * F.softplus(-logits).mean()).detach()


def test_generator_loss_wrong_implementations_fail():
    assert_wrong_fails("l08_generator_loss", loss_saturating, because="non-saturating")
    assert_wrong_fails("l08_generator_loss", loss_wrong_sign, because="adversarial term")
    assert_wrong_fails("l08_generator_loss", loss_unweighted, because="default weight")
    assert_wrong_fails("l08_generator_loss", loss_from_probabilities, because="does not vanish")
    assert_wrong_fails("l08_generator_loss", loss_bce_on_probabilities, because="does not vanish")
    assert_wrong_fails("l08_generator_loss", loss_sum_content, because="content term")
    assert_wrong_fails("l08_generator_loss", loss_detached, because="gradients")


# ---------------------------------------------------------------- models
@pytest.mark.parametrize("preset", sorted(srgan.PRESETS))
def test_generator_and_discriminator_shapes(preset):
    G = srgan.SRResNet(scale=4, **srgan.PRESETS[preset]["generator"])
    D = srgan.Discriminator(**srgan.PRESETS[preset]["discriminator"])
    lr = torch.rand(2, 3, 12, 10)
    with torch.no_grad():
        sr = G(lr)
        assert sr.shape == (2, 3, 48, 40)
        for size in [(48, 40), (96, 96), (33, 17)]:  # adaptive pooling: any patch size
            assert D(torch.rand(2, 3, *size)).shape == (2,)
    blocks = sum(isinstance(m, srgan.ResidualBlock) for m in G.modules())
    assert blocks == srgan.PRESETS[preset]["generator"]["blocks"]
    assert sum(isinstance(m, nn.PixelShuffle) for m in G.modules()) == 2
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == \
        [D.convs[0][0].out_channels * k for k in (1, 1, 2, 2, 4, 4, 8, 8)]
    assert [m.stride[0] for m in D.modules() if isinstance(m, nn.Conv2d)] == [1, 2] * 4


def test_paper_preset_matches_the_paper():
    G = srgan.SRResNet(4, **srgan.PRESETS["paper"]["generator"])
    assert G.head[0].kernel_size == (9, 9) and G.tail.kernel_size == (9, 9) and G.head[0].out_channels == 64
    assert sum(p.numel() for p in G.parameters()) == pytest.approx(1.55e6, rel=0.01)  # SRResNet's ~1.5M
    D = srgan.Discriminator(**srgan.PRESETS["paper"]["discriminator"])
    assert D.head[2].out_features == 1024 and D.convs[-1][0].out_channels == 512


def test_batch_norm_option():
    """The paper's blocks have batch norm; the CPU preset drops it (EDSR) and uses biases instead."""
    with_bn, without = srgan.SRResNet(4, blocks=2, width=8), srgan.SRResNet(4, blocks=2, width=8, batch_norm=False)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 2 * 2 + 1
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())
    assert all(m.bias is not None for m in without.body.modules() if isinstance(m, nn.Conv2d))
    assert srgan.PRESETS["paper"]["generator"].get("batch_norm", True)
    block = srgan.ResidualBlock(8, batch_norm=False).eval()
    nn.init.zeros_(block.body[3].weight), nn.init.zeros_(block.body[3].bias)
    x = torch.randn(1, 8, 5, 5)
    assert torch.equal(block(x), x)  # still x + body(x)


def test_bicubic_skip_starts_as_bicubic():
    G = srgan.SRResNet(4, blocks=1, width=8, bicubic_skip=True, batch_norm=False).eval()
    lr = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        expected = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
        assert torch.allclose(G(lr), expected, atol=1e-6)


def test_generator_rejects_unsupported_scale():
    with pytest.raises(ValueError, match="scale"):
        srgan.SRResNet(scale=3)


def test_sr_eval_convention():
    from course_lib import sr_eval
    G = srgan.SRResNet(4, **srgan.PRESETS["cpu"]["generator"]).eval()
    assert G.scale == 4 and G.channels == 3 and not G.upsample_first
    out = sr_eval.super_resolve(G, torch.rand(3, 8, 9), 4)
    assert out.shape == (3, 32, 36) and 0 <= out.min() and out.max() <= 1


def test_sharpness_ratio():
    hr = torch.rand(3, 32, 32)
    blurred = F.avg_pool2d(hr[None], 3, 1, 1)[0]
    assert srgan.sharpness_ratio(hr, hr) == pytest.approx(1.0)
    assert srgan.sharpness_ratio(blurred, hr) < 0.7


# ---------------------------------------------------------------- content loss: VGG or the offline alternative
@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """A torch hub cache without the VGG19 weights, and any download attempt is an error."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.delenv("COURSE_DOWNLOAD", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path


def test_vgg_weights_are_looked_up_in_the_hub_cache(empty_hub):
    assert srgan.vgg_weights_file() == empty_hub / "checkpoints" / "vgg19-dcbb9e9d.pth"


def test_missing_vgg_weights_give_the_alternative_and_say_so(empty_hub, capsys):
    D = srgan.Discriminator(**srgan.PRESETS["cpu"]["discriminator"])
    phi, what = srgan.content_extractor("auto", D)
    out = capsys.readouterr().out
    assert "not found" in out and "COURSE_DOWNLOAD=1" in out and "discriminator" in out
    assert isinstance(phi, srgan.DiscriminatorContent) and "discriminator" in what
    x = torch.rand(2, 3, 32, 32)
    assert phi(x).shape == (2, 2 * 32, 8, 8)


def test_vgg_required_but_missing_raises_a_clear_error(empty_hub):
    with pytest.raises(srgan.VGGUnavailable, match="COURSE_DOWNLOAD=1"):
        srgan.content_extractor("vgg")


def test_download_only_when_opted_in(empty_hub, monkeypatch):
    calls = []
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: calls.append(url) or
                        (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(srgan.VGGUnavailable):
        srgan.VGGContent()
    assert calls == []  # default: no download attempt
    monkeypatch.setenv("COURSE_DOWNLOAD", "1")
    with pytest.raises(srgan.VGGUnavailable, match="offline"):
        srgan.VGGContent()
    assert len(calls) == 1 and calls[0].endswith("vgg19-dcbb9e9d.pth")


def test_pixel_content_and_bad_kind():
    phi, what = srgan.content_extractor("pixel")
    x = torch.rand(1, 3, 4, 4)
    assert torch.equal(phi(x), x) and "pixel" in what
    with pytest.raises(ValueError, match="content loss"):
        srgan.content_extractor("lpips")


# ---------------------------------------------------------------- training
def test_srgan_step_updates_both_networks_and_keeps_d_trainable():
    torch.manual_seed(0)
    G = srgan.SRResNet(4, blocks=1, width=8)
    D = srgan.Discriminator(width=8, dense=16)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    g0, d0 = [p.clone() for p in G.parameters()], [p.clone() for p in D.parameters()]
    step = srgan.srgan_step(G, D, opt_g, opt_d, srgan.DiscriminatorContent(D))
    metrics = step((torch.rand(2, 3, 8, 8), torch.rand(2, 3, 32, 32)))
    assert {"loss_d", "loss_g", "mse", "d_real", "d_fake"} <= set(metrics)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in metrics.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))
    assert all(p.requires_grad for p in D.parameters())


@pytest.mark.skipif(os.environ.get("COURSE_FAST") != "1", reason="smoke runs are for fast mode")
def test_train_recipes_smoke(tmp_path):
    from course_lib import checkpoint, train
    out = tmp_path / "srresnet.pt"
    assert train.main(["srresnet", "--out", str(out), "--epochs", "1"]) == 0
    model, meta = checkpoint.load_model(out)
    assert isinstance(model, srgan.SRResNet) and {"val_psnr", "val_ssim", "mse"} <= set(meta["metrics"])
    out_gan = tmp_path / "srgan.pt"
    assert train.main(["srgan", "--init", str(out), "--out", str(out_gan), "--epochs", "1",
                       "--content", "disc"]) == 0
    _, meta = checkpoint.load_model(out_gan)
    assert "discriminator" in meta["metrics"]["recipe"]["content_loss"]
    with pytest.raises(ValueError, match="preset"):
        train.main(["srgan", "--init", str(out), "--out", str(out_gan), "--preset", "paper"])


@pytest.mark.parametrize("name", ["srresnet_x4", "srgan_x4"])
def test_shipped_checkpoints_follow_the_sr_convention(name):
    from course_lib import checkpoint
    path = checkpoint.CHECKPOINT_DIR / f"{name}.pt"
    assert path.exists(), f"{name}.pt is not shipped: lesson 08 loads it (python -m course_lib.train {name[:-3]})"
    assert path.stat().st_size < 5e6
    model, meta = checkpoint.load_model(name)
    assert isinstance(model, srgan.SRResNet) and model.scale == 4
    assert {"val_psnr", "val_ssim", "val_sharpness", "recipe"} <= set(meta["metrics"])


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test's description or message names)
    ('l08_generator_loss', loss_saturating, 'non-saturating'),
    ('l08_generator_loss', loss_wrong_sign, 'adversarial term'),
    ('l08_generator_loss', loss_unweighted, 'default weight'),
    ('l08_generator_loss', loss_from_probabilities, 'does not vanish'),
    ('l08_generator_loss', loss_bce_on_probabilities, 'does not vanish'),
    ('l08_generator_loss', loss_sum_content, 'content term'),
    ('l08_generator_loss', loss_detached, 'gradients'),
    ('l08_residual_block', BlockWithoutSkip, 'identity skip'),
    ('l08_residual_block', BlockBNAfterSum, 'identity skip'),
    ('l08_residual_block', BlockReLUAfterSum, 'nothing after the sum'),
    ('l08_residual_block', BlockActivationLast, 'BN(conv(PReLU'),
    ('l08_residual_block', BlockNoPadding, 'shape'),
    ('l08_upsample', upsample_interpolate, 'no interpolation'),
    ('l08_upsample', upsample_wrong_channels, 'factor H'),
    ('l08_upsample', upsample_hardcoded_4, 'factor H'),
    ('l08_upsample', upsample_relu, 'activation last'),
    ('l08_upsample', upsample_no_activation, 'activation last'),
    ('l08_upsample', upsample_shuffle_wrapped, 'sub-pixel layout'),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)
