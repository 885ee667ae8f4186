"""The replay buffer of the Online Decision Transformer: whole trajectories, the best offline ones first, then the
policy's own rollouts with their returns-to-go relabelled in hindsight, oldest out.

Online DT (Zheng et al. 2022, Sec. 4.2) trains on trajectories, not transitions: a window is sampled from the buffer
exactly as from an offline dataset (`TrajectoryStore` → `DecisionWindows` → `DecisionCollator`). A rollout was
conditioned on an exploration target return `g`, so the returns-to-go the policy saw were `g − Σ_{h<t} r_h`; the
buffer stores instead the returns-to-go the trajectory **achieved**, `R̂_t = Σ_{h≥t} r_h` (hindsight return
relabelling), so that every stored window says truthfully which return its actions led to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from hf_decision.data.trajectories import TrajectoryStore
from hf_decision.objectives.returns import discounted_returns_to_go

EPISODE_ARRAYS = ("observations", "actions", "rewards")


def hindsight_returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """`R̂_t = Σ_{h≥t} r_h` of one episode's achieved rewards (float32): the returns-to-go it is relabelled with."""
    rewards = np.asarray(rewards, dtype=np.float64)
    return discounted_returns_to_go(rewards, np.array([len(rewards)]), 1.0).astype(np.float32)


class TrajectoryReplayBuffer:
    """At most `capacity` episodes, first in first out.

    Each episode is a dict of numpy arrays: `observations [T, state_dim]` float32 (raw), `actions` (`[T, act_dim]`
    float32 or `[T]` int64), `rewards [T]` float32, `returns_to_go [T]` float32 (relabelled, see the module
    docstring), and `terminated` (bool: the episode ended in a terminal state rather than being cut).
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 episodes, got {capacity}")
        self.capacity = capacity
        self.episodes: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.episodes)

    def add_best(self, store: TrajectoryStore, n: int | None = None) -> None:
        """Add the `n` (default: `capacity`) episodes of `store` with the highest returns, in increasing order of
        return, so that the worst of them are the first to leave once rollouts come in (of equal returns, the later
        dataset episode leaves first)."""
        n = self.capacity if n is None else n
        returns = store.episode_returns.numpy()
        best = np.argsort(-returns, kind="stable")[:n][::-1]
        episodes = []
        for e in best:
            start, length = int(store.episode_starts[e]), int(store.episode_lengths[e])
            steps = slice(start, start + length)
            episodes.append(
                {
                    "observations": store.observations[steps].numpy(),
                    "actions": store.actions[steps].numpy(),
                    "rewards": store.rewards[steps].numpy(),
                    "terminated": bool(store.terminals[start + length - 1]),
                }
            )
        self.add(episodes)

    def add(self, episodes: Iterable[Mapping[str, Any]]) -> None:
        """Append episodes (oldest out beyond `capacity`), their returns-to-go relabelled with the achieved returns;
        any `returns_to_go` they carry (the conditioning ones) is discarded."""
        for episode in episodes:
            rewards = np.asarray(episode["rewards"], dtype=np.float32)
            observations = np.asarray(episode["observations"], dtype=np.float32)
            actions = np.asarray(episode["actions"])
            if not len(rewards) == len(observations) == len(actions) > 0:
                raise ValueError(
                    f"an episode needs as many observations, actions and rewards (> 0), got {len(observations)}, "
                    f"{len(actions)} and {len(rewards)}"
                )
            stored = {
                "observations": observations,
                "actions": actions.astype(np.int64 if actions.dtype.kind in "iu" else np.float32),
                "rewards": rewards,
                "returns_to_go": hindsight_returns_to_go(rewards),
                "terminated": bool(episode.get("terminated", False)),
            }
            self.episodes.append(stored)
        del self.episodes[: max(len(self.episodes) - self.capacity, 0)]

    def to_store(self, max_ep_len: int | None = None) -> TrajectoryStore:
        """The buffer's episodes as one `TrajectoryStore` (timesteps clamped to `max_ep_len − 1`, as an agent's
        context clamps them), ready for `DecisionWindows` and `DecisionCollator`."""
        if not self.episodes:
            raise ValueError("the trajectory replay buffer is empty")
        lengths = np.array([len(e["rewards"]) for e in self.episodes], dtype=np.int64)
        timesteps = np.concatenate([np.arange(n) for n in lengths])
        if max_ep_len is not None:
            timesteps = np.minimum(timesteps, max_ep_len - 1)
        ends = np.cumsum(lengths) - 1
        terminals = np.zeros(lengths.sum(), dtype=bool)
        terminals[ends] = [e["terminated"] for e in self.episodes]
        timeouts = np.zeros_like(terminals)
        timeouts[ends] = ~terminals[ends]
        rewards = np.concatenate([e["rewards"] for e in self.episodes])
        return TrajectoryStore(
            observations=torch.from_numpy(np.concatenate([e["observations"] for e in self.episodes])),
            actions=torch.from_numpy(np.concatenate([e["actions"] for e in self.episodes])),
            rewards=torch.from_numpy(rewards),
            returns_to_go=torch.from_numpy(np.concatenate([e["returns_to_go"] for e in self.episodes])),
            timesteps=torch.from_numpy(timesteps.astype(np.int64)),
            terminals=torch.from_numpy(terminals),
            timeouts=torch.from_numpy(timeouts),
            episode_starts=torch.from_numpy(np.cumsum(lengths) - lengths),
            episode_lengths=torch.from_numpy(lengths),
            episode_returns=torch.from_numpy(np.add.reduceat(rewards.astype(np.float64), ends - lengths + 1)).float(),
            episode_of_step=torch.from_numpy(np.repeat(np.arange(len(lengths)), lengths)),
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """The episodes as flat arrays plus their lengths (for `np.savez`); restored by `load_state_dict`."""
        flat = {name: np.concatenate([e[name] for e in self.episodes] or [np.zeros(0)]) for name in EPISODE_ARRAYS}
        meta = {"capacity": self.capacity}
        return flat | {
            "lengths": np.array([len(e["rewards"]) for e in self.episodes], dtype=np.int64),
            "terminated": np.array([e["terminated"] for e in self.episodes], dtype=bool),
            "state": np.array(json.dumps(meta)),
        }

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        lengths = np.asarray(state["lengths"])
        if len(lengths) > self.capacity:
            raise ValueError(f"the saved buffer holds {len(lengths)} episodes, more than capacity={self.capacity}")
        splits = np.cumsum(lengths)[:-1]
        arrays = {name: np.split(np.asarray(state[name]), splits) for name in EPISODE_ARRAYS}
        self.episodes = [
            {
                "observations": arrays["observations"][i],
                "actions": arrays["actions"][i],
                "rewards": arrays["rewards"][i],
                "returns_to_go": hindsight_returns_to_go(arrays["rewards"][i]),
                "terminated": bool(state["terminated"][i]),
            }
            for i in range(len(lengths))
        ]
