"""The catalogue of bad input: every case raises a clear ``ValueError`` or
``TypeError`` whose message names the argument and the problem.

Each case is a call on bad input and a pattern its message must match; a
case fails if the call succeeds (garbage accepted silently), raises another
exception type (a raw torch/numpy/Python error), or says something that
does not name what is wrong.
"""

import json
import re
import resource
import tracemalloc

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from sklearn_il import (
    AutoregressiveBC,
    BCClassifier,
    BCRegressor,
    DiffusionBC,
    DynamicsRegressor,
    FDivergenceBC,
    ImplicitBC,
    InverseDynamicsRegressor,
    LatentBC,
    MixtureDensityBC,
    SequenceBC,
)
from sklearn_il import (
    CorrectiveAugmenter,
    DAggerWrapper,
    DARTWrapper,
    HindsightRelabeler,
    HistoryStacker,
    NoiseAugmenter,
)
from sklearn_il.datasets import (
    Demonstrations,
    collect_demonstrations,
    load_minari,
    make_gates,
    make_obstacle,
    make_point_reach,
    make_winding_road,
)
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.dynamics import state_pairs, transitions
from sklearn_il.evaluation import compounding_error, evaluate_policy, make_rollout_scorer, rollout
from sklearn_il.inspection import ActionDistributionDisplay, CompoundingErrorDisplay
from sklearn_il.io import dump, load
from sklearn_il.preprocessing import stack_history

from .conftest import TINY

rng = np.random.default_rng(0)
GROUPS = np.repeat(np.arange(4), 10)
X = rng.normal(size=(40, 2))
Y = rng.normal(size=(40, 2))
LABELS = (X[:, 0] > 0).astype(int)

# Each policy with its small settings and the structural parameter a warm
# start must not change.
POLICIES = {
    "BCRegressor": (BCRegressor, {}, "hidden_layer_sizes", (4,)),
    "BCClassifier": (BCClassifier, {}, "hidden_layer_sizes", (4,)),
    "MixtureDensityBC": (MixtureDensityBC, {"n_components": 2}, "n_components", 3),
    "DiffusionBC": (DiffusionBC, {"n_diffusion_steps": 4, "n_inference_steps": 2},
                    "n_diffusion_steps", 8),
    "AutoregressiveBC": (AutoregressiveBC, {"n_bins": 4}, "n_bins", 6),
    "LatentBC": (LatentBC, {"latent_dim": 2}, "latent_dim", 3),
    "FDivergenceBC": (FDivergenceBC, {}, "hidden_layer_sizes", (4,)),
    "ImplicitBC": (ImplicitBC, {"n_counter_examples": 4, "n_candidates": 16}, "hidden_layer_sizes", (4,)),
    "SequenceBC": (SequenceBC, {"n_frames": 1}, "hidden_layer_sizes", (4,)),
    "SequenceBC-transformer": (SequenceBC, {"n_frames": 1, "encoder": "transformer", "n_heads": 2},
                               "encoder", "gru"),
    "DynamicsRegressor": (DynamicsRegressor, {}, "hidden_layer_sizes", (4,)),
    "InverseDynamicsRegressor": (InverseDynamicsRegressor, {}, "hidden_layer_sizes", (4,)),
}


def make(name, **params):
    cls, extra, *_ = POLICIES[name]
    return cls(**{**TINY, **extra, **params})


def target(name):
    return LABELS if name == "BCClassifier" else Y


def fit(name, X=X, y=None, groups=GROUPS, sample_weight=None, **params):
    return make(name, **params).fit(X, target(name) if y is None else y, groups=groups,
                                    sample_weight=sample_weight)


def partial_fit(name, X=X, y=None, **params):
    policy = make(name, **params)
    extra = {"classes": np.unique(LABELS)} if name == "BCClassifier" else {}
    return policy.partial_fit(X, target(name) if y is None else y, groups=GROUPS, **extra)


_fitted = {}


def fitted(name):
    if name not in _fitted:
        _fitted[name] = fit(name)
    return _fitted[name]


def with_value(a, index, value, dtype=float):
    a = np.array(a, dtype=dtype)
    a[index] = value
    return a


