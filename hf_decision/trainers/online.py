"""Data from the latest policy, served to a `Trainer` as an iterable dataset of ready batches.

- `ReplayBuffer` + `EpsilonGreedyReplay` (online DQN): every round, ε-greedy actions of the current Q-network step
  a gymnasium vector env for `train_frequency` env steps into the buffer, then `gradient_steps` uniform batches are
  drawn from it.
- `OnPolicyEpisodes` (REINFORCE): every batch is `episodes_per_batch` whole episodes sampled from the current policy.
- `OnlineDecisionRollouts` (Online DT, in `online_decision_trainer.py`): rounds of rollouts into a trajectory replay
  buffer, then K-step windows sampled from it.

The sources run in the training process (no data-loader workers), so the model they act with is the one being
trained. `OnlineSourceMixin` gives a trainer the data loader, `env_steps` in its logs and the sources' state in
its checkpoints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from hf_decision.agents import PolicyAgent, QNetworkAgent
from hf_decision.data.collators import collate_episodes
from hf_decision.data.replay_buffer import ReplayBuffer
from hf_decision.evaluation import rollout

ONLINE_STATE_FILE = "online_state.json"
REPLAY_BUFFER_FILE = "replay_buffer.npz"


def linear_schedule(start: float, end: float, duration: int) -> Callable[[int], float]:
    """`start` → `end` linearly over `duration` steps, then `end`."""
    return lambda step: end if step >= duration else start + (end - start) * step / max(duration, 1)


class EpsilonGreedyReplay(IterableDataset):
    """Online DQN data: ε-greedy collection from the current Q-network into a replay buffer, then sampled batches.

    The first `learning_starts` env steps are uniformly random. After that each round steps the vector env
    `ceil(train_frequency / num_envs)` times with ε = `epsilon(env_steps)` and yields `gradient_steps` batches.
    Time-limit truncations are stored with `done = 0` (they bootstrap), terminations with `done = 1`; `s'` is the
    true last observation of an episode (the vector env resets in the same step).
    """

    def __init__(
        self,
        get_model: Callable[[], Any],
        env_id: str,
        num_envs: int,
        buffer: ReplayBuffer,
        batch_size: int,
        learning_starts: int,
        train_frequency: int,
        gradient_steps: int,
        epsilon: Callable[[int], float],
        seed: int = 0,
        on_episodes: Callable[[np.ndarray], None] | None = None,
    ):
        self.get_model = get_model
        self.env_id, self.num_envs, self.buffer = env_id, num_envs, buffer
        self.batch_size, self.learning_starts = batch_size, learning_starts
        self.train_frequency, self.gradient_steps = train_frequency, gradient_steps
        self.epsilon, self.seed, self.on_episodes = epsilon, seed, on_episodes
        self.env_steps = 0
        self.rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        envs = gym.wrappers.vector.RecordEpisodeStatistics(
            gym.make_vec(
                self.env_id,
                num_envs=self.num_envs,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
            )
        )
        try:
            n_actions, q_actions = int(envs.single_action_space.n), self.get_model().config.act_dim
            if n_actions != q_actions:
                raise ValueError(f"{self.env_id} has {n_actions} actions, the Q-network {q_actions}")
            observations, _ = envs.reset(seed=self.seed + self.env_steps)
            while len(self.buffer) < self.learning_starts:
                observations = self._step(envs, observations, epsilon=1.0)
            while True:
                for _ in range(-(-self.train_frequency // self.num_envs)):
                    observations = self._step(envs, observations, self.epsilon(self.env_steps))
                for _ in range(self.gradient_steps):
                    yield self.buffer.sample(self.batch_size)
        finally:
            envs.close()

    def _step(self, envs: gym.vector.VectorEnv, observations: np.ndarray, epsilon: float) -> np.ndarray:
        model = self.get_model()
        was_training = model.training
        actions = QNetworkAgent(model, self.num_envs, epsilon=epsilon, rng=self.rng).act(observations)
        model.train(was_training)
        next_observations, rewards, terminated, truncated, info = envs.step(actions)
        ended = terminated | truncated
        final = next_observations.copy()
        if ended.any():
            for i in np.flatnonzero(ended):
                final[i] = info["final_obs"][i]
            if self.on_episodes is not None:
                self.on_episodes(np.asarray(info["episode"]["r"])[ended])
        self.buffer.add(observations, actions, rewards, final, terminated.astype(np.float32))
        self.env_steps += self.num_envs
        return next_observations

    def state_dict(self) -> dict[str, Any]:
        return {"env_steps": self.env_steps, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env_steps = state["env_steps"]
        self.rng.bit_generator.state = state["rng"]


class OnPolicyEpisodes(IterableDataset):
    """REINFORCE data: each item is `episodes_per_batch` whole episodes sampled from the current policy.

    Batch `b` resets its episodes with seeds `seed + b·episodes_per_batch + j` and samples actions with a generator
    seeded `seed + b`. Items: `observations [T, state_dim]`, `actions`, `rewards [T]`, `episode_index [T]`,
    `timesteps [T]` and `num_episodes`.
    """

    def __init__(
        self,
        get_model: Callable[[], Any],
        env_id: str,
        num_envs: int,
        episodes_per_batch: int,
        seed: int = 0,
        on_episodes: Callable[[np.ndarray], None] | None = None,
    ):
        self.get_model = get_model
        self.env_id, self.num_envs, self.episodes_per_batch = env_id, num_envs, episodes_per_batch
        self.seed, self.on_episodes = seed, on_episodes
        self.batches = 0
        self.env_steps = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            model, batch = self.get_model(), self.batches
            was_training = model.training
            result = rollout(
                lambda n, model=model, batch=batch: PolicyAgent(model, n, deterministic=False, seed=self.seed + batch),
                self.env_id,
                n_episodes=self.episodes_per_batch,
                num_envs=self.num_envs,
                seed=self.seed + batch * self.episodes_per_batch,
                record=True,
            )
            model.train(was_training)
            self.batches += 1
            self.env_steps += int(result["lengths"].sum())
            if self.on_episodes is not None:
                self.on_episodes(result["returns"])
            yield collate_episodes(result["episodes"])

    def state_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "env_steps": self.env_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches, self.env_steps = state["batches"], state["env_steps"]


class OnlineSourceMixin:
    """For trainers whose `train_dataset` is an online source: a plain data loader (the source yields batches and
    must run in this process), `env_steps` in every log, and the source's state (and replay buffer) in checkpoints.
    """

    online_source: IterableDataset | None = None  # EpsilonGreedyReplay, OnPolicyEpisodes, OnlineDecisionRollouts

    def get_train_dataloader(self) -> DataLoader:
        """A plain loader with a generator of its own: a `DataLoader` iterator draws its base seed when it starts,
        from torch's global generator unless given one, and a resumed run starts it after restoring the checkpoint's
        generator state, where the uninterrupted run had started it before step 1."""
        if self.online_source is None:
            return super().get_train_dataloader()
        return DataLoader(self.online_source, batch_size=None, num_workers=0, generator=torch.Generator())

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        """On resume an online source continues from its checkpointed state: transformers' skip of the batches
        already trained on (`ignore_data_skip=False`) would collect them again, so it is switched off."""
        if self.online_source is not None and not self.args.ignore_data_skip:
            self.args.ignore_data_skip = True
        return super().train(resume_from_checkpoint, *args, **kwargs)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.online_source is not None:
            logs["env_steps"] = self.online_source.env_steps
        super().log(logs, start_time)

    def save_extra_state(self, folder: str) -> None:
        super().save_extra_state(folder)
        if self.online_source is None:
            return
        with open(os.path.join(folder, ONLINE_STATE_FILE), "w") as f:
            json.dump(self.online_source.state_dict(), f)
        buffer = getattr(self.online_source, "buffer", None)
        if buffer is not None:
            np.savez(os.path.join(folder, REPLAY_BUFFER_FILE), **buffer.state_dict())

    def load_extra_state(self, folder: str) -> None:
        super().load_extra_state(folder)
        if self.online_source is None:
            return
        with open(os.path.join(folder, ONLINE_STATE_FILE)) as f:
            self.online_source.load_state_dict(json.load(f))
        buffer = getattr(self.online_source, "buffer", None)
        if buffer is not None:
            with np.load(os.path.join(folder, REPLAY_BUFFER_FILE)) as saved:
                buffer.load_state_dict(dict(saved))
