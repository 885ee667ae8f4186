import copy

import numpy as np
import pytest
import torch

from hf_decision.agents import PolicyAgent
from hf_decision.evaluation import evaluate
from hf_decision.models import PolicyConfig, PolicyModel
from hf_decision.trainers import ReinforceConfig, ReinforceTrainer
from tests.trainers.tasks import DISCRETE_ENV_ID, HORIZON


def pg_args(tmp_path, **overrides) -> ReinforceConfig:
    kwargs = dict(
        output_dir=str(tmp_path),
        env_id=DISCRETE_ENV_ID,
        max_steps=1,
        num_envs=2,
        episodes_per_batch=4,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        seed=0,
    )
    return ReinforceConfig(**(kwargs | overrides))


def policy(**overrides) -> PolicyModel:
    torch.manual_seed(0)
    return PolicyModel(PolicyConfig(**({"state_dim": 2, "act_dim": 2, "hidden_sizes": [16]} | overrides)))


class RecordingTrainer(ReinforceTrainer):
    def compute_loss(self, model, inputs, *args, **kwargs):
        self.batches = getattr(self, "batches", []) + [inputs]
        return super().compute_loss(model, inputs, *args, **kwargs)


def test_one_sgd_step_is_the_seed_reinforce_update(tmp_path):
    """θ ← θ + η/N Σ_i R(τ_i) Σ_h ∇ log π_θ(a_h|s_h), checked against autograd of the log-likelihood directly."""
    lr = 0.1
    model = policy()
    before = copy.deepcopy(model)
    args = pg_args(tmp_path, optim="sgd", learning_rate=lr, reward_to_go=False, baseline="none", gamma=1.0)
    trainer = RecordingTrainer(model, args)
    trainer.train()
    (batch,) = trainer.batches
    assert batch["num_episodes"] == 4 and len(batch["rewards"]) == 4 * HORIZON

    log_pi = before(batch["observations"], batch["actions"]).log_prob
    episode_returns = torch.zeros(4).index_add_(0, batch["episode_index"], batch["rewards"])
    objective = (episode_returns[batch["episode_index"]] * log_pi).sum() / 4  # its gradient is the estimate
    grads = torch.autograd.grad(objective, list(before.parameters()))
    for new, old, grad in zip(model.parameters(), before.parameters(), grads, strict=True):
        assert torch.allclose(new, old + lr * grad, atol=1e-6)


@pytest.mark.parametrize("baseline", ["mean", "learned"])
def test_reinforce_learns_the_two_arm_env(tmp_path, baseline):
    model = policy(value_head=baseline == "learned")
    args = pg_args(tmp_path, max_steps=40, episodes_per_batch=8, learning_rate=3e-2, baseline=baseline)
    trainer = ReinforceTrainer(model, args)
    trainer.train()
    assert evaluate(model, DISCRETE_ENV_ID, n_episodes=2)["mean_return"] == HORIZON
    logs = [log for log in trainer.state.log_history if "pg_loss" in log]
    assert logs[-1]["episode_return"] > logs[0]["episode_return"]
    assert ("value_loss" in logs[-1]) == (baseline == "learned")
    assert trainer.online_source.env_steps == 40 * 8 * HORIZON


def test_learned_baseline_needs_a_value_head(tmp_path):
    with pytest.raises(ValueError, match="value head"):
        ReinforceTrainer(policy(), pg_args(tmp_path, baseline="learned"))
    with pytest.raises(ValueError, match="env_id is required"):
        pg_args(tmp_path, env_id=None)


def test_policy_agent_samples_reproducibly_and_acts_on_one_observation():
    model = policy()
    obs = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    a = PolicyAgent(model, num_envs=100, deterministic=False, seed=1).act(obs)
    b = PolicyAgent(model, num_envs=100, deterministic=False, seed=1).act(obs)
    assert np.array_equal(a, b)
    assert PolicyAgent(model).act(obs[0]).shape == ()
