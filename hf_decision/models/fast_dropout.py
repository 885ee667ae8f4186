"""Dropout with cheaper masks on CPU: for the model's dropout layers and for GPT-2's attention probabilities.

On CPU, torch draws a dropout mask one float Bernoulli sample at a time from its Mersenne Twister, which costs more
than the matrix products of a small Decision Transformer. Here the mask comes from 16-bit words of numpy's SFC64
generator, seeded by one draw from torch's generator, so `torch.manual_seed` (and a checkpoint's RNG state) still
fixes it. Each element is kept with probability `q = round((1 − p)·2¹⁶) / 2¹⁶` (within 2⁻¹⁷ of 1 − p) and scaled by
`1/q`, so the expectation is exactly the input, as with `nn.Dropout`. The masks differ from torch's for the same seed.
Other devices use torch's dropout.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from transformers import AttentionInterface, GPT2Model
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

# The name under which `eager_attention_with_fast_dropout` is registered in transformers' `AttentionInterface`.
FAST_DROPOUT_ATTENTION = "hf_decision_eager_fast_dropout"
_WORD = 2**16


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Functional `FastDropout` (see the module docstring): torch's `dropout` off CPU, when not training or p = 0."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return nn.functional.dropout(x, p, training=True)
    threshold = round((1.0 - p) * _WORD)  # keep when a word is below it
    if threshold == _WORD:  # p < 2⁻¹⁷: keeping everything is within 2⁻¹⁷ of 1 − p
        return x
    if threshold == 0:
        return x * 0.0
    n = x.numel()
    seed = int(torch.randint(2**62, ()))
    words = np.random.SFC64(seed).random_raw((n + 3) // 4).view(np.uint16)[:n]  # uniform on [0, 2¹⁶)
    keep = torch.from_numpy((words < threshold).view(np.uint8)).view(x.shape).to(x.dtype)
    return x * keep * (_WORD / threshold)


class FastDropout(nn.Dropout):
    """`nn.Dropout` whose mask is drawn by `fast_dropout` on CPU (same expectation, keep probability within 2⁻¹⁷)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inplace:
            return super().forward(x)
        return fast_dropout(x, self.p, self.training)


def eager_attention_with_fast_dropout(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention as transformers' eager GPT-2 attention computes it (`softmax(QKᵀ·scale + mask)`,
    cast to V's dtype), with the attention probabilities dropped by `fast_dropout`. transformers passes `dropout = 0`
    outside training."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = nn.functional.softmax(scores, dim=-1).type(value.dtype)
    probs = fast_dropout(probs, dropout, training=dropout > 0)
    return torch.matmul(probs, value).transpose(1, 2), probs


AttentionInterface.register(FAST_DROPOUT_ATTENTION, eager_attention_with_fast_dropout)
AttentionMaskInterface.register(FAST_DROPOUT_ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS["eager"])  # additive float masks


def use_fast_dropout(model: nn.Module, attention: bool = True) -> int:
    """Replace every `nn.Dropout` module of `model` by a `FastDropout` with the same `p`, and (with `attention`) switch
    each GPT-2 backbone that drops attention probabilities with eager or SDPA attention to
    `eager_attention_with_fast_dropout` (the same computation; with dropout on CPU, SDPA runs its math kernel anyway;
    on a GPU, keep SDPA with `attention=False`). Returns the number of dropout layers replaced.

    Dropout layers hold no weights and the attention implementation is not saved with the config, so checkpoints are
    unchanged.
    """
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                setattr(module, name, FastDropout(child.p, child.inplace).train(child.training))
                replaced += 1
        if not attention or not isinstance(module, GPT2Model) or module.config.attn_pdrop == 0:
            continue
        if module.config._attn_implementation in ("eager", "sdpa"):
            module.set_attn_implementation(FAST_DROPOUT_ATTENTION)
    return replaced
