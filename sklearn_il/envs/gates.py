"""Two gates on a diagonal: a bimodal task whose action dimensions must agree."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .._expert_doc import documented_predict
from .obstacle import TwoSidedExpert


class GatesEnv(gym.Env):
    """Fly through one of two gates in a wall; only matched steering fits through.

    A point moves forward at constant speed (``x`` grows by 0.1 a step) and
    the 2-D action sets its lateral speeds (``(y1, y2)`` changes by ``0.15 *
    a``, ``a`` in [-1, 1]^2). Episodes start at ``x = 0``, ``(y1, y2)``
    uniform in [-0.01, 0.01]^2. At ``x = 0.7`` a wall has two round gates of
    radius 0.3, centred at ``(1, 1)`` and ``(-1, -1)``: passing the wall
    elsewhere, or leaving the road (``|y_i| > 2``), ends the episode with
    reward -1; reaching ``x = 3`` is a success (reward +1). Each step costs
    ``0.01 * |a|^2``. Observation: ``(x, y1, y2)``; action space
    ``Box(-1, 1, (2,))``. 60 steps at most (time limit set at
    registration; the road's end is 30 steps away).

    The expert (:class:`GatesExpert`) picks a gate at random in each
    episode: its actions are (+1, +1) or (-1, -1) in the same start state.
    A policy that chooses each action dimension on its own mixes them into
    (+1, -1) or (-1, +1) half of the time and hits the wall; one that
    averages them goes straight and hits it too.
    """

    metadata = {"render_modes": []}
    wall_x = 0.7
    _gates = np.array([[1.0, 1.0], [-1.0, -1.0]])
    gate_radius = 0.3
    road_end = 3.0
    road_half_width = 2.0

    def __init__(self):
        high = np.array([4.0, 3.0, 3.0], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = np.r_[0.0, self.np_random.uniform(-0.01, 0.01, size=2)]
        return self._pos.astype(np.float32), {}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=float).reshape(2), -1.0, 1.0)
        before = self._pos[0]
        self._pos = self._pos + np.r_[0.1, 0.15 * a]
        reward = -0.01 * float(a @ a)
        crossing = before < self.wall_x <= self._pos[0] + 1e-9
        through = np.linalg.norm(self._gates - self._pos[1:], axis=1).min() < self.gate_radius
        crashed = crossing and not through
        off_road = bool(np.abs(self._pos[1:]).max() > self.road_half_width)
        arrived = self._pos[0] >= self.road_end - 1e-9
        terminated = bool(crashed or off_road or arrived)
        success = bool(arrived and not (crashed or off_road))
        if terminated:
            reward += 1.0 if success else -1.0
        info = {"is_success": success} if terminated else {}
        return self._pos.astype(np.float32), reward, terminated, False, info


class GatesExpert(TwoSidedExpert):
    """Analytic demonstrator of :class:`GatesEnv`: both dimensions to one gate.

    Steers at full speed (gain 5) towards the gate it committed to at
    ``reset``, or, when queried off the start, to the gate on the side it is
    already on (the sign of ``y1 + y2``). Can be queried at any state.

    Parameters
    ----------
    side : {-1, 1, "offset"} or None, default=None
        A fixed gate (+1: ``(1, 1)``); ``None`` draws one per episode at
        ``reset``; ``"offset"``: the gate on the side it is on (the sign of
        ``y1 + y2``), from the first step.
    """

    @documented_predict
    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 3)
        position = X[:, 1:]
        total = position.sum(1)
        side = self._sides(total)
        return np.clip(5.0 * (side[:, None] - position), -1.0, 1.0)
