"""Experts for standard gymnasium tasks, behind the expert protocol.

An expert maps a batch of observations ``X`` of shape ``(n, n_features)`` to
actions with ``predict(X)`` and can be asked at any state, which DAgger and
DART need. :func:`make_expert` returns the one for a task id, built-in tasks
included.
"""

import os
import pickle
import types

import gymnasium as gym
import numpy as np
from scipy.linalg import solve_discrete_are

from . import envs
from ._expert_doc import documented_predict

__all__ = [
    "InvertedDoublePendulumLQR",
    "InvertedPendulumLQR",
    "LunarLanderHeuristic",
    "PendulumSwingUp",
    "ReacherIK",
    "SB3Expert",
    "make_expert",
]


def _lqr_gain(A, B, Q, R):
    """Discrete-time LQR gain K (u = -K x)."""
    P = solve_discrete_are(A, B, Q, R)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)


class LunarLanderHeuristic:
    """gymnasium's own LunarLander heuristic pilot, on batches of observations.

    Parameters
    ----------
    continuous : bool, default=False
        ``False`` for ``LunarLander-v3`` (returns int actions 0-3), ``True``
        for ``LunarLanderContinuous-v3`` (returns ``(n, 2)`` throttles).

    Examples
    --------
    >>> from sklearn_il.experts import LunarLanderHeuristic
    >>> from sklearn_il.evaluation import evaluate_policy
    >>> result = evaluate_policy(LunarLanderHeuristic(), "LunarLander-v3",
    ...                          n_episodes=2, random_state=0)
    >>> result.mean_return > 200
    True
    """

    def __init__(self, continuous=False):
        from gymnasium.envs.box2d.lunar_lander import heuristic

        self.continuous = continuous
        self._heuristic = heuristic
        # The heuristic reads only env.unwrapped.continuous from its env.
        self._env = types.SimpleNamespace(unwrapped=types.SimpleNamespace(continuous=continuous))

    @documented_predict(returns="""actions : ndarray of shape (n_samples, 2) or (n_samples,)
            Throttles (float64) with ``continuous=True``, else int action
            labels 0-3.""")
    def predict(self, X):
        actions = [self._heuristic(self._env, row) for row in np.asarray(X, dtype=float)]
        return np.asarray(actions, dtype=float if self.continuous else int)


class PendulumSwingUp:
    """Energy pumping to swing ``Pendulum-v1`` up, LQR to balance it.

    Pendulum-v1 obeys ``theta'' = 15 sin(theta) + 3 u`` (``theta = 0``
    upright), so ``E = theta'^2 / 2 + 15 cos(theta)`` is 15 at rest upright and
    ``dE/dt = 3 u theta'``. Far from the top the expert pushes at full torque
    along ``sign((15 - E) theta')``; within 0.5 rad of upright, a discrete LQR
    on the linearised dynamics (with the env's own cost weights) holds it.

    Examples
    --------
    >>> from sklearn_il.experts import PendulumSwingUp
    >>> from sklearn_il.evaluation import evaluate_policy
    >>> evaluate_policy(PendulumSwingUp(), "Pendulum-v1", n_episodes=3,
    ...                 random_state=0).mean_return > -400
    True
    """

    max_torque = 2.0
    dt = 0.05
    capture_angle = 0.5

    def __init__(self):
        dt = self.dt
        # Semi-implicit Euler, as Pendulum-v1 integrates.
        A = np.array([[1 + 15 * dt**2, dt], [15 * dt, 1.0]])
        B = np.array([[3 * dt**2], [3 * dt]])
        self._K = _lqr_gain(A, B, np.diag([1.0, 0.1]), np.array([[0.001]]))

    @documented_predict
    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 3)
        theta, speed = np.arctan2(X[:, 1], X[:, 0]), X[:, 2]
        energy = 0.5 * speed**2 + 15.0 * np.cos(theta)
        pump = self.max_torque * np.sign((15.0 - energy) * speed + 1e-9)
        balance = -(np.c_[theta, speed] @ self._K.T).ravel()
        u = np.where(np.abs(theta) < self.capture_angle, balance, pump)
        return np.clip(u, -self.max_torque, self.max_torque).reshape(-1, 1)


