"""Agents that act from the current observation alone: a DQN Q-network and a REINFORCE policy.

They follow the `Agent` protocol of `hf_decision.agents.base` (`act`, `observe`, `reset`, `from_pretrained`), so
`rollout`, `evaluate`, collection and the Hub code treat every agent alike.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedModel

from hf_decision.agents.base import Agent
from hf_decision.models.policy import PolicyModel
from hf_decision.models.q_network import QNetworkModel


class MarkovAgent(Agent):
    """Wraps a model whose action depends on the current observation only; batched over `num_envs`."""

    def __init__(self, model: PreTrainedModel, num_envs: int = 1, device: str | torch.device | None = None):
        self.model = model.eval() if device is None else model.to(device).eval()
        self.device = next(model.parameters()).device
        self.num_envs = num_envs

    def reset(self, env_indices=None) -> None:
        """Nothing to forget: the agent keeps no context."""

    def observe(self, rewards, dones=None) -> None:
        """Nothing to account for: the agent keeps no context."""

    @torch.inference_mode()
    def act(self, observations: np.ndarray | torch.Tensor, last_reward: float | None = None) -> np.ndarray:
        """Actions for `[num_envs, state_dim]` observations (or one `[state_dim]` observation)."""
        obs, unbatched = self.check_observations(observations, self.model.config.state_dim)
        actions = self._actions(torch.as_tensor(obs, device=self.device))
        actions = actions.cpu().numpy() if isinstance(actions, torch.Tensor) else actions
        return actions[0] if unbatched else actions

    def _actions(self, observations: torch.Tensor) -> np.ndarray | torch.Tensor:
        raise NotImplementedError


class QNetworkAgent(MarkovAgent):
    """`argmax_a Q_θ(s, a)`, or ε-greedy with `epsilon > 0`: the one implementation of ε-greedy acting, used for
    evaluation, collection and online DQN's exploration.

    Every `act` draws one uniformly random action per env, then (when `epsilon < 1`) one uniform number per env that
    picks the random action where it is below `epsilon`, both from `rng` (a numpy generator seeded with `seed`
    unless one is passed, e.g. to share it with a replay source's checkpointed state).
    """

    model_class = QNetworkModel

    def __init__(
        self,
        model: QNetworkModel,
        num_envs: int = 1,
        device=None,
        epsilon: float = 0.0,
        seed: int = 0,
        rng: np.random.Generator | None = None,
    ):
        super().__init__(model, num_envs, device)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.name = f"dqn(epsilon={epsilon})"

    def _actions(self, observations: torch.Tensor) -> np.ndarray:
        n = len(observations)
        if self.epsilon == 0.0:
            return self.model(observations).q_values.argmax(dim=-1).cpu().numpy()
        random = self.rng.integers(self.model.config.act_dim, size=n)
        if self.epsilon == 1.0:
            return random
        greedy = self.model(observations).q_values.argmax(dim=-1).cpu().numpy()
        return np.where(self.rng.random(n) < self.epsilon, random, greedy)


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
