"""Configuration of the MLP Q-network (DQN)."""

from __future__ import annotations

from hf_decision.models.mlp import MLPConfig


class QNetworkConfig(MLPConfig):
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

    act_dim: int = 2
    hidden_sizes: list[int] | tuple[int, ...] = (256, 256)
    activation: str = "relu"

    def __post_init__(self, **kwargs):
        if "num_actions" in kwargs:  # a config saved before act_dim
            self.act_dim = kwargs.pop("num_actions")
        super().__post_init__(**kwargs)

    def check(self) -> None:
        super().check()
        if self.act_dim < 2:
            raise ValueError(f"act_dim must be >= 2, got {self.act_dim}")
