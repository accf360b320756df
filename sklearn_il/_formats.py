"""Demonstrations in and out of the field's formats: DataFrames, parquet, npz.

Nothing here executes code from what it reads: ``.npz`` files are loaded
with ``allow_pickle=False`` and parquet through pyarrow, whose metadata is
JSON.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ._validation import episode_starts

# Long-format columns besides the observations and the actions.
STEP_COLUMNS = ("episode", "step", "reward", "terminated", "truncated")
# Per-episode arrays kept beside the per-step table.
_EPISODE_FIELDS = ("final_observations", "successes")
_METADATA_KEY = b"sklearn_il"
# Episodes read from a Minari dataset at once.
_MINARI_CHUNK = 16
# Rows per batch (and per row group when writing) of a parquet file.
_PARQUET_BATCH = 2**16


def to_dataframe(demos):
    """``demos`` in long format: one row per step. See ``Demonstrations.to_dataframe``."""
    import pandas as pd

    obs_names, act_names = column_names(demos)
    clash = set(STEP_COLUMNS) & set(obs_names + act_names)
    if clash:
        raise ValueError(f"observation or action names {sorted(clash)} clash with the "
                         f"columns {STEP_COLUMNS} of the long format; rename them.")
    starts = episode_starts(demos.episode_ids)
    step = np.arange(len(demos)) - np.repeat(starts, demos.episode_lengths())
    columns = {"episode": demos.episode_ids, "step": step}
    columns.update(zip(obs_names, demos.observations.T))
    columns.update(zip(act_names, demos.actions.reshape(len(demos), -1).T))
    columns.update(reward=demos.rewards, terminated=demos.terminated, truncated=demos.truncated)
    return pd.DataFrame(columns)


def column_names(demos):
    """Observation and action column names: the demonstrations' own, else numbered."""
    n_actions = int(np.prod(demos.actions.shape[1:], dtype=int))
    obs = demos.observation_names
    act = demos.action_names
    obs = [f"obs_{i}" for i in range(demos.observations.shape[1])] if obs is None else list(obs)
    act = ["action" if n_actions == 1 else f"action_{i}" for i in range(n_actions)] if act is None else list(act)
    return obs, act


def from_dataframe(cls, df, observation_columns, action_columns, episode_column,
                   step_column=None, reward_column=None, terminated_column=None,
                   truncated_column=None):
    """See ``Demonstrations.from_dataframe``."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
    observation_columns, action_columns = _names(observation_columns), _names(action_columns)
    optional = {"step_column": step_column, "reward_column": reward_column,
                "terminated_column": terminated_column, "truncated_column": truncated_column}
    wanted = observation_columns + action_columns + [episode_column] + [
        c for c in optional.values() if c is not None]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise ValueError(f"df has no column(s) {missing}; its columns are {list(df.columns)}.")
    if step_column is not None:
        if df.duplicated([episode_column, step_column]).any():
            row = df[df.duplicated([episode_column, step_column])].iloc[0]
            raise ValueError(
                f"episode {row[episode_column]} has step {row[step_column]} twice "
                f"(columns {episode_column!r}, {step_column!r}): one row per step.")
        df = df.sort_values([episode_column, step_column], kind="stable")
    episodes = _episode_ids(df[episode_column].to_numpy(), episode_column)
    starts = episode_starts(episodes)
    ids, n_runs = np.unique(episodes[starts], return_counts=True)
    if (n_runs > 1).any():
        raise ValueError(
            f"the rows of episode {ids[n_runs > 1][0].item()!r} are not contiguous (column "
            f"{episode_column!r}: {n_runs[n_runs > 1][0]} separate runs). Pass step_column= "
            "to sort the rows by episode and step, or sort them yourself, e.g. "
            f"df.sort_values([{episode_column!r}, <time column>], kind='stable')."
        )
    observations = _numeric(df, observation_columns, "observation_columns")
    actions = _numeric(df, action_columns, "action_columns")
    if actions.shape[1] == 1:
        actions = actions[:, 0]
    column = lambda name: None if name is None else df[name].to_numpy()  # noqa: E731
    return cls(observations, actions, episodes, column(reward_column),
               column(terminated_column), column(truncated_column),
               observation_names=observation_columns, action_names=action_columns)


def _names(columns):
    return [columns] if isinstance(columns, str) else list(columns)


def _numeric(df, columns, name):
    values = df[columns].to_numpy()
    if values.dtype.kind not in "biuf":
        bad = [c for c in columns if df[c].dtype.kind not in "biuf"]
        raise ValueError(f"{name}: columns {bad} are not numeric.")
    return values


def _episode_ids(ids, name):
    """Episode ids as an array that saves without pickling (no object dtype)."""
    if ids.dtype.kind == "O":
        if not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{name}: episode ids must be numbers or strings.")
        ids = ids.astype(str)
    return ids


def save(demos, path):
    """Write ``demos`` to ``path`` (.parquet or .npz), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".npz"):
        raise ValueError(f"path must end in .parquet or .npz, got {path.name!r}.")
    arrays = _arrays(demos)
    with atomic_write(path) as tmp:
        if suffix == ".npz":
            np.savez(tmp, **arrays)
        else:
            _write_parquet(demos, arrays, tmp)


