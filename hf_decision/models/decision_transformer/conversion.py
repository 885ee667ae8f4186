"""Conversion of transformers' own `DecisionTransformerModel` checkpoints (the format of the DTs on the Hub)."""

from __future__ import annotations

from typing import Any

from transformers import DecisionTransformerModel as TransformersDT

from hf_decision.models.decision_transformer.configuration_decision_transformer import (
    BACKBONE_FIELDS,
    DecisionTransformerConfig,
)


def convert_transformers_dt(cls: type, model_or_path: Any, **config_kwargs: Any):
    """`cls.from_transformers_dt`: build a `cls` (an hf_decision `DecisionTransformerModel`) with the weights of a
    transformers `DecisionTransformerModel` (a model, a Hub id or a folder); see that classmethod."""
    source = (
        model_or_path if isinstance(model_or_path, TransformersDT) else TransformersDT.from_pretrained(model_or_path)
    )
    src = source.config
    fields = dict.fromkeys(BACKBONE_FIELDS)
    fields.update(dict.fromkeys(("state_dim", "act_dim", "max_ep_len", "action_tanh")))
    config = DecisionTransformerConfig(
        **{name: getattr(src, name) for name in fields},
        positional_embedding="constant",
        **config_kwargs,
    )
    model = cls(config)
    state_dict = {}
    for key, value in source.state_dict().items():
        if key.startswith(("predict_state.", "predict_return.")) or key.endswith((".attn.bias", ".masked_bias")):
            continue
        key = key.replace("encoder.", "transformer.", 1).replace("predict_action.0.", "predict_action.", 1)
        state_dict[key] = value
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise ValueError(f"cannot convert {type(source).__name__}: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    return model.to(dtype=source.dtype).eval()