# (case id, call(policy name), pattern the message must match)
FIT_CASES = [
    ("X NaN", lambda n: fit(n, X=with_value(X, (0, 0), np.nan)), r"X.*NaN"),
    ("X inf", lambda n: fit(n, X=with_value(X, (3, 1), np.inf)), r"X.*infinity"),
    ("X beyond float32", lambda n: fit(n, X=with_value(X, (0, 0), 1e39)), r"X.*float32"),
    ("X 1-D", lambda n: fit(n, X=X[:, 0]), r"X.*2D"),
    ("X 3-D", lambda n: fit(n, X=X[:, :, None]), r"X.*dim 3"),
    ("X empty", lambda n: fit(n, X=X[:0], y=target(n)[:0], groups=GROUPS[:0]), r"X.*0 sample"),
    ("X strings", lambda n: fit(n, X=np.full(X.shape, "a")), r"X.*string"),
    ("X complex", lambda n: fit(n, X=X + 1j), r"X.*[Cc]omplex"),
    ("X object", lambda n: fit(n, X=with_value(X, (0, 0), None, object)), r"X"),
    ("y NaN", lambda n: fit(n, y=with_value(target(n), 0, np.nan)), r"y.*NaN"),
    ("y inf", lambda n: fit(n, y=with_value(target(n), 0, np.inf)), r"y.*infinity"),
    ("y None", lambda n: make(n).fit(X, None), r"requires y"),
    ("y 3-D", lambda n: fit(n, y=np.zeros((40, 2, 2))), r"y.*dim"),
    ("y rows", lambda n: fit(n, y=target(n)[:-1]), r"y.*39.*40|X.*40.*39|inconsistent"),
    ("groups rows", lambda n: fit(n, groups=GROUPS[:-1]), r"groups.*39"),
    ("groups NaN", lambda n: fit(n, groups=with_value(GROUPS, 0, np.nan)), r"groups.*NaN"),
    ("groups 2-D", lambda n: fit(n, groups=GROUPS[:, None]), r"groups.*1-D"),
    ("groups split", lambda n: fit(n, groups=np.r_[GROUPS[5:], GROUPS[:5]]),
     r"groups.*episode 0.*contiguous"),
    ("hidden_layer_sizes zero", lambda n: fit(n, hidden_layer_sizes=(0,)),
     r"hidden_layer_sizes"),
    ("learning_rate_init negative", lambda n: fit(n, learning_rate_init=-1.0),
     r"learning_rate_init"),
    ("activation unknown", lambda n: fit(n, activation="bogus"), r"activation"),
    ("max_iter zero", lambda n: fit(n, max_iter=0), r"max_iter"),
    ("batch_size zero", lambda n: fit(n, batch_size=0), r"batch_size"),
    ("device unknown", lambda n: fit(n, device="nonsense"), r"device"),
    ("early_stopping one episode", lambda n: fit(n, early_stopping=True, groups=np.zeros(40)),
     r"early_stopping.*2 episodes"),
    ("diverging learning rate", lambda n: fit(n, learning_rate_init=1e30, max_iter=20),
     r"diverged.*learning_rate_init"),
    ("sample_weight rows", lambda n: fit(n, sample_weight=np.ones(39)),
     r"sample_weight.shape == \(39,\), expected \(40,\)"),
    ("sample_weight NaN", lambda n: fit(n, sample_weight=with_value(np.ones(40), 0, np.nan)),
     r"sample_weight.*NaN"),
    ("sample_weight negative", lambda n: fit(n, sample_weight=with_value(np.ones(40), 0, -1)),
     r"Negative.*sample_weight"),
    ("sample_weight all zero", lambda n: fit(n, sample_weight=np.zeros(40)),
     r"sample_weight.*non-zero"),
    ("partial_fit X NaN", lambda n: partial_fit(n, X=with_value(X, (0, 0), np.nan)), r"X.*NaN"),
    ("partial_fit y rows", lambda n: partial_fit(n, y=target(n)[:-1]),
     r"y.*39.*40|X.*40.*39|inconsistent"),
]

PREDICT_CASES = [
    ("predict NaN", lambda p: p.predict(with_value(X, (0, 0), np.nan)), r"X.*NaN"),
    ("predict beyond float32", lambda p: p.predict(with_value(X, (0, 0), 1e39)), r"X.*float32"),
    ("predict beyond float32, as a list",
     lambda p: p.predict(with_value(X, (0, 0), 1e39).tolist()), r"X.*float32"),
    ("predict width", lambda p: p.predict(np.zeros((2, 3))), r"X has 3 features"),
    ("predict 1-D", lambda p: p.predict(np.zeros(2)), r"X.*2D"),
    ("predict empty", lambda p: p.predict(np.zeros((0, 2))), r"X.*0 sample"),
    ("predict strings", lambda p: p.predict(np.array([["a", "b"]])), r"X.*string"),
]

SAMPLE_CASES = [
    ("sample n_samples=0", lambda p: p.sample(X[:2], n_samples=0), r"n_samples"),
    ("sample n_samples=-1", lambda p: p.sample(X[:2], n_samples=-1), r"n_samples"),
    ("sample n_samples=1.5", lambda p: p.sample(X[:2], n_samples=1.5), r"n_samples"),
]


