import json

import pytest
import torch
from transformers import AutoConfig, AutoModel

from hf_decision.models import PolicyConfig, PolicyModel, QNetworkConfig, QNetworkModel


def test_q_network_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    model = QNetworkModel(
        QNetworkConfig(
            state_dim=3, act_dim=4, hidden_sizes=[8], state_mean=[1, 2, 3], state_std=[2, 2, 2], env_id="X-v0"
        )
    )
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, QNetworkModel) and loaded.config.env_id == "X-v0"
    obs = torch.randn(5, 3)
    assert torch.equal(model(obs).q_values, loaded(obs).q_values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_a_q_network_saved_with_num_actions_still_loads(tmp_path):
    torch.manual_seed(0)
    model = QNetworkModel(QNetworkConfig(state_dim=3, act_dim=4, hidden_sizes=[8], env_id="X-v0"))
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["act_dim"] == 4 and "num_actions" not in saved
    saved["num_actions"] = saved.pop("act_dim")  # config.json as checkpoints saved it before act_dim
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded = AutoModel.from_pretrained(tmp_path)
    assert loaded.config.act_dim == 4 and loaded.config.num_actions == 4
    obs = torch.randn(5, 3)
    assert torch.equal(model(obs).q_values, loaded(obs).q_values)


def test_q_network_normalizes_with_config_statistics_and_gathers_actions():
    torch.manual_seed(0)
    plain = QNetworkModel(QNetworkConfig(state_dim=2, act_dim=2, hidden_sizes=[4]))
    normalized = QNetworkModel(
        QNetworkConfig(state_dim=2, act_dim=2, hidden_sizes=[4], state_mean=[1, -1], state_std=[2, 4])
    )
    normalized.load_state_dict(plain.state_dict())
    obs = torch.tensor([[3.0, 7.0]])
    assert torch.allclose(normalized(obs).q_values, plain(torch.tensor([[1.0, 2.0]])).q_values)
    out = plain(torch.randn(4, 2), actions=torch.tensor([0, 1, 1, 0]))
    assert torch.equal(out.action_values, out.q_values[torch.arange(4), torch.tensor([0, 1, 1, 0])])
    assert plain.get_action(obs[0]).shape == ()


@pytest.mark.parametrize("action_space", ["discrete", "continuous"])
def test_policy_round_trip_log_probs_and_modes(tmp_path, action_space):
    torch.manual_seed(0)
    config = PolicyConfig(
        state_dim=3, act_dim=2, action_space=action_space, hidden_sizes=[8], value_head=True, log_std_init=-0.5
    )
    model = PolicyModel(config)
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    obs = torch.randn(4, 3)
    actions = torch.tensor([0, 1, 1, 0]) if action_space == "discrete" else torch.randn(4, 2)
    out, out_loaded = model(obs, actions), loaded(obs, actions)
    assert torch.equal(out.log_prob, out_loaded.log_prob) and torch.equal(out.values, out_loaded.values)
    if action_space == "discrete":
        expected = torch.log_softmax(out.logits, -1)[torch.arange(4), actions]
        assert torch.equal(model.get_action(obs), out.logits.argmax(-1))
    else:
        std = torch.exp(torch.tensor(-0.5))
        expected = torch.distributions.Normal(out.logits, std).log_prob(actions).sum(-1)
        assert torch.equal(model.get_action(obs), out.logits)
        assert torch.allclose(out.log_std, torch.full((2,), -0.5))
    assert torch.allclose(out.log_prob, expected, atol=1e-6)


def test_policy_sampling_is_reproducible_with_a_generator():
    model = PolicyModel(PolicyConfig(state_dim=2, act_dim=3))
    obs = torch.randn(50, 2)
    draw = [model.get_action(obs, False, torch.Generator().manual_seed(1)) for _ in range(2)]
    assert torch.equal(draw[0], draw[1]) and draw[0].unique().numel() > 1


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (QNetworkConfig, {"act_dim": 1}, "act_dim"),
        (QNetworkConfig, {"hidden_sizes": [0]}, "hidden_sizes"),
        (QNetworkConfig, {"state_dim": 2, "state_mean": [0.0]}, "state_mean has 1 entries"),
        (QNetworkConfig, {"state_dim": 1, "state_std": [0.0]}, "state_std"),
        (PolicyConfig, {"action_space": "box"}, "action_space"),
        (PolicyConfig, {"activation": "swish"}, "activation"),
    ],
)
def test_invalid_configs_name_the_field(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_auto_classes_resolve_the_namespaced_model_types():
    assert AutoConfig.for_model("hf_decision_q_network").__class__ is QNetworkConfig
    assert AutoConfig.for_model("hf_decision_policy").__class__ is PolicyConfig


def test_wrong_observation_size_is_named():
    with pytest.raises(ValueError, match="expected state_dim=2"):
        QNetworkModel(QNetworkConfig(state_dim=2))(torch.zeros(1, 3))


@pytest.mark.parametrize("config_class", [QNetworkConfig, PolicyConfig])
def test_mlp_configs_are_written_as_the_dt_config_is(config_class):
    """One config style for the three model configs: transformers' dataclass fields with defaults, checks on
    construction, the shared MLP fields declared once."""
    from dataclasses import fields, is_dataclass

    from hf_decision.models import DecisionTransformerConfig
    from hf_decision.models.mlp import MLPConfig

    names = {field.name for field in fields(config_class)}
    assert {"state_dim", "act_dim", "hidden_sizes", "activation", "state_mean", "state_std", "env_id"} <= names
    assert (
        issubclass(config_class, MLPConfig) and is_dataclass(config_class) and is_dataclass(DecisionTransformerConfig)
    )
    config = config_class(state_dim=2, hidden_sizes=(3,), state_mean=torch.tensor([1.0, 2.0]), state_std=[1, 4])
    assert config.hidden_sizes == [3] and config.state_mean == [1.0, 2.0] and config.state_std == [1.0, 4.0]
    with pytest.raises(ValueError, match="state_std has 1 entries, expected state_dim=2"):
        config_class(state_dim=2, state_std=[1.0])
