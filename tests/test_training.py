"""Tests for zmic_lessons.core.training.fit: convergence, logging, evaluation, exact resume, DDP."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import socket
from collections import namedtuple
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from zmic_lessons.core.training import History, TrainOptions, dist_info, fit, move_to

torch.set_num_threads(1)

TRUE_W = torch.tensor([[2.0, -1.0, 0.5]])


def _regression_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(16, 3)  # global RNG: restored on resume
    return x, x @ TRUE_W.T + 0.3


def _mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Dropout(0.1), nn.Linear(8, 1))


def test_tiny_regression_converges() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    hist = fit(model, _mse, _regression_batch, steps=300, lr=0.05, progress=False, seed=0)
    steps, loss = hist.series("loss")
    assert len(loss) == 300 and steps[0] == 1 and steps[-1] == 300
    assert loss[-1] < 1e-3 < loss[0]
    torch.testing.assert_close(model.weight.detach().cpu(), TRUE_W, atol=0.02, rtol=0)
    assert hist.steps_done == 300 and hist.time_s > 0
    assert hist.last("lr") == pytest.approx(0.05)


def test_iterable_batches_are_cycled_and_one_shot_iterators_error() -> None:
    torch.manual_seed(0)
    data = [_regression_batch(i) for i in range(3)]
    hist = fit(nn.Linear(3, 1), _mse, data, steps=7, progress=False)
    assert len(hist.series("loss")[1]) == 7
    with pytest.raises(RuntimeError, match="ran out at step 3"):
        fit(nn.Linear(3, 1), _mse, iter(data), steps=7, progress=False)


def test_loss_dict_scalars_eval_and_scheduler_are_logged() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.1)
    calls: list[bool] = []

    def loss_fn(m: nn.Module, batch):
        x, y = batch
        err = m(x) - y
        return err.square().mean(), {"mae": err.abs().mean(), "const": 1.5}

    def eval_fn(m: nn.Module) -> dict[str, float]:
        calls.append(m.training or torch.is_grad_enabled())
        return {"val_w0": float(m.weight[0, 0])}

    hist = fit(
        model, loss_fn, _regression_batch, steps=12, optimizer=opt, scheduler=sched,
        eval_fn=eval_fn, eval_every=4, progress=False, log_every=5,
    )  # fmt: skip
    assert hist.series("mae")[1].shape == (12,)
    assert hist.last("const") == 1.5
    assert list(hist.series("val_w0")[0]) == [4, 8, 12]
    assert calls == [False, False, False]  # eval mode, no grad
    assert model.training
    lrs = hist.series("lr")[1]
    assert lrs[3] == pytest.approx(0.1) and lrs[5] == pytest.approx(0.01)
    assert sorted(hist.as_dict()["series"]) == ["const", "loss", "lr", "mae", "val_w0"]
    assert History.from_dict(hist.as_dict()).as_dict() == hist.as_dict()


class _Crash(Exception):
    pass


def _run(tmp: Path | None, steps: int, crash_at: int | None = None, every: int = 0):
    torch.manual_seed(0)
    model = _net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
    calls = {"n": 0}

    def loss_fn(m: nn.Module, batch):
        calls["n"] += 1
        if crash_at is not None and calls["n"] == crash_at:
            raise _Crash
        return _mse(m, batch)

    hist = fit(
        model, loss_fn, _regression_batch, steps=steps, optimizer=opt, scheduler=sched,
        checkpoint_dir=tmp, checkpoint_every=every, progress=False, seed=3,
    )  # fmt: skip
    return model, hist


def test_resume_after_crash_is_identical_to_uninterrupted_run(tmp_path: Path) -> None:
    ref_model, ref_hist = _run(None, steps=20)
    with pytest.raises(_Crash):
        _run(tmp_path, steps=20, crash_at=14, every=5)  # last checkpoint at step 10
    assert (tmp_path / "last.pt").is_file()
    model, hist = _run(tmp_path, steps=20, every=5)
    for a, b in zip(ref_model.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert hist.series("loss")[1].tolist() == ref_hist.series("loss")[1].tolist()
    assert hist.series("loss")[0].tolist() == list(range(1, 21))
    # A finished run is resumed without training: same model, whole history returned.
    model2, hist2 = _run(tmp_path, steps=20, crash_at=1)
    assert hist2.series("loss")[1].tolist() == ref_hist.series("loss")[1].tolist()
    assert torch.equal(model2[0].weight, ref_model[0].weight)


def test_resume_replays_iterable_batches(tmp_path: Path) -> None:
    def run(steps: int, resume: bool = True) -> list[float]:
        torch.manual_seed(1)
        data = [_regression_batch(i) for i in range(7)]
        model = nn.Linear(3, 1)
        hist = fit(
            model, _mse, data, steps=steps, lr=0.01, checkpoint_dir=tmp_path, resume=resume,
            progress=False,
        )  # fmt: skip
        return hist.series("loss")[1].tolist()

    ref = run(15, resume=False)
    (tmp_path / "last.pt").unlink()
    run(9)
    assert run(15) == ref


def _fit_small(tmp: Path, steps: int, config=None) -> History:
    torch.manual_seed(0)
    return fit(
        nn.Linear(3, 1), _mse, _regression_batch, steps=steps, checkpoint_dir=tmp, config=config,
        progress=False,
    )  # fmt: skip


def test_resume_refuses_a_checkpoint_with_more_steps_than_asked(tmp_path: Path) -> None:
    _fit_small(tmp_path, steps=6)
    with pytest.raises(ValueError, match=r"last\.pt has 6 steps done, more than steps=4"):
        _fit_small(tmp_path, steps=4)
    assert _fit_small(tmp_path, steps=8).steps_done == 8  # more steps: continues


def test_resume_checks_the_saved_config(tmp_path: Path) -> None:
    config = {"lr": 0.1, "size": [64, 64], "data": Path("/data/acdc")}
    _fit_small(tmp_path, steps=3, config=config)
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["extra"]["config"]
    assert saved == {"lr": 0.1, "size": [64, 64], "data": "/data/acdc"}
    hist = _fit_small(tmp_path, steps=5, config=dict(config, size=(64, 64)))  # same as JSON
    assert hist.series("loss")[0].tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(
        ValueError,
        match=r"last\.pt was written with another config \(lr: 0\.1 -> 0\.2, seed: "
        r"'<absent>' -> 1\).*delete it",
    ):
        _fit_small(tmp_path, steps=6, config=dict(config, lr=0.2, seed=1))
    other = tmp_path / "other"
    _fit_small(other, steps=2)  # a checkpoint without a config is refused when one is given
    with pytest.raises(ValueError, match="it records none"):
        _fit_small(other, steps=3, config=config)
    assert _fit_small(other, steps=3).steps_done == 3  # no config given: nothing compared


def test_train_options_document_fit_keywords_with_the_same_defaults() -> None:
    keywords = {
        name: p.default
        for name, p in inspect.signature(fit).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "steps"
    }
    fields = {f.name: f.default for f in dataclasses.fields(TrainOptions) if f.name != "steps"}
    assert keywords == fields
    with pytest.raises(ValueError, match="steps must be >= 0"):
        TrainOptions(steps=-1)


def test_nan_loss_is_reported_with_step() -> None:
    def loss_fn(m: nn.Module, batch) -> torch.Tensor:
        return m(batch[0]).sum() * float("nan")

    with pytest.raises(FloatingPointError, match="step 1"):
        fit(nn.Linear(3, 1), loss_fn, _regression_batch, steps=3, progress=False)


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="amp"):
        fit(nn.Linear(3, 1), _mse, _regression_batch, steps=1, amp="fp8", progress=False)
    with pytest.raises(TypeError, match="batches must be"):
        fit(nn.Linear(3, 1), _mse, 42, steps=1, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scalar loss"):
        fit(nn.Linear(3, 1), lambda m, b: m(b[0]), _regression_batch, steps=1, progress=False)


def test_move_to_handles_nested_structures() -> None:
    Pair = namedtuple("Pair", "a b")
    batch = {"x": [torch.zeros(1), (torch.ones(1), "label")], "p": Pair(torch.zeros(2), 3)}
    moved = move_to(batch, torch.device("cpu"))
    assert isinstance(moved["p"], Pair) and moved["p"].b == 3
    assert moved["x"][1][1] == "label" and torch.equal(moved["x"][1][0], torch.ones(1))


def test_dist_info_reads_torchrun_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert dist_info().world_size == 1 and not dist_info().distributed
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    info = dist_info()
    assert (info.rank, info.local_rank, info.world_size) == (2, 0, 4)
    assert info.distributed and not info.is_main
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(RuntimeError, match="inconsistent"):
        dist_info()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
        LOCAL_RANK=str(rank),
    )  # fmt: skip
    torch.set_num_threads(1)
    torch.manual_seed(0)  # same initial weights (DDP also broadcasts rank 0's)
    model = nn.Linear(3, 1)

    def batches(step: int):
        gen = torch.Generator().manual_seed(1000 * step + rank)  # different data per rank
        x = torch.randn(8, 3, generator=gen)
        return x, x @ TRUE_W.T

    fit(
        model, _mse, batches, steps=5, lr=0.1, device="cpu", checkpoint_dir=Path(out) / "ck",
        progress=False,
    )  # fmt: skip
    torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")


@pytest.mark.skipif(
    "forkserver" not in mp.get_all_start_methods() and not torch.cuda.is_available(),
    reason="slow with spawn only",
)
def test_two_process_gloo_ddp_keeps_replicas_in_sync(tmp_path: Path) -> None:
    # Reference first: rank 0 training alone on its own data.
    torch.manual_seed(0)
    alone = nn.Linear(3, 1)

    def rank0_batches(step: int):
        gen = torch.Generator().manual_seed(1000 * step)
        x = torch.randn(8, 3, generator=gen)
        return x, x @ TRUE_W.T

    fit(alone, _mse, rank0_batches, steps=5, lr=0.1, device="cpu", progress=False)
    # Not fork: a child forked from pytest inherits the OpenMP/MKL thread pools that earlier
    # tests started and hangs in its first parallel region (it did, after the MvMM placement
    # tests' convolutions). The fork server is a clean process: one torch import, about 5 s.
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    mp.start_processes(
        _ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True,
        start_method=method,
    )  # fmt: skip
    w0 = torch.load(tmp_path / "rank0.pt")
    w1 = torch.load(tmp_path / "rank1.pt")
    for k in w0:
        assert torch.equal(w0[k], w1[k])  # gradients were averaged across ranks
    assert not torch.equal(alone.weight, w0["weight"])  # ... so they differ from rank 0 alone
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["last.pt"]  # rank 0 wrote it


def test_progress_is_quiet_in_ci_and_slow_when_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    # The package exports the function `progress`, which shadows the submodule's attribute.
    progress_mod = importlib.import_module("zmic_lessons.core.progress")
    monkeypatch.delenv("ZMIC_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    assert not progress_mod.progress_enabled()
    assert progress_mod.progress(range(3), "x").disable
    monkeypatch.setenv("ZMIC_PROGRESS", "1")  # forced on even in CI
    assert progress_mod.progress_enabled()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("ZMIC_PROGRESS", "0")
    assert not progress_mod.progress_enabled()
    monkeypatch.delenv("ZMIC_PROGRESS")
    assert progress_mod.progress_enabled()
    monkeypatch.setattr(progress_mod, "_stderr_is_tty", lambda: False)
    with progress_mod.progress(5, "manual") as bar:  # an int makes a manual bar of that total
        bar.update(5)
        assert bar.total == 5 and bar.mininterval == progress_mod.NON_TTY_MININTERVAL_S
    assert list(progress_mod.progress([1, 2], enabled=False)) == [1, 2]


def test_checkpointing_follows_the_chapter_contract(tmp_path):
    from zmic_lessons.core.training import checkpointing

    assert checkpointing(None, "net", resume=True, config={"a": 1}, every=5) == {
        "checkpoint_dir": None,
        "resume": False,
    }
    kw = checkpointing(tmp_path, "net", resume=True, config={"a": 1}, every=5)
    assert kw["checkpoint_dir"] == tmp_path / "checkpoints" / "net"
    assert kw["resume"] is True and kw["config"] == {"a": 1} and kw["checkpoint_every"] == 5
