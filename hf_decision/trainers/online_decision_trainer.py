"""Online fine-tuning of a Decision Transformer (Online DT, Zheng, Zhang, Grover 2022) in the DT trainer's loop.

    buffer ← the best offline episodes                         (TrajectoryReplayBuffer.add_best)
    repeat:
        roll out π_θ (sampled) at the exploration target return  g_online
        relabel the rollouts' returns-to-go with the returns they achieved, add them, oldest out
        take `gradient_steps_per_round` gradient steps of `NLL − λ·H` on K-step windows sampled from the buffer

The collection runs in the training process as the data loader's source (`OnlineDecisionRollouts`), so the policy
that explores is the one being trained, and the source's state rides in checkpoints (see `OnlineSourceMixin`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import IterableDataset
from transformers import TrainerCallback

from hf_decision.agents import DecisionTransformerAgent
from hf_decision.data import DecisionCollator, DecisionWindows, TrajectoryReplayBuffer, TrajectoryStore
from hf_decision.evaluation import rollout
from hf_decision.models.decision_transformer import DecisionTransformerModel
from hf_decision.trainers.decision_trainer import DecisionTransformerTrainer
from hf_decision.trainers.online import OnlineSourceMixin
from hf_decision.trainers.online_decision_config import OnlineDecisionTransformerConfig


class OnlineDecisionRollouts(IterableDataset):
    """The Online DT's data: rounds of rollouts into a `TrajectoryReplayBuffer`, then batches of windows from it.

    A round resets its episodes with seeds `seed + e` (e counts the episodes collected so far) and samples actions
    with a generator seeded `seed + round`; windows are drawn (uniformly over steps, each step starting a window as
    in the original DT) with a numpy generator seeded `seed`. So the buffer, the counters and that generator's state
    are the whole state of the source (`state_dict`), and a run resumed from them collects and samples exactly what
    the uninterrupted run did. Items are `DecisionCollator` batches (the model's `forward` keyword arguments).
    """

    def __init__(
        self,
        get_model: Callable[[], DecisionTransformerModel],
        env_id: str,
        buffer: TrajectoryReplayBuffer,
        batch_size: int,
        num_envs: int = 1,
        episodes_per_round: int = 1,
        gradient_steps_per_round: int = 300,
        exploration_target_return: float = 0.0,
        seed: int = 0,
        on_episodes: Callable[[np.ndarray], None] | None = None,
    ):
        self.get_model, self.env_id, self.buffer = get_model, env_id, buffer
        self.batch_size, self.num_envs = batch_size, num_envs
        self.episodes_per_round, self.gradient_steps_per_round = episodes_per_round, gradient_steps_per_round
        self.exploration_target_return, self.seed, self.on_episodes = exploration_target_return, seed, on_episodes
        self.rounds = self.episodes = self.env_steps = 0
        self.batches_in_round = gradient_steps_per_round  # a complete round: the next batch starts a new one
        self.rng = np.random.default_rng(seed)
        self._views: tuple[int, DecisionWindows, DecisionCollator] | None = None

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            if self.batches_in_round >= self.gradient_steps_per_round:
                self.collect()
                self.batches_in_round = 0
            windows, collator = self.views()
            while self.batches_in_round < self.gradient_steps_per_round:
                starts = windows.starts[torch.from_numpy(self.rng.integers(len(windows), size=self.batch_size))]
                self.batches_in_round += 1
                yield collator(starts)

    def collect(self) -> dict[str, Any]:
        """One round of rollouts of the sampled policy, relabelled and added to the buffer."""
        model, round_index = self.get_model(), self.rounds
        was_training = model.training
        result = rollout(
            lambda n: DecisionTransformerAgent(
                model, self.exploration_target_return, num_envs=n, sample=True, seed=self.seed + round_index
            ),
            self.env_id,
            n_episodes=self.episodes_per_round,
            num_envs=self.num_envs,
            seed=self.seed + self.episodes,
            record=True,
        )
        model.train(was_training)
        self.buffer.add(result["episodes"])
        self.rounds += 1
        self.episodes += self.episodes_per_round
        self.env_steps += int(result["lengths"].sum())
        if self.on_episodes is not None:
            self.on_episodes(result["returns"])
        return result

    def views(self) -> tuple[DecisionWindows, DecisionCollator]:
        """Windows and collator over the buffer as it is after round `rounds` (built once per round)."""
        if self._views is None or self._views[0] != self.rounds:
            config = self.get_model().config
            store = self.buffer.to_store(config.max_ep_len)
            windows = DecisionWindows(store, config.context_length, sampling="length")
            collator = DecisionCollator(
                store, config.context_length, config.return_scale, config.state_mean, config.state_std
            )
            self._views = (self.rounds, windows, collator)
        return self._views[1], self._views[2]

    def state_dict(self) -> dict[str, Any]:
        counters = ("rounds", "episodes", "env_steps", "batches_in_round")
        return {name: getattr(self, name) for name in counters} | {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("rounds", "episodes", "env_steps", "batches_in_round"):
            setattr(self, name, int(state[name]))
        self.rng.bit_generator.state = state["rng"]
        self._views = None


class OnlineDecisionTransformerTrainer(OnlineSourceMixin, DecisionTransformerTrainer):
    """Fine-tune an offline-trained stochastic Decision Transformer online (see the module docstring).

    `train_dataset` is the offline data (an episode dataset or `TrajectoryStore`): its best `args.replay_size`
    episodes fill the replay buffer, and its statistics fill a config that has none. The model must have
    `config.stochastic_policy` (train it offline with it, as ODT does): the policy explores by sampling, and its
    loss is `NLL − λ·H` with λ learned against the target entropy. `action_nll`, `action_entropy`, `temperature`,
    `episode_return` (the rollouts') and `env_steps` are logged next to `loss`; the replay buffer and the collector's
    counters and generator go into every checkpoint, so a resumed run repeats the uninterrupted one.
    """

    def __init__(
        self,
        model: DecisionTransformerModel,
        args: OnlineDecisionTransformerConfig,
        train_dataset: Dataset | TrajectoryStore,
        callbacks: list[TrainerCallback] | None = None,
        **kwargs,
    ):
        config = model.config
        if not config.stochastic_policy:
            raise ValueError(
                "online fine-tuning needs a stochastic policy: train the Decision Transformer offline with "
                "stochastic_policy=True (as the Online DT does), then fine-tune that checkpoint"
            )
        env_id = args.env_id or config.env_id
        if env_id is None:
            raise ValueError("online fine-tuning needs an environment: set args.env_id or the model config's env_id")
        config.env_id = env_id
        super().__init__(model, args, train_dataset, callbacks=callbacks, **kwargs)
        target = args.exploration_target_return
        if target is None:
            target = 2.0 * config.target_returns[0]
        buffer = TrajectoryReplayBuffer(args.replay_size)
        buffer.add_best(self.store)
        self.online_source = OnlineDecisionRollouts(
            lambda: self.model,
            env_id,
            buffer,
            batch_size=args.per_device_train_batch_size,
            num_envs=args.num_envs,
            episodes_per_round=args.episodes_per_round,
            gradient_steps_per_round=args.gradient_steps_per_round,
            exploration_target_return=float(target),
            seed=args.seed + 1000 * args.process_index,
            on_episodes=lambda returns: self.record_metrics(episode_return=float(np.mean(returns))),
        )


__all__ = ["OnlineDecisionRollouts", "OnlineDecisionTransformerConfig", "OnlineDecisionTransformerTrainer"]