class _MujocoLQR:
    """LQR about the upright rest state of a MuJoCo pendulum-on-cart env.

    The linearisation is a central finite difference of one whole env step
    (``frame_skip`` physics steps with the control held), taken on the env's
    own MuJoCo model.
    """

    env_id = None
    Q = None
    R = None

    def __init__(self):
        import mujoco

        env = gym.make(self.env_id)
        model, frame_skip = env.unwrapped.model, env.unwrapped.frame_skip
        self._low, self._high = env.action_space.low, env.action_space.high
        env.close()
        data = mujoco.MjData(model)
        nq = model.nq

        def env_step(state, control):
            mujoco.mj_resetData(model, data)
            data.qpos[:], data.qvel[:], data.ctrl[:] = state[:nq], state[nq:], control
            for _ in range(frame_skip):
                mujoco.mj_step(model, data)
            return np.r_[data.qpos, data.qvel]

        def jacobian(f, point, eps=1e-6):
            columns = []
            for i in range(len(point)):
                step = np.zeros_like(point)
                step[i] = eps
                columns.append((f(point + step) - f(point - step)) / (2 * eps))
            return np.stack(columns, axis=1)

        x0, u0 = np.zeros(nq + model.nv), np.zeros(model.nu)
        A = jacobian(lambda x: env_step(x, u0), x0)
        B = jacobian(lambda u: env_step(x0, u), u0)
        self._K = _lqr_gain(A, B, np.diag(self.Q), np.diag(self.R))

    def _state(self, X):
        raise NotImplementedError

    @documented_predict
    def predict(self, X):
        u = -self._state(np.asarray(X, dtype=float)) @ self._K.T
        return np.clip(u, self._low, self._high)


class InvertedPendulumLQR(_MujocoLQR):
    """LQR balancing ``InvertedPendulum-v5`` (observation = (qpos, qvel)).

    Examples
    --------
    >>> from sklearn_il.experts import InvertedPendulumLQR
    >>> from sklearn_il.evaluation import evaluate_policy
    >>> evaluate_policy(InvertedPendulumLQR(), "InvertedPendulum-v5",
    ...                 n_episodes=1, random_state=0).mean_return
    1000.0
    """

    env_id = "InvertedPendulum-v5"
    Q = [1.0, 10.0, 0.1, 0.1]
    R = [0.1]

    def _state(self, X):
        return X.reshape(-1, 4)


class InvertedDoublePendulumLQR(_MujocoLQR):
    """LQR balancing ``InvertedDoublePendulum-v5``.

    The state ``(x, theta1, theta2, x', theta1', theta2')`` is read back from
    the observation's sines and cosines and velocities.

    Examples
    --------
    >>> from sklearn_il.experts import InvertedDoublePendulumLQR
    >>> from sklearn_il.evaluation import evaluate_policy
    >>> evaluate_policy(InvertedDoublePendulumLQR(), "InvertedDoublePendulum-v5",
    ...                 n_episodes=1, random_state=0).mean_return > 9100
    True
    """

    env_id = "InvertedDoublePendulum-v5"
    Q = [1.0, 50.0, 50.0, 0.1, 1.0, 1.0]
    R = [1.0]

    def _state(self, X):
        X = X.reshape(-1, 9)
        angles = np.arctan2(X[:, 1:3], X[:, 3:5])
        return np.c_[X[:, 0], angles, X[:, 5:8]]


