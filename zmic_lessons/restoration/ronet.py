"""RONet (Gao & Zhuang, IEEE TPAMI 2020): rank-one decomposition, then reconstruction.

An image ``X`` (one channel, ``H x W``) is peeled greedily into rank-one parts and a residual::

    R_0 = X,   P_k = u_k v_k^T = RO_k(R_{k-1}),   R_k = R_{k-1} - P_k,   X = sum_k P_k + R_K.

Each rank-one projection ``RO_k`` (:class:`RankOneProjection`) has a *column branch* (1 x k
convolutions along each row, averaged over the width: a column vector ``u``) and a *row branch*
(k x 1 convolutions, averaged over the height: a row vector ``v``); the component is their outer
product. :class:`RODec` stacks K of them and is pretrained without labels on the residual
energy left after each projection (:func:`residual_energy_loss`, as in the paper's code).
:class:`RONet` then freezes it and restores the rank-one part and the residual in two branches,
fused into the output.

Teaching deviations from the paper (said in the chapter): 16-32 filters instead of 256/64, no
batch norm, one convolution stack per branch; the projection scales ``u v^T`` by its
least-squares coefficient on ``R`` (``ls_scale=True``, so every step is an orthogonal projection
onto the learned direction and the residual energy never rises; ``False`` gives the paper's
plain ``u v^T``); the output adds a bicubic (SR) or identity (denoising) skip; no VGG loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .degradation import bicubic_upsample

__all__ = [
    "RODec",
    "RONet",
    "RONetOutput",
    "RankOneProjection",
    "ReconstructionBody",
    "residual_energy_loss",
]


def _branch(channels: int, width: int, kernel: tuple[int, int], layers: int) -> nn.Sequential:
    """1-D convolutions (bias-free, so the branch is positively homogeneous) with ReLUs."""
    pad = (kernel[0] // 2, kernel[1] // 2)
    mods: list[nn.Module] = []
    c_in = channels
    for _ in range(layers):
        mods += [nn.Conv2d(c_in, width, kernel, padding=pad, bias=False), nn.ReLU()]
        c_in = width
    mods.append(nn.Conv2d(c_in, channels, kernel, padding=pad, bias=False))
    return nn.Sequential(*mods)


class RankOneProjection(nn.Module):
    """One learned rank-one projection ``R -> u v^T`` (per channel).

    Args:
        channels: Image channels ``C``.
        width: Filters of the hidden 1-D convolutions.
        kernel: Length of the 1-D kernels.
        layers: Hidden convolutions per branch.
        ls_scale: Scale ``u v^T`` by ``<R, u v^T> / ||u v^T||^2`` (see the module docstring).
    """

    def __init__(
        self, channels: int = 1, width: int = 16, kernel: int = 3, layers: int = 2,
        ls_scale: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        self.column = _branch(channels, width, (1, kernel), layers)
        self.row = _branch(channels, width, (kernel, 1), layers)
        self.ls_scale = ls_scale

    def vectors(self, r: Tensor) -> tuple[Tensor, Tensor]:
        """The column vector ``u (N, C, H, 1)`` and the row vector ``v (N, C, 1, W)`` of ``r``."""
        u = self.column(r).mean(dim=-1, keepdim=True)
        v = self.row(r).mean(dim=-2, keepdim=True)
        return u, v

    def forward(self, r: Tensor) -> Tensor:
        """The rank-one component ``P (N, C, H, W)`` of ``r (N, C, H, W)``."""
        u, v = self.vectors(r)
        p = u @ v
        if self.ls_scale:
            num = (r * p).sum(dim=(-2, -1), keepdim=True)
            den = (p * p).sum(dim=(-2, -1), keepdim=True)
            p = p * num / (den + 1e-12)
        return p


class RODec(nn.Module):
    """K rank-one projections applied in turn: ``X = sum_k P_k + R_K``.

    Args:
        n_components: ``K``.
        **projection: Passed to every :class:`RankOneProjection` (each has its own weights).
    """

    def __init__(self, n_components: int = 3, **projection: int | bool) -> None:
        super().__init__()
        self.projections = nn.ModuleList(
            RankOneProjection(**projection)  # type: ignore[arg-type]
            for _ in range(n_components)
        )

    @property
    def n_components(self) -> int:
        """``K``."""
        return len(self.projections)

    def forward(self, x: Tensor, k: int | None = None) -> tuple[Tensor, Tensor]:
        """Decompose ``x (N, C, H, W)`` with the first ``k`` (default all) projections.

        Returns:
            ``(components (N, k, C, H, W), residual (N, C, H, W))``.
        """
        k = self.n_components if k is None else k
        if not 0 <= k <= self.n_components:
            raise ValueError(f"k must be in 0..{self.n_components}, got {k}")
        residual, parts = x, []
        for proj in self.projections[:k]:
            p = proj(residual)
            parts.append(p)
            residual = residual - p
        if not parts:
            return x.new_zeros((x.shape[0], 0, *x.shape[1:])), residual
        return torch.stack(parts, dim=1), residual


def residual_energy_loss(dec: RODec, x: Tensor, every_step: bool = True) -> Tensor:
    """The unsupervised pretraining loss: the residual energy left by the projections.

    Args:
        dec: The decomposition.
        x: Images ``(N, C, H, W)``.
        every_step: The paper's code: ``mean_k mean(R_k^2)`` over the residuals after each of
            the K projections, so each one is pushed to remove as much as it can (greedy, as
            the SVD's terms are). ``False``: only the last, ``mean(R_K^2)``, which leaves the
            order free and trains the first projections poorly.

    Returns:
        The scalar loss.
    """
    residual, energies = x, []
    for proj in dec.projections:
        residual = residual - proj(residual)
        energies.append(residual.pow(2).mean())
    if not every_step:
        return energies[-1]
    return torch.stack(energies).mean()


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ReconstructionBody(nn.Module):
    """Input conv -> residual blocks -> output conv, plus a 3x3 conv skip from the input.

    ``(N, c_in, h, w) -> (N, c_out, h, w)``.
    """

    def __init__(self, c_in: int, c_out: int, width: int, blocks: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(c_in, width, 3, padding=1)
        self.blocks = nn.Sequential(*[_ResBlock(width) for _ in range(blocks)])
        self.tail = nn.Conv2d(width, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.tail(self.blocks(self.head(x))) + self.skip(x)


@dataclass
class RONetOutput:
    """What :class:`RONet` returns (all ``(N, C, H*s, W*s)``).

    Attributes:
        image: The restored image.
        ro_branch: The rank-one branch's own estimate of the target's rank-one part.
        residual_branch: The residual branch's estimate of the target's residual.
    """

    image: Tensor
    ro_branch: Tensor
    residual_branch: Tensor


class RONet(nn.Module):
    """RORec on top of a frozen :class:`RODec`, or the same network without decomposition.

    Args:
        decomposition: A pretrained :class:`RODec` (frozen here). ``None`` builds the *plain*
            baseline: the same layers, both branches fed the input itself.
        scale: SR factor (1 for denoising).
        n_components: Projections of ``decomposition`` used (K = 3 for SR, 1 for denoising).
        width: Filters of the reconstruction bodies.
        blocks: Residual blocks of the (rank-one, residual, fusion) bodies.
        deep_scale: Each branch outputs ``deep_scale * s^2`` channels (the paper: 1 for SR,
            48 for grey denoising).
        channels: Image channels.
    """

    def __init__(
        self,
        decomposition: RODec | None,
        scale: int = 2,
        n_components: int = 3,
        width: int = 32,
        blocks: tuple[int, int, int] = (1, 2, 1),
        deep_scale: int = 1,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self.decomposition = decomposition
        if decomposition is not None:
            decomposition.requires_grad_(False)
            decomposition.eval()
        self.scale, self.n_components, self.deep_scale = scale, n_components, deep_scale
        branch_out = deep_scale * channels * scale**2
        self.ro_body = ReconstructionBody(channels, branch_out, width, blocks[0])
        self.res_body = ReconstructionBody(channels, branch_out, width, blocks[1])
        self.fusion = ReconstructionBody(2 * branch_out, channels * scale**2, width, blocks[2])

    def train(self, mode: bool = True) -> RONet:
        """Train mode for the reconstruction; the decomposition stays frozen in eval mode."""
        super().train(mode)
        if self.decomposition is not None:
            self.decomposition.eval()
        return self

    def split(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(rank-one part, residual)`` of ``y``; the plain baseline returns ``(y, y)``."""
        if self.decomposition is None:
            return y, y
        with torch.no_grad():
            parts, residual = self.decomposition(y, self.n_components)
        return parts.sum(dim=1), residual

    def _to_image(self, features: Tensor) -> Tensor:
        n, _, h, w = features.shape
        grouped = features.view(n, self.deep_scale, -1, h, w).mean(dim=1)
        return F.pixel_shuffle(grouped, self.scale) if self.scale > 1 else grouped

    def forward(self, y: Tensor) -> RONetOutput:
        """Restore ``y (N, C, h, w)`` to ``(N, C, h*s, w*s)``."""
        ro_part, residual = self.split(y)
        f_ro, f_res = self.ro_body(ro_part), self.res_body(residual)
        fused = self.fusion(torch.cat([f_ro, f_res], dim=1))
        base = bicubic_upsample(y, self.scale, clip=False)
        out = base + (F.pixel_shuffle(fused, self.scale) if self.scale > 1 else fused)
        return RONetOutput(out, self._to_image(f_ro), self._to_image(f_res))
