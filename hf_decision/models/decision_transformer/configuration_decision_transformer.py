"""Configuration of the Decision Transformer (Chen et al. 2021) with a GPT-2 backbone."""

from __future__ import annotations

import math
from typing import Literal

from transformers import GPT2Config, PreTrainedConfig

ACTION_SPACES = ("continuous", "discrete")
POSITIONAL_EMBEDDINGS = ("constant", "sequence")

# Fields of the flat DT config that describe the GPT-2 backbone, with their GPT2Config names.
BACKBONE_FIELDS = {
    "hidden_size": "n_embd",
    "n_layer": "n_layer",
    "n_head": "n_head",
    "n_inner": "n_inner",
    "activation_function": "activation_function",
    "resid_pdrop": "resid_pdrop",
    "embd_pdrop": "embd_pdrop",
    "attn_pdrop": "attn_pdrop",
    "layer_norm_epsilon": "layer_norm_epsilon",
    "initializer_range": "initializer_range",
    "vocab_size": "vocab_size",
    "n_positions": "n_positions",
    "scale_attn_weights": "scale_attn_weights",
    "scale_attn_by_inverse_layer_idx": "scale_attn_by_inverse_layer_idx",
    "reorder_and_upcast_attn": "reorder_and_upcast_attn",
}
# The backbone fields that fix the shape of the weights (dropouts and init do not).
BACKBONE_ARCHITECTURE_FIELDS = (
    "hidden_size",
    "n_layer",
    "n_head",
    "n_inner",
    "activation_function",
    "layer_norm_epsilon",
    "vocab_size",
    "n_positions",
    "scale_attn_weights",
    "scale_attn_by_inverse_layer_idx",
    "reorder_and_upcast_attn",
)

# GPT-2's attention and MLP projections (transformers' `Conv1D`): the default modules of LoRA adapters
LORA_TARGET_MODULES = ("c_attn", "c_proj", "c_fc")


