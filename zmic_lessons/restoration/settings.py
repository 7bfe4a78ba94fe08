"""Settings of the restoration chapter, one table per budget."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGETS", "TEST_IMAGES", "TRAIN_IMAGES", "Settings"]

#: Training images: real grey photographs and textures shipped with scikit-image, a real EPI
#: slice from nibabel's test data, and MR-like phantoms (never used for testing).
TRAIN_IMAGES: tuple[str, ...] = (
    "astronaut", "brick", "moon", "text", "grass", "gravel", "page", "cell",
    "nibabel_example4d", "mr_shepp_logan_t1", "mr_shepp_logan_t2", "cardiac_bssfp",
    "cardiac_lge",
)  # fmt: skip
#: Held-out real test images (never seen in training).
TEST_IMAGES: tuple[str, ...] = ("camera", "coins")


@dataclass(frozen=True)
class Settings:
    """Every knob of the chapter (override any field through ``run(..., field=value)``).

    Attributes:
        train_images: Names (``zmic_lessons.data.images``) of the training images.
        test_images: Held-out test images (real), never used in training.
        scale: SR factor ``s`` (2 at ``standard``, 4 at ``full``).
        blur_sigma: Gaussian blur of the degradation ``D`` (HR pixels).
        noise_sigma: Denoising noise standard deviation, in 1/255 units (25: the classic task).
        patch: HR training patch side (pixels, a multiple of ``scale``).
        batch: Patches per step.
        eval_size: Side of the centre crop of each test image (HR pixels; 0: whole image).
        n_components: Projections pretrained in RODec (K).
        sr_components: Projections RONet uses for SR (the paper: 3).
        denoise_components: Projections RONet uses for denoising (the paper: 1).
        projection_width: Filters of the rank-one projection branches.
        ls_scale: Scale each rank-one component by its least-squares coefficient (an orthogonal
            projection onto the learned direction); ``False``: the paper's plain ``u v^T``.
        rodec_steps: RODec pretraining steps (unsupervised, residual energy).
        rodec_every_step: Pretrain on the residual energy after every projection (the paper's
            code); ``False``: after the last one only.
        width: Filters of the reconstruction bodies (RONet, plain CNN) and of BayeSR's CNNs.
        blocks: Residual blocks of RONet's (rank-one, residual, fusion) bodies.
        bayesr_blocks: Hidden conv layers of each of BayeSR's three CNNs.
        denoise_deep_scale: Channels per output pixel of each denoising branch (paper: 48).
        sr_steps: Training steps of each SR network.
        denoise_steps: Training steps of each denoising network.
        lr: Adam learning rate (halved at 60 % and 85 % of the steps).
        aux_weight: Weight of RONet's branch losses against the target's decomposition
            (the paper's ``reg_para``, 1e-3).
        tau: Weight of BayeSR's L1 term.
        n_samples: BayeSR posterior samples drawn per test image (uncertainty maps).
        pseudo_blur: Gaussian blur (HR pixels) of the unsupervised mode's pseudo-HR
            (bicubic upsampling of the LR image itself); 0 for none.
        run_denoise: Train and evaluate the denoising networks.
        run_bayesr: Train and evaluate BayeSR.
    """

    train_images: tuple[str, ...] = TRAIN_IMAGES
    test_images: tuple[str, ...] = TEST_IMAGES
    scale: int = 2
    blur_sigma: float = 0.8
    noise_sigma: float = 25.0
    patch: int = 32
    batch: int = 8
    eval_size: int = 256
    n_components: int = 3
    sr_components: int = 3
    denoise_components: int = 1
    projection_width: int = 16
    ls_scale: bool = True
    rodec_steps: int = 400
    rodec_every_step: bool = True
    width: int = 24
    blocks: tuple[int, int, int] = (1, 2, 1)
    bayesr_blocks: int = 2
    denoise_deep_scale: int = 4
    sr_steps: int = 600
    denoise_steps: int = 300
    lr: float = 2e-3
    aux_weight: float = 1e-3
    tau: float = 1.0
    n_samples: int = 8
    pseudo_blur: float = 0.0
    run_denoise: bool = True
    run_bayesr: bool = True


BUDGETS: dict[str, Settings] = {
    "quick": Settings(
        test_images=("camera",), patch=16, batch=2, eval_size=48, projection_width=4,
        rodec_steps=3, width=8, blocks=(1, 1, 1), bayesr_blocks=1, denoise_deep_scale=1,
        sr_steps=3, denoise_steps=3, n_samples=2,
    ),
    "standard": Settings(),
    "full": Settings(
        scale=4, blur_sigma=1.6, patch=64, batch=16, eval_size=0, n_components=6,
        projection_width=64, rodec_steps=20000, width=64, blocks=(3, 6, 3), bayesr_blocks=8,
        denoise_deep_scale=48, sr_steps=100000, denoise_steps=100000, lr=1e-4, n_samples=16,
    ),
}  # fmt: skip
