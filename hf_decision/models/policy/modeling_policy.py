"""The MLP stochastic policy of REINFORCE, as a `PreTrainedModel`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal
from transformers import initialization as init
from transformers.utils import ModelOutput

from hf_decision.models.mlp import MLPPreTrainedModel
from hf_decision.models.policy.configuration_policy import PolicyConfig


@dataclass
class PolicyOutput(ModelOutput):
    """Output of [`PolicyModel.forward`].

    Args:
        logits: `[B, act_dim]` categorical logits (discrete) or the Gaussian mean (continuous).
        log_std: `[act_dim]` the Gaussian log-std (continuous only).
        log_prob: `[B]` log π_θ(a|s) of the given `actions`, when they were passed.
        entropy: `[B]` the entropy of π_θ(·|s).
        values: `[B]` V(s), when the config has a value head.
    """

    logits: torch.Tensor | None = None
    log_std: torch.Tensor | None = None
    log_prob: torch.Tensor | None = None
    entropy: torch.Tensor | None = None
    values: torch.Tensor | None = None


class PolicyModel(MLPPreTrainedModel):
    """`π_θ(a|s)` from raw observations (normalized inside with the config's statistics): a categorical over
    `act_dim` actions or a diagonal Gaussian, plus an optional value head V(s) sharing the body."""

    config: PolicyConfig
    config_class = PolicyConfig
    base_model_prefix = "policy"
    agent_class = "PolicyAgent"

    def __init__(self, config: PolicyConfig):
        super().__init__(config)
        self.action_head = nn.Linear(self.body_width, config.act_dim)
        self.log_std = None
        if config.action_space == "continuous":
            self.log_std = nn.Parameter(torch.full((config.act_dim,), config.log_std_init))
        self.value_head = nn.Linear(self.body_width, 1) if config.value_head else None
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """PyTorch's default `Linear` init, and `log_std_init` for the Gaussian's log-std."""
        super()._init_weights(module)
        if module is self and self.log_std is not None:
            init.constant_(self.log_std, self.config.log_std_init)

    def distribution(self, logits: torch.Tensor) -> Distribution:
        """π_θ(·|s) from the action head's output."""
        if self.config.action_space == "discrete":
            return Categorical(logits=logits)
        return Independent(Normal(logits, self.log_std.exp()), 1)

    def forward(self, observations: torch.Tensor, actions: torch.Tensor | None = None, **kwargs) -> PolicyOutput:
        """`observations [B, state_dim]` (raw) → the distribution's parameters, entropy, and with `actions`
        (`[B]` discrete, `[B, act_dim]` continuous) their log-probabilities."""
        hidden = self.features(observations)
        logits = self.action_head(hidden)
        dist = self.distribution(logits)
        log_prob = None
        if actions is not None:
            log_prob = dist.log_prob(actions.long() if self.config.action_space == "discrete" else actions.float())
        values = self.value_head(hidden).squeeze(-1) if self.value_head is not None else None
        return PolicyOutput(
            logits=logits, log_std=self.log_std, log_prob=log_prob, entropy=dist.entropy(), values=values
        )

    @torch.no_grad()
    def get_action(
        self, observations: torch.Tensor, deterministic: bool = True, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The mode of π_θ(·|s) (argmax / mean) or, with `deterministic=False`, a sample drawn with `generator`."""
        logits = self(observations).logits
        if deterministic:
            return logits.argmax(dim=-1) if self.config.action_space == "discrete" else logits
        if self.config.action_space == "discrete":
            return torch.multinomial(
                logits.softmax(dim=-1).reshape(-1, logits.shape[-1]), 1, generator=generator
            ).reshape(logits.shape[:-1])
        noise = torch.randn(logits.shape, generator=generator, device=logits.device)
        return logits + noise * self.log_std.exp()
