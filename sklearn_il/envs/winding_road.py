"""A task where small errors compound: keep a car on a winding road."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from .._expert_doc import documented_predict


def _curvature(s, phase):
    return 0.6 * np.sin(0.5 * s + phase) + 0.3 * np.sin(1.3 * s + 2 * phase)


class WindingRoadEnv(gym.Env):
    """Steer a car along a road whose curvature changes.

    State: lateral offset ``e``, heading error ``psi`` and arc length ``s``.
    The car moves at unit speed with ``dt = 0.1``; the action is the yaw rate
    in [-1, 1] (scaled by 2), and the heading error is unstable on its own
    (it grows at rate 1.5 when uncorrected). Observation: ``(e, psi,
    kappa(s), kappa(s + 1))``, the offset, heading error, and the road's
    curvature here and one unit ahead. Each episode draws a new road; the car
    starts on the centre line. Reward 1 per step on the road; leaving it
    (``|e| > 0.5``) ends the episode; 200 steps on the road are a success,
    and the time limit set at registration.

    The expert (:class:`WindingRoadExpert`) never errs, so its
    demonstrations stay exactly on the centre line and show no recoveries. A
    cloned policy's small errors carry it off that line, into states it has
    never seen, and the unstable heading makes the errors grow: the
    lecture's ``O(eps H^2)``.

    Parameters
    ----------
    gust : float, default=0.0
        Standard deviation of a random disturbance of the heading at each
        step. Even a small gust (0.002) makes the demonstrations show
        recoveries, and behaviour cloning then succeeds.
    """

    metadata = {"render_modes": []}
    dt = 0.1
    half_width = 0.5
    horizon = 200
    instability = 1.5

    def __init__(self, gust=0.0):
        self.gust = gust
        high = np.array([1.0, np.pi, 2.0, 2.0], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def _obs(self):
        e, psi, s = self._state
        kappa = _curvature(np.array([s, s + 1.0]), self._phase)
        return np.array([e, psi, *kappa], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        rng = self.np_random
        self._phase = rng.uniform(0, 2 * np.pi)
        self._state = np.zeros(3)
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        u = 2.0 * float(np.clip(np.asarray(action, dtype=float).reshape(-1)[0], -1.0, 1.0))
        e, psi, s = self._state
        kappa = _curvature(s, self._phase)
        gust = self.np_random.normal(0.0, self.gust) if self.gust else 0.0
        e = e + self.dt * np.sin(psi)
        psi = psi + self.dt * (u - kappa + self.instability * psi) + gust
        s = s + self.dt * np.cos(psi)
        self._state = np.array([e, psi, s])
        self._t += 1
        off_road = abs(e) > self.half_width
        done = self._t >= self.horizon
        info = {"is_success": bool(done and not off_road)} if (off_road or done) else {}
        return self._obs(), 0.0 if off_road else 1.0, bool(off_road or done), False, info


class WindingRoadExpert:
    """Feedback steering for :class:`WindingRoadEnv`, queryable at any state.

    ``u = kappa - 4 e - 4 psi`` (curvature feed-forward plus state feedback),
    clipped to the action range.
    """

    @documented_predict
    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 4)
        e, psi, kappa = X[:, 0], X[:, 1], X[:, 2]
        return np.clip((kappa - 4.0 * e - 4.0 * psi) / 2.0, -1.0, 1.0).reshape(-1, 1)
