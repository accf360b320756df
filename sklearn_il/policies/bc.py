"""Behaviour cloning: maximum likelihood on expert (observation, action) pairs."""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from torch import nn

from .._nn import MLPPolicy, gaussian_log_prob
from .._validation import check_one_label_type, naming
from ..base import BasePolicy, ContinuousPolicy, as_numpy, fill_doc

# robomimic's floor on the standard deviation of its Gaussian head.
_MIN_STD = 0.01


def _gaussian(output):
    """Split a Gaussian head's output into mean and standard deviation."""
    mean, raw = output.chunk(2, dim=-1)
    return mean, F.softplus(raw) + _MIN_STD


class GaussianNLL(nn.Module):
    """Negative log-likelihood of the target under the predicted Gaussian."""

    def forward(self, output, target):
        return -gaussian_log_prob(target, *_gaussian(output))


class GaussianPolicy(ContinuousPolicy):
    """An MLP policy with a Gaussian head. Not for direct use.

    The module outputs standardised means, and with a learned standard
    deviation (``_learns_std``) raw scales beside them; ``predict`` returns
    the mean, ``sample`` draws from the Gaussian and ``score_samples``
    scores actions under it. Shared by :class:`BCRegressor` and
    :class:`~sklearn_il.FDivergenceBC`.
    """

    # Whether the head predicts a standard deviation per state.
    _learns_std = True

    # The network; a subclass that feeds it differently swaps in its own.
    _module_class = MLPPolicy

    def _build_module(self, X=None, y=None):
        n_heads = 2 if self._learns_std else 1
        return self._module_class(
            self.n_features_in_,
            n_heads * self.n_outputs_,
            self._hidden_sizes(),
            self.activation,
            X=X,
            target_scaler=self._target_scaler(y),
        )

    def _make_criterion(self):
        return GaussianNLL() if self._learns_std else nn.MSELoss(reduction="none")

    def _mean_std(self, output):
        """Standardised mean and standard deviation (None without a learned one)."""
        if self._learns_std:
            return _gaussian(output)
        return output, None

    def _decode_predict(self, output):
        """The module's output to mean actions."""
        return self._to_actions(output[:, : self.n_outputs_] if self._learns_std else output)

    def predict(self, X):
        """Predict the mean action for each observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Actions; 1-D when the policy has one action dimension.
        """
        return as_numpy(self._forward(X, self._decode_predict))

    def sample(self, X, n_samples=1, random_state=None):
        """Draw actions from the policy.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Observations.
        n_samples : int, default=1
            Draws per observation.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        actions : ndarray of shape (n_rows, n_samples, n_outputs)
            Without a learned standard deviation (``BCRegressor(loss="mse")``)
            the policy is deterministic and every draw equals ``predict``.
        """
        generator = self._generator(random_state, n_samples)

        def draw(output):
            mean, std = self._mean_std(output)
            z = mean.unsqueeze(1).expand(-1, int(n_samples), -1)
            if std is not None:
                noise = torch.randn(z.shape, generator=generator, device=z.device)
                z = z + std.unsqueeze(1) * noise
            return self._to_actions(z)

        return as_numpy(self._forward(X, draw))

    @available_if(lambda self: self._learns_std)
    def score_samples(self, X, y):
        """Log-likelihood of each action under the policy (a learned standard deviation).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Actions.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Log-density of each action, in the units of ``y``.
        """

        def log_prob(output, y):
            mean, std = _gaussian(output.double())
            z, log_det = self._standardise(y)
            return gaussian_log_prob(z, mean, std) - log_det

        return self._log_likelihood(X, y, log_prob)


