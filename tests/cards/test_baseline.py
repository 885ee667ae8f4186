"""Cards and Hub pushes of the baseline agents (DQN, REINFORCE), through the real huggingface_hub client."""

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard, snapshot_download

from hf_decision.agents import PolicyAgent, QNetworkAgent
from hf_decision.cards import render_model_card
from hf_decision.evaluation import evaluate
from hf_decision.hub import push_agent_to_hub
from hf_decision.models import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel
from tests.test_hub import TOKEN, python_blocks


def q_network():
    torch.manual_seed(0)
    return QNetworkModel(QNetworkConfig(state_dim=4, act_dim=2, hidden_sizes=[8], env_id="CartPole-v1"))


def policy():
    torch.manual_seed(0)
    return PolicyModel(PolicyConfig(state_dim=4, act_dim=2, hidden_sizes=[8], env_id="CartPole-v1"))


@pytest.mark.parametrize(
    "make, tags, agent",
    [
        (q_network, ["dqn", "deep-q-learning"], "QNetworkAgent"),
        (policy, ["policy-gradient", "reinforce"], "PolicyAgent"),
    ],
)
def test_baseline_card_metadata_and_usage(make, tags, agent):
    model = make()
    result = evaluate(model, "CartPole-v1", n_episodes=3, num_envs=3)
    card = render_model_card(model, eval_results=result, training_args={"gamma": 0.99, "seed": 1}, repo_id="u/m")
    data = ModelCard(str(card)).data
    assert data.library_name == "hf_decision"
    assert set(["reinforcement-learning", *tags, "CartPole-v1"]) <= set(data.tags) and "offline-rl" not in data.tags
    (metric,) = data.eval_results
    assert metric.metric_name == "mean_reward"
    assert metric.metric_value == f"{result['mean_return']:.2f} +/- {result['std_return']:.2f}"
    assert f'{agent}.from_pretrained("u/m")' in card.text and "| Discount γ | 0.99 |" in card.text
    assert "Trained online" in card.text
    offline = render_model_card(model, dataset_id="user/cartpole-replay")
    assert "offline-rl" in ModelCard(str(offline)).data.tags and "Trained offline" in offline.text
    for block in python_blocks(card.text):
        compile(block, "card", "exec")


def test_pushed_q_network_downloads_back_and_acts_identically(hub):
    model = q_network()
    result = evaluate(model, "CartPole-v1", n_episodes=2, num_envs=2)
    push_agent_to_hub(model, "user/dqn-cartpole", eval_results=result, token=TOKEN)
    folder = snapshot_download("user/dqn-cartpole", token=TOKEN)
    observations = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    assert np.array_equal(
        QNetworkAgent.from_pretrained(folder, num_envs=16).act(observations),
        QNetworkAgent(model, num_envs=16).act(observations),
    )
    assert "dqn" in ModelCard.load(folder + "/README.md").data.tags


def test_pushed_policy_acts_identically(hub):
    model = policy()
    push_agent_to_hub(model, "user/pg-cartpole", token=TOKEN)
    folder = snapshot_download("user/pg-cartpole", token=TOKEN)
    observations = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    assert np.array_equal(
        PolicyAgent.from_pretrained(folder, num_envs=16).act(observations),
        PolicyAgent(model, num_envs=16).act(observations),
    )
