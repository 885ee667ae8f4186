"""Target returns read off a dataset's episode returns, checked against quantiles computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from hf_decision.data import TrajectoryStore, episodes_to_dataset, suggest_target_returns


def test_quantiles_best_and_beyond_by_hand():
    # returns 0, 10, ..., 100: linear quantiles 10 / 50 / 90 % fall on 10, 50, 90; best 100; 20 % beyond it 120
    assert suggest_target_returns(np.arange(0, 101, 10)) == [100.0, 10.0, 50.0, 90.0, 120.0]


def test_interpolated_quantiles_and_other_levels():
    # returns 1, 2, 4, 8: the 25 % quantile sits at position 0.75 between 1 and 2 -> 1.75; the median between
    # 2 and 4 -> 3.0; best 8; 50 % beyond it -> 12; rounded to one decimal by default
    assert suggest_target_returns([8, 1, 4, 2], quantiles=(0.25, 0.5), beyond=1.5, decimals=2) == [8, 1.75, 3, 12]
    assert suggest_target_returns([8, 1, 4, 2], quantiles=(0.25,), beyond=None) == [8.0, 1.8]
    assert suggest_target_returns([8, 1, 4, 2], quantiles=(), beyond=None) == [8.0]


def test_negative_best_return_goes_up_by_its_magnitude():
    # best -100: 20 % beyond it is -100 + 0.2 * 100 = -80, above the best as a target should be
    assert suggest_target_returns([-300.0, -100.0], quantiles=(0.5,)) == [-100.0, -200.0, -80.0]


def test_equal_returns_give_no_duplicate_targets():
    assert suggest_target_returns([5.0, 5.0, 5.0], beyond=None) == [5.0]


def test_reads_stores_and_episode_datasets():
    episodes = [
        {"observations": np.zeros((n, 2), np.float32), "actions": np.zeros((n, 1), np.float32),
         "rewards": np.full(n, r, np.float32), "terminals": np.eye(1, n, n - 1, dtype=bool)[0],
         "timeouts": np.zeros(n, bool)}
        for n, r in ((2, 1.0), (4, 2.0), (3, 10.0))
    ]  # fmt: skip
    dataset = episodes_to_dataset(episodes)  # returns 2, 8, 30
    expected = [30.0, 3.2, 8.0, 25.6, 36.0]  # quantiles at positions 0.2, 1.0, 1.8 of (2, 8, 30)
    assert suggest_target_returns(dataset) == expected
    assert suggest_target_returns(TrajectoryStore.from_dataset(dataset)) == expected


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ([], {}, "no episodes"),
        ([1.0, float("nan")], {}, "not all finite"),
        ([1.0], {"quantiles": (1.5,)}, "quantiles must lie in"),
        ([1.0], {"beyond": 0.5}, "beyond must be >= 1"),
    ],
)
def test_refuses_bad_input(source, kwargs, message):
    with pytest.raises(ValueError, match=message):
        suggest_target_returns(Dataset.from_dict({"rewards": []}) if source == [] else source, **kwargs)
