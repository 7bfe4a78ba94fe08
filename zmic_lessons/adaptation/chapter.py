"""Chapter: unsupervised domain adaptation, bSSFP -> LGE and CT -> MR (CFDNet, VarDA).

``run(budget, device, seed, data, out)`` builds the two tasks (phantom, or the real files under
``data``), trains every method of :data:`.settings.METHODS` on each with the shared trainer,
scores the target test slices and measures how far apart the two domains' latents are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..core.budget import select
from ..core.device import describe_device, get_device
from ..core.results import Results
from ..data.errors import MissingDataError
from .cf_distance import cf_distance_marginal
from .evaluation import mean_assd, mean_dice, predict
from .experiment import Trained, build_task, train_method
from .losses import latent_samples
from .settings import BUDGETS, METHODS, Settings
from .tasks import TASKS, AdaptationTask

__all__ = ["BUDGETS", "NAME", "TITLE", "Artifacts", "Settings", "TaskRun", "latents", "run"]

NAME = "adaptation"
TITLE = "Unsupervised domain adaptation: CF distance (CFDNet) and VarDA, bSSFP->LGE and CT->MR"
_LATENT_METHODS = ("cfdnet", "varda", "varda_beta0")


@dataclass
class TaskRun:
    """One task's run: the data, the trained methods and their target predictions.

    Attributes:
        task: The :class:`~.tasks.AdaptationTask` (all four slice sets).
        trained: Method -> :class:`~.experiment.Trained` (model in eval mode, history).
        predictions: Method -> target-test label maps ``(N, S, S)``.
        source_predictions: Method -> source-test label maps (the same hearts, other domain).
    """

    task: AdaptationTask
    trained: dict[str, Trained] = field(default_factory=dict)
    predictions: dict[str, torch.Tensor] = field(default_factory=dict)
    source_predictions: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class Artifacts:
    """Everything the notebook draws: task name -> :class:`TaskRun`, and the settings."""

    runs: dict[str, TaskRun]
    settings: Settings


@torch.no_grad()
def latents(trained: Trained, task: AdaptationTask, pool: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means of the source-test and target-test slices as pooled-pixel samples.

    Returns:
        ``(source (P, C), target (P, C))`` (CPU) for a CFDNet or VarDA model.
    """
    encoder = trained.model.encoder
    device = next(encoder.parameters()).device
    out = []
    for data in (task.source_test, task.target_test):
        mu = encoder(data.images.to(device)).mu
        out.append(latent_samples(mu, pool, per_pixel=True).cpu())
    return out[0], out[1]


def _suffix(task: str) -> str:
    return "" if task == "bssfp2lge" else f"_{task}"


def _score(run_: TaskRun, name: str, settings: Settings, metrics: dict[str, float]) -> None:
    task, trained = run_.task, run_.trained[name]
    sfx = _suffix(task.name)
    pred = predict(trained.model, task.target_test.images)
    run_.predictions[name] = pred
    run_.source_predictions[name] = predict(trained.model, task.source_test.images)
    metrics[f"dice_{name}{sfx}"] = mean_dice(pred, task.target_test, task.classes)
    metrics[f"assd_{name}{sfx}"] = mean_assd(pred, task.target_test, task.classes, task.pixel_mm)
    metrics[f"dice_{name}_on_source{sfx}"] = mean_dice(
        run_.source_predictions[name], task.source_test, task.classes
    )
    if name in _LATENT_METHODS:
        zs, zt = latents(trained, task, settings.pool)
        metrics[f"cf_latent_{name}{sfx}"] = float(cf_distance_marginal(zs, zt, settings.cf_t_max))


def _run_task(
    name: str, settings: Settings, seed: int, data: Path | None, device: torch.device,
    out: Path | None, results: Results, resume: bool = False,
) -> TaskRun | None:  # fmt: skip
    try:
        with results.timed(f"data_{name}"):
            task = build_task(settings, name, seed, data)
    except MissingDataError:
        if data is None:
            raise
        return None
    run_ = TaskRun(task)
    for method in settings.methods:
        with results.timed(f"{name}_{method}"):
            run_.trained[method] = train_method(
                method, task, settings, seed, device, out, resume=resume
            )
            _score(run_, method, settings, results.metrics)
    return run_


def run(
    budget: str = "standard",
    device: Any = "auto",
    seed: int = 0,
    data: Path | None = None,
    out: Path | None = None,
    *,
    resume: bool = False,
    **overrides: Any,
) -> Results:
    """Run the chapter.

    Metrics (``<sfx>`` is empty for bSSFP -> LGE and ``_ct2mr`` for CT -> MR):

    * ``dice_<method><sfx>``: mean foreground Dice on the target test slices (LV, myocardium,
      RV for bSSFP -> LGE; LV, myocardium for CT -> MR), for ``source_only``,
      ``adversarial``, ``cfdnet``, ``varda``, ``varda_beta0``, ``target_supervised``;
    * ``assd_<method><sfx>``: the average symmetric surface distance (mm) there;
    * ``dice_<method>_on_source<sfx>``: Dice on the same hearts in the source domain;
    * ``cf_latent_<method><sfx>``: band-limited CF distance between the source-test and
      target-test latents (pooled posterior means) of CFDNet, VarDA and VarDA with beta = 0.

    Args:
        budget: ``quick``, ``standard`` or ``full``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        seed: Seed of the data and of the training.
        data: A folder with MS-CMRSeg (challenge layout) and/or ``CT_MR_2D_Dataset_DA``; the
            tasks whose files are missing are skipped (an error if both are).
        out: Checkpoints go to ``out/checkpoints/<task>_<method>``.
        resume: Continue each model from its checkpoint in ``out`` (complete ones are kept).
        **overrides: Fields of :class:`Settings`.
    """
    settings = select(budget, BUDGETS, **overrides)
    unknown = set(settings.methods) - set(METHODS) | set(settings.tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown method(s)/task(s) {sorted(unknown)}; see METHODS and TASKS")
    device = get_device(device)
    results = Results(chapter=NAME, budget=budget, device=describe_device(device), seed=seed,
                      settings=settings)  # fmt: skip
    runs = {}
    for name in settings.tasks:
        run_ = _run_task(name, settings, seed, data, device, out, results, resume)
        if run_ is not None:
            runs[name] = run_
    if not runs:
        raise MissingDataError(
            f"{data}: found neither MS-CMRSeg (c0t2lge/patient{{N}}_C0.nii.gz) nor "
            "CT_MR_2D_Dataset_DA/{CT,MR}_withGT/Images/img*.nii.gz; see book/real_data.md"
        )
    results.artifacts = Artifacts(runs, settings)
    return results
