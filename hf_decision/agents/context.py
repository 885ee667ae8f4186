"""The per-environment context a Decision Transformer acts from, kept in the model's conventions.

`DecisionContext` holds, for each of `num_envs` environments, the last K steps in model space: normalized states,
returns-to-go divided by `return_scale`, timesteps from the episode start, and left padding (see the conventions of
`hf_decision.models.decision_transformer`). Return-to-go bookkeeping is the one training uses: the first step gets
`target_return`, and after each reward r the next step gets `R̂ − r` (all divided by `return_scale`), exactly the
difference between consecutive returns-to-go of a dataset episode.

It is the whole of a DT agent but the forward pass, so that every way of running the network (eager torch,
onnxruntime) acts from the same bookkeeping:

    inputs = context.add_observations(observations)   # forward's keyword arguments, [num_envs, K, ...]
    actions = context.add_actions(action_preds)       # the newest step's predictions → chosen actions
    context.observe(rewards, dones)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hf_decision.models.decision_transformer import DecisionTransformerConfig


def default_target_return(
    config: DecisionTransformerConfig, target_return: float | Sequence[float] | None
) -> float | Sequence[float]:
    """`target_return`, or when None the config's first `target_returns` (0 for a model not conditioned on returns)."""
    if target_return is not None:
        return target_return
    if not config.condition_on_returns:
        return 0.0  # behaviour cloning: the return token carries only its timestep, its value is unread
    if not config.target_returns:
        raise ValueError("target_return is required: the model config stores no target_returns")
    return config.target_returns[0]


class DecisionContext:
    """Left-padded K-step windows, one per environment, in model space; buffers live on `device`.

    Args:
        config: the Decision Transformer's config (K, state statistics, return scale, action space, max_ep_len).
        target_return: unscaled return to condition on, one for all environments or one per environment;
            defaults to the first of `config.target_returns`.
        num_envs: number of environments.
        device: where the buffers live (the model's device).
    """

    def __init__(
        self,
        config: DecisionTransformerConfig,
        target_return: float | Sequence[float] | None = None,
        num_envs: int = 1,
        device: str | torch.device = "cpu",
    ):
        self.config = config
        self.target_return = default_target_return(config, target_return)
        self.num_envs = num_envs
        self.device = torch.device(device)
        targets = torch.as_tensor(self.target_return, dtype=torch.float32).reshape(-1)
        if len(targets) not in (1, num_envs):
            raise ValueError(
                f"target_return must be one number or one per environment ({num_envs}), got {len(targets)}"
            )
        if not torch.isfinite(targets).all():
            raise ValueError(f"target_return must be finite, got {self.target_return}")
        targets = targets.expand(num_envs)
        self.target = targets.to(self.device) / config.return_scale
        k, self.discrete = config.context_length, config.action_space == "discrete"
        self.states = torch.zeros(num_envs, k, config.state_dim, device=self.device)
        if self.discrete:
            self.actions = torch.zeros(num_envs, k, dtype=torch.long, device=self.device)
        else:
            self.actions = torch.zeros(num_envs, k, config.act_dim, device=self.device)
        self.returns_to_go = torch.zeros(num_envs, k, 1, device=self.device)
        self.timesteps = torch.zeros(num_envs, k, dtype=torch.long, device=self.device)
        self.mask = torch.zeros(num_envs, k, dtype=torch.long, device=self.device)
        self.next_timestep = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.next_return = self.target.clone()
        mean = config.state_mean if config.state_mean is not None else [0.0] * config.state_dim
        std = config.state_std if config.state_std is not None else [1.0] * config.state_dim
        self.state_mean = torch.tensor(mean, device=self.device)
        self.state_std = torch.tensor(std, device=self.device)

    def reset(self, env_indices: Sequence[int] | np.ndarray | torch.Tensor | None = None) -> None:
        """Forget the context of the given environments (all by default): their next step starts an episode."""
        index = slice(None) if env_indices is None else torch.as_tensor(env_indices, device=self.device)
        self.mask[index] = 0
        self.states[index] = 0
        self.actions[index] = 0
        self.returns_to_go[index] = 0
        self.timesteps[index] = 0
        self.next_timestep[index] = 0
        self.next_return[index] = self.target[index]

    def add_observations(self, observations: np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        """Append a step per environment (the normalized observation, a placeholder action, the return-to-go and
        timestep), dropping the oldest; return the windows as the model's `forward` keyword arguments.

        `observations` are raw, `[num_envs, state_dim]` (or `[state_dim]` with one environment).
        """
        obs = torch.as_tensor(np.asarray(observations), dtype=torch.float32, device=self.device)
        obs = obs.reshape(self.num_envs, -1)
        for buffer in (self.states, self.actions, self.returns_to_go, self.timesteps, self.mask):
            buffer.copy_(buffer.roll(-1, dims=1))
        self.states[:, -1] = (obs - self.state_mean) / self.state_std
        self.actions[:, -1] = 0
        self.returns_to_go[:, -1, 0] = self.next_return
        self.timesteps[:, -1] = self.next_timestep.clamp(max=self.config.max_ep_len - 1)
        self.mask[:, -1] = 1
        self.next_timestep += 1
        return {
            "states": self.states,
            "actions": self.actions,
            "returns_to_go": self.returns_to_go,
            "timesteps": self.timesteps,
            "attention_mask": self.mask,
        }

    def add_actions(self, action_preds: torch.Tensor, actions: torch.Tensor | None = None) -> np.ndarray:
        """Choose the newest step's actions from its predictions (`[num_envs, act_dim]`: the greedy index when
        discrete, the prediction itself when continuous), or take `actions` when given (sampled from a stochastic
        policy), write them into the context and return them."""
        if actions is not None:
            action = actions.long() if self.discrete else actions.float()
        else:
            action = action_preds.argmax(dim=-1) if self.discrete else action_preds.float()
        self.actions[:, -1] = action.to(self.device)
        return action.cpu().numpy()

    def observe(self, rewards: np.ndarray | Sequence[float], dones: np.ndarray | Sequence[bool] | None = None) -> None:
        """Account for the rewards of the last actions; environments flagged done start a new episode next."""
        rewards = np.asarray(rewards, dtype=np.float32)
        if rewards.size != self.num_envs or not np.isfinite(rewards).all():
            raise ValueError(f"rewards must be {self.num_envs} finite numbers (one per environment), got {rewards}")
        rewards = torch.as_tensor(rewards, device=self.device).reshape(self.num_envs)
        self.next_return = self.returns_to_go[:, -1, 0] - rewards / self.config.return_scale
        if dones is not None and np.any(dones):
            self.reset(np.flatnonzero(np.asarray(dones)))