class ReacherIK:
    """Inverse kinematics and joint PD control for ``Reacher-v5``.

    The joint angles that put the fingertip on the target are solved in
    closed form (links of 0.1 and 0.11, as in gymnasium's ``reacher.xml``;
    the elbow bent the way it already is), and each joint is driven towards
    its angle by ``kp * error - kd * velocity``, clipped to [-1, 1].

    ``Reacher-v5`` charges the squared torque as much as the distance, so
    the gains are low. They were chosen on 20 episodes (seed 0) by mean
    return: kp, kd = 0.25, 0.05 gives -3.9 (0.2, 0.04: -3.9; 0.4, 0.08:
    -4.5; 1, 0.1: -8.0; 10, 1: -96); a random policy gets about -43.

    Parameters
    ----------
    kp : float, default=0.25
        Gain on the joint angle error (radians).
    kd : float, default=0.05
        Gain on the joint velocities.

    Examples
    --------
    >>> from sklearn_il.experts import ReacherIK
    >>> from sklearn_il.evaluation import evaluate_policy
    >>> evaluate_policy(ReacherIK(), "Reacher-v5", n_episodes=5,
    ...                 random_state=0).mean_return > -6
    True
    """

    links = (0.1, 0.11)

    def __init__(self, kp=0.25, kd=0.05):
        self.kp = kp
        self.kd = kd

    @documented_predict
    def predict(self, X):
        # Observation: cos q (2), sin q (2), target (2), joint velocities
        # (2), fingertip - target (2).
        X = np.asarray(X, dtype=float).reshape(-1, 10)
        q = np.arctan2(X[:, 2:4], X[:, 0:2])
        target = X[:, 4:6]
        l1, l2 = self.links
        cos_elbow = ((target**2).sum(1) - l1**2 - l2**2) / (2 * l1 * l2)
        elbow = np.arccos(np.clip(cos_elbow, -1.0, 1.0))
        elbow = np.where(np.sin(q[:, 1]) >= 0, elbow, -elbow)
        shoulder = (np.arctan2(target[:, 1], target[:, 0])
                    - np.arctan2(l2 * np.sin(elbow), l1 + l2 * np.cos(elbow)))
        error = np.angle(np.exp(1j * (np.c_[shoulder, elbow] - q)))  # wrapped to (-pi, pi]
        return np.clip(self.kp * error - self.kd * X[:, 6:8], -1.0, 1.0)


_EXPERTS = {
    envs.OBSTACLE: envs.ObstacleExpert,
    envs.OBSTACLE_OFFSET: lambda: envs.ObstacleExpert(side="offset"),
    envs.GATES: envs.GatesExpert,
    envs.WINDING_ROAD: envs.WindingRoadExpert,
    envs.POINT_REACH: envs.PointReachExpert,
    envs.PARTICLE: envs.ParticleExpert,
    "LunarLander-v3": LunarLanderHeuristic,
    "LunarLanderContinuous-v3": lambda: LunarLanderHeuristic(continuous=True),
    "Pendulum-v1": PendulumSwingUp,
    "InvertedPendulum-v5": InvertedPendulumLQR,
    "InvertedDoublePendulum-v5": InvertedDoublePendulumLQR,
    "Reacher-v5": ReacherIK,
}


