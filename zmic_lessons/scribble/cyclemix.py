"""CycleMix (Zhang & Zhuang, CVPR 2022): learning segmentation from scribbles.

Scribble labels are stored as **soft one-hot maps** ``y`` of shape ``(N, K, H, W)``: a
labelled pixel has a one in its class's channel, an unlabelled pixel is all zeros (the
reference's fifth "unannotated" channel, which never enters the loss). Mixing and occlusion
then act on ``y`` exactly as on the image, and the partial cross-entropy ignores every pixel
that carries no label, whether it was never scribbled, lies in an occlusion hole or is padding.

The pieces, each with a switch in :class:`CycleMixConfig` for the ablation:

* :func:`partial_cross_entropy`, the baseline's loss (``L_pce``);
* mix augmentation (:func:`saliency_map`, :func:`block_mix_mask`, :func:`mix`): one binary mask
  chosen from saliency mixes two images **and** their scribbles, so every pixel of the mixed
  pair comes from one source;
* random occlusion (:func:`occlusion_mask`, :func:`occlude`) of image and label;
* global consistency (:func:`global_consistency`): ``f(mix(x))`` against ``mix(f(x))``,
  ``1 - cos``;
* local consistency (:func:`local_consistency`): ``f(x)`` against the largest connected
  components of its own argmax, ``1 - cos``;
* the total of the paper, ``L_pce(f(x), y) + L_pce(f(x~), y~) + 0.1 L_glob + 0.1 L_loc``
  (:func:`cyclemix_step`).

Simplifications against the reference (named in the chapter): the PuzzleMix graph cut (pyGCO,
mask values {0, 1/2, 1}, optimal transport of image blocks) is replaced by a binary block mask
thresholded from the blocks' saliency difference; without transport image and label stay
aligned (the reference moves image blocks but not the labels). The rotate-and-back of the
occluded image is replaced by flips and 90-degree turns of every training sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor, nn

__all__ = [
    "CycleMixConfig",
    "CycleMixDraw",
    "CycleMixStep",
    "block_mix_mask",
    "cosine_loss_map",
    "cyclemix_step",
    "global_consistency",
    "largest_component_labels",
    "local_consistency",
    "mix",
    "occlude",
    "occlusion_mask",
    "partial_cross_entropy",
    "saliency_map",
    "scribble_one_hot",
]

_EPS = 1e-8


def scribble_one_hot(labels: Tensor, n_classes: int, unlabelled: int = 255) -> Tensor:
    """Soft one-hot scribbles: a one in the class channel, all zeros where unlabelled.

    Args:
        labels: Integer map ``(N, H, W)``; values ``0..n_classes-1`` or ``unlabelled``.
        n_classes: Number of classes ``K`` (background included).
        unlabelled: The value of pixels without a label.

    Returns:
        Float ``(N, K, H, W)``.
    """
    labels = labels.long()
    known = labels != unlabelled
    bad = known & ((labels < 0) | (labels >= n_classes))
    if bool(bad.any()):
        raise ValueError(f"scribble values must be 0..{n_classes - 1} or {unlabelled}")
    onehot = F.one_hot(torch.where(known, labels, 0), n_classes).movedim(-1, 1).float()
    return onehot * known.unsqueeze(1)


def partial_cross_entropy(logits: Tensor, target: Tensor, normalise: str = "all") -> Tensor:
    """Partial cross-entropy ``-(1/Z) sum_x sum_c y_c(x) log p_c(x)`` over labelled pixels.

    Args:
        logits: ``(N, K, H, W)`` network outputs.
        target: ``(N, K, H, W)`` soft one-hot scribbles (all zeros = no label).
        normalise: ``"all"`` divides by every pixel of the batch (the reference: the loss grows
            with the scribbles' density), ``"labelled"`` by the labelled pixels only.

    Returns:
        The scalar loss (0 when no pixel is labelled).
    """
    nll = -(target * F.log_softmax(logits, dim=1)).sum(dim=1)  # (N, H, W)
    if normalise == "all":
        return nll.mean()
    if normalise == "labelled":
        return nll.sum() / target.sum().clamp_min(1.0)
    raise ValueError(f"normalise must be 'all' or 'labelled', got {normalise!r}")


def saliency_map(loss: Tensor, image: Tensor, retain_graph: bool = True) -> Tensor:
    """Saliency ``|d loss / d x|`` per pixel (summed over image channels), detached.

    Args:
        loss: A scalar computed from ``image`` (which must require grad).
        image: ``(N, C, H, W)``.
        retain_graph: Keep the graph (the same forward pass also trains the network).

    Returns:
        ``(N, 1, H, W)``.
    """
    (grad,) = torch.autograd.grad(loss, image, retain_graph=retain_graph)
    return grad.abs().sum(dim=1, keepdim=True).detach()


def block_mix_mask(sal_a: Tensor, sal_b: Tensor, lam: Tensor, blocks: int) -> Tensor:
    """A binary block mask ``M`` (1: take source a) from two saliency maps.

    The image is cut into ``blocks x blocks`` blocks; each block's mean saliency of source a
    minus that of source b ranks the blocks, and the top ``round(lam * blocks**2)`` go to
    source a. This stands in for PuzzleMix's graph cut (which also smooths the mask and moves
    salient blocks by optimal transport).

    Args:
        sal_a, sal_b: ``(N, 1, H, W)`` saliency of the two sources.
        lam: ``(N,)`` share of blocks taken from source a, in [0, 1].
        blocks: Blocks per side.

    Returns:
        Float ``(N, 1, H, W)`` with values in {0, 1}.
    """
    n, _, h, w = sal_a.shape
    diff = F.adaptive_avg_pool2d(sal_a - sal_b, blocks).flatten(1)  # (N, B)
    order = diff.argsort(dim=1, descending=True)
    take = (lam.to(diff) * blocks * blocks).round().long()  # (N,)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    grid = (ranks < take[:, None]).float().view(n, 1, blocks, blocks)
    return F.interpolate(grid, size=(h, w), mode="nearest")


def mix(a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
    """``M * a + (1 - M) * b``: mixes images and soft one-hot labels alike."""
    return mask * a + (1.0 - mask) * b


def occlusion_mask(shape: tuple[int, int, int, int], centres: Tensor, size: int) -> Tensor:
    """Cutout: ones everywhere except one square hole per sample (clipped at the border).

    Args:
        shape: ``(N, C, H, W)`` of the batch (``C`` is ignored).
        centres: ``(N, 2)`` integer hole centres ``(row, col)``.
        size: Hole side in pixels.

    Returns:
        Float ``(N, 1, H, W)``: 0 in the hole, 1 elsewhere.
    """
    n, _, h, w = shape
    rows = torch.arange(h, device=centres.device)[None, :, None]
    cols = torch.arange(w, device=centres.device)[None, None, :]
    r0 = (centres[:, 0] - size // 2)[:, None, None]
    c0 = (centres[:, 1] - size // 2)[:, None, None]
    hole = (rows >= r0) & (rows < r0 + size) & (cols >= c0) & (cols < c0 + size)
    return (~hole).float().unsqueeze(1).expand(n, 1, h, w).contiguous()


def occlude(image: Tensor, label: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
    """Zero image and label inside the hole (``keep == 0``): hole pixels carry no label."""
    return image * keep, label * keep


def cosine_loss_map(p: Tensor, q: Tensor) -> Tensor:
    """``1 - cos(p(x), q(x))`` over the class axis, per pixel: ``(N, K, H, W) -> (N, H, W)``."""
    return 1.0 - F.cosine_similarity(p, q, dim=1, eps=_EPS)


def global_consistency(
    probs_cut: Tensor, probs: Tensor, perm: Tensor, mask: Tensor, keep: Tensor
) -> tuple[Tensor, Tensor]:
    """Mix invariance: the prediction of the mixed, occluded image against the mixed predictions.

    ``target = O * (M * f(x) + (1 - M) * f(x)[perm])``; the loss is ``1 - cos`` averaged over
    the pixels outside the hole (inside it the target is zero and has no direction). No
    stop-gradient: both branches learn, as in the reference.

    Args:
        probs_cut: ``(N, K, H, W)`` softmax of the mixed, occluded image.
        probs: ``(N, K, H, W)`` softmax of the unmixed batch.
        perm: ``(N,)`` partner of each sample.
        mask: ``(N, 1, H, W)`` mix mask; keep: ``(N, 1, H, W)`` occlusion mask.

    Returns:
        ``(loss, map (N, H, W))``, the map zero in the hole.
    """
    target = keep * mix(probs, probs[perm], mask)
    inside = keep[:, 0]
    loss_map = cosine_loss_map(probs_cut, target) * inside
    return loss_map.sum() / inside.sum().clamp_min(1.0), loss_map


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)  # 4-connectivity, as the reference
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())[1:]
    return lab == 1 + int(np.argmax(sizes))


def largest_component_labels(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Keep each class's largest 4-connected component inside the heart's largest one.

    Args:
        labels: ``(H, W)`` integer map, 0 = background.
        n_classes: Number of classes (background included).

    Returns:
        ``(H, W)`` map: pixels outside those components become background.
    """
    heart = _largest(labels > 0)
    out = np.zeros_like(labels)
    for c in range(1, n_classes):
        keep = _largest(labels == c) & heart
        out[keep] = c
    return out


