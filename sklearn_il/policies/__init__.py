"""Policies: estimators that map observations to actions."""

from .autoregressive import AutoregressiveBC
from .bc import BCClassifier, BCRegressor
from .diffusion import DiffusionBC
from .fdivergence import FDivergenceBC
from .implicit import ImplicitBC
from .latent import LatentBC
from .mixture import MixtureDensityBC
from .sequence import SequenceBC

__all__ = [
    "AutoregressiveBC",
    "BCClassifier",
    "BCRegressor",
    "DiffusionBC",
    "FDivergenceBC",
    "ImplicitBC",
    "LatentBC",
    "MixtureDensityBC",
    "SequenceBC",
]
