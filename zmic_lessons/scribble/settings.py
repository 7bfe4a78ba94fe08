"""Settings of the scribble chapter, one table per budget.

``standard`` (what the book shows) is sized for two CPU cores: 64 px crops around the heart at
1.5 mm, a U-Net with 8-16-32-64 channels, batch 8 and 900 Adam steps per method. A base-8 step
at 64 px x 8 takes about 0.1-0.2 s on one loaded core; a CycleMix step (two forward passes, the
saliency backward and the training backward) about three times that. 900 steps, not 300:
trained on scribbles, the network first calls all blood the better-scribbled blood class (RV
strokes outnumber LV strokes) and learns the LV's context only later; at seed 1 it takes about
200 steps at the full learning rate, which a 300-step cosine schedule never gives. ``full`` is
the paper's setting (212 px, 64 base channels, Adam 1e-4, batch 4) and is meant for a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Methods the chapter can train: the baseline, the cumulative ablation, CycleMix, full labels.
METHODS: tuple[str, ...] = ("pce", "mix", "mix_occ", "mix_occ_glob", "cyclemix", "full")
#: The methods of the standard run (the ablation adds the rest, see ``Settings.ablation``).
MAIN_METHODS: tuple[str, ...] = ("pce", "cyclemix", "full")


@dataclass(frozen=True)
class Settings:
    """Every knob of the chapter (override any field: ``run(..., steps=50)``).

    Attributes:
        sequence: Phantom sequence the slices come from: ``"lge"`` (the MSCMRseg scribble task)
            or ``"bssfp"`` (ACDC-like cine).
        n_train: Phantom training slices (scribbles only, except for full supervision).
        n_val: Phantom validation slices (the training curves' Dice; no model selection).
        n_test: Phantom held-out slices (the reported Dice).
        phantom_size: Matrix of the simulated slice (pixels) before cropping.
        pixel_mm: Pixel size (mm) of the phantom, and the in-plane spacing real data is
            resampled to.
        crop: Side of the network's input (pixels).
        jitter: Largest random shift (pixels) of the training crop around its centre.
        features: U-Net channels per level (stem to bottleneck).
        batch: Slices per step.
        steps: Optimisation steps per method.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        schedule: ``"cosine"`` (the learning rate falls to 0 over ``steps``: the last model is
            the one scored, without selection on validation data) or ``"constant"``.
        eval_every: Steps between validation Dice evaluations (the training curves).
        augment: Random flips and 90-degree turns of every training sample (all methods).
        mix_alpha: ``lambda ~ Beta(alpha, alpha)``, the share of blocks kept from each sample.
        mix_levels: The mix mask has ``2**k`` blocks per side, ``k`` drawn from these.
        hole_frac: Occlusion hole side as a fraction of the crop (the reference: 32 of 212 px).
        w_cut: Weight of the pCE on the mixed, occluded image.
        w_global: Weight of the global (mix) consistency.
        w_local: Weight of the local (largest-component) consistency.
        pce_normalise: ``"labelled"`` (divide by the labelled pixels: the pCE is a CE of the
            labelled pixels, of order one) or ``"all"`` (the reference: divide by all pixels,
            so with ~9 % of pixels labelled the consistency terms weigh about ten times more
            against the supervision; both are satisfied by a constant map).
        ablation: Also train the cumulative ablation (``mix``, ``mix_occ``, ``mix_occ_glob``).
        max_cases: Real data only: read at most this many training and test volumes (0: all).
    """

    sequence: str = "lge"
    n_train: int = 48
    n_val: int = 16
    n_test: int = 48
    phantom_size: int = 128
    pixel_mm: float = 1.5
    crop: int = 64
    jitter: int = 6
    features: tuple[int, ...] = (8, 16, 32, 64)
    batch: int = 8
    steps: int = 900
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    eval_every: int = 75
    augment: bool = True
    mix_alpha: float = 0.5
    mix_levels: tuple[int, ...] = (1, 2, 3, 4)
    hole_frac: float = 0.15
    w_cut: float = 1.0
    w_global: float = 0.1
    w_local: float = 0.1
    pce_normalise: str = "labelled"
    ablation: bool = False
    max_cases: int = 0

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods this run trains, in table order."""
        return METHODS if self.ablation else MAIN_METHODS


BUDGETS: dict[str, Settings] = {
    "quick": Settings(
        n_train=8, n_val=4, n_test=4, phantom_size=96, crop=32, jitter=2, features=(4, 8),
        batch=4, steps=3, eval_every=2, mix_levels=(1, 2),
    ),
    "standard": Settings(),
    "full": Settings(
        n_train=400, n_val=50, n_test=100, phantom_size=256, pixel_mm=1.36719, crop=212,
        jitter=16, features=(64, 128, 256, 512, 1024), batch=4, steps=6000, lr=1e-4,
        eval_every=200,
    ),
}  # fmt: skip
