"""Resamplers that add training rows: ``fit_resample(X, y, groups=None)``.

They follow imbalanced-learn's sampler API, so they go in
``imblearn.pipeline.Pipeline`` before a policy and run at fit time only.
"""

from .corrective import CorrectiveAugmenter
from .hindsight import HindsightRelabeler
from .noise import NoiseAugmenter

__all__ = ["CorrectiveAugmenter", "HindsightRelabeler", "NoiseAugmenter"]
