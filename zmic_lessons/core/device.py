"""Device selection: CUDA when available, else CPU; never hard-coded."""

from __future__ import annotations

import torch

DeviceLike = str | torch.device | None


def get_device(device: DeviceLike = "auto") -> torch.device:
    """Resolve a device request.

    Args:
        device: ``"auto"`` (or ``None``) picks CUDA if available, then Apple MPS, else CPU.
            Anything else (``"cpu"``, ``"cuda:1"``, a ``torch.device``) is taken as asked,
            but a CUDA request on a machine without CUDA raises a clear error.

    Returns:
        The ``torch.device`` to use.
    """
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {device!r} was requested but CUDA is not available here; use 'auto' or 'cpu'"
        )
    return resolved


def describe_device(device: torch.device) -> str:
    """A short human-readable name, e.g. ``"cuda (NVIDIA H100)"`` or ``"cpu (2 threads)"``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