class DecisionTransformerConfig(PreTrainedConfig):
    r"""
    Configuration of [`DecisionTransformerModel`].

    It holds three kinds of settings, all of which travel with a checkpoint so that a model downloaded from the
    Hub can act on its own:

    - the decision problem: `state_dim`, `act_dim`, `action_space`, `max_ep_len`, `context_length`, `action_tanh`;
    - the data statistics the model was trained with: `state_mean`, `state_std` (the model consumes
      `(state - state_mean) / state_std`), `return_scale` (it consumes `return_to_go / return_scale`),
      `target_returns` (unscaled returns to condition on at evaluation) and `env_id`;
    - the GPT-2 backbone: `hidden_size`, `n_layer`, `n_head`, `n_inner`, `activation_function`, the dropouts, ...
      [`~DecisionTransformerConfig.to_backbone_config`] turns them into a `transformers.GPT2Config`.

    Optimization knobs (learning rate, λ of the language loss, ...) belong to the trainer configuration, not here.

    Args:
        state_dim (`int`): Size of one (flat) observation.
        act_dim (`int`): Size of one continuous action, or the number of discrete actions.
        action_space (`str`): `"continuous"` (actions `[..., act_dim]` float, MSE loss) or `"discrete"` (actions
            `[...]` long in `[0, act_dim)`, cross-entropy loss on logits).
        max_ep_len (`int`): Number of timestep embeddings; timesteps must lie in `[0, max_ep_len)`.
        context_length (`int`): K, the number of environment steps the model sees (3K tokens).
        action_tanh (`bool`): Squash continuous action predictions with `tanh` (actions in `[-1, 1]`).
        return_scale (`float`): Returns-to-go are divided by this before they enter the model.
        state_mean (`list[float]`, *optional*): Per-dimension mean of the states; `None` means 0.
        state_std (`list[float]`, *optional*): Per-dimension standard deviation of the states; `None` means 1.
        target_returns (`list[float]`, *optional*): Unscaled target returns used to condition evaluation rollouts.
        env_id (`str`, *optional*): Gymnasium id of the environment the model acts in.
        positional_embedding (`str`): What GPT-2's learned positional embedding (`wpe`) adds to the tokens.
            `"constant"` (default, as in the original DT and transformers' `DecisionTransformerModel`): every token
            gets `wpe[0]`, a learned bias; time is carried only by the per-timestep embedding. `"sequence"`: the
            3K tokens of a window get `wpe[0..3K-1]`, counted from the first real (unpadded) token, as a
            pretrained language model uses them (the setting of Reid et al. 2022).
        condition_on_returns (`bool`): `False` turns the model into behaviour cloning (BC) with the same architecture
            and data: returns-to-go are replaced by zeros, so the return tokens carry only the timestep embedding
            and the predicted actions cannot depend on the return asked for.
        condition_on_timesteps (`bool`): `False` gives every step the embedding of timestep 0 (a learned bias), so
            the model has no clock: time reaches it only through the return-to-go, which falls as rewards come in (the
            DT paper's ablation). Where a few long episodes are all the data has late in an episode, a clock lets the
            model key its actions to the step index rather than the state (see `make demo`).
        stochastic_policy (`bool`): `True` makes the policy stochastic, as the Online Decision Transformer (Zheng et
            al. 2022) needs to explore: continuous actions get a diagonal Gaussian whose mean is `predict_action`'s
            output and whose log-std comes from a second head (bounded to [-5, 2] through a tanh, as in ODT), squashed
            by `tanh` when `action_tanh` (see below); discrete actions are sampled from the categorical of the logits.
            The loss becomes the negative log-likelihood of the data's actions minus λ times the entropy, λ learned
            against `target_entropy` (`hf_decision.objectives.online_decision_loss`). `action_preds` stay the mean
            (`tanh(μ)`) or the logits, so agents and evaluation act with the mean / mode unless asked to sample.
            With `action_tanh` the Gaussian is **tanh-squashed**, not clipped: the actions of the bounded MuJoCo
            envs lie in [-1, 1], and a clipped Gaussian puts point masses on the bounds that its Gaussian
            log-density and entropy ignore, so the likelihood trained and the policy that acts would differ. The
            squashed density is exact on (-1, 1) with the change of variables
            `log π(a) = log N(atanh a; μ, σ²) − Σ_d log(1 − a_d²)` (data actions are clamped to ±(1 − 1e-6)); its
            entropy has no closed form and is estimated from one reparameterized sample per step, as in ODT.
            `False` (default) is the deterministic DT with its MSE / cross-entropy loss; checkpoints saved before
            this option existed load as such.
        init_temperature (`float`): λ at initialization (ODT: 0.1); λ = exp(log λ) is a parameter of the model.
            It and `target_entropy` are in the model config, not the trainer's, because `forward` computes the loss
            when `labels` are given (the transformers convention) and λ is one of the model's weights.
        target_entropy (`float`, *optional*): β, the entropy λ is tuned to keep; default `-act_dim` for continuous
            actions (ODT's and SAC's choice) and `0.5·log(act_dim)` for discrete ones, half the entropy of the
            uniform policy (ODT has no discrete setting; the uniform policy's `log(act_dim)` would ask for a policy
            that never commits to an action).
        backbone_name_or_path (`str`, *optional*): The GPT-2 checkpoint the backbone was initialized from.
        hidden_size, n_layer, n_head, n_inner, activation_function, resid_pdrop, embd_pdrop, attn_pdrop,
        layer_norm_epsilon, initializer_range, vocab_size, n_positions, scale_attn_weights,
        scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn: the GPT-2 backbone, as in `GPT2Config`
            (`hidden_size` is GPT-2's `n_embd`). `vocab_size` sizes the token embedding used by the language path.
    """

    model_type = "hf_decision_transformer"
    attribute_map = {
        "max_position_embeddings": "n_positions",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    state_dim: int = 11
    act_dim: int = 3
    action_space: Literal["continuous", "discrete"] = "continuous"
    max_ep_len: int = 1000
    context_length: int = 20
    action_tanh: bool = True
    return_scale: float = 1000.0
    state_mean: list[float] | None = None
    state_std: list[float] | None = None
    target_returns: list[float] | None = None
    env_id: str | None = None
    positional_embedding: Literal["constant", "sequence"] = "constant"
    condition_on_returns: bool = True
    condition_on_timesteps: bool = True
    stochastic_policy: bool = False
    init_temperature: float = 0.1
    target_entropy: float | None = None
    backbone_name_or_path: str | None = None

    hidden_size: int = 128
    n_layer: int = 3
    n_head: int = 1
    n_inner: int | None = None
    activation_function: str = "relu"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    vocab_size: int = 50257
    n_positions: int = 1024
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    reorder_and_upcast_attn: bool = False
    tie_word_embeddings: bool = True

    def __post_init__(self, **kwargs):
        for name in ("state_mean", "state_std", "target_returns"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, _as_floats(name, value))
        super().__post_init__(**kwargs)
        self.check()

    def check(self) -> None:
        """Raise `ValueError` naming the first invalid field. Called on construction and on loading."""
        for name in ("state_dim", "act_dim", "context_length", "hidden_size", "n_layer", "n_head", "n_positions"):
            _require_positive_int(name, getattr(self, name))
        _require_positive_int("vocab_size", self.vocab_size)
        if not isinstance(self.max_ep_len, int) or self.max_ep_len < 1:
            raise ValueError(
                f"max_ep_len must be a positive integer (timesteps lie in [0, max_ep_len)), got {self.max_ep_len!r}"
            )
        if self.n_inner is not None:
            _require_positive_int("n_inner", self.n_inner)
        if self.action_space not in ACTION_SPACES:
            raise ValueError(f"action_space must be one of {ACTION_SPACES}, got {self.action_space!r}")
        if self.action_space == "discrete" and self.act_dim < 2:
            raise ValueError(
                f"act_dim must be >= 2 (the number of actions) for a discrete action space, got {self.act_dim}"
            )
        if self.positional_embedding not in POSITIONAL_EMBEDDINGS:
            raise ValueError(
                f"positional_embedding must be one of {POSITIONAL_EMBEDDINGS}, got {self.positional_embedding!r}"
            )
        if self.positional_embedding == "sequence" and 3 * self.context_length > self.n_positions:
            raise ValueError(
                f"context_length={self.context_length} needs 3*context_length={3 * self.context_length} positions "
                f"with positional_embedding='sequence', but n_positions={self.n_positions}"
            )
        if self.hidden_size % self.n_head != 0:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be divisible by n_head ({self.n_head})")
        if not _finite_positive(self.return_scale):
            raise ValueError(f"return_scale must be a finite number > 0, got {self.return_scale!r}")
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
            p = getattr(self, name)
            if not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
        for name in ("state_mean", "state_std"):
            value = getattr(self, name)
            if value is None:
                continue
            if len(value) != self.state_dim:
                raise ValueError(f"{name} has length {len(value)}, expected state_dim={self.state_dim}")
            if not all(math.isfinite(v) for v in value):
                raise ValueError(f"{name} contains a non-finite value: {value}")
        if self.state_std is not None and min(self.state_std) <= 0:
            raise ValueError(f"state_std must be > 0 in every dimension, got {self.state_std}")
        if self.target_returns is not None and not all(math.isfinite(v) for v in self.target_returns):
            raise ValueError(f"target_returns must be finite, got {self.target_returns}")
        if not _finite_positive(self.init_temperature):
            raise ValueError(f"init_temperature must be a finite number > 0, got {self.init_temperature!r}")
        if self.target_entropy is not None and not (
            isinstance(self.target_entropy, (int, float)) and math.isfinite(self.target_entropy)
        ):
            raise ValueError(f"target_entropy must be a finite number or None, got {self.target_entropy!r}")

    @property
    def entropy_target(self) -> float:
        """β: `target_entropy`, or its default for the action space (see the class docstring)."""
        if self.target_entropy is not None:
            return float(self.target_entropy)
        if self.action_space == "discrete":
            return 0.5 * math.log(self.act_dim)
        return -float(self.act_dim)

    @classmethod
    def from_backbone_config(
        cls, backbone: GPT2Config, source_name: object = "the backbone", **kwargs
    ) -> DecisionTransformerConfig:
        """The config of a DT around a GPT-2 of `backbone`'s architecture: a checkpoint's config (what
        `DecisionTransformerModel.from_pretrained_backbone` uses), or e.g. `GPT2Config(n_embd=1024, n_layer=24,
        n_head=16)` for a randomly initialized GPT-2-medium shape. The architecture fields follow `backbone`;
        `kwargs` set the rest, and may repeat an architecture field only with the same value."""
        arch = {name: getattr(backbone, BACKBONE_FIELDS[name]) for name in BACKBONE_ARCHITECTURE_FIELDS}
        for name in sorted(set(kwargs) & set(arch)):
            if kwargs[name] != arch[name]:
                raise ValueError(
                    f"{name}={kwargs[name]!r} conflicts with the backbone checkpoint {source_name} "
                    f"({name}={arch[name]!r}); the architecture follows the checkpoint"
                )
        return cls(**{**arch, **kwargs})

    def to_backbone_config(self) -> GPT2Config:
        """The `GPT2Config` of the backbone, built from this config's backbone fields."""
        kwargs = {gpt2_name: getattr(self, name) for name, gpt2_name in BACKBONE_FIELDS.items()}
        return GPT2Config(
            **kwargs,
            bos_token_id=None,
            eos_token_id=None,
            use_cache=False,
            tie_word_embeddings=self.tie_word_embeddings,
            attn_implementation=self._attn_implementation,
        )


def _as_floats(name: str, value) -> list[float]:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and not any(isinstance(v, (list, tuple)) for v in value):
        try:
            return [float(v) for v in value]
        except (TypeError, ValueError):
            pass
    raise ValueError(f"{name} must be a flat list of numbers, got {value!r}")


def _require_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0
