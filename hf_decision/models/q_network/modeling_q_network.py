"""The MLP Q-network of DQN, as a `PreTrainedModel`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from hf_decision.models.mlp import MLPPreTrainedModel
from hf_decision.models.q_network.configuration_q_network import QNetworkConfig


@dataclass
class QNetworkOutput(ModelOutput):
    """Output of [`QNetworkModel.forward`].

    Args:
        q_values: `[B, act_dim]` Q_θ(s, ·).
        action_values: `[B]` Q_θ(s, a) of the given `actions`, when they were passed.
    """

    q_values: torch.Tensor | None = None
    action_values: torch.Tensor | None = None


class QNetworkModel(MLPPreTrainedModel):
    """`Q_θ(s, a)` for every discrete action `a`, from raw observations (normalized inside with the config's
    statistics). The greedy policy is `argmax_a Q_θ(s, a)` (`get_action`)."""

    config: QNetworkConfig
    config_class = QNetworkConfig
    base_model_prefix = "q_network"
    agent_class = "QNetworkAgent"

    def __init__(self, config: QNetworkConfig):
        super().__init__(config)
        self.q_head = nn.Linear(self.body_width, config.act_dim)
        self.post_init()

    def forward(self, observations: torch.Tensor, actions: torch.Tensor | None = None, **kwargs) -> QNetworkOutput:
        """`observations [B, state_dim]` (raw) → `q_values [B, act_dim]`; with `actions [B]` also Q_θ(s, a)."""
        q_values = self.q_head(self.features(observations))
        action_values = None
        if actions is not None:
            action_values = q_values.gather(1, actions.long().reshape(-1, 1)).squeeze(1)
        return QNetworkOutput(q_values=q_values, action_values=action_values)

    @torch.no_grad()
    def get_action(self, observations: torch.Tensor) -> torch.Tensor:
        """Greedy actions `argmax_a Q_θ(s, a)`, `[B]` (or `[]` for one unbatched observation)."""
        return (
            self(observations.reshape(-1, self.config.state_dim))
            .q_values.argmax(dim=-1)
            .reshape(observations.shape[:-1])
        )
