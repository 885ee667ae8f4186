"""The REINFORCE trainer: the loss of `objectives.policy_gradient` on episodes sampled from the current policy."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from transformers import TrainerCallback

from hf_decision.models.policy import PolicyModel
from hf_decision.objectives.policy_gradient import policy_gradient_weights, reinforce_loss
from hf_decision.trainers.base import RLTrainer
from hf_decision.trainers.callbacks import EnvironmentEvaluationCallback
from hf_decision.trainers.online import OnlineSourceMixin, OnPolicyEpisodes
from hf_decision.trainers.reinforce_config import ReinforceConfig


class ReinforceTrainer(OnlineSourceMixin, RLTrainer):
    """Train a `PolicyModel` with REINFORCE: each gradient step samples `episodes_per_batch` episodes from the current
    policy in `args.env_id` and minimizes `−1/N Σ_i Σ_h w_{i,h} log π_θ(a_{i,h}|s_{i,h})` with `w = R(τ_i)` or the
    reward-to-go, minus the chosen baseline; plus `−entropy_coef · H(π)` and, with a learned baseline,
    `value_coef · (V(s) − G)²`. The parts are logged next to the loss, with the episodes' mean return.
    """

    def __init__(
        self,
        model: PolicyModel,
        args: ReinforceConfig,
        callbacks: list[TrainerCallback] | None = None,
        **kwargs,
    ):
        if args.baseline == "learned" and not model.config.value_head:
            raise ValueError("baseline='learned' needs a policy with a value head (PolicyConfig(value_head=True))")
        callbacks = list(callbacks or [])
        if args.eval_env_steps > 0:
            callbacks.append(EnvironmentEvaluationCallback(args, trainer=self))
        model.config.env_id = model.config.env_id or args.env_id
        self.online_source = OnPolicyEpisodes(
            lambda: self.model,
            args.env_id,
            args.num_envs,
            args.episodes_per_batch,
            seed=args.seed + 1000 * args.process_index,
            on_episodes=lambda returns: self.record_metrics(episode_return=float(np.mean(returns))),
        )
        super().__init__(model=model, args=args, train_dataset=self.online_source, callbacks=callbacks, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.args
        outputs = model(inputs["observations"], inputs["actions"])
        weights, returns = policy_gradient_weights(
            inputs["rewards"],
            inputs["episode_index"],
            inputs["timesteps"],
            args.gamma,
            reward_to_go=args.reward_to_go,
            baseline=args.baseline,
            values=outputs.values,
        )
        pg_loss = reinforce_loss(outputs.log_prob, weights, inputs["num_episodes"])
        entropy = outputs.entropy.mean()
        loss = pg_loss - args.entropy_coef * entropy
        parts = {"pg_loss": pg_loss, "entropy": entropy}
        if args.baseline == "learned":
            parts["value_loss"] = F.mse_loss(outputs.values.float(), returns)
            loss = loss + args.value_coef * parts["value_loss"]
        self.record_loss_parts(**parts)
        return (loss, outputs) if return_outputs else loss


PolicyGradientTrainer = ReinforceTrainer  # its former name

__all__ = ["ReinforceConfig", "ReinforceTrainer"]
