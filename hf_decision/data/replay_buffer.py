"""The replay buffer of online DQN: the transitions view (s, a, r, s', done) of data that arrives while training."""

from __future__ import annotations

import json

import numpy as np
import torch


class ReplayBuffer:
    """A circular buffer of `(s, a, r, s', done)` transitions (numpy), sampled uniformly with a seeded generator."""

    def __init__(self, capacity: int, state_dim: int, seed: int = 0):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.observations = np.zeros((capacity, state_dim), np.float32)
        self.next_observations = np.zeros((capacity, state_dim), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)
        self.size = 0
        self.position = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, observations, actions, rewards, next_observations, dones) -> None:
        """Append a batch of transitions (one per env), overwriting the oldest once full."""
        index = (self.position + np.arange(len(actions))) % self.capacity
        self.observations[index] = observations
        self.actions[index] = actions
        self.rewards[index] = rewards
        self.next_observations[index] = next_observations
        self.dones[index] = dones
        self.position = int(index[-1] + 1) % self.capacity
        self.size = min(self.size + len(actions), self.capacity)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        """A uniform batch with replacement, keyed like `hf_decision.data.Transitions.collate`."""
        index = self.rng.integers(self.size, size=batch_size)
        return {
            "observations": torch.from_numpy(self.observations[index]),
            "actions": torch.from_numpy(self.actions[index]),
            "rewards": torch.from_numpy(self.rewards[index]),
            "next_observations": torch.from_numpy(self.next_observations[index]),
            "dones": torch.from_numpy(self.dones[index]),
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        arrays = {name: getattr(self, name)[: self.size] for name in self._arrays()}
        state = {"size": self.size, "position": self.position, "rng": self.rng.bit_generator.state}
        return arrays | {"state": np.array(json.dumps(state))}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        meta = json.loads(str(state["state"]))
        if meta["size"] > self.capacity:
            raise ValueError(f"the saved buffer holds {meta['size']} transitions, more than capacity={self.capacity}")
        for name in self._arrays():
            getattr(self, name)[: meta["size"]] = state[name]
        self.size, self.position = meta["size"], meta["position"]
        self.rng.bit_generator.state = meta["rng"]

    @staticmethod
    def _arrays() -> tuple[str, ...]:
        return ("observations", "next_observations", "actions", "rewards", "dones")
