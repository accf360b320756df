"""A fitted policy's ``predict`` as one graph, for a controller: ONNX or TorchScript.

The graph is what ``predict`` computes, traced: the policy's inference form
and its decoding (a mixture's mode rule, greedy decoding, DDIM's steps from
the fixed noise, unrolled), the target scaling included, with the affine
scalers of a Pipeline in front. Its input is a float32 batch of
observations (of any number of rows), its output actions in the user's
units. A classifier's graph returns the label's index into ``classes_``
(in the file's metadata) and the probabilities.
"""

import io
import json
import warnings

import numpy as np
import torch
from torch import nn

from .base import BasePolicy

_SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")


def _affine(step):
    """A fitted scikit-learn scaler as ``(scale, offset)``: ``transform(x) = x * scale + offset``."""
    name = type(step).__name__
    n = step.n_features_in_
    ones, zeros = np.ones(n), np.zeros(n)
    if name == "StandardScaler":
        scale = ones if step.scale_ is None else 1 / step.scale_
        mean = zeros if step.mean_ is None else step.mean_
        return scale, -mean * scale
    if name == "RobustScaler":
        scale = ones if step.scale_ is None else 1 / step.scale_
        centre = zeros if step.center_ is None else step.center_
        return scale, -centre * scale
    if name == "MinMaxScaler":
        if step.clip:
            raise ValueError("MinMaxScaler(clip=True) cannot be folded into the exported "
                             "graph; export a Pipeline without clip.")
        return step.scale_, step.min_
    return 1 / step.scale_, zeros  # MaxAbsScaler


def _parts(estimator):
    """The policy that predicts, the affine map in front of it (float64
    ``scale``, ``offset`` or None) and the history frames it expects (0: none)."""
    from .preprocessing import HistoryStacker

    # A search or an interactive wrapper predicts with its fitted estimator.
    for attribute in ("best_estimator_", "estimator_"):
        if not isinstance(estimator, BasePolicy) and hasattr(estimator, attribute):
            return _parts(getattr(estimator, attribute))
    if isinstance(estimator, BasePolicy):
        return estimator, None, None, getattr(estimator, "n_frames", 0) or 0
    steps = getattr(estimator, "steps", None)
    if steps is None:
        raise ValueError(
            f"export takes a fitted policy of this library, a Pipeline ending in one, a "
            f"search or an interactive wrapper over one; got {type(estimator).__name__}."
        )
    *before, (last_name, policy) = steps
    if not isinstance(policy, BasePolicy):
        raise ValueError(f"the Pipeline's last step {last_name!r} is a "
                         f"{type(policy).__name__}, not a policy of this library.")
    scale = offset = None
    n_frames = 0
    for name, step in before:
        if step is None or step == "passthrough" or hasattr(step, "fit_resample"):
            continue  # samplers act in fit only
        if isinstance(step, HistoryStacker):
            # The graph takes the stacked frames: what came before acts on each.
            repeats = step.n_frames + 1
            if scale is not None:
                scale, offset = np.tile(scale, repeats), np.tile(offset, repeats)
            n_frames += step.n_frames
            continue
        if type(step).__name__ not in _SCALERS or not type(step).__module__.startswith("sklearn."):
            raise ValueError(
                f"the Pipeline's step {name!r} ({type(step).__name__}) cannot be folded into "
                f"an exported graph: only scikit-learn's {', '.join(_SCALERS)} and "
                "HistoryStacker can come before the policy."
            )
        step_scale, step_offset = _affine(step)
        if scale is None:
            scale, offset = step_scale, step_offset
        else:
            scale, offset = scale * step_scale, offset * step_scale + step_offset
    # A SequenceBC reads the frames its Pipeline's HistoryStacker stacked.
    return policy, scale, offset, n_frames or getattr(policy, "n_frames", 0) or 0


class _PredictGraph(nn.Module):
    """``obs * scale + offset``, then the policy's exported outputs."""

    def __init__(self, policy, scale, offset, names):
        super().__init__()
        self.policy, self.names = policy, names
        self.affine = scale is not None
        if self.affine:
            self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
            self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32))

    def forward(self, observations):
        x = torch.addcmul(self.offset, observations, self.scale) if self.affine else observations
        outputs = self.policy._export_outputs(x)
        return tuple(outputs[name] for name in self.names)


