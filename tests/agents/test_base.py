"""The agent contract: checked when a subclass is defined; `agent_for` picks the agent its model class names."""

import numpy as np
import pytest
import torch
from torch import nn

from hf_decision import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel
from hf_decision.agents import Agent, DecisionTransformerAgent, PolicyAgent, QNetworkAgent, agent_class_for, agent_for
from tests.conftest import tiny_cartpole_model


def test_a_subclass_without_observe_fails_when_defined():
    with pytest.raises(TypeError, match=r"Forgetful must define \['observe'\]"):

        class Forgetful(Agent):
            def act(self, observations):
                return observations

            def reset(self, env_indices=None):
                pass


def test_a_model_class_must_name_its_agent_back():
    with pytest.raises(TypeError, match="agent_class = 'Impostor'"):

        class Impostor(QNetworkAgent):
            model_class = QNetworkModel


def test_agent_for_picks_the_agent_each_model_class_names():
    dqn = QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8]))
    pg = PolicyModel(PolicyConfig(state_dim=4, act_dim=2, hidden_sizes=[8]))
    agents = [agent_for(model, num_envs=3) for model in (tiny_cartpole_model(), dqn, pg)]
    assert [type(a) for a in agents] == [DecisionTransformerAgent, QNetworkAgent, PolicyAgent]
    assert all(isinstance(a, Agent) and a.num_envs == 3 for a in agents)
    assert agent_for(dqn, epsilon=0.5).epsilon == 0.5  # options go to the agent class
    with pytest.raises(TypeError, match="no agent for a Linear"):
        agent_class_for(nn.Linear(2, 2))


def test_epsilon_greedy_draws_a_random_action_where_a_uniform_draw_is_below_epsilon():
    model = QNetworkModel(QNetworkConfig(state_dim=2, act_dim=3, hidden_sizes=[8]))
    obs = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32)
    greedy = model(torch.from_numpy(obs)).q_values.argmax(-1).numpy()
    acted = QNetworkAgent(model, num_envs=500, epsilon=0.3, seed=7).act(obs)
    rng = np.random.default_rng(7)
    random, explore = rng.integers(3, size=500), rng.random(500) < 0.3
    assert np.array_equal(acted, np.where(explore, random, greedy))
    assert 100 < explore.sum() < 200
