"""What the MLP models (Q-network, policy) share: config fields, the MLP body, observation normalization from the
config, PyTorch's default initialization."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from transformers import PreTrainedConfig
from transformers import initialization as init

from hf_decision.models.base import HFDecisionPreTrainedModel

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU}


def build_mlp(in_dim: int, hidden_sizes: Sequence[int], activation: str) -> nn.Sequential:
    """`Linear → activation` for each hidden size (the output layer is the caller's)."""
    layers: list[nn.Module] = []
    for size in hidden_sizes:
        layers += [nn.Linear(in_dim, size), ACTIVATIONS[activation]()]
        in_dim = size
    return nn.Sequential(*layers)


def init_linear(module: nn.Linear) -> None:
    """PyTorch's default `Linear` init (what DQN and REINFORCE implementations use), through transformers' guarded
    init functions so that weights loaded from a checkpoint are left alone."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        bound = 1 / math.sqrt(module.in_features)
        init.uniform_(module.bias, -bound, bound)


class MLPConfig(PreTrainedConfig):
    """The fields every MLP model config has (`state_dim`, `hidden_sizes`, `activation`, `state_mean`, `state_std`,
    `env_id`) and their checks; `QNetworkConfig` and `PolicyConfig` add theirs. Written as `DecisionTransformerConfig`
    is, in transformers' dataclass style: fields with defaults, normalization in `__post_init__`, then `check()`."""

    state_dim: int = 4
    hidden_sizes: list[int] | tuple[int, ...] = (64, 64)
    activation: str = "relu"
    state_mean: list[float] | None = None
    state_std: list[float] | None = None
    env_id: str | None = None

    def __post_init__(self, **kwargs):
        self.hidden_sizes = [int(size) for size in self.hidden_sizes]
        for name in ("state_mean", "state_std"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, [float(x) for x in (value.tolist() if hasattr(value, "tolist") else value)])
        super().__post_init__(**kwargs)
        self.check()

    def check(self) -> None:
        """Raise a ValueError naming the first invalid field. Called on construction and on loading."""
        if self.state_dim < 1:
            raise ValueError(f"state_dim must be >= 1, got {self.state_dim}")
        if any(int(size) < 1 for size in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must all be >= 1, got {self.hidden_sizes}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        for name in ("state_mean", "state_std"):
            value = getattr(self, name)
            if value is not None and len(value) != self.state_dim:
                raise ValueError(f"{name} has {len(value)} entries, expected state_dim={self.state_dim}")
        if self.state_std is not None and min(self.state_std) <= 0:
            raise ValueError("state_std must be > 0 everywhere")


class ObservationNormalizer(nn.Module):
    """`(observation − state_mean) / state_std` with the statistics of the config (identity when unset).

    The statistics are buffers rebuilt from the config, not weights: `config.json` is where they travel.
    """

    def __init__(self, config: PreTrainedConfig):
        super().__init__()
        self.register_buffer("mean", torch.zeros(config.state_dim), persistent=False)
        self.register_buffer("std", torch.ones(config.state_dim), persistent=False)
        self.set_statistics(config)

    @torch.no_grad()
    def set_statistics(self, config: PreTrainedConfig) -> None:
        """Copy the config's `state_mean` / `state_std` (zeros / ones when unset) into the buffers.

        Called at construction and by the models' `_init_weights`, since `from_pretrained` builds models on the meta
        device and never loads these non-persistent buffers."""
        dim = config.state_dim
        mean = config.state_mean if config.state_mean is not None else [0.0] * dim
        std = config.state_std if config.state_std is not None else [1.0] * dim
        device = self.mean.device if self.mean.device.type != "meta" else None
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device)
        self.std = torch.tensor(std, dtype=torch.float32, device=device)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        if observations.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"observations have {observations.shape[-1]} features, expected state_dim={self.mean.shape[0]}"
            )
        return (observations.float() - self.mean) / self.std


class MLPPreTrainedModel(HFDecisionPreTrainedModel):
    """Base of the MLP models: `normalize` (the config's statistics) then `body` (the hidden layers) of width
    `body_width`; heads are the subclass's. Raw observations in."""

    main_input_name = "observations"

    def __init__(self, config: PreTrainedConfig):
        super().__init__(config)
        self.normalize = ObservationNormalizer(config)
        self.body = build_mlp(config.state_dim, config.hidden_sizes, config.activation)
        self.body_width = config.hidden_sizes[-1] if config.hidden_sizes else config.state_dim

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            init_linear(module)
        elif isinstance(module, ObservationNormalizer):
            module.set_statistics(self.config)

    def features(self, observations: torch.Tensor) -> torch.Tensor:
        """The body's output for raw observations."""
        return self.body(self.normalize(observations))
