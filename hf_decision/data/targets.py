"""Which returns to ask a Decision Transformer for: targets read off the dataset's episode returns.

A DT is trained to reproduce the return it is conditioned on, so the returns worth asking for are the ones its data
holds: a sweep from the low end of the episode-return distribution to its best episode, and one target beyond it
(where a DT either extrapolates or, more often, saturates at the best behaviour it has seen).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasets import Dataset

from hf_decision.data.trajectories import TrajectoryStore

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
DEFAULT_BEYOND = 1.2


def episode_returns(source: TrajectoryStore | Dataset | Sequence[float] | np.ndarray) -> np.ndarray:
    """Undiscounted episode returns of a `TrajectoryStore`, a canonical episode `Dataset`, or an array of them."""
    if isinstance(source, TrajectoryStore):
        returns = source.episode_returns.numpy()
    elif isinstance(source, Dataset):
        returns = np.array([np.sum(r, dtype=np.float64) for r in source["rewards"]])
    else:
        returns = np.asarray(source, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64).reshape(-1)
    if returns.size == 0:
        raise ValueError("no episodes: target returns are read off the dataset's episode returns")
    if not np.isfinite(returns).all():
        raise ValueError("the dataset's episode returns are not all finite; no target return can be suggested")
    return returns


def suggest_target_returns(
    source: TrajectoryStore | Dataset | Sequence[float] | np.ndarray,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    beyond: float | None = DEFAULT_BEYOND,
    decimals: int = 1,
) -> list[float]:
    """Target returns for evaluating a Decision Transformer, read off the dataset's episode returns.

    Args:
        source: a `TrajectoryStore`, a canonical episode dataset, or the episode returns themselves.
        quantiles: levels in [0, 1] of the episode-return distribution to ask for (numpy's linear interpolation).
        beyond: one more target past the best episode, at `best + (beyond − 1)·|best|` (1.2: 20 % beyond it);
            None for none.
        decimals: targets are rounded to this many decimals (readable keys in logs and results files).

    Returns:
        The best episode return first (the target an agent acts at by default, as `config.target_returns[0]`),
        then the quantiles and the target beyond, ascending; duplicates (e.g. a dataset of equal returns) removed.

    Example: episode returns 0, 10, …, 100 give `[100.0, 10.0, 50.0, 90.0, 120.0]`.
    """
    levels = np.asarray(quantiles, dtype=np.float64)
    if ((levels < 0) | (levels > 1)).any():
        raise ValueError(f"quantiles must lie in [0, 1], got {list(quantiles)}")
    if beyond is not None and beyond < 1:
        raise ValueError(f"beyond must be >= 1 (a factor past the best return), got {beyond}")
    returns = episode_returns(source)
    best = float(returns.max())
    others = [float(q) for q in np.quantile(returns, levels)] if levels.size else []
    if beyond is not None and beyond > 1:
        others.append(best + (beyond - 1.0) * abs(best))
    targets = [round(best, decimals)]
    for value in sorted(round(v, decimals) for v in others):
        if value not in targets:
            targets.append(value)
    return targets


__all__ = ["episode_returns", "suggest_target_returns"]
