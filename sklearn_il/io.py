"""Saving fitted policies and whole workflows in formats that load without running code.

A pickle (and so joblib, and skorch's own save, which unpickles modules)
executes whatever the file says when it is loaded. A fitted policy's state
(``BasePolicy.__getstate__``: parameters, fitted attributes, and the
network as NumPy arrays) is one description that pickle, skops and this
module share. :func:`dump` writes a policy as one safetensors file (the
weights as raw tensors; the class name, parameters and fitted attributes as
JSON in its header) and anything that contains policies (a ``Pipeline``, a
search, a ``DAggerWrapper`` with its aggregated data) as a skops file.
:func:`load` rebuilds only classes of this library from policy files, and
builds a workflow only if every type skops finds in it comes from
scikit-learn, imbalanced-learn, this library, NumPy or SciPy, or is named
in ``trusted``; any other is refused by name before anything is built.
:func:`trusted_types` gives the list to pass to ``skops.io.load`` (or to
MLflow's ``skops_trusted_types``) for files written by skops directly.
"""

import hashlib
import io
import json
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator

from ._export import export
from ._formats import atomic_write
from ._validation import check_device
from .base import _WEIGHTS, BasePolicy

__all__ = ["dump", "export", "load", "pip_requirements", "trusted_types"]

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

    A policy becomes one safetensors file; a Pipeline, a search, a
    ``DAggerWrapper`` or ``DARTWrapper`` (its aggregated ``X_``, ``y_``,
    ``groups_`` and ``history_`` included) or another scikit-learn object
    holding policies becomes a skops file, which ``skops.io.load`` reads too
    (with ``trusted=``:func:`trusted_types` ``(path)``). An expert or env of
    your own class is written with it, and :func:`load` builds it only when
    you name its type in ``trusted``. Written atomically: a crash during
    ``dump`` leaves what was at ``path`` as it was.

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
        expert given as a lambda or as an instance of a class defined
        inside a function: a load could not import it by name).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.datasets import make_obstacle
    >>> from sklearn_il.io import dump, load
    >>> X, y, _ = make_obstacle(n_episodes=3, random_state=0)
    >>> policy = BCRegressor(hidden_layer_sizes=(16,), max_iter=5,
    ...                      random_state=0).fit(X, y)
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
    # The state pickle and skops see (BasePolicy.__getstate__), as JSON and tensors.
    state = estimator.__getstate__()
    fitted = {k: v for k, v in state.items() if k.endswith("_") and not k.startswith("_")}
    header = {
        "format": _FORMAT,
        "class": type(estimator).__name__,
        "params": {k: _encode(v, k) for k, v in estimator.get_params(deep=False).items()},
        "fitted": {k: _encode(v, k) for k, v in fitted.items()},
    }
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state[_WEIGHTS].items()}
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

    if not any(isinstance(obj, BasePolicy) and hasattr(obj, "net_") for obj in _walk(estimator)):
        raise TypeError(
            f"dump writes this library's policies and the workflows that contain them; "
            f"{type(estimator).__name__} contains no fitted policy. Use skops.io for "
            "other scikit-learn objects (or pickle, for trusted files only)."
        )
    advice = ("Give envs as registered ids or instances, and experts as instances of "
              "importable classes, or pickle the estimator (and load it only from trusted "
              "sources).")
    try:
        data = skops.io.dumps(estimator)
    except Exception as exc:  # skops names the object it cannot write
        raise TypeError(f"part of this {type(estimator).__name__} cannot be written safely "
                        f"({exc}). {advice}") from exc
    # A lambda or a local class is written by name, and no load can find it.
    unnamed = [t for t in skops.io.get_untrusted_types(data=data) if "<" in t]
    if unnamed:
        raise TypeError(f"part of this {type(estimator).__name__} cannot be written safely: "
                        f"{unnamed} cannot be imported by name when it is loaded. {advice}")
    return data


def _walk(obj):
    """``obj`` and every object inside it (containers, estimators' attributes)."""
    yield obj
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif isinstance(obj, BaseEstimator):
        children = vars(obj).values()
    else:
        return
    for child in children:
        yield from _walk(child)


