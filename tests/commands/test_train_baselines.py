import json
from pathlib import Path

import pytest
from transformers import AutoModel

from hf_decision.commands import evaluate as evaluate_command
from hf_decision.commands import train_dqn, train_reinforce
from hf_decision.models import PolicyModel, QNetworkModel
from tests.trainers.tasks import DISCRETE_ENV_ID, HORIZON, two_arm_dataset

CONFIGS = Path(__file__).resolve().parents[2] / "scripts" / "configs"
QUIET = ["--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no"]


@pytest.mark.parametrize(
    "module, config",
    [
        (train_dqn, "dqn/cartpole-v1.yaml"),
        (train_dqn, "dqn/cartpole-v1-offline.yaml"),
        (train_reinforce, "reinforce/cartpole-v1.yaml"),
    ],
)
def test_yaml_configs_parse(module, config, tmp_path):
    from transformers import HfArgumentParser

    from hf_decision.commands.parsing import parse_with_config

    dataclasses = (module.ScriptArguments, module.MLPArguments if module is train_dqn else module.PolicyArguments)
    training_class = module.DQNConfig if module is train_dqn else module.ReinforceConfig
    parser = HfArgumentParser((*dataclasses, training_class))
    *_, training = parse_with_config(parser, ["--config", str(CONFIGS / config), "--output_dir", str(tmp_path)])
    assert training.env_id == "CartPole-v1" and training.output_dir == str(tmp_path)


def test_train_dqn_online_then_evaluate_command(tmp_path):
    out = tmp_path / "dqn"
    argv = [
        "--env_id",
        DISCRETE_ENV_ID,
        "--hidden_sizes",
        "32",
        "32",
        "--max_steps",
        "300",
        "--learning_starts",
        "64",
        "--train_frequency",
        "8",
        "--gradient_steps",
        "4",
        "--num_envs",
        "2",
        "--gamma",
        "0.5",
        "--target_update_interval",
        "20",
        "--learning_rate",
        "3e-3",
        "--exploration_fraction",
        "0.5",
        "--final_eval_episodes",
        "3",
        "--output_dir",
        str(out),
        *QUIET,
    ]
    _, results = train_dqn.cli(argv)
    assert results["train"]["env_steps"] == 64 + 75 * 8
    assert results["evaluation"]["mean_return"] == HORIZON
    assert isinstance(AutoModel.from_pretrained(out), QNetworkModel)
    saved = json.loads((out / "results.json").read_text())
    assert saved["evaluation"]["returns"] == [HORIZON] * 3

    evaluated = evaluate_command.cli(
        [
            "--model_name_or_path",
            str(out),
            "--env_id",
            DISCRETE_ENV_ID,
            "--n_episodes",
            "2",
            "--output_file",
            str(tmp_path / "eval.json"),
        ]
    )
    assert evaluated["evaluation"]["None"]["mean_return"] == HORIZON


def test_train_dqn_offline_from_a_dataset_folder(tmp_path):
    data = tmp_path / "data"
    two_arm_dataset(episodes=400).save_to_disk(str(data))
    argv = [
        "--dataset_name_or_path",
        str(data),
        "--env_id",
        DISCRETE_ENV_ID,
        "--hidden_sizes",
        "32",
        "32",
        "--max_steps",
        "60",
        "--gamma",
        "0.5",
        "--target_update_interval",
        "25",
        "--learning_rate",
        "3e-3",
        "--per_device_train_batch_size",
        "64",
        "--final_eval_episodes",
        "2",
        "--output_dir",
        str(tmp_path / "o"),
        *QUIET,
    ]
    trainer, results = train_dqn.cli(argv)
    assert trainer.online_source is None and "env_steps" not in results["train"]
    assert results["train"]["global_step"] == 60 and len(results["evaluation"]["returns"]) == 2
    assert trainer.model.config.state_mean is not None and trainer.model.config.env_id == DISCRETE_ENV_ID


def test_train_reinforce_command(tmp_path):
    out = tmp_path / "pg"
    argv = [
        "--env_id",
        DISCRETE_ENV_ID,
        "--hidden_sizes",
        "16",
        "--max_steps",
        "3",
        "--num_envs",
        "2",
        "--episodes_per_batch",
        "8",
        "--learning_rate",
        "3e-2",
        "--final_eval_episodes",
        "2",
        "--output_dir",
        str(out),
        *QUIET,
    ]
    _, results = train_reinforce.cli(argv)
    assert results["train"] == {"global_step": 3, "env_steps": 3 * 8 * HORIZON}
    assert len(results["evaluation"]["returns"]) == 2
    assert isinstance(AutoModel.from_pretrained(out), PolicyModel)