class SB3Expert:
    """A stable-baselines3 agent as an expert: its deterministic action for a
    batch of observations, normalised as the agent was trained.

    A stable-baselines3 model's own ``predict(obs, deterministic=False)``
    returns ``(actions, state)`` and draws from the policy; an agent trained
    under ``VecNormalize`` expects normalised observations, and after
    ``PPO.load`` it no longer knows its statistics. This adapter answers
    the expert protocol: ``predict(X)`` returns actions only, the policy's
    mode by default, from observations normalised with the agent's
    statistics, for all rows at once (the rollout engine asks for all of
    its envs in one call).

    A bare model works as an expert too: the library wraps any
    stable-baselines3 model in this class, using the ``VecNormalize`` of
    the env the model still holds, if any. Wrap it yourself to pass the
    statistics of a loaded model or to draw actions.

    Parameters
    ----------
    model : stable_baselines3.common.base_class.BaseAlgorithm
        A trained agent (``PPO``, ``SAC``, ``TD3``, ... or ``PPO.load(path)``),
        for any action space its ``predict`` serves; not a recurrent one.
    normalization : VecNormalize, str or path-like, default=None
        The observation statistics the agent was trained with: a
        ``VecNormalize`` (its env may be closed) or the path of the file its
        ``save`` wrote (the RL Zoo's ``vecnormalize.pkl``). The file is a
        pickle, read as stable-baselines3's ``VecNormalize.load`` reads it:
        load only files you trust. None: the ``VecNormalize`` of the env the
        model holds (``model.get_vec_normalize_env()``), or no
        normalisation.
    deterministic : bool, default=True
        The policy's mode (the mean action; the most probable one): an
        expert's label should not be a random draw. ``False`` samples, as the
        agent did while it trained.

    Examples
    --------
    An agent trained under ``VecNormalize`` (briefly: its skill does not
    matter here), saved and loaded again:

    >>> import os, tempfile
    >>> from stable_baselines3 import PPO
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> from stable_baselines3.common.vec_env import VecNormalize
    >>> from sklearn_il.datasets import collect_demonstrations
    >>> from sklearn_il.experts import SB3Expert
    >>> venv = VecNormalize(make_vec_env("Pendulum-v1", seed=0))
    >>> agent = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, seed=0,
    ...             device="cpu").learn(64)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     agent.save(os.path.join(folder, "agent.zip"))
    ...     venv.save(os.path.join(folder, "vecnormalize.pkl"))
    ...     loaded = PPO.load(os.path.join(folder, "agent.zip"), device="cpu")
    ...     expert = SB3Expert(loaded, os.path.join(folder, "vecnormalize.pkl"))
    ...     demos = collect_demonstrations("Pendulum-v1", expert, n_episodes=2,
    ...                                    random_state=0)
    >>> demos.y.shape
    (400, 1)
    """

    def __init__(self, model, normalization=None, deterministic=True):
        self.model = model
        self.normalization = normalization
        self.deterministic = deterministic

    def _statistics(self):
        """The ``VecNormalize`` whose observation statistics apply, or None."""
        if not hasattr(self, "_statistics_"):
            source = self.normalization
            if source is None:
                source = self.model.get_vec_normalize_env()
            elif isinstance(source, (str, os.PathLike)):
                with open(source, "rb") as f:
                    source = pickle.load(f)
            if source is not None and not hasattr(source, "normalize_obs"):
                raise TypeError(
                    "normalization must be a VecNormalize or the path of the file "
                    f"its save wrote; got {type(source).__name__}."
                )
            self._statistics_ = source
        return self._statistics_

    @documented_predict(returns="""actions : ndarray of shape (n_samples, n_action_dims) or (n_samples,)
            As the agent's ``predict`` returns them: floats within the
            action bounds for continuous actions, int labels for discrete
            ones.""")
    def predict(self, X):
        X = np.asarray(X, dtype=np.float32)
        statistics = self._statistics()
        if statistics is not None:
            X = statistics.normalize_obs(X)
        actions, _ = self.model.predict(X, deterministic=self.deterministic)
        return actions


def make_expert(env_id):
    """The shipped expert for a task id.

    Parameters
    ----------
    env_id : str
        A built-in task (``sklearn_il.envs``) or one of ``LunarLander-v3``,
        ``LunarLanderContinuous-v3``, ``Pendulum-v1``,
        ``InvertedPendulum-v5``, ``InvertedDoublePendulum-v5``, ``Reacher-v5``.

    Returns
    -------
    expert : object with ``predict(X)``

    Examples
    --------
    >>> from sklearn_il.experts import make_expert
    >>> expert = make_expert("Pendulum-v1")
    >>> expert.predict([[1.0, 0.1, 0.0]]) < 0  # tilted right of upright: push left
    array([[ True]])
    """
    if env_id not in _EXPERTS:
        raise ValueError(f"no shipped expert for {env_id!r}; known: {sorted(_EXPERTS)}.")
    return _EXPERTS[env_id]()
