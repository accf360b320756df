"""The base every torch-backed policy shares.

Parameters, input validation, seeding, the skorch training loop with its
episode-wise early stopping, and the fast predict path live here, once. A
policy is a subclass that fills in the hooks below; ``fit`` calls them in
this order. The table is the contract: ``tests/test_base.py`` checks that
each hook it names exists.

=========================  ==========================  ==========================  ===========================
hook                       called                      may read                    returns
=========================  ==========================  ==========================  ===========================
``_groups_required_by``    ``fit``, before ``groups``  parameters                  what needs ``groups`` (a
                           is checked                                              str for the error) or None
``_check_params``          ``fit``, right after the    parameters, the validated   None; raises ``ValueError``
                           data are validated          ``X`` and ``y`` (ndarrays)  for a bad combination
``_encode_target``         ``fit``, after              parameters, ``groups``;     the target, a CPU tensor;
                           ``_check_params``           sets the target's fitted    sets ``n_outputs_`` or
                                                       attributes when ``reset``   ``classes_``
``_build_module``          ``fit`` (not on a warm      parameters, fitted          the ``nn.Module``; tensors
                           start) and ``io.load``      attributes; ``X``, ``y``    ``X``, ``y`` set its
                           (without data)              tensors or None             statistics
``_make_criterion``        when the net is made        parameters                  the loss, an ``nn.Module``
                           (``fit``, ``io.load``)                                  of (output, target), one
                                                                                   value per row
``_callbacks``             when the net is made        parameters                  extra skorch callbacks,
                                                                                   ``(name, callback)`` pairs
``_training_target``       ``fit``, after the module   ``net_`` (its statistics),  the target the loss sees
                           is built                    ``X`` and the target        (e.g. standardised)
``_after_training``        ``fit``, after skorch's     ``net_``, the training      None (a further phase of
                           loop, in the seeded block   rows and their weights      training, e.g. a game)
                                                       on the device
=========================  ==========================  ==========================  ===========================

The helpers a policy calls: ``_forward(X, decode)`` (validation and the
fast path, then the module's inference form, its ``acting_module()`` when
it has one, under ``inference_mode``), ``_inference_form()``, ``_hidden_sizes()``,
``_generator(random_state, n_samples)`` (for ``sample``); on continuous policies
``_target_scaler``, ``_to_actions``, ``_standardise`` and
``_log_likelihood``.
"""

import copy
import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.helper import predefined_split

from ._nn import ACTIVATIONS, Standardize
from ._seeding import SeedStreams, torch_seeded
from ._validation import (
    all_finite,
    check_device,
    check_groups,
    check_n_samples,
    check_named,
    check_weights,
    layer_sizes,
    naming,
    validate_X_y,
)

# Rows per forward pass when predicting on large arrays: bounds peak memory.
_PREDICT_CHUNK = 65536
# Where a fitted policy's state (pickle, skops, sklearn_il.io) keeps its weights.
_WEIGHTS = "_weights"


class TensorDataset(torch.utils.data.Dataset):
    """Features, targets and row weights as tensors already on the training device.

    ``weight`` is None (every row counts the same) or a float32 tensor with
    mean 1 over these rows. ``generator`` (a torch CPU generator) orders the
    shuffled minibatches; it lives with the data because skorch re-creates
    its iterator each epoch and refuses iterator settings on a fitted net
    (warm start).
    """

    def __init__(self, X, y, generator=None, weight=None):
        self.X, self.y, self.generator, self.weight = X, y, generator, weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


