"""Input checks shared by estimators, resamplers and rollout tools."""

import math
import re
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import _check_sample_weight, _check_y, check_array, validate_data

GROUPS_HOWTO = (
    "Pass the episode id of each row as fit(X, y, groups=episode_ids). Inside a "
    "Pipeline or a search, enable metadata routing with "
    "sklearn.set_config(enable_metadata_routing=True): the step requests groups "
    "by default (unless .set_fit_request(groups=False) or "
    ".set_fit_resample_request(groups=False) was called on it)."
)


def all_finite(X):
    """Whether a 2-D float array holds no NaN or inf.

    A NaN or inf anywhere makes the sum non-finite, and a sum is the
    cheapest reduction: in plain Python for a few values (numpy's call
    machinery would dominate a one-row predict), else numpy's ``add``
    without the per-element ``isfinite`` array. (A finite sum that
    overflows reads as non-finite: a caller that gets False checks
    exactly before refusing anything.)
    """
    if X.size <= 32:
        return math.isfinite(sum(map(sum, X.tolist())))
    return math.isfinite(np.add.reduce(X, axis=None))


def episode_starts(groups):
    """Row index where each run of equal episode ids begins."""
    if len(groups) == 0:
        return np.array([], dtype=int)
    return np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]


def episode_ends(groups, per_row=False):
    """Row index where each run of equal episode ids ends (its last row).

    With ``per_row=True``, the end of each row's own episode, one per row.
    """
    ends = np.r_[episode_starts(groups)[1:], len(groups)] - 1
    return np.repeat(ends, np.diff(np.r_[-1, ends])) if per_row else ends


def check_groups(groups, n_samples, *, required_by=None):
    """Validate episode ids: one per row, finite, each episode's rows contiguous.

    Parameters
    ----------
    groups : array-like of shape (n_samples,) or None
        Episode id of each row.
    n_samples : int
        Number of rows of ``X``.
    required_by : str or None
        When not None and ``groups`` is None, raise a ``ValueError`` that names
        the step needing it and says how to pass it.

    Returns
    -------
    groups : ndarray of shape (n_samples,) or None
    """
    if groups is None:
        if required_by is not None:
            raise ValueError(f"{required_by} needs `groups`. {GROUPS_HOWTO}")
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(
            f"groups must be 1-D (one episode id per row), got shape {groups.shape}."
        )
    if groups.shape[0] != n_samples:
        raise ValueError(
            f"groups has {groups.shape[0]} entries but X has {n_samples} rows; "
            "pass one episode id per row. (In a pipeline after a resampler, the "
            "added rows have no episode ids: call .set_fit_request(groups=False) "
            "on this step.)"
        )
    if groups.dtype.kind == "f" and not np.isfinite(groups).all():
        raise ValueError("groups contains NaN or inf; episode ids must be finite.")
    if n_samples > 1:
        ids, n_runs = np.unique(groups[episode_starts(groups)], return_counts=True)
        if (n_runs > 1).any():
            episode = ids[n_runs > 1][0].item()
            raise ValueError(
                f"groups: the rows of episode {episode!r} are split into "
                f"{n_runs[n_runs > 1][0]} separate runs. The rows of one episode "
                "must be contiguous and in time order."
            )
    return groups


def check_weights(sample_weight, n_samples):
    """Validate ``sample_weight`` as scikit-learn does; None stays None.

    One non-negative, finite weight per row (a scalar is every row's), not
    all zero; each failure a ``ValueError`` naming ``sample_weight``.
    """
    if sample_weight is None:
        return None
    try:
        with naming("sample_weight"):
            return _check_sample_weight(sample_weight, np.empty((n_samples, 0)),
                                        dtype=np.float64, ensure_non_negative=True)
    except ValueError as exc:
        if ".shape ==" not in str(exc):
            raise
        # Most often weights routed past a resampler, which added rows.
        raise ValueError(f"{exc} One weight per row of X is needed. A resampler "
                         "(CorrectiveAugmenter, NoiseAugmenter, HindsightRelabeler) "
                         "cannot carry weights to the rows it adds: fit the policy on "
                         "its output without sample_weight.") from exc


def layer_sizes(sizes, name):
    """A ``hidden_layer_sizes``-style parameter as a tuple of positive ints."""
    sizes = tuple(int(h) for h in np.atleast_1d(sizes))
    if any(h < 1 for h in sizes):
        raise ValueError(f"{name} must be positive, got {sizes}.")
    return sizes


def check_device(device):
    """Raise a ``ValueError`` unless ``device`` names a torch device usable here."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use e.g. 'cpu' or 'cuda' ({exc})."
        ) from exc
    if parsed.type == "cpu":
        return
    backend = getattr(torch, parsed.type, None)
    if backend is None or not hasattr(backend, "is_available") or not backend.is_available():
        raise ValueError(
            f"device={device!r}: torch has no {parsed.type} device available on this machine."
        )
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)."
        )


@contextmanager
def naming(argument):
    """Make a ``ValueError``/``TypeError`` raised inside name ``argument``.

    scikit-learn's checks say what is wrong ("Found array with dim 3") but
    not always of which argument; the message is prefixed with it then.
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        original = str(exc)
        # numpy 2's scalar reprs (np.str_('a')) and the arrays some checks
        # print in full are noise in a message.
        lines = [line for line in original.splitlines()
                 if not line.lstrip().startswith(("[", "array="))]
        message = _NUMPY_SCALAR.sub(r"\1", " ".join(lines))
        named = re.search(rf"\b{re.escape(argument)}\b", message)
        if named and message == original:
            raise
        if not named:
            message = f"{argument}: {message}"
        try:
            renamed = type(exc)(message)
        except Exception:  # an exception class with its own signature
            renamed = ValueError(message)
        raise renamed from exc


_NUMPY_SCALAR = re.compile(r"np\.(?:str_|bytes_|bool|int\d+|uint\d+|float\d+)\(([^()]*)\)")


def validate_X_y(estimator, X, y, *, reset=True, dtype=np.float64, multi_output=False,
                 y_numeric=False):
    """scikit-learn's ``validate_data(estimator, X, y)``, with messages that name the argument."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    with naming("X"):
        X = validate_data(estimator, X, reset=reset, dtype=dtype)
    if not y_numeric:
        check_one_label_type(y)
    with naming("y"):
        y = _check_y(y, multi_output=multi_output, y_numeric=y_numeric, estimator=estimator)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; pass one action per row.")
    return X, y


def check_one_label_type(labels, name="y"):
    """Labels all strings or none: numpy turns ``[0, "a"]`` into strings
    ``"0"`` and ``"a"`` (so a prediction would be ``"0"``, not ``0``), and
    sorting an object array of both fails with a bare ``TypeError``."""
    dtype = getattr(labels, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype != object:  # arrays, Series: one type
        return
    values = np.asarray(labels, dtype=object).ravel()
    is_string = np.array([isinstance(value, str) for value in values], dtype=bool)
    if is_string.any() and not is_string.all():
        raise ValueError(
            f"{name} mixes string labels (such as {values[is_string][0]!r}) with others "
            f"(such as {values[~is_string][0]!r}); the action labels must be one type: "
            "all strings or all numbers."
        )


def check_n_samples(n_samples):
    """``n_samples`` of ``sample``: a positive int."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
    return int(n_samples)


def check_named(array, name, **kwargs):
    """scikit-learn's ``check_array``, its every message naming ``name``."""
    with naming(name):
        return check_array(array, input_name=name, **kwargs)