def _check(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call()


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("call, pattern", [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES])
def test_fit_refuses(name, call, pattern):
    _check(lambda: call(name), pattern)


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("call, pattern", [c[1:] for c in PREDICT_CASES],
                         ids=[c[0] for c in PREDICT_CASES])
def test_predict_refuses(name, call, pattern):
    _check(lambda: call(fitted(name)), pattern)


@pytest.mark.parametrize("name", [n for n, (cls, *_) in POLICIES.items() if hasattr(cls, "sample")])
@pytest.mark.parametrize("call, pattern", [c[1:] for c in SAMPLE_CASES],
                         ids=[c[0] for c in SAMPLE_CASES])
def test_sample_refuses(name, call, pattern):
    _check(lambda: call(fitted(name)), pattern)


@pytest.mark.parametrize("name", POLICIES)
def test_warm_start_refuses_a_changed_structure(name):
    _, _, param, value = POLICIES[name]
    policy = fit(name, warm_start=True)
    before = policy.predict(X[:4])
    built = policy.get_params()[param]
    policy.set_params(**{param: value})
    _check(lambda: policy.fit(X, target(name), groups=GROUPS), rf"{param}.*warm_start")
    _check(lambda: policy.partial_fit(X, target(name), groups=GROUPS), rf"{param}.*partial_fit")
    np.testing.assert_array_equal(policy.set_params(**{param: built}).predict(X[:4]), before)


# Policies whose architecture needs a hidden layer; the others are linear without one.
NEEDS_A_LAYER = {"DiffusionBC", "AutoregressiveBC", "SequenceBC", "SequenceBC-transformer"}


@pytest.mark.parametrize("name", POLICIES)
def test_no_hidden_layer_is_a_linear_policy_or_a_clear_error(name):
    if name in NEEDS_A_LAYER:
        _check(lambda: fit(name, hidden_layer_sizes=()), r"hidden_layer_sizes=\(\).*hidden layer")
    else:
        assert len(fit(name, hidden_layer_sizes=()).predict(X[:3])) == 3


# ---------------------------------------------------------------- faults
def interrupt_after(monkeypatch, n_batches, exception=KeyboardInterrupt):
    """Make training raise ``exception`` after ``n_batches`` minibatches."""
    import sklearn_il.base

    original, seen = sklearn_il.base.BatchSlicer.__iter__, [0]

    def batches(self):
        for batch in original(self):
            seen[0] += 1
            if seen[0] > n_batches:
                raise exception
            yield batch

    monkeypatch.setattr(sklearn_il.base.BatchSlicer, "__iter__", batches)


def state(policy):
    return (policy.predict(X[:5]), policy.n_iter_, list(policy.loss_curve_),
            len(policy.net_.history))


@pytest.mark.parametrize("name", ["BCRegressor", "DiffusionBC", "FDivergenceBC"])
def test_an_interrupted_warm_start_leaves_the_fitted_policy_as_it_was(name, monkeypatch):
    policy = fit(name, warm_start=True)
    before = state(policy)
    interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        policy.fit(X, target(name), groups=GROUPS)
    monkeypatch.undo()
    after = state(policy)
    np.testing.assert_array_equal(after[0], before[0])
    assert after[1:] == before[1:]
    # and it trains on from there as if nothing had happened
    assert policy.fit(X, target(name), groups=GROUPS).n_iter_ == before[1] + TINY["max_iter"]


def test_an_interrupted_first_fit_leaves_the_policy_unfitted(monkeypatch):
    policy = make("BCRegressor")
    interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        policy.fit(X, Y)
    assert not hasattr(policy, "net_") and not hasattr(policy, "n_features_in_")


def test_a_diverged_warm_start_leaves_the_fitted_policy_as_it_was():
    policy = fit("BCRegressor", warm_start=True)
    before = state(policy)
    policy.set_params(learning_rate_init=1e30, max_iter=20)
    _check(lambda: policy.fit(X, Y, groups=GROUPS), "diverged")
    after = state(policy)
    np.testing.assert_array_equal(after[0], before[0])
    assert after[1:] == before[1:]


# ---------------------------------------------------------------- io.load
def _policy_file(tmp_path, name="BCRegressor"):
    path = tmp_path / f"{name}.safetensors"
    dump(fitted(name), path)
    return path


def tamper(path, header=None, tensors=None):
    """Rewrite a policy file as an attacker would: edit its header (a dict,
    or its JSON text when ``header`` returns a str) and tensors, and sign it
    again so that the checksum holds."""
    from safetensors.torch import load_file, save_file

    from sklearn_il.io import _digest

    with safe_open(str(path), framework="pt") as f:
        head = json.loads(f.metadata()["sklearn_il"])
    weights = load_file(str(path))
    edited = None if header is None else header(head)
    if tensors is not None:
        tensors(weights)
    text = edited if isinstance(edited, str) else json.dumps(head)
    save_file(weights, str(path), metadata={"sklearn_il": text, "sha256": _digest(text, weights)})
    return path


def _set(section, key, value):
    def edit(head):
        head[section][key] = value
    return edit


def _nested(depth):
    """A header whose alpha is a list nested ``depth`` deep (JSON text:
    ``json.dumps`` itself refuses to write one)."""
    def edit(head):
        head["params"]["alpha"] = "NESTED"
        return json.dumps(head).replace('"NESTED"', "[" * depth + "1" + "]" * depth)
    return edit


def _drop(key):
    return lambda weights: weights.pop(key)


def _reshape(weights):
    key = sorted(weights)[0]
    weights[key] = torch.zeros(3, 3)


def _retype(weights):
    key = sorted(weights)[0]
    weights[key] = weights[key].double()


def _extra(weights):
    weights["surprise"] = torch.zeros(2)


# (case id, policy, header edit, tensor edit, pattern)
HEADER_CASES = [
    ("a function as the class", "BCRegressor", lambda h: h.update({"class": "os.system"}), None,
     r"'os.system', which is not a sklearn_il policy"),
    ("a base class", "BCRegressor", lambda h: h.update({"class": "BasePolicy"}), None,
     r"'BasePolicy', which is not a sklearn_il policy"),
    ("an abstract policy", "BCRegressor", lambda h: h.update({"class": "ContinuousPolicy"}), None,
     r"'ContinuousPolicy', which is not"),
    ("no format", "BCRegressor", lambda h: h.pop("format") and None, None,
     r"unsupported format"),
    ("a future format", "BCRegressor", lambda h: h.update({"format": "sklearn_il.policy/9"}),
     None, r"unsupported format"),
    ("params a list", "BCRegressor", lambda h: h.update({"params": [1, 2]}), None,
     r"params and fitted entries must be objects"),
    ("an unknown parameter", "BCRegressor", _set("params", "colour", "red"), None,
     r"no parameters \['colour'\]"),
    ("an unknown activation", "BCRegressor", _set("params", "activation", "bogus"), None,
     r"'activation' parameter"),
    ("a negative layer", "BCRegressor", _set("params", "hidden_layer_sizes", [-3]), None,
     r"hidden_layer_sizes"),
    ("huge layers", "BCRegressor", _set("params", "hidden_layer_sizes", [10**7]), None,
     r"tensor '.*' is .* the network needs"),
    ("a deeply nested parameter", "BCRegressor", _nested(100_000), None,
     r"RecursionError|nested"),
    ("a method as a fitted attribute", "BCRegressor", _set("fitted", "predict", "x"), None,
     r"'predict' is not a fitted attribute"),
    ("a private attribute", "BCRegressor", _set("fitted", "_acting", 1), None,
     r"'_acting' is not a fitted attribute"),
    ("n_features_in_ a string", "BCRegressor", _set("fitted", "n_features_in_", "two"), None,
     r"n_features_in_ must be a positive int"),
    ("n_features_in_ missing", "BCRegressor", lambda h: h["fitted"].pop("n_features_in_") and None,
     None,
     r"n_features_in_ must be a positive int"),
    ("n_features_in_ wrong", "BCRegressor", _set("fitted", "n_features_in_", 7), None,
     r"tensor '.*' is .* the network needs"),
    ("a wide string dtype", "BCClassifier",
     _set("fitted", "classes_", {"__ndarray__": ["a", "b"], "dtype": "<U100000000"}), None,
     r"far more memory than the file"),
    ("a void dtype", "BCRegressor",
     _set("fitted", "loss_curve_", {"__ndarray__": [1], "dtype": "|V8"}), None,
     r"dtype \|V8 are not written"),
    ("a nonsense dtype", "BCRegressor",
     _set("fitted", "loss_curve_", {"__ndarray__": [1], "dtype": "zz"}), None,
     r"data type 'zz' not understood"),
    ("an unknown entry", "BCRegressor", _set("fitted", "loss_curve_", {"__code__": "x"}), None,
     r"unexpected entry"),
    ("a huge diffusion schedule", "DiffusionBC", _set("params", "n_diffusion_steps", 10**8),
     None, r"needs \d+ bytes, far more than its weights"),
    ("a missing tensor", "BCRegressor", None, lambda w: w.pop(sorted(w)[0]), r"missing \['"),
    ("an unexpected tensor", "BCRegressor", None, _extra, r"unexpected \['surprise'\]"),
    ("a tensor of another shape", "BCRegressor", None, _reshape, r"\(3, 3\), the network needs"),
    ("a tensor of another dtype", "BCRegressor", None, _retype,
     r"torch.float64 .* the network needs torch.float32"),
    ("classes_ 2-D", "BCClassifier",
     _set("fitted", "classes_", {"__ndarray__": [[0, 1]], "dtype": "<i8"}), None,
     r"cannot be built"),
]


@pytest.mark.parametrize("name, header, tensors, pattern", [c[1:] for c in HEADER_CASES],
                         ids=[c[0] for c in HEADER_CASES])
def test_load_refuses_a_crafted_file_before_building_it(tmp_path, name, header, tensors, pattern):
    path = tamper(_policy_file(tmp_path, name), header, tensors)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + pattern):
        load(path)
    # No case may allocate anywhere near what a crafted size asks for (GBs).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # KiB


