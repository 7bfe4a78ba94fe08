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
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .batches import batch_source, move_to
from .checkpoint import (
    read_checkpoint,
    restore_checkpoint,
    save_checkpoint,
    set_rng_state,
    unwrap_model,
)
from .device import get_device
from .distributed import DistInfo, dist_info, setup_distributed
from .history import History
from .progress import progress as progress_bar
from .seed import seed_everything

__all__ = [
    "CHECKPOINT_NAME",
    "DistInfo",
    "History",
    "TrainOptions",
    "checkpointing",
    "dist_info",
    "fit",
    "move_to",
]

CHECKPOINT_NAME = "last.pt"
LossOutput = torch.Tensor | tuple[torch.Tensor, Mapping[str, Any]]
LossFn = Callable[[nn.Module, Any], LossOutput]
EvalFn = Callable[[nn.Module], Mapping[str, float] | float]


# --------------------------------------------------------------------------- small helpers


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


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class TrainOptions:
    """Every keyword of :func:`fit` after ``steps``, with the same defaults (documented here).

    Attributes:
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
            fp32 convolutions differ from run to run anyway. A checkpoint with more steps done
            than ``steps``, or written with another ``config``, is refused (``ValueError``).
        progress: Show a progress bar (rank 0; quiet in CI, see :mod:`.progress`).
        desc: Label of the progress bar.
        seed: If given, :func:`seed_everything` (``seed + rank``) before training (data order,
            dropout; seed the weights yourself before building the model); on resume the saved
            random states replace it.
        log_every: Steps between host synchronisations (history transfer, NaN check, bar update).
        config: What the run was made from (the chapter's settings, the data...), saved in the
            checkpoint and compared on resume. Plain data: values that are not JSON (a path, a
            dataclass) are compared by their ``str``. ``None``: nothing is compared.
    """

    steps: int
    optimizer: torch.optim.Optimizer | None = None
    lr: float = 1e-3
    scheduler: Any | None = None
    device: str | torch.device | None = "auto"
    amp: str | bool | None = "auto"
    grad_clip: float | None = None
    eval_fn: EvalFn | None = None
    eval_every: int = 0
    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 0
    resume: bool = True
    progress: bool = True
    desc: str = "train"
    seed: int | None = None
    log_every: int = 25
    config: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")

    @property
    def checkpoint_path(self) -> Path | None:
        """``checkpoint_dir / last.pt``, or ``None`` without a checkpoint folder."""
        if self.checkpoint_dir is None:
            return None
        return Path(self.checkpoint_dir) / CHECKPOINT_NAME


