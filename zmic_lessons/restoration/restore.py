"""Restore a user's own image: a PNG or one slice of a NIfTI volume, written next to it.

:func:`restore_file` trains the chosen network at the chosen budget (or resumes it from
``checkpoint_dir``, so the second call costs nothing), runs it on the file and writes the result
beside the input, never over an existing file unless ``overwrite=True``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.budget import select
from ..core.device import get_device
from ..io import write_nifti
from .evaluation import predict
from .experiment import Checkpoints, make_data, train_bayesr, train_restorer, train_rodec
from .images import ImageMeta, is_nifti, read_image
from .settings import BUDGETS, Settings

__all__ = ["ImageMeta", "read_image", "restore_file"]

METHODS = ("ronet", "plain_cnn", "bayesr_sup", "bayesr_unsup", "bicubic")


def _output_path(path: Path, method: str, task: str) -> Path:
    stem = path.name.removesuffix(".gz").removesuffix(".nii").removesuffix(".png")
    suffix = ".nii.gz" if is_nifti(path) else ".png"
    return path.with_name(f"{stem}_{method}_{task}{suffix}")


def _write(path: Path, image: np.ndarray, meta: ImageMeta, pixel_factor: float) -> None:
    if meta.kind == "png":
        from skimage.io import imsave

        imsave(path, (np.clip(image, 0, 1) * 255).round().astype(np.uint8), check_contrast=False)
        return
    values = image.astype(np.float32) * (meta.hi - meta.lo) + meta.lo
    sy, sx = meta.spacing or (1.0, 1.0)
    write_nifti(path, values, spacing=(sy / pixel_factor, sx / pixel_factor))


def _trained(method: str, task: str, settings: Settings, seed: int, device: torch.device,
             checkpoint_dir: Path | None) -> torch.nn.Module | str:  # fmt: skip

    if method == "bicubic":
        return "bicubic"
    data = make_data(settings)
    ckpt = Checkpoints(checkpoint_dir, resume=True, config=settings)
    if method.startswith("bayesr"):
        if task != "sr":
            raise ValueError("BayeSR is a super-resolution method; use task='sr'")
        sup = method == "bayesr_sup"
        return train_bayesr(settings, data, sup, seed, device, ckpt)[0]
    dec = None
    if method == "ronet":
        dec = train_rodec(settings, data, seed, device, ckpt)[0]
    return train_restorer(settings, data, task, dec, seed, device, ckpt)[0]


def restore_file(
    input_path: str | Path,
    output_path: str | Path | None = None,
    task: str = "sr",
    budget: str = "standard",
    method: str = "ronet",
    *,
    checkpoint_dir: str | Path | None = None,
    overwrite: bool = False,
    slice_index: int | None = None,
) -> Path:
    """Super-resolve (x ``scale``) or denoise a PNG or NIfTI slice and write the result.

    Args:
        input_path: A ``.png`` or ``.nii``/``.nii.gz`` (3D: the middle slice, or ``slice_index``).
        output_path: Where to write; default next to the input,
            ``<stem>_<method>_<task>.png`` / ``.nii.gz``.
        task: ``"sr"`` (the input is the LR image) or ``"denoise"`` (sigma = 25 / 255 noise
            on the [0, 1] scale is what the networks were trained for).
        budget: Training budget (``quick`` | ``standard`` | ``full``).
        method: One of ``ronet``, ``plain_cnn``, ``bayesr_sup``, ``bayesr_unsup``, ``bicubic``.
        checkpoint_dir: Keep the trained networks (seed 0, device ``"auto"``) here, in
            ``checkpoints/<model>``; the next call resumes them instead of training again (a
            checkpoint made at another budget is refused).
        overwrite: Replace an existing output file.
        slice_index: NIfTI slice to restore.

    Returns:
        The written file. A NIfTI output keeps the slice's in-plane spacing divided by the SR
        factor, and its intensities are mapped back to the input's scale.

    Raises:
        FileExistsError: The output exists and ``overwrite`` is False.
    """

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if task not in ("sr", "denoise"):
        raise ValueError(f"task must be 'sr' or 'denoise', got {task!r}")
    src = Path(input_path)
    image, meta = read_image(src, slice_index)
    out = Path(output_path) if output_path is not None else _output_path(src, method, task)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; choose another output_path or pass overwrite=True")
    settings = select(budget, BUDGETS)
    torch_device = get_device("auto")
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    model = _trained(method, task, settings, 0, torch_device, ckpt)
    factor = settings.scale if task == "sr" else 1
    result = predict(model, image, factor, torch_device)
    _write(out, result, meta, float(factor))
    return out
