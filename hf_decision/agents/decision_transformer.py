"""Acting with a Decision Transformer in one or many environments at once.

The agent keeps, per environment, the last K steps of context in the model's conventions: normalized states,
returns-to-go divided by `return_scale`, timesteps from the episode start, and left padding. Return-to-go
bookkeeping is the one training uses: the first step gets `target_return`, and after each reward r the next step gets
`R̂ − r` (all divided by `return_scale`), exactly the difference between consecutive returns-to-go of a dataset episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
import torch

from hf_decision.agents.base import Agent
from hf_decision.models.decision_transformer import DecisionTransformerModel


class DecisionTransformerAgent(Agent):
    """A batched Decision Transformer policy with per-environment context.

    Use it step by step with `act(observations)` → actions, then `observe(rewards, dones)` after the environment
    step (a done environment starts a new episode on the next `act`). For a single environment,
    `act(observation, last_reward)` is also accepted: `last_reward` is the reward of the previous action.

    Args:
        model: the Decision Transformer.
        target_return: unscaled return to condition on; defaults to the first of `model.config.target_returns`.
        num_envs: number of environments acted in at once.
        device: where the model runs (default: the model's device).
    """

    model_class = DecisionTransformerModel

    def __init__(
        self,
        model: DecisionTransformerModel,
        target_return: float | Sequence[float] | None = None,
        num_envs: int = 1,
        device: str | torch.device | None = None,
    ):
        config = model.config
        if target_return is None and not config.condition_on_returns:
            target_return = 0.0  # behaviour cloning: the return token carries only its timestep, its value is unread
        if target_return is None:
            if not config.target_returns:
                raise ValueError("target_return is required: the model config stores no target_returns")
            target_return = config.target_returns[0]
        self.model = model.eval() if device is None else model.to(device).eval()
        self.device = next(model.parameters()).device
        self.num_envs = num_envs
        self.name = f"decision-transformer(target_return={target_return})"
        targets = torch.as_tensor(target_return, dtype=torch.float32).reshape(-1).expand(num_envs)
        self.target = targets.to(self.device) / config.return_scale
        k, discrete = config.context_length, config.action_space == "discrete"
        self.states = torch.zeros(num_envs, k, config.state_dim, device=self.device)
        self.actions = torch.zeros((num_envs, k) if discrete else (num_envs, k, config.act_dim), device=self.device)
        self.actions = self.actions.long() if discrete else self.actions
        self.returns_to_go = torch.zeros(num_envs, k, 1, device=self.device)
        self.timesteps = torch.zeros(num_envs, k, dtype=torch.long, device=self.device)
        self.mask = torch.zeros(num_envs, k, dtype=torch.long, device=self.device)
        self.next_timestep = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.next_return = self.target.clone()
        mean = config.state_mean if config.state_mean is not None else [0.0] * config.state_dim
        std = config.state_std if config.state_std is not None else [1.0] * config.state_dim
        self.state_mean = torch.tensor(mean, device=self.device)
        self.state_std = torch.tensor(std, device=self.device)

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_dir: str | PathLike,
        target_return: float | Sequence[float] | None = None,
        num_envs: int = 1,
        device: str | torch.device | None = None,
        **kwargs,
    ) -> DecisionTransformerAgent:
        """Load a Decision Transformer checkpoint (Hub id or folder) and wrap it; `kwargs` go to `from_pretrained`."""
        model = DecisionTransformerModel.from_pretrained(repo_id_or_dir, **kwargs)
        return cls(model, target_return=target_return, num_envs=num_envs, device=device)

    @classmethod
    def evaluation_targets(
        cls, model: DecisionTransformerModel, target_return: float | Sequence[float] | None = None
    ) -> list[float] | None:
        """`target_return` (one or several), default the config's `target_returns`; None for a model trained without
        returns (BC), which acts the same whatever return it is asked for and is evaluated once."""
        if not model.config.condition_on_returns:
            return None
        targets = target_return if target_return is not None else model.config.target_returns
        if targets is None:
            raise ValueError("target_return is required: the model config stores no target_returns")
        return [float(t) for t in np.atleast_1d(targets)]

    def reset(self, env_indices: Sequence[int] | np.ndarray | torch.Tensor | None = None) -> None:
        """Forget the context of the given environments (all by default): their next `act` starts an episode."""
        index = slice(None) if env_indices is None else torch.as_tensor(env_indices, device=self.device)
        self.mask[index] = 0
        self.states[index] = 0
        self.actions[index] = 0
        self.returns_to_go[index] = 0
        self.timesteps[index] = 0
        self.next_timestep[index] = 0
        self.next_return[index] = self.target[index]

    @torch.inference_mode()
    def act(
        self, observations: np.ndarray | torch.Tensor, last_reward: float | np.ndarray | None = None
    ) -> np.ndarray:
        """Actions for the current observations (`[num_envs, state_dim]`, or `[state_dim]` with one environment)."""
        if last_reward is not None:
            self.observe(np.asarray(last_reward, dtype=np.float32).reshape(self.num_envs))
        unbatched = np.ndim(observations) == 1
        obs = torch.as_tensor(np.asarray(observations), dtype=torch.float32, device=self.device)
        obs = obs.reshape(self.num_envs, -1)
        self._push((obs - self.state_mean) / self.state_std)
        action_preds = self.model(
            states=self.states,
            actions=self.actions,
            returns_to_go=self.returns_to_go,
            timesteps=self.timesteps,
            attention_mask=self.mask,
            state_tokens_only=True,
        ).action_preds[:, -1]
        if self.model.config.action_space == "discrete":
            action = action_preds.argmax(dim=-1)
        else:
            action = action_preds.float()
        self.actions[:, -1] = action
        out = action.cpu().numpy()
        return out[0] if unbatched else out

    def observe(self, rewards: np.ndarray | Sequence[float], dones: np.ndarray | Sequence[bool] | None = None) -> None:
        """Account for the rewards of the last actions; environments flagged done start a new episode next."""
        rewards = torch.as_tensor(np.asarray(rewards, dtype=np.float32), device=self.device).reshape(self.num_envs)
        self.next_return = self.returns_to_go[:, -1, 0] - rewards / self.model.config.return_scale
        if dones is not None and np.any(dones):
            self.reset(np.flatnonzero(np.asarray(dones)))

    def _push(self, states: torch.Tensor) -> None:
        """Append a step (state, placeholder action, return-to-go, timestep) to every context; drop the oldest."""
        for buffer in (self.states, self.actions, self.returns_to_go, self.timesteps, self.mask):
            buffer.copy_(buffer.roll(-1, dims=1))
        self.states[:, -1] = states
        self.actions[:, -1] = 0
        self.returns_to_go[:, -1, 0] = self.next_return
        self.timesteps[:, -1] = self.next_timestep.clamp(max=self.model.config.max_ep_len - 1)
        self.mask[:, -1] = 1
        self.next_timestep += 1
