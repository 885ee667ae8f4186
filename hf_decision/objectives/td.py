"""The DQN temporal-difference loss.

    L(θ) = 1/N Σ_i [Q_θ(s_i, a_i) − y_i]²,    y_i = r_i + γ (1 − done_i) max_a' Q_θ'(s'_i, a')

with θ' the target network. Double DQN (van Hasselt et al. 2016) picks a' with the online network and values it
with the target one: y_i = r_i + γ (1 − done_i) Q_θ'(s'_i, argmax_a' Q_θ(s'_i, a')).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TD_LOSS_TYPES = ("mse", "huber")


def td_target(
    rewards: torch.Tensor,
    dones: torch.Tensor,
    next_q_target: torch.Tensor,
    gamma: float,
    next_q_online: torch.Tensor | None = None,
) -> torch.Tensor:
    """`y = r + γ (1 − done) max_a' Q_θ'(s', a')`, or the Double-DQN target when `next_q_online` is given.

    Args:
        rewards, dones: `[B]`; `done = 1` only where the episode *terminated* (a time-limit truncation bootstraps).
        next_q_target: `[B, A]` Q_θ'(s', ·) of the target network.
        gamma: discount γ.
        next_q_online: `[B, A]` Q_θ(s', ·) of the online network (Double DQN's action choice).

    Returns `[B]` float32 targets, with no gradient.
    """
    next_q_target = next_q_target.detach().float()
    if next_q_online is None:
        next_value = next_q_target.max(dim=1).values
    else:
        best = next_q_online.detach().argmax(dim=1, keepdim=True)
        next_value = next_q_target.gather(1, best).squeeze(1)
    return rewards.float() + gamma * (1.0 - dones.float()) * next_value


def td_loss(
    action_values: torch.Tensor, targets: torch.Tensor, loss_type: str = "mse", huber_delta: float = 1.0
) -> torch.Tensor:
    """`1/N Σ_i ℓ(Q_θ(s_i, a_i) − y_i)` with ℓ the square ("mse") or the Huber function ("huber", `huber_delta`)."""
    if loss_type == "mse":
        return F.mse_loss(action_values.float(), targets.float())
    if loss_type == "huber":
        return F.huber_loss(action_values.float(), targets.float(), delta=huber_delta)
    raise ValueError(f"loss_type must be one of {TD_LOSS_TYPES}, got {loss_type!r}")
