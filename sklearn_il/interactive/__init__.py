"""Meta-estimators that query an expert in an environment: DAgger and DART."""

from .dagger import DAggerWrapper
from .dart import DARTWrapper

__all__ = ["DAggerWrapper", "DARTWrapper"]
