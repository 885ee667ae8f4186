"""Tabular steps: a canonical episode dataset of a Discrete-observation env as integer arrays.

A toy-text env's state is an integer s ∈ [0, S); `hf_decision.collection.collect` stores it in the canonical schema as
a 1-dim float observation (`observations[t] == [s_t]`). `TabularEpisodes` holds the steps of such a dataset as flat
integer arrays; `TabularTransitions` holds the `(s_i, a_i, r_i, s_{i+1}, terminated_i)` tuples that the estimators
count. Both take plain arrays too, for data that never was a `datasets.Dataset`.

The transitions of an episode follow the `Transitions` view (`hf_decision.data.views`): `s_{i+1}` is the next stored
observation; the last step of an episode that did not terminate (truncated, or the end of the data) is left out,
since the schema does not store the state after it; a terminated step is kept and its next state is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pyarrow as pa
from datasets import Dataset

from hf_decision.data.validation import canonicalize


def _episode_of(step: int, lengths: np.ndarray) -> int:
    return int(np.searchsorted(np.cumsum(lengths), step, side="right"))


def _check_range(name: str, values: np.ndarray, high: int, lengths: np.ndarray | None) -> None:
    """Refuse a value of `values` outside [0, high), naming its episode (or its index without episodes)."""
    bad = np.flatnonzero((values < 0) | (values >= high))
    if bad.size:
        where = f"episode {_episode_of(bad[0], lengths)}" if lengths is not None else f"transition {bad[0]}"
        raise ValueError(f"{where}: column {name!r} holds {values[bad[0]]}, out of range [0, {high})")


def _flat_values(table: pa.Table, name: str) -> np.ndarray:
    """The per-step values of a list column, concatenated over episodes (`[N]`; `[N, 1]` steps are flattened)."""
    values = table.column(name).combine_chunks().flatten()
    if pa.types.is_fixed_size_list(values.type) or pa.types.is_list(values.type):
        values = values.flatten()
    return values.to_numpy(zero_copy_only=False)


@dataclass
class TabularEpisodes:
    """The steps of episodes, flat: step t of episode e is at index `sum(episode_lengths[:e]) + t`.

    Attributes:
        states, actions: `[N]` int64, s_t and a_t.
        rewards: `[N]` float64, r_t (received for a_t in s_t).
        terminals: `[N]` bool, True where the step ended the episode in a terminal state.
        episode_lengths: `[E]` int64, summing to N.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    episode_lengths: np.ndarray

    def __post_init__(self) -> None:
        self.states = np.asarray(self.states, dtype=np.int64).reshape(-1)
        self.actions = np.asarray(self.actions, dtype=np.int64).reshape(-1)
        self.rewards = np.asarray(self.rewards, dtype=np.float64).reshape(-1)
        self.terminals = np.asarray(self.terminals, dtype=bool).reshape(-1)
        self.episode_lengths = np.asarray(self.episode_lengths, dtype=np.int64).reshape(-1)
        n = int(self.episode_lengths.sum())
        for name in ("states", "actions", "rewards", "terminals"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name!r} has {len(getattr(self, name))} steps but episode_lengths sum to {n}")
        if (self.episode_lengths <= 0).any():
            raise ValueError(f"episode {int(np.argmax(self.episode_lengths <= 0))} is empty")

    @classmethod
    def from_dataset(cls, dataset: Dataset, n_states: int, n_actions: int) -> TabularEpisodes:
        """The steps of a canonical episode dataset (see `load_trajectories`) whose observations are state indices.

        Raises:
            ValueError: naming the episode, when an observation is not a single integer in [0, n_states) or an
                action not an integer in [0, n_actions) (and for anything `canonicalize` refuses).
        """
        dataset = canonicalize(dataset, state_dim=1, act_dim=n_actions, action_space="discrete")
        table = dataset.data.table
        column = table.column("rewards").combine_chunks()
        lengths = column.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
        flat = {name: _flat_values(table, name) for name in ("observations", "actions", "rewards", "terminals")}
        observations = flat["observations"].reshape(-1)
        not_integral = np.flatnonzero(observations != np.round(observations))
        if not_integral.size:
            raise ValueError(
                f"episode {_episode_of(not_integral[0], lengths)}: column 'observations' must hold integer state "
                f"indices of a Discrete observation space, got {observations[not_integral[0]]}"
            )
        _check_range("observations", observations, n_states, lengths)
        return cls(observations, flat["actions"], flat["rewards"], flat["terminals"], lengths)

    def validate(self, n_states: int, n_actions: int) -> None:
        """Raise ValueError, naming the episode, for a state outside [0, n_states) or action outside [0, n_actions)."""
        _check_range("states", self.states, n_states, self.episode_lengths)
        _check_range("actions", self.actions, n_actions, self.episode_lengths)

    def transitions(self) -> TabularTransitions:
        """The `(s_i, a_i, r_i, s_{i+1}, terminated_i)` of these episodes (see the module docstring)."""
        n = len(self.states)
        is_last = np.zeros(n, dtype=bool)
        is_last[np.cumsum(self.episode_lengths) - 1] = True
        keep = ~is_last | self.terminals
        next_index = np.where(is_last, np.arange(n), np.arange(n) + 1)  # a terminated last step points to itself
        return TabularTransitions(
            states=self.states[keep],
            actions=self.actions[keep],
            rewards=self.rewards[keep],
            next_states=self.states[next_index[keep]],
            terminations=self.terminals[keep],
        )


