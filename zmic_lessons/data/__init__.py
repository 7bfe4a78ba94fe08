"""Synthetic phantoms (physics-based) and loaders for the real data sets.

The most used names are re-exported here; the modules hold the rest:
``physics`` (signal equations), ``cardiac`` (short-axis phantom), ``acquisition`` (k-space, bias,
noise, misalignment), ``domains`` (centre presets, CT), ``scribbles``, ``atrial`` (3D left atrium),
``images`` (real images shipped inside installed packages), ``datasets`` (real loaders) and
``layouts`` (phantom cases written in the real data sets' file trees).
"""

from .acquisition import MisalignedCase, Rigid2D, misalign
from .atrial import ATRIAL_CENTRES, ATRIAL_LABELS, AtrialCase, simulate_atrium
from .cardiac import CardiacCase, render_mr, simulate_anatomy, simulate_case, simulate_cases
from .datasets import ACDC, MMWHS, MMWHS2D, DatasetCase, LAScarQS, MSCMRSeg, MyoPS2020
from .domains import CENTRE_PRESETS, AcquisitionPreset, render_ct
from .errors import DataError
from .images import available_images, load_image, load_volume
from .labels import CARDIAC_LABELS, SEQUENCES, myocardium_mask
from .layouts import LAYOUTS, write_phantom_dataset
from .scribbles import UNLABELLED, scribbles_from_labels

__all__ = [
    "ACDC",
    "ATRIAL_CENTRES",
    "ATRIAL_LABELS",
    "CARDIAC_LABELS",
    "CENTRE_PRESETS",
    "LAYOUTS",
    "MMWHS",
    "MMWHS2D",
    "SEQUENCES",
    "UNLABELLED",
    "AcquisitionPreset",
    "AtrialCase",
    "CardiacCase",
    "DataError",
    "DatasetCase",
    "LAScarQS",
    "MSCMRSeg",
    "MisalignedCase",
    "MyoPS2020",
    "Rigid2D",
    "available_images",
    "load_image",
    "load_volume",
    "misalign",
    "myocardium_mask",
    "render_ct",
    "render_mr",
    "scribbles_from_labels",
    "simulate_anatomy",
    "simulate_atrium",
    "simulate_case",
    "simulate_cases",
    "write_phantom_dataset",
]
