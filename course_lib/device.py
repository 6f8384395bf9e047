"""Device choice, seeding, mixed precision and memory format, so one notebook runs on CUDA, MPS or CPU.

- get_device: CUDA > MPS > CPU, overridable with COURSE_DEVICE=cpu|cuda|mps|cuda:1.
- autocast / grad_scaler: torch.amp mixed precision (bf16 or fp16 on CUDA, fp16 on MPS, off on CPU unless asked:
  `cpu_bf16=True`, for CPUs that multiply bfloat16 natively).
- prepare: move a model to the device, channels_last on CUDA where convolutions run faster in NHWC.
- setup: the first call of every notebook (`course_lib.setup`): seed, device, and what mode we are in.
"""
import contextlib
import random

import numpy as np
import torch

from . import env


def get_device(prefer: str | None = None) -> torch.device:
    """The best available device, or `prefer` / $COURSE_DEVICE if given."""
    choice = prefer or env.device()
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"COURSE_DEVICE={choice!r} but CUDA is not available here; unset it or use 'cpu'.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"COURSE_DEVICE={choice!r} but MPS is not available here; unset it or use 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    """The accelerator's own name for a CUDA device (e.g. 'NVIDIA H200'), else 'CPU' or 'MPS'."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type.upper()


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS


def amp_dtype(device: torch.device, cpu_bf16: bool = False) -> torch.dtype | None:
    """The autocast dtype for a device, or None where mixed precision does not pay off: on a CPU by default, since
    most CPUs emulate bfloat16 arithmetic. `cpu_bf16=True` asks for bfloat16 on a CPU too; it pays where the CPU
    multiplies bfloat16 in hardware (Intel AMX / AVX512-BF16: the course's 2-core machine trains lesson 10's U-Net
    about twice as fast with it)."""
    if not env.amp():
        return None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_bf16 else None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return None


def autocast(device: torch.device, cpu_bf16: bool = False):
    """`with autocast(device):` runs the forward pass in mixed precision where it helps (amp_dtype)."""
    dtype = amp_dtype(device, cpu_bf16)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling is needed for fp16 only; a disabled scaler is a no-op otherwise."""
    return torch.amp.GradScaler(device.type, enabled=amp_dtype(device) == torch.float16)


def prepare(model: torch.nn.Module, device: torch.device, channels_last: bool | None = None) -> torch.nn.Module:
    """Move `model` to `device`; use channels_last (NHWC) on CUDA unless told otherwise."""
    if channels_last is None:
        channels_last = device.type == "cuda"
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def to_device(batch, device: torch.device):
    """Move a tensor, or a tuple/list/dict of tensors, to `device`."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def setup(seed: int = 0) -> torch.device:
    """First call of every notebook: seed everything, pick the device, say what mode we are in."""
    from . import __version__

    seed_everything(seed)
    device = get_device()
    mode = ("FAST (COURSE_FAST=1: small data, few steps)" if env.FAST
            else "FULL (real training; COURSE_FAST=1 for a quick run)")
    print(f"course_lib {__version__} | torch {torch.__version__} | device: {device} | mode: {mode} | seed: {seed}")
    return device
