"""The Decision Transformer's action loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def action_loss(
    action_preds: torch.Tensor,
    target_actions: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    action_space: str = "continuous",
) -> torch.Tensor:
    """Mean action loss over the real (unpadded) steps of a batch of windows.

    Args:
        action_preds: `[B, K, act_dim]` predicted actions (continuous) or logits (discrete).
        target_actions: `[B, K, act_dim]` float (continuous) or `[B, K]` long (discrete).
        attention_mask: `[B, K]`, 1 for a real step and 0 for padding; `None` means every step is real.
        action_space: `"continuous"` or `"discrete"`.

    Returns:
        Continuous: `Σ_real Σ_d (â_d − a_d)² / (N_real · act_dim)`, the mean squared error over real steps and action
        dimensions. Discrete: `−Σ_real log softmax(logits)[a] / N_real`, the mean cross-entropy over real steps.
    """
    if attention_mask is None:
        attention_mask = torch.ones(action_preds.shape[:2], dtype=torch.bool, device=action_preds.device)
    real = attention_mask.bool()
    preds = action_preds[real].float()  # the loss is float32 under any autocast precision
    if action_space == "continuous":
        return F.mse_loss(preds, target_actions[real].float())
    if action_space == "discrete":
        return F.cross_entropy(preds, target_actions[real].long())
    raise ValueError(f"action_space must be 'continuous' or 'discrete', got {action_space!r}")