def _plain_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The config as JSON data (what the checkpoint stores and what resume compares)."""
    if config is None:
        return None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    return json.loads(json.dumps(dict(config), sort_keys=True, default=str))


def _check_resumable(ckpt: Mapping[str, Any], path: Path, options: TrainOptions) -> None:
    """Refuse a checkpoint that trained longer than asked or was made from another config."""
    done = int(ckpt["step"])
    if done > options.steps:
        raise ValueError(
            f"checkpoint {path} has {done} steps done, more than steps={options.steps}: delete it "
            "to train from scratch, use another checkpoint_dir, or ask for at least that many steps"
        )
    wanted = _plain_config(options.config)
    if wanted is None:
        return
    saved = ckpt["extra"].get("config")
    if saved is not None and _same(saved, wanted):
        return
    raise ValueError(
        f"checkpoint {path} was written with another config ({_config_diffs(saved, wanted)}): "
        "delete it to train from scratch with this config, or use another checkpoint_dir"
    )


def _config_diffs(saved: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> str:
    """``"key: saved -> wanted, ..."`` for the keys whose values differ."""
    if saved is None:
        return "it records none"
    keys = sorted(
        k
        for k in set(saved) | set(wanted)
        if k not in saved or k not in wanted or not _same(saved[k], wanted[k])
    )
    return ", ".join(
        f"{k}: {saved.get(k, '<absent>')!r} -> {wanted.get(k, '<absent>')!r}" for k in keys
    )


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (so NaN equals NaN and tuples equal lists)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def checkpointing(
    out: str | os.PathLike | None,
    model_name: str,
    *,
    resume: bool,
    config: Any,
    every: int,
) -> dict[str, Any]:
    """:func:`fit`'s checkpoint keywords under the chapter contract (``chapters.run_chapter``).

    Args:
        out: The run's output folder (``None``: no checkpoints, nothing resumed).
        model_name: Sub-folder of ``out/checkpoints`` for this model, e.g. ``"cyclemix"``.
        resume: Continue from an existing checkpoint there.
        config: The chapter's settings (a checkpoint written with other settings is refused).
        every: Steps between checkpoints.

    Returns:
        ``checkpoint_dir``, ``resume``, ``config`` and ``checkpoint_every`` for ``fit(**...)``.
    """
    if out is None:
        return {"checkpoint_dir": None, "resume": False}
    return {
        "checkpoint_dir": Path(out) / "checkpoints" / model_name,
        "resume": resume,
        "config": config,
        "checkpoint_every": max(0, int(every)),
    }


# --------------------------------------------------------------------------- the loop


def fit(  # noqa: PLR0913 - the one shared trainer: every option is a documented keyword
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
    config: Mapping[str, Any] | None = None,
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
        **options: ``optimizer``, ``lr``, ``scheduler``, ``device``, ``amp``, ``grad_clip``,
            ``eval_fn``, ``eval_every``, ``checkpoint_dir``, ``checkpoint_every``, ``resume``,
            ``progress``, ``desc``, ``seed``, ``log_every``, ``config``: the options of the run,
            documented (with these defaults) in :class:`TrainOptions`.

    Returns:
        The :class:`History` (also stored in the checkpoint, so a resumed run returns it whole).

    Raises:
        FloatingPointError: The loss became NaN or infinite (the step is named).
        ValueError: The checkpoint in ``checkpoint_dir`` has more steps done than ``steps`` or
            was written with another ``config`` (the message names the file and the keys).
    """
    given = {k: v for k, v in locals().items() if k not in ("model", "loss_fn", "batches")}
    return _Trainer(model, loss_fn, batches, TrainOptions(**given)).run()


