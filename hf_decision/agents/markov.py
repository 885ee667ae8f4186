"""Agents that act from the current observation alone: a DQN Q-network and a REINFORCE policy.

They share the agent protocol of `DecisionTransformerAgent` (`act`, `observe`, `reset`, `from_pretrained`), so
`rollout`, `evaluate`, collection and the Hub code treat every agent alike.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import torch
from transformers import PreTrainedModel

from hf_decision.models.policy import PolicyModel
from hf_decision.models.q_network import QNetworkModel


class MarkovAgent:
    """Wraps a model whose action depends on the current observation only; batched over `num_envs`."""

    model_class: type[PreTrainedModel]

    def __init__(self, model: PreTrainedModel, num_envs: int = 1, device: str | torch.device | None = None):
        self.model = model.eval() if device is None else model.to(device).eval()
        self.device = next(model.parameters()).device
        self.num_envs = num_envs

    @classmethod
    def from_pretrained(cls, repo_id_or_dir: str | PathLike, num_envs: int = 1, device=None, **kwargs):
        """Load a checkpoint (Hub id or folder) of `model_class` and wrap it; `kwargs` go to `from_pretrained`."""
        return cls(cls.model_class.from_pretrained(repo_id_or_dir, **kwargs), num_envs=num_envs, device=device)

    def reset(self, env_indices=None) -> None:
        """Nothing to forget: the agent keeps no context."""

    def observe(self, rewards, dones=None) -> None:
        """Nothing to account for: the agent keeps no context."""

    @torch.inference_mode()
    def act(self, observations: np.ndarray | torch.Tensor, last_reward: float | None = None) -> np.ndarray:
        """Actions for `[num_envs, state_dim]` observations (or one `[state_dim]` observation)."""
        unbatched = np.ndim(observations) == 1
        obs = torch.as_tensor(np.asarray(observations), dtype=torch.float32, device=self.device)
        actions = self._actions(obs.reshape(-1, obs.shape[-1])).cpu().numpy()
        return actions[0] if unbatched else actions

    def _actions(self, observations: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class QNetworkAgent(MarkovAgent):
    """`argmax_a Q_θ(s, a)`, or ε-greedy with `epsilon > 0` (random actions drawn from a seeded generator)."""

    model_class = QNetworkModel

    def __init__(self, model: QNetworkModel, num_envs: int = 1, device=None, epsilon: float = 0.0, seed: int = 0):
        super().__init__(model, num_envs, device)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon
        self.generator = torch.Generator().manual_seed(seed)
        self.name = f"dqn(epsilon={epsilon})"

    def _actions(self, observations: torch.Tensor) -> torch.Tensor:
        greedy = self.model(observations).q_values.argmax(dim=-1).cpu()
        if self.epsilon == 0.0:
            return greedy
        n = len(greedy)
        explore = torch.rand(n, generator=self.generator) < self.epsilon
        random = torch.randint(self.model.config.num_actions, (n,), generator=self.generator)
        return torch.where(explore, random, greedy)


class PolicyAgent(MarkovAgent):
    """The mode of π_θ(·|s) (`deterministic=True`, for evaluation) or samples from it drawn with a seeded
    generator (`deterministic=False`, as REINFORCE collects)."""

    model_class = PolicyModel

    def __init__(self, model: PolicyModel, num_envs: int = 1, device=None, deterministic: bool = True, seed: int = 0):
        super().__init__(model, num_envs, device)
        self.deterministic = deterministic
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.name = f"policy({'mode' if deterministic else 'sample'})"

    def _actions(self, observations: torch.Tensor) -> torch.Tensor:
        return self.model.get_action(observations, deterministic=self.deterministic, generator=self.generator)


def agent_for(model: PreTrainedModel, num_envs: int = 1, **kwargs):
    """The agent class matching a model: Decision Transformer, Q-network or policy."""
    from hf_decision.agents.decision_transformer import DecisionTransformerAgent
    from hf_decision.models.decision_transformer import DecisionTransformerModel

    if isinstance(model, DecisionTransformerModel):
        return DecisionTransformerAgent(model, num_envs=num_envs, **kwargs)
    if isinstance(model, QNetworkModel):
        return QNetworkAgent(model, num_envs=num_envs, **kwargs)
    if isinstance(model, PolicyModel):
        return PolicyAgent(model, num_envs=num_envs, **kwargs)
    raise TypeError(f"no agent for a {type(model).__name__}: expected a Decision Transformer, Q-network or policy")
