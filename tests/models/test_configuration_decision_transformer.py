import pytest

from hf_decision import DecisionTransformerConfig
from tests.conftest import tiny_dt_config


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(action_space="discrete", act_dim=1), "act_dim"),
        (dict(action_space="multibinary"), "action_space"),
        (dict(state_mean=[0.0, 1.0]), "state_mean"),
        (dict(state_std=[1.0, 1.0, 1.0]), "state_std"),
        (dict(max_ep_len=-1), "max_ep_len"),
        (dict(max_ep_len=0), "max_ep_len"),
        (dict(state_dim=0), "state_dim"),
        (dict(act_dim=-2), "act_dim"),
        (dict(context_length=0), "context_length"),
        (dict(return_scale=0.0), "return_scale"),
        (dict(return_scale=float("inf")), "return_scale"),
        (dict(attn_pdrop=1.5), "attn_pdrop"),
        (dict(positional_embedding="rotary"), "positional_embedding"),
        (dict(target_returns=[float("nan")]), "target_returns"),
        (dict(state_mean=[[0.0] * 4]), "state_mean"),
    ],
)
def test_invalid_config_raises_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        tiny_dt_config(**overrides)


def test_statistics_round_trip_through_json(tmp_path):
    config = tiny_dt_config(
        state_mean=[0.5, -1.0, 2.0, 0.0],
        state_std=[1.0, 2.0, 3.0, 4.0],
        target_returns=[3600, 1800],
        return_scale=1000,
        env_id="Hopper-v5",
    )
    config.save_pretrained(tmp_path)
    loaded = DecisionTransformerConfig.from_pretrained(tmp_path)
    assert loaded.state_mean == [0.5, -1.0, 2.0, 0.0]
    assert loaded.state_std == [1.0, 2.0, 3.0, 4.0]
    assert loaded.target_returns == [3600.0, 1800.0]
    assert loaded.env_id == "Hopper-v5"
    assert loaded.to_dict()["model_type"] == "hf_decision_transformer"


def test_backbone_config_is_a_gpt2_config():
    config = tiny_dt_config(n_inner=40, activation_function="gelu_new", attn_pdrop=0.05)
    backbone = config.to_backbone_config()
    assert backbone.model_type == "gpt2"
    assert (backbone.n_embd, backbone.n_layer, backbone.n_head, backbone.n_inner) == (16, 2, 2, 40)
    assert backbone.activation_function == "gelu_new"
    assert backbone.attn_pdrop == 0.05
    assert backbone.vocab_size == 32
