"""REINFORCE (Williams 1992), as the seed writes it:

    ∇J(θ) = E_τ[R(τ) ∇ log P(τ, θ)],   P(τ, θ) = Π_h π_θ(a_h|s_h)   ⇒   θ ← θ + η/N Σ_i R(τ_i) Σ_h ∇ log π_θ(a_h|s_h)

for N sampled trajectories τ_i. The loss whose gradient is minus that estimate is
`L(θ) = −1/N Σ_i Σ_h w_{i,h} log π_θ(a_{i,h}|s_{i,h})` with weights `w = R(τ)` (or the reward-to-go
`G_h = Σ_{h'≥h} γ^{h'−h} r_{h'}`, which drops the rewards earned before step h), minus a baseline b(s_h).

A batch holds N whole episodes one after another; `episode_index [T]` says which episode each step belongs to and
`timesteps [T]` the step within it.
"""

from __future__ import annotations

import torch

from hf_decision.objectives.returns import discounted_returns_to_go

BASELINES = ("none", "mean", "learned")


def discounted_reward_to_go(rewards: torch.Tensor, episode_index: torch.Tensor, gamma: float) -> torch.Tensor:
    """`G_h = Σ_{h'≥h} γ^{h'−h} r_{h'}` within each episode, for consecutive episodes `[T]` → `[T]` (float64 sums,
    `hf_decision.objectives.returns.discounted_returns_to_go` on the episodes' lengths)."""
    lengths = torch.unique_consecutive(episode_index, return_counts=True)[1]
    returns = discounted_returns_to_go(rewards.detach().cpu().numpy(), lengths.cpu().numpy(), gamma)
    return torch.tensor(returns, dtype=torch.float32, device=rewards.device)


def policy_gradient_weights(
    rewards: torch.Tensor,
    episode_index: torch.Tensor,
    timesteps: torch.Tensor,
    gamma: float,
    reward_to_go: bool = True,
    baseline: str = "none",
    values: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-step weights `w` of the REINFORCE loss, and the returns a learned baseline regresses on.

    Without reward-to-go every step of τ_i gets `R(τ_i) = Σ_h γ^h r_h` (the seed's estimator). Baselines:
    "none"; "mean", the average over the batch's episodes of the same weight at the same timestep (for R(τ): the
    mean trajectory return); "learned", `values` = V(s_h) predicted by the model (detached here).

    Returns `(weights [T], returns [T])`.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    to_go = discounted_reward_to_go(rewards, episode_index, gamma)
    if reward_to_go:
        returns = to_go
    else:
        first = torch.nonzero(timesteps == 0).squeeze(1)  # R(τ_i) = G_0 of episode i
        returns = to_go[first][episode_index - episode_index.min()]
    if baseline == "none":
        return returns, returns
    if baseline == "learned":
        if values is None:
            raise ValueError("baseline='learned' needs the value head's predictions (config.value_head=True)")
        return returns - values.detach().float(), returns
    # "mean": b_h = average over the episodes still running at step h of their weight at h
    sums = torch.zeros(int(timesteps.max()) + 1, dtype=returns.dtype).index_add_(0, timesteps, returns)
    counts = torch.bincount(timesteps).to(returns.dtype)
    return returns - (sums / counts)[timesteps], returns


def reinforce_loss(log_probs: torch.Tensor, weights: torch.Tensor, num_episodes: int) -> torch.Tensor:
    """`−1/N Σ_i Σ_h w_{i,h} log π_θ(a_{i,h}|s_{i,h})`: its gradient is minus the REINFORCE estimate of ∇J."""
    return -(weights.detach().float() * log_probs.float()).sum() / num_episodes
