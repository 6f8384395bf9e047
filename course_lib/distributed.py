"""Multi-process data-parallel training with torchrun and DistributedDataParallel (Li et al., VLDB 2020).

The same script runs alone or as N processes:

    python  -m course_lib.train classifier                         # one process
    torchrun --nproc_per_node=2 -m course_lib.train classifier     # two processes (gloo on CPU, nccl on GPUs)
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=8 -m course_lib.train classifier

Each process sees 1/N of every global batch (a DistributedSampler), DDP averages the gradients, so N processes
with per-process batch B/N take the same steps as one process with batch B. Only rank 0 logs and saves.
"""
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler


def is_distributed() -> bool:
    """True inside a torchrun launch with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Only the main process (rank 0) prints, draws progress bars and writes checkpoints."""
    return rank() == 0


def init(device: torch.device) -> torch.device:
    """Join the process group when launched by torchrun (no-op otherwise); returns this process's device."""
    if not is_distributed() or dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around `model` when distributed, else the model itself."""
    if not dist.is_initialized():
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside a DDP wrapper (what a checkpoint should hold)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def loader(dataset, batch_size: int, shuffle: bool = True, seed: int = 0, **kwargs) -> DataLoader:
    """A DataLoader whose `batch_size` is the GLOBAL batch: each of N processes loads batch_size / N.

    One process uses the same sampler with N = 1, so its batches are exactly the union of the N processes'.
    """
    n = world_size()
    if batch_size % n:
        raise ValueError(f"global batch {batch_size} is not divisible by {n} processes")
    sampler = DistributedSampler(dataset, num_replicas=n, rank=rank(), shuffle=shuffle, seed=seed, drop_last=True)
    return DataLoader(dataset, batch_size=batch_size // n, sampler=sampler, **kwargs)


def mean(value: float) -> float:
    """The mean of a scalar over all processes (e.g. an epoch's loss); the value itself when alone."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(t)
    return t.item() / world_size()


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
