"""The stochastic policy of the Online DT (`stochastic_policy=True`); deterministic checkpoints act as before."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hf_decision import DecisionTransformerAgent, DecisionTransformerModel
from hf_decision.objectives.online_decision import squashed_gaussian_log_prob
from hf_decision.trainers import parameter_groups
from tests.conftest import random_window, tiny_dt_config


def stochastic_model(**overrides):
    torch.manual_seed(0)
    return DecisionTransformerModel(tiny_dt_config(stochastic_policy=True, **overrides))


def test_continuous_policy_predicts_the_squashed_mean_and_its_nll_is_the_squashed_gaussians():
    model = stochastic_model()
    batch = random_window(model.config)
    out = model(**batch, labels=batch["actions"])
    assert torch.equal(out.action_preds, torch.tanh(out.action_mean))
    assert ((out.action_log_std >= -5) & (out.action_log_std <= 2)).all()
    nll = -squashed_gaussian_log_prob(out.action_mean, out.action_log_std, batch["actions"]).mean()
    assert out.action_nll.item() == pytest.approx(nll.item(), rel=1e-6)
    assert out.temperature.item() == pytest.approx(0.1)
    beta = -model.config.act_dim
    expected = nll - 0.1 * out.action_entropy + 0.1 * (out.action_entropy - beta)
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_discrete_policy_nll_is_cross_entropy_and_its_entropy_the_categoricals():
    model = stochastic_model(action_space="discrete", act_dim=3)
    batch = random_window(model.config)
    out = model(**batch, labels=batch["actions"])
    assert out.action_log_std is None and model.predict_action_log_std is None
    ce = F.cross_entropy(out.action_preds.reshape(-1, 3), batch["actions"].reshape(-1))
    assert out.action_nll.item() == pytest.approx(ce.item(), rel=1e-6)
    entropy = torch.distributions.Categorical(logits=out.action_preds).entropy().mean()
    assert out.action_entropy.item() == pytest.approx(entropy.item(), rel=1e-6)
    assert model.config.entropy_target == pytest.approx(0.5 * math.log(3))


def test_the_temperature_gradient_is_lambda_times_entropy_minus_target():
    model = stochastic_model(target_entropy=1.0)
    batch = random_window(model.config)
    out = model(**batch, labels=batch["actions"])
    out.loss.backward()
    expected = out.temperature * (out.action_entropy.detach() - 1.0)
    assert model.log_temperature.grad.item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_temperature_is_not_weight_decayed():
    model = stochastic_model()
    groups = parameter_groups(model, weight_decay=0.1, learning_rate=1e-3)
    (group,) = [g for g in groups if any(p is model.log_temperature for p in g["params"])]
    assert group["weight_decay"] == 0.0


@pytest.mark.parametrize("action_space", ["continuous", "discrete"])
def test_stochastic_save_and_load_give_identical_outputs(tmp_path, action_space):
    model = stochastic_model(action_space=action_space, init_temperature=0.3).eval()
    batch = random_window(model.config)
    model.save_pretrained(tmp_path)
    loaded = DecisionTransformerModel.from_pretrained(tmp_path)
    assert loaded.config.stochastic_policy
    assert loaded.log_temperature.exp().item() == pytest.approx(0.3)
    a, b = model(**batch), loaded(**batch)
    assert torch.equal(a.action_preds, b.action_preds)
    if action_space == "continuous":
        assert torch.equal(a.action_log_std, b.action_log_std)


def test_a_deterministic_checkpoint_saved_before_the_option_loads_and_acts_as_before(tmp_path):
    torch.manual_seed(0)
    model = DecisionTransformerModel(tiny_dt_config(target_returns=[1.0])).eval()
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("stochastic_policy", "init_temperature", "target_entropy"):
        config.pop(key)  # as written before the option existed
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = DecisionTransformerModel.from_pretrained(tmp_path)
    assert not loaded.config.stochastic_policy
    assert loaded.log_temperature is None and loaded.predict_action_log_std is None
    assert sorted(loaded.state_dict()) == sorted(model.state_dict())
    batch = random_window(model.config)
    assert torch.equal(loaded(**batch).action_preds, model(**batch).action_preds)
    assert loaded(**batch, labels=batch["actions"]).loss.item() == model(**batch, labels=batch["actions"]).loss.item()
    observations = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    agents = [DecisionTransformerAgent(m, num_envs=3) for m in (model, loaded)]
    assert np.array_equal(agents[0].act(observations), agents[1].act(observations))
    with pytest.raises(ValueError, match="stochastic"):
        DecisionTransformerAgent(loaded, num_envs=3, sample=True)


@pytest.mark.parametrize("action_space", ["continuous", "discrete"])
def test_agents_act_with_the_mean_by_default_and_sample_reproducibly_when_asked(action_space):
    model = stochastic_model(action_space=action_space, target_returns=[1.0], init_temperature=1.0).eval()
    observations = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    inputs = DecisionTransformerAgent(model, num_envs=64).context.add_observations(observations)
    preds = model(**inputs).action_preds[:, -1].detach()
    mode = preds.argmax(-1) if action_space == "discrete" else preds
    greedy = DecisionTransformerAgent(model, num_envs=64).act(observations)
    assert np.allclose(greedy, mode.numpy(), atol=1e-6)
    sampled = [DecisionTransformerAgent(model, num_envs=64, sample=True, seed=7).act(observations) for _ in range(2)]
    assert np.array_equal(sampled[0], sampled[1])
    assert not np.allclose(sampled[0], greedy)
    if action_space == "continuous":
        assert (np.abs(sampled[0]) < 1).all()