def local_consistency(probs: Tensor) -> tuple[Tensor, Tensor]:
    """Shape prior: ``1 - cos(f(x), onehot(LCC(argmax f(x))))``, mean over pixels.

    The target (largest connected components, per class and of the whole heart) is computed
    on the CPU and carries no gradient.

    Args:
        probs: ``(N, K, H, W)`` softmax.

    Returns:
        ``(loss, map (N, H, W))``.
    """
    k = probs.shape[1]
    hard = probs.detach().argmax(dim=1).cpu().numpy()
    lcc = np.stack([largest_component_labels(h, k) for h in hard])
    target = F.one_hot(torch.from_numpy(lcc).long(), k).movedim(-1, 1).to(probs)
    loss_map = cosine_loss_map(probs, target)
    return loss_map.mean(), loss_map


@dataclass(frozen=True)
class CycleMixConfig:
    """Which CycleMix parts are on, and their weights (the paper's: 1, 1, 0.1, 0.1).

    Attributes:
        mix: Saliency-guided mix of image and scribble pairs.
        occlusion: Cutout of image and label (applies to the mixed image, or the plain one).
        global_: Global (mix) consistency; needs ``mix``.
        local: Local (largest-component) consistency.
        w_cut: Weight of the pCE on the augmented image.
        w_global: Weight of the global consistency.
        w_local: Weight of the local consistency.
        normalise: pCE normalisation (see :func:`partial_cross_entropy`).
    """

    mix: bool = True
    occlusion: bool = True
    global_: bool = True
    local: bool = True
    w_cut: float = 1.0
    w_global: float = 0.1
    w_local: float = 0.1
    normalise: str = "all"

    @property
    def augments(self) -> bool:
        """Whether a second (augmented) image is predicted."""
        return self.mix or self.occlusion


