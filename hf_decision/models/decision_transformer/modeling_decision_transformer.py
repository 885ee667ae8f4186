"""Decision Transformer (Chen et al. 2021) whose transformer is transformers' GPT-2, used as a component.

Conventions (the data collator and the evaluation loop follow the same ones):

- **Tokens.** A window of K steps becomes 3K tokens `(R̂_1, s_1, a_1, …, R̂_K, s_K, a_K)`. Each step's three
  embeddings get the same per-timestep embedding `embed_timestep(t)` added (one per timestep, not per token).
  The action `a_t` is predicted from the hidden state of the `s_t` token, which sees `R̂_≤t, s_≤t, a_<t`.
- **Inputs are in model space.** States are normalized, `(s − state_mean) / state_std`; returns-to-go are
  undiscounted sums of future rewards `R̂_t = Σ_{h≥t} r_h`, divided by `return_scale`. The config stores these
  statistics; [`DecisionTransformerModel.normalize_states`] and [`DecisionTransformerModel.scale_returns`] apply them.
- **Padding is on the left.** A window shorter than K is padded at its start, so the newest step is always at index
  K−1; padded steps have `attention_mask == 0`, zero states/actions/returns (action index 0 when discrete) and
  timestep 0. Padding never changes the output at a real step, and a later step never changes an earlier prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from os import PathLike

import torch
from torch import nn
from transformers import GPT2Model
from transformers import initialization as init
from transformers.modeling_outputs import CausalLMOutput
from transformers.utils import ModelOutput

from hf_decision.models.base import HFDecisionPreTrainedModel
from hf_decision.models.decision_transformer.configuration_decision_transformer import (
    BACKBONE_ARCHITECTURE_FIELDS,
    DecisionTransformerConfig,
)
from hf_decision.models.decision_transformer.conversion import convert_transformers_dt
from hf_decision.models.decision_transformer.inputs import check_inputs, is_lora_checkpoint
from hf_decision.models.decision_transformer.state_tokens import backbone_state_tokens, state_tokens_supported
from hf_decision.models.decision_transformer.stochastic import bounded_log_std, stochastic_policy_loss
from hf_decision.objectives import action_loss, causal_lm_loss
from hf_decision.resources import local_backbone_hint


@dataclass
class DecisionTransformerOutput(ModelOutput):
    """Output of [`DecisionTransformerModel.forward`].

    Args:
        loss: The action loss (masked MSE or cross-entropy; with `stochastic_policy`, NLL − λ·entropy + the
            temperature's loss), when `labels` were given.
        lm_loss: The next-token loss of `lm_input_ids`, when they were given.
        action_preds: `[B, K, act_dim]` predicted actions (continuous; the mean `tanh(μ)` of a stochastic policy) or
            action logits (discrete).
        action_mean, action_log_std: `[B, K, act_dim]` μ (before any tanh) and log σ of a continuous stochastic
            policy's Gaussian.
        action_nll, action_entropy, temperature: with `stochastic_policy` and `labels`, the loss's parts (see
            `hf_decision.objectives.online_decision_loss`).
        last_hidden_state: `[B, 3K, hidden_size]` the backbone's output for every token; `[B, K, hidden_size]` for
            the state tokens only when the forward ran with `state_tokens_only=True`.
        hidden_states: The backbone's per-layer hidden states, when `output_hidden_states=True`.
    """

    loss: torch.Tensor | None = None
    lm_loss: torch.Tensor | None = None
    action_preds: torch.Tensor | None = None
    action_mean: torch.Tensor | None = None
    action_log_std: torch.Tensor | None = None
    action_nll: torch.Tensor | None = None
    action_entropy: torch.Tensor | None = None
    temperature: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class DecisionTransformerPreTrainedModel(HFDecisionPreTrainedModel):
    config: DecisionTransformerConfig
    config_class = DecisionTransformerConfig
    base_model_prefix = "decision_transformer"
    main_input_name = "states"
    agent_class = "DecisionTransformerAgent"
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True
    supports_gradient_checkpointing = True  # the GPT-2 blocks checkpoint themselves (see `state_tokens`)


class DecisionTransformerModel(DecisionTransformerPreTrainedModel):
    """A Decision Transformer: return-to-go, state and action embeddings around a GPT-2 backbone.

    `transformer` is a plain `transformers.GPT2Model`; `lm_head` (tied to its token embedding) gives the
    language-modeling path used to keep a λ·L_language term while training on trajectories.
    """

    _tied_weights_keys = {"lm_head.weight": "transformer.wte.weight"}
    accepts_loss_kwargs = False

    def __init__(self, config: DecisionTransformerConfig):
        super().__init__(config)
        hidden = config.hidden_size
        self.transformer = GPT2Model(config.to_backbone_config())
        self.embed_timestep = nn.Embedding(config.max_ep_len, hidden)
        self.embed_return = nn.Linear(1, hidden)
        self.embed_state = nn.Linear(config.state_dim, hidden)
        self.embed_action: nn.Embedding | nn.Linear
        if config.action_space == "discrete":
            self.embed_action = nn.Embedding(config.act_dim, hidden)
        else:
            self.embed_action = nn.Linear(config.act_dim, hidden)
        self.embed_ln = nn.LayerNorm(hidden)
        self.predict_action = nn.Linear(hidden, config.act_dim)
        self.lm_head = nn.Linear(hidden, config.vocab_size, bias=False)
        self.predict_action_log_std = None  # the stochastic policy's (see `DecisionTransformerConfig`)
        self.log_temperature = None
        if config.stochastic_policy:
            if config.action_space == "continuous":
                self.predict_action_log_std = nn.Linear(hidden, config.act_dim)
            self.log_temperature = nn.Parameter(torch.tensor(math.log(config.init_temperature)))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """transformers' init, and log λ = log `init_temperature` for a stochastic policy."""
        super()._init_weights(module)
        if module is self and self.log_temperature is not None:
            init.constant_(self.log_temperature, math.log(self.config.init_temperature))

    def get_input_embeddings(self) -> nn.Module:
        return self.transformer.wte

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.transformer.wte = value

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def forward(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        lm_input_ids: torch.Tensor | None = None,
        lm_attention_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        state_tokens_only: bool = False,
        **kwargs,
    ) -> DecisionTransformerOutput | tuple:
        """Predict the action at every step of a batch of left-padded windows.

        Args:
            states: `[B, K, state_dim]` normalized states.
            actions: `[B, K, act_dim]` float (continuous) or `[B, K]` long (discrete). `actions[:, t]` is only seen
                by predictions of later steps, so the newest action may be a placeholder.
            returns_to_go: `[B, K, 1]` scaled returns-to-go.
            timesteps: `[B, K]` long, the step index within the episode, in `[0, max_ep_len)`.
            attention_mask: `[B, K]`, 1 for real steps and 0 for (left) padding. Defaults to all ones.
            labels: target actions, shaped like `actions`; when given, `loss` is the masked action loss.
            lm_input_ids: `[B_lm, L]` token ids; when given, `lm_loss` is their next-token loss through the same
                backbone (see `lm_forward`). Passing text here rather than calling `lm_forward` separately keeps
                both losses in one forward call, as distributed data parallel expects.
            state_tokens_only: run the backbone's last block on the state tokens alone, the only ones actions are
                predicted from, and leave out the newest action token, which no token attends to: the same `loss`
                and `action_preds` at real steps (up to float rounding) for about a sixth less compute with 3
                layers. `last_hidden_state` is then `[B, K, hidden_size]`. It composes with gradient checkpointing
                (`gradient_checkpointing_enable()`: every block keeps only its input, the last one's state-token
                part included). Ignored (the full backbone runs) with `output_hidden_states`, extra backbone kwargs,
                or attention other than eager, SDPA and `FastDropout`'s eager variant.
        """
        config = self.config
        return_dict = return_dict if return_dict is not None else config.return_dict
        check_inputs(self.config, states, actions, returns_to_go, timesteps, attention_mask)
        batch_size, seq_len = states.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones((batch_size, seq_len), dtype=torch.long, device=states.device)

        if not config.condition_on_returns:  # behaviour cloning: the return token carries only its timestep
            returns_to_go = torch.zeros_like(returns_to_go)
        if not config.condition_on_timesteps:  # no clock: every step gets timestep 0's embedding
            timesteps = torch.zeros_like(timesteps)
        time = self.embed_timestep(timesteps)
        tokens = torch.stack(
            (
                self.embed_return(returns_to_go) + time,
                self.embed_state(states) + time,
                self.embed_action(actions) + time,
            ),
            dim=2,
        ).reshape(batch_size, 3 * seq_len, config.hidden_size)
        tokens = self.embed_ln(tokens)

        token_mask = attention_mask.repeat_interleave(3, dim=1)
        if config.positional_embedding == "sequence":
            position_ids = (token_mask.long().cumsum(dim=1) - 1).clamp(min=0)
        else:
            position_ids = torch.zeros_like(token_mask, dtype=torch.long)
        if state_tokens_only and not output_hidden_states and not kwargs and state_tokens_supported(self.transformer):
            hidden = state_hidden = backbone_state_tokens(self.transformer, tokens, token_mask, position_ids)
            hidden_states = None
        else:
            backbone_out = self.transformer(
                inputs_embeds=tokens,
                attention_mask=token_mask,
                position_ids=position_ids,
                output_hidden_states=output_hidden_states,
                **kwargs,
            )
            hidden, hidden_states = backbone_out.last_hidden_state, backbone_out.hidden_states
            state_hidden = hidden.reshape(batch_size, seq_len, 3, config.hidden_size)[:, :, 1]
        action_mean = action_preds = self.predict_action(state_hidden)
        log_std = None
        if self.predict_action_log_std is not None:
            log_std = bounded_log_std(self.predict_action_log_std(state_hidden))
        if config.action_space == "continuous" and config.action_tanh:
            action_preds = torch.tanh(action_preds)

        loss = parts = None
        if labels is not None and config.stochastic_policy:
            parts = stochastic_policy_loss(config, action_mean, log_std, self.log_temperature, labels, attention_mask)
            loss = parts.loss
        elif labels is not None:
            loss = action_loss(action_preds, labels, attention_mask, config.action_space)
        lm_loss = None
        if lm_input_ids is not None:
            lm_loss = self.lm_forward(lm_input_ids, attention_mask=lm_attention_mask, labels=lm_input_ids).loss
        if not return_dict:
            return tuple(v for v in (loss, lm_loss, action_preds, hidden) if v is not None)
        return DecisionTransformerOutput(
            loss=loss,
            lm_loss=lm_loss,
            action_preds=action_preds,
            action_mean=action_mean if log_std is not None else None,
            action_log_std=log_std,
            action_nll=None if parts is None else parts.nll,
            action_entropy=None if parts is None else parts.entropy,
            temperature=None if parts is None else parts.temperature,
            last_hidden_state=hidden,
            hidden_states=hidden_states,
        )

    def lm_forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> CausalLMOutput:
        """Language modeling through the same backbone, with GPT-2's own positions and the tied LM head.

        Returns `CausalLMOutput(logits=[B, L, vocab_size], loss=next-token cross-entropy when labels are given)`.
        """
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        logits = self.lm_head(hidden)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        return CausalLMOutput(loss=loss, logits=logits)

    @torch.no_grad()
    def get_action(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The action for the newest step of a context, in model space (normalized states, scaled returns).

        The context may be unbatched (`states [T, state_dim]`, `actions [T, act_dim]` or `[T]`,
        `returns_to_go [T]` or `[T, 1]`, `timesteps [T]`) or batched with a leading `B`. It is cut to its last K steps
        and left-padded to K. The newest action is a placeholder (it is not seen by its own prediction).

        Returns the continuous action `[act_dim]` (or `[B, act_dim]`), or the greedy discrete action index `[]`
        (or `[B]`).
        """
        unbatched = states.dim() == 2
        if unbatched:
            states, actions, returns_to_go, timesteps = (
                x.unsqueeze(0) for x in (states, actions, returns_to_go, timesteps)
            )
            if attention_mask is not None:
                attention_mask = attention_mask.unsqueeze(0)
        if returns_to_go.dim() == 2:
            returns_to_go = returns_to_go.unsqueeze(-1)
        batch_size, length = states.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones((batch_size, length), dtype=torch.long, device=states.device)
        k = self.config.context_length
        states, actions, returns_to_go, timesteps, attention_mask = (
            _left_pad(x[:, -k:], k) for x in (states, actions, returns_to_go, timesteps, attention_mask)
        )
        preds = self(
            states=states.to(self.dtype),
            actions=actions if self.config.action_space == "discrete" else actions.to(self.dtype),
            returns_to_go=returns_to_go.to(self.dtype),
            timesteps=timesteps.long(),
            attention_mask=attention_mask,
            state_tokens_only=True,
        ).action_preds[:, -1]
        if self.config.action_space == "discrete":
            preds = preds.argmax(dim=-1)
        return preds[0] if unbatched else preds

    def normalize_states(self, states: torch.Tensor) -> torch.Tensor:
        """`(states − state_mean) / state_std` with the statistics stored in the config."""
        if self.config.state_mean is not None:
            states = states - states.new_tensor(self.config.state_mean)
        if self.config.state_std is not None:
            states = states / states.new_tensor(self.config.state_std)
        return states

    def scale_returns(self, returns: torch.Tensor) -> torch.Tensor:
        """Returns-to-go as the model consumes them: `returns / return_scale`."""
        return returns / self.config.return_scale

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """`HFDecisionPreTrainedModel.from_pretrained`, which also loads a LoRA fine-tune: a folder or Hub repo with
        `adapter_config.json` (as `DecisionTransformerLoraModel.save_pretrained` writes it) gives a
        `DecisionTransformerLoraModel` (the `lora` extra): the backbone checkpoint its `config.json` names, with
        the adapter and the DT's own embeddings and head. `merge_lora` turns it into a plain model."""
        if is_lora_checkpoint(pretrained_model_name_or_path, kwargs):
            # peft is the optional `lora` extra: imported only for an adapter checkpoint
            from hf_decision.models.decision_transformer.lora import load_lora

            return load_lora(cls, pretrained_model_name_or_path, **kwargs)
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)

    @classmethod
    def from_pretrained_backbone(
        cls,
        name_or_path: str | PathLike,
        backbone_kwargs: dict | None = None,
        config: DecisionTransformerConfig | None = None,
        **config_kwargs,
    ) -> DecisionTransformerModel:
        """A DT whose backbone holds exactly the weights of a GPT-2-family checkpoint.

        `name_or_path` is a Hub id (`gpt2`, `distilgpt2`, ...) or a local folder with a `GPT2Model` or
        `GPT2LMHeadModel` checkpoint; `backbone_kwargs` go to its `from_pretrained` (`revision`, `token`, ...).
        As for `from_pretrained`, only safetensors weights are read unless `backbone_kwargs` has
        `use_safetensors=False` (pickle weights, read with `torch.load(weights_only=True)`).
        The DT's architecture fields (`hidden_size`, `n_layer`, `vocab_size`, ...) follow the checkpoint;
        `config_kwargs` set the rest (`state_dim`, `act_dim`, dropouts, `positional_embedding`, ...). Alternatively
        `config` is a whole `DecisionTransformerConfig` (that of a saved LoRA adapter, say), whose architecture fields
        must match the checkpoint's.

        All backbone tensors are copied, GPT-2's positional embedding `wpe` included. With the default
        `positional_embedding="constant"` only `wpe[0]` reaches the tokens (as a learned bias) and time is carried by
        the timestep embedding; with `"sequence"` the pretrained positions are used for the 3K tokens of a window.
        The DT's own embeddings and action head start from random initialization. Like `from_pretrained`, the
        model is returned in eval mode.
        """
        try:
            backbone = GPT2Model.from_pretrained(name_or_path, **{"use_safetensors": True, **(backbone_kwargs or {})})
        except OSError as error:  # offline or a typo: name the local way to a GPT-2
            raise OSError(f"{error}\n{local_backbone_hint()}") from error
        source = backbone.config
        if source.model_type != "gpt2":
            raise ValueError(f"{name_or_path} is a {source.model_type!r} checkpoint; a GPT-2-family one is required")
        if config is not None and config_kwargs:
            raise TypeError("pass either `config` or config keyword arguments, not both")
        if config is None:
            config_kwargs = {**config_kwargs, "backbone_name_or_path": str(name_or_path)}
            config = DecisionTransformerConfig.from_backbone_config(source, source_name=name_or_path, **config_kwargs)
        else:
            given = {name: getattr(config, name) for name in BACKBONE_ARCHITECTURE_FIELDS}
            DecisionTransformerConfig.from_backbone_config(source, source_name=name_or_path, **given)  # the checks
        model = cls(config)
        model.transformer.load_state_dict(backbone.state_dict(), strict=True)
        return model.eval()

    @classmethod
    def from_transformers_dt(cls, model_or_path, **config_kwargs) -> DecisionTransformerModel:
        """Convert a checkpoint of transformers' own `DecisionTransformerModel` (the format of the DTs on the Hub).

        `model_or_path` is such a model, a Hub id or a local folder. The converted model gives the same
        `action_preds` on the same inputs. transformers' DT stores neither K nor data statistics: pass
        `context_length`, `state_mean`, `state_std`, `return_scale`, `env_id`, ... as `config_kwargs`.
        Its unused `predict_state` / `predict_return` heads are dropped. The model is returned in eval mode.
        """
        return convert_transformers_dt(cls, model_or_path, **config_kwargs)


def _left_pad(x: torch.Tensor, length: int) -> torch.Tensor:
    """Pad dimension 1 of `x` with zeros at its start up to `length`."""
    missing = length - x.shape[1]
    if missing <= 0:
        return x
    return torch.cat([x.new_zeros((x.shape[0], missing, *x.shape[2:])), x], dim=1)
