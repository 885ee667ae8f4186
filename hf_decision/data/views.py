"""Views of one `TrajectoryStore`: K-step windows (DT), transitions (Q-learning), whole episodes (PG, Monte Carlo).

Each view is a `torch.utils.data.Dataset` whose items are flat step (or episode) indices, so a `DataLoader` or a
`transformers.Trainer` samples them, and a collator builds the batch by index arithmetic on the store's tensors.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch.utils.data import Dataset as TorchDataset

from hf_decision.data.trajectories import TrajectoryStore

WINDOW_SAMPLINGS = ("length", "windows")


class DecisionWindows(TorchDataset):
    """K-step windows for the Decision Transformer; item i is the flat index of window i's first step.

    `sampling="length"` (the original DT): every step starts a window, so a uniform draw picks an episode with
    probability proportional to its length and a start uniformly within it; windows starting fewer than K steps
    before the episode end are shorter and get left-padded by the collator. `sampling="windows"`: only complete
    K-step windows (start ≤ length − K), uniformly; an episode shorter than K gives one (padded) window.
    """

    def __init__(
        self,
        store: TrajectoryStore,
        context_length: int,
        sampling: Literal["length", "windows"] = "length",
    ):
        if sampling not in WINDOW_SAMPLINGS:
            raise ValueError(f"sampling must be one of {WINDOW_SAMPLINGS}, got {sampling!r}")
        if context_length < 1:
            raise ValueError(f"context_length must be >= 1, got {context_length}")
        self.store = store
        self.context_length = context_length
        self.sampling = sampling
        if sampling == "length":
            self.starts = torch.arange(store.num_steps)
        else:
            lengths = store.episode_lengths[store.episode_of_step]
            last_start = (lengths - context_length).clamp(min=0)
            self.starts = torch.nonzero(store.timesteps <= last_start).squeeze(1)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> int:
        return int(self.starts[index])

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        """The starts of a whole batch in one gather (a `DataLoader` calls this rather than `__getitem__` per item)."""
        return self.starts[torch.as_tensor(indices, dtype=torch.long)]

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`batch_size` window starts drawn uniformly with replacement."""
        return self.starts[torch.randint(len(self.starts), (batch_size,), generator=generator)]


class Transitions(TorchDataset):
    """`(s, a, r, s', done)` transitions; item i is the flat index of the transition's step.

    `s'` is the next stored observation. The last step of an episode that did not terminate (truncated, or the end
    of the data) is left out, since the state after it is not stored; a terminal last step is kept with
    `done = 1` and `s' = s` (a placeholder the TD target multiplies by `1 − done`).
    """

    def __init__(self, store: TrajectoryStore):
        self.store = store
        is_last = store.timesteps == store.episode_lengths[store.episode_of_step] - 1
        self.indices = torch.nonzero(~is_last | store.terminals).squeeze(1)
        self.next_indices = torch.where(is_last, torch.arange(store.num_steps), torch.arange(store.num_steps) + 1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> int:
        return int(self.indices[index])

    def __getitems__(self, indices: list[int]) -> torch.Tensor:
        """The steps of a whole batch in one gather (a `DataLoader` calls this rather than `__getitem__` per item)."""
        return self.indices[torch.as_tensor(indices, dtype=torch.long)]

    def collate(self, steps: list[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        """A batch of transitions from flat step indices (the items of this view)."""
        steps = torch.as_tensor(steps, dtype=torch.long)
        store = self.store
        return {
            "observations": store.observations[steps],
            "actions": store.actions[steps],
            "rewards": store.rewards[steps],
            "next_observations": store.observations[self.next_indices[steps]],
            "dones": store.terminals[steps].float(),
        }

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """A uniform batch (with replacement), ready for a TD loss."""
        return self.collate(self.indices[torch.randint(len(self.indices), (batch_size,), generator=generator)])


class Episodes(TorchDataset):
    """Whole episodes; item e is a dict of views (no copies) into the store's tensors for episode e."""

    def __init__(self, store: TrajectoryStore):
        self.store = store

    def __len__(self) -> int:
        return self.store.num_episodes

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"episode {index} out of range for {len(self)} episodes")
        store = self.store
        start = int(store.episode_starts[index])
        steps = slice(start, start + int(store.episode_lengths[index]))
        return {
            "observations": store.observations[steps],
            "actions": store.actions[steps],
            "rewards": store.rewards[steps],
            "returns_to_go": store.returns_to_go[steps],
            "terminals": store.terminals[steps],
            "timeouts": store.timeouts[steps],
        }
