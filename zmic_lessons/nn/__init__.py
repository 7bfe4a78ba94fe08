"""Shared networks and spatial helpers: U-Net, building blocks, warping and regularisers."""

from .blocks import ConvBlock, Down, Up, conv_layer, count_parameters, norm_layer
from .spatial import (
    affine_displacement,
    bending_energy,
    gradient_l2,
    identity_grid,
    resize_displacement,
    warp,
)
from .unet import UNet

__all__ = [
    "ConvBlock",
    "Down",
    "UNet",
    "Up",
    "affine_displacement",
    "bending_energy",
    "conv_layer",
    "count_parameters",
    "gradient_l2",
    "identity_grid",
    "norm_layer",
    "resize_displacement",
    "warp",
]