@dataclass
class CycleMixDraw:
    """The random choices of one step (drawn by the batch sampler, so a step is deterministic).

    Attributes:
        perm: ``(N,)`` mixing partner of each sample.
        lam: ``(N,)`` share of blocks from the sample itself.
        blocks: Blocks per side of the mix mask.
        centres: ``(N, 2)`` occlusion hole centres.
        hole: Hole side in pixels.
    """

    perm: Tensor
    lam: Tensor
    blocks: int
    centres: Tensor
    hole: int


@dataclass
class CycleMixStep:
    """One CycleMix forward pass taken apart: every intermediate and every term.

    Attributes:
        loss: The total (scalar, with gradient).
        terms: Each term's value (floats): ``pce``, ``cut``, ``global``, ``local``.
        maps: Each term's per-pixel map ``(N, H, W)`` (detached), and the intermediates:
            ``saliency``, ``mask``, ``keep``, ``image_aug``, ``label_aug`` (soft one-hot),
            ``probs``, ``probs_aug``.
    """

    loss: Tensor
    terms: dict[str, float]
    maps: dict[str, Tensor] = field(default_factory=dict)


def _augment(x, y, sal, draw: CycleMixDraw, cfg: CycleMixConfig):
    """Mixed (and/or occluded) image and label, with the masks used."""
    ones = torch.ones_like(x[:, :1])
    mask, keep = ones, ones
    x_aug, y_aug = x, y
    if cfg.mix:
        perm = draw.perm
        mask = block_mix_mask(sal, sal[perm], draw.lam, draw.blocks)
        x_aug, y_aug = mix(x, x[perm], mask), mix(y, y[perm], mask)
    if cfg.occlusion:
        keep = occlusion_mask(tuple(x.shape), draw.centres, draw.hole)
        x_aug, y_aug = occlude(x_aug, y_aug, keep)
    return x_aug.detach(), y_aug, mask, keep


