"""The Online Decision Transformer's loss (Zheng, Zhang, Grover 2022, eq. 5–6): a stochastic policy trained by
negative log-likelihood minus a temperature-weighted entropy, the temperature learned against a target entropy.

Symbols of the paper: π_θ the policy, λ the temperature (SAC's α; not the λ of the language loss), β the target
entropy, H_θ the policy's entropy averaged over the real steps of a batch. The two problems

    min_θ  J_π(θ) = −1/N Σ_t log π_θ(a_t | s_≤t, g_≤t)  −  λ · H_θ          (λ held fixed)
    min_λ  J_λ(λ) = λ · (H_θ − β)                                            (H_θ held fixed)

are minimized together as `J_π + J_λ` with λ detached in `J_π` and `H_θ` detached in `J_λ`, so one backward pass
gives each its own gradient. λ = exp(log λ) is learned through `log λ`: while the entropy is below β the gradient
of `J_λ` raises λ, which weighs the entropy bonus more, and the other way round.

The distributions the policy head parameterizes, and their log-densities and entropies, are written out here too:
a tanh-squashed diagonal Gaussian (continuous actions in [-1, 1]), a plain diagonal Gaussian, and a categorical.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class OnlineDecisionLoss(NamedTuple):
    """The parts of `online_decision_loss` (scalars); `loss` is what is minimized."""

    loss: torch.Tensor  # J_π + J_λ
    nll: torch.Tensor  # −1/N Σ log π_θ(a_t | …)
    entropy: torch.Tensor  # H_θ
    temperature_loss: torch.Tensor  # J_λ = λ · (H_θ − β), with gradient to log λ only
    temperature: torch.Tensor  # λ (detached)


def online_decision_loss(
    log_prob: torch.Tensor,
    entropy: torch.Tensor,
    log_temperature: torch.Tensor,
    target_entropy: float,
    attention_mask: torch.Tensor | None = None,
) -> OnlineDecisionLoss:
    """`J_π + J_λ` over the real (unpadded) steps of a batch of windows (see the module docstring).

    Args:
        log_prob: `[B, K]` log π_θ(a_t | …) of the target actions.
        entropy: `[B, K]` the entropy of π_θ(· | …) at each step (exact, or a one-sample estimate).
        log_temperature: the scalar parameter log λ.
        target_entropy: β.
        attention_mask: `[B, K]`, 1 for real steps; `None` means every step is real.
    """
    real = torch.ones_like(log_prob, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
    nll = -log_prob[real].float().mean()
    entropy_mean = entropy[real].float().mean()
    temperature = log_temperature.float().exp()
    policy_loss = nll - temperature.detach() * entropy_mean
    temperature_loss = temperature * (entropy_mean.detach() - target_entropy)
    return OnlineDecisionLoss(
        policy_loss + temperature_loss, nll, entropy_mean, temperature_loss, temperature.detach()
    )


def gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """`log N(a; μ, σ²)` of a diagonal Gaussian, summed over the last (action) dimension."""
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.square() - log_std - LOG_SQRT_2PI).sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """`Σ_d (½ + ½ log 2π + log σ_d)`, the entropy of a diagonal Gaussian."""
    return (0.5 + LOG_SQRT_2PI + log_std).sum(-1)


def _log_tanh_jacobian(pre_squash: torch.Tensor) -> torch.Tensor:
    """`Σ_d log(1 − tanh²(u_d))`, written as `2(log 2 − u − softplus(−2u))` so it stays finite for large |u|."""
    return (2.0 * (math.log(2.0) - pre_squash - F.softplus(-2.0 * pre_squash))).sum(-1)


def squashed_gaussian_log_prob(
    mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor, epsilon: float = 1e-6
) -> torch.Tensor:
    """`log π(a)` of `a = tanh(u)`, `u ~ N(μ, σ²)`: `log N(atanh(a); μ, σ²) − Σ_d log(1 − a_d²)`.

    Actions are clamped to `[−1 + ε, 1 − ε]` first: a dataset action on the bound itself has infinite `atanh`.
    """
    pre_squash = torch.atanh(actions.clamp(-1.0 + epsilon, 1.0 - epsilon))
    return gaussian_log_prob(mean, log_std, pre_squash) - _log_tanh_jacobian(pre_squash)


def squashed_gaussian_sample(mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The reparameterized sample `tanh(μ + σ·ε)` for standard normal `noise` ε."""
    return torch.tanh(mean + log_std.exp() * noise)


def squashed_gaussian_entropy(mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """A one-sample estimate `−log π(ã)` of the entropy of a tanh-squashed Gaussian (which has no closed form), at the
    reparameterized sample `ã = tanh(u)`, `u = μ + σ·ε`: `−log N(u; μ, σ²) + Σ_d log(1 − tanh²(u_d))`. Differentiable
    in μ and σ through u, as in ODT."""
    pre_squash = mean + log_std.exp() * noise
    return -(gaussian_log_prob(mean, log_std, pre_squash) - _log_tanh_jacobian(pre_squash))


def categorical_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """`log softmax(logits)[a]`; `actions` index the last dimension of `logits`."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """`−Σ_a p_a log p_a` with `p = softmax(logits)`."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    return -(log_p.exp() * log_p).sum(-1)