class _Trainer:
    """One run of :func:`fit`: placement, then restore, step, evaluate and checkpoint."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, batches: Any, options: TrainOptions):
        self.model, self.loss_fn, self.options = model, loss_fn, options
        self.info = dist_info()
        self.device = get_device(options.device)
        self.owns_group = False
        if self.info.distributed:
            self.device, self.owns_group = setup_distributed(self.info, self.device)
        if options.seed is not None:
            seed_everything(options.seed + self.info.rank)
        model.to(self.device)
        self.optimizer = options.optimizer
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(model.parameters(), lr=options.lr)
        self.amp_dtype, use_scaler = _amp_settings(options.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        self.net = self._wrap(model)
        self.next_batch = batch_source(batches)
        self.replayable = isinstance(batches, Iterable)
        self.history = History()
        self.pending: list[tuple[int, dict[str, torch.Tensor]]] = []
        self.base_time = self.t0 = 0.0

    def _wrap(self, model: nn.Module) -> nn.Module:
        if not self.info.distributed:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def run(self) -> History:
        """Restore, train the remaining steps, evaluate and checkpoint at the end."""
        try:
            start = self.restore()
            self.base_time, self.t0 = self.history.time_s, time.perf_counter()
            with self._bar(start) as bar:
                self.net.train()
                for step in range(start, self.options.steps):
                    self.step(step)
                    self._after_step(step + 1, bar)
                self.flush(bar)
                if start < self.options.steps:
                    self.evaluate(self.options.steps)
                    self.checkpoint(self.options.steps)
            self.history.steps_done = self.options.steps
            self.history.time_s = self._elapsed()
        finally:
            if self.owns_group:
                dist.destroy_process_group()
        return self.history

    def restore(self) -> int:
        """Load ``last.pt`` if asked and present; return the number of steps already done."""
        path = self.options.checkpoint_path
        if path is None or not self.options.resume or not path.is_file():
            return 0
        ckpt = read_checkpoint(path, map_location=self.device)
        _check_resumable(ckpt, path, self.options)
        restore_checkpoint(
            ckpt, path, self.model, self.optimizer, self.options.scheduler, self.scaler
        )
        self.history = History.from_dict(ckpt["extra"].get("history", {}))
        start = int(ckpt["step"])
        if self.replayable:
            for skipped in range(start):  # replay the data order; RNG is restored afterwards
                self.next_batch(skipped)
        if ckpt.get("rng") is not None:
            set_rng_state(ckpt["rng"])
        return start

    def step(self, step: int) -> None:
        """One optimisation step on batch ``step``; the loss and scalars wait in ``pending``."""
        batch = move_to(self.next_batch(step), self.device)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss, scalars = _split_loss(self.loss_fn(self.net, batch))
        if loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar loss, got shape {tuple(loss.shape)}")
        self._update(loss)
        if self.options.scheduler is not None:
            self.options.scheduler.step()
        record = {
            "loss": loss.detach().float(),
            "lr": torch.tensor(self.optimizer.param_groups[0]["lr"]),
        }
        record.update({k: _as_scalar_tensor(v) for k, v in scalars.items()})
        self.pending.append((step + 1, record))

    def _update(self, loss: torch.Tensor) -> None:
        """Backward pass, optional clipping, optimizer step (through the scaler under fp16)."""
        scaler, clip = self.scaler, self.options.grad_clip
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()

    def _after_step(self, done: int, bar: Any) -> None:
        """Log every ``log_every`` steps; evaluate and checkpoint when due (not after the last)."""
        options = self.options
        bar.update(1)
        last = done == options.steps
        if len(self.pending) >= options.log_every or last:
            self.flush(bar)
        if options.eval_every and done % options.eval_every == 0 and not last:
            self.flush(bar)
            self.evaluate(done)
        if options.checkpoint_every and done % options.checkpoint_every == 0 and not last:
            self.flush(bar)
            self.checkpoint(done)

    def flush(self, bar: Any) -> None:
        """Move the pending step records to the history (one host sync); stop on a NaN loss."""
        if not self.pending:
            return
        names = sorted({k for _, vals in self.pending for k in vals})
        for step_no, vals in self.pending:
            if not math.isfinite(float(vals["loss"])):
                raise FloatingPointError(
                    f"fit({self.options.desc!r}): the loss is {float(vals['loss'])} at step "
                    f"{step_no}"
                )
            self.history.log(step_no, {k: float(vals[k]) for k in names if k in vals})
        bar.set_postfix(loss=f"{self.history.last('loss'):.4g}", refresh=False)
        self.pending.clear()

    def evaluate(self, step: int) -> None:
        """Run ``eval_fn`` on rank 0 (eval mode, no grad) and log its result at ``step``."""
        eval_fn = self.options.eval_fn
        if eval_fn is None:
            return
        if self.info.is_main:
            was_training = self.model.training
            self.model.eval()
            with torch.no_grad():
                result = eval_fn(unwrap_model(self.model))
            self.model.train(was_training)
            values = result if isinstance(result, Mapping) else {"eval": float(result)}
            self.history.log(step, values)
        if self.info.distributed:
            dist.barrier()

    def checkpoint(self, step: int) -> None:
        """Write ``last.pt`` (rank 0) with the history and the config."""
        path = self.options.checkpoint_path
        if path is None or not self.info.is_main:
            return
        self.history.steps_done = step
        self.history.time_s = self._elapsed()
        extra: dict[str, Any] = {"history": self.history.as_dict()}
        if self.options.config is not None:
            extra["config"] = _plain_config(self.options.config)
        save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.options.scheduler,
            step=step,
            extra=extra,
            scaler=self.scaler,
        )

    def _elapsed(self) -> float:
        return self.base_time + time.perf_counter() - self.t0

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _bar(self, start: int) -> Any:
        enabled = None if self.options.progress and self.info.is_main else False
        return progress_bar(
            total=self.options.steps,
            desc=self.options.desc,
            enabled=enabled,
            initial=start,
            unit="step",
        )
