"""Saving fitted policies and whole workflows in formats that load without running code.

A pickle (and so joblib, and skorch's own save, which unpickles modules)
executes whatever the file says when it is loaded. :func:`dump` writes a
fitted policy as one safetensors file: the weights as raw tensors, and the
estimator's class name, parameters and fitted attributes as JSON in its
header. Anything else that contains policies (a ``Pipeline`` ending in one,
a ``DAggerWrapper`` or ``DARTWrapper`` with its aggregated data) is written
as a zip archive: the scikit-learn parts in skops' format, with each fitted
policy in it replaced by a reference to its own safetensors member.
:func:`load` rebuilds only classes of this library from policy files, and
builds a workflow's objects only if every type skops finds in it comes from
scikit-learn, imbalanced-learn, this library, NumPy or SciPy; any other is
refused by name before anything is built. Ordinary pickling works too, for
trusted files.
"""

import copy
import io
import json
import zipfile

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator

from ._formats import atomic_write
from .base import BasePolicy

__all__ = ["dump", "load"]

_FORMAT = "sklearn_il.policy/1"
_WORKFLOW_FORMAT = "sklearn_il.workflow/1"
# Where a workflow's types may come from (top-level packages; pathlib for
# a checkpoint's path).
_TRUSTED_PACKAGES = {"sklearn", "imblearn", "sklearn_il", "numpy", "scipy", "pathlib"}
# A fitted policy's place in a workflow's skops tree.
_POLICY_MARKER = "__sklearn_il_policy__"


def _policy_classes():
    """This library's concrete policy classes, by name: all ``load`` will build."""
    found, todo = {}, [BasePolicy]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not BasePolicy and cls.__module__.startswith("sklearn_il."):
            found[cls.__name__] = cls
    return found


def _encode(value, name):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.device):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"{name}={value!r} cannot be written safely; use an int or None for "
        "random_state, or pickle the estimator (for trusted files only)."
    )


