"""Checkpoints: a model's state_dict plus the metadata needed to rebuild it.

A file holds {"format", "model" (import path of the class), "config" (its constructor kwargs),
"course_lib_version", "metrics", "state_dict"}. Loading uses `torch.load(weights_only=True)`, so
a checkpoint can hold tensors and plain data only, never code. Every failure says what to do.
"""
import importlib
import os
from pathlib import Path

import torch

from . import __version__
from .env import CHECKPOINT_DIR

FORMAT = "course_lib.checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not match the model."""


def class_path(model: torch.nn.Module) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def save_checkpoint(path, model: torch.nn.Module, config: dict, metrics: dict | None = None) -> Path:
    """Write `model`'s weights and metadata to `path` atomically (a crash never leaves half a file).

    Under torchrun only rank 0 writes, and a DistributedDataParallel wrapper is saved as the plain model.
    """
    from . import distributed

    path, model = Path(path), distributed.unwrap(model)
    if not distributed.is_main():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model": class_path(model),
        "config": dict(config),
        "course_lib_version": __version__,
        "torch_version": str(torch.__version__),
        "metrics": dict(metrics or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def resolve(path) -> Path:
    """A path as given, or the name of a checkpoint shipped in course_lib/checkpoints/."""
    path = Path(path)
    if not path.exists() and (CHECKPOINT_DIR / path).exists():
        return CHECKPOINT_DIR / path
    if not path.exists() and (CHECKPOINT_DIR / f"{path}.pt").exists():
        return CHECKPOINT_DIR / f"{path}.pt"
    return path


def read_checkpoint(path) -> dict:
    """Read and validate a checkpoint file, with a clear error for missing or corrupt files."""
    path = resolve(path)
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in CHECKPOINT_DIR.glob("*.pt"))) or "none"
        raise CheckpointError(f"No checkpoint at {path}. Shipped checkpoints: {shipped}. "
                              "Train one with `python -m course_lib.train --help`.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__}: {err}). "
                              "It may be truncated or not a course_lib file: restore it with "
                              "`git checkout -- <file>` or retrain it with `python -m course_lib.train`.") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a course_lib checkpoint (no '{FORMAT}' header). "
                              "Save checkpoints with course_lib.checkpoint.save_checkpoint.")
    return payload


def load_weights(model: torch.nn.Module, path) -> dict:
    """Load a checkpoint's weights into an existing `model`; return the metadata."""
    payload = read_checkpoint(path)
    if payload["model"] != class_path(model):
        raise CheckpointError(f"{path} holds a {payload['model']}, not a {class_path(model)}. "
                              "Load it into the model class it was saved from (or use load_model).")
    own = model.state_dict()
    missing = sorted(set(own) - set(payload["state_dict"]))
    unexpected = sorted(set(payload["state_dict"]) - set(own))
    wrong = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
             for k, v in payload["state_dict"].items() if k in own and v.shape != own[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{path} does not match this {type(model).__name__} (config in file: {payload['config']}).\n"
            f"  missing keys: {missing[:5]}\n  unexpected keys: {unexpected[:5]}\n  shape mismatches: {wrong[:5]}\n"
            "Build the model with the checkpoint's config, e.g. course_lib.checkpoint.load_model(path).")
    model.load_state_dict(payload["state_dict"])
    return {k: v for k, v in payload.items() if k != "state_dict"}


def load_model(path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the model a checkpoint was saved from (a course_lib class), load weights, eval mode."""
    payload = read_checkpoint(path)
    module_name, _, class_name = payload["model"].rpartition(".")
    if not module_name.startswith("course_lib."):
        raise CheckpointError(f"{path} names the class {payload['model']}; load_model only builds course_lib "
                              "models. Build the model yourself and call load_weights(model, path).")
    cls = getattr(importlib.import_module(module_name), class_name)
    model = cls(**payload["config"])
    meta = load_weights(model, path)
    return model.to(device).eval(), meta


def training_runs(metrics: dict) -> list[dict]:
    """The training runs behind a checkpoint's metrics, oldest first: a run started from another checkpoint
    (`--init`) keeps that checkpoint's metrics as `init_metrics`, so both are listed."""
    return (training_runs(metrics["init_metrics"]) if metrics.get("init_metrics") else []) + [metrics]


def describe(name: str, meta: dict) -> str:
    """One line on how a model was trained, from its metadata (load_model's second value): width, schedule or
    objective (if recorded), device, each run's steps, batch, minutes, load average before it and bfloat16 autocast on a
    CPU (recipe setting cpu_bf16), and the final loss."""
    m = meta["metrics"]

    def run(r):
        load = f", load {r['load_before'][0]:.1f} before" if r.get("load_before") else ""
        bf16 = ", bfloat16 autocast" if r["recipe"].get("cpu_bf16") and r.get("device_name") == "CPU" else ""
        minutes = f"{r['train_seconds'] / 60:.1f} min"
        return f"{r['steps']} steps of batch {r['recipe']['batch_size']} ({minutes}{load}{bf16})"
    schedule = f", {m['schedule']} schedule" if m.get("schedule") else f", {m['objective']}" if m.get("objective") else ""
    return (f"{name}: {meta['config']['channels']} channels{schedule}, on {m['device_name']}: "
            + " then ".join(run(r) for r in training_runs(m)) + f"; final loss {m['loss']:.4f}")
