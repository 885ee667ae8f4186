"""The DQN trainer: the TD loss of `objectives.td` with a target network, offline or online."""

from __future__ import annotations

import copy
import os

import numpy as np
import torch
from datasets import Dataset
from safetensors.torch import load_file, save_file
from transformers import TrainerCallback

from hf_decision.data import TrajectoryStore, Transitions
from hf_decision.models.q_network import QNetworkModel
from hf_decision.objectives.td import td_loss, td_target
from hf_decision.trainers.base import RLTrainer
from hf_decision.trainers.callbacks import EnvironmentEvaluationCallback
from hf_decision.trainers.dqn_config import DQNConfig
from hf_decision.trainers.online import EpsilonGreedyReplay, OnlineSourceMixin, ReplayBuffer, linear_schedule

TARGET_NETWORK_FILE = "target_network.safetensors"


class DQNTrainer(OnlineSourceMixin, RLTrainer):
    """Train a `QNetworkModel` on `1/N Σ [Q_θ(s,a) − r − γ(1−done) max_a' Q_θ'(s',a')]²` (see `objectives.td`).

    Offline, `train_dataset` (an episode dataset or `TrajectoryStore` with discrete actions) is read through its
    transition view; its observation statistics go into the model config when it has none. Online (no dataset),
    batches come from a replay buffer filled by ε-greedy collection with the current network in `args.env_id`
    (`EpsilonGreedyReplay`). The target network θ' is updated every `args.target_update_interval` gradient steps
    (a copy, or Polyak averaging with `args.tau < 1`); it is saved in checkpoints with the replay buffer.
    """

    def __init__(
        self,
        model: QNetworkModel,
        args: DQNConfig,
        train_dataset: Dataset | TrajectoryStore | None = None,
        callbacks: list[TrainerCallback] | None = None,
        **kwargs,
    ):
        config = model.config
        callbacks = list(callbacks or []) + [TargetNetworkUpdate(self)]
        if args.eval_env_steps > 0:
            callbacks.append(EnvironmentEvaluationCallback(args, trainer=self))
        config.env_id = config.env_id or args.env_id
        if train_dataset is None:
            if args.env_id is None:
                raise ValueError("give a train_dataset (offline DQN) or args.env_id to collect in (online DQN)")
            if args.max_steps <= 0 or args.dataloader_num_workers:
                raise ValueError(
                    "online DQN needs max_steps > 0 (the replay stream has no epochs) and dataloader_num_workers=0 "
                    f"(it collects in the training process), got {args.max_steps} and {args.dataloader_num_workers}"
                )
            self.online_source = self._online_source(model, args)
            data, collator = self.online_source, None
        else:
            store = (
                train_dataset
                if isinstance(train_dataset, TrajectoryStore)
                else TrajectoryStore.from_dataset(train_dataset)
            )
            if not store.discrete:
                raise ValueError("DQN needs discrete actions: the dataset's actions are continuous")
            if store.state_dim != config.state_dim or store.act_dim > config.act_dim:
                raise ValueError(
                    f"the dataset has state_dim={store.state_dim} and {store.act_dim} actions, the model config "
                    f"state_dim={config.state_dim} and act_dim={config.act_dim}"
                )
            if config.state_mean is None and config.state_std is None:
                stats = store.statistics()
                config.state_mean, config.state_std = stats["state_mean"], stats["state_std"]
                model.normalize.set_statistics(config)
            data = Transitions(store)
            collator = data.collate
        super().__init__(
            model=model, args=args, train_dataset=data, data_collator=collator, callbacks=callbacks, **kwargs
        )
        self.target_model = copy.deepcopy(self.model).requires_grad_(False).eval()

    def _online_source(self, model: QNetworkModel, args: DQNConfig) -> EpsilonGreedyReplay:
        seed = args.seed + 1000 * args.process_index
        decay = int(args.exploration_fraction * args.total_env_steps)
        return EpsilonGreedyReplay(
            lambda: self.model,
            args.env_id,
            args.num_envs,
            ReplayBuffer(args.buffer_size, model.config.state_dim, seed=seed),
            batch_size=args.per_device_train_batch_size,
            learning_starts=args.learning_starts,
            train_frequency=args.train_frequency,
            gradient_steps=args.gradient_steps,
            epsilon=linear_schedule(args.exploration_initial_eps, args.exploration_final_eps, decay),
            seed=seed,
            on_episodes=lambda returns: self.record_metrics(episode_return=float(np.mean(returns))),
        )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The TD loss of the batch's transitions against the target network's bootstrap."""
        args = self.args
        outputs = model(inputs["observations"], inputs["actions"])
        with torch.no_grad():
            next_q_target = self.target_model(inputs["next_observations"]).q_values
            next_q_online = model(inputs["next_observations"]).q_values if args.double_dqn else None
        targets = td_target(inputs["rewards"], inputs["dones"], next_q_target, args.gamma, next_q_online)
        loss = td_loss(outputs.action_values, targets, args.td_loss, args.huber_delta)
        self.record_loss_parts(q_value=outputs.action_values.mean())
        return (loss, outputs) if return_outputs else loss

    @torch.no_grad()
    def update_target_network(self) -> None:
        """θ' ← τ·θ + (1 − τ)·θ' (τ = 1: a copy of θ)."""
        online = self.accelerator.unwrap_model(self.model).state_dict()
        for name, target in self.target_model.state_dict().items():
            if self.args.tau < 1:
                target.lerp_(online[name], self.args.tau)
            else:
                target.copy_(online[name])

    def save_extra_state(self, folder: str) -> None:
        super().save_extra_state(folder)
        state = {name: t.detach().cpu().contiguous() for name, t in self.target_model.state_dict().items()}
        save_file(state, os.path.join(folder, TARGET_NETWORK_FILE))

    def load_extra_state(self, folder: str) -> None:
        super().load_extra_state(folder)
        self.target_model.load_state_dict(load_file(os.path.join(folder, TARGET_NETWORK_FILE)))


class TargetNetworkUpdate(TrainerCallback):
    """Calls `trainer.update_target_network()` after every `target_update_interval`-th optimizer step."""

    def __init__(self, trainer: DQNTrainer):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % args.target_update_interval == 0:
            self.trainer.update_target_network()


__all__ = ["DQNConfig", "DQNTrainer"]
