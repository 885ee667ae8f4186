"""Returns-to-go of consecutive episodes: the return convention of the datasets (Decision Transformer windows) and of
REINFORCE's reward-to-go. `R̂_t = Σ_{h≥t} γ^{h−t} r_h`, summed to the end of the stored episode and including the
reward of step t; a truncated episode is not bootstrapped."""

from __future__ import annotations

import numpy as np


def discounted_returns_to_go(rewards: np.ndarray, lengths: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Returns-to-go of flat `rewards` (`[N]`) cut into episodes of `lengths` (`[E]`), in float64.

    γ = 1 is a reversed cumulative sum; γ < 1 runs backwards over time, vectorized across episodes.
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma}")
    rewards = np.asarray(rewards, dtype=np.float64)
    ends = np.cumsum(lengths)
    if gamma == 1.0:
        inclusive = np.cumsum(rewards)
        episode_of_step = np.repeat(np.arange(len(lengths)), lengths)
        before = inclusive - rewards
        return inclusive[ends - 1][episode_of_step] - before
    returns = np.zeros_like(rewards)
    running = np.zeros(len(lengths))
    for back in range(1, int(lengths.max()) + 1):  # step ends-back of every episode still that long
        alive = lengths >= back
        idx = ends[alive] - back
        running[alive] = rewards[idx] + gamma * running[alive]
        returns[idx] = running[alive]
    return returns
