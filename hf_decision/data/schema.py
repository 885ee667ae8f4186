"""The canonical episode schema: one row per episode, every column a per-step list.

| column         | per episode            | dtype                                   |
| -------------- | ---------------------- | --------------------------------------- |
| `observations` | `[T, state_dim]`       | float32                                 |
| `actions`      | `[T, act_dim]` / `[T]` | float32 (continuous) / int64 (discrete) |
| `rewards`      | `[T]`                  | float32                                 |
| `terminals`    | `[T]`                  | bool, True at the step that ended the episode in a terminal state |
| `timeouts`     | `[T]`                  | bool, True at the step where the episode was truncated            |

`observations[t]` is the state in which `actions[t]` was taken and `rewards[t]` received (as in D4RL); the state
after the last action is not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa
from datasets import Dataset, DatasetInfo, Features, List, Value

COLUMNS = ("observations", "actions", "rewards", "terminals", "timeouts")


def trajectory_features(state_dim: int, act_dim: int, action_space: str = "continuous") -> Features:
    """The `datasets.Features` of the canonical schema (inner step vectors have a fixed length)."""
    if action_space == "discrete":
        actions = List(Value("int64"))
    else:
        actions = List(List(Value("float32"), length=act_dim))
    return Features(
        observations=List(List(Value("float32"), length=state_dim)),
        actions=actions,
        rewards=List(Value("float32")),
        terminals=List(Value("bool")),
        timeouts=List(Value("bool")),
    )


def dataset_from_flat(
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    timeouts: np.ndarray,
    episode_lengths: np.ndarray,
    action_space: str | None = None,
) -> Dataset:
    """Build a canonical dataset from flat per-step arrays and the length of each episode, without Python loops.

    `observations` is `[N, state_dim]`; `actions` is `[N, act_dim]` (continuous) or `[N]` integers (discrete);
    `rewards`, `terminals`, `timeouts` are `[N]`; `episode_lengths` sums to N. `action_space` defaults to
    `"discrete"` for integer `[N]` actions and `"continuous"` otherwise.
    """
    lengths = np.asarray(episode_lengths, dtype=np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
    observations = np.ascontiguousarray(observations, dtype=np.float32)
    if action_space is None:
        action_space = "discrete" if actions.ndim == 1 and np.issubdtype(actions.dtype, np.integer) else "continuous"
    if action_space == "discrete":
        actions = np.ascontiguousarray(actions, dtype=np.int64).reshape(-1)
        action_values = pa.array(actions)
        act_dim = 0  # the number of discrete actions is not part of the schema
    else:
        actions = np.ascontiguousarray(actions, dtype=np.float32)
        act_dim = actions.shape[1]
        action_values = pa.FixedSizeListArray.from_arrays(pa.array(actions.reshape(-1)), act_dim)
    state_dim = observations.shape[1]
    table = pa.table(
        {
            "observations": pa.ListArray.from_arrays(
                offsets, pa.FixedSizeListArray.from_arrays(pa.array(observations.reshape(-1)), state_dim)
            ),
            "actions": pa.ListArray.from_arrays(offsets, action_values),
            "rewards": pa.ListArray.from_arrays(offsets, pa.array(np.asarray(rewards, dtype=np.float32))),
            "terminals": pa.ListArray.from_arrays(offsets, pa.array(np.asarray(terminals, dtype=bool))),
            "timeouts": pa.ListArray.from_arrays(offsets, pa.array(np.asarray(timeouts, dtype=bool))),
        }
    )
    features = trajectory_features(state_dim, act_dim, action_space)
    return Dataset(table.cast(features.arrow_schema), info=DatasetInfo(features=features))


def episodes_to_dataset(episodes: Iterable[Mapping[str, np.ndarray]], action_space: str | None = None) -> Dataset:
    """Build a canonical dataset from per-episode dicts of arrays (keys: the canonical columns)."""
    episodes = list(episodes)
    if not episodes:
        raise ValueError("episodes_to_dataset got no episode")
    flat = {name: np.concatenate([np.asarray(ep[name]) for ep in episodes]) for name in COLUMNS}
    lengths = np.array([len(ep["rewards"]) for ep in episodes])
    return dataset_from_flat(**flat, episode_lengths=lengths, action_space=action_space)
