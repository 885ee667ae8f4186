"""`load_trajectories`: every source of offline trajectories becomes one validated, canonical `datasets.Dataset`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, DatasetDict, load_dataset, load_from_disk
from datasets.exceptions import DatasetNotFoundError

from hf_decision.data.schema import dataset_from_flat
from hf_decision.data.validation import canonicalize

logger = logging.getLogger(__name__)

HDF5_SUFFIXES = (".hdf5", ".h5")
MINARI_PREFIX = "minari:"
# Hub datasets that still ship a loading script are served as parquet by the Hub's converter on this branch.
PARQUET_REVISION = "refs/convert/parquet"


def load_trajectories(
    source: str | PathLike | Sequence[str | PathLike] | Dataset,
    *,
    config: str | None = None,
    split: str = "train",
    revision: str | None = None,
    state_dim: int | None = None,
    act_dim: int | None = None,
    action_space: str | None = None,
    max_ep_len: int | None = None,
) -> Dataset:
    """Load offline trajectories from any supported source, validated and in the canonical schema.

    Args:
        source: one of
            - a `datasets.Dataset` already in memory;
            - a local folder written by `save_to_disk` (a `DatasetDict` folder picks `split`);
            - a parquet file, a list of them, or a folder holding parquet files;
            - a D4RL-format HDF5 file (`.hdf5`/`.h5`: flat `observations`, `actions`, `rewards`, `terminals`,
              optional `timeouts`, split into episodes after every terminal or timeout);
            - `"minari:<dataset_id>"`, a Minari dataset present locally (extra `hf_decision[minari]`);
            - a Hub dataset id, with `config` (e.g. `"edbeeching/decision_transformer_gym_replay"`,
              `config="hopper-medium-v2"`), read through its parquet files.
        config: the Hub dataset configuration (subset).
        split: the split to load.
        revision: the Hub revision.
        state_dim, act_dim, action_space, max_ep_len: checked against the data when given (see `canonicalize`).

    Raises:
        ValueError: for data that does not fit the schema, naming the episode and the column.
        FileNotFoundError: for a local path that does not exist (or a name that is neither a local path nor a
            readable Hub dataset).
    """
    dataset = _read(source, config=config, split=split, revision=revision)
    return canonicalize(
        dataset, state_dim=state_dim, act_dim=act_dim, action_space=action_space, max_ep_len=max_ep_len
    )


def _read(source, *, config, split, revision) -> Dataset:
    if isinstance(source, Dataset):
        return source
    if isinstance(source, DatasetDict):
        return source[split]
    if isinstance(source, (list, tuple)):
        return _read_parquet([Path(p) for p in source])
    text = str(source)
    if text.startswith(MINARI_PREFIX):
        return read_minari(text[len(MINARI_PREFIX) :])
    path = Path(source).expanduser()
    if path.exists():
        if path.is_file() and path.suffix in HDF5_SUFFIXES:
            return read_d4rl_hdf5(path)
        if path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists()):
            loaded = load_from_disk(str(path))
            return loaded[split] if isinstance(loaded, DatasetDict) else loaded
        if path.is_dir():
            files = sorted(path.rglob("*.parquet"))
            if not files:
                raise FileNotFoundError(f"{path} holds neither a save_to_disk dataset nor parquet files")
            return _read_parquet(files)
        return _read_parquet([path])
    looks_local = text.startswith((".", "/", "~")) or text.endswith((".parquet", *HDF5_SUFFIXES))
    # `data/x` whose folder `data` exists here is a missing local dataset, not the Hub repo `x` of user `data`
    in_local_folder = len(path.parts) > 1 and path.parent.is_dir()
    if isinstance(source, PathLike) or looks_local or in_local_folder:
        raise FileNotFoundError(f"no such file or folder: {text} (looked in {Path.cwd()})")
    try:
        return read_hub(text, config=config, split=split, revision=revision)
    except (ConnectionError, FileNotFoundError, DatasetNotFoundError) as error:
        raise FileNotFoundError(
            f"{text} is not a local file or folder (looked in {Path.cwd()}), and reading it as a Hub dataset id "
            f"failed: {error}"
        ) from error


def _read_parquet(files: list[Path]) -> Dataset:
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"no such parquet file: {missing[0]}")
    rows = 0
    for file in files:  # the footer names the file at fault, where `datasets` would not
        try:
            rows += pq.read_metadata(file).num_rows
        except (pa.ArrowException, OSError) as error:
            raise ValueError(f"{file} is not a readable parquet file (truncated or corrupted?): {error}") from error
    if rows == 0:
        where = files[0] if len(files) == 1 else f"the {len(files)} parquet files {[str(f) for f in files]}"
        raise ValueError(f"{where} hold 0 rows: no episode to load")
    return load_dataset("parquet", data_files=[str(f) for f in files], split="train")


def read_hub(repo_id: str, *, config: str | None, split: str, revision: str | None = None) -> Dataset:
    """A Hub dataset, through its parquet files: the repository's own, or the Hub's parquet conversion."""
    try:
        return load_dataset(repo_id, config, split=split, revision=revision)
    except (RuntimeError, ValueError) as error:
        if revision is not None or "script" not in str(error).lower():
            raise
    logger.info("%s ships a loading script; reading the Hub's parquet conversion instead", repo_id)
    return load_dataset("parquet", data_files=hub_parquet_files(repo_id, config, split), split="train")


def hub_parquet_files(repo_id: str, config: str | None, split: str) -> str:
    """The `hf://` pattern of a split's files in the Hub's parquet conversion (`refs/convert/parquet`)."""
    revision = PARQUET_REVISION.replace("/", "%2F")
    return f"hf://datasets/{repo_id}@{revision}/{config or 'default'}/{split}/*.parquet"


def read_d4rl_hdf5(path: str | PathLike) -> Dataset:
    """A D4RL-format HDF5 file: flat per-step arrays, split into episodes after each terminal or timeout.

    Steps after the last terminal/timeout form a final (truncated) episode.
    """
    try:
        import h5py
    except ImportError as error:
        raise ImportError("reading D4RL HDF5 files needs h5py: pip install 'hf_decision[d4rl]'") from error
    with h5py.File(path, "r") as f:
        for key in ("observations", "actions", "rewards", "terminals"):
            if key not in f:
                raise ValueError(f"{path}: missing key {key!r} (D4RL layout); keys are {sorted(f.keys())}")
        arrays = {key: f[key][()] for key in ("observations", "actions", "rewards", "terminals")}
        n = len(arrays["rewards"])
        arrays["timeouts"] = f["timeouts"][()] if "timeouts" in f else np.zeros(n, dtype=bool)
    rewards = arrays["rewards"].reshape(n, -1)
    if rewards.shape[1] != 1:
        raise ValueError(f"{path}: 'rewards' must be [N] or [N, 1], got {list(arrays['rewards'].shape)}")
    for key, value in arrays.items():
        if len(value) != n:
            raise ValueError(f"{path}: {key!r} has {len(value)} steps but 'rewards' has {n}")
    observations = arrays["observations"].reshape(n, -1)
    actions = arrays["actions"]
    if actions.ndim > 2:
        raise ValueError(f"{path}: 'actions' must be [N] or [N, act_dim], got {list(actions.shape)}")
    ends = np.flatnonzero(arrays["terminals"].astype(bool) | arrays["timeouts"].astype(bool)) + 1
    bounds = np.concatenate([[0], ends, [n] if not ends.size or ends[-1] != n else []]).astype(np.int64)
    return dataset_from_flat(
        observations,
        actions,
        rewards[:, 0],
        arrays["terminals"].astype(bool),
        arrays["timeouts"].astype(bool),
        np.diff(bounds),
    )


def read_minari(dataset_id: str) -> Dataset:
    """A Minari dataset present locally. Minari stores T+1 observations per episode; the last is dropped."""
    try:
        import minari
    except ImportError as error:
        raise ImportError("reading Minari datasets needs minari: pip install 'hf_decision[minari]'") from error
    episodes = list(minari.load_dataset(dataset_id).iterate_episodes())
    if not episodes:
        raise ValueError(f"the Minari dataset {dataset_id} is empty: it holds no episode")
    for e, episode in enumerate(episodes):
        if isinstance(episode.observations, dict):
            raise ValueError(f"episode {e}: column 'observations' is a dict space; only flat Box observations work")
    observations = np.concatenate([np.asarray(ep.observations)[:-1].reshape(len(ep.rewards), -1) for ep in episodes])
    actions = np.concatenate([np.asarray(ep.actions) for ep in episodes])
    return dataset_from_flat(
        observations,
        actions,
        np.concatenate([np.asarray(ep.rewards) for ep in episodes]),
        np.concatenate([np.asarray(ep.terminations) for ep in episodes]),
        np.concatenate([np.asarray(ep.truncations) & ~np.asarray(ep.terminations) for ep in episodes]),
        np.array([len(ep.rewards) for ep in episodes]),
    )