class BatchSlicer:
    """skorch iterator that slices batches out of tensors.

    A ``DataLoader`` indexes and collates row by row, which costs more than
    the forward pass of a small policy network; slicing keeps ``fit`` within
    a few percent of a hand-written torch loop.

    Batches reach the module as ``module(x=..., target=...)``: policies that
    encode the action (a CVAE), noise it (diffusion) or condition on its
    earlier dimensions (autoregressive) need it in the forward pass; the
    others ignore it. The loss gets ``(target, weight)``.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __iter__(self):
        X, y, w, size = self.dataset.X, self.dataset.y, self.dataset.weight, self.batch_size
        n = len(X)
        order = (torch.randperm(n, generator=self.dataset.generator).to(X.device)
                 if self.shuffle else None)
        for start in range(0, n, size):
            if order is None:
                rows = slice(start, start + size)
            else:
                rows = order[start : start + size]
            yb = y[rows]
            yield {"x": X[rows], "target": yb}, (yb, None if w is None else w[rows])


class PolicyNet(NeuralNet):
    """skorch's net, its loss the (weighted) mean of the criterion's per-row losses.

    A criterion returns one loss per row (any further dimensions are
    averaged); a row's weight scales its term. Weights have mean 1 over the
    rows of their split, so a batch's loss is an unbiased estimate of the
    weighted mean over the split, and an epoch's validation loss (skorch's
    batch-size-weighted mean of batch losses) is exactly that mean.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        target, weight = y_true
        losses = self.criterion_(y_pred, target)
        losses = losses.reshape(len(losses), -1).mean(1)
        return losses.mean() if weight is None else (losses * weight).mean()


def _same(a, b):
    """Parameter equality that holds for arrays, lists and tuples alike."""
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except ValueError:  # ragged
        return a == b


def _diverged(what, learning_rate):
    return ValueError(
        f"Training diverged: {what}. Lower learning_rate_init (now {learning_rate}), "
        "or standardise X or y if their scales are far from 1; the estimator is left "
        "as it was before fit."
    )


class FiniteLoss(Callback):
    """Stop at the first epoch whose loss is not finite (non-finite weights follow)."""

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        for key in ("train_loss", "valid_loss"):
            if key in row and not math.isfinite(row[key]):
                raise _diverged(f"the {key} is {row[key]} at epoch {row['epoch']}", net.lr)


def _device_available(device):
    try:
        check_device(device)
    except ValueError:
        return False
    return True


def as_numpy(output):
    """Module output (a tensor or a tuple of tensors) as numpy arrays."""
    if isinstance(output, tuple):
        return tuple(t.numpy(force=True) for t in output)
    return output.numpy(force=True)


def minibatch_size(batch_size, n_rows):
    """The ``batch_size`` parameter (``"auto"``: 200) for ``n_rows`` of data."""
    return min(200 if batch_size == "auto" else batch_size, n_rows)


# The parameters every policy shares, documented once; a policy's docstring
# names the place with "%(training_parameters)s" and ``fill_doc`` fills it in.
_TRAINING_PARAMETERS = """hidden_layer_sizes : array-like of shape (n_layers,), default={hidden_layer_sizes}
        Width of each hidden layer.
    activation : {{"relu", "tanh", "logistic", "identity"}}, default="relu"
        Activation of the hidden layers.
    alpha : float, default={alpha}
        Strength of the L2 penalty on the weights, as in ``MLPRegressor``.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate_init : float, default={learning_rate_init}
        Adam's learning rate.
    max_iter : int, default={max_iter}
        Maximum number of epochs.
    tol : float, default={tol}
        Minimum improvement of the monitored loss that counts as progress.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the episodes (needs ``groups``;
        a ``GroupShuffleSplit``) and stop when their loss stops improving;
        the best weights are kept. Otherwise stop when the training loss
        stops improving.
    validation_fraction : float, default={validation_fraction}
        Fraction of episodes held out with ``early_stopping``.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without ``tol`` improvement before stopping.
    warm_start : bool, default=False
        Continue from the previous fit's weights and scaling.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch shuffling and the validation
        split, locally: the global torch and numpy states are not touched.
    verbose : int, default=0
        Print skorch's epoch table when positive.
    device : str or torch.device, default="cpu"
        Where the network (a ``torch.nn.Module``) trains and predicts,
        e.g. ``"cuda"``."""


def fill_doc(cls):
    """Class decorator: put the shared parameter docs into ``cls.__doc__``.

    The defaults shown are read from ``cls.__init__``, so a policy that
    needs a different default documents it truthfully.
    """
    defaults = {
        name: repr(p.default) for name, p in inspect.signature(cls.__init__).parameters.items()
    }
    cls.__doc__ = cls.__doc__.replace(
        "%(training_parameters)s", _TRAINING_PARAMETERS.format_map(defaults)
    )
    return cls


