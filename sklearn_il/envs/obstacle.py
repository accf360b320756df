"""The lecture's tree: pass an obstacle on the left or on the right."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from .._expert_doc import documented_predict


class ObstacleEnv(gym.Env):
    """Drive past an obstacle straight ahead; the demonstrator passes either side.

    A point moves forward at constant speed (``x`` grows by 0.1 a step) and
    the action sets its lateral speed (``y`` changes by ``0.15 * a``, ``a`` in
    [-1, 1]). Episodes start at ``x = 0``, ``y`` uniform in
    ``[-start_offset, start_offset]``, heading at an obstacle of radius 0.8
    centred at ``(1, 0)``: only a swerve at full speed from the first step
    clears it. Reaching ``x = 3`` is a success (reward +1); touching the
    obstacle or leaving the road (``|y| > 2``) ends the episode with reward
    -1. Each step costs ``0.01 * a**2``. Observation: ``(x, y)``; action
    space ``Box(-1, 1, (1,))``. 60 steps at most (time limit set at
    registration; the road's end is 30 steps away).

    The expert (:class:`ObstacleExpert`) picks a side at random in each
    episode, so the start state carries two action modes, +1 and -1. A
    unimodal policy fitted by maximum likelihood predicts their mean, goes
    (nearly) straight, and hits the obstacle.

    Parameters
    ----------
    start_offset : float, default=0.01
        Largest lateral offset of the start. ``OBSTACLE_OFFSET`` registers
        0.2, where ``ObstacleExpert(side="offset")`` passes on the side it
        starts on: the modes are split by a small, visible offset, not a coin.
    """

    metadata = {"render_modes": []}
    _obstacle = np.array([1.0, 0.0])
    radius = 0.8
    road_end = 3.0
    road_half_width = 2.0

    def __init__(self, start_offset=0.01):
        if not 0 <= start_offset < self.road_half_width:
            raise ValueError(f"start_offset must be in [0, {self.road_half_width}), "
                             f"got {start_offset!r}.")
        self.start_offset = start_offset
        high = np.array([4.0, 3.0], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._pos = np.array([0.0, self.np_random.uniform(-self.start_offset, self.start_offset)])
        return self._pos.astype(np.float32), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action, dtype=float).reshape(-1)[0], -1.0, 1.0))
        self._pos = self._pos + np.array([0.1, 0.15 * a])
        reward = -0.01 * a**2
        crashed = np.linalg.norm(self._pos - self._obstacle) < self.radius
        off_road = abs(self._pos[1]) > self.road_half_width
        arrived = self._pos[0] >= self.road_end - 1e-9
        terminated = bool(crashed or off_road or arrived)
        success = bool(arrived and not (crashed or off_road))
        if terminated:
            reward += 1.0 if success else -1.0
        info = {"is_success": success} if terminated else {}
        return self._pos.astype(np.float32), reward, terminated, False, info


class TwoSidedExpert:
    """An expert that passes on one of two sides (-1 or +1).

    ``side``: -1 or 1 fixes it; ``None`` draws one at each ``reset`` and
    keeps it until the expert is more than 0.3 off centre, where it takes
    the side it is on; ``"offset"`` takes the side it is on from the start
    (+1 at 0). Subclasses pass the lateral offset to :meth:`_sides`.
    """

    def __init__(self, side=None):
        if side not in (None, -1, 1, "offset"):
            raise ValueError(f"side must be -1, 1, 'offset' or None, got {side!r}.")
        self.side = side
        self._side = float(side) if side in (-1, 1) else 1.0

    def reset(self, random_state=None):
        """Commit to a side for the next episode.

        The rollout tools call it at the start of each episode, on a copy
        of the expert per env, which then answers one row at a time.

        Parameters
        ----------
        random_state : int, RandomState instance or None, default=None
            Seeds the episode's choices.
        """
        if self.side is None:
            self._side = float(np.random.default_rng(random_state).choice([-1.0, 1.0]))

    def _sides(self, offset):
        """The side to pass on at each lateral ``offset``."""
        if self.side == "offset":
            return np.where(offset >= 0, 1.0, -1.0)
        return np.where(np.abs(offset) > 0.3, np.sign(offset), self._side)


class ObstacleExpert(TwoSidedExpert):
    """Analytic demonstrator of :class:`ObstacleEnv`, bimodal by design.

    Steers at full speed towards ``y = ±1.1`` until ``x = 1.8``, then back to
    the centre line. The side is the one it committed to at ``reset``, or,
    when queried more than 0.3 off centre, the side it is already on. Can be
    queried at any state.

    Parameters
    ----------
    side : {-1, 1, "offset"} or None, default=None
        A fixed side; ``None`` draws one per episode at ``reset``;
        ``"offset"``: the side of its lateral offset, from the first step.
    """

    offset = 1.1
    passed_at = 1.8

    @documented_predict
    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 2)
        x, y = X[:, 0], X[:, 1]
        side = self._sides(y)
        target = np.where(x < self.passed_at, self.offset * side, 0.0)
        gain = np.where(x < self.passed_at, 5.0, 2.0)
        return np.clip(gain * (target - y), -1.0, 1.0).reshape(-1, 1)