def _arrays(demos):
    arrays = {
        "observations": demos.observations, "actions": demos.actions,
        "episode_ids": _episode_ids(demos.episode_ids, "episode_ids"),
        "rewards": demos.rewards, "terminated": demos.terminated,
        "truncated": demos.truncated, "successes": demos.successes,
    }
    if demos.final_observations is not None:
        arrays["final_observations"] = demos.final_observations
    for key in ("observation_names", "action_names"):
        names = getattr(demos, key)
        if names is not None:
            arrays[key] = np.asarray(names, dtype=str)
    for key, value in arrays.items():
        if value.dtype.kind == "O":
            raise ValueError(f"{key} has dtype object; only numeric and string arrays are saved.")
    return arrays


def _write_parquet(demos, arrays, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(to_dataframe(demos), preserve_index=False)
    obs_names, act_names = column_names(demos)
    # The per-episode arrays and what the table alone cannot say (the
    # actions' shape and dtypes) as JSON: exact for every float (repr
    # round-trips), and readable by any parquet tool.
    metadata = {
        "observation_columns": obs_names, "action_columns": act_names,
        "named": [demos.observation_names is not None, demos.action_names is not None],
        "actions": {"shape": list(demos.actions.shape[1:]), "dtype": demos.actions.dtype.str},
        "observations_dtype": demos.observations.dtype.str,
    }
    for key in _EPISODE_FIELDS:
        if key in arrays:
            metadata[key] = {"dtype": arrays[key].dtype.str, "shape": list(arrays[key].shape),
                             "values": arrays[key].ravel().tolist()}
    schema_metadata = {**(table.schema.metadata or {}), _METADATA_KEY: json.dumps(metadata)}
    pq.write_table(table.replace_schema_metadata(schema_metadata), path,
                   row_group_size=_PARQUET_BATCH)


def load(cls, path):
    """Read demonstrations written by ``save``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        required = {"observations", "actions", "episode_ids"}
        if not required <= set(arrays):
            raise ValueError(f"{path.name} is not a saved Demonstrations: it lacks "
                             f"{sorted(required - set(arrays))}.")
        names = {k: arrays.pop(k).tolist() for k in ("observation_names", "action_names") if k in arrays}
        return cls(**arrays, **names)
    if suffix == ".parquet":
        return _read_parquet(cls, path)
    raise ValueError(f"path must end in .parquet or .npz, got {path.name!r}.")


def _read_parquet(cls, path):
    import pyarrow.parquet as pq

    # No pre-buffering: it reads the whole file into arrow's memory first
    # (2 copies at peak instead of about 1.4, measured by bench_data.py).
    parquet = pq.ParquetFile(path, pre_buffer=False)
    raw = (parquet.schema_arrow.metadata or {}).get(_METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path.name} was not written by Demonstrations.save; read it with "
                         "pandas and use Demonstrations.from_dataframe.")
    meta = json.loads(raw)
    n_rows = parquet.metadata.num_rows
    columns = {
        "observations": (meta["observation_columns"], meta["observations_dtype"]),
        "actions": (meta["action_columns"], meta["actions"]["dtype"]),
    }
    arrays = {key: np.empty((n_rows, len(names)), dtype) for key, (names, dtype) in columns.items()}
    schema = parquet.schema_arrow
    flat = {name: np.empty(n_rows, schema.field(name).type.to_pandas_dtype())
            for name in ("episode", "reward", "terminated", "truncated")}
    # Batch by batch into arrays made once: the whole table is never in
    # memory beside them.
    start = 0
    for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH):
        stop = start + batch.num_rows
        for key, (names, _) in columns.items():
            for j, name in enumerate(names):
                arrays[key][start:stop, j] = batch.column(name).to_numpy()
        for name, out in flat.items():
            out[start:stop] = batch.column(name).to_numpy(zero_copy_only=False)
        start = stop
    episode_data = {}
    for key in _EPISODE_FIELDS:
        if key in meta:
            field = meta[key]
            episode_data[key] = np.asarray(field["values"], dtype=field["dtype"]).reshape(field["shape"])
    obs_named, act_named = meta["named"]
    return cls(
        arrays["observations"],
        arrays["actions"].reshape((n_rows, *meta["actions"]["shape"])),
        _episode_ids(flat["episode"], "episode"),
        flat["reward"], flat["terminated"], flat["truncated"],
        observation_names=meta["observation_columns"] if obs_named else None,
        action_names=meta["action_columns"] if act_named else None,
        **episode_data,
    )


class atomic_write:
    """A temporary path beside ``path``, renamed onto it when the block succeeds.

    A crash or an error while writing leaves whatever was at ``path`` as it
    was, never a half-written file.
    """

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        if not self.path.parent.is_dir():
            raise ValueError(f"cannot write {self.path}: the folder {self.path.parent} does not exist.")
        if self.path.is_dir():
            raise ValueError(f"cannot write {self.path}: it is a folder; pass a file name.")
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                        suffix=self.path.suffix)
        os.close(fd)
        return self.tmp

    def __exit__(self, kind, value, traceback):
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)
        return False


# ------------------------------------------------------------------ Minari
def to_minari(demos, dataset_id, env, **metadata):
    """Write ``demos`` as a local Minari dataset. See ``Demonstrations.to_minari``."""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    from minari.dataset.minari_dataset import parse_dataset_id

    try:
        parse_dataset_id(dataset_id)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"dataset_id={dataset_id!r} is not a Minari id: "
                         "(namespace/)(env_name/)dataset_name-v(version), e.g. "
                         "'me/obstacle/expert-v0'.") from exc
    if demos.final_observations is None:
        raise ValueError("to_minari needs each episode's final observation (Minari stores "
                         "n + 1 observations per episode of n steps); these demonstrations "
                         "have none.")
    from ._rollout import GOAL_KEYS, goal_observations, make_env, observation_width

    # The env is made only to read its spec and spaces.
    made, owned = (gym.make(env), True) if isinstance(env, gym.envs.registration.EnvSpec) else make_env(env)
    try:
        spec, obs_space, action_space = made.spec, made.observation_space, made.action_space
    finally:
        if owned:
            made.close()
    if spec is None:
        raise ValueError("env has no spec (it was not made with gymnasium.make): Minari "
                         "stores the env as its spec; register the env and pass its id.")
    if observation_width(obs_space) != demos.observations.shape[1]:
        raise ValueError(
            f"env={env!r} has observations of {observation_width(obs_space)} features, "
            f"these demonstrations {demos.observations.shape[1]}: they come from another env.")
    if isinstance(obs_space, gym.spaces.Dict):
        # A goal env: its Dict entries the policy sees (Minari stores dicts,
        # d3rlpy's loader reads "observation" and "desired_goal"), without the
        # achieved goal, which flat rows do not hold.
        obs_space = gym.spaces.Dict({k: obs_space[k] for k in GOAL_KEYS})

        def stored(rows):
            return goal_observations(rows, obs_space)
    else:
        def stored(rows):
            return rows.reshape(len(rows), *obs_space.shape).astype(obs_space.dtype)
    actions = demos.actions.reshape((len(demos), *action_space.shape)).astype(action_space.dtype)
    bounds = np.r_[0, np.cumsum(demos.episode_lengths())]
    buffers = []
    for e in range(demos.n_episodes):
        rows = slice(bounds[e], bounds[e + 1])
        observations = np.concatenate([demos.observations[rows], demos.final_observations[e][None]])
        buffers.append(EpisodeBuffer(
            id=e, observations=stored(observations), actions=actions[rows],
            rewards=demos.rewards[rows], terminations=demos.terminated[rows],
            truncations=demos.truncated[rows],
        ))
    metadata.setdefault("algorithm_name", "sklearn_il Demonstrations")
    metadata.setdefault("eval_env", spec)  # evaluation in the env the data come from
    # Minari's arrow storage: pyarrow is already needed for parquet (hdf5,
    # Minari's default, would add h5py); data_format="hdf5" is passed through.
    metadata.setdefault("data_format", "arrow")
    return minari.create_dataset_from_buffers(
        dataset_id, buffers, env=spec, observation_space=obs_space, action_space=action_space,
        **metadata)


def load_minari(cls, dataset_id_or_path, download=False):
    """Demonstrations and the dataset of a Minari dataset. See ``datasets.load_minari``."""
    import minari
    from minari.dataset.minari_dataset import MinariDataset

    from ._rollout import flat_observations

    path = Path(dataset_id_or_path)
    if path.is_dir() and (path / "data").is_dir():
        dataset = MinariDataset(path / "data")
    else:
        try:
            dataset = minari.load_dataset(str(dataset_id_or_path), download=download)
        except FileNotFoundError as exc:
            root = os.environ.get("MINARI_DATASETS_PATH", "~/.minari/datasets")
            raise ValueError(
                f"no local Minari dataset {dataset_id_or_path!r} (looked in {root}). "
                "Pass download=True to fetch it from the Minari server, or the path of "
                "the dataset's folder."
            ) from exc
    # Arrays made once, at the dataset's size, filled episode by episode:
    # the dataset's episodes are never all in memory beside them.
    n_steps, n_episodes = int(dataset.total_steps), int(dataset.total_episodes)
    if not n_episodes:
        raise ValueError(f"the Minari dataset {dataset_id_or_path!r} has no episodes.")
    arrays, start = None, 0
    indices = dataset.episode_indices
    # A few episodes at a time: iterating all at once, Minari holds the whole
    # dataset in arrow's memory (1.7 copies at peak, against 0.4 in chunks
    # of 100 and 0.25 of 20, as fast; bench_data.py's dataset).
    chunks = (indices[i : i + _MINARI_CHUNK] for i in range(0, len(indices), _MINARI_CHUNK))
    episodes = (episode for chunk in chunks for episode in dataset.iterate_episodes(chunk))
    for e, episode in enumerate(episodes):
        n = len(episode.rewards)
        obs = episode.observations
        # Rows as rollouts flatten them (a goal env's dict joined in GOAL_KEYS order).
        flat = flat_observations(obs, n + 1) if isinstance(obs, dict) else np.asarray(obs).reshape(n + 1, -1)
        actions = np.asarray(episode.actions)
        if arrays is None:
            arrays = {
                "obs": np.empty((n_steps, flat.shape[1]), flat.dtype),
                "act": np.empty((n_steps, *actions.shape[1:]), actions.dtype),
                "ids": np.empty(n_steps, np.int64), "rew": np.empty(n_steps),
                "term": np.empty(n_steps, bool), "trunc": np.empty(n_steps, bool),
                "finals": np.empty((n_episodes, flat.shape[1]), flat.dtype),
            }
        rows = slice(start, start + n)
        arrays["obs"][rows], arrays["finals"][e] = flat[:n], flat[n]
        arrays["act"][rows], arrays["ids"][rows] = actions, episode.id
        arrays["rew"][rows], arrays["term"][rows] = episode.rewards, episode.terminations
        arrays["trunc"][rows] = episode.truncations
        start += n
    demos = cls(*(arrays[k] for k in ("obs", "act", "ids", "rew", "term", "trunc", "finals")))
    return demos, dataset
