"""The one training loop every chapter uses: :func:`fit`.

A chapter supplies a model, a ``loss_fn(model, batch)`` and a source of batches; :func:`fit` does
the rest the same way everywhere: device placement, mixed precision on CUDA, gradient clipping,
LR scheduling, periodic evaluation, atomic checkpoints with exact resume, a progress bar and a
:class:`History` of everything logged. Launched under ``torchrun`` it trains with PyTorch's own
``DistributedDataParallel`` (NCCL on CUDA, Gloo on CPU).

Example:
    >>> def loss_fn(model, batch):
    ...     x, y = batch
    ...     return torch.nn.functional.mse_loss(model(x), y)
    >>> history = fit(model, loss_fn, loader, steps=500, lr=1e-3)  # doctest: +SKIP
    >>> history.last("loss")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .checkpoint import load_checkpoint, save_checkpoint, set_rng_state, unwrap_model
from .device import get_device
from .progress import progress as progress_bar
from .seed import seed_everything

__all__ = [
    "CHECKPOINT_NAME",
    "DistInfo",
    "History",
    "dist_info",
    "fit",
    "move_to",
]

CHECKPOINT_NAME = "last.pt"
LossOutput = torch.Tensor | tuple[torch.Tensor, Mapping[str, Any]]
LossFn = Callable[[nn.Module, Any], LossOutput]
EvalFn = Callable[[nn.Module], Mapping[str, float] | float]


# --------------------------------------------------------------------------- history


@dataclass
class History:
    """What :func:`fit` logged: one ``(steps, values)`` series per name.

    ``"loss"`` and ``"lr"`` are recorded at every step (1-based step numbers), the scalars a
    ``loss_fn`` returns in its dict likewise, and the results of ``eval_fn`` at the steps it ran.
    """

    records: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    steps_done: int = 0
    time_s: float = 0.0

    def log(self, step: int, values: Mapping[str, float]) -> None:
        """Append ``values`` (name -> number) at ``step``."""
        for name, value in values.items():
            steps, vals = self.records.setdefault(name, ([], []))
            steps.append(int(step))
            vals.append(float(value))

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` arrays of one series."""
        if name not in self.records:
            raise KeyError(f"no series {name!r} in history; have {sorted(self.records)}")
        steps, values = self.records[name]
        return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)

    def last(self, name: str) -> float:
        """The most recent value of a series."""
        _, values = self.series(name)
        if len(values) == 0:
            raise KeyError(f"series {name!r} is empty")
        return float(values[-1])

    @property
    def names(self) -> list[str]:
        """Names of all series."""
        return list(self.records)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON- and checkpoint-friendly)."""
        return {
            "series": {
                k: {"steps": list(s), "values": list(v)} for k, (s, v) in self.records.items()
            },
            "steps_done": self.steps_done,
            "time_s": self.time_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Inverse of :meth:`as_dict`."""
        series = {
            k: ([int(s) for s in v["steps"]], [float(x) for x in v["values"]])
            for k, v in data.get("series", {}).items()
        }
        return cls(series, int(data.get("steps_done", 0)), float(data.get("time_s", 0.0)))


# --------------------------------------------------------------------------- helpers


def move_to(obj: Any, device: torch.device) -> Any:
    """Move every tensor in a nested structure (dict, list, tuple, namedtuple, dataclass)."""
    if torch.is_tensor(obj):
        return obj.to(device, non_blocking=device.type == "cuda")
    if isinstance(obj, Mapping):
        moved = {k: move_to(v, device) for k, v in obj.items()}
        try:
            return type(obj)(moved)  # type: ignore[call-arg]
        except TypeError:  # e.g. defaultdict: keep the values, drop the exotic type
            return moved
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(move_to(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(v, device) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: move_to(getattr(obj, f.name), device) for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **changes)
    return obj


@dataclass(frozen=True)
class DistInfo:
    """Process placement under ``torchrun`` (``world_size == 1`` when not distributed)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    """Read ``RANK``/``LOCAL_RANK``/``WORLD_SIZE`` as set by ``torchrun``."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as err:
        raise RuntimeError(
            f"malformed torchrun environment (RANK/LOCAL_RANK/WORLD_SIZE): {err}"
        ) from err
    if world < 1 or not 0 <= rank < world:
        raise RuntimeError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}")
    return DistInfo(rank=rank, local_rank=local, world_size=world)


def _setup_distributed(info: DistInfo, device: torch.device) -> tuple[torch.device, bool]:
    """Initialise the process group if needed; return the rank's device and whether we own it."""
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if dist.is_initialized():
        return device, False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return device, True


