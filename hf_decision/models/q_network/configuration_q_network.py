"""Configuration of the MLP Q-network (DQN)."""

from __future__ import annotations

from transformers import PretrainedConfig

from hf_decision.models.mlp import MLPConfigMixin


class QNetworkConfig(MLPConfigMixin, PretrainedConfig):
    """An MLP `Q_θ(s, ·)`: one output per discrete action.

    Args:
        state_dim: observation size.
        act_dim: number of discrete actions (the name every hf_decision config uses; a config saved with its former
            name `num_actions` still loads, and `config.num_actions` still reads it).
        hidden_sizes: widths of the hidden layers.
        activation: one of relu, tanh, gelu, silu.
        state_mean, state_std: observation statistics applied inside the model (raw observations in).
        env_id: the gymnasium id the network acts in (for evaluation and model cards).
    """

    model_type = "hf_decision_q_network"
    attribute_map = {"num_actions": "act_dim"}

    def __init__(
        self,
        state_dim: int = 4,
        act_dim: int = 2,
        hidden_sizes: list[int] | tuple[int, ...] = (256, 256),
        activation: str = "relu",
        state_mean: list[float] | None = None,
        state_std: list[float] | None = None,
        env_id: str | None = None,
        **kwargs,
    ):
        self.set_mlp_fields(state_dim, hidden_sizes, activation, state_mean, state_std, env_id)
        self.act_dim = kwargs.pop("num_actions", act_dim)
        super().__init__(**kwargs)
        self.check()

    def check(self) -> None:
        """Raise a ValueError naming the first invalid field."""
        self.check_mlp_fields()
        if self.act_dim < 2:
            raise ValueError(f"act_dim must be >= 2, got {self.act_dim}")
