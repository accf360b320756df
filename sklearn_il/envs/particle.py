"""Two goals in turn: a 2-D particle whose expert's action jumps (IBC's particle task)."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from .._expert_doc import documented_predict


class ParticleEnv(gym.Env):
    """Take a particle to one goal, then to the other.

    The particle moves in the unit square, pulled towards the action, a
    position setpoint in [0, 1]^2, by a damped spring: each step
    ``v += 0.1 * (10 * (a - p) - 5 * v)`` and ``p += 0.1 * v`` (``p`` kept
    in the square). Episodes start at rest, uniform in the square, with
    two goals uniform in [0.1, 0.9]^2 at least 0.3 apart. Coming within
    0.05 of the first goal visits it; coming within 0.05 of the second
    after that is a success (reward +1, the episode ends). 50 steps at most
    (time limit set at registration). Observation: ``(px, py, vx, vy, g1x,
    g1y, g2x, g2y)``; whether the first goal was visited is not in it.

    The expert (:class:`ParticleExpert`) sets its setpoint on the first
    goal until it is within 0.05 of it, then on the second: its action
    jumps between two states that differ by a hair. A regression of the
    action on the state blends the two goals there, and turns away before
    it reaches the first (IBC's particle task, Florence et al. 2021).
    """

    metadata = {"render_modes": []}
    tolerance = 0.05
    min_goal_distance = 0.3
    dt, stiffness, damping = 0.1, 10.0, 5.0

    def __init__(self):
        low = np.array([0, 0, -5, -5, 0, 0, 0, 0], dtype=np.float32)
        high = np.array([1, 1, 5, 5, 1, 1, 1, 1], dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.action_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)

    def _obs(self):
        return np.concatenate([self._pos, self._vel, self._goals.ravel()]).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = self.np_random.uniform(0, 1, size=2)
        self._vel = np.zeros(2)
        while True:
            self._goals = self.np_random.uniform(0.1, 0.9, size=(2, 2))
            if np.linalg.norm(self._goals[0] - self._goals[1]) >= self.min_goal_distance:
                break
        # A start within reach of the first goal has visited it, as the expert sees it.
        self._visited = bool(np.linalg.norm(self._goals[0] - self._pos) < self.tolerance)
        return self._obs(), {}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=float).reshape(2), 0.0, 1.0)
        self._vel = self._vel + self.dt * (self.stiffness * (a - self._pos) - self.damping * self._vel)
        self._pos = np.clip(self._pos + self.dt * self._vel, 0.0, 1.0)
        near = np.linalg.norm(self._goals - self._pos, axis=1) < self.tolerance
        success = bool(self._visited and near[1])
        self._visited = self._visited or bool(near[0])
        info = {"is_success": success}
        return self._obs(), float(success), success, False, info


class ParticleExpert:
    """Analytic demonstrator of :class:`ParticleEnv`.

    Sets the first goal as the setpoint until the particle has been within
    0.05 of it, then the second. It remembers whether it has, from
    :meth:`reset` on: the rows of each ``predict`` call are taken as the
    next states of one episode, in order (the rollout engine asks one copy
    per env, one row at a time).
    """

    tolerance = ParticleEnv.tolerance

    def __init__(self):
        self._visited = False

    def reset(self, random_state=None):
        """Forget the first goal: a new episode starts.

        The rollout tools call it at the start of each episode, on a copy
        of the expert per env, which then answers one row at a time.

        Parameters
        ----------
        random_state : int, RandomState instance or None, default=None
            Unused: the expert draws nothing.
        """
        self._visited = False

    @documented_predict
    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 8)
        near = np.linalg.norm(X[:, 4:6] - X[:, :2], axis=1) < self.tolerance
        visited = self._visited | np.logical_or.accumulate(near)
        self._visited = bool(visited[-1]) if len(visited) else self._visited
        return np.where(visited[:, None], X[:, 6:8], X[:, 4:6])
