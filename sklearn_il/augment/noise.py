"""NoiseBC: copies of the demonstrations with noisy observations."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._seeding import SeedStreams
from ._base import BaseAugmenter


class NoiseAugmenter(BaseAugmenter):
    """Add copies of the demonstrations with Gaussian noise on the observations.

    The noisy-observation baseline of the CCIL paper ("NoiseBC"): each copy
    keeps the expert's action, so the policy learns to act the same in a
    small neighbourhood of each demonstrated state. Unlike
    :class:`CorrectiveAugmenter`, the labels do not steer back towards the
    demonstrations.

    Parameters
    ----------
    noise_std : float or array-like of shape (n_features,), default=0.01
        Standard deviation of the noise on each observation feature, in the
        units of ``X``.
    n_copies : int, default=1
        Noisy copies of each row.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Attributes
    ----------
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_generated_ : int
        Rows added by the last :meth:`fit_resample`.

    See Also
    --------
    CorrectiveAugmenter : Corrective labels from a learned dynamics model.

    Examples
    --------
    >>> from sklearn_il.augment import NoiseAugmenter
    >>> from sklearn_il.datasets import make_winding_road
    >>> X, y, groups = make_winding_road(n_episodes=2, random_state=0)
    >>> augmenter = NoiseAugmenter(n_copies=2, random_state=0)
    >>> X_res, y_res = augmenter.fit_resample(X, y, groups)
    >>> X_res.shape[0] == 3 * X.shape[0]
    True
    """

    _parameter_constraints = {
        "noise_std": [Interval(Real, 0, None, closed="left"), "array-like"],
        "n_copies": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, noise_std=0.01, n_copies=1, random_state=None):
        self.noise_std = noise_std
        self.n_copies = n_copies
        self.random_state = random_state

    def _check_params(self, X, y):
        noise_std = np.asarray(self.noise_std, dtype=float)
        if noise_std.ndim and noise_std.shape != (X.shape[1],):
            raise ValueError(
                f"noise_std has shape {noise_std.shape}; give a float or one value "
                f"per feature ({X.shape[1]})."
            )
        if (noise_std < 0).any() or not np.isfinite(noise_std).all():
            raise ValueError("noise_std must be finite and non-negative.")

    def _resample(self, X, y, groups):
        noise_std = np.asarray(self.noise_std, dtype=float)
        rng = np.random.default_rng(SeedStreams(self.random_state).seed("labels"))
        X_new = np.tile(X, (self.n_copies, 1))
        X_new += rng.normal(size=X_new.shape) * noise_std
        self.n_generated_ = len(X_new)
        return X_new, np.tile(y, (self.n_copies, 1))
