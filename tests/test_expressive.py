"""The expressive policies: properties, round trips, bad input, and no mode averaging."""

import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.multioutput import MultiOutputRegressor

from sklearn_il import (
    AutoregressiveBC,
    BCRegressor,
    DiffusionBC,
    FDivergenceBC,
    ImplicitBC,
    LatentBC,
    MixtureDensityBC,
)
from sklearn_il.datasets import make_gates, make_obstacle
from sklearn_il.envs import GATES, OBSTACLE
from sklearn_il.evaluation import evaluate_policy, rollout
from sklearn_il.policies.diffusion import chunk_rows

from .conftest import TINY, assert_round_trips, regression

warnings.filterwarnings("ignore", category=ConvergenceWarning)

# Small versions of each policy: the suite runs on 2 cores in minutes.
SMALL = {
    "MixtureDensityBC": lambda **kw: MixtureDensityBC(n_components=3, **kw),
    "DiffusionBC": lambda **kw: DiffusionBC(n_diffusion_steps=20, n_inference_steps=4, **kw),
    "AutoregressiveBC": lambda **kw: AutoregressiveBC(n_bins=16, **kw),
    "LatentBC": lambda **kw: LatentBC(latent_dim=2, **kw),
    "FDivergenceBC": lambda **kw: FDivergenceBC(n_adversarial_steps=5, **kw),
    "ImplicitBC": lambda **kw: ImplicitBC(n_counter_examples=8, n_candidates=32, **kw),
    "ImplicitBC-langevin": lambda **kw: ImplicitBC(n_counter_examples=8, n_candidates=32,
                                                   gradient_penalty=1.0, inference="langevin",
                                                   n_langevin_iter=5, **kw),
}
LIKELIHOOD = {"MixtureDensityBC", "AutoregressiveBC", "FDivergenceBC"}
MULTIMODAL = dict(hidden_layer_sizes=(64, 64), random_state=0)


@pytest.mark.parametrize("name", SMALL)
@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 30), d=st.integers(1, 4), k=st.integers(1, 3), n_pred=st.integers(1, 5))
def test_shapes_dtypes_reproducibility_and_round_trips(name, n, d, k, n_pred):
    X, y = regression(n, d, k, seed=n)
    policy = SMALL[name](**TINY).fit(X, y)
    rows = min(n, n_pred)
    pred = policy.predict(X[:n_pred])
    assert pred.dtype == np.float64
    assert pred.shape == ((rows,) if k == 1 else (rows, k))
    draws = policy.sample(X[:n_pred], n_samples=3, random_state=0)
    assert draws.shape == (rows, 3, k) and draws.dtype == np.float64
    np.testing.assert_array_equal(draws, policy.sample(X[:n_pred], n_samples=3, random_state=0))
    if name in LIKELIHOOD:
        scores = policy.score_samples(X, y)
        assert scores.shape == (n,) and np.isfinite(scores).all()
    assert_round_trips(policy, lambda p: p.predict(X), refit=lambda p: p.fit(X, y))


@pytest.mark.parametrize("name", SMALL)
def test_dump_load_and_fixed_seed(obstacle_data, tmp_path, name):
    X, y, _ = obstacle_data
    make = SMALL[name]
    torch.manual_seed(123)
    state = torch.get_rng_state()
    policy = make(**TINY).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state), "fit must not move the global torch RNG"
    np.testing.assert_array_equal(make(**TINY).fit(X, y).predict(X), policy.predict(X))
    other = make(**{**TINY, "random_state": 1}).fit(X, y).net_.module_.state_dict()
    assert any(not torch.equal(v, other[k]) for k, v in policy.net_.module_.state_dict().items())
    assert_round_trips(
        policy,
        lambda p: (p.predict(X), p.sample(X, 2, random_state=0))
        + ((p.score_samples(X, y),) if name in LIKELIHOOD else ()),
        path=tmp_path / "p.safetensors",
    )


