"""rliable aggregates: IQM, mean and the probability of improvement against numbers computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rliable", reason="the `stats` extra (rliable) is not installed")

from hf_decision.aggregation import interval_estimates, probability_of_improvement  # noqa: E402


def test_iqm_and_mean_of_one_task_by_hand():
    # IQM of 1, 2, 3, 4, 100 trims a quarter at each end (one run each side): mean of 2, 3, 4 = 3; the mean is 22
    estimates = interval_estimates({"a": [1.0, 2.0, 3.0, 4.0, 100.0]}, reps=200)["a"]
    assert estimates["iqm"].value == pytest.approx(3.0)
    assert estimates["mean"].value == pytest.approx(22.0)
    for interval in estimates.values():
        assert interval.low <= interval.value <= interval.high
    assert estimates["mean"].high > 40  # the bootstrap sees the outlier: the CI is wide, not a point


def test_iqm_over_tasks_pools_the_runs_of_every_task():
    # IQM over a [runs, tasks] matrix trims the pooled 8 scores: 2 low and 2 high out, mean of 3, 4, 5, 6 = 4.5
    scores = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0], [4.0, 8.0]])
    estimates = interval_estimates({"a": scores}, reps=200)["a"]
    assert estimates["iqm"].value == pytest.approx(4.5)
    assert estimates["mean"].value == pytest.approx(4.5)


def test_estimates_are_seeded_and_independent_of_other_methods():
    a = [10.0, 12.0, 9.0, 15.0, 11.0]
    np.random.seed(123)
    alone = interval_estimates({"a": a}, reps=200)["a"]
    after = np.random.random()
    np.random.seed(7)  # numpy's global generator in another state: the same estimates
    together = interval_estimates({"b": [1.0, 2.0, 3.0], "a": a}, reps=200)["a"]
    assert alone == together
    np.random.seed(123)
    assert np.random.random() == after  # the caller's global generator is left as it was


def test_probability_of_improvement_by_hand():
    # pairs (x, y) of 3, 4, 5 against 1, 2, 3: X wins 8 of 9 and ties one (3 vs 3, counted half) -> 8.5 / 9
    p = probability_of_improvement([3.0, 4.0, 5.0], [1.0, 2.0, 3.0], reps=200)
    assert p.value == pytest.approx(8.5 / 9)
    assert p.low <= p.value <= p.high <= 1.0
    # different numbers of runs; every run of X beats every run of Y -> exactly 1 with a CI of [1, 1]
    p = probability_of_improvement([10.0, 11.0, 12.0, 13.0, 14.0], [1.0, 2.0, 3.0], reps=200)
    assert (p.value, p.low, p.high) == (1.0, 1.0, 1.0)
    # symmetric: P(X > Y) + P(Y > X) = 1
    x, y = [1.0, 5.0, 2.0, 8.0], [3.0, 4.0, 6.0]
    forward, backward = (probability_of_improvement(a, b, reps=200).value for a, b in ((x, y), (y, x)))
    assert forward + backward == pytest.approx(1.0)


def test_probability_of_improvement_averages_over_tasks():
    # task 1: X always wins (1.0); task 2: X always loses (0.0) -> 0.5
    x = np.array([[5.0, 0.0], [6.0, 1.0]])
    y = np.array([[1.0, 5.0], [2.0, 6.0]])
    assert probability_of_improvement(x, y, reps=200).value == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: interval_estimates({"a": []}, reps=200), "at least one"),
        (lambda: interval_estimates({"a": [1.0, float("inf")]}), "finite"),
        (lambda: probability_of_improvement(np.ones((2, 2)), np.ones((2, 3))), "same tasks"),
    ],
)
def test_refuses_bad_scores(call, message):
    with pytest.raises(ValueError, match=message):
        call()
