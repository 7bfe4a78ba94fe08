"""A configurable 2D/3D U-Net (padded convolutions), shared by every chapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import NORMS, ConvBlock, Down, Up, conv_layer, count_parameters

__all__ = ["UNet"]


class UNet(nn.Module):
    """U-Net with 'same' convolutions, max-pool down, transposed-conv up and concatenated skips.

    ``features = (16, 32, 64, 128)`` gives a stem at full resolution with 16 channels, three
    pool-by-2 stages (32, 64 channels, then the 128-channel bottleneck at 1/8 resolution) and a
    mirrored decoder; the head is a 1x1 convolution to ``out_channels`` logits.

    Inputs whose spatial size is not a multiple of ``2 ** (len(features) - 1)`` are zero-padded
    (split evenly before and after) and the logits are cropped back, unless ``pad_input=False``, in
    which case such inputs raise a ``ValueError``.

    Args:
        spatial_dims: 2 for ``(N, C, H, W)`` inputs, 3 for ``(N, C, D, H, W)``.
        in_channels: Input channels.
        out_channels: Output channels (classes for segmentation, 1 for regression...).
        features: Channels per level, from full resolution down to the bottleneck (>= 2 levels).
        norm: ``"batch"``, ``"instance"``, ``"group"`` or ``None``.
        dropout: Dropout probability inside each block (0 disables it).
        residual: Add a residual shortcut around each block's two convolutions.
        pad_input: Pad non-divisible inputs (True) or raise (False).

    Example:
        >>> net = UNet(2, in_channels=1, out_channels=4, features=(8, 16, 32))
        >>> net(torch.zeros(2, 1, 50, 60)).shape
        torch.Size([2, 4, 50, 60])
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 2,
        features: Sequence[int] = (16, 32, 64, 128),
        norm: str | None = "batch",
        dropout: float = 0.0,
        residual: bool = False,
        pad_input: bool = True,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"UNet: spatial_dims must be 2 or 3, got {spatial_dims}")
        features = tuple(int(f) for f in features)
        if len(features) < 2 or min(features) < 1:
            raise ValueError(f"UNet: need at least two positive feature sizes, got {features}")
        if norm not in NORMS:
            raise ValueError(f"UNet: unknown norm {norm!r}; choose one of {NORMS}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"UNet: dropout must be in [0, 1), got {dropout}")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.features = features
        self.pad_input = pad_input
        block: dict[str, Any] = {"norm": norm, "dropout": dropout, "residual": residual}
        self.stem = ConvBlock(spatial_dims, in_channels, features[0], **block)
        self.downs = nn.ModuleList(
            Down(spatial_dims, c_in, c_out, **block)
            for c_in, c_out in zip(features[:-1], features[1:], strict=True)
        )
        self.ups = nn.ModuleList(
            Up(spatial_dims, c_in, c_skip, c_skip, **block)
            for c_in, c_skip in zip(features[:0:-1], features[-2::-1], strict=True)
        )
        self.head = conv_layer(spatial_dims, features[0], out_channels, kernel_size=1)

    @property
    def divisor(self) -> int:
        """Spatial sizes must be multiples of this (inputs are padded to it otherwise)."""
        return 2 ** (len(self.features) - 1)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features from full resolution to the bottleneck (last item).

        ``x`` must already have sizes divisible by :attr:`divisor`.
        """
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        return skips

    def decode(self, skips: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Decoder features, coarse to fine; the last has ``features[0]`` channels at full size."""
        y = skips[-1]
        out = []
        for up, skip in zip(self.ups, reversed(skips[:-1]), strict=True):
            y = up(y, skip)
            out.append(y)
        return out

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, Any]]:
        """Logits ``(N, out_channels, *spatial)`` for ``x`` of shape ``(N, in_channels, *spatial)``.

        With ``return_features=True`` also returns a dict with ``"encoder"`` (list, full
        resolution to bottleneck), ``"bottleneck"`` (the deepest encoder map) and ``"decoder"``
        (list, coarse to fine). Features live on the padded grid if the input was padded.
        """
        if x.dim() != self.spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"UNet: expected input (N, {self.in_channels}, <{self.spatial_dims} sizes>), "
                f"got {tuple(x.shape)}"
            )
        x, crop = self._pad(x)
        skips = self.encode(x)
        decoded = self.decode(skips)
        logits = self.head(decoded[-1])
        if crop is not None:
            logits = logits[crop]
        if not return_features:
            return logits
        return logits, {"encoder": skips, "bottleneck": skips[-1], "decoder": decoded}

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[slice, ...] | None]:
        sizes = x.shape[2:]
        k = self.divisor
        extra = [(-s) % k for s in sizes]
        if not any(extra):
            return x, None
        if not self.pad_input:
            raise ValueError(
                f"UNet: spatial size {tuple(sizes)} is not divisible by {k} "
                f"(2 ** {len(self.features) - 1}); crop/pad it or use UNet(..., pad_input=True)"
            )
        before = [e // 2 for e in extra]
        pads: list[int] = []
        for b, e in zip(
            reversed(before), reversed(extra), strict=True
        ):  # F.pad wants last axis first
            pads += [b, e - b]
        crop = (slice(None), slice(None)) + tuple(
            slice(b, b + s) for b, s in zip(before, sizes, strict=True)
        )
        return F.pad(x, pads), crop

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return count_parameters(self)
