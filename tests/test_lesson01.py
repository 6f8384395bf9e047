"""Hidden tests of lesson 01: each exercise passes on the solution, fails on the stub and on plausible mistakes;
course_lib.conv agrees with PyTorch on random shapes."""
import pytest
import torch
import torch.nn.functional as F

from course_lib import conv
from grading import assert_first_message_names, assert_solution_passes, assert_stub_fails, assert_wrong_fails

NB = "01_tensors_and_convolution.ipynb"


# ---------------------------------------------------------------- l01_conv2d
def test_conv2d_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l01_conv2d")
    assert_stub_fails(NB, "l01_conv2d")


def _taps(x, weight, stride, padding):
    """Yield ((u, v), strided input slice) for every kernel tap, as the correct implementation does."""
    n, c, h, w = x.shape
    _, _, kh, kw = weight.shape
    oh, ow = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    x = F.pad(x, (padding,) * 4)
    for u in range(kh):
        for v in range(kw):
            yield (u, v), x[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]


def _correlate(x, weight, bias, stride, padding):
    out = sum(torch.einsum("nchw,oc->nohw", patch, weight[:, :, u, v])
              for (u, v), patch in _taps(x, weight, stride, padding))
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv_true_convolution(x, weight, bias=None, stride=1, padding=0):  # flips the kernel (signal processing)
    return _correlate(x, weight.flip(-2, -1), bias, stride, padding)


def conv_transposed_kernel(x, weight, bias=None, stride=1, padding=0):  # swaps kernel rows and columns (u, v)
    return _correlate(x, weight.transpose(-2, -1), bias, stride, padding)


def conv_transposed_taps(x, weight, bias=None, stride=1, padding=0):  # the solution with weight[:, :, v, u]
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    x = F.pad(x, (padding, padding, padding, padding))
    oh, ow = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    out = x.new_zeros(n, o, oh, ow)
    for u in range(kh):
        for v in range(kw):
            patch = x[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]
            out += torch.einsum("nchw,oc->nohw", patch, weight[:, :, v, u])  # IndexError when kH != kW
    return out if bias is None else out + bias.view(1, o, 1, 1)


def conv_padding_off_by_one(x, weight, bias=None, stride=1, padding=0):  # pads p - 1 pixels on each side
    return _correlate(x, weight, bias, stride, max(padding - 1, 0))


def conv_pads_one_side(x, weight, bias=None, stride=1, padding=0):  # pads 2p at the bottom/right only
    x = F.pad(x, (0, 2 * padding, 0, 2 * padding))
    return _correlate(x, weight, bias, stride, 0)


def conv_ignores_stride(x, weight, bias=None, stride=1, padding=0):
    return _correlate(x, weight, bias, 1, padding)


def conv_stride_subsamples_wrong_phase(x, weight, bias=None, stride=1, padding=0):  # right size, shifted grid
    full = _correlate(x, weight, bias, 1, padding)
    oh = (x.shape[-2] + 2 * padding - weight.shape[-2]) // stride + 1
    ow = (x.shape[-1] + 2 * padding - weight.shape[-1]) // stride + 1
    full = F.pad(full, (0, stride, 0, stride))
    return full[..., stride - 1::stride, stride - 1::stride][..., :oh, :ow]


def conv_zeros(x, weight, bias=None, stride=1, padding=0):  # the right shape, nothing computed
    return torch.zeros_like(_correlate(x, weight, bias, stride, padding))


def conv_ignores_bias(x, weight, bias=None, stride=1, padding=0):
    return _correlate(x, weight, None, stride, padding)


def conv_first_channel_only(x, weight, bias=None, stride=1, padding=0):
    return _correlate(x[:, :1], weight[:, :1], bias, stride, padding)


def conv_output_size_ceil(x, weight, bias=None, stride=1, padding=0):  # ceil((H + 2p - k)/s) + 1 output pixels
    x = F.pad(x, (0, stride - 1, 0, stride - 1))  # the extra zeros let one more window start
    return _correlate(x, weight, bias, stride, padding)


