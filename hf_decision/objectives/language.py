"""The next-token (causal language modeling) loss kept alongside the decision loss (Reid et al. 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Mean next-token cross-entropy: the token at position t+1 is predicted from positions ≤ t.

    Args:
        logits: `[B, L, vocab]` scores for every position.
        labels: `[B, L]` token ids, usually the input ids themselves; positions equal to `ignore_index` (padding)
            are not predicted.

    Returns:
        `−Σ_{b,t: labels[b,t+1] ≠ ignore} log softmax(logits[b,t])[labels[b,t+1]] / N`, N the number of such targets.
    """
    shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    return F.cross_entropy(shift_logits.float(), shift_labels, ignore_index=ignore_index)