@fill_doc
class BCRegressor(GaussianPolicy):
    """Behaviour cloning for continuous actions.

    An MLP maps observations to actions and is trained by maximum likelihood
    on the demonstrations: with ``loss="mse"`` a Gaussian of fixed variance
    (mean squared error), with ``loss="gaussian"`` a diagonal Gaussian whose
    variance is predicted per state (negative log-likelihood). Both are
    unimodal: where the expert acts in two ways from the same state, the
    policy's mean falls between them.

    Observations and actions are standardised inside the policy, so no
    scaler is needed in front of it.

    Parameters
    ----------
    loss : {"mse", "gaussian"}, default="mse"
        ``"mse"``: squared error, a fixed-variance Gaussian; ``sample`` then
        repeats the prediction. ``"gaussian"``: learned state-dependent
        diagonal variance (softplus, floored at 0.01 in standardised units),
        trained by negative log-likelihood; enables ``score_samples``.
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net. Its module outputs standardised actions
        (``loss="mse"``) or standardised means and raw scales; use
        ``predict`` for actions.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of action dimensions.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    BCClassifier : Behaviour cloning for discrete actions.

    Examples
    --------
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, groups = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = BCRegressor(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
    >>> policy.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **BasePolicy._parameter_constraints,
        "loss": [StrOptions({"mse", "gaussian"})],
    }

    def __init__(
        self,
        *,
        loss="mse",
        hidden_layer_sizes=(256, 256),
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            device=device,
        )
        self.loss = loss

    @property
    def _learns_std(self):
        return self.loss == "gaussian"


@fill_doc
class BCClassifier(ClassifierMixin, BasePolicy):
    """Behaviour cloning for discrete actions.

    An MLP maps observations to logits over the expert's actions and is
    trained with cross-entropy (maximum likelihood of a categorical policy).
    Labels may be integers or strings. Observations are standardised inside
    the policy.

    Parameters
    ----------
    %(training_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The action labels.
    net_ : skorch.NeuralNet
        The fitted skorch net; its module outputs logits.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    BCRegressor : Behaviour cloning for continuous actions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_il import BCClassifier
    >>> X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
    >>> y = np.array(["left", "left", "right", "right"])
    >>> policy = BCClassifier(hidden_layer_sizes=(8,), max_iter=300,
    ...                       learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> policy.predict([[-2.0], [2.0]])
    array(['left', 'right'], dtype='<U5')
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, groups=None, sample_weight=None, classes=None):
        """Train for one pass (epoch) over the given rows.

        As :meth:`BCRegressor.partial_fit`; the first call also needs every
        label the policy will see, as ``classes``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,)
            Expert action labels, each one of ``classes``.
        groups : array-like of shape (n_samples,), default=None
            Episode id of each row.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in :meth:`fit`.
        classes : array-like of shape (n_classes,), default=None
            All the action labels; required on the first call, and if given
            later, the same labels.

        Returns
        -------
        self : object
            The policy, trained one more epoch.
        """
        first = not hasattr(self, "net_")
        if classes is not None:
            check_one_label_type(classes, "classes")
            with naming("classes"):
                classes = np.unique(column_or_1d(classes))
                check_classification_targets(classes)
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(f"classes={classes.tolist()} differs from the classes "
                             f"{self.classes_.tolist()} of the first call.")
        self._declared_classes = classes
        try:
            self._restoring_on_failure(not first, X, y, groups, sample_weight, incremental=True)
        finally:
            self.__dict__.pop("_declared_classes", None)
        return self

    def _encode_target(self, y, reset, groups=None):
        check_classification_targets(y)
        # partial_fit's first call declares the classes; fit takes y's.
        declared = self.__dict__.get("_declared_classes")
        if reset and declared is None:
            self.classes_, codes = np.unique(y, return_inverse=True)
            return torch.from_numpy(codes.astype(np.int64).ravel())  # astype copies: writable
        if reset:
            self.classes_ = declared
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not among the classes "
                f"{self.classes_.tolist()} of the first fit (or of partial_fit's classes)."
            )
        codes = np.searchsorted(self.classes_, y)
        return torch.from_numpy(codes.astype(np.int64).ravel())

    def _build_module(self, X=None, y=None):
        return MLPPolicy(
            self.n_features_in_, len(self.classes_), self._hidden_sizes(), self.activation, X=X
        )

    def _make_criterion(self):
        return nn.CrossEntropyLoss(reduction="none")

    def predict(self, X):
        """Predict the most probable action for each observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Action labels.
        """
        codes = as_numpy(self._forward(X, self._decode_predict))
        return self.classes_[codes]

    def _decode_predict(self, logits):
        return logits.argmax(-1)

    def _export_outputs(self, x):
        # Labels as indices into classes_ (in the file's metadata), and
        # predict_proba's probabilities.
        logits = self._inference_form()(x)
        return {"label": logits.argmax(-1), "probabilities": logits.softmax(-1)}

    def _export_metadata(self):
        return {**super()._export_metadata(), "classes": self.classes_.tolist()}

    def predict_proba(self, X):
        """Probability of each action.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return as_numpy(self._forward(X, lambda logits: logits.double().softmax(-1)))

    def predict_log_proba(self, X):
        """Log-probability of each action.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return as_numpy(self._forward(X, lambda logits: logits.double().log_softmax(-1)))