def cyclemix_step(
    model: nn.Module, x: Tensor, y: Tensor, draw: CycleMixDraw | None, cfg: CycleMixConfig
) -> CycleMixStep:
    """The CycleMix loss of one batch: ``L_pce + w_cut L_cut + w_g L_glob + w_l L_loc``.

    With every switch off this is the partial cross-entropy baseline.

    Args:
        model: Segmentation network, ``(N, 1, H, W) -> (N, K, H, W)`` logits.
        x: ``(N, 1, H, W)`` images.
        y: ``(N, K, H, W)`` soft one-hot scribbles.
        draw: The step's random choices (``None`` only when no augmentation is on).
        cfg: Switches and weights.

    Returns:
        A :class:`CycleMixStep`.
    """
    x = x.detach().requires_grad_(cfg.mix)
    logits = model(x)
    pce_map = -(y * F.log_softmax(logits, dim=1)).sum(dim=1)
    pce = partial_cross_entropy(logits, y, cfg.normalise)
    probs = logits.softmax(dim=1)
    terms, maps = {"pce": pce}, {"pce": pce_map.detach(), "probs": probs.detach()}
    loss = pce
    if cfg.augments:
        if draw is None:
            raise ValueError("cyclemix_step: mix or occlusion is on but no draw was given")
        sal = saliency_map(pce, x) if cfg.mix else torch.zeros_like(x)
        x_aug, y_aug, mask, keep = _augment(x.detach(), y, sal, draw, cfg)
        logits_aug = model(x_aug)
        terms["cut"] = partial_cross_entropy(logits_aug, y_aug, cfg.normalise)
        loss = loss + cfg.w_cut * terms["cut"]
        probs_aug = logits_aug.softmax(dim=1)
        maps.update(saliency=sal, mask=mask, keep=keep, image_aug=x_aug, label_aug=y_aug)
        maps["probs_aug"] = probs_aug.detach()
        maps["cut"] = -(y_aug * F.log_softmax(logits_aug, dim=1)).sum(dim=1).detach()
        if cfg.global_ and cfg.mix:
            terms["global"], gmap = global_consistency(probs_aug, probs, draw.perm, mask, keep)
            maps["global"] = gmap.detach()
            loss = loss + cfg.w_global * terms["global"]
    if cfg.local:
        terms["local"], lmap = local_consistency(probs)
        maps["local"] = lmap.detach()
        loss = loss + cfg.w_local * terms["local"]
    values = {k: float(v.detach()) for k, v in terms.items()}
    return CycleMixStep(loss=loss, terms=values, maps=maps)