@pytest.mark.parametrize("name", SMALL)
def test_bad_input_is_named(obstacle_data, name):
    X, y, groups = obstacle_data
    make = SMALL[name]
    Xbad = X.copy()
    Xbad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make(**TINY).fit(Xbad, y)
    policy = make(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        policy.predict(np.where(np.isnan(Xbad), np.inf, Xbad))
    with pytest.raises(ValueError, match="X has 3 features"):
        policy.sample(np.ones((2, 3)))
    with pytest.raises(ValueError, match="groups has .* entries"):
        make(**TINY).fit(X, y, groups=groups[:-1])
    with pytest.raises(ValueError, match="2 action dimensions"):
        make(warm_start=True, **TINY).fit(X, y).fit(X, np.c_[y, y])
    if name in LIKELIHOOD:
        with pytest.raises(ValueError, match="y has shape"):
            policy.score_samples(X[:4], y[:3])
    else:
        assert not hasattr(policy, "score_samples"), "no tractable likelihood: no score_samples"


def test_parameters_that_must_agree_are_checked(obstacle_data):
    X, y, groups = obstacle_data
    with pytest.raises(ValueError, match="n_inference_steps=20 exceeds n_diffusion_steps=10"):
        DiffusionBC(n_diffusion_steps=10, n_inference_steps=20, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="n_action_steps=5 exceeds horizon=4"):
        DiffusionBC(horizon=4, n_action_steps=5, **TINY).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match=r"horizon=4 .* needs `groups`.*requests groups by default"):
        DiffusionBC(horizon=4, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="'n_components' parameter"):
        MixtureDensityBC(n_components=0).fit(X, y)
    with pytest.raises(ValueError, match="'strategy' parameter"):
        AutoregressiveBC(strategy="kmeans").fit(X, y)


def test_diffusion_predict_keeps_the_draw_with_the_most_neighbours(obstacle_data):
    """Of the fixed draws' denoised actions, predict keeps one inside the
    largest cluster: not a draw that flowed between the modes."""
    X, y, _ = obstacle_data
    policy = DiffusionBC(**TINY).fit(X, y)
    assert policy.net_.module_.noise.shape == (8, 1)
    denoised = torch.tensor([[-1.0], [-0.98], [-1.02], [0.05], [1.0], [1.01], [0.99], [1.02]])
    obs_term = torch.zeros((1, 8))
    with mock.patch.object(policy, "_denoise", return_value=denoised) as denoise:
        chosen = policy._from_fixed_noise(obs_term)
    assert denoise.call_args.args[1].shape == (8, 1)  # each fixed draw, once per row
    assert 0.98 <= chosen.item() <= 1.02


def test_a_diffusion_policy_saved_with_one_noise_draw_keeps_it(tmp_path, obstacle_data):
    """Files and pickles from when predict denoised one draw load with that
    draw as the first of today's, and predict as today's policies do."""
    import json
    import pickle

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sklearn_il.io import _digest, dump, load

    X, y, _ = obstacle_data
    policy = DiffusionBC(**TINY).fit(X, y)
    old = policy.net_.module_.noise[0].clone()
    path = tmp_path / "old.safetensors"
    dump(policy, path)
    with safe_open(str(path), framework="pt") as f:
        text = f.metadata()["sklearn_il"]
    tensors = load_file(str(path))
    tensors["noise"] = old
    save_file(tensors, str(path), metadata={"sklearn_il": text, "sha256": _digest(text, tensors)})
    assert json.loads(text)["class"] == "DiffusionBC"
    policy.net_.module_.noise = old
    unpickled = pickle.loads(pickle.dumps(policy))
    for restored in (load(path), unpickled):
        noise = restored.net_.module_.noise
        assert noise.shape == (8, 1)
        np.testing.assert_array_equal(noise[0], old)
        assert restored.predict(X[:3]).shape == (3,)
    np.testing.assert_array_equal(load(path).predict(X[:5]), unpickled.predict(X[:5]))


