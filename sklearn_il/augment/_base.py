"""What the resamplers share: input checks and scikit-learn's ``fit``."""

# imbalanced-learn adds "fit_resample" to scikit-learn's routed methods when
# imblearn.base is imported; it must happen before these classes are defined,
# or they get no set_fit_resample_request.
import imblearn.base  # noqa: F401
import numpy as np
from sklearn.base import BaseEstimator, _fit_context

from .._validation import check_groups, naming, validate_X_y


class BaseAugmenter(BaseEstimator):
    """Base class of the resamplers. Not for direct use.

    A subclass implements ``_resample(X, y, groups)`` on validated arrays
    (``X`` float64, ``y`` 2-D) and returns the rows to add, and may
    override ``_check_params(X, y)``, called right after the data are
    validated, for checks between parameters or against the data; ``fit_resample``
    returns the original rows followed by them, ``y`` in its original shape.
    A subclass with ``_appends = False`` returns the rows to train on
    instead (they replace the original ones).

    A resampler takes no ``sample_weight``: imbalanced-learn's pipeline
    passes on only ``X`` and ``y``, so weights cannot follow its rows, and
    weights routed past it to the policy are refused there, by name.
    """

    # Episode ids reach a resampler in a pipeline with routing on, no
    # set_fit_resample_request call needed.
    __metadata_request__fit_resample = {"groups": True}

    # Set by a subclass that needs episode structure: what to name in the error.
    _groups_required_by = None
    _appends = True
    _y_numeric = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, **params):
        """Fit the resampler; :meth:`fit_resample` is what a pipeline calls.

        Parameters
        ----------
        X, y
            As in :meth:`fit_resample`.
        **params : dict
            ``groups``, as in :meth:`fit_resample`. Taken as ``**params``, as
            imbalanced-learn's samplers do, so that a pipeline routes
            ``groups`` by the ``fit_resample`` request alone.

        Returns
        -------
        self : object
        """
        self.fit_resample(X, y, **params)
        return self

    # A resampler's own estimator (a dynamics model) is validated by its fit.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y, groups=None):
        """Return the demonstrations with the generated rows appended.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, each episode's rows contiguous and in time order.
        y : array-like of shape (n_samples,) or (n_samples, n_action_dims)
            Continuous expert actions.
        groups : array-like of shape (n_samples,)
            Episode id of each row. In a pipeline, it is routed here with
            ``sklearn.set_config(enable_metadata_routing=True)``; the step
            requests it by default.

        Returns
        -------
        X_resampled : ndarray of shape (n_rows, n_features_out)
            The rows to train on.
        y_resampled : ndarray of shape (n_rows,) or (n_rows, n_action_dims)
            Their actions.
        """
        X, y = validate_X_y(self, X, y, dtype=np.float64, multi_output=True,
                            y_numeric=self._y_numeric)
        if self._y_numeric:
            with naming("y"):
                y = y.astype(np.float64, copy=False)
        groups = check_groups(groups, X.shape[0], required_by=self._groups_required_by)
        self._check_params(X, y)
        flat = y.ndim == 1
        X_new, y_new = self._resample(X, y.reshape(len(y), -1), groups)
        y_new = y_new.ravel() if flat else y_new
        if not self._appends:
            return X_new, y_new
        return np.vstack([X, X_new]), np.concatenate([y, y_new])

    def _check_params(self, X, y):
        """Check the parameters against each other and the validated data."""

    def _resample(self, X, y, groups):
        raise NotImplementedError
