"""`DecisionContext`: the window bookkeeping every Decision Transformer agent shares, checked by hand."""

import numpy as np
import pytest
import torch

from hf_decision.agents.context import DecisionContext, default_target_return
from tests.conftest import tiny_dt_config


def make_context(num_envs=1, target_return=20.0, **overrides):
    kwargs = dict(state_mean=[1.0, 0.0, -1.0, 2.0], state_std=[2.0, 1.0, 1.0, 0.5], return_scale=10.0, max_ep_len=4)
    return DecisionContext(tiny_dt_config(**{**kwargs, **overrides}), target_return, num_envs)


def test_observations_are_normalized_into_a_left_padded_window():
    context = make_context()
    inputs = context.add_observations(np.array([3.0, 1.0, 0.0, 3.0], np.float32))
    assert list(inputs) == ["states", "actions", "returns_to_go", "timesteps", "attention_mask"]
    assert inputs["states"][0, -1].tolist() == [1.0, 1.0, 1.0, 2.0]  # (s - mean) / std
    assert inputs["states"][0, :-1].abs().sum() == 0
    assert inputs["attention_mask"][0].tolist() == [0, 0, 0, 0, 1]
    assert inputs["returns_to_go"][0, -1, 0] == pytest.approx(2.0)  # 20 / return_scale
    assert inputs["actions"].shape == (1, 5, 2)


def test_actions_rewards_and_timesteps_roll_through_the_window():
    context = make_context()
    for step, reward in enumerate((3.0, 5.0, 2.0, 1.0, 4.0, 0.5)):
        inputs = context.add_observations(np.zeros(4, np.float32))
        chosen = context.add_actions(torch.tensor([[0.25 * step, -1.0]]))
        np.testing.assert_array_equal(chosen, [[0.25 * step, -1.0]])
        context.observe([reward])
    # returns-to-go 20, 17, 12, 10, 9, 5 (/10): the window keeps the last 5 steps
    assert inputs["returns_to_go"][0, :, 0].tolist() == pytest.approx([1.7, 1.2, 1.0, 0.9, 0.5])
    assert inputs["timesteps"][0].tolist() == [1, 2, 3, 3, 3]  # clamped to max_ep_len − 1 = 3
    assert inputs["actions"][0, :, 0].tolist() == [0.25, 0.5, 0.75, 1.0, 1.25]
    assert context.next_return.tolist() == pytest.approx([0.45])


def test_discrete_predictions_become_greedy_indices():
    context = make_context(num_envs=2, action_space="discrete", act_dim=3)
    context.add_observations(np.zeros((2, 4), np.float32))
    chosen = context.add_actions(torch.tensor([[0.1, 0.9, 0.0], [2.0, -1.0, 1.0]]))
    assert chosen.tolist() == [1, 0] and context.actions[:, -1].tolist() == [1, 0]
    assert context.actions.dtype == torch.long


def test_done_environments_start_over_with_their_own_target():
    context = make_context(num_envs=2, target_return=[20.0, 30.0])
    for _ in range(2):
        context.add_observations(np.ones((2, 4), np.float32))
        context.observe([1.0, 2.0], dones=[False, True])
    inputs = context.add_observations(np.ones((2, 4), np.float32))
    assert inputs["attention_mask"].tolist() == [[0, 0, 1, 1, 1], [0, 0, 0, 0, 1]]
    assert inputs["timesteps"][:, -1].tolist() == [2, 0]
    assert inputs["returns_to_go"][:, -1, 0].tolist() == pytest.approx([1.8, 3.0])


def test_default_target_return():
    assert default_target_return(tiny_dt_config(target_returns=[30.0, 10.0]), None) == 30.0
    assert default_target_return(tiny_dt_config(target_returns=[30.0]), 5.0) == 5.0
    assert default_target_return(tiny_dt_config(condition_on_returns=False), None) == 0.0
    with pytest.raises(ValueError, match="target_return is required"):
        default_target_return(tiny_dt_config(), None)