def conv_no_defaults(x, weight, bias, stride, padding):  # the contract's defaults left out
    return _correlate(x, weight, bias, stride, padding)


def conv_through_conv3d(x, weight, bias=None, stride=1, padding=0):  # a library convolution by another name
    return F.conv3d(x[:, :, None], weight[:, :, None], bias, (1, stride, stride), (0, padding, padding))[:, :, 0]


def test_conv2d_wrong_implementations_fail():
    assert_wrong_fails("l01_conv2d", conv_true_convolution, because="no flipping")
    assert_wrong_fails("l01_conv2d", conv_transposed_kernel, because="non-square kernels")
    assert_wrong_fails("l01_conv2d", conv_transposed_kernel, because="no flipping")
    assert_wrong_fails("l01_conv2d", conv_transposed_taps, because="no flipping")
    assert_wrong_fails("l01_conv2d", conv_padding_off_by_one, because="output shape")
    assert_wrong_fails("l01_conv2d", conv_padding_off_by_one, because="zero padding")
    assert_wrong_fails("l01_conv2d", conv_pads_one_side, because="zero padding")
    assert_wrong_fails("l01_conv2d", conv_ignores_stride, because="output shape")
    assert_wrong_fails("l01_conv2d", conv_ignores_stride, because="values with stride")
    assert_wrong_fails("l01_conv2d", conv_stride_subsamples_wrong_phase, because="values with stride")
    assert_wrong_fails("l01_conv2d", conv_zeros, because="stride 1, padding 0")
    assert_wrong_fails("l01_conv2d", conv_ignores_bias, because="bias")
    assert_wrong_fails("l01_conv2d", conv_first_channel_only, because="multi-channel")
    assert_wrong_fails("l01_conv2d", conv_output_size_ceil, because="output shape")
    assert_wrong_fails("l01_conv2d", conv_no_defaults, because="stride 1, padding 0")
    assert_wrong_fails("l01_conv2d", conv_through_conv3d, because="output shape")


def test_conv2d_messages_do_not_reveal_values():
    from grading import failed_tests
    for wrong in (conv_true_convolution, conv_ignores_bias, conv_zeros):
        for message in failed_tests("l01_conv2d", wrong).values():
            assert "tensor(" not in message and "expected" not in message.lower(), message


# ---------------------------------------------------------------- l01_maxpool2d
def test_maxpool2d_solution_passes_and_stub_fails():
    assert_solution_passes(NB, "l01_maxpool2d")
    assert_stub_fails(NB, "l01_maxpool2d")


def _windows(x, kernel, stride):  # (N,C,H',W',k,k): wrong implementations must not use F.max_pool2d either
    return x.unfold(-2, kernel, stride).unfold(-2, kernel, stride)


def pool_stride_one_default(x, kernel, stride=None):  # forgets that stride defaults to kernel
    return _windows(x, kernel, stride or 1).amax((-2, -1))


def pool_average(x, kernel, stride=None):
    return F.avg_pool2d(x, kernel, stride)


def pool_max_of_abs(x, kernel, stride=None):
    return _windows(x.abs(), kernel, stride or kernel).amax((-2, -1))


def pool_ignores_stride(x, kernel, stride=None):
    return _windows(x, kernel, kernel).amax((-2, -1))


def pool_default_stride_one(x, kernel, stride=1):  # handles None, but the default it declares is 1
    return _windows(x, kernel, stride or kernel).amax((-2, -1))


def pool_no_default(x, kernel, stride):  # the contract's default left out: maxpool2d(small, 4) would crash
    return _windows(x, kernel, stride or kernel).amax((-2, -1))


def pool_with_indices(x, kernel, stride=None):  # a library max pooling by another name
    return F.max_pool2d_with_indices(x, kernel, stride)[0]


