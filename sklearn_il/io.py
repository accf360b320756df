"""Saving fitted policies in a format that loads without running code.

A pickle (and so joblib, and skorch's own save, which unpickles modules)
executes whatever the file says when it is loaded. :func:`dump` writes one
safetensors file instead: the weights as raw tensors, and the estimator's
class name, parameters and fitted attributes as JSON in its header.
:func:`load` rebuilds only classes of this library, from those data.
Ordinary pickling works too, for trusted files.
"""

import json

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .base import BasePolicy

__all__ = ["dump", "load"]

_FORMAT = "sklearn_il.policy/1"


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
    """Write a fitted policy to ``path`` as a safetensors file.

    Parameters
    ----------
    estimator : fitted policy of this library
        For example a fitted :class:`~sklearn_il.BCRegressor`.
    path : str or path-like
        Where to write.

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
    if type(estimator).__name__ not in _policy_classes():
        raise TypeError(
            f"dump writes this library's policies; got {type(estimator).__name__}. "
            "Pickle other estimators (and load them only from trusted sources)."
        )
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
    save_file(tensors, str(path), metadata={"sklearn_il": json.dumps(header)})


def load(path, device=None):
    """Read a policy written by :func:`dump`; no code from the file is run.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`dump`.
    device : str or torch.device, default=None
        Where to put the network; default: the ``device`` it was fitted with.

    Returns
    -------
    estimator : fitted policy

    Raises
    ------
    ValueError
        When the file is not a policy written by :func:`dump`, or names a
        class that is not one of this library's policies.
    """
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
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
    module = estimator._build_module()
    module.load_state_dict(tensors, strict=True)
    estimator.net_ = estimator._make_net(module).initialize()
    estimator.net_.module_.eval()
    estimator._ready_to_act()
    return estimator
