"""Built-in tasks, registered with gymnasium on import, with analytic experts.

Each task's id is a constant of this module, for ``gym.make`` and for every
function that takes an env (``rollout(policy, OBSTACLE, ...)``):

===================  ===================================  ==============================================
constant             id                                   what it shows
===================  ===================================  ==============================================
``OBSTACLE``         ``sklearn_il/Obstacle-v0``           two action modes in the same state (the tree)
``OBSTACLE_OFFSET``  ``sklearn_il/ObstacleOffset-v0``     the same, the side set by the start's small
                                                          offset, not a coin (``side="offset"``)
``GATES``            ``sklearn_il/Gates-v0``              two modes of a 2-D action whose dimensions must agree
``WINDING_ROAD``     ``sklearn_il/WindingRoad-v0``        compounding error off the expert's states
``POINT_REACH``      ``sklearn_il/PointReach-v0``         goal reaching, for goal-conditioned policies
``PARTICLE``         ``sklearn_il/Particle-v0``           two goals in turn: an expert whose action jumps
===================  ===================================  ==============================================
"""

import gymnasium as gym

from .gates import GatesEnv, GatesExpert
from .obstacle import ObstacleEnv, ObstacleExpert
from .particle import ParticleEnv, ParticleExpert
from .point_reach import PointReachEnv, PointReachExpert
from .winding_road import WindingRoadEnv, WindingRoadExpert

OBSTACLE = "sklearn_il/Obstacle-v0"
OBSTACLE_OFFSET = "sklearn_il/ObstacleOffset-v0"
GATES = "sklearn_il/Gates-v0"
WINDING_ROAD = "sklearn_il/WindingRoad-v0"
POINT_REACH = "sklearn_il/PointReach-v0"
PARTICLE = "sklearn_il/Particle-v0"

_TASKS = {
    OBSTACLE: (ObstacleEnv, 60),
    OBSTACLE_OFFSET: (ObstacleEnv, 60, {"start_offset": 0.2}),
    GATES: (GatesEnv, 60),
    WINDING_ROAD: (WindingRoadEnv, 200),
    POINT_REACH: (PointReachEnv, 50),
    PARTICLE: (ParticleEnv, 50),
}
# Entry points as "module:Class" strings: a spec then serialises (Minari
# datasets store it, and recover the env from it).
for _id, (_cls, _steps, *_kwargs) in _TASKS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point=f"{_cls.__module__}:{_cls.__name__}", max_episode_steps=_steps,
                     kwargs=_kwargs[0] if _kwargs else {})

__all__ = [
    "GATES",
    "OBSTACLE",
    "OBSTACLE_OFFSET",
    "PARTICLE",
    "POINT_REACH",
    "WINDING_ROAD",
    "GatesEnv",
    "GatesExpert",
    "ObstacleEnv",
    "ObstacleExpert",
    "ParticleEnv",
    "ParticleExpert",
    "PointReachEnv",
    "PointReachExpert",
    "WindingRoadEnv",
    "WindingRoadExpert",
]
