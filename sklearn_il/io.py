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
import hashlib
import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator

from ._formats import atomic_write
from ._validation import check_device
from .base import BasePolicy

__all__ = ["dump", "load"]

# /2 adds the checksum; /1 files (without one) still load.
_FORMAT = "sklearn_il.policy/2"
_FORMATS = {"sklearn_il.policy/1", _FORMAT}
_WORKFLOW_FORMAT = "sklearn_il.workflow/1"
# Where a workflow's types may come from (top-level packages; pathlib for
# a checkpoint's path).
_TRUSTED_PACKAGES = {"sklearn", "imblearn", "sklearn_il", "numpy", "scipy", "pathlib"}
# A fitted policy's place in a workflow's skops tree.
_POLICY_MARKER = "__sklearn_il_policy__"


def _policy_classes():
    """This library's public policy classes, by name: all ``load`` will build."""
    import sklearn_il

    classes = (getattr(sklearn_il, name) for name in sklearn_il.__all__)
    return {cls.__name__: cls for cls in classes
            if isinstance(cls, type) and issubclass(cls, BasePolicy)}


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


# The array kinds a header may hold: booleans, numbers, strings, and
# objects (mixed class labels) built from JSON values.
_ARRAY_KINDS = set("biufcUSO")


def _decode(value, budget):
    """A header value as Python/NumPy objects; ``budget`` ([bytes]) caps the arrays made."""
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            dtype = np.dtype(value["dtype"])
            data = value["__ndarray__"]
            if dtype.kind not in _ARRAY_KINDS:
                raise ValueError(f"arrays of dtype {dtype} are not written by dump")
            # Checked before numpy allocates: a header naming a wide string
            # dtype would otherwise cost far more memory than the file.
            budget[0] -= _n_leaves(data) * dtype.itemsize
            if budget[0] < 0:
                raise ValueError("its arrays would take far more memory than the file")
            return np.array(data, dtype=object) if dtype.kind == "O" else np.array(data, dtype=dtype)
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v, budget) for v in value["__tuple__"])
        raise ValueError(f"unexpected entry in the file's header: {str(value)[:80]}")
    if isinstance(value, list):
        return [_decode(v, budget) for v in value]
    return value


def _n_leaves(data):
    return sum(map(_n_leaves, data)) if isinstance(data, list) else 1


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
    text = json.dumps(header)
    return save_tensors(tensors, metadata={"sklearn_il": text, "sha256": _digest(text, tensors)})


