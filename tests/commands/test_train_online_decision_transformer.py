import json
from pathlib import Path

import pytest
from transformers import HfArgumentParser

from hf_decision import DecisionTransformerModel
from hf_decision.commands.parsing import parse_with_config
from hf_decision.commands.train_decision_transformer import cli as train_offline
from hf_decision.commands.train_online_decision_transformer import ScriptArguments, cli
from hf_decision.trainers import OnlineDecisionTransformerConfig
from tests.trainers.tasks import ENV_ID, HORIZON, two_behaviour_dataset

CONFIGS = Path(__file__).resolve().parents[2] / "scripts" / "configs" / "online_decision_transformer"


@pytest.mark.parametrize(("name", "target"), [("hopper-v5", 7200), ("cartpole-v1", 500)])
def test_yaml_configs_parse(name, target, tmp_path):
    parser = HfArgumentParser((ScriptArguments, OnlineDecisionTransformerConfig))
    script, training = parse_with_config(
        parser, ["--config", str(CONFIGS / f"{name}.yaml"), "--output_dir", str(tmp_path), "--max_steps", "7"]
    )
    assert training.max_steps == 7 and training.output_dir == str(tmp_path)
    assert script.model_name_or_path and training.env_id
    assert training.exploration_target_return == target and training.ignore_data_skip


def test_cli_fine_tunes_an_offline_dt_online_and_the_card_says_so(tmp_path, capsys):
    data = tmp_path / "data"
    two_behaviour_dataset().save_to_disk(data)
    common = ["--dataset_name_or_path", str(data), "--env_id", ENV_ID, "--per_device_train_batch_size", "8"]
    common += ["--final_eval_episodes", "2", "--report_to", "none", "--save_strategy", "no", "--use_cpu", "true"]
    offline = ["--output_dir", str(tmp_path / "offline"), "--max_steps", "4", "--hidden_size", "16"]
    offline += ["--n_layer", "1", "--context_length", "4", "--max_ep_len", str(HORIZON), "--stochastic_policy", "true"]
    train_offline(common + offline)
    assert DecisionTransformerModel.from_pretrained(tmp_path / "offline").config.stochastic_policy

    online = ["--model_name_or_path", str(tmp_path / "offline"), "--output_dir", str(tmp_path / "online")]
    online += ["--max_steps", "4", "--gradient_steps_per_round", "2", "--episodes_per_round", "2", "--num_envs", "2"]
    online += ["--replay_size", "10", "--exploration_target_return", "8"]
    trainer, results = cli(common + online)
    assert trainer.online_source.env_steps == 2 * 2 * HORIZON
    stored = json.loads((tmp_path / "online" / "results.json").read_text())
    assert stored["training_args"]["online_env_steps"] == 4 * HORIZON
    assert stored["training_args"]["base_model"] == str(tmp_path / "offline")
    assert set(stored["evaluation_before_online"]) == set(stored["evaluation"])
    assert "before online fine-tuning" in capsys.readouterr().out

    from hf_decision.commands.push_to_hub import PushArguments
    from hf_decision.commands.push_to_hub import main as push

    folder = push(PushArguments(model_dir=str(tmp_path / "online"), local_dir=str(tmp_path / "agent")))["local_dir"]
    card = (folder / "README.md").read_text()
    assert f"**fine-tuned online** for {4 * HORIZON} environment steps" in card
    assert f"| Online fine-tuning: environment steps | {4 * HORIZON} |" in card
    assert "| Policy | stochastic (tanh-squashed Gaussian, Online DT loss); acts with its mean by default |" in card