def test_action_chunks_follow_the_episode_and_stop_at_its_end():
    X = np.arange(10.0).reshape(-1, 1)
    y = np.arange(10.0)
    groups = np.repeat([0, 1], 5)
    policy = DiffusionBC(horizon=3, **TINY).fit(X, y, groups=groups)
    targets = y[chunk_rows(groups, len(y), 3)]  # the rows of each row's training chunk
    np.testing.assert_array_equal(targets[3], [3, 4, 4])  # episode 0 ends at row 4
    np.testing.assert_array_equal(targets[5], [5, 6, 7])
    chunk = policy.predict_chunk(X[:2])
    assert chunk.shape == (2, 3, 1)
    np.testing.assert_array_equal(chunk[:, 0, 0], policy.predict(X[:2]))


def test_autoregressive_bins_and_likelihood_integrate_to_one():
    rng = np.random.default_rng(0)
    X = np.zeros((400, 1))
    y = rng.choice([-1.0, 1.0], size=400) + rng.normal(0, 0.05, size=400)
    policy = AutoregressiveBC(n_bins=20, strategy="quantile", **{**TINY, "max_iter": 50}).fit(X, y)
    edges = policy.bin_edges_[0]
    assert len(edges) == 21
    np.testing.assert_allclose(edges[[0, -1]], [y.min(), y.max()], rtol=1e-6)
    grid = np.linspace(edges[0], edges[-1], 20001)
    density = np.exp(policy.score_samples(np.zeros((len(grid), 1)), grid))
    assert abs(density.sum() * (grid[1] - grid[0]) - 1.0) < 0.01


