"""Left-atrium chapter: AtrialGeneral across hospitals and LAScarQS scar on the LA surface.

Modules: :mod:`.harmonise` (z-score, histogram matching to a fixed reference, the centre ROI),
:mod:`.augment` (random style augmentation), :mod:`.deeplab` (a small DeepLab v3+),
:mod:`.lascarqs` (the challenge's evaluation: LA in mm, scar projected on the LA surface),
:mod:`.experiment` (data and training), :mod:`.evaluation` (scores), :mod:`.lessons` (notebook
helpers), :mod:`.settings` and :mod:`.chapter` (``run``).
"""

from .augment import random_style
from .chapter import BUDGETS, TITLE, Artifacts, Experiment, Settings, make_experiment, run
from .deeplab import MiniDeepLab
from .evaluation import mean_over, score_model, score_volume
from .experiment import SCHEMES, Volume, build_model, predict, standardise, to_grid
from .harmonise import centre_roi, histogram_match, resample_to, zscore
from .lascarqs import evaluate_scar_files, la_metrics, scar_metrics

__all__ = [
    "BUDGETS",
    "SCHEMES",
    "TITLE",
    "Artifacts",
    "Experiment",
    "MiniDeepLab",
    "Settings",
    "Volume",
    "build_model",
    "centre_roi",
    "evaluate_scar_files",
    "histogram_match",
    "la_metrics",
    "make_experiment",
    "mean_over",
    "predict",
    "random_style",
    "resample_to",
    "run",
    "scar_metrics",
    "score_model",
    "score_volume",
    "standardise",
    "to_grid",
    "zscore",
]