def _digest(header, tensors):
    """SHA-256 of the header and every tensor's name, dtype, shape and bytes:
    a damaged file is refused rather than loaded with altered weights."""
    digest = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(tensor.contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


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
        Where to put the networks; default: the ``device`` each was fitted
        with when this machine has it, else the CPU.

    Returns
    -------
    estimator : fitted policy, or the workflow that was dumped

    Raises
    ------
    ValueError
        When the file was not written by :func:`dump` or is damaged (a
        policy's checksum does not match), names a class that is not one of
        this library's public policies, holds parameters, fitted attributes
        or tensors that do not describe a valid policy, or (a workflow)
        holds types from outside scikit-learn, imbalanced-learn, this
        library, NumPy and SciPy. The message names the file and the
        problem. Everything is checked against the network the header
        describes, built on torch's meta device (no memory), before the
        network is built; a file cannot make the loader allocate much more
        than its own size.
    """
    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder; pass the file written by dump.")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    is_archive = zipfile.is_zipfile(io.BytesIO(data))
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
            # Members are stored uncompressed: one larger than the archive
            # would be a decompression bomb.
            if any(info.file_size > len(data) for info in archive.infolist()):
                raise ValueError("a member is larger than the archive")
            tree_bytes = archive.read("workflow.skops")
            members = [archive.read(f"policy-{i}.safetensors")
                       for i in range(int(header["n_policies"]))]
        types, refused = _skops_types(tree_bytes)
    except Exception as exc:  # an untrusted file: whatever fails is reported as bad input
        raise ValueError(f"{path} is not a workflow written by sklearn_il.io.dump: "
                         f"{type(exc).__name__}: {exc}") from exc
    if refused:
        raise ValueError(
            f"{path} holds types from outside scikit-learn, imbalanced-learn, sklearn_il, "
            f"NumPy and SciPy, refused: {refused}."
        )
    policies = [_load_policy(member, f"{path} (policy {i})", device)
                for i, member in enumerate(members)]
    try:
        tree = skops.io.loads(tree_bytes, trusted=types)
        return _restore_policies(tree, policies)
    except Exception as exc:
        raise ValueError(f"{path}: its workflow cannot be rebuilt: "
                         f"{type(exc).__name__}: {exc}") from exc


def _skops_types(tree_bytes):
    """The types of a skops file that skops does not trust by default, and
    those of them from outside the trusted packages."""
    import skops.io

    types = skops.io.get_untrusted_types(data=tree_bytes)
    return types, sorted(t for t in types if t.split(".")[0] not in _TRUSTED_PACKAGES)


def _load_policy(data, path, device):
    """Check the whole file, then build: nothing is made from a header that
    does not match the tensors, and every failure is a ``ValueError``."""
    try:
        metadata = _safetensors_metadata(data)
        tensors = load_tensors(data)
        text = metadata["sklearn_il"]
        header = json.loads(text)
        if not isinstance(header, dict) or header.get("format") not in _FORMATS:
            raise ValueError("unsupported format")
        if header["format"] == _FORMAT and metadata.get("sha256") != _digest(text, tensors):
            raise ValueError("its checksum does not match: the file is damaged")
        estimator = _estimator_from_header(header, len(data), device)
    except Exception as exc:  # an untrusted file: whatever fails is reported as bad input
        raise ValueError(f"{path} is not a valid policy file written by sklearn_il.io.dump: "
                         f"{type(exc).__name__}: {exc}") from exc
    try:
        tensors = estimator._upgrade_tensors(tensors)
        _check_tensors(estimator, tensors, len(data))
        module = estimator._build_module()
        module.load_state_dict(tensors, strict=True)
        estimator.net_ = estimator._make_net(module).initialize()
        estimator.net_.module_.eval()
        estimator._ready_to_act()
        # The loaded policy must act: one row of zeros through its predict
        # (as an array: a policy fitted on named columns would warn).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.predict(np.zeros((1, estimator.n_features_in_)))
    except Exception as exc:
        raise ValueError(f"{path}: the policy it describes cannot be built: "
                         f"{type(exc).__name__}: {exc}") from exc
    return estimator


def _estimator_from_header(header, file_size, device):
    """The unfitted estimator with the header's parameters and fitted
    attributes, each checked; the network is not built yet."""
    classes = _policy_classes()
    name, params, fitted = header["class"], header["params"], header["fitted"]
    if name not in classes:
        raise ValueError(f"it names the class {name!r}, which is not a sklearn_il policy")
    cls = classes[name]
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise ValueError("its params and fitted entries must be objects")
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"{name} has no parameters {sorted(unknown)}")
    budget = [4 * file_size]
    estimator = cls(**{k: _decode(v, budget) for k, v in params.items()})
    if device is not None:
        estimator.set_params(device=device)
    elif not _available(estimator.device):
        # Fitted on a device this machine lacks (a GPU): act on the CPU.
        estimator.set_params(device="cpu")
    estimator._validate_params()
    estimator._hidden_sizes()
    for key, value in fitted.items():
        # Fitted attributes only: a name like "predict" would replace a method.
        if not (isinstance(key, str) and key.isidentifier() and key.endswith("_")
                and not key.startswith("_") and not hasattr(cls, key)):
            raise ValueError(f"{key!r} is not a fitted attribute of {name}")
        setattr(estimator, key, _decode(value, budget))
    n_features = getattr(estimator, "n_features_in_", None)
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"n_features_in_ must be a positive int, got {n_features!r}")
    estimator._structure = estimator._structural_params()
    return estimator


def _available(device):
    try:
        check_device(device)
    except ValueError:
        return False
    return True


def _check_tensors(estimator, tensors, file_size):
    """Compare the file's tensors with the module the header describes,
    built on the meta device (no memory), before building it for real."""
    with torch.device("meta"):
        module = estimator._build_module()
    expected = module.state_dict()
    if set(expected) != set(tensors):
        missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
        raise ValueError(f"its tensors do not match the network: missing {missing}, "
                         f"unexpected {extra}")
    for key, tensor in expected.items():
        got = tensors[key]
        if got.shape != tensor.shape or got.dtype != tensor.dtype:
            raise ValueError(f"tensor {key!r} is {got.dtype} {tuple(got.shape)}, the network "
                             f"needs {tensor.dtype} {tuple(tensor.shape)}")
    # Buffers derived from parameters (a diffusion schedule) are not in the
    # file; a header asking for huge ones is refused here.
    size = sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])
    if size > 2 * file_size + 2**22:
        raise ValueError(f"the network it describes needs {size} bytes, far more than the "
                         f"file's {file_size}")


def _safetensors_metadata(data):
    """The ``__metadata__`` of a safetensors file's JSON header (8-byte length, then JSON)."""
    if len(data) < 8:
        raise ValueError("too short for a safetensors file")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise ValueError("its header runs past the end of the file")
    return json.loads(data[8 : 8 + length]).get("__metadata__") or {}
