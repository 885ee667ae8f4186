"""One store of episodes, flattened once into contiguous tensors; every view indexes into it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from datasets import Dataset

from hf_decision.data.preprocessing import add_returns_to_go, trajectory_statistics
from hf_decision.data.schema import COLUMNS


def _flat_column(dataset: Dataset, name: str) -> np.ndarray:
    """The per-step values of a list column, concatenated over episodes (`[N]` or `[N, dim]`)."""
    values = dataset.data.table.column(name).combine_chunks().flatten()
    if pa.types.is_fixed_size_list(values.type) or pa.types.is_list(values.type):
        return values.flatten().to_numpy(zero_copy_only=False).reshape(len(values), -1)
    return values.to_numpy(zero_copy_only=False)


@dataclass
class TrajectoryStore:
    """All steps of a canonical dataset in flat tensors, plus per-episode offsets.

    Attributes:
        observations: `[N, state_dim]` float32, raw (unnormalized).
        actions: `[N, act_dim]` float32, or `[N]` int64 for discrete actions.
        rewards, returns_to_go: `[N]` float32 (returns-to-go with the store's γ).
        timesteps: `[N]` int64, the step index within its episode.
        terminals, timeouts: `[N]` bool.
        episode_starts, episode_lengths: `[E]` int64; episode e holds steps `[start, start + length)`.
        episode_returns: `[E]` float32, undiscounted.
        episode_of_step: `[N]` int64.
        gamma: the discount of `returns_to_go`.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    returns_to_go: torch.Tensor
    timesteps: torch.Tensor
    terminals: torch.Tensor
    timeouts: torch.Tensor
    episode_starts: torch.Tensor
    episode_lengths: torch.Tensor
    episode_returns: torch.Tensor
    episode_of_step: torch.Tensor
    gamma: float = 1.0

    @classmethod
    def from_dataset(cls, dataset: Dataset, gamma: float = 1.0) -> TrajectoryStore:
        """Flatten a canonical dataset (see `load_trajectories`) once; returns-to-go are added when missing.

        Raises:
            ValueError: naming the episode and step, where a return-to-go is not finite.
        """
        if "returns_to_go" not in dataset.column_names or gamma != 1.0:
            dataset = add_returns_to_go(dataset.select_columns(list(COLUMNS)), gamma=gamma)
        if dataset._indices is not None:
            dataset = dataset.flatten_indices()
        lengths = dataset.data.table.column("episode_length").to_numpy().astype(np.int64)
        starts = np.cumsum(lengths) - lengths
        flat = {name: _flat_column(dataset, name) for name in (*COLUMNS, "returns_to_go", "timesteps")}
        actions = flat["actions"]
        store = cls(
            observations=torch.from_numpy(flat["observations"].astype(np.float32)),
            actions=torch.from_numpy(actions.astype(np.int64 if actions.ndim == 1 else np.float32)),
            rewards=torch.from_numpy(flat["rewards"].astype(np.float32)),
            returns_to_go=torch.from_numpy(flat["returns_to_go"].astype(np.float32)),
            timesteps=torch.from_numpy(flat["timesteps"].astype(np.int64)),
            terminals=torch.from_numpy(flat["terminals"].astype(bool)),
            timeouts=torch.from_numpy(flat["timeouts"].astype(bool)),
            episode_starts=torch.from_numpy(starts),
            episode_lengths=torch.from_numpy(lengths),
            episode_returns=torch.from_numpy(
                dataset.data.table.column("episode_return").to_numpy().astype(np.float32)
            ),
            episode_of_step=torch.from_numpy(np.repeat(np.arange(len(lengths)), lengths)),
            gamma=gamma,
        )
        store._require_finite_returns()
        return store

    def _require_finite_returns(self) -> None:
        """Returns-to-go out of float32's range (rewards near 1e38) would train on inf/NaN and store inf targets."""
        bad = torch.nonzero(~torch.isfinite(self.returns_to_go)).flatten()
        if len(bad):
            step = int(bad[0])
            raise ValueError(
                f"episode {int(self.episode_of_step[step])}: the returns-to-go are {self.returns_to_go[step].item()} "
                f"at step {int(self.timesteps[step])}: the rewards (or their sum) are beyond float32's range; scale "
                "them down"
            )

    @property
    def num_steps(self) -> int:
        return len(self.rewards)

    @property
    def num_episodes(self) -> int:
        return len(self.episode_lengths)

    @property
    def state_dim(self) -> int:
        return self.observations.shape[1]

    @property
    def discrete(self) -> bool:
        return self.actions.dim() == 1

    @property
    def act_dim(self) -> int:
        """Continuous action size, or the number of discrete actions seen in the data (max index + 1)."""
        return int(self.actions.max()) + 1 if self.discrete else self.actions.shape[1]

    def statistics(self) -> dict:
        """State mean/std and return statistics (see `trajectory_statistics`), for the model config."""
        return trajectory_statistics(
            self.observations.numpy(), self.episode_returns.numpy(), self.episode_lengths.numpy()
        )