def trusted_types(estimator=None):
    """The types to trust when loading a skops file of this library's objects.

    ``skops.io.load`` builds only the types it is told to trust beyond its
    defaults; pass this list as its ``trusted`` (or as MLflow's
    ``skops_trusted_types``). Loading a trusted type of this library runs
    no code from the file: a policy rebuilds its network from the weights
    in the file, checked against its parameters first.

    Parameters
    ----------
    estimator : estimator, str, path-like or bytes, default=None
        ``None``: every type of this library that such a file may hold.
        An estimator (as skops would write it), a skops file's path or its
        bytes: the types skops does not trust by default among those it
        holds, from this library, scikit-learn, imbalanced-learn, NumPy
        and SciPy. Types from elsewhere (your own expert's class, say) are
        left out: review them with ``skops.io.get_untrusted_types`` and
        add those you trust.

    Returns
    -------
    types : list of str
        Fully qualified type names, sorted.

    Examples
    --------
    >>> import skops.io
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.datasets import make_obstacle
    >>> from sklearn_il.io import trusted_types
    >>> X, y, _ = make_obstacle(n_episodes=3, random_state=0)
    >>> policy = BCRegressor(hidden_layer_sizes=(16,), max_iter=5,
    ...                      random_state=0).fit(X, y)
    >>> trusted_types(policy)
    ['sklearn_il.policies.bc.BCRegressor']
    >>> data = skops.io.dumps(policy)
    >>> loaded = skops.io.loads(data, trusted=trusted_types())
    >>> bool((loaded.predict(X) == policy.predict(X)).all())
    True
    """
    if estimator is None:
        return sorted(_library_types())
    import skops.io

    if isinstance(estimator, bytes):
        types = skops.io.get_untrusted_types(data=estimator)
    elif isinstance(estimator, (str, Path)):
        types = skops.io.get_untrusted_types(file=estimator)
    else:
        types = skops.io.get_untrusted_types(data=skops.io.dumps(estimator))
    return sorted(t for t in types if t.split(".")[0] in _TRUSTED_PACKAGES)


def pip_requirements():
    """The packages a process needs to load this library's estimators, pinned as here.

    MLflow infers a model's requirements from the modules its loading
    imports, and misses torch and skorch (measured with MLflow 3.17): a
    serving environment built from its ``requirements.txt`` could not
    import the model. Pass this list as ``extra_pip_requirements`` (or
    ``pip_requirements``) to ``mlflow.sklearn.log_model``.

    Returns
    -------
    requirements : list of str
        This library's dependencies, each pinned to the version installed
        in this environment (without a local build label such as ``+cpu``,
        which only its own package index knows).

    Examples
    --------
    >>> from sklearn_il.io import pip_requirements
    >>> sorted(r.split("==")[0] for r in pip_requirements())[:3]
    ['gymnasium', 'imbalanced-learn', 'numpy']
    """
    from importlib.metadata import requires, version

    pinned = []
    for requirement in requires("sklearn_il") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        pinned.append(f"{name}=={version(name).split('+')[0]}")
    return pinned


def _library_types():
    """Names of the classes whose instances this library's estimators hold."""
    import sklearn_il
    from sklearn_il import envs, evaluation, experts

    classes = [getattr(module, name)
               for module in (sklearn_il, envs, experts) for name in module.__all__]
    classes.append(evaluation.RolloutScorer)
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in classes if isinstance(cls, type)}


def load(path, device=None, trusted=None):
    """Read a policy or a workflow written by :func:`dump`; no code from the file is run.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`dump` (or a skops file of a workflow).
    device : str or torch.device, default=None
        Where to put the networks; default: the ``device`` each was fitted
        with when this machine has it, else the CPU.
    trusted : list of str, default=None
        Types from outside scikit-learn, imbalanced-learn, this library,
        NumPy and SciPy that a workflow may hold, by fully qualified name,
        e.g. ``["my_lab.controllers.TeleopExpert"]`` for a
        ``DAggerWrapper`` whose expert is your own class. Trusting a type
        lets skops build it from the file's attributes (without calling
        its ``__init__``). A file holding any other type is refused, and
        the message lists its foreign types.

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
        holds types that are neither from the packages above nor in
        ``trusted``. The message names the file and the problem. Each
        network is checked against the one its parameters describe, built
        on torch's meta device (no memory), before it is built; a file
        cannot make the loader allocate much more than its own size.
    """
    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder; pass the file written by dump.")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if device is not None:
        check_device(device)
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _load_workflow(data, path, device, trusted)
    return _load_policy(data, path, device)


