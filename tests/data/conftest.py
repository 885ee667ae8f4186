import numpy as np
import pyarrow as pa
import pytest
from datasets import Dataset

from hf_decision.data import dataset_from_flat


def make_episodes(lengths=(3, 5, 2), state_dim=2, act_dim=1, discrete=False, seed=0):
    """Flat arrays of episodes whose observations encode (episode, step): obs[t] = [100*e + t, -(100*e + t)]."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    episode = np.repeat(np.arange(len(lengths)), lengths)
    step = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    code = (100 * episode + step).astype(np.float32)
    observations = np.stack([code * (-1) ** d for d in range(state_dim)], axis=1)
    if discrete:
        actions = rng.integers(0, 3, size=lengths.sum())
    else:
        actions = rng.uniform(-1, 1, size=(lengths.sum(), act_dim)).astype(np.float32)
    rewards = (step + 1).astype(np.float32)  # rewards 1, 2, 3, ... within each episode
    terminals = np.zeros(lengths.sum(), bool)
    timeouts = np.zeros(lengths.sum(), bool)
    ends = np.cumsum(lengths) - 1
    terminals[ends[::2]] = True
    timeouts[ends[1::2]] = True
    return dict(
        observations=observations,
        actions=actions,
        rewards=rewards,
        terminals=terminals,
        timeouts=timeouts,
        episode_lengths=lengths,
    )


@pytest.fixture
def episodes():
    return make_episodes()


@pytest.fixture
def dataset(episodes):
    return dataset_from_flat(**episodes)


def table_dataset(**columns) -> Dataset:
    """Two valid episodes (3 and 2 steps, state_dim 2, act_dim 1) as list columns; `columns` replace or (None) drop
    columns."""
    base = {
        "observations": [[[0.0, 1.0]] * 3, [[1.0, 2.0]] * 2],
        "actions": [[[0.5]] * 3, [[0.1]] * 2],
        "rewards": [[1.0, 1.0, 1.0], [2.0, 2.0]],
        "terminals": [[False, False, True], [False, True]],
        "timeouts": [[False] * 3, [False] * 2],
    }
    base.update(columns)
    return Dataset(pa.table({k: v for k, v in base.items() if v is not None}))
