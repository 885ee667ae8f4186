import numpy as np
import pytest

from hf_decision.data import ReplayBuffer


def add_steps(buffer: ReplayBuffer, first: int, count: int) -> None:
    """`count` transitions whose observation is their step number: s = [t, -t], s' = s + 1, a = t % 2, r = t."""
    t = np.arange(first, first + count, dtype=np.float32)
    obs = np.stack([t, -t], axis=1)
    buffer.add(obs, t.astype(np.int64) % 2, t, obs + 1, (t % 3 == 0).astype(np.float32))


def test_the_oldest_transitions_are_overwritten_once_full():
    buffer = ReplayBuffer(capacity=5, state_dim=2)
    add_steps(buffer, 0, 3)
    assert (len(buffer), buffer.position) == (3, 3)
    add_steps(buffer, 3, 4)  # steps 3, 4 fill the last slots; 5, 6 overwrite steps 0, 1
    assert (len(buffer), buffer.position) == (5, 2)
    assert buffer.observations[:, 0].tolist() == [5, 6, 2, 3, 4]
    assert buffer.next_observations[:, 0].tolist() == [6, 7, 3, 4, 5]
    assert buffer.actions.tolist() == [1, 0, 0, 1, 0]
    assert buffer.dones.tolist() == [0, 1, 0, 1, 0]


def test_samples_come_from_the_filled_slots_only():
    buffer = ReplayBuffer(capacity=100, state_dim=2, seed=1)
    add_steps(buffer, 10, 3)
    batch = buffer.sample(200)
    assert set(batch) == {"observations", "actions", "rewards", "next_observations", "dones"}
    assert set(batch["rewards"].tolist()) == {10.0, 11.0, 12.0}
    assert np.array_equal(batch["next_observations"][:, 0], batch["observations"][:, 0] + 1)


def test_a_wrapped_buffer_restores_its_contents_position_and_sampling():
    buffer = ReplayBuffer(capacity=5, state_dim=2, seed=3)
    add_steps(buffer, 0, 7)
    buffer.sample(4)  # move the generator on: the restored one must continue from here
    restored = ReplayBuffer(capacity=5, state_dim=2, seed=99)
    restored.load_state_dict(buffer.state_dict())
    assert (len(restored), restored.position) == (5, 2)  # position != size
    for name in ("observations", "next_observations", "actions", "rewards", "dones"):
        assert np.array_equal(getattr(restored, name), getattr(buffer, name))
    assert restored.sample(6)["rewards"].tolist() == buffer.sample(6)["rewards"].tolist()
    add_steps(restored, 7, 1)  # the next transition overwrites the oldest one, step 2
    assert restored.observations[:, 0].tolist() == [5, 6, 7, 3, 4]


def test_a_partly_filled_buffer_restores_into_a_larger_one_but_not_a_smaller_one():
    buffer = ReplayBuffer(capacity=8, state_dim=2)
    add_steps(buffer, 0, 3)
    larger = ReplayBuffer(capacity=20, state_dim=2)
    larger.load_state_dict(buffer.state_dict())
    assert (len(larger), larger.position) == (3, 3)
    assert larger.rewards[:3].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="holds 3 transitions, more than capacity=2"):
        ReplayBuffer(capacity=2, state_dim=2).load_state_dict(buffer.state_dict())