def test_maxpool2d_wrong_implementations_fail():
    assert_wrong_fails("l01_maxpool2d", pool_stride_one_default, because="default stride")
    assert_wrong_fails("l01_maxpool2d", pool_average, because="maximum of each window")
    assert_wrong_fails("l01_maxpool2d", pool_max_of_abs, because="negative inputs")
    assert_wrong_fails("l01_maxpool2d", pool_ignores_stride, because="output shape")
    assert_wrong_fails("l01_maxpool2d", pool_default_stride_one, because="default stride")
    assert_wrong_fails("l01_maxpool2d", pool_no_default, because="default stride")
    assert_wrong_fails("l01_maxpool2d", pool_with_indices, because="output shape")


# ---------------------------------------------------------------- one bug, one message
FIRST_MESSAGES = [  # (exercise, wrong implementation, what the first failing test must name)
    ("l01_conv2d", conv_true_convolution, "your kernel looks flipped"),
    ("l01_conv2d", conv_transposed_kernel, "your kernel looks transposed"),
    ("l01_conv2d", conv_transposed_taps, "your kernel looks transposed"),  # passes the basic test
    ("l01_conv2d", conv_padding_off_by_one, "output shape"),
    ("l01_conv2d", conv_pads_one_side, "pad p zeros on every side"),
    ("l01_conv2d", conv_ignores_stride, "output shape"),
    ("l01_conv2d", conv_stride_subsamples_wrong_phase, "starts at input (s*i, s*j)"),
    ("l01_conv2d", conv_zeros, "stride 1, padding 0"),
    ("l01_conv2d", conv_ignores_bias, "add bias[o]"),
    ("l01_conv2d", conv_first_channel_only, "sum over all input channels"),
    ("l01_conv2d", conv_output_size_ceil, "output size formula"),
    ("l01_conv2d", conv_no_defaults, "required positional argument"),
    ("l01_conv2d", conv_through_conv3d, "F.conv3d, which the contract forbids"),
    ("l01_maxpool2d", pool_stride_one_default, "stride defaults to kernel"),
    ("l01_maxpool2d", pool_average, "maximum of each window"),
    ("l01_maxpool2d", pool_max_of_abs, "negative inputs"),
    ("l01_maxpool2d", pool_ignores_stride, "output shape"),
    ("l01_maxpool2d", pool_default_stride_one, "stride defaults to kernel"),
    ("l01_maxpool2d", pool_no_default, "required positional argument: 'stride'"),
    ("l01_maxpool2d", pool_with_indices, "F.max_pool2d_with_indices, which the contract forbids"),
]


@pytest.mark.parametrize("exercise_id, wrong, mistake", FIRST_MESSAGES, ids=lambda v: getattr(v, "__name__", None))
def test_the_first_message_names_the_mistake(exercise_id, wrong, mistake):
    assert_first_message_names(exercise_id, wrong, mistake)


@pytest.mark.parametrize("wrong", [conv_transposed_taps, conv_true_convolution, conv_pads_one_side],
                         ids=lambda f: f.__name__)
def test_one_bug_one_message_when_the_basic_test_passes(wrong):
    """A bug that fails several value tests (transposed taps: no flipping, multi-channel, padding, stride, bias,
    non-square kernels) prints one hint, its first failure's; the others are marked as sharing its cause."""
    from course_lib.selfcheck import report, run_checks
    results = run_checks("l01_conv2d", wrong)
    assert results[0].status == "pass" and sum(r.status != "pass" for r in results) >= 2
    lines = report(results)
    failed = [line for line in lines if line.startswith("  [FAIL]")]
    hinted = [line for line in failed if not line.endswith("(may share the cause above)")]
    assert len(hinted) == 1 and failed[0] == hinted[0], lines
    assert any(line.startswith("  Fix this first") for line in lines), lines


