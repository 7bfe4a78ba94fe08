"""BayeSR (Gao & Zhuang, IEEE TPAMI 2022): Bayesian SR with deep modelling of image statistics.

Observation model ``y = D(x + z) + n``: the HR image is a smooth part ``x`` plus a sparse part
``z``; the noise ``n_i ~ N(m_i, 1/rho_i)`` has a mean ``m`` and a per-pixel precision ``rho``.
Priors (per pixel ``i``): ``p(x | upsilon) ~ exp(-upsilon_i / 2 |grad x|_i^2)``, ``z_i ~ N(0,
1/omega_i)``, ``m_i ~ N(0, 1/sigma0)``; ``upsilon, omega, rho`` are Gamma(gamma, phi).

Variational posterior: ``q(m), q(z), q(x)`` are diagonal Gaussians whose means and
log-variances come from three CNNs in a cascade ``m -> z -> x`` (each fed the observation minus
what the previous stage explained), sampled by reparameterisation. The Gamma posteriors enter
through their means only, in closed form and with stop-gradient (:func:`gamma_means`). The loss
is the negative ELBO divided by ``N = sum E[rho]`` (:func:`elbo_terms`), plus ``tau`` times the
L1 distance to an HR target (the real HR, or a pseudo-HR in the unsupervised mode).

Teaching deviations: 32 filters and 2 residual blocks per CNN (the paper: 64 and 8 with channel
attention), pixel-shuffle upsampling, a bicubic skip in the x-head, a fixed known ``D``
(:func:`.degradation.downsample`) instead of a learned one, no GAN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .degradation import bicubic_upsample

__all__ = [
    "BayeSR",
    "BayeSROutput",
    "GaussianHead",
    "Priors",
    "bayesr_loss",
    "elbo_terms",
    "gamma_means",
    "gradient_sq",
]

LOGVAR_MIN = -math.log(1e10)


@dataclass(frozen=True)
class Priors:
    """Hyper-parameters of the Gamma priors (shape ``gamma``, rate ``phi``) and of ``m``.

    Defaults are the paper's code: ``gamma_x = gamma_z = gamma_n = 2``, ``phi = 1e-3``
    (``phi_n = 1e-5`` for the pseudo-supervised and unsupervised modes), ``sigma0 = 1e6``.
    """

    gamma_x: float = 2.0
    phi_x: float = 1e-3
    gamma_z: float = 2.0
    phi_z: float = 1e-3
    gamma_n: float = 2.0
    phi_n: float = 1e-3
    sigma0: float = 1e6


def gradient_sq(x: Tensor) -> Tensor:
    """``|grad x|^2`` per pixel from forward differences (zero at the last row/column)."""
    dx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1))
    dy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    return dx.pow(2) + dy.pow(2)


def gamma_means(
    e: Tensor, mu_x: Tensor, var_x: Tensor, mu_z: Tensor, var_z: Tensor, priors: Priors
) -> tuple[Tensor, Tensor, Tensor]:
    """Closed-form posterior means of the Gamma variables, with stop-gradient.

    ``q(omega_i) = Gamma(gamma_z + 1/2, phi_z + E[z_i^2] / 2)`` so ``E[omega_i] = (2 gamma_z + 1)
    / (mu_z^2 + sigma_z^2 + 2 phi_z)``; likewise ``E[upsilon_i] = (2 gamma_x + 1) / (|grad
    mu_x|^2 + 4 sigma_x^2 + 2 phi_x)`` (``4 sigma_x^2``: the variance the two forward
    differences add) and ``E[rho_i] = (2 gamma_n + 1) / (e_i^2 + 2 phi_n)``.

    Args:
        e: LR residual ``y - D x~ - D z~ - m~`` from samples, ``(N, C, h, w)``.
        mu_x, var_x, mu_z, var_z: HR means and variances, ``(N, C, H, W)``.
        priors: The hyper-parameters.

    Returns:
        ``(E[upsilon], E[omega], E[rho])``, detached.
    """
    with torch.no_grad():
        upsilon = (2 * priors.gamma_x + 1) / (gradient_sq(mu_x) + 4 * var_x + 2 * priors.phi_x)
        omega = (2 * priors.gamma_z + 1) / (mu_z.pow(2) + var_z + 2 * priors.phi_z)
        rho = (2 * priors.gamma_n + 1) / (e.pow(2) + 2 * priors.phi_n)
    return upsilon, omega, rho


class GaussianHead(nn.Module):
    """Conv to ``(mean, log-variance)``; the log-variance is clipped to ``[-ln 1e10, 0]``."""

    def __init__(self, width: int, channels: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(width, 2 * channels, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        with torch.no_grad():
            self.conv.bias[:channels] = 0.0
            # start nearly deterministic (sigma = e^-6 = 0.0025): with e^-4.5 the sampling
            # noise of the L1 term drowned the residual to learn on some seeds
            self.conv.bias[channels:] = -12.0

    def forward(self, f: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.conv(f).chunk(2, dim=1)
        return mean, logvar.clamp(LOGVAR_MIN, 0.0)


def _sample(mean: Tensor, logvar: Tensor, sample: bool) -> Tensor:
    """Reparameterisation ``mean + sigma * eps`` (or the mean when ``sample`` is False)."""
    if not sample:
        return mean
    return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)


def _features(c_in: int, width: int, blocks: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU()]
    for _ in range(blocks):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


@dataclass
class BayeSROutput:
    """Means, log-variances and samples of ``m`` (LR) and ``z``, ``x`` (HR), ``(N, C, ., .)``."""

    mu_m: Tensor
    logvar_m: Tensor
    m: Tensor
    mu_z: Tensor
    logvar_z: Tensor
    z: Tensor
    mu_x: Tensor
    logvar_x: Tensor
    x: Tensor

    @property
    def image(self) -> Tensor:
        """The SR estimate ``clip(mu_x + mu_z)``."""
        return (self.mu_x + self.mu_z).clamp(0.0, 1.0)

    @property
    def sample_image(self) -> Tensor:
        """One posterior sample ``clip(x~ + z~)``."""
        return (self.x + self.z).clamp(0.0, 1.0)


class BayeSR(nn.Module):
    """The cascade ``m -> z -> x`` of Gaussian heads (see the module docstring).

    Args:
        downsample: The known degradation ``D`` (HR ``(N, C, H, W)`` -> LR ``(N, C, h, w)``).
        scale: SR factor ``s``.
        width: Filters of each CNN.
        blocks: Hidden conv layers of each CNN.
        channels: Image channels.
    """

    def __init__(
        self, downsample: Callable[[Tensor], Tensor], scale: int = 2, width: int = 32,
        blocks: int = 2, channels: int = 1,
    ) -> None:  # fmt: skip
        super().__init__()
        self.downsample, self.scale = downsample, scale
        self.net_m = _features(channels, width, blocks)
        self.head_m = GaussianHead(width, channels)
        self.in_z = _features(channels, width, 0)
        self.net_z = _features(2 * width, width, blocks)
        self.up_z = nn.Conv2d(width, width * scale**2, 3, padding=1)
        self.head_z = GaussianHead(width, channels)
        self.in_x = _features(channels, width, 0)
        self.net_x = _features(2 * width, width, blocks)
        self.up_x = nn.Conv2d(width, width * scale**2, 3, padding=1)
        self.head_x = GaussianHead(width, channels)

    def _up(self, conv: nn.Module, f: Tensor) -> Tensor:
        return F.pixel_shuffle(conv(f), self.scale) if self.scale > 1 else conv(f)

    def forward(self, y: Tensor, sample: bool = True) -> BayeSROutput:
        """Infer ``q(m), q(z), q(x)`` for ``y (N, C, h, w)``; ``sample=False`` uses the means."""
        f_m = self.net_m(y)
        mu_m, lv_m = self.head_m(f_m)
        m = _sample(mu_m, lv_m, sample)
        f_z = self.net_z(torch.cat([self.in_z(y - m), f_m], dim=1))
        mu_z, lv_z = self.head_z(self._up(self.up_z, f_z))
        z = _sample(mu_z, lv_z, sample)
        y_x = y - m - self.downsample(z)
        f_x = self.net_x(torch.cat([self.in_x(y_x), f_z], dim=1))
        mu_x, lv_x = self.head_x(self._up(self.up_x, f_x))
        mu_x = mu_x + bicubic_upsample(y_x, self.scale, clip=False)
        x = _sample(mu_x, lv_x, sample)
        return BayeSROutput(mu_m, lv_m, m, mu_z, lv_z, z, mu_x, lv_x, x)


def elbo_terms(
    y: Tensor, out: BayeSROutput, downsample: Callable[[Tensor], Tensor], priors: Priors
) -> dict[str, Tensor]:
    """The negative-ELBO terms (sums over pixels and batch), and ``N = sum E[rho]``.

    ``data = sum E[rho] e^2`` with ``e = y - D x~ - D z~ - m~``;
    ``smooth = sum E[upsilon](|grad mu_x|^2 + 4 sigma_x^2) - log sigma_x^2``;
    ``noise_mean = sum sigma0 (mu_m^2 + sigma_m^2) - log sigma_m^2``;
    ``sparse = sum E[omega](mu_z^2 + sigma_z^2) - log sigma_z^2``.
    """
    e = y - downsample(out.x) - downsample(out.z) - out.m
    var_x, var_z, var_m = out.logvar_x.exp(), out.logvar_z.exp(), out.logvar_m.exp()
    upsilon, omega, rho = gamma_means(e, out.mu_x, var_x, out.mu_z, var_z, priors)
    smooth = upsilon * (gradient_sq(out.mu_x) + 4 * var_x) - out.logvar_x
    noise_mean = priors.sigma0 * (out.mu_m.pow(2) + var_m) - out.logvar_m
    sparse = omega * (out.mu_z.pow(2) + var_z) - out.logvar_z
    return {
        "data": (rho * e.pow(2)).sum(),
        "smooth": smooth.sum(),
        "noise_mean": noise_mean.sum(),
        "sparse": sparse.sum(),
        "N": rho.sum(),
    }


def bayesr_loss(
    y: Tensor,
    out: BayeSROutput,
    downsample: Callable[[Tensor], Tensor],
    priors: Priors,
    target: Tensor | None = None,
    tau: float = 1.0,
    target_rows: slice | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Negative ELBO ``/ N`` plus ``tau * L1(clip(x~ + z~), target)``.

    Args:
        y: LR observations ``(N, C, h, w)``.
        out: The network's output for ``y``.
        downsample: ``D``.
        priors: Gamma hyper-parameters.
        target: HR (or pseudo-HR) targets for the rows ``target_rows`` of the batch.
        tau: Weight of the L1 term.
        target_rows: Batch rows that have a target (default all); the unsupervised mode puts
            the real LR images, which have none, in the other rows.

    Returns:
        ``(loss, scalars to log)``.
    """
    terms = elbo_terms(y, out, downsample, priors)
    elbo = (terms["data"] + terms["smooth"] + terms["noise_mean"] + terms["sparse"]) / terms["N"]
    loss = elbo
    logs = {k: v.detach() for k, v in terms.items()}
    if target is not None:
        rows = slice(None) if target_rows is None else target_rows
        l1 = F.l1_loss(out.sample_image[rows], target)
        loss = loss + tau * l1
        logs["l1"] = l1.detach()
    logs["elbo"] = elbo.detach()
    return loss, logs
