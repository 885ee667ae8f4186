"""The backbone run with its last block on the state tokens only (see `backbone_state_tokens`)."""

from __future__ import annotations

import inspect

import torch
from transformers import GPT2Model
from transformers.masking_utils import create_causal_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.gpt2.modeling_gpt2 import eager_attention_forward

from hf_decision.models.fast_dropout import FAST_DROPOUT_ATTENTION

_STATE_TOKENS = slice(1, None, 3)  # (R̂_t, s_t, a_t) per step
_STATE_TOKEN_ATTENTION = ("eager", "sdpa", FAST_DROPOUT_ATTENTION)
# `create_causal_mask` renamed its cache argument from `past_key_values` to `cache` within transformers 5.
_MASK_CACHE_ARGUMENT = "cache" if "cache" in inspect.signature(create_causal_mask).parameters else "past_key_values"


def state_tokens_supported(gpt2: GPT2Model) -> bool:
    """Whether `backbone_state_tokens` computes exactly what `gpt2` would: its attention functions take a query
    shorter than the keys with an explicit mask, and no block runs a path of its own."""
    config = gpt2.config
    return (
        config._attn_implementation in _STATE_TOKEN_ATTENTION
        and not (config._attn_implementation == "eager" and config.reorder_and_upcast_attn)
        and not config.add_cross_attention
        and not (gpt2.gradient_checkpointing and gpt2.training)
    )


def backbone_state_tokens(
    gpt2: GPT2Model, tokens: torch.Tensor, token_mask: torch.Tensor, position_ids: torch.Tensor
) -> torch.Tensor:
    """`gpt2(inputs_embeds=tokens, …).last_hidden_state[:, 1::3]`, with the last block run on the state tokens only.

    Earlier blocks need every token (later tokens attend to them), but the last block's output is only read at the
    state tokens, so there its queries, output projection, MLP and final LayerNorm run on a third of the tokens. The
    newest action token, which no other token attends to, is left out altogether. The steps are those of
    transformers' `GPT2Model`, `GPT2Block` and `GPT2Attention` forwards.
    """
    tokens, token_mask, position_ids = tokens[:, :-1], token_mask[:, :-1], position_ids[:, :-1]
    hidden = gpt2.drop(tokens + gpt2.wpe(position_ids))
    mask = create_causal_mask(
        config=gpt2.config,
        inputs_embeds=tokens,
        attention_mask=token_mask,
        position_ids=position_ids,
        **{_MASK_CACHE_ARGUMENT: None},
    )
    for block in gpt2.h[:-1]:
        hidden = block(hidden, attention_mask=mask)

    block = gpt2.h[-1]
    attn = block.attn
    query, key, value = attn.c_attn(block.ln_1(hidden)).split(attn.split_size, dim=2)
    query = query[:, _STATE_TOKENS]
    if mask is None:  # SDPA without padding leaves the causal mask to the kernel, which would align it wrongly here
        length = tokens.shape[1]
        mask = torch.ones(length, length, dtype=torch.bool, device=tokens.device).tril()[None, None]
    query, key, value = (x.view(*x.shape[:-1], -1, attn.head_dim).transpose(1, 2) for x in (query, key, value))
    attention = ALL_ATTENTION_FUNCTIONS.get_interface(gpt2.config._attn_implementation, eager_attention_forward)
    attended, _ = attention(
        attn,
        query,
        key,
        value,
        mask[:, :, _STATE_TOKENS],
        dropout=attn.attn_dropout.p if attn.training else 0.0,
        scaling=attn.scaling,
    )
    attended = attn.resid_dropout(attn.c_proj(attended.reshape(*attended.shape[:-2], -1).contiguous()))
    hidden = attended + hidden[:, _STATE_TOKENS]
    hidden = hidden + block.mlp(block.ln_2(hidden))
    return gpt2.ln_f(hidden)
