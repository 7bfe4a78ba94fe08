"""Atomic checkpoints that let a run resume exactly where it stopped.

A checkpoint holds the model, optimizer, scheduler and AMP-scaler states, the step, user
``extra`` data and the random-number states (Python, NumPy, torch CPU and every CUDA device), so
that a run resumed from step ``k`` continues identically to one that was never interrupted
(given deterministic kernels and a batch source that depends only on the step or on the
restored random state).

Files are written atomically: to a temporary file in the same folder, flushed and fsynced, then
``os.replace``-d over the target, so a crash never leaves a half-written checkpoint behind.
They are read with ``torch.load(weights_only=True)``, so ``extra`` must hold plain data
(numbers, strings, lists, tuples, dicts, tensors).
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "get_rng_state",
    "load_checkpoint",
    "read_checkpoint",
    "restore_checkpoint",
    "save_checkpoint",
    "set_rng_state",
    "unwrap_model",
]

FORMAT_VERSION = 1


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP/DataParallel wrapper or a ``torch.compile`` result."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def get_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) random states, as plain data and tensors."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        keys = np.asarray(keys.cpu().numpy() if torch.is_tensor(keys) else keys, dtype=np.uint32)
        np.random.set_state((kind, keys, int(pos), int(has_gauss), float(cached)))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = list(state["cuda"])[: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    step: int = 0,
    extra: Mapping[str, Any] | None = None,
    rng_state: bool = True,
    scaler: Any | None = None,
) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: Target file (its folder is created).
        model: The model; DDP/compile wrappers are unwrapped so the file loads into a plain model.
        optimizer: Optimizer whose state (moments, step counts) is saved.
        scheduler: LR scheduler (anything with ``state_dict``).
        step: Number of optimisation steps done so far.
        extra: Plain data to keep alongside (history, config...).
        rng_state: Also save the random states (needed for an identical resume).
        scaler: ``torch.amp.GradScaler`` whose state is saved.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "step": int(step),
        "model": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "extra": dict(extra) if extra is not None else {},
        "rng": get_rng_state() if rng_state else None,
    }
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    map_location: str | torch.device | None = "cpu",
    restore_rng: bool = True,
    scaler: Any | None = None,
) -> dict[str, Any]:
    """Read a checkpoint and restore states in place (:func:`read_checkpoint`, then
    :func:`restore_checkpoint`).

    Args:
        path: File written by :func:`save_checkpoint`.
        model: Module to load the weights into (strict); wrappers are unwrapped.
        optimizer: Optimizer to restore (its tensors follow the model's device).
        scheduler: Scheduler to restore.
        map_location: Where tensors are loaded (``"cpu"`` is safe everywhere).
        restore_rng: Restore the saved random states.
        scaler: ``GradScaler`` to restore.

    Returns:
        The raw checkpoint dict (``step``, ``extra``, ``model``...).

    Raises:
        FileNotFoundError: No file at ``path``.
        RuntimeError: The file is not a readable checkpoint, or states do not fit.
    """
    ckpt = read_checkpoint(path, map_location)
    restore_checkpoint(ckpt, path, model, optimizer, scheduler, scaler)
    if restore_rng and ckpt.get("rng") is not None:
        set_rng_state(ckpt["rng"])
    return ckpt


def read_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint file without restoring anything (to inspect it first).

    Raises:
        FileNotFoundError: No file at ``path``.
        RuntimeError: The file is not a readable checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, OSError) as err:
        raise RuntimeError(
            f"checkpoint {path} could not be read (truncated or corrupt file, or non-plain data "
            f"in 'extra'): {err}"
        ) from err
    if not isinstance(ckpt, dict) or "model" not in ckpt or "step" not in ckpt:
        raise RuntimeError(f"{path} is not a zmic_lessons checkpoint (no 'model'/'step' entries)")
    return ckpt


def restore_checkpoint(
    ckpt: Mapping[str, Any],
    path: str | os.PathLike,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    scaler: Any | None = None,
) -> None:
    """Load the states of a checkpoint read by :func:`read_checkpoint` into the given objects.

    The random states are not touched (see :func:`set_rng_state`); ``path`` names the file in
    errors.

    Raises:
        RuntimeError: A state does not fit its object (other architecture, other optimizer).
    """
    states = (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler))
    try:
        if model is not None:
            unwrap_model(model).load_state_dict(ckpt["model"])
        for key, target in states:
            if target is not None and ckpt.get(key) is not None:
                target.load_state_dict(ckpt[key])
    except (RuntimeError, ValueError, KeyError) as err:
        raise RuntimeError(
            f"checkpoint {path} does not fit the given model/optimizer: {err}"
        ) from err
