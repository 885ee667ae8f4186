import numpy as np
import pytest

from hf_decision.data import add_returns_to_go, trajectory_statistics


def test_map_adds_per_episode_columns(dataset):
    out = add_returns_to_go(dataset)
    assert out[0]["returns_to_go"] == [6.0, 5.0, 3.0]  # rewards 1, 2, 3
    assert out[1]["returns_to_go"] == [15.0, 14.0, 12.0, 9.0, 5.0]
    assert out[1]["timesteps"] == [0, 1, 2, 3, 4]
    assert out["episode_return"] == [6.0, 15.0, 3.0]
    assert out["episode_length"] == [3, 5, 2]
    discounted = add_returns_to_go(dataset, gamma=0.5)
    assert discounted[2]["returns_to_go"] == [2.0, 2.0]  # 1 + 0.5*2, 2
    assert discounted["episode_return"] == [6.0, 15.0, 3.0]  # undiscounted


def test_map_batches_do_not_change_the_result(dataset):
    assert add_returns_to_go(dataset, batch_size=1)[:] == add_returns_to_go(dataset, batch_size=1000)[:]


def test_statistics():
    obs = np.array([[0.0, 1.0], [2.0, 1.0]])
    stats = trajectory_statistics(obs, np.array([10.0, 30.0]), np.array([1, 1]))
    assert stats["state_mean"] == [1.0, 1.0]
    assert stats["state_std"] == pytest.approx([1.0 + 1e-6, 1e-6])
    assert (stats["return_mean"], stats["return_min"], stats["return_max"]) == (20.0, 10.0, 30.0)
    assert (stats["num_episodes"], stats["num_steps"]) == (2, 2)
