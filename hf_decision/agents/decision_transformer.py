"""Acting with a Decision Transformer in one or many environments at once.

The agent keeps, per environment, the last K steps of context in the model's conventions (normalized states,
returns-to-go divided by `return_scale`, timesteps from the episode start, left padding) in a `DecisionContext`, the
bookkeeping every DT agent shares (see `hf_decision.agents.context`); it adds the forward pass of the eager model.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
import torch

from hf_decision.agents.base import Agent
from hf_decision.agents.context import DecisionContext
from hf_decision.models.decision_transformer import DecisionTransformerModel
from hf_decision.models.decision_transformer.stochastic import sample_action


def _context_field(name: str) -> property:
    return property(lambda self: getattr(self.context, name), doc=f"The context's `{name}` (see `DecisionContext`).")


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
        sample: draw actions from a stochastic policy (`config.stochastic_policy`), as the Online DT explores,
            rather than act with its mean (continuous) or mode (discrete), the default.
        seed: seed of the generator the samples are drawn with.
    """

    model_class = DecisionTransformerModel

    def __init__(
        self,
        model: DecisionTransformerModel,
        target_return: float | Sequence[float] | None = None,
        num_envs: int = 1,
        device: str | torch.device | None = None,
        sample: bool = False,
        seed: int = 0,
    ):
        if sample and not model.config.stochastic_policy:
            raise ValueError("sample=True needs a stochastic policy (config.stochastic_policy); this DT is not one")
        self.model = model.eval() if device is None else model.to(device).eval()
        self.device = next(model.parameters()).device
        self.num_envs = num_envs
        self.context = DecisionContext(model.config, target_return, num_envs, self.device)
        self.sample = sample
        self.generator = torch.Generator(device=self.device).manual_seed(seed) if sample else None
        mode = ", sampled" if sample else ""
        self.name = f"decision-transformer(target_return={self.context.target_return}{mode})"

    states = _context_field("states")
    actions = _context_field("actions")
    returns_to_go = _context_field("returns_to_go")
    timesteps = _context_field("timesteps")
    mask = _context_field("mask")
    next_return = _context_field("next_return")

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
        self.context.reset(env_indices)

    @torch.inference_mode()
    def act(
        self, observations: np.ndarray | torch.Tensor, last_reward: float | np.ndarray | None = None
    ) -> np.ndarray:
        """Actions for the current observations (`[num_envs, state_dim]`, or `[state_dim]` with one environment)."""
        if last_reward is not None:
            self.observe(np.asarray(last_reward, dtype=np.float32).reshape(self.num_envs))
        obs, unbatched = self.check_observations(observations, self.model.config.state_dim)
        inputs = self.context.add_observations(obs)
        outputs = self.model(**inputs, state_tokens_only=True)
        chosen = None
        if self.sample:
            mean = outputs.action_preds if outputs.action_mean is None else outputs.action_mean
            log_std = None if outputs.action_log_std is None else outputs.action_log_std[:, -1]
            chosen = sample_action(self.model.config, mean[:, -1], log_std, self.generator)
        actions = self.context.add_actions(outputs.action_preds[:, -1], chosen)
        return actions[0] if unbatched else actions

    def observe(self, rewards: np.ndarray | Sequence[float], dones: np.ndarray | Sequence[bool] | None = None) -> None:
        """Account for the rewards of the last actions; environments flagged done start a new episode next."""
        self.context.observe(rewards, dones)