def test_load_refuses_damage_and_names_the_file(tmp_path):
    path = _policy_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # a weight's byte: the header is intact
    path.write_bytes(bytes(data))
    _check(lambda: load(path), re.escape(str(path)) + r".*checksum does not match")
    path.write_bytes(b"")
    _check(lambda: load(path), re.escape(str(path)) + r".*not a valid policy file")
    _check(lambda: load(tmp_path), r"is a folder")
    _check(lambda: load(tmp_path / "absent.safetensors"), r"cannot read .*absent")
    _check(lambda: load(_policy_file(tmp_path), device="nonsense"), r"device='nonsense'")


def test_dump_refuses_a_path_it_cannot_write(tmp_path):
    _check(lambda: dump(fitted("BCRegressor"), tmp_path / "no" / "p.safetensors"),
           r"folder .*no does not exist")
    _check(lambda: dump(fitted("BCRegressor"), tmp_path), r"it is a folder")


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the fallback of a machine without CUDA")
def test_a_file_fitted_on_a_gpu_loads_on_the_cpu(tmp_path):
    path = tamper(_policy_file(tmp_path), _set("params", "device", "cuda"))
    policy = load(path)
    assert policy.device == "cpu"
    np.testing.assert_array_equal(policy.predict(X[:3]), fitted("BCRegressor").predict(X[:3]))
    _check(lambda: load(path, device="cuda"), r"device='cuda'")


