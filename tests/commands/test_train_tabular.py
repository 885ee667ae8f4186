import json
from pathlib import Path

import pytest

from hf_decision.collection import collect
from hf_decision.commands.train_tabular import cli

CONFIGS = Path(__file__).resolve().parents[2] / "scripts" / "configs" / "tabular"


def test_fqi_on_deterministic_frozenlake_finds_q_star_and_the_optimal_policy(tmp_path):
    args = ["--env_id", "FrozenLake-v1", "--env_kwargs", '{"is_slippery": false}', "--num_steps", "5000"]
    results = cli([*args, "--eval_episodes", "3", "--output_dir", str(tmp_path)])
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert results["dataset"]["num_steps"] >= 5000
    assert results["dataset"]["visited_states"] == 11  # the 16 cells less 4 holes and the goal
    assert results["max_abs_q_error"] < 1e-6
    assert results["greedy_policy"]["optimal"] and results["greedy_policy"]["start_value_gap"] < 1e-6
    assert results["evaluation"]["mean_return"] == results["evaluation"]["optimal_mean_return"] == 1.0


@pytest.mark.parametrize("name", ["frozenlake-v1", "cliffwalking", "taxi-v4"])
def test_yaml_configs_run_with_a_tiny_budget(name, tmp_path):
    args = ["--config", str(CONFIGS / f"{name}.yaml"), "--num_steps", "3000", "--eval_episodes", "2"]
    results = cli([*args, "--method", "model_based", "--output_dir", str(tmp_path)])
    assert results["arguments"]["num_steps"] == 3000 and results["arguments"]["method"] == "model_based"
    assert 0 < results["dataset"]["visited_pairs"] <= results["dataset"]["num_pairs"]
    assert results["max_abs_q_error"] >= 0 and results["greedy_policy"]["max_value_gap"] >= -1e-9
    assert (tmp_path / "results.json").exists()


def test_monte_carlo_on_a_saved_dataset_estimates_the_behaviour_policy(tmp_path):
    env_kwargs = {"max_episode_steps": 100}
    dataset = collect("CliffWalking-v1", "random", num_steps=5000, num_envs=4, seed=1, env_kwargs=env_kwargs)
    dataset.save_to_disk(tmp_path / "data")
    args = ["--env_id", "CliffWalking-v1", "--max_episode_steps", "100", "--method", "monte_carlo"]
    args += ["--dataset_name_or_path", str(tmp_path / "data"), "--eval_episodes", "1", "--output_dir", str(tmp_path)]
    results = cli(args)
    assert results["dataset"]["num_steps"] == sum(len(r) for r in dataset["rewards"])
    # Q^μ of the uniform policy, far below Q*: its greedy policy is not optimal.
    assert results["max_abs_q_error"] > 10 and not results["greedy_policy"]["optimal"]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="method must be one of"):
        cli(["--method", "sarsa", "--output_dir", str(tmp_path)])
    with pytest.raises(ValueError, match="CartPole-v1 is not a tabular env"):
        cli(["--env_id", "CartPole-v1", "--output_dir", str(tmp_path)])
    with pytest.raises(ValueError, match="gamma must lie in"):
        cli(["--gamma", "1.0", "--output_dir", str(tmp_path)])
