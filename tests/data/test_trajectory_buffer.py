"""The Online DT's trajectory replay buffer: top-N fill, oldest out, hindsight relabelling, checkpoint round-trip."""

import numpy as np
import pytest
import torch

from hf_decision.data import DecisionCollator, TrajectoryReplayBuffer, hindsight_returns_to_go


def episode(rewards, first_obs=0.0, terminated=True, **extra):
    n = len(rewards)
    return {
        "observations": np.full((n, 2), first_obs, np.float32) + np.arange(n, dtype=np.float32)[:, None],
        "actions": np.arange(n, dtype=np.int64) % 2,
        "rewards": np.asarray(rewards, np.float32),
        "terminated": terminated,
        **extra,
    }


def returns(buffer):
    return [float(e["rewards"].sum()) for e in buffer.episodes]


def test_hindsight_returns_to_go_are_the_achieved_ones():
    assert hindsight_returns_to_go(np.array([1.0, 2.0, 3.0])).tolist() == [6.0, 5.0, 3.0]


def test_added_rollouts_are_relabelled_with_the_returns_they_achieved():
    buffer = TrajectoryReplayBuffer(capacity=4)
    # conditioned on a target of 100, the policy saw 100, 99, 97; it achieved 1 + 2 + 3 = 6
    buffer.add([episode([1.0, 2.0, 3.0], returns_to_go=np.array([100.0, 99.0, 97.0]))])
    assert buffer.episodes[0]["returns_to_go"].tolist() == [6.0, 5.0, 3.0]
    store = buffer.to_store()
    assert store.returns_to_go.tolist() == [6.0, 5.0, 3.0]
    batch = DecisionCollator(store, context_length=3, return_scale=2.0)(torch.tensor([0]))
    assert batch["returns_to_go"][0, :, 0].tolist() == [3.0, 2.5, 1.5]


def test_filled_with_the_best_offline_episodes_worst_first():
    offline = TrajectoryReplayBuffer(capacity=10)
    offline.add([episode([3.0]), episode([4.0, 4.0]), episode([1.0]), episode([5.0]), episode([8.0], 1.0)])
    store = offline.to_store()
    assert store.episode_returns.tolist() == [3.0, 8.0, 1.0, 5.0, 8.0]
    buffer = TrajectoryReplayBuffer(capacity=3)
    buffer.add_best(store)  # the top 3 by return: 8, 8, 5; ties in dataset order, the worst first
    assert returns(buffer) == [5.0, 8.0, 8.0]
    assert [e["observations"][0, 0] for e in buffer.episodes] == [0.0, 1.0, 0.0]  # [8] (index 4) before [4, 4]
    assert [len(e["rewards"]) for e in buffer.episodes] == [1, 1, 2]
    top_two = TrajectoryReplayBuffer(capacity=3)
    top_two.add_best(store, n=2)
    assert returns(top_two) == [8.0, 8.0]


def test_the_oldest_episodes_leave_first():
    buffer = TrajectoryReplayBuffer(capacity=3)
    buffer.add([episode([1.0]), episode([2.0]), episode([3.0])])
    buffer.add([episode([10.0]), episode([20.0])])
    assert returns(buffer) == [3.0, 10.0, 20.0]


def test_the_store_view_has_episode_boundaries_terminals_and_clamped_timesteps():
    buffer = TrajectoryReplayBuffer(capacity=3)
    buffer.add([episode([1.0, 1.0, 1.0], terminated=False), episode([2.0, 0.0])])
    store = buffer.to_store(max_ep_len=2)
    assert store.episode_starts.tolist() == [0, 3] and store.episode_lengths.tolist() == [3, 2]
    assert store.timesteps.tolist() == [0, 1, 1, 0, 1]  # clamped to max_ep_len − 1, as an agent's context does
    assert store.terminals.tolist() == [False, False, False, False, True]
    assert store.timeouts.tolist() == [False, False, True, False, False]
    assert store.returns_to_go.tolist() == [3.0, 2.0, 1.0, 2.0, 0.0]
    assert store.discrete and store.actions.dtype == torch.int64


def test_state_round_trips_through_a_checkpoint_file(tmp_path):
    buffer = TrajectoryReplayBuffer(capacity=3)
    buffer.add([episode([1.0, 2.0]), episode([3.0], 5.0, terminated=False), episode([4.0, 0.5, 0.5], 7.0)])
    np.savez(tmp_path / "buffer.npz", **buffer.state_dict())
    restored = TrajectoryReplayBuffer(capacity=3)
    with np.load(tmp_path / "buffer.npz") as saved:
        restored.load_state_dict(dict(saved))
    assert len(restored) == 3
    for a, b in zip(buffer.episodes, restored.episodes, strict=True):
        assert a["terminated"] == b["terminated"]
        for name in ("observations", "actions", "rewards", "returns_to_go"):
            assert np.array_equal(a[name], b[name]) and a[name].dtype == b[name].dtype
    with pytest.raises(ValueError, match="capacity"):
        TrajectoryReplayBuffer(capacity=2).load_state_dict(buffer.state_dict())


def test_an_episode_with_mismatched_lengths_is_refused_naming_them():
    bad = episode([1.0, 2.0]) | {"actions": np.zeros(3, np.int64)}
    with pytest.raises(ValueError, match="got 2, 3 and 2"):
        TrajectoryReplayBuffer(capacity=2).add([bad])
