"""Rendering and checking agent model cards (a Decision Transformer's; the baselines' are in test_baseline.py)."""

import json
import re

import pytest
from huggingface_hub import ModelCard

from hf_decision import DecisionTransformerModel
from hf_decision.cards import check_model_card, is_hub_id, per_target_results, render_model_card
from hf_decision.hub import save_agent_folder
from tests.conftest import EVAL_RESULTS, STATISTICS, TRAINING, result, tiny_cartpole_model


def tiny_model(**overrides) -> DecisionTransformerModel:
    return tiny_cartpole_model(**overrides)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_card_renders_every_field():
    model = tiny_model(backbone_name_or_path="gpt2", state_mean=[0.0] * 4, state_std=[1.0] * 4)
    card = render_model_card(
        model,
        eval_results=EVAL_RESULTS,
        dataset_id="user/cartpole-medium",
        training_args=TRAINING,
        dataset_statistics=STATISTICS,
        plot_path="/somewhere/evaluation.png",
        video_path="replay.mp4",
        repo_id="user/dt-cartpole",
    )
    data = ModelCard(str(card)).data  # parsed back as the Hub does
    assert data.library_name == "hf_decision"
    assert data.tags == ["reinforcement-learning", "decision-transformer", "offline-rl", "CartPole-v1"]
    assert data.datasets == ["user/cartpole-medium"] and data.base_model == "gpt2"
    assert data.pipeline_tag == "reinforcement-learning" and data.license == "other"
    model_index = data.to_dict()["model-index"]
    assert model_index[0]["name"] == "dt-cartpole"
    (entry,) = model_index[0]["results"]  # one task and dataset, a metric per target, the default target first
    assert entry["task"] == {"type": "reinforcement-learning"}
    assert entry["dataset"] == {"name": "CartPole-v1", "type": "CartPole-v1"}
    assert [(m["type"], m["value"]) for m in entry["metrics"]] == [
        ("mean_reward", "21.00 +/- 3.00"),
        ("mean_reward", "12.50 +/- 1.25"),
    ]
    text = card.text
    assert "| 500 | 21.00 ± 3.00 | — | 2 |" in text and "| 250 | 12.50 ± 1.25 | 42.0 | 2 |" in text
    assert "| Episodes | 100 |" in text and "| Episode return (mean ± std) | 123.40 ± 50.00 |" in text
    assert "](evaluation.png)" in text and "](replay.mp4)" in text
    assert "| Context length K | 5 steps (15 tokens) |" in text and "| Return scale | 1000 |" in text
    assert "| λ (language-modeling loss weight) | 0.1 |" in text
    assert "[`gpt2`](https://huggingface.co/gpt2)" in text
    assert 'DecisionTransformerAgent.from_pretrained("user/dt-cartpole", target_return=500)' in text


def test_card_without_results_or_data_has_no_model_index(tmp_path):
    card = render_model_card(tiny_model(), dataset_id=str(tmp_path), license="apache-2.0")
    data = card.data.to_dict()
    assert "model-index" not in data and "model_name" not in data
    assert "datasets" not in data and "base_model" not in data  # a local dataset folder is no Hub id
    assert data["license"] == "apache-2.0"
    assert "No evaluation results were recorded" in card.text and "(a local dataset)" in card.text


def test_card_reads_a_training_config(tmp_path):
    from hf_decision.trainers import DecisionTransformerTrainingConfig

    args = DecisionTransformerTrainingConfig(output_dir=str(tmp_path), max_steps=300, report_to="none", seed=3)
    text = render_model_card(tiny_model(), training_args=args).text
    assert "| λ (language-modeling loss weight) | 0 |" in text and "| Optimizer steps | 300 |" in text
    assert "| Learning-rate schedule | `constant_with_warmup` |" in text and "| Seed | 3 |" in text
    assert "Text for the language-modeling loss" not in text  # λ = 0: no text was used


def test_card_needs_an_env_id_and_a_target():
    with pytest.raises(ValueError, match="env_id"):
        render_model_card(tiny_model(env_id=None))
    with pytest.raises(ValueError, match="target_returns"):
        render_model_card(tiny_model(target_returns=None))
    # Evaluated targets are enough when the config stores none.
    card = render_model_card(tiny_model(target_returns=None), eval_results=result(9.0, 1.0, 120.0))
    assert "target_return=120)" in card.text


def test_card_check_names_the_broken_field():
    card = render_model_card(tiny_model(), eval_results=EVAL_RESULTS)
    content = str(card)
    check_model_card(content, env_id="CartPole-v1", n_results=2)
    with pytest.raises(ValueError, match="library_name"):
        check_model_card(content.replace("library_name: hf_decision", "library_name: other"), env_id="CartPole-v1")
    with pytest.raises(ValueError, match="offline-rl"):
        check_model_card(content.replace("- offline-rl\n", ""), env_id="CartPole-v1", n_results=2)
    with pytest.raises(ValueError, match="model-index has 2 results, expected 3"):
        check_model_card(content, env_id="CartPole-v1", n_results=3)
    with pytest.raises(ValueError, match="mean_reward"):
        check_model_card(content.replace("type: mean_reward", "type: accuracy"), env_id="CartPole-v1", n_results=2)
    with pytest.raises(ValueError, match="<mean> \\+/- <std>"):
        check_model_card(content.replace("21.00 +/- 3.00", "21"), env_id="CartPole-v1", n_results=2)
    with pytest.raises(ValueError, match="base_model"):
        check_model_card(content, env_id="CartPole-v1", n_results=2, base_model="gpt2")


def test_per_target_results_reads_evaluate_outputs_and_json():
    assert list(per_target_results(EVAL_RESULTS)) == [500.0, 250.0]
    assert list(per_target_results(result(1.0, 0.0, 7.0))) == [7.0]
    round_trip = json.loads(json.dumps({str(t): r for t, r in per_target_results(EVAL_RESULTS).items()}))
    assert per_target_results(round_trip) == per_target_results(EVAL_RESULTS)
    assert per_target_results(None) == {}
    with pytest.raises(ValueError, match=r"eval_results\['500'\] lacks \['std_return'\]"):
        per_target_results({"500": {"mean_return": 1.0}})
    with pytest.raises(ValueError, match="target_return"):
        per_target_results({"mean_return": 1.0, "std_return": 0.0})


def test_is_hub_id(tmp_path):
    assert is_hub_id("edbeeching/decision_transformer_gym_replay") and is_hub_id("gpt2")
    assert not is_hub_id(str(tmp_path)) and not is_hub_id("minari:mujoco/hopper/expert-v0")
    assert not is_hub_id("data/hopper.hdf5") and not is_hub_id(None) and not is_hub_id("")


def test_card_usage_snippet_runs(tmp_path):
    folder = save_agent_folder(tiny_model(), tmp_path / "agent", repo_id=str(tmp_path / "agent"))
    snippets = python_blocks((folder / "README.md").read_text())
    assert len(snippets) == 2
    namespace = {}
    exec(snippets[0], namespace)  # loads the folder, plays one CartPole episode
    assert namespace["episode_return"] > 0 and namespace["done"]


# --- the agent folder and the Hub ---
