"""The lecture's tree: pass an obstacle on the left or on the right."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class ObstacleEnv(gym.Env):
    """Drive past a round obstacle; the demonstrator passes it on either side.

    A point moves forward at constant speed (``x`` grows by 0.1 a step) and
    the action sets its lateral speed (``y`` changes by ``0.15 * a``,
    ``a`` in [-1, 1]). The obstacle of radius 1.2 sits at ``(4, 0)``; the road
    ends at ``x = 8`` (success, reward +1); episodes start at ``x = 0`` with
    ``y`` uniform in [-0.2, 0.2]; touching the obstacle or leaving
    the road (``|y| > 2.5``) ends the episode with reward -1. Each step costs
    ``0.01 * a**2``. Observation: ``(x, y)``.

    The expert (:class:`ObstacleExpert`) commits to a side at random in each
    episode, so the states before the obstacle carry two action modes: a
    unimodal policy averages them and drives into the obstacle.
    """

    metadata = {"render_modes": []}
    obstacle = np.array([4.0, 0.0])
    radius = 1.2
    road_end = 8.0
    road_half_width = 2.5

    def __init__(self):
        high = np.array([10.0, 3.0], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = np.array([0.0, self.np_random.uniform(-0.2, 0.2)])
        return self._pos.astype(np.float32), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action, dtype=float).reshape(-1)[0], -1.0, 1.0))
        self._pos = self._pos + np.array([0.1, 0.15 * a])
        reward = -0.01 * a**2
        crashed = np.linalg.norm(self._pos - self.obstacle) < self.radius
        off_road = abs(self._pos[1]) > self.road_half_width
        arrived = self._pos[0] >= self.road_end
        terminated = bool(crashed or off_road or arrived)
        success = bool(arrived and not (crashed or off_road))
        if terminated:
            reward += 1.0 if success else -1.0
        info = {"is_success": success} if terminated else {}
        return self._pos.astype(np.float32), reward, terminated, False, info


class ObstacleExpert:
    """Analytic demonstrator of :class:`ObstacleEnv`, bimodal by design.

    Keeps to the centre line until ``x = 2.2``, then steers to ``y = ±1.6``
    on the side it committed to at ``reset`` (or the side it already is on,
    when more than 0.3 off centre), and back to the centre past the
    obstacle. Queryable at any state.

    Parameters
    ----------
    side : {-1, 1} or None, default=None
        Fixed side; ``None`` draws one per episode at ``reset``.
    """

    swerve_at = 2.2
    offset = 1.6

    def __init__(self, side=None):
        self.side = side
        self._side = 1.0 if side is None else float(side)

    def reset(self, random_state=None):
        """Commit to a side for the next episode."""
        if self.side is None:
            self._side = float(np.random.default_rng(random_state).choice([-1.0, 1.0]))

    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 2)
        x, y = X[:, 0], X[:, 1]
        side = np.where(np.abs(y) > 0.3, np.sign(y), self._side)
        target = np.where((x >= self.swerve_at) & (x < 5.5), self.offset * side, 0.0)
        return np.clip(2.0 * (target - y), -1.0, 1.0).reshape(-1, 1)
