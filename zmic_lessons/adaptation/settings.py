"""Settings of the adaptation chapter: every knob with its default, one table per budget."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGETS", "METHODS", "Settings"]

#: The methods the chapter trains, in the order of its tables.
METHODS: tuple[str, ...] = (
    "source_only",
    "adversarial",
    "cfdnet",
    "varda",
    "varda_beta0",
    "target_supervised",
)


@dataclass(frozen=True)
class Settings:
    """Chapter settings (override any field through ``run(..., field=value)``).

    Attributes:
        tasks: Which tasks to run: ``"bssfp2lge"`` and/or ``"ct2mr"``.
        methods: Which of :data:`METHODS` to train.
        size: Side of the heart-centred crops (pixels).
        pixel_mm: Pixel size of the phantom (mm); real slices are resampled to it.
        n_train: Phantom hearts per training domain (source; unlabelled target).
        n_test: Phantom hearts in the target test set.
        jitter: Largest random offset of the heart from the crop centre (pixels).
        features: U-Net widths, full resolution to bottleneck.
        latent: Channels of the Gaussian latent of CFDNet and VarDA.
        steps: Optimisation steps per method.
        batch: Images per domain in a batch.
        lr: Adam learning rate.
        seg_weight: Weight of the balanced cross-entropy on the source.
        kl_weight: Weight of the KL terms (CFDNet, VarDA).
        rec_weight: Weight of the reconstruction terms (CFDNet, VarDA).
        cf_weight: Weight of the CF distance (CFDNet).
        cf_t_max: Band limit ``T`` of the CF distance (1 / latent units).
        mean_weight: Weight of CFDNet's mean-matching term.
        varda_beta: Weight of VarDA's L2 distance between aggregated posteriors.
        varda_alpha: Weight of VarDA's target reconstruction.
        adv_weight: Gradient-reversal weight of the adversarial baseline.
        pool: Average pooling of the latent before a distance (pixels).
        align_per_pixel: Pooled pixels are the samples of a distance (``False``: whole images,
            each pooled position a dimension, as the CFDNet code does).
    """

    tasks: tuple[str, ...] = ("bssfp2lge", "ct2mr")
    methods: tuple[str, ...] = METHODS
    size: int = 64
    pixel_mm: float = 2.0
    n_train: int = 60
    n_test: int = 30
    jitter: int = 4
    features: tuple[int, ...] = (8, 16, 32)
    latent: int = 8
    steps: int = 180
    batch: int = 8
    lr: float = 2e-3
    seg_weight: float = 1.0
    kl_weight: float = 0.01
    rec_weight: float = 1.0
    cf_weight: float = 10.0
    cf_t_max: float = 1.0
    mean_weight: float = 1.0
    varda_beta: float = 1.0
    varda_alpha: float = 1.0
    adv_weight: float = 0.1
    pool: int = 8
    align_per_pixel: bool = False


BUDGETS: dict[str, Settings] = {
    "quick": Settings(size=32, n_train=6, n_test=4, features=(4, 8), latent=4, steps=3, batch=2),
    "standard": Settings(),
    "full": Settings(
        size=160, pixel_mm=1.25, n_train=400, n_test=100, features=(32, 64, 128, 256, 512),
        latent=32, steps=6000, batch=10, lr=1e-3,
    ),
}  # fmt: skip
