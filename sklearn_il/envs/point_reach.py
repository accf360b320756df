"""Goal reaching in the plane, for goal-conditioned policies."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from .._expert_doc import documented_predict


class PointReachEnv(gym.Env):
    """Move a point to a goal in the square [-1, 1]^2.

    Observation: ``(px, py, gx, gy)``, position then goal; the goal columns
    are ``goal_slice``. Action: velocity in [-1, 1]^2; the point moves by
    ``0.1 * a`` a step. Each step costs -1 until the point is within 0.05 of
    the goal (success, episode ends); 50 steps at most (time limit set at
    registration). ``reset(options={"position": ..., "goal": ...})`` sets
    either instead of drawing it.
    """

    metadata = {"render_modes": []}
    goal_slice = slice(2, 4)
    tolerance = 0.05

    def __init__(self):
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def _obs(self):
        return np.concatenate([self._pos, self._goal]).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = self.np_random.uniform(-1, 1, size=2)
        self._goal = self.np_random.uniform(-1, 1, size=2)
        options = options or {}
        if "position" in options:
            self._pos = np.clip(np.asarray(options["position"], dtype=float).reshape(2), -1, 1)
        if "goal" in options:
            self._goal = np.clip(np.asarray(options["goal"], dtype=float).reshape(2), -1, 1)
        return self._obs(), {}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=float).reshape(2), -1.0, 1.0)
        self._pos = np.clip(self._pos + 0.1 * a, -1.0, 1.0)
        reached = np.linalg.norm(self._pos - self._goal) < self.tolerance
        info = {"is_success": True} if reached else {"is_success": False}
        return self._obs(), 0.0 if reached else -1.0, bool(reached), False, info


class PointReachExpert:
    """Heads straight for the goal at full speed, slowing on arrival."""

    @documented_predict
    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 4)
        return np.clip((X[:, 2:] - X[:, :2]) / 0.1, -1.0, 1.0)