def export(estimator, path, format="onnx"):
    """Write ``estimator.predict`` as one graph for a controller: ONNX or TorchScript.

    The graph computes what ``predict`` computes (within float32 rounding)
    with no scikit-learn, skorch or sklearn_il at run time: onnxruntime, or
    ``torch.jit.load``, is all a controller needs. Its input,
    ``observations``, is a float32 array of shape (n_rows, n_features), any
    number of rows; its output, ``actions``, is float32 in the units of the
    ``y`` the policy was fitted on, shaped as ``predict``'s. A
    :class:`~sklearn_il.BCClassifier` returns ``label`` (the index of each
    row's action in ``classes_``) and ``probabilities`` instead.

    What is folded in: the policy's observation and action scaling, its
    decoding (the Gaussian mean, a mixture's mode rule, greedy
    autoregressive decoding, a latent policy's mode of its fixed draws,
    DDIM's steps from the fixed noise, unrolled), and in front of it a
    Pipeline's scikit-learn scalers (``StandardScaler``, ``MinMaxScaler``,
    ``MaxAbsScaler``, ``RobustScaler``). With a ``HistoryStacker`` (or a
    :class:`~sklearn_il.SequenceBC`), the input is the row of stacked frames
    ``x_t, x_{t-1}, ...`` that the policy's history actor builds: the
    controller keeps the last frames itself (``n_frames`` in the metadata).

    The file's metadata (ONNX: the model's ``metadata_props``, key
    ``"sklearn_il"``; TorchScript: the extra file ``"sklearn_il.json"``) is
    JSON: the estimator, ``n_features_in``, ``n_outputs``, ``n_frames``,
    the input and output names, and a classifier's ``classes``.

    Parameters
    ----------
    estimator : fitted policy, Pipeline ending in one, search or wrapper
        A policy of this library (not :class:`~sklearn_il.ImplicitBC`, whose
        per-row search is no fixed graph), a Pipeline (scikit-learn's or
        imbalanced-learn's: samplers act in ``fit`` only and are left out)
        ending in one, or a fitted ``GridSearchCV``, ``DAggerWrapper`` or
        ``DARTWrapper`` over one (their fitted policy is exported).
    path : str or path-like
        Where to write (e.g. ``"policy.onnx"`` or ``"policy.pt"``).
    format : {"onnx", "torchscript"}, default="onnx"
        ONNX needs the ``onnx`` package (``pip install "sklearn_il[deploy]"``,
        which brings onnxruntime to run it too).

    Raises
    ------
    ValueError
        When a part cannot be exported; the message names the step and why.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, torch
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.datasets import make_obstacle
    >>> from sklearn_il.io import export
    >>> X, y, _ = make_obstacle(n_episodes=3, random_state=0)
    >>> policy = BCRegressor(hidden_layer_sizes=(16,), max_iter=5,
    ...                      random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "policy.pt")
    >>> export(policy, path, format="torchscript")
    >>> graph = torch.jit.load(path)
    >>> actions = graph(torch.from_numpy(X[:5].astype(np.float32)))[0].numpy()
    >>> bool(np.allclose(actions, policy.predict(X[:5]), rtol=1e-5, atol=1e-6))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from ._formats import atomic_write

    if format not in ("onnx", "torchscript"):
        raise ValueError(f"format={format!r}: choose 'onnx' or 'torchscript'.")
    check_is_fitted(estimator)
    policy, scale, offset, n_frames = _parts(estimator)
    check_is_fitted(policy)
    # A copy from the same state, on the CPU, whose weights need no gradient:
    # the tracer stores them as the graph's constants.
    policy = policy._on_device("cpu")
    policy.net_.module_.requires_grad_(False)
    policy._ready_to_act()
    n_in = len(scale) if scale is not None else policy.n_features_in_
    example = torch.zeros(2, n_in)
    with torch.no_grad():
        names = list(policy._export_outputs(example))
    graph = _PredictGraph(policy, scale, offset, names).eval()
    metadata = {**policy._export_metadata(), "n_features_in": int(n_in), "n_frames": int(n_frames),
                "input": "observations", "outputs": names}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer's notes on Python values and the legacy exporter's
        # deprecation notice: the graph is checked by the tests against predict.
        warnings.simplefilter("ignore")
        if format == "torchscript":
            traced = torch.jit.trace(graph, example, check_trace=False)
            torch.jit.save(traced, buffer, _extra_files={"sklearn_il.json": json.dumps(metadata)})
        else:
            _onnx_bytes(graph, example, names, metadata, buffer)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(buffer.getvalue())


def _onnx_bytes(graph, example, names, metadata, buffer):
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("format='onnx' needs the onnx package: "
                          'pip install "sklearn_il[deploy]".') from exc
    raw = io.BytesIO()
    batch = {0: "n_rows"}
    torch.onnx.export(graph, (example,), raw, dynamo=False, input_names=["observations"],
                      output_names=names,
                      dynamic_axes={"observations": batch, **{name: batch for name in names}})
    model = onnx.load_from_string(raw.getvalue())
    onnx.helper.set_model_props(model, {"sklearn_il": json.dumps(metadata)})
    buffer.write(model.SerializeToString())
