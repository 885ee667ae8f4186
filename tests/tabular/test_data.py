import numpy as np
import pytest

from hf_decision.data import dataset_from_flat
from hf_decision.tabular import TabularEpisodes, TabularTransitions, as_transitions


def tabular_dataset(states, actions, rewards, terminals, timeouts, lengths):
    """A canonical episode dataset whose observations are state indices, stored as collect stores them: [T, 1]."""
    return dataset_from_flat(
        np.asarray(states, dtype=np.float32).reshape(-1, 1),
        np.asarray(actions, dtype=np.int64),
        np.asarray(rewards, dtype=np.float32),
        np.asarray(terminals, dtype=bool),
        np.asarray(timeouts, dtype=bool),
        np.asarray(lengths),
    )


# Episode 0 is truncated, episode 1 terminates, episode 2 stops with the data (neither flag).
THREE_EPISODES = dict(
    states=[0, 1, 2, 3, 4, 5],
    actions=[0, 1, 0, 1, 0, 1],
    rewards=[1, 2, 3, 4, 5, 6],
    terminals=[0, 0, 0, 1, 0, 0],
    timeouts=[0, 1, 0, 0, 0, 0],
    lengths=[2, 2, 2],
)


def test_episodes_read_state_indices_from_a_canonical_dataset():
    episodes = TabularEpisodes.from_dataset(tabular_dataset(**THREE_EPISODES), n_states=6, n_actions=2)
    np.testing.assert_array_equal(episodes.states, [0, 1, 2, 3, 4, 5])
    assert episodes.states.dtype == np.int64 and episodes.actions.dtype == np.int64
    np.testing.assert_array_equal(episodes.rewards, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(episodes.terminals, [0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(episodes.episode_lengths, [2, 2, 2])


def test_transitions_drop_the_last_step_unless_it_terminated():
    transitions = as_transitions(tabular_dataset(**THREE_EPISODES), n_states=6, n_actions=2)
    np.testing.assert_array_equal(transitions.states, [0, 2, 3, 4])
    np.testing.assert_array_equal(transitions.next_states[[0, 1, 3]], [1, 3, 5])
    np.testing.assert_array_equal(transitions.rewards, [1, 3, 4, 5])
    np.testing.assert_array_equal(transitions.terminations, [0, 0, 1, 0])


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ([0, 1, 2, 3.5, 4, 5], "episode 1: column 'observations' must hold integer state indices"),
        ([0, 1, 2, 3, 6, 5], r"episode 2: column 'observations' holds 6.0, out of range \[0, 6\)"),
        ([0, -1, 2, 3, 4, 5], r"episode 0: column 'observations' holds -1.0, out of range \[0, 6\)"),
    ],
)
def test_observations_that_are_not_state_indices_are_refused(states, message):
    with pytest.raises(ValueError, match=message):
        TabularEpisodes.from_dataset(tabular_dataset(**{**THREE_EPISODES, "states": states}), 6, 2)


def test_actions_out_of_range_and_vector_observations_are_refused():
    with pytest.raises(ValueError, match=r"episode 2: column 'actions' holds action 2, out of range \[0, 2\)"):
        TabularEpisodes.from_dataset(tabular_dataset(**{**THREE_EPISODES, "actions": [0, 1, 0, 1, 2, 1]}), 6, 2)
    vectors = dataset_from_flat(np.zeros((2, 2)), np.zeros(2, dtype=np.int64), np.zeros(2), [0, 1], [0, 0], [2])
    with pytest.raises(ValueError, match="expected state_dim=1"):
        TabularEpisodes.from_dataset(vectors, 6, 2)


def test_flat_arrays_are_checked_too():
    with pytest.raises(ValueError, match="'actions' has 1 transitions but 'states' has 2"):
        TabularTransitions([0, 1], [0], [0.0, 0.0], [1, 0], [False, True])
    transitions = TabularTransitions([0, 1], [0, 1], [0.0, 0.0], [7, -1], [False, True])
    with pytest.raises(ValueError, match=r"transition 0: column 'next_states' holds 7, out of range \[0, 2\)"):
        as_transitions(transitions, n_states=2, n_actions=2)
    as_transitions(TabularTransitions([0, 1], [0, 1], [0.0, 0.0], [1, -1], [False, True]), 2, 2)  # terminal: unread
    with pytest.raises(ValueError, match=r"episode 1: column 'states' holds 9"):
        as_transitions(TabularEpisodes([0, 1, 9], [0, 0, 0], [0.0] * 3, [0, 0, 1], [2, 1]), 2, 2)
