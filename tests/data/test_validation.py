"""Every class of bad input is refused at the boundary, naming the column (and the episode where one is at fault)."""

import numpy as np
import pytest

from hf_decision.data import canonicalize, dataset_from_flat, load_trajectories
from tests.data.conftest import make_episodes, table_dataset


def test_the_base_table_is_valid():
    assert len(canonicalize(table_dataset(), state_dim=2, act_dim=1, max_ep_len=3)) == 2


def test_missing_timeouts_are_filled_with_false():
    assert canonicalize(table_dataset(timeouts=None))["timeouts"] == [[False] * 3, [False] * 2]


def test_inf_in_rewards():
    with pytest.raises(ValueError, match=r"episode 0: column 'rewards' holds a non-finite value .* step 2"):
        canonicalize(table_dataset(rewards=[[1.0, 1.0, float("inf")], [2.0, 2.0]]))


def test_nan_in_continuous_actions():
    with pytest.raises(ValueError, match=r"episode 1: column 'actions' holds a non-finite"):
        canonicalize(table_dataset(actions=[[[0.5]] * 3, [[0.1], [float("nan")]]]))


def test_empty_dataset():
    with pytest.raises(ValueError, match="empty"):
        canonicalize(table_dataset().select([]))


def test_empty_episode():
    empty = dict(observations=[[[0.0, 1.0]] * 3, []], actions=[[[0.5]] * 3, []], rewards=[[1.0] * 3, []])
    with pytest.raises(ValueError, match="episode 1 is empty"):
        canonicalize(table_dataset(**empty, terminals=[[False] * 3, []], timeouts=[[False] * 3, []]))


def test_wrong_dtype():
    with pytest.raises(ValueError, match="column 'rewards' must be numeric"):
        canonicalize(table_dataset(rewards=[["a", "b", "c"], ["d", "e"]]))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"column 'observations' must be \[T, dim\]"):
        canonicalize(table_dataset(observations=[[0.0, 1.0, 2.0], [1.0, 2.0]]))


def test_rank_three_observations():
    with pytest.raises(ValueError, match="column 'observations' has rank > 2"):
        canonicalize(table_dataset(observations=[[[[0.0]]] * 3, [[[1.0]]] * 2]))


def test_steps_of_different_sizes():
    with pytest.raises(ValueError, match=r"episode 1: column 'observations' has steps of different sizes"):
        canonicalize(table_dataset(observations=[[[0.0, 1.0]] * 3, [[1.0, 2.0], [1.0]]]))


def test_act_dim_mismatch():
    with pytest.raises(ValueError, match=r"column 'actions' has steps of size 1, expected act_dim=2"):
        canonicalize(table_dataset(), act_dim=2)


def test_negative_discrete_action():
    with pytest.raises(ValueError, match=r"episode 0: column 'actions' holds action -1"):
        canonicalize(table_dataset(actions=[[0, -1, 2], [2, 1]]))


def test_non_integer_discrete_action():
    with pytest.raises(ValueError, match=r"episode 1: column 'actions' must hold integer action indices"):
        canonicalize(table_dataset(actions=[[[0.0]] * 3, [[1.0], [0.5]]]), action_space="discrete")


def test_integral_float_actions_become_discrete_when_asked():
    out = canonicalize(table_dataset(actions=[[[0.0]] * 3, [[1.0], [2.0]]]), action_space="discrete", act_dim=3)
    assert out["actions"] == [[0, 0, 0], [1, 2]]


def test_null_episode():
    with pytest.raises(ValueError, match="episode 1: column 'rewards' is null"):
        canonicalize(table_dataset(rewards=[[1.0, 1.0, 1.0], None]))


def test_wrong_flag_dtype():
    with pytest.raises(ValueError, match="column 'terminals' must hold values of kind"):
        canonicalize(table_dataset(terminals=[[0.0, 0.0, 1.0], [0.0, 1.0]]))


def test_unknown_action_space():
    with pytest.raises(ValueError, match="action_space"):
        canonicalize(table_dataset(), action_space="box")


def test_validation_runs_on_a_shuffled_view():
    dataset = dataset_from_flat(**make_episodes()).shuffle(seed=0)
    loaded = load_trajectories(dataset)
    assert sorted(len(r) for r in loaded["rewards"]) == [2, 3, 5]
    assert np.asarray(loaded[0]["observations"]).shape[1] == 2
