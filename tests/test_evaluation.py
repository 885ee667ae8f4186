import gymnasium as gym
import numpy as np
import pytest
import torch

from hf_decision import DecisionTransformerModel
from hf_decision.evaluation import evaluate, normalized_score, reference_returns, rollout
from tests.conftest import tiny_dt_config
from tests.trainers.tasks import ENV_ID, HORIZON


class ConstantAgent:
    """Acts with a fixed sign; records how many `observe` calls it got."""

    def __init__(self, num_envs, sign):
        self.num_envs, self.sign, self.observed = num_envs, sign, 0

    def act(self, observations):
        return np.full((self.num_envs, 1), self.sign, np.float32)

    def observe(self, rewards, dones):
        self.observed += 1


def test_rollout_returns_are_exact_on_a_known_env():
    good = rollout(lambda n: ConstantAgent(n, 1.0), ENV_ID, n_episodes=5, num_envs=2)
    assert good["returns"].tolist() == [HORIZON] * 5 and good["lengths"].tolist() == [HORIZON] * 5
    bad = rollout(lambda n: ConstantAgent(n, -1.0), ENV_ID, n_episodes=3, num_envs=3)
    assert bad["returns"].tolist() == [0.0] * 3


def test_normalized_score_math():
    assert reference_returns("Hopper-v5") == (-20.272305, 3234.3)
    assert normalized_score("Hopper-v5", 3234.3) == pytest.approx(100.0)
    assert normalized_score("hopper-medium-v2", -20.272305) == pytest.approx(0.0)
    assert normalized_score("HalfCheetah-v5", (12135.0 - 280.178953) / 2) == pytest.approx(50.0)
    assert normalized_score("Walker2d-v5", 1.629008 + (4592.3 - 1.629008) / 4) == pytest.approx(25.0)
    assert normalized_score("Ant-v5", 3879.7) == pytest.approx(100.0)
    assert normalized_score("CartPole-v1", 500.0) is None
    assert normalized_score("CartPole-v1", 250.0, reference=(0.0, 500.0)) == pytest.approx(50.0)


def test_batched_and_sequential_evaluation_give_the_same_returns():
    torch.manual_seed(0)
    config = tiny_dt_config(action_space="discrete", act_dim=2, max_ep_len=500, target_returns=[500.0])
    model = DecisionTransformerModel(config).eval()
    batched = evaluate(model, "CartPole-v1", n_episodes=6, num_envs=3, seed=7)
    sequential = evaluate(model, "CartPole-v1", n_episodes=6, num_envs=1, seed=7)
    assert batched["returns"] == sequential["returns"]
    assert batched["mean_return"] == pytest.approx(np.mean(batched["returns"]))
    assert batched["normalized_score"] is None


def test_several_targets_are_reported_per_target():
    torch.manual_seed(0)
    model = DecisionTransformerModel(tiny_dt_config(state_dim=2, act_dim=1, max_ep_len=HORIZON)).eval()
    result = evaluate(model, ENV_ID, target_return=[8.0, 0.0], n_episodes=2, num_envs=2)
    assert set(result["per_target"]) == {8.0, 0.0}
    assert result["per_target"][8.0]["target_return"] == 8.0
    assert result["mean_return"] == result["per_target"][8.0]["mean_return"]


def test_behaviour_cloning_is_evaluated_once_whatever_targets_it_is_asked_for():
    """A DT without returns acts the same at every target: one result, no per-target rows that only look different."""
    torch.manual_seed(0)
    config = tiny_dt_config(
        action_space="discrete", act_dim=2, max_ep_len=500, target_returns=[500.0, 250.0], condition_on_returns=False
    )
    model = DecisionTransformerModel(config).eval()
    asked = evaluate(model, "CartPole-v1", target_return=[500.0, 250.0], n_episodes=3, num_envs=3, seed=7)
    default = evaluate(model, "CartPole-v1", n_episodes=3, num_envs=3, seed=7)
    assert "per_target" not in asked and asked["target_return"] is None
    assert asked["returns"] == default["returns"]


class SeedLengthEnv(gym.Env):
    """Episodes last 2 steps for even (or no) seeds and 8 for odd ones; reward 1 per step."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.horizon = 0, 8 if seed is not None and seed % 2 else 2
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(2, np.float32), 1.0, self.t >= self.horizon, False, {}


def test_idle_environments_are_reset_when_they_end_again():
    """Env 0 plays episodes 0 and 2 (2 steps each) and then idles, ending again at step 6, while env 1 still plays
    episode 1 (8 steps): the idle env must be reset too, and the returns are those of the seeds."""
    if "hf_decision_tests/SeedLength-v0" not in gym.registry:
        gym.register("hf_decision_tests/SeedLength-v0", entry_point=SeedLengthEnv)
    result = rollout(lambda n: ConstantAgent(n, 1.0), "hf_decision_tests/SeedLength-v0", n_episodes=3, num_envs=2)
    assert result["returns"].tolist() == [2.0, 8.0, 2.0]
