"""A small DeepLab v3+ (2D): the second architecture of the talk's AtrialGeneral table.

DeepLab v3+ (Chen et al., ECCV 2018) differs from the U-Net in how it sees context: a strided
encoder down to 1/8 resolution, an **atrous spatial pyramid** (parallel 3x3 convolutions with
dilations 1, 2, 4 plus a global-average branch) on the coarsest map, and a light decoder that
upsamples the pyramid's output and joins **one** low-level skip (at 1/2 resolution) before the
last upsampling. AtrialGeneral uses it with an EfficientNet-b6 encoder; this one is tiny.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.blocks import ConvBlock, conv_layer, count_parameters, norm_layer

__all__ = ["MiniDeepLab"]


def _conv_bn(in_ch: int, out_ch: int, kernel: int = 3, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=pad, dilation=dilation, bias=False),
        norm_layer("batch", 2, out_ch),
        nn.LeakyReLU(0.01, inplace=True),
    )


class _ASPP(nn.Module):
    """Atrous spatial pyramid pooling: ``(N, C, h, w)`` -> ``(N, out_ch, h, w)``."""

    def __init__(self, in_ch: int, out_ch: int, rates: Sequence[int] = (1, 2, 4)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [_conv_bn(in_ch, out_ch, 1)] + [_conv_bn(in_ch, out_ch, 3, r) for r in rates]
        )
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_ch, out_ch, 1))
        self.project = _conv_bn(out_ch * (len(rates) + 2), out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, *x.shape[2:]))
        return self.project(torch.cat(outs, dim=1))


class MiniDeepLab(nn.Module):
    """DeepLab v3+ in miniature: encoder (output stride 8), ASPP, decoder with one skip.

    Args:
        in_channels: Input channels.
        out_channels: Logit channels.
        features: Encoder widths at 1/1, 1/2, 1/4, 1/8 (the first three used as given, the
            last is the ASPP's input); at least 4 entries.

    Input ``(N, in_channels, H, W)`` with ``H, W`` multiples of 8 -> logits of the same size.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        features: Sequence[int] = (16, 32, 64, 128),
    ) -> None:
        super().__init__()
        f = tuple(int(v) for v in features)
        if len(f) < 4:
            raise ValueError(f"MiniDeepLab: need 4 feature sizes, got {f}")
        self.stem = ConvBlock(2, in_channels, f[0])
        self.down1 = nn.Sequential(_conv_bn(f[0], f[1]), nn.MaxPool2d(2), _conv_bn(f[1], f[1]))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), _conv_bn(f[1], f[2]), _conv_bn(f[2], f[2]))
        self.down3 = nn.Sequential(
            nn.MaxPool2d(2), _conv_bn(f[2], f[3]), _conv_bn(f[3], f[3], 3, 2)
        )
        self.aspp = _ASPP(f[3], f[2])
        self.reduce = _conv_bn(f[1], f[0], 1)
        self.decoder = nn.Sequential(_conv_bn(f[2] + f[0], f[1]), _conv_bn(f[1], f[1]))
        self.head = conv_layer(2, f[1], out_channels, kernel_size=1)
        self.divisor = 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, out_channels, H, W)``."""
        if x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"MiniDeepLab: H and W must be multiples of 8, got {tuple(x.shape)}")
        low = self.down1(self.stem(x))  # 1/2
        deep = self.aspp(self.down3(self.down2(low)))  # 1/8
        deep = F.interpolate(deep, size=low.shape[2:], mode="bilinear", align_corners=False)
        y = self.decoder(torch.cat([deep, self.reduce(low)], dim=1))
        y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        return self.head(y)

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return count_parameters(self)