def _workflow_file(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    path = tmp_path / "workflow.zip"
    dump(make_pipeline(StandardScaler(), make("BCRegressor")).fit(X, Y), path)
    return path


@pytest.mark.parametrize("kind", ["policy", "workflow"])
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_give_a_value_error_or_the_same_policy(tmp_path, kind, data):
    path = _policy_file(tmp_path) if kind == "policy" else _workflow_file(tmp_path)
    original = load(path).predict(X[:3])
    good = path.read_bytes()
    if data.draw(st.booleans(), label="truncate"):
        damaged = good[: data.draw(st.integers(0, len(good) - 1), label="length")]
    else:
        flips = data.draw(st.lists(st.integers(0, len(good) - 1), min_size=1, max_size=4),
                          label="positions")
        damaged = bytearray(good)
        for i in flips:
            damaged[i] ^= data.draw(st.integers(1, 255), label="mask")
    path.write_bytes(bytes(damaged))
    tracemalloc.start()
    try:
        loaded = load(path)
    except ValueError:
        loaded = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 50 * len(good) + 2**21
    if loaded is not None:  # damage where nothing is checked (a zip's timestamps)
        np.testing.assert_array_equal(loaded.predict(X[:3]), original)


# ---------------------------------------------------------------- rollouts, data, tools
class NaNAfter:
    """A policy whose actions turn NaN at step ``n`` (a diverged controller)."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def predict(self, X):
        self.calls += 1
        return np.full(len(X), np.nan if self.calls > self.n else 0.0)


def _expert():
    return ObstacleExpert()


def _dagger(**params):
    return DAggerWrapper(make("BCRegressor"), env=OBSTACLE, expert=ObstacleExpert(),
                         **{"n_iter": 1, "n_episodes_per_iter": 2, "random_state": 0, **params})


FUNCTION_CASES = [
    ("collect n_episodes=0", lambda: collect_demonstrations(OBSTACLE, _expert(), 0), r"n_episodes"),
    ("collect n_episodes=-2", lambda: collect_demonstrations(OBSTACLE, _expert(), -2),
     r"n_episodes"),
    ("collect n_episodes=1.5", lambda: collect_demonstrations(OBSTACLE, _expert(), 1.5),
     r"n_episodes"),
    ("collect max_episode_steps=-1",
     lambda: collect_demonstrations(OBSTACLE, _expert(), 1, max_episode_steps=-1),
     r"max_episode_steps"),
    ("collect max_episode_steps=0",
     lambda: collect_demonstrations(OBSTACLE, _expert(), 1, max_episode_steps=0),
     r"max_episode_steps"),
    ("collect n_envs=0", lambda: collect_demonstrations(OBSTACLE, _expert(), 1, n_envs=0),
     r"n_envs"),
    ("collect vectorization", lambda: collect_demonstrations(OBSTACLE, _expert(), 1,
                                                             vectorization="threads"),
     r"vectorization"),
    ("collect an unknown env id", lambda: collect_demonstrations("NoSuchEnv-v0", _expert(), 1),
     r"env.*NoSuchEnv"),
    ("collect an env of the wrong type", lambda: collect_demonstrations(42, _expert(), 1), r"env"),
    ("collect an expert without predict", lambda: collect_demonstrations(OBSTACLE, object(), 1),
     r"expert"),
    ("make_obstacle n_episodes=0", lambda: make_obstacle(0), r"n_episodes"),
    ("make_obstacle side_from='left'", lambda: make_obstacle(2, side_from="left"), r"side_from"),
    ("make_gates n_episodes=-1", lambda: make_gates(-1), r"n_episodes"),
    ("make_winding_road n_episodes=0", lambda: make_winding_road(0), r"n_episodes"),
    ("make_point_reach n_episodes='3'", lambda: make_point_reach("3"), r"n_episodes"),
    ("evaluate n_episodes=0", lambda: evaluate_policy(fitted_obstacle(), OBSTACLE, 0),
     r"n_episodes"),
    ("evaluate max_episode_steps=-1",
     lambda: evaluate_policy(fitted_obstacle(), OBSTACLE, 1, max_episode_steps=-1),
     r"max_episode_steps"),
    ("evaluate an unknown env id", lambda: evaluate_policy(fitted_obstacle(), "NoSuchEnv-v0", 1),
     r"env.*NoSuchEnv"),
    ("evaluate a policy of another width",
     lambda: evaluate_policy(fitted("BCRegressor"), OBSTACLE, 1), r"2 action|action"),
    ("evaluate a policy that turns NaN", lambda: evaluate_policy(NaNAfter(2), OBSTACLE, 1),
     r"NaNAfter returned a non-finite action \(NaN or inf: nan\) at step 2 of episode 0"),
    ("rollout a policy that is NaN at once", lambda: rollout(NaNAfter(0), OBSTACLE, 1),
     r"NaNAfter returned a non-finite action .* at step 0 of episode 0"),
    ("compounding_error n_episodes=0",
     lambda: compounding_error(fitted_obstacle(), OBSTACLE, _expert(), 0), r"n_episodes"),
    ("make_rollout_scorer metric", lambda: make_rollout_scorer(OBSTACLE, metric="speed"),
     r"metric"),
    ("HistoryStacker names of another length",
     lambda: HistoryStacker(n_frames=1).fit(X, groups=GROUPS).get_feature_names_out(["a"]),
     r"input_features"),
    ("HistoryStacker groups missing", lambda: HistoryStacker(n_frames=1).fit_transform(X),
     r"groups"),
    ("HistoryStacker n_frames=-1", lambda: HistoryStacker(n_frames=-1).fit(X, groups=GROUPS),
     r"n_frames"),
    ("HindsightRelabeler goal_fn of another length",
     lambda: HindsightRelabeler(goal_fn=lambda G: G[:-1]).fit_resample(X, Y, GROUPS),
     r"goal_fn"),
    ("HindsightRelabeler goal_fn not an array",
     lambda: HindsightRelabeler(goal_fn=lambda G: "goal").fit_resample(X, Y, GROUPS), r"goal_fn"),
    ("HindsightRelabeler window missing",
     lambda: HindsightRelabeler("window").fit_resample(X, Y, GROUPS), r"window"),
    ("NoiseAugmenter y NaN", lambda: NoiseAugmenter().fit_resample(X, with_value(Y, 0, np.nan),
                                                                   GROUPS), r"y.*NaN"),
    ("CorrectiveAugmenter y strings",
     lambda: CorrectiveAugmenter().fit_resample(X, np.full(len(X), "left"), GROUPS),
     r"y: could not convert string"),
    ("NoiseAugmenter X 3-D", lambda: NoiseAugmenter().fit_resample(X[:, :, None], Y, GROUPS),
     r"X.*dim 3"),
    ("CorrectiveAugmenter groups missing", lambda: CorrectiveAugmenter().fit_resample(X, Y),
     r"groups"),
    ("BCClassifier mixed label types",
     lambda: fit("BCClassifier", y=np.array([0, "a"] * 20, dtype=object)), r"y.*label"),
    ("BCClassifier float labels", lambda: fit("BCClassifier", y=Y[:, 0]), r"y.*continuous"),
    ("BCRegressor y strings", lambda: fit("BCRegressor", y=np.full(len(X), "left")), r"y.*string"),
    ("score_samples y of another shape",
     lambda: fit("BCRegressor", loss="gaussian").score_samples(X, Y[:, :1]), r"y has shape"),
    ("early stopping too few episodes for validation_fraction",
     lambda: fit("BCRegressor", early_stopping=True, validation_fraction=0.99,
                 groups=np.repeat([0, 1], 20)), r"validation_fraction"),
    ("DAgger expert without predict",
     lambda: _dagger(expert=object()).fit(X[:, :1], Y[:, 0], GROUPS), r"expert"),
    ("DAgger n_iter=-1", lambda: _dagger(n_iter=-1).fit(), r"n_iter"),
    ("DAgger beta out of range", lambda: _dagger(beta=1.5).fit(), r"beta"),
    ("DAgger partial_fit X of another width",
     lambda: _dagger().fit().partial_fit(np.zeros((3, 5)), np.zeros(3), np.zeros(3)),
     r"X has 5 features"),
    ("DART noise_scale negative", lambda: DARTWrapper(make("BCRegressor"), env=OBSTACLE,
                                                      expert=ObstacleExpert(),
                                                      noise_scale=-1.0).fit(), r"noise"),
    ("ActionDistributionDisplay dims beyond the actions",
     lambda: ActionDistributionDisplay.from_estimator(fitted("BCRegressor"), X[:2],
                                                      dims=(0, 5)), r"dims"),
    ("CompoundingErrorDisplay kind", lambda: CompoundingErrorDisplay.from_estimator(
        fitted_obstacle(), OBSTACLE, _expert(), kind="speed"), r"kind"),
    ("CompoundingErrorDisplay n_episodes=0", lambda: CompoundingErrorDisplay.from_estimator(
        fitted_obstacle(), OBSTACLE, _expert(), n_episodes=0), r"n_episodes"),
    ("ActionDistributionDisplay n_samples=0", lambda: ActionDistributionDisplay.from_estimator(
        fitted("BCRegressor"), X[:2], n_samples=0), r"n_samples"),
    ("ActionDistributionDisplay X_state NaN", lambda: ActionDistributionDisplay.from_estimator(
        fitted("BCRegressor"), with_value(X[:2], (0, 0), np.nan)), r"X_state.*NaN"),
    ("transitions groups missing", lambda: transitions(X, Y, None), r"groups"),
    ("transitions y rows", lambda: transitions(X, Y[:-1], GROUPS), r"y"),
    ("transitions X 3-D", lambda: transitions(X[:, :, None], Y, GROUPS), r"X.*dim 3"),
    ("state_pairs X NaN", lambda: state_pairs(with_value(X, (0, 0), np.nan), GROUPS), r"X.*NaN"),
    ("stack_history n_frames=-1", lambda: stack_history(X, GROUPS, -1), r"n_frames"),
    ("stack_history groups split", lambda: stack_history(X, np.r_[GROUPS[5:], GROUPS[:5]], 1),
     r"groups.*contiguous"),
    ("label_actions X of another width",
     lambda: fitted("InverseDynamicsRegressor").label_actions(np.zeros((4, 3)), GROUPS[:4]),
     r"X has 3"),
    ("predict_chunk X NaN",
     lambda: fitted("DiffusionBC").predict_chunk(with_value(X[:2], (0, 0), np.nan)), r"X.*NaN"),
    ("load_minari an unknown id", lambda: load_minari("nobody/nothing/here-v0"),
     r"download=True"),
    ("from_dataframe not a DataFrame",
     lambda: Demonstrations.from_dataframe(X, ["a"], "b", "c"), r"DataFrame"),
    ("Demonstrations groups of another length",
     lambda: Demonstrations(X, Y, GROUPS[:-1]), r"episode_ids|groups"),
    ("Demonstrations.load an unknown suffix",
     lambda: Demonstrations.load("demos.csv"), r"\.csv"),
]

_obstacle = {}


def fitted_obstacle():
    if not _obstacle:
        Xo, yo, go = make_obstacle(2, random_state=0)
        _obstacle["p"] = make("BCRegressor").fit(Xo, yo)
    return _obstacle["p"]


@pytest.mark.parametrize("call, pattern", [c[1:] for c in FUNCTION_CASES],
                         ids=[c[0] for c in FUNCTION_CASES])
def test_functions_refuse(call, pattern):
    _check(call, pattern)


# ---------------------------------------------------------------- interactive faults
class FailingExpert(ObstacleExpert):
    """The obstacle expert, failing at the ``fail_at``-th call of any of its
    copies (a person who walks away)."""

    calls = 0

    def __init__(self, fail_at):
        super().__init__()
        self.fail_at = fail_at

    def predict(self, X):
        FailingExpert.calls += 1
        if FailingExpert.calls == self.fail_at:
            raise RuntimeError("the expert is gone")
        return super().predict(X)


class FailingEnv(gym.Wrapper):
    """The obstacle env, failing at its ``fail_at``-th step overall."""

    steps = 0

    def __init__(self, fail_at):
        super().__init__(gym.make(OBSTACLE))
        self.fail_at = fail_at

    def step(self, action):
        FailingEnv.steps += 1
        if FailingEnv.steps == self.fail_at:
            raise RuntimeError("the simulator crashed")
        return super().step(action)


def _wrapper(kind, expert=None, env=OBSTACLE, n_iter=3):
    cls = DAggerWrapper if kind == "dagger" else DARTWrapper
    return cls(make("BCRegressor"), env=env, expert=expert or ObstacleExpert(), n_iter=n_iter,
               n_episodes_per_iter=2, n_envs=1, random_state=0)


def _finished_rounds_kept(wrapper):
    rounds = len(wrapper.history_)
    assert rounds >= 1
    assert len(wrapper.X_) == sum(r["n_labels"] for r in wrapper.history_) == len(wrapper.groups_)
    assert wrapper.history_[-1]["n_labels_total"] == len(wrapper.y_)
    # still usable: it acts, and a round labelled by hand joins the aggregate
    Xs, groups = wrapper.collect_states(1, random_state=0)
    wrapper.partial_fit(Xs, ObstacleExpert().predict(Xs), groups)
    assert len(wrapper.history_) == rounds + 1 and len(wrapper.X_) == len(wrapper.y_)


@pytest.mark.parametrize("kind", ["dagger", "dart"])
def test_an_expert_failing_mid_round_keeps_the_finished_rounds(kind):
    # The calls that the expert's episodes and round 1 take; the failure
    # comes after them.
    FailingExpert.calls = 0
    _wrapper(kind, expert=FailingExpert(-1), n_iter=1).fit()
    calls, FailingExpert.calls = FailingExpert.calls, 0
    wrapper = _wrapper(kind, expert=FailingExpert(calls + 10))
    with pytest.raises(RuntimeError, match="the expert is gone"):
        wrapper.fit()
    assert 2 <= len(wrapper.history_) < 4  # past round 1, short of the last
    _finished_rounds_kept(wrapper)


@pytest.mark.parametrize("kind", ["dagger", "dart"])
def test_an_env_failing_mid_round_keeps_the_finished_rounds(kind):
    FailingEnv.steps = 0
    wrapper = _wrapper(kind, env=lambda: FailingEnv(fail_at=70))
    with pytest.raises(RuntimeError, match="the simulator crashed"):
        wrapper.fit()
    assert 1 <= len(wrapper.history_) < 4
    FailingEnv.steps = -10**9  # no more failures
    _finished_rounds_kept(wrapper)


def test_a_failed_partial_fit_changes_nothing_and_a_corrected_retry_adds_the_rows_once():
    wrapper = DAggerWrapper(make("DiffusionBC", horizon=2), env=OBSTACLE, expert=ObstacleExpert(),
                            n_iter=0, n_episodes_per_iter=2, random_state=0).fit()
    X_before, history_before = wrapper.X_.copy(), list(wrapper.history_)
    before = wrapper.predict(X[:3, :1] if wrapper.n_features_in_ == 1 else X[:3])
    Xs, groups = wrapper.collect_states(1, random_state=0)
    labels = ObstacleExpert().predict(Xs)
    # horizon=2 needs episode ids: without them the round is refused whole
    _check(lambda: wrapper.partial_fit(Xs, labels), r"groups")
    np.testing.assert_array_equal(wrapper.X_, X_before)
    assert wrapper.history_ == history_before
    np.testing.assert_array_equal(wrapper.predict(X[:3]), before)
    wrapper.partial_fit(Xs, labels, groups)
    assert len(wrapper.X_) == len(X_before) + len(Xs)
    assert len(wrapper.history_) == len(history_before) + 1


# ---------------------------------------------------------------- generated arrays
# Each kind of array, made from valid data: either refused (a ValueError or
# TypeError naming the argument) or valid (the call succeeds, finite results).
REFUSED = {
    "NaN": lambda a, i: with_value(a, i, np.nan),
    "inf": lambda a, i: with_value(a, i, -np.inf),
    "beyond float32": lambda a, i: with_value(a, i, 3e39),
    "empty": lambda a, i: a[:0],
    "object": lambda a, i: with_value(a, i, "x", object),
    "complex": lambda a, i: a + 1j,
}
VALID = {
    "tiny": lambda a, i: with_value(a, i, 1e-300),
    "F-ordered": lambda a, i: np.asfortranarray(a),
    "read-only": lambda a, i: _read_only(a),
    "int": lambda a, i: np.round(a * 10).astype(np.int64),
    "float16": lambda a, i: a.astype(np.float16),
}


def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


_gaussian = {}


def gaussian_policy():
    if not _gaussian:
        _gaussian["p"] = BCRegressor(loss="gaussian", **TINY).fit(X, Y)
    return _gaussian["p"]


# (method, argument, call(array) -> result, the valid array it replaces,
# whether it computes in float64: values beyond float32's range are valid there)
CALLS = {
    "fit X": ("X", lambda a: make("BCRegressor").fit(a, Y[: len(a)]).predict(X[:2]), X, False),
    "fit y": ("y", lambda a: make("BCRegressor").fit(X, a).predict(X[:2]), Y, False),
    "predict X": ("X", lambda a: gaussian_policy().predict(a), X[:6], False),
    "sample X": ("X", lambda a: gaussian_policy().sample(a, 2, random_state=0), X[:6], False),
    "score_samples X": ("X", lambda a: gaussian_policy().score_samples(a, Y[: len(a)]), X[:6],
                        False),
    "score_samples y": ("y", lambda a: gaussian_policy().score_samples(X[:6], a), Y[:6], True),
    "fit_resample X": ("X", lambda a: NoiseAugmenter(random_state=0).fit_resample(
        a, Y[: len(a)], GROUPS[: len(a)])[0], X, True),
    "fit_resample y": ("y", lambda a: NoiseAugmenter(random_state=0).fit_resample(
        X, a, GROUPS)[1], Y, True),
    "transform X": ("X", lambda a: HistoryStacker(n_frames=1).fit(X, groups=GROUPS).transform(
        a, groups=GROUPS[: len(a)]), X, True),
}


@pytest.mark.parametrize("method", CALLS)
@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(sorted(REFUSED) + sorted(VALID)), row=st.integers(0, 5),
       column=st.integers(0, 1))
def test_generated_arrays_are_refused_by_name_or_handled(method, kind, row, column):
    argument, call, valid, float64 = CALLS[method]
    index = (row, column) if valid.ndim == 2 else row
    if kind == "beyond float32" and float64:
        assert np.isfinite(call(REFUSED[kind](valid, index))).all()
    elif kind in REFUSED:
        _check(lambda: call(REFUSED[kind](valid, index)), rf"\b{argument}\b")
    else:
        result = np.asarray(call(VALID[kind](valid, index)))
        assert result.dtype.kind == "f" and np.isfinite(result).all()


def test_warm_start_may_change_what_steers_training_or_acting():
    policy = fit("DiffusionBC", warm_start=True)
    policy.set_params(n_inference_steps=1, learning_rate_init=1e-4, max_iter=2).fit(X, Y)
    assert policy.n_iter_ == TINY["max_iter"] + 2
    assert policy.net_.lr == 1e-4  # the changed learning rate is applied


# ---------------------------------------------------------------- the other estimators
def _wrapper_fit(cls):
    return lambda X_, y_, g: cls(make("BCRegressor"), n_iter=0).fit(X_, y_, g)


# Each takes (X, y, groups) and fits on them (a resampler: fit_resample).
ESTIMATOR_CALLS = {
    "NoiseAugmenter": lambda X_, y_, g: NoiseAugmenter(random_state=0).fit_resample(X_, y_, g),
    "CorrectiveAugmenter": lambda X_, y_, g: CorrectiveAugmenter(
        random_state=0, dynamics=DynamicsRegressor(**TINY)).fit_resample(X_, y_, g),
    "HindsightRelabeler": lambda X_, y_, g: HindsightRelabeler(random_state=0).fit_resample(
        X_, y_, g),
    "HistoryStacker": lambda X_, y_, g: HistoryStacker(n_frames=1).fit_transform(X_, y_, g),
    "DAggerWrapper": _wrapper_fit(DAggerWrapper),
    "DARTWrapper": _wrapper_fit(DARTWrapper),
    "DAggerWrapper.partial_fit": lambda X_, y_, g: DAggerWrapper(
        make("BCRegressor")).partial_fit(X_, y_, g),
}
DATA_CASES = [
    ("X NaN", lambda: (with_value(X, (0, 0), np.nan), Y, GROUPS), r"X.*NaN"),
    ("X inf", lambda: (with_value(X, (2, 1), np.inf), Y, GROUPS), r"X.*infinity"),
    ("X 1-D", lambda: (X[:, 0], Y, GROUPS), r"X.*2D"),
    ("X 3-D", lambda: (X[:, :, None], Y, GROUPS), r"X.*dim 3"),
    ("X empty", lambda: (X[:0], Y[:0], GROUPS[:0]), r"X.*0 sample"),
    ("X strings", lambda: (np.full(X.shape, "a"), Y, GROUPS), r"X.*string"),
    ("X complex", lambda: (X + 1j, Y, GROUPS), r"X.*[Cc]omplex"),
    ("y rows", lambda: (X, Y[:-1], GROUPS), r"X has 40 rows but y has 39"),
    ("groups rows", lambda: (X, Y, GROUPS[:-1]), r"groups has 39 entries"),
    ("groups split", lambda: (X, Y, np.r_[GROUPS[5:], GROUPS[:5]]), r"groups.*contiguous"),
]


@pytest.mark.parametrize("name", ESTIMATOR_CALLS)
@pytest.mark.parametrize("data, pattern", [c[1:] for c in DATA_CASES],
                         ids=[c[0] for c in DATA_CASES])
def test_the_other_estimators_refuse(name, data, pattern):
    if name == "HistoryStacker" and pattern.startswith("X has"):
        pytest.skip("a transformer: y is not used")
    _check(lambda: ESTIMATOR_CALLS[name](*data()), pattern)
