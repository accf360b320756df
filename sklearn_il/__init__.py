"""Imitation learning with the scikit-learn API."""

from . import envs  # noqa: F401  (registers the built-in gymnasium tasks)
from .augment import CorrectiveAugmenter, HindsightRelabeler, NoiseAugmenter
from .dynamics import DynamicsRegressor, InverseDynamicsRegressor
from .interactive import DAggerWrapper, DARTWrapper
from .policies import (
    AutoregressiveBC,
    BCClassifier,
    BCRegressor,
    DiffusionBC,
    FDivergenceBC,
    ImplicitBC,
    LatentBC,
    MixtureDensityBC,
    SequenceBC,
)
from .preprocessing import HistoryStacker

__version__ = "0.1.0"

__all__ = [
    "AutoregressiveBC",
    "BCClassifier",
    "BCRegressor",
    "CorrectiveAugmenter",
    "DAggerWrapper",
    "DARTWrapper",
    "DiffusionBC",
    "DynamicsRegressor",
    "FDivergenceBC",
    "HindsightRelabeler",
    "HistoryStacker",
    "ImplicitBC",
    "InverseDynamicsRegressor",
    "LatentBC",
    "MixtureDensityBC",
    "NoiseAugmenter",
    "SequenceBC",
]
