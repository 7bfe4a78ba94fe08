"""Settings of the left-atrium chapter: one frozen dataclass, one instance per budget."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGETS", "Settings"]


@dataclass(frozen=True)
class Settings:
    """Every knob of the chapter (override any field with ``run(..., field=value)``).

    Attributes:
        seen_centres: Training centres (keys of ``data.atrial.ATRIAL_CENTRES``).
        unseen_centre: The held-out centre, never seen in training.
        n_train: Training volumes per seen centre.
        n_test: Test volumes per centre (seen centres: other patients than the training ones).
        grid_shape: ``(Z, Y, X)`` voxels of the common grid every volume is brought onto
            (the region of interest, centred on the image centre, never on a label).
        grid_spacing_mm: ``(z, y, x)`` voxel size of the common grid in mm.
        steps: Optimisation steps per network.
        batch_size: 2D slices per step.
        lr: Adam learning rate.
        features: Channels per level of the U-Net (and the width of the DeepLab encoder).
        scar_weight: Weight of the scar head's loss against the LA head's.
        hm_reference_centre: Centre of the training volume every image is matched to (the
            fixed histogram-matching reference; AtrialGeneral uses one KCL case).
        hm_reference_index: Which of that centre's training volumes.
        aug_gamma: Range of the random gamma (log-uniform) of the intensity augmentation.
        aug_bias: Strength of its random smooth bias field.
        aug_noise: Largest standard deviation of its added noise (z-score units).
        second_network: The other architecture of the talk's table: ``"deeplab"`` (a small
            DeepLab v3+: strided encoder, atrous pyramid, one decoder skip) or ``"none"``.
        eval_every: Steps between validation Dice evaluations in the history (0: at the end).
    """

    seen_centres: tuple[str, ...] = ("A", "B", "C")
    unseen_centre: str = "D"
    n_train: int = 4
    n_test: int = 2
    grid_shape: tuple[int, ...] = (32, 48, 48)
    grid_spacing_mm: tuple[float, ...] = (2.5, 2.0, 2.0)
    steps: int = 700
    batch_size: int = 16
    lr: float = 2e-3
    features: tuple[int, ...] = (8, 16, 32, 64)
    scar_weight: float = 1.0
    hm_reference_centre: str = "B"
    hm_reference_index: int = 0
    aug_gamma: tuple[float, float] = (0.4, 2.5)
    aug_bias: float = 0.6
    aug_noise: float = 0.25
    second_network: str = "deeplab"
    eval_every: int = 0


BUDGETS: dict[str, Settings] = {
    "quick": Settings(
        n_train=1, n_test=1, grid_shape=(12, 32, 32), grid_spacing_mm=(4.0, 3.0, 3.0),
        steps=4, batch_size=4, features=(4, 8, 16),
    ),
    "standard": Settings(),
    "full": Settings(
        n_train=20, n_test=10, grid_shape=(44, 96, 96), grid_spacing_mm=(2.0, 1.0, 1.0),
        steps=6000, batch_size=20, features=(32, 64, 128, 256), lr=1e-3,
    ),
}  # fmt: skip