# ------------------------------------------------------------ the lecture's point
# Settings at which each policy learns the obstacle task; smaller than the
# defaults, to keep the suite fast. The diffusion denoiser needs the width.
LEARNERS = {
    "MixtureDensityBC": lambda: MixtureDensityBC(hidden_layer_sizes=(64, 64), random_state=0),
    "DiffusionBC": lambda: DiffusionBC(hidden_layer_sizes=(128, 128), random_state=0),
    "AutoregressiveBC": lambda: AutoregressiveBC(hidden_layer_sizes=(64, 64), random_state=0),
    "LatentBC": lambda: LatentBC(latent_dim=2, hidden_layer_sizes=(64, 64), random_state=0),
    "ImplicitBC": lambda: ImplicitBC(hidden_layer_sizes=(64, 64), max_iter=200, n_iter_no_change=10,
                                     random_state=0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", LEARNERS)
def test_expressive_policy_keeps_the_modes_apart(name):
    """Where BC averages the two sides into the obstacle (0 success), these pass it."""
    X, y, _ = make_obstacle(n_episodes=30, random_state=0)
    policy = LEARNERS[name]().fit(X, y)
    result = evaluate_policy(policy, OBSTACLE, n_episodes=10, random_state=1)
    assert result.success_rate >= 0.8
    # At the start state the policy's draws take both sides.
    draws = policy.sample([[0.0, 0.0]], n_samples=200, random_state=0).ravel()
    assert (draws > 0.5).mean() > 0.1 and (draws < -0.5).mean() > 0.1
    assert (np.abs(draws) < 0.5).mean() < 0.3


def _off_mode(draws):
    """Fraction of 2-D draws near neither (1, 1) nor (-1, -1)."""
    return (np.abs(np.abs(draws.sum(-1)) - 2) > 1).mean()


@pytest.mark.slow
def test_autoregressive_order_coordinates_the_dimensions():
    """On the gates, each dimension drawn on its own mixes the modes; drawn in order it does not."""
    X, y, _ = make_gates(n_episodes=30, random_state=0)
    joint = AutoregressiveBC(n_bins=16, **MULTIMODAL).fit(X, y)
    independent = MultiOutputRegressor(AutoregressiveBC(n_bins=16, **MULTIMODAL)).fit(X, y)
    start = [[0.0, 0.0, 0.0]]
    joint_draws = joint.sample(start, n_samples=400, random_state=0)[0]
    independent_draws = np.concatenate(
        [e.sample(start, n_samples=400, random_state=k)[0] for k, e in enumerate(independent.estimators_)],
        axis=1,
    )
    assert _off_mode(joint_draws) < 0.1
    assert _off_mode(independent_draws) > 0.3
    assert evaluate_policy(joint, GATES, n_episodes=10, random_state=1).success_rate >= 0.8


@pytest.mark.parametrize("n_envs", [1, 2])
def test_rollout_executes_chunks_and_asks_again(obstacle_data, n_envs):
    X, y, groups = obstacle_data
    policy = DiffusionBC(horizon=4, n_action_steps=3, **TINY).fit(X, y, groups=groups)
    with mock.patch.object(policy, "predict_chunk", wraps=policy.predict_chunk) as spy:
        trajectories = rollout(policy, OBSTACLE, n_episodes=2, random_state=0, n_envs=n_envs)
    lengths = trajectories.episode_lengths()
    asked = [call.args[0] for call in spy.call_args_list]
    # A new chunk every 3 steps of each episode; the episodes ask together.
    assert sum(map(len, asked)) == sum(-(-n // 3) for n in lengths)
    assert len(asked) == (sum(-(-n // 3) for n in lengths) if n_envs == 1 else -(-max(lengths) // 3))
    np.testing.assert_array_equal(trajectories.X[0], asked[0][0])


def test_temporal_ensembling_executes_the_weighted_mean_of_the_running_chunks(obstacle_data):
    X, y, groups = obstacle_data
    policy = DiffusionBC(horizon=3, temporal_ensemble_coeff=0.5, **TINY).fit(X, y, groups=groups)
    chunks = []

    def recorded(rows):
        chunks.append(policy.__class__.predict_chunk(policy, rows))
        return chunks[-1]

    with mock.patch.object(policy, "predict_chunk", recorded):
        trajectories = rollout(policy, OBSTACLE, n_episodes=2, random_state=0, n_envs=1)
    # One chunk per step; step t executes the chunks of steps t-2..t (those
    # of its episode), weighted exp(-0.5 i) from the oldest, i = 0.
    assert len(chunks) == len(trajectories) and {len(c) for c in chunks} == {1}
    chunks = np.concatenate(chunks)
    start = 0
    for length in trajectories.episode_lengths():
        for t in range(length):
            made = range(max(0, t - 2), t + 1)
            now = np.array([chunks[start + s, t - s, 0] for s in made])
            weights = np.exp(-0.5 * np.arange(len(now)))
            np.testing.assert_allclose(trajectories.y[start + t], weights @ now / weights.sum())
        start += length
    # The episodes are the same when several envs run beside each other.
    together = rollout(policy, OBSTACLE, n_episodes=2, random_state=0, n_envs=2)
    np.testing.assert_array_equal(together.y, trajectories.y)


def test_temporal_ensembling_and_several_action_steps_are_refused_together(obstacle_data):
    X, y, groups = obstacle_data
    both = dict(horizon=4, n_action_steps=2, temporal_ensemble_coeff=0.01)
    with pytest.raises(ValueError, match="temporal_ensemble_coeff=0.01 .* n_action_steps=2"):
        DiffusionBC(**both, **TINY).fit(X, y, groups=groups)
    # Both are read when acting, so they may be set after fit: checked there too.
    policy = DiffusionBC(horizon=4, **TINY).fit(X, y, groups=groups).set_params(**both)
    with pytest.raises(ValueError, match="temporal_ensemble_coeff=0.01 .* n_action_steps=2"):
        rollout(policy, OBSTACLE, n_episodes=1)
    with pytest.raises(ValueError, match="temporal_ensemble_coeff"):
        DiffusionBC(temporal_ensemble_coeff=-1.0, **TINY).fit(X, y)


def test_autoregressive_on_discrete_multidimensional_actions():
    """Integer-coded discrete actions: each value gets its own bin, predictions are exact values."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    # Two coordinated discrete dimensions: (0, 2) left of the line, (1, 0) right of it.
    y = np.where(X[:, :1] > 0, [1.0, 0.0], [0.0, 2.0])
    policy = AutoregressiveBC(n_bins=64, **{**MULTIMODAL, "max_iter": 60}).fit(X, y)
    pred = policy.predict(X)
    assert set(map(tuple, pred)) <= {(0.0, 2.0), (1.0, 0.0)}
    assert (pred == y).all(1).mean() > 0.95


def test_mixture_predicts_the_highest_peak_not_the_heaviest_component():
    # What a fit once produced at a start state: weight 0.62 on a wide
    # component (std 0.73) centred between the modes at +0.25, 0.38 on a
    # narrow one (std 0.01) at -0.99, whose density is ~40x higher.
    rng = np.random.default_rng(0)
    policy = MixtureDensityBC(n_components=2, min_std=0.01, hidden_layer_sizes=(4,), max_iter=2,
                              random_state=0).fit(rng.normal(size=(50, 2)), rng.normal(size=50))
    scaler = policy.net_.module_.target_scaler
    loc, scale = float(scaler.loc), float(scaler.scale)
    std = torch.tensor([0.73, 0.01]) / scale
    output = torch.cat([torch.tensor([0.62, 0.38]).log(),
                        (torch.tensor([0.25, -0.99]) - loc) / scale,
                        torch.log(torch.expm1(std - policy.min_std))]).unsqueeze(0)
    np.testing.assert_allclose(policy._decode_predict(output).numpy(), [-0.99], atol=1e-5)
    # Equal widths: the heavier component's mean.
    std = torch.tensor([0.2, 0.2]) / scale
    output = torch.cat([torch.tensor([0.6, 0.4]).log(),
                        (torch.tensor([0.9, -0.9]) - loc) / scale,
                        torch.log(torch.expm1(std - policy.min_std))]).unsqueeze(0)
    np.testing.assert_allclose(policy._decode_predict(output).numpy(), [0.9], atol=1e-5)


@pytest.mark.parametrize("wta_weight", [0.0, 0.3])
def test_mixture_winner_takes_all_term_pulls_a_weightless_component_onto_a_mode(wta_weight):
    # The collapse measured on the gates task (issue 15): one wide component
    # covers both modes at +-2.2; another, off the modes and weightless
    # there, gets no pull from the likelihood alone.
    from sklearn_il.policies.mixture import MixtureNLL

    std = torch.tensor([1.3, 0.05])
    output = torch.cat([torch.tensor([0.0, -20.0]), torch.tensor([0.0, 1.5]),
                        torch.log(torch.expm1(std - 0.05))]).repeat(2, 1).requires_grad_()
    target = torch.tensor([[2.2], [-2.2]])
    MixtureNLL(2, 1, 0.05, wta_weight)(output, target).mean().backward()
    pull = -output.grad[:, 3].sum()  # towards +2.2 when positive
    if wta_weight:
        assert pull > 0.1
    else:
        assert abs(pull) < 1e-6


def test_a_mixture_pickled_before_wta_weight_loads_as_fitted_by_likelihood(obstacle_data):
    import pickle

    X, y, _ = obstacle_data
    policy = MixtureDensityBC(n_components=2, **TINY).fit(X, y)
    del policy.wta_weight
    restored = pickle.loads(pickle.dumps(policy))
    assert restored.get_params()["wta_weight"] == 0.0
    np.testing.assert_array_equal(restored.predict(X[:5]), policy.predict(X[:5]))


def test_latent_decodings_stay_within_the_demonstrated_range(obstacle_data):
    X, y, _ = obstacle_data
    policy = LatentBC(**TINY).fit(X, y)
    # Far off the data, where an unbounded decoder extrapolates past 6.
    draws = policy.sample(X[:20] * 100, n_samples=50, random_state=0)
    half = (y.max() - y.min()) / 2
    assert draws.min() >= y.min() - 0.05 * half - 1e-6
    assert draws.max() <= y.max() + 0.05 * half + 1e-6


def test_a_latent_policy_saved_before_the_squashing_decodes_as_trained(tmp_path, obstacle_data):
    """Files and pickles from when the decoder's output was not squashed
    load with an unbounded decoder, as they were trained."""
    import pickle

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sklearn_il.io import _digest, dump, load

    X, y, _ = obstacle_data
    policy = LatentBC(**TINY).fit(X, y)
    path = tmp_path / "old.safetensors"
    dump(policy, path)
    with safe_open(str(path), framework="pt") as f:
        text = f.metadata()["sklearn_il"]
    tensors = {k: v for k, v in load_file(str(path)).items() if k not in ("centre", "span")}
    save_file(tensors, str(path), metadata={"sklearn_il": text, "sha256": _digest(text, tensors)})
    module = policy.net_.module_
    del module._buffers["centre"], module._buffers["span"]
    unpickled = pickle.loads(pickle.dumps(policy))
    obs, z = torch.randn(30, 2) * 3, torch.randn(30, 2) * 3
    with torch.no_grad():
        raw = module.decoder(torch.cat([obs, z], dim=-1))
        for restored in (load(path), unpickled):
            decoded = restored.net_.module_.decode(obs, z)
            np.testing.assert_allclose(decoded.numpy(), raw.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(load(path).predict(X[:5]), unpickled.predict(X[:5]))


def test_implicit_bc_jumps_where_the_expert_does():
    """At a discontinuity the energy's minimum jumps; a regression blends the
    two sides. Changing the search's size after fit needs no refit."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 1))
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    grid = np.array([[-0.1], [-0.05], [0.05], [0.1]])
    policy = ImplicitBC(hidden_layer_sizes=(64, 64), max_iter=100, random_state=0).fit(X, y)
    np.testing.assert_allclose(policy.predict(grid), [-1, -1, 1, 1], atol=0.15)
    regression = BCRegressor(hidden_layer_sizes=(64, 64), max_iter=100, random_state=0).fit(X, y)
    assert np.abs(regression.predict(grid)).max() < 0.85  # blended near the jump
    policy.set_params(n_candidates=1024, n_dfo_iter=5)
    np.testing.assert_allclose(policy.predict(grid), [-1, -1, 1, 1], atol=0.15)


def test_implicit_bc_langevin_descends_an_energy_trained_with_a_gradient_penalty():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 1))
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    grid = np.array([[-0.5], [-0.1], [0.1], [0.5]])
    policy = ImplicitBC(gradient_penalty=1.0, inference="langevin", n_candidates=32,
                        n_langevin_iter=20, hidden_layer_sizes=(64, 64), max_iter=100,
                        random_state=0).fit(X, y)
    actions = policy.predict(grid)
    np.testing.assert_allclose(actions, [-1, -1, 1, 1], atol=0.15)
    np.testing.assert_array_equal(policy.predict(grid), actions)  # fixed by random_state
    # The sampler lowers the energy of where it starts.
    module = policy.net_.module_
    obs = module.obs_scaler(torch.as_tensor(grid, dtype=torch.float32))
    start = module.uniform(torch.rand((4, 32, 1), generator=torch.Generator().manual_seed(0)))
    noise = torch.randn((20, 4, 32, 1), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = module.energy(obs, start)
        after = module.energy(obs, module.langevin(obs, start, noise))
    assert (after.mean(1) < before.mean(1) - 0.2).all()
    # The penalty bounds the slope where it is applied: at uniform actions.
    actions = start.clone().requires_grad_(True)
    grad, = torch.autograd.grad(module.energy(obs, actions).sum(), actions)
    slope = (grad * (module.high - module.low) / 2).abs()
    unpenalised = ImplicitBC(hidden_layer_sizes=(64, 64), max_iter=100, random_state=0).fit(X, y)
    free = unpenalised.net_.module_
    actions = start.clone().requires_grad_(True)
    grad, = torch.autograd.grad(free.energy(obs, actions).sum(), actions)
    free_slope = (grad * (free.high - free.low) / 2).abs()
    # Measured: 0% of them steeper than 1.5 with the penalty, 90% without.
    assert (slope > 1.5).float().mean() < 0.1 and (free_slope > 1.5).float().mean() > 0.5
