"""Notebook helpers: one training step taken apart, characteristic functions and latent
histograms as arrays for the figures (no training loop here, no viewer)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from .cf_distance import empirical_cf
from .experiment import batch_source, make_method
from .settings import Settings
from .tasks import AdaptationTask

__all__ = ["StepReport", "cf_curves", "domain_histograms", "latent_histograms", "one_step"]


@dataclass
class StepReport:
    """One optimisation step of a method, taken apart.

    Attributes:
        parts: Loss term -> value.
        grad_norms: Top-level module -> norm of its parameters' gradient after one backward.
        loss_before: Total loss before the step; loss_after: on the same batch after it.
    """

    parts: dict[str, float]
    grad_norms: dict[str, float]
    loss_before: float
    loss_after: float


def _grad_norms(model: nn.Module) -> dict[str, float]:
    norms: dict[str, float] = {}
    for name, p in model.named_parameters():
        key = ".".join(name.split(".")[:2])
        g = 0.0 if p.grad is None else float(p.grad.norm()) ** 2
        norms[key] = norms.get(key, 0.0) + g
    return {k: v**0.5 for k, v in norms.items()}


def one_step(method: str, task: AdaptationTask, settings: Settings, seed: int = 0) -> StepReport:
    """Build a fresh model of ``method``, take one Adam step on one batch, report each term.

    Args:
        method: ``"cfdnet"``, ``"varda"``, ``"adversarial"``...
        task: The task whose first batch is used.
        settings: Chapter settings (weights, sizes).
        seed: Seed of the weights and the batch.
    """
    torch.manual_seed(seed)
    model, loss_fn = make_method(method, task.n_classes, settings)
    batch = batch_source(task.source_train, task.target_train, settings.batch, seed)(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    model.train()
    loss, parts = _split(loss_fn(model, batch))
    loss.backward()
    norms = _grad_norms(model)
    optimizer.step()
    torch.manual_seed(seed)  # the same latent noise for the comparison
    after, _ = _split(loss_fn(model, batch))
    values = {k: float(v.detach()) for k, v in parts.items()}
    return StepReport(values, norms, float(loss.detach()), float(after.detach()))


def _split(out: Tensor | tuple[Tensor, dict[str, Tensor]]) -> tuple[Tensor, dict[str, Tensor]]:
    return out if isinstance(out, tuple) else (out, {"seg": out.detach()})


def _gap(x: Tensor, y: Tensor, t: Tensor) -> Tensor:
    """:math:`|\\hat\\varphi_x(t) - \\hat\\varphi_y(t)|^2` at frequencies ``t`` ``(K,)``."""
    rx, ix = empirical_cf(x, t[:, None])
    ry, iy = empirical_cf(y, t[:, None])
    return (rx - ry) ** 2 + (ix - iy) ** 2


def _band_integrals(x: Tensor, y: Tensor, t: Tensor, nodes: int = 16) -> Tensor:
    """:math:`\\int_0^{t_k} |\\hat\\varphi_x - \\hat\\varphi_y|^2 dt` for every ``t_k`` of an
    ascending grid starting at 0, by Gauss-Legendre quadrature on panels at most 1 / (spread of
    the samples) wide: the integrand is a sum of cosines of frequencies up to that spread, so the
    quadrature is exact to rounding, at O((N + M) K) cost instead of the closed form's
    O((N + M)^2 K)."""
    both = torch.cat([x, y])
    spread = float(both.max() - both.min())
    steps = t.diff()
    per = max(1, math.ceil(float(steps.max()) * spread))  # panels per grid interval
    edges = torch.cat(
        [t[:1], (t[:-1, None] + steps[:, None] * torch.arange(1, per + 1) / per).reshape(-1)]
    )
    a, b = edges[:-1], edges[1:]
    u, w = (torch.from_numpy(v) for v in np.polynomial.legendre.leggauss(nodes))
    s = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * u[None]  # (P, nodes)
    panel = 0.5 * (b - a) * (_gap(x, y, s.reshape(-1)).reshape(s.shape) * w).sum(1)
    cumulative = torch.cat([panel.new_zeros(1), panel.cumsum(0)])
    return cumulative[::per]


def cf_curves(x: Tensor, y: Tensor, t_max: float, n_t: int = 201) -> dict[str, np.ndarray]:
    """Empirical CFs of two 1D samples and the band-limited distance as the band grows.

    The distance with band limit ``T`` is the mean of the integrand over ``[0, T]``,
    :math:`\\frac1T\\int_0^T |\\hat\\varphi_x - \\hat\\varphi_y|^2 dt` (the closed form of
    :func:`.cf_distance_marginal`), integrated by quadrature, so a curve of thousands of
    samples costs milliseconds.

    Args:
        x: Source samples ``(N,)``; y: target samples ``(M,)``.
        t_max: Largest frequency shown.
        n_t: Frequencies on ``[0, t_max]`` (the CF of a real sample is Hermitian).

    Returns:
        ``t``, ``re_x``, ``im_x``, ``re_y``, ``im_y``, ``gap`` (:math:`|\\varphi_x - \\varphi_y|^2`)
        and ``distance`` (the closed form with band limit ``t``, 0 at ``t = 0``), each ``(n_t,)``.
    """
    x64, y64 = x.reshape(-1, 1).double(), y.reshape(-1, 1).double()
    t = torch.linspace(0.0, t_max, n_t, dtype=torch.float64)
    rx, ix = empirical_cf(x64, t[:, None])
    ry, iy = empirical_cf(y64, t[:, None])
    gap = (rx - ry) ** 2 + (ix - iy) ** 2
    dist = _band_integrals(x64, y64, t)[1:] / t[1:]
    arrays = {"t": t, "re_x": rx, "im_x": ix, "re_y": ry, "im_y": iy, "gap": gap,
              "distance": torch.cat([t.new_zeros(1), dist])}  # fmt: skip
    return {k: v.numpy() for k, v in arrays.items()}


def latent_histograms(
    source: Tensor, target: Tensor, bins: int = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histogram densities of each latent dimension for both domains on a common grid.

    Args:
        source: ``(P, C)`` samples; target: ``(Q, C)``.

    Returns:
        ``(centres (C, bins), source density (C, bins), target density (C, bins))``.
    """
    s, t = source.numpy(), target.numpy()
    centres, hs, ht = [], [], []
    for c in range(s.shape[1]):
        lo = float(min(s[:, c].min(), t[:, c].min()))
        hi = float(max(s[:, c].max(), t[:, c].max()))
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        centres.append(0.5 * (edges[1:] + edges[:-1]))
        hs.append(np.histogram(s[:, c], edges, density=True)[0])
        ht.append(np.histogram(t[:, c], edges, density=True)[0])
    return np.stack(centres), np.stack(hs), np.stack(ht)


def domain_histograms(task: AdaptationTask, bins: int = 60) -> dict[str, np.ndarray]:
    """Intensity histograms inside the heart per class, source and target test slices.

    Returns:
        ``edges`` ``(bins + 1,)`` and ``"<domain>:<class>"`` -> density ``(bins,)``.
    """
    edges = np.linspace(-0.2, 1.3, bins + 1)
    out: dict[str, np.ndarray] = {"edges": edges}
    for domain, data in ((task.source, task.source_test), (task.target, task.target_test)):
        images, labels = data.images[:, 0].numpy(), data.labels.numpy()
        for k, name in enumerate(task.classes):
            values = images[labels == k]
            out[f"{domain}:{name}"] = np.histogram(values, edges, density=True)[0]
    return out