def _load_workflow(data, path, device, trusted):
    import skops.io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        # Members are stored uncompressed: one larger than the archive
        # would be a decompression bomb.
        if any(info.file_size > len(data) for info in archive.infolist()):
            raise ValueError("a member is larger than the archive")
        legacy = "format.json" in archive.namelist()  # written by version 0.1's dump
        if not legacy:
            types, refused = _skops_types(data, trusted)
    except Exception as exc:  # an untrusted file: whatever fails is reported as bad input
        raise ValueError(f"{path} is not a workflow written by sklearn_il.io.dump: "
                         f"{type(exc).__name__}: {exc}") from exc
    if legacy:
        return _load_archive(archive, path, device, trusted)
    _refuse(path, refused)
    try:
        workflow = skops.io.loads(data, trusted=types)
    except Exception as exc:
        raise ValueError(f"{path}: its workflow cannot be rebuilt: "
                         f"{type(exc).__name__}: {exc}") from exc
    if device is not None:
        # skops built each network where it was fitted (or on the CPU); rebuilt here.
        for obj in _walk(workflow):
            if isinstance(obj, BasePolicy) and hasattr(obj, "net_"):
                obj.__setstate__({**obj.__getstate__(), "device": device})
    return workflow


def _refuse(path, refused):
    if refused:
        raise ValueError(
            f"{path} holds types from outside scikit-learn, imbalanced-learn, sklearn_il, "
            f"NumPy and SciPy, refused: {refused}. If you trust them (your own expert's "
            "class, say), pass them to load as trusted=[...]."
        )


def _load_archive(archive, path, device, trusted):
    """A workflow in version 0.1's archive: a skops tree with each policy
    replaced by a marker, and the policies as safetensors members."""
    import skops.io

    try:
        header = json.loads(archive.read("format.json"))
        if header.get("format") != _WORKFLOW_FORMAT:
            raise ValueError(f"unsupported format {header.get('format')!r}")
        tree_bytes = archive.read("workflow.skops")
        members = [archive.read(f"policy-{i}.safetensors")
                   for i in range(int(header["n_policies"]))]
        types, refused = _skops_types(tree_bytes, trusted)
    except Exception as exc:
        raise ValueError(f"{path} is not a workflow written by sklearn_il.io.dump: "
                         f"{type(exc).__name__}: {exc}") from exc
    _refuse(path, refused)
    policies = [_load_policy(member, f"{path} (policy {i})", device)
                for i, member in enumerate(members)]
    try:
        return _restore_policies(skops.io.loads(tree_bytes, trusted=types), policies)
    except Exception as exc:
        raise ValueError(f"{path}: its workflow cannot be rebuilt: "
                         f"{type(exc).__name__}: {exc}") from exc


def _restore_policies(obj, policies):
    """Put the loaded ``policies`` back where version 0.1's dump left markers."""
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


def _skops_types(data, trusted=None):
    """The types of a skops file that skops does not trust by default, and
    those of them neither from the trusted packages nor in ``trusted``."""
    import skops.io

    types = skops.io.get_untrusted_types(data=data)
    allowed = set(trusted or ())
    return types, sorted(t for t in types
                         if t.split(".")[0] not in _TRUSTED_PACKAGES and t not in allowed)


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
        estimator._load_weights(tensors)
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
    if device is not None:  # checked by load: not replaced by the CPU when missing
        estimator.set_params(device=device)
    for key, value in fitted.items():
        # Fitted attributes only: a name like "predict" would replace a method.
        if not (isinstance(key, str) and key.isidentifier() and key.endswith("_")
                and not key.startswith("_") and not hasattr(cls, key)):
            raise ValueError(f"{key!r} is not a fitted attribute of {name}")
        setattr(estimator, key, _decode(value, budget))
    return estimator


def _safetensors_metadata(data):
    """The ``__metadata__`` of a safetensors file's JSON header (8-byte length, then JSON)."""
    if len(data) < 8:
        raise ValueError("too short for a safetensors file")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise ValueError("its header runs past the end of the file")
    return json.loads(data[8 : 8 + length]).get("__metadata__") or {}
