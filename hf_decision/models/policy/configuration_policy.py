"""Configuration of the MLP stochastic policy (REINFORCE): categorical or diagonal Gaussian."""

from __future__ import annotations

from hf_decision.models.mlp import MLPConfig

ACTION_SPACES = ("discrete", "continuous")


class PolicyConfig(MLPConfig):
    """An MLP policy `π_θ(a|s)`.

    Args:
        state_dim: observation size.
        act_dim: number of discrete actions, or the size of a continuous action.
        action_space: "discrete" (categorical over `act_dim` logits) or "continuous" (diagonal Gaussian with a
            state-independent learned log-std).
        hidden_sizes: widths of the hidden layers.
        activation: one of relu, tanh, gelu, silu.
        log_std_init: initial log-std of the Gaussian (continuous only).
        value_head: also predict V(s) from the same body (the learned baseline of REINFORCE).
        state_mean, state_std: observation statistics applied inside the model (raw observations in).
        env_id: the gymnasium id the policy acts in (for evaluation and model cards).
    """

    model_type = "hf_decision_policy"

    act_dim: int = 2
    action_space: str = "discrete"
    hidden_sizes: list[int] | tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    log_std_init: float = 0.0
    value_head: bool = False

    def __post_init__(self, **kwargs):
        self.log_std_init = float(self.log_std_init)
        super().__post_init__(**kwargs)

    def check(self) -> None:
        super().check()
        if self.action_space not in ACTION_SPACES:
            raise ValueError(f"action_space must be one of {ACTION_SPACES}, got {self.action_space!r}")
        minimum = 2 if self.action_space == "discrete" else 1
        if self.act_dim < minimum:
            raise ValueError(f"act_dim must be >= {minimum} for a {self.action_space} policy, got {self.act_dim}")
