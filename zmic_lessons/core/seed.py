"""Seeding: one call makes Python, NumPy and torch reproducible."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> np.random.Generator:
    """Seed Python, NumPy and torch (all devices) and return a fresh NumPy generator.

    Args:
        seed: Non-negative integer seed.
        deterministic: Also ask torch for deterministic kernels (slower on GPU).

    Returns:
        ``np.random.default_rng(seed)``, for code that takes an explicit generator.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Turn a seed (or an existing generator) into a ``np.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A seeded ``torch.Generator`` on ``device``, independent of the global state."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