class BasePolicy(BaseEstimator):
    """Base class of the torch-backed policies. Not for direct use."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
    }

    # Keyword arguments for validate_data's handling of y.
    _y_validation = {}

    def __init__(
        self,
        *,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # ------------------------------------------------------------------ hooks
    def _groups_required_by(self):
        """What needs ``groups`` with these parameters (for the error), or None."""
        if self.early_stopping:
            return "early_stopping=True (it holds out whole episodes)"
        return None

    # Hidden layers the architecture needs (0: with none, a linear policy).
    _min_hidden_layers = 0

    def _check_params(self, X, y):
        """Check parameters against each other and the validated data."""
        sizes = layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        if len(sizes) < self._min_hidden_layers:
            raise ValueError(
                f"hidden_layer_sizes={sizes}: {type(self).__name__} needs at least "
                f"{self._min_hidden_layers} hidden layer(s)."
            )

    def _encode_target(self, y, reset, groups=None):
        """Return the training target as a float or long tensor (CPU).

        ``groups`` (episode ids, or None) is there for targets that span
        several steps of an episode.
        """
        raise NotImplementedError

    def _build_module(self, X=None, y=None):
        """Return the policy's module; tensors ``X``, ``y`` set its scaling.

        Called with no data by ``sklearn_il.io.load``, which then loads the
        fitted weights and statistics into it.
        """
        raise NotImplementedError

    def _make_criterion(self):
        """Return the loss as an ``nn.Module`` taking (module output, target)."""
        raise NotImplementedError

    def _callbacks(self):
        """Extra skorch callbacks, as ``(name, callback)`` pairs; run after early stopping."""
        return []

    def _training_target(self, X, target):
        """The target as the loss sees it (e.g. standardised); default: as encoded."""
        return target

    def _after_training(self, X, target, weight, seed):
        """A further phase of training after :meth:`fit`'s loop; default: none.

        ``X`` and ``target`` (as the loss sees it) are the training rows on
        the device, ``weight`` their weights (None, or mean 1); ``seed``
        comes from the ``"game"`` stream. :meth:`partial_fit` does not call it.
        """

    # ---------------------------------------------------------------- fitting
    def _validate_params(self):
        super()._validate_params()
        check_device(self.device)

    def _hidden_sizes(self):
        return layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")

    # A policy always wants its episode ids (early stopping, action chunks):
    # with metadata routing on, a Pipeline or a search passes them with no
    # set_fit_request call. sample_weight is left for the user to request,
    # as on scikit-learn's own estimators.
    __metadata_request__fit = {"groups": True}
    __metadata_request__partial_fit = {"groups": True}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None, sample_weight=None):
        """Fit the policy to demonstrations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Expert actions.
        groups : array-like of shape (n_samples,), default=None
            Episode id of each row, as ``GroupKFold`` takes them; rows of an
            episode are contiguous. Needed with ``early_stopping=True``,
            which holds out whole episodes.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row: it scales the row's term in the training
            loss and in the early-stopping validation loss. Rows of weight 0
            are left out, also from the observations' and actions' scaling,
            which the other rows set unweighted. None: every row weighs 1.

        Returns
        -------
        self : object
            The fitted policy.
        """
        warm = self.warm_start and hasattr(self, "net_")
        self._restoring_on_failure(warm, X, y, groups, sample_weight, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, groups=None, sample_weight=None):
        """Train for one pass (epoch) over the given rows.

        The first call builds the network, and its rows set the scaling of
        observations and actions; later calls continue training it, the
        optimizer's state kept, as does a call after :meth:`fit`. There is
        no early stopping and no convergence check: the caller decides
        when to stop. A structural parameter (the layers, what the outputs
        mean) changed between calls is refused.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Expert actions.
        groups : array-like of shape (n_samples,), default=None
            Episode id of each row, for policies whose targets span steps.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in :meth:`fit`.

        Returns
        -------
        self : object
            The policy, trained one more epoch.
        """
        self._restoring_on_failure(hasattr(self, "net_"), X, y, groups, sample_weight,
                                   incremental=True)
        return self

    def _restoring_on_failure(self, warm, *args, incremental):
        """Run ``_fit``; whatever stops it (bad data, a diverged loss, Ctrl-C)
        leaves the estimator as it was."""
        if warm:
            self._check_structure()
        # A warm start trains the net in place, so the previous one is kept aside.
        before = {**vars(self), "net_": copy.deepcopy(self.net_)} if warm else dict(vars(self))
        try:
            self._fit(*args, warm=warm, incremental=incremental)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit(self, X, y, groups, sample_weight, *, warm, incremental):
        X, target, groups, weight = self._validate_fit_data(X, y, groups, sample_weight,
                                                            reset=not warm)
        # Each call's draws differ: the streams' index is the epochs trained so far.
        epochs_before = len(self.net_.history) if warm else 0
        streams = SeedStreams(self.random_state)
        early_stopping = self.early_stopping and not incremental
        train, valid = self._episode_split(groups, streams.seed("split"), early_stopping)
        self.validation_groups_ = None if valid is None else np.unique(groups[valid.numpy()])
        batch_size = minibatch_size(self.batch_size, X.shape[0] if train is None else len(train))
        with torch_seeded(streams.seed("init", epochs_before), self.device):
            self._initialize_net(X, target, batch_size, warm, incremental, early_stopping)
            X, target = X.to(self.net_.device), target.to(self.net_.device)
            target = self._training_target(X, target)
            weight = None if weight is None else weight.to(self.net_.device)
            shuffle = torch.Generator().manual_seed(streams.seed("shuffle", epochs_before))
            training = self._rows(X, target, weight, train, shuffle)
            held_out = None if valid is None else self._rows(X, target, weight, valid)
            self._train(training, held_out, epochs=1 if incremental else None)
            if not incremental:
                self._after_training(training.X, training.y, training.weight,
                                     streams.seed("game"))
        self._check_finite_weights()
        self.net_.module_.eval()
        self._ready_to_act()
        self._record_training(epochs_before, incremental)
        self._structure = self._structural_params()

    # Parameters a warm start may change: they steer training, not the
    # network's shape or what its outputs mean.
    _training_only = frozenset({
        "alpha", "batch_size", "learning_rate_init", "max_iter", "tol", "early_stopping",
        "validation_fraction", "n_iter_no_change", "warm_start", "random_state", "verbose",
    })

    def _structural_params(self):
        return {k: v for k, v in self.get_params(deep=False).items() if k not in self._training_only}

    def _check_structure(self):
        """Refuse a warm start whose structural parameters changed since the network was made."""
        # Recorded by fit and io.load; absent from pickles of older versions.
        built = self.__dict__.get("_structure")
        if built is None:
            return
        for name, value in self._structural_params().items():
            if name in built and not _same(value, built[name]):
                raise ValueError(
                    f"{name}={value!r} differs from the {built[name]!r} the network was "
                    f"built with; warm_start=True and partial_fit continue that network, "
                    f"so set {name} back, or fit with warm_start=False to build a new one."
                )

    def _check_finite_weights(self):
        if not all(torch.isfinite(p).all() for p in self.net_.module_.parameters()):
            raise _diverged("the trained weights are not finite", self.learning_rate_init)

    def _validate_fit_data(self, X, y, groups, sample_weight, reset):
        """Validated ``X`` (a float32 tensor), the encoded target, ``groups``,
        and the row weights (a float32 tensor, or None), rows of weight 0
        left out: after the target is encoded, for targets that span steps."""
        X, y = validate_X_y(self, X, y, reset=reset, dtype=np.float32, **self._y_validation)
        groups = check_groups(groups, X.shape[0], required_by=self._groups_required_by())
        weight = check_weights(sample_weight, X.shape[0])
        self._check_params(X, y)
        with naming("y"):
            target = self._encode_target(y, reset=reset, groups=groups)
        if weight is not None:
            kept = np.flatnonzero(weight)
            if len(kept) < len(weight):
                X, target, weight = X[kept], target[torch.from_numpy(kept)], weight[kept]
                groups = None if groups is None else groups[kept]
            weight = None if (weight == weight[0]).all() else torch.from_numpy(weight)
        # torch shares the array's memory: a read-only X (a memmap) is copied.
        return torch.from_numpy(np.require(X, requirements=["C", "W"])), target, groups, weight

    def _episode_split(self, groups, seed, early_stopping):
        """Training and held-out rows (tensors) for early stopping; (None, None) without."""
        if not early_stopping:
            return None, None
        if np.unique(groups).size < 2:
            raise ValueError(
                "early_stopping=True holds out whole episodes for validation "
                "and needs at least 2 episodes in groups; got 1."
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.validation_fraction, random_state=seed)
        try:
            train, valid = next(splitter.split(np.zeros((len(groups), 1)), groups=groups))
        except ValueError as exc:  # scikit-learn's message names its test_size
            raise ValueError(
                f"early_stopping=True with validation_fraction={self.validation_fraction} "
                f"cannot hold out episodes from the {np.unique(groups).size} given, and "
                f"keep some for training: {exc}"
            ) from exc
        return torch.from_numpy(train), torch.from_numpy(valid)

    def _initialize_net(self, X, target, batch_size, warm, incremental, early_stopping):
        """Make ``net_``; on a warm start refresh its settings and, unless
        the call is incremental (``partial_fit`` keeps Adam's state), its
        optimizer, as scikit-learn's ``warm_start`` does. A loaded policy's
        optimizer has no state (files keep the weights only): it is set up
        afresh."""
        stopping = self._stopping_settings(early_stopping)
        if warm and incremental and self.net_.optimizer_.state:
            self.net_.set_params(batch_size=batch_size, **stopping)
            return
        settings = dict(
            batch_size=batch_size,
            max_epochs=self.max_iter,
            lr=self.learning_rate_init,
            # scikit-learn's alpha: L2 penalty 0.5 * alpha * ||W||^2 / batch_size
            # on the weights (not the biases) = Adam weight decay alpha / batch_size.
            optimizer__weight_decay=self.alpha / batch_size,
            # Biases are exempt, as in scikit-learn; with no penalty a
            # second parameter group would only double Adam's work per step.
            optimizer__param_groups=[("*bias", {"weight_decay": 0.0})] if self.alpha else [],
            verbose=self.verbose,
        )
        if warm:
            self.net_.set_params(**settings, **stopping)
        else:
            module = self._build_module(X, target)
            self.net_ = self._make_net(module, **settings, **stopping).initialize()

    def _stopping_settings(self, early_stopping):
        """The stopping callback's settings, as ``net_`` parameters: the
        held-out loss with ``early_stopping`` (its best weights kept), else
        the training loss."""
        return {
            "callbacks__stopping__monitor": "valid_loss" if early_stopping else "train_loss",
            "callbacks__stopping__load_best": early_stopping,
            "callbacks__stopping__patience": self.n_iter_no_change,
            "callbacks__stopping__threshold": self.tol,
        }

    @staticmethod
    def _rows(X, target, weight, rows, shuffle=None):
        """A ``TensorDataset`` of the given rows (a tensor; None: all of
        them), their weights scaled to mean 1 over them."""
        if rows is not None:
            rows = rows.to(X.device)
            X, target = X[rows], target[rows]
            weight = None if weight is None else weight[rows]
        if weight is not None:
            weight = (weight / weight.mean()).float()
        return TensorDataset(X, target, shuffle, weight)

    def _train(self, training, held_out, epochs=None):
        """skorch's loop on the training rows, validating on the held-out ones;
        ``epochs``: as many (None: up to ``max_iter``, as the net is set).

        skorch's ``partial_fit`` swallows ``KeyboardInterrupt``, which its
        early stopping raises to end the loop. Here only that one is: a
        user's Ctrl-C propagates, and ``fit`` puts the estimator back as it
        was rather than return a half-trained network as if it had finished.
        """
        net = self.net_
        net.set_params(train_split=None if held_out is None else predefined_split(held_out))
        net.notify("on_train_begin", X=training, y=None)
        try:
            net.fit_loop(training, epochs=epochs)
        except KeyboardInterrupt:
            stopper = dict(net.callbacks_)["stopping"]
            if stopper.misses_ < stopper.patience:
                raise
        net.notify("on_train_end", X=training, y=None)

    def _record_training(self, epochs_before, incremental):
        """``n_iter_``, ``loss_curve_``, and scikit-learn's warning when
        ``fit`` did not converge."""
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        stopper = dict(self.net_.callbacks_)["stopping"]
        if (not incremental and len(history) - epochs_before == self.max_iter
                and stopper.misses_ < stopper.patience):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=6,  # the caller of fit, past _fit_context
            )

    def _make_net(self, module, **settings):
        """The skorch net; its fit loop, callbacks and history are skorch's own.

        ``settings`` are net parameters; the stopping callback's default to
        ``early_stopping``'s (``_stopping_settings``)."""
        settings = {**self._stopping_settings(self.early_stopping), **settings}
        return PolicyNet(
            module=module,
            criterion=self._make_criterion(),
            optimizer=torch.optim.Adam,
            dataset=TensorDataset,
            iterator_train=BatchSlicer,
            iterator_train__shuffle=True,
            iterator_valid=BatchSlicer,
            callbacks=[
                ("stopping", EarlyStopping(threshold_mode="abs")),
                ("finite_loss", FiniteLoss()),
            ]
            + self._callbacks(),
            device=self.device,
            **settings,
        )

    # ------------------------------------------------------------- predicting
    def _decode_predict(self, output):
        """``predict``'s decoding of the inference form's output (tensors) to
        actions; ``sklearn_il.io.export`` traces it into the exported graph."""
        raise NotImplementedError

    def _export_outputs(self, x):
        """What an exported graph returns for a float32 observation tensor
        ``x``: ``{name: tensor}``, actions in the user's units as float32."""
        return {"actions": self._decode_predict(self._inference_form()(x)).float()}

    def _export_metadata(self):
        """JSON-able facts an exported file carries beside its graph."""
        meta = {"estimator": type(self).__name__}
        if "n_outputs_" in self.__dict__:
            meta["n_outputs"] = int(self.n_outputs_)
        return meta

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def _upgrade_tensors(self, tensors):
        """A file's tensors, written by an earlier version, in today's layout
        (a hook for ``io.load``)."""
        return tensors

    # One description of a fitted policy's state, shared by pickle, skops and
    # ``sklearn_il.io``: the parameters and fitted attributes as they are, and
    # the network as its weights (NumPy arrays under ``_WEIGHTS``), rebuilt by
    # ``__setstate__``. No torch or skorch object is in it, so skops can walk
    # it and a file holds nothing that runs code when loaded.
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_acting", None)
        # Recomputed on load from the parameters.
        state.pop("_structure", None)
        net = state.pop("net_", None)
        if net is not None:
            state[_WEIGHTS] = {
                name: tensor.detach().cpu().numpy()
                for name, tensor in net.module_.state_dict().items()
            }
        return state

    def __setstate__(self, state):
        state = dict(state)
        weights = state.pop(_WEIGHTS, None)
        shadowing = sorted(k for k in state if not isinstance(k, str) or hasattr(type(self), k))
        if shadowing:
            raise ValueError(f"the state of a {type(self).__name__} cannot set {shadowing}")
        super().__setstate__(state)
        if "net_" in self.__dict__:  # pickled by an earlier version, with the net
            self._ready_to_act()
        elif weights is not None:
            self._load_weights(weights)

    def _load_weights(self, weights):
        """Build ``net_`` from a dict of weight arrays (or tensors), each checked first.

        The parameters and fitted attributes are already set. The weights are
        compared with the network they describe, built on torch's meta device
        (no memory), before the network is built, and the network may not
        need much more memory than the weights take: a file cannot make its
        loader allocate far more than its own size. Raises ``ValueError``
        naming what does not match.
        """
        if not _device_available(self.device):
            # Fitted on a device this machine lacks (a GPU): act on the CPU.
            self.device = "cpu"
        self._validate_params()
        n_features = self.__dict__.get("n_features_in_")
        if isinstance(n_features, bool) or not isinstance(n_features, Integral) or n_features < 1:
            raise ValueError(f"n_features_in_ must be a positive int, got {n_features!r}")
        if not isinstance(weights, dict):
            raise ValueError(f"the weights must be a dict of arrays, got {type(weights).__name__}")
        tensors = {}
        for name, value in weights.items():
            if not isinstance(value, (np.ndarray, torch.Tensor)) or (
                    isinstance(value, np.ndarray) and value.dtype.kind not in "biuf"):
                raise ValueError(f"weight {name!r} is not a numeric array")
            tensors[name] = torch.as_tensor(value)
        tensors = self._upgrade_tensors(tensors)
        with torch.device("meta"):
            described = self._build_module()
        expected = described.state_dict()
        if set(expected) != set(tensors):
            missing = sorted(set(expected) - set(tensors))
            extra = sorted(set(tensors) - set(expected))
            raise ValueError(f"its tensors do not match the network: missing {missing}, "
                             f"unexpected {extra}")
        for key, tensor in expected.items():
            got = tensors[key]
            if got.shape != tensor.shape or got.dtype != tensor.dtype:
                raise ValueError(f"tensor {key!r} is {got.dtype} {tuple(got.shape)}, the "
                                 f"network needs {tensor.dtype} {tuple(tensor.shape)}")
        # Buffers derived from parameters (a diffusion schedule) are not
        # among the weights; parameters asking for huge ones are refused here.
        size = sum(t.numel() * t.element_size()
                   for t in [*described.parameters(), *described.buffers()])
        given = sum(t.numel() * t.element_size() for t in tensors.values())
        if size > 2 * given + 2**22:
            raise ValueError(f"the network it describes needs {size} bytes, far more than "
                             f"its weights' {given}")
        module = self._build_module()
        module.load_state_dict(tensors, strict=True)
        self.net_ = self._make_net(module).initialize()
        self.net_.module_.eval()
        # The epochs a warm start continues from (n_iter_ counts them all).
        for epoch, loss in enumerate(self.__dict__.get("loss_curve_") or [], 1):
            self.net_.history.append({"epoch": epoch, "train_loss": float(loss)})
        self._ready_to_act()
        self._structure = self._structural_params()

    def _on_device(self, device):
        """A new policy built from this one's state, its network on ``device``."""
        policy = type(self).__new__(type(self))
        policy.__setstate__({**self.__getstate__(), "device": device})
        return policy

    def _ready_to_act(self):
        """Make and keep the module's inference form for ``_forward``: its
        ``acting_module()`` when it has one, else the module itself.

        Made once after ``fit``, ``io.load`` and unpickling, and again by
        ``_forward`` if ``net_.module_`` has been replaced since.
        """
        module = self.net_.module_
        form = module.acting_module() if hasattr(module, "acting_module") else module
        self._acting = (module, form)
        return form

    def _inference_form(self):
        """The module's inference form, kept in step with ``net_.module_``."""
        acting = self.__dict__.get("_acting")
        if acting is not None and acting[0] is self.net_.module_:
            return acting[1]
        return self._ready_to_act()

    def _forward(self, X, decode=None):
        """Validate ``X``, run the module's inference form on it under ``inference_mode``.

        ``decode`` (tensor to tensor) maps the module's output to what the
        caller returns, inside the same ``inference_mode`` block: ops on
        inference tensors outside it cost noticeably more.

        A float ndarray of the fitted width takes the fast path: no
        DataLoader, no ``validate_data``, one conversion to a tensor. This is
        what a control loop calling ``predict`` on one row hits. Anything
        else (lists, DataFrames, bad values) goes through ``validate_data``
        for scikit-learn's checks and messages.
        """
        net = self.__dict__.get("net_")
        if (
            net is not None
            and type(X) is np.ndarray
            and X.ndim == 2
            and X.shape[0]
            and X.shape[1] == self.n_features_in_
            and X.dtype.kind == "f"
            and "feature_names_in_" not in self.__dict__
            # A fresh float32 C-ordered copy: torch.from_numpy shares it as is
            # (converting in numpy is cheaper than inside torch.as_tensor).
            # Checked after the cast: a float64 beyond float32's range is inf
            # (numpy warns of the overflow; the validating path refuses it).
            and all_finite(X32 := X.astype(np.float32))
        ):
            X = X32
        else:
            check_is_fitted(self)
            with naming("X"):
                X = np.array(validate_data(self, X, dtype=np.float32, reset=False), order="C")
            net = self.net_
        module, device = self._inference_form(), net.device
        with torch.inference_mode():
            x = torch.from_numpy(X)
            if device != "cpu":
                x = x.to(device)
            if len(x) <= _PREDICT_CHUNK:
                out = module(x)
            else:
                parts = [module(chunk) for chunk in x.split(_PREDICT_CHUNK)]
                out = (
                    tuple(torch.cat(p) for p in zip(*parts))
                    if isinstance(parts[0], tuple)
                    else torch.cat(parts)
                )
            return out if decode is None else decode(out)


class ContinuousPolicy(RegressorMixin, BasePolicy):
    """Base class of the policies for continuous actions. Not for direct use.

    The module carries a ``target_scaler`` (a float64 ``Standardize``
    fitted on what the network regresses: the actions, or a dynamics
    model's state change): the loss sees standardised targets, in which
    every dimension counts equally, and ``_to_actions`` maps back to the
    target's units in one op.
    """

    _y_validation = {"multi_output": True, "y_numeric": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _encode_target(self, y, reset, groups=None):
        y = np.require(np.asarray(y, dtype=np.float32).reshape(len(y), -1), requirements=["C", "W"])
        if not np.isfinite(y).all():
            raise ValueError("y has values beyond float32's range (about 3.4e38), which "
                             "the network trains in; rescale y.")
        if reset:
            self.n_outputs_ = y.shape[1]
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} action dimensions but the policy was fitted "
                f"with {self.n_outputs_}; warm_start keeps the first fit's actions."
            )
        return torch.from_numpy(y)

    def _target_scaler(self, y):
        """The module's ``target_scaler``: fitted on ``y``, or empty for ``io.load``."""
        return Standardize(self.n_outputs_, y, dtype=torch.float64)

    def _training_target(self, X, target):
        return self.net_.module_.target_scaler(target).float()

    @staticmethod
    def _demonstrated_range(scaler, y):
        """Smallest and largest demonstrated action per dimension, standardised
        by ``scaler``: ``y`` (n_rows, ..., n_outputs) to two (..., n_outputs) tensors."""
        z = scaler(y.double()).float()
        return z.min(0).values, z.max(0).values

    def _to_actions(self, z):
        """Standardised targets (``..., n_outputs``) to their units, float64.

        One fused op with float64 statistics; a single-output policy's
        predictions are flattened in torch, cheaper than numpy's ravel after.
        """
        scaler = self.net_.module_.target_scaler
        y = torch.addcmul(scaler.loc, z, scaler.scale)
        return y.view(-1) if self.n_outputs_ == 1 and y.dim() == 2 else y

    def _standardise(self, y):
        """Actions in standardised units, and the log-Jacobian to subtract from densities."""
        scaler = self.net_.module_.target_scaler
        return scaler(y), scaler.scale.log().sum()

    def _log_likelihood(self, X, y, log_prob):
        """Validate ``y`` against ``X``; return ``log_prob(output, y)`` per row.

        ``log_prob`` gets the module's output on ``X`` and the actions as a
        float64 tensor of shape (n_samples, n_outputs) in action units.
        """
        output = self._forward(X)
        n_rows = len(output[0] if isinstance(output, tuple) else output)
        y = check_named(y, "y", ensure_2d=False, dtype=np.float64)
        # Writable: torch warns on a read-only array it would share.
        y = np.require(y.reshape(len(y), -1), requirements=["W"])
        if y.shape != (n_rows, self.n_outputs_):
            raise ValueError(
                f"y has shape {y.shape} but X and the policy call for "
                f"{(n_rows, self.n_outputs_)} (rows, action dimensions)."
            )
        with torch.inference_mode():
            return as_numpy(log_prob(output, torch.from_numpy(y).to(self.net_.device)))

    def _generator(self, random_state, n_samples):
        """A torch generator seeded from ``random_state``, for ``sample`` (which
        passes its ``n_samples`` to be checked)."""
        check_is_fitted(self)
        check_n_samples(n_samples)
        seed = SeedStreams(random_state).seed("sample")
        return torch.Generator(device=self.net_.device).manual_seed(seed)