def test_a_forbidden_call_fails_the_check_with_its_name():
    from course_lib.selfcheck import run_checks
    results = run_checks("l01_conv2d", lambda x, w, b=None, stride=1, padding=0: F.conv2d(x, w, b, stride, padding))
    assert all(r.status == "fail" and "F.conv2d, which the contract forbids" in r.message for r in results)
    results = run_checks("l01_maxpool2d", lambda x, k, s=None: torch.nn.MaxPool2d(k, s)(x))
    assert all("nn.MaxPool2d" in r.message for r in results), [r.message for r in results]


# ---------------------------------------------------------------- course_lib.conv itself
def test_reference_conv2d_matches_pytorch_on_random_shapes():
    g = torch.Generator().manual_seed(1)
    for _ in range(60):
        n, c, o = (int(v) for v in torch.randint(1, 5, (3,), generator=g))
        kh, kw = (int(v) for v in torch.randint(1, 6, (2,), generator=g))
        s, p = int(torch.randint(1, 4, (1,), generator=g)), int(torch.randint(0, 3, (1,), generator=g))
        h = int(torch.randint(max(kh - 2 * p, 1), 14, (1,), generator=g))
        w = int(torch.randint(max(kw - 2 * p, 1), 14, (1,), generator=g))
        x, wt = torch.randn(n, c, h, w, generator=g), torch.randn(o, c, kh, kw, generator=g)
        b = torch.randn(o, generator=g) if torch.rand(1, generator=g) < 0.5 else None
        ours = conv.conv2d(x, wt, b, stride=s, padding=p)
        ref = F.conv2d(x, wt, b, stride=s, padding=p)
        assert ours.shape == ref.shape, (x.shape, wt.shape, s, p)
        torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
        assert conv.output_size(h, kh, s, p) == ref.shape[-2] and conv.output_size(w, kw, s, p) == ref.shape[-1]


def test_reference_conv2d_gradients_match_pytorch():
    x = torch.randn(2, 3, 8, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    grads = torch.autograd.grad(conv.conv2d(x, w, b, 2, 1).square().sum(), (x, w, b))
    expected = torch.autograd.grad(F.conv2d(x, w, b, 2, 1).square().sum(), (x, w, b))
    for ours, ref in zip(grads, expected):
        torch.testing.assert_close(ours, ref)


def test_reference_conv2d_rejects_channel_mismatch():
    with pytest.raises(ValueError, match="channels"):
        conv.conv2d(torch.randn(1, 3, 5, 5), torch.randn(2, 1, 3, 3))


def test_reference_maxpool2d_matches_pytorch():
    g = torch.Generator().manual_seed(2)
    for _ in range(30):
        k = int(torch.randint(1, 5, (1,), generator=g))
        s = int(torch.randint(1, 5, (1,), generator=g)) if torch.rand(1, generator=g) < 0.7 else None
        h, w = (int(v) for v in torch.randint(k, 15, (2,), generator=g))
        x = torch.randn(2, 3, h, w, generator=g)
        assert torch.equal(conv.maxpool2d(x, k, s), F.max_pool2d(x, k, s))


@pytest.mark.parametrize("layers", [[(3, 1)] * 4, [(3, 2)] * 4, [(5, 1), (2, 2), (3, 1), (2, 2), (3, 1)]])
def test_receptive_field_matches_autograd(layers):
    """The formula equals the support of d(centre output)/d(input) through real convolutions."""
    x = torch.zeros(1, 1, 96, 96, requires_grad=True)
    y = x
    for k, s in layers:
        y = F.conv2d(y, torch.ones(1, 1, k, k), stride=s)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    cols = (x.grad[0, 0] != 0).any(0).nonzero()
    assert conv.receptive_field(layers)[-1] == int(cols.max() - cols.min() + 1)


def test_receptive_field_known_values():
    assert conv.receptive_field([(3, 1)] * 3) == [3, 5, 7]
    assert conv.receptive_field([(3, 2)] * 3) == [3, 7, 15]