@dataclass
class TabularTransitions:
    """Transitions `(s_i, a_i, r_i, s_{i+1}, terminated_i)`, flat; all arrays `[N]`.

    `terminations[i]` means that s_{i+1} is terminal: the target of transition i does not bootstrap and
    `next_states[i]` is not read. A truncated transition is an ordinary one (it bootstraps from s_{i+1}).
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    terminations: np.ndarray

    def __post_init__(self) -> None:
        self.states = np.asarray(self.states, dtype=np.int64).reshape(-1)
        self.actions = np.asarray(self.actions, dtype=np.int64).reshape(-1)
        self.rewards = np.asarray(self.rewards, dtype=np.float64).reshape(-1)
        self.next_states = np.asarray(self.next_states, dtype=np.int64).reshape(-1)
        self.terminations = np.asarray(self.terminations, dtype=bool).reshape(-1)
        n = len(self.states)
        for name in ("actions", "rewards", "next_states", "terminations"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name!r} has {len(getattr(self, name))} transitions but 'states' has {n}")

    def validate(self, n_states: int, n_actions: int) -> None:
        """Raise ValueError, naming the transition, for an index outside [0, n_states) or [0, n_actions)."""
        _check_range("states", self.states, n_states, None)
        _check_range("actions", self.actions, n_actions, None)
        _check_range("next_states", np.where(self.terminations, 0, self.next_states), n_states, None)


TabularData: TypeAlias = Dataset | TabularEpisodes | TabularTransitions


def as_episodes(data: Dataset | TabularEpisodes, n_states: int, n_actions: int) -> TabularEpisodes:
    """`data` as validated `TabularEpisodes` (a canonical `datasets.Dataset` is read with `from_dataset`)."""
    episodes = data if isinstance(data, TabularEpisodes) else TabularEpisodes.from_dataset(data, n_states, n_actions)
    episodes.validate(n_states, n_actions)
    return episodes


def as_transitions(data: TabularData, n_states: int, n_actions: int) -> TabularTransitions:
    """`data` as validated `TabularTransitions` (episodes are cut into transitions as the module docstring says)."""
    if isinstance(data, TabularTransitions):
        data.validate(n_states, n_actions)
        return data
    return as_episodes(data, n_states, n_actions).transitions()
