"""Policies: estimators that map observations to actions."""

from .bc import BCClassifier, BCRegressor

__all__ = ["BCClassifier", "BCRegressor"]