def _amp_settings(amp: str | bool | None, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use GradScaler)."""
    choice = "auto" if amp is True else "off" if amp in (False, None) else str(amp).lower()
    if choice not in {"auto", "off", "bf16", "fp16"}:
        raise ValueError(f"amp must be 'auto', 'off', 'bf16' or 'fp16' (or a bool), got {amp!r}")
    if choice == "off" or device.type != "cuda":
        return None, False
    if choice == "auto":
        choice = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return (torch.bfloat16, False) if choice == "bf16" else (torch.float16, True)


def _batch_source(batches: Any) -> Callable[[int], Any]:
    """``step -> batch`` from a callable, or by cycling a re-iterable / consuming an iterator."""
    if callable(batches) and not isinstance(batches, (Iterable, Iterator)):
        return batches
    if not isinstance(batches, Iterable):
        raise TypeError(
            "batches must be an iterable (list, DataLoader, generator) or a callable step -> batch,"
            f" got {type(batches).__name__}"
        )
    state: dict[str, Iterator[Any]] = {"it": iter(batches)}
    one_shot = state["it"] is batches

    def next_batch(step: int) -> Any:
        try:
            return next(state["it"])
        except StopIteration:
            if one_shot:
                raise RuntimeError(
                    f"the batch iterator ran out at step {step}; pass a re-iterable (list, "
                    "DataLoader) or a callable step -> batch to train longer"
                ) from None
            state["it"] = iter(batches)
            try:
                return next(state["it"])
            except StopIteration:
                raise RuntimeError("batches is empty: it yielded no batch at all") from None

    return next_batch


def _split_loss(out: LossOutput) -> tuple[torch.Tensor, Mapping[str, Any]]:
    if isinstance(out, tuple):
        if len(out) != 2 or not isinstance(out[1], Mapping):
            raise TypeError("loss_fn must return a loss tensor or (loss, dict of scalars)")
        return out[0], out[1]
    return out, {}


def _as_scalar_tensor(value: Any) -> torch.Tensor:
    if torch.is_tensor(value):
        return value.detach().float().reshape(())
    return torch.tensor(float(value))


# --------------------------------------------------------------------------- the loop


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Iterable[Any] | Callable[[int], Any],
    *,
    steps: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    scheduler: Any | None = None,
    device: str | torch.device | None = "auto",
    amp: str | bool | None = "auto",
    grad_clip: float | None = None,
    eval_fn: EvalFn | None = None,
    eval_every: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    resume: bool = True,
    progress: bool = True,
    desc: str = "train",
    seed: int | None = None,
    log_every: int = 25,
) -> History:
    """Train ``model`` for ``steps`` optimisation steps.

    Args:
        model: The network (moved to ``device``; trained in place).
        loss_fn: ``loss_fn(model, batch)`` returning a scalar loss tensor, or ``(loss, scalars)``
            where ``scalars`` (name -> number or 0-d tensor) is logged every step. Under DDP, call
            ``model(...)`` (its ``forward``) so gradients are synchronised.
        batches: A re-iterable (list, ``DataLoader``: cycled when exhausted), an iterator, or a
            callable ``step -> batch`` (``step`` counts from 0). Tensors in nested batches are
            moved to the device. Under DDP each rank should draw different batches (e.g. use a
            ``DistributedSampler`` or :func:`dist_info` in the callable).
        steps: Total number of steps (a resumed run continues up to this number).
        optimizer: Defaults to ``Adam(model.parameters(), lr)``.
        lr: Learning rate of the default optimizer.
        scheduler: Stepped after every optimisation step (``scheduler.step()``).
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda:1"``...
        amp: ``"auto"`` (bf16 autocast if the GPU supports it, else fp16 with a GradScaler),
            ``"bf16"``, ``"fp16"`` or ``"off"``. Always off on CPU.
        grad_clip: Clip the global gradient norm to this value.
        eval_fn: ``eval_fn(model) -> dict of scalars`` (or one float, logged as ``"eval"``), run
            with the unwrapped model in eval mode under ``torch.no_grad()``, on rank 0 only.
        eval_every: Run ``eval_fn`` every this many steps (and after the last step); 0: only at
            the end.
        checkpoint_dir: Where ``last.pt`` is written (rank 0 only) and resumed from.
        checkpoint_every: Save every this many steps (0: only at the end). A checkpoint is also
            written when training finishes, so rerunning a finished cell costs nothing.
        resume: Continue from ``checkpoint_dir/last.pt`` if it exists. An iterable ``batches`` is
            fast-forwarded by the number of steps done, so deterministic sources resume exactly.
            Resumed runs match uninterrupted ones bit for bit on CPU; on CUDA only with
            deterministic kernels (``seed_everything(seed, deterministic=True)``): cuDNN's default
            fp32 convolutions differ from run to run anyway.
        progress: Show a progress bar (rank 0; quiet in CI, see :mod:`.progress`).
        desc: Label of the progress bar.
        seed: If given, :func:`seed_everything` (``seed + rank``) before training (data order,
            dropout; seed the weights yourself before building the model); on resume the saved
            random states replace it.
        log_every: Steps between host synchronisations (history transfer, NaN check, bar update).

    Returns:
        The :class:`History` (also stored in the checkpoint, so a resumed run returns it whole).

    Raises:
        FloatingPointError: The loss became NaN or infinite (the step is named).
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    info = dist_info()
    device = get_device(device)
    owns_group = False
    if info.distributed:
        device, owns_group = _setup_distributed(info, device)
    if seed is not None:
        seed_everything(seed + info.rank)
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    amp_dtype, use_scaler = _amp_settings(amp, device)
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    net: nn.Module = model
    if info.distributed:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    next_batch = _batch_source(batches)
    replayable = isinstance(batches, Iterable)
    history = History()
    start = 0
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if ckpt_path is not None and resume and ckpt_path.is_file():
        ckpt = load_checkpoint(
            ckpt_path,
            model,
            optimizer,
            scheduler,
            map_location=device,
            restore_rng=False,
            scaler=scaler,
        )
        history = History.from_dict(ckpt["extra"].get("history", {}))
        start = int(ckpt["step"])
        if replayable:
            for skipped in range(start):  # replay the data order; RNG is restored afterwards
                next_batch(skipped)
        if ckpt.get("rng") is not None:
            set_rng_state(ckpt["rng"])

    base_time = history.time_s

    def checkpoint(step: int) -> None:
        if ckpt_path is not None and info.is_main:
            history.steps_done = step
            history.time_s = base_time + time.perf_counter() - t0
            save_checkpoint(
                ckpt_path,
                model,
                optimizer,
                scheduler,
                step=step,
                extra={"history": history.as_dict()},
                scaler=scaler,
            )

    pending: list[tuple[int, dict[str, torch.Tensor]]] = []

    def flush(bar: Any) -> None:
        if not pending:
            return
        names = sorted({k for _, vals in pending for k in vals})
        for step_no, vals in pending:
            if not math.isfinite(float(vals["loss"])):
                raise FloatingPointError(
                    f"fit({desc!r}): the loss is {float(vals['loss'])} at step {step_no}"
                )
            history.log(step_no, {k: float(vals[k]) for k in names if k in vals})
        bar.set_postfix(loss=f"{history.last('loss'):.4g}", refresh=False)
        pending.clear()

    def evaluate(step: int) -> None:
        if eval_fn is None:
            return
        if info.is_main:
            was_training = model.training
            model.eval()
            with torch.no_grad():
                result = eval_fn(unwrap_model(model))
            model.train(was_training)
            history.log(step, result if isinstance(result, Mapping) else {"eval": float(result)})
        if info.distributed:
            dist.barrier()

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=amp_dtype)

    t0 = time.perf_counter()
    bar = progress_bar(
        total=steps,
        desc=desc,
        enabled=None if progress and info.is_main else False,
        initial=start,
        unit="step",
    )
    try:
        net.train()
        for step in range(start, steps):
            batch = move_to(next_batch(step), device)
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss, scalars = _split_loss(loss_fn(net, batch))
            if loss.dim() != 0:
                raise ValueError(
                    f"loss_fn must return a scalar loss, got shape {tuple(loss.shape)}"
                )
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
            done = step + 1
            record = {
                "loss": loss.detach().float(),
                "lr": torch.tensor(optimizer.param_groups[0]["lr"]),
            }
            record.update({k: _as_scalar_tensor(v) for k, v in scalars.items()})
            pending.append((done, record))
            bar.update(1)
            last = done == steps
            if len(pending) >= log_every or last:
                flush(bar)
            if eval_every and done % eval_every == 0 and not last:
                flush(bar)
                evaluate(done)
            if checkpoint_every and done % checkpoint_every == 0 and not last:
                flush(bar)
                checkpoint(done)
        flush(bar)
        if start < steps:
            evaluate(steps)
            checkpoint(steps)
        history.steps_done = max(steps, start)
        history.time_s = base_time + time.perf_counter() - t0
    finally:
        bar.close()
        if owns_group:
            dist.destroy_process_group()
    return history
