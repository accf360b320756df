"""Imitation learning with the scikit-learn API."""

from . import envs  # noqa: F401  (registers the built-in gymnasium tasks)
from .policies import (
    AutoregressiveBC,
    BCClassifier,
    BCRegressor,
    DiffusionBC,
    FDivergenceBC,
    LatentBC,
    MixtureDensityBC,
    SequenceBC,
)

__version__ = "0.1.0"

__all__ = [
    "AutoregressiveBC",
    "BCClassifier",
    "BCRegressor",
    "DiffusionBC",
    "FDivergenceBC",
    "LatentBC",
    "MixtureDensityBC",
    "SequenceBC",
]
