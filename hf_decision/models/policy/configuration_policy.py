"""Configuration of the MLP stochastic policy (REINFORCE): categorical or diagonal Gaussian."""

from __future__ import annotations

from transformers import PretrainedConfig

from hf_decision.models.mlp import MLPConfigMixin

ACTION_SPACES = ("discrete", "continuous")


class PolicyConfig(MLPConfigMixin, PretrainedConfig):
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

    def __init__(
        self,
        state_dim: int = 4,
        act_dim: int = 2,
        action_space: str = "discrete",
        hidden_sizes: list[int] | tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        log_std_init: float = 0.0,
        value_head: bool = False,
        state_mean: list[float] | None = None,
        state_std: list[float] | None = None,
        env_id: str | None = None,
        **kwargs,
    ):
        self.set_mlp_fields(state_dim, hidden_sizes, activation, state_mean, state_std, env_id)
        self.act_dim = act_dim
        self.action_space = action_space
        self.log_std_init = float(log_std_init)
        self.value_head = value_head
        super().__init__(**kwargs)
        self.check()

    def check(self) -> None:
        """Raise a ValueError naming the first invalid field."""
        self.check_mlp_fields()
        if self.action_space not in ACTION_SPACES:
            raise ValueError(f"action_space must be one of {ACTION_SPACES}, got {self.action_space!r}")
        minimum = 2 if self.action_space == "discrete" else 1
        if self.act_dim < minimum:
            raise ValueError(f"act_dim must be >= {minimum} for a {self.action_space} policy, got {self.act_dim}")
