"""Scores over seeds and tasks, aggregated the way the field recommends (Agarwal et al. 2021, `rliable`).

A run's score is one number (a D4RL-normalized return, say); a method has a `[runs, tasks]` matrix of them. With a
handful of seeds a mean ± std says little, so this module reports, through `rliable` (extra `stats`):

- the interquartile mean (IQM) and the mean, each with a stratified-bootstrap confidence interval (runs resampled
  within each task);
- the probability of improvement P(X > Y): the chance that a run of X beats a run of Y on a task (ties count half),
  averaged over tasks, with its confidence interval from bootstrapping the runs of X and Y independently.

Bootstraps are seeded, so a report renders the same numbers every time from the same scores.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_REPS = 2000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    value: float
    low: float
    high: float

    def format(self, digits: int = 1) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def _rliable():
    try:
        return importlib.import_module("rliable.library"), importlib.import_module("rliable.metrics")
    except ImportError as error:
        raise ImportError(
            "aggregating scores needs rliable; install the `stats` extra: pip install 'hf_decision[stats]'"
        ) from error


def _bootstrap(library, scores: dict, func, reps: int, confidence: float, seed: int):
    """`rliable.library.get_interval_estimates`, seeded: rliable's stratified bootstrap draws from numpy's global
    generator (seeded here, and put back as it was afterwards), its independent one from arch's `random_state`
    (which arch warns will move to `seed`)."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)
            return library.get_interval_estimates(
                scores, func, reps=reps, confidence_interval_size=confidence, random_state=np.random.RandomState(seed)
            )
    finally:
        np.random.set_state(state)


def _matrix(scores: Sequence[float] | Sequence[Sequence[float]] | np.ndarray, name: str) -> np.ndarray:
    """`[runs, tasks]` float64; a flat sequence is the runs of one task."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(
            f"{name}: scores must be [runs] or [runs, tasks] with at least one of each, got {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: scores must be finite")
    return array


def interval_estimates(
    scores: Mapping[str, Sequence[float] | Sequence[Sequence[float]] | np.ndarray],
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, dict[str, Interval]]:
    """IQM and mean of each method's `[runs, tasks]` scores (or `[runs]` for one task), with stratified-bootstrap
    confidence intervals: `{method: {"iqm": Interval, "mean": Interval}}`."""
    library, metrics = _rliable()
    matrices = {name: _matrix(values, name) for name, values in scores.items()}

    def both(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])

    result = {}
    for name, matrix in matrices.items():  # one call per method, each with the same seed: order does not matter
        points, intervals = _bootstrap(library, {name: matrix}, both, reps, confidence, seed)
        (iqm, mean), ((iqm_low, mean_low), (iqm_high, mean_high)) = points[name], intervals[name]
        result[name] = {
            "iqm": Interval(float(iqm), float(iqm_low), float(iqm_high)),
            "mean": Interval(float(mean), float(mean_low), float(mean_high)),
        }
    return result


def probability_of_improvement(
    x: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    y: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    reps: int = DEFAULT_REPS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """P(X > Y) over tasks: for each task, the fraction of (run of X, run of Y) pairs in which X scores higher (ties
    count half), averaged over tasks; X and Y may have different numbers of runs, but the same tasks."""
    library, metrics = _rliable()
    x, y = _matrix(x, "x"), _matrix(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must cover the same tasks, got {x.shape[1]} and {y.shape[1]}")
    points, intervals = _bootstrap(
        library, {"x,y": (x, y)}, metrics.probability_of_improvement, reps, confidence, seed
    )
    low, high = np.asarray(intervals["x,y"]).reshape(-1)
    return Interval(float(points["x,y"]), float(low), float(high))


__all__ = ["Interval", "interval_estimates", "probability_of_improvement"]