def _decode(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            dtype = np.dtype(value["dtype"])
            data = value["__ndarray__"]
            return np.array(data, dtype=object) if dtype.kind == "O" else np.array(data, dtype=dtype)
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        raise ValueError(f"unexpected entry in the file's header: {value!r}")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dump(estimator, path):
    """Write a fitted policy, or a workflow containing policies, to ``path``.

    A policy becomes one safetensors file; a Pipeline, a ``DAggerWrapper``
    or ``DARTWrapper`` (its aggregated ``X_``, ``y_``, ``groups_`` and
    ``history_`` included) or another scikit-learn object holding policies
    becomes a zip archive of a skops file and one safetensors file per
    fitted policy. Written atomically: a crash during ``dump`` leaves what
    was at ``path`` as it was.

    Parameters
    ----------
    estimator : fitted policy of this library, or an estimator containing policies
        For example a fitted :class:`~sklearn_il.BCRegressor`, a Pipeline
        ending in one, or a fitted :class:`~sklearn_il.DAggerWrapper`.
    path : str or path-like
        Where to write; its folder must exist.

    Raises
    ------
    TypeError
        When part of ``estimator`` cannot be written safely (for example an
        expert given as a lambda, or an env given as an instance rather
        than a registered id).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.datasets import make_obstacle
    >>> from sklearn_il.io import dump, load
    >>> X, y, _ = make_obstacle(n_episodes=3, random_state=0)
    >>> policy = BCRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "policy.safetensors")
    >>> dump(policy, path)
    >>> bool((load(path).predict(X[:3]) == policy.predict(X[:3])).all())
    True
    """
    if isinstance(estimator, BasePolicy):
        data = _policy_bytes(estimator)
    else:
        data = _workflow_bytes(estimator)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def _policy_bytes(estimator):
    if type(estimator).__name__ not in _policy_classes():
        raise TypeError(f"{type(estimator).__name__} is not one of this library's policies.")
    if not hasattr(estimator, "net_"):
        raise ValueError(f"this {type(estimator).__name__} is not fitted yet; fit it before dump.")
    params = estimator.get_params(deep=False)
    fitted = {
        k: v
        for k, v in vars(estimator).items()
        if k.endswith("_") and not k.startswith("_") and k != "net_"
    }
    header = {
        "format": _FORMAT,
        "class": type(estimator).__name__,
        "params": {k: _encode(v, k) for k, v in params.items()},
        "fitted": {k: _encode(v, k) for k, v in fitted.items()},
    }
    tensors = {
        k: v.detach().cpu().contiguous() for k, v in estimator.net_.module_.state_dict().items()
    }
    return save_tensors(tensors, metadata={"sklearn_il": json.dumps(header)})


def _workflow_bytes(estimator):
    import skops.io

    policies = []
    tree = _swap_policies(estimator, policies)
    if not policies:
        raise TypeError(
            f"dump writes this library's policies and the workflows that contain them; "
            f"{type(estimator).__name__} contains no fitted policy. Use skops.io for "
            "other scikit-learn objects (or pickle, for trusted files only)."
        )
    try:
        tree_bytes = skops.io.dumps(tree)
    except Exception as exc:  # skops names the object it cannot write
        raise TypeError(
            f"part of this {type(estimator).__name__} cannot be written safely ({exc}). Give "
            "envs as registered ids and experts as instances of importable classes, or "
            "pickle the estimator (and load it only from trusted sources)."
        ) from exc
    refused = _skops_types(tree_bytes)[1]
    if refused:
        raise TypeError(
            f"part of this {type(estimator).__name__} cannot be written safely: load would "
            f"refuse its types {refused}. Give envs as registered ids and experts as "
            "instances of this library's classes, or pickle the estimator (and load it "
            "only from trusted sources)."
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("format.json", json.dumps({"format": _WORKFLOW_FORMAT,
                                                    "n_policies": len(policies)}))
        archive.writestr("workflow.skops", tree_bytes)
        for i, policy in enumerate(policies):
            archive.writestr(f"policy-{i}.safetensors", _policy_bytes(policy))
    return buffer.getvalue()


def _swap_policies(obj, policies):
    """A copy of ``obj``'s object tree with each fitted policy replaced by a
    marker (its index in ``policies``, where it is appended)."""
    if isinstance(obj, BasePolicy) and hasattr(obj, "net_"):
        policies.append(obj)
        return {_POLICY_MARKER: len(policies) - 1}
    if isinstance(obj, list):
        return [_swap_policies(v, policies) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_swap_policies(v, policies) for v in obj)
    if isinstance(obj, dict):
        return {k: _swap_policies(v, policies) for k, v in obj.items()}
    if isinstance(obj, BaseEstimator):
        swapped = copy.copy(obj)
        swapped.__dict__ = {k: _swap_policies(v, policies) for k, v in vars(obj).items()}
        return swapped
    return obj


def _restore_policies(obj, policies):
    """Put the loaded ``policies`` back where :func:`_swap_policies` left markers."""
    if isinstance(obj, dict):
        if set(obj) == {_POLICY_MARKER}:
            return policies[obj[_POLICY_MARKER]]
        return {k: _restore_policies(v, policies) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore_policies(v, policies) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_restore_policies(v, policies) for v in obj)
    if isinstance(obj, BaseEstimator):
        obj.__dict__.update({k: _restore_policies(v, policies) for k, v in vars(obj).items()})
    return obj


def load(path, device=None):
    """Read a policy or a workflow written by :func:`dump`; no code from the file is run.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`dump`.
    device : str or torch.device, default=None
        Where to put the networks; default: the ``device`` each was fitted with.

    Returns
    -------
    estimator : fitted policy, or the workflow that was dumped

    Raises
    ------
    ValueError
        When the file was not written by :func:`dump`, names a class that
        is not one of this library's policies, or (a workflow) holds types
        from outside scikit-learn, imbalanced-learn, this library, NumPy
        and SciPy: the message names them, and nothing is built.
    """
    try:
        is_archive = zipfile.is_zipfile(path)
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if is_archive:
        return _load_workflow(data, path, device)
    return _load_policy(data, path, device)


def _load_workflow(data, path, device):
    import skops.io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            header = json.loads(archive.read("format.json"))
            if header.get("format") != _WORKFLOW_FORMAT:
                raise ValueError(f"unsupported format {header.get('format')!r}")
            tree_bytes = archive.read("workflow.skops")
            members = [archive.read(f"policy-{i}.safetensors")
                       for i in range(int(header["n_policies"]))]
    except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a workflow written by sklearn_il.io.dump: {exc}") from exc
    types, refused = _skops_types(tree_bytes)
    if refused:
        raise ValueError(
            f"{path} holds types from outside scikit-learn, imbalanced-learn, sklearn_il, "
            f"NumPy and SciPy, refused: {refused}."
        )
    policies = [_load_policy(member, path, device) for member in members]
    return _restore_policies(skops.io.loads(tree_bytes, trusted=types), policies)


def _skops_types(tree_bytes):
    """The types of a skops file that skops does not trust by default, and
    those of them from outside the trusted packages."""
    import skops.io

    types = skops.io.get_untrusted_types(data=tree_bytes)
    return types, sorted(t for t in types if t.split(".")[0] not in _TRUSTED_PACKAGES)


def _load_policy(data, path, device):
    try:
        tensors = load_tensors(data)
        metadata = _safetensors_metadata(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a policy file written by sklearn_il.io.dump: {exc}") from exc
    try:
        header = json.loads(metadata["sklearn_il"])
        if header["format"] != _FORMAT:
            raise ValueError(f"unsupported format {header['format']!r}")
        name, params, fitted = header["class"], header["params"], header["fitted"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} has no valid sklearn_il header: {exc}") from exc
    classes = _policy_classes()
    if name not in classes:
        raise ValueError(f"{path} names the class {name!r}, which is not a sklearn_il policy.")
    estimator = classes[name](**{k: _decode(v) for k, v in params.items()})
    if device is not None:
        estimator.set_params(device=device)
    for key, value in fitted.items():
        setattr(estimator, key, _decode(value))
    estimator._structure = estimator._structural_params()
    module = estimator._build_module()
    module.load_state_dict(tensors, strict=True)
    estimator.net_ = estimator._make_net(module).initialize()
    estimator.net_.module_.eval()
    estimator._ready_to_act()
    return estimator


def _safetensors_metadata(data):
    """The ``__metadata__`` of a safetensors file's JSON header (8-byte length, then JSON)."""
    if len(data) < 8:
        raise ValueError("too short for a safetensors file")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise ValueError("its header runs past the end of the file")
    return json.loads(data[8 : 8 + length]).get("__metadata__") or {}
