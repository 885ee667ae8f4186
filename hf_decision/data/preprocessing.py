"""Per-episode quantities added with `datasets.map`, and the dataset statistics a model config stores.

Return-to-go convention (the one evaluation uses too): `R̂_t = Σ_{h≥t} γ^{h−t} r_h`, summed to the end of the stored
episode and including the reward of step t; γ = 1 (undiscounted) for the Decision Transformer. A truncated episode
is not bootstrapped. `timesteps[t] = t`, counted from the first step of the episode.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from datasets import Dataset, Features, List, Value

from hf_decision.data.schema import COLUMNS
from hf_decision.objectives.returns import discounted_returns_to_go

__all__ = ["STD_EPSILON", "add_returns_to_go", "discounted_returns_to_go", "trajectory_statistics"]

# Added to the per-dimension standard deviation, as the original Decision Transformer does.
STD_EPSILON = 1e-6


def add_returns_to_go(dataset: Dataset, gamma: float = 1.0, batch_size: int = 1000) -> Dataset:
    """Add `returns_to_go` (`[T]` float32), `timesteps` (`[T]` int64), `episode_return` and `episode_length` columns.

    Runs as a batched `datasets.map` on arrow batches (cached like any map); γ < 1 gives discounted returns-to-go
    while `episode_return` stays the undiscounted sum of rewards.
    """

    def add(batch: pa.Table) -> pa.Table:
        rewards_column = batch.column("rewards").combine_chunks()
        lengths = rewards_column.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
        rewards = rewards_column.flatten().to_numpy(zero_copy_only=False)
        offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
        rtg = discounted_returns_to_go(rewards, lengths, gamma).astype(np.float32)
        timesteps = np.arange(len(rewards)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        episode_return = np.add.reduceat(rewards.astype(np.float64), np.cumsum(lengths) - lengths)
        return (
            batch.select([c for c in batch.column_names if c in COLUMNS])
            .append_column("returns_to_go", pa.ListArray.from_arrays(offsets, pa.array(rtg)))
            .append_column("timesteps", pa.ListArray.from_arrays(offsets, pa.array(timesteps.astype(np.int64))))
            .append_column("episode_return", pa.array(episode_return.astype(np.float32)))
            .append_column("episode_length", pa.array(lengths))
        )

    features = Features(
        {
            **{name: dataset.features[name] for name in COLUMNS},
            "returns_to_go": List(Value("float32")),
            "timesteps": List(Value("int64")),
            "episode_return": Value("float32"),
            "episode_length": Value("int64"),
        }
    )
    return (
        dataset.with_format("arrow")
        .map(add, batched=True, batch_size=batch_size, features=features, desc="returns-to-go")
        .with_format(None)
    )


def trajectory_statistics(observations: np.ndarray, episode_returns: np.ndarray, lengths: np.ndarray) -> dict:
    """State mean/std (per dimension, std + 1e-6) and return/length statistics of a dataset."""
    observations = np.asarray(observations, dtype=np.float64)
    returns = np.asarray(episode_returns, dtype=np.float64)
    return {
        "state_mean": observations.mean(axis=0).tolist(),
        "state_std": (observations.std(axis=0) + STD_EPSILON).tolist(),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
        "num_episodes": len(lengths),
        "num_steps": int(np.sum(lengths)),
        "episode_length_mean": float(np.mean(lengths)),
        "episode_length_max": int(np.max(lengths)),
    }
