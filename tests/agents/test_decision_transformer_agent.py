import numpy as np
import pytest
import torch

from hf_decision import DecisionTransformerModel
from hf_decision.agents import DecisionTransformerAgent
from tests.conftest import tiny_dt_config

K = 5


def make_model(**overrides):
    torch.manual_seed(0)
    kwargs = dict(state_mean=[1.0, 0.0, -1.0, 2.0], state_std=[2.0, 1.0, 1.0, 0.5], return_scale=10.0)
    kwargs.update(overrides)
    return DecisionTransformerModel(tiny_dt_config(**kwargs)).eval()


def history_action(model, observations, actions, rewards, target):
    """What the model predicts for the newest step of the whole history, built by hand in model space."""
    config = model.config
    t = len(observations)
    states = model.normalize_states(torch.tensor(np.array(observations), dtype=torch.float32))
    rtg = (target - np.concatenate([[0.0], np.cumsum(rewards)]))[:t] / config.return_scale
    if config.action_space == "discrete":
        acts = torch.tensor([*actions, 0], dtype=torch.long)  # the newest action is a placeholder
    else:
        acts = torch.tensor(np.array([*actions, np.zeros(config.act_dim)], dtype=np.float32))
    return model.get_action(states, acts, torch.tensor(rtg, dtype=torch.float32), torch.arange(t))


@pytest.mark.parametrize("action_space", ["continuous", "discrete"])
def test_act_equals_the_model_on_the_same_context_beyond_k_steps(action_space):
    model = make_model(action_space=action_space, act_dim=3)
    agent = DecisionTransformerAgent(model, target_return=50.0)
    rng = np.random.default_rng(0)
    observations, actions, rewards = [], [], []
    for _ in range(K + 4):  # past K steps the context is truncated to the last K
        observations.append(rng.standard_normal(4).astype(np.float32))
        action = agent.act(observations[-1])
        expected = history_action(model, observations, actions, rewards, 50.0)
        if action_space == "discrete":
            assert action.shape == () and action == expected.item()
        else:
            np.testing.assert_allclose(action, expected.numpy(), rtol=0, atol=1e-6)
        actions.append(action)
        rewards.append(float(rng.uniform(0, 3)))
        agent.observe([rewards[-1]])


def test_return_to_go_is_decremented_by_each_reward():
    agent = DecisionTransformerAgent(make_model(), target_return=20.0)
    for reward in (3.0, 5.0, 2.0):
        agent.act(np.zeros(4, np.float32))
        agent.observe([reward])
    agent.act(np.zeros(4, np.float32))
    assert agent.returns_to_go[0, -4:, 0].tolist() == pytest.approx([2.0, 1.7, 1.2, 1.0])  # (20, 17, 12, 10) / 10
    assert agent.timesteps[0, -4:].tolist() == [0, 1, 2, 3]
    assert agent.mask[0].tolist() == [0, 1, 1, 1, 1]


def test_act_with_last_reward_matches_observe():
    model = make_model()
    a, b = DecisionTransformerAgent(model, 20.0), DecisionTransformerAgent(model, 20.0)
    obs = np.ones(4, np.float32)
    a.act(obs), b.act(obs)
    a.observe([4.0])
    np.testing.assert_array_equal(a.act(obs), b.act(obs, last_reward=4.0))


def test_done_environments_restart_their_context():
    model = make_model()
    agent = DecisionTransformerAgent(model, target_return=20.0, num_envs=2)
    fresh = DecisionTransformerAgent(model, target_return=20.0, num_envs=2)
    obs = np.arange(8, dtype=np.float32).reshape(2, 4)
    agent.act(obs)
    agent.observe([1.0, 1.0], dones=[True, False])
    second = agent.act(obs)
    np.testing.assert_allclose(second[0], fresh.act(obs)[0], atol=1e-6)  # env 0 starts over
    assert agent.timesteps[:, -1].tolist() == [0, 1]
    assert agent.returns_to_go[:, -1, 0].tolist() == pytest.approx([2.0, 1.9])


def test_target_return_defaults_to_the_config():
    agent = DecisionTransformerAgent(make_model(target_returns=[30.0, 10.0]))
    assert agent.next_return.tolist() == [3.0]
    with pytest.raises(ValueError, match="target_return"):
        DecisionTransformerAgent(make_model())


def test_from_pretrained(tmp_path):
    model = make_model(target_returns=[15.0])
    model.save_pretrained(tmp_path)
    agent = DecisionTransformerAgent.from_pretrained(tmp_path)
    reference = DecisionTransformerAgent(model)
    obs = np.linspace(-1, 1, 4).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs), reference.act(obs))
