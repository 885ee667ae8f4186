"""The stochastic policy of an Online Decision Transformer (`config.stochastic_policy`): its log-std head's bound,
its loss, and how an action is sampled. The distributions and the loss are those of
`hf_decision.objectives.online_decision`."""

from __future__ import annotations

import torch

from hf_decision.models.decision_transformer.configuration_decision_transformer import DecisionTransformerConfig
from hf_decision.objectives.online_decision import (
    OnlineDecisionLoss,
    categorical_entropy,
    categorical_log_prob,
    gaussian_entropy,
    gaussian_log_prob,
    online_decision_loss,
    squashed_gaussian_entropy,
    squashed_gaussian_log_prob,
    squashed_gaussian_sample,
)

LOG_STD_BOUNDS = (-5.0, 2.0)  # ODT's


def bounded_log_std(raw: torch.Tensor) -> torch.Tensor:
    """The log-std head's output mapped smoothly into `LOG_STD_BOUNDS` with a tanh (as ODT does)."""
    low, high = LOG_STD_BOUNDS
    return low + 0.5 * (high - low) * (torch.tanh(raw) + 1.0)


def stochastic_policy_loss(
    config: DecisionTransformerConfig,
    mean: torch.Tensor,
    log_std: torch.Tensor | None,
    log_temperature: torch.Tensor,
    labels: torch.Tensor,
    attention_mask: torch.Tensor | None,
) -> OnlineDecisionLoss:
    """`online_decision_loss` of the policy head's output: `mean` is μ (continuous, before any tanh) or the logits
    (discrete). The entropy of a tanh-squashed Gaussian is a one-sample estimate drawn with torch's global
    generator; the others are exact."""
    if config.action_space == "discrete":
        log_prob, entropy = categorical_log_prob(mean, labels), categorical_entropy(mean)
    elif config.action_tanh:
        mean, log_std = mean.float(), log_std.float()
        log_prob = squashed_gaussian_log_prob(mean, log_std, labels.float())
        entropy = squashed_gaussian_entropy(mean, log_std, torch.randn_like(mean))
    else:
        mean, log_std = mean.float(), log_std.float()
        log_prob, entropy = gaussian_log_prob(mean, log_std, labels.float()), gaussian_entropy(log_std)
    return online_decision_loss(log_prob, entropy, log_temperature, config.entropy_target, attention_mask)


def sample_action(
    config: DecisionTransformerConfig,
    mean: torch.Tensor,
    log_std: torch.Tensor | None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One action per row drawn from π: a categorical index of the logits `mean` (discrete), else
    `tanh(μ + σ·ε)` (or `μ + σ·ε` without `action_tanh`), ε standard normal from `generator`."""
    if config.action_space == "discrete":
        probs = torch.softmax(mean.float(), dim=-1)
        return torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator).reshape(probs.shape[:-1])
    noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=torch.float32)
    if config.action_tanh:
        return squashed_gaussian_sample(mean.float(), log_std.float(), noise)
    return mean.float() + log_std.float().exp() * noise
