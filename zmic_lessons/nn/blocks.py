"""Building blocks shared by the networks: dimension-agnostic conv, norm and U-Net stages."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvBlock", "Down", "Up", "conv_layer", "count_parameters", "norm_layer"]

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}
_DROPOUT = {2: nn.Dropout2d, 3: nn.Dropout3d}
NORMS = ("batch", "instance", "group", None)


def _check_dims(spatial_dims: int) -> None:
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")


def conv_layer(
    spatial_dims: int, in_ch: int, out_ch: int, kernel_size: int = 3, bias: bool = True
) -> nn.Module:
    """A 'same'-padded convolution (odd ``kernel_size``) in 2D or 3D."""
    _check_dims(spatial_dims)
    return _CONV[spatial_dims](in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias)


def norm_layer(norm: str | None, spatial_dims: int, channels: int) -> nn.Module:
    """A normalisation layer by name.

    Args:
        norm: ``"batch"``, ``"instance"`` (affine, no running stats: same in train and eval),
            ``"group"`` (8 groups or fewer) or ``None`` (identity).
        spatial_dims: 2 or 3.
        channels: Number of channels.
    """
    _check_dims(spatial_dims)
    if norm is None:
        return nn.Identity()
    if norm == "batch":
        return (nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d)(channels)
    if norm == "instance":
        cls = nn.InstanceNorm2d if spatial_dims == 2 else nn.InstanceNorm3d
        return cls(channels, affine=True)
    if norm == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    raise ValueError(f"unknown norm {norm!r}; choose one of {NORMS}")


class ConvBlock(nn.Module):
    """Two (conv 3x3 -> norm -> LeakyReLU) layers, optional dropout and residual shortcut.

    Input ``(N, in_ch, *spatial)`` -> output ``(N, out_ch, *spatial)``.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_ch: int,
        out_ch: int,
        norm: str | None = "batch",
        dropout: float = 0.0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        bias = norm is None
        self.body = nn.Sequential(
            conv_layer(spatial_dims, in_ch, out_ch, 3, bias=bias),
            norm_layer(norm, spatial_dims, out_ch),
            nn.LeakyReLU(0.01, inplace=True),
            _DROPOUT[spatial_dims](dropout) if dropout > 0 else nn.Identity(),
            conv_layer(spatial_dims, out_ch, out_ch, 3, bias=bias),
            norm_layer(norm, spatial_dims, out_ch),
        )
        self.shortcut: nn.Module | None = None
        if residual:
            self.shortcut = (
                nn.Identity() if in_ch == out_ch else conv_layer(spatial_dims, in_ch, out_ch, 1)
            )
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.shortcut is not None:
            y = y + self.shortcut(x)
        return self.act(y)


class Down(nn.Module):
    """Max-pool by 2, then a :class:`ConvBlock`: ``(N, in_ch, S)`` -> ``(N, out_ch, S / 2)``."""

    def __init__(self, spatial_dims: int, in_ch: int, out_ch: int, **block: object) -> None:
        super().__init__()
        self.pool = _POOL[spatial_dims](2)
        self.block = ConvBlock(spatial_dims, in_ch, out_ch, **block)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.pool(x))


class Up(nn.Module):
    """Transposed conv x2, concatenate the skip, then a :class:`ConvBlock`.

    ``(N, in_ch, S / 2)`` and skip ``(N, skip_ch, S)`` -> ``(N, out_ch, S)``.
    """

    def __init__(
        self, spatial_dims: int, in_ch: int, skip_ch: int, out_ch: int, **block: object
    ) -> None:
        super().__init__()
        self.up = _CONV_T[spatial_dims](in_ch, out_ch, kernel_size=2, stride=2)
        self.block = ConvBlock(spatial_dims, out_ch + skip_ch, out_ch, **block)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.up(x), skip], dim=1))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
