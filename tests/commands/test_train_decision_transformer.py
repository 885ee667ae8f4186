import json
from pathlib import Path

import pytest
import torch

from hf_decision import DecisionTransformerModel
from hf_decision.commands.train_decision_transformer import cli
from tests.trainers.tasks import ENV_ID, HORIZON, two_behaviour_dataset

CONFIGS = Path(__file__).resolve().parents[2] / "scripts" / "configs" / "decision_transformer"


@pytest.mark.parametrize("name", ["hopper-v5", "halfcheetah-v5", "walker2d-v5", "cartpole-v1"])
def test_yaml_configs_parse_with_the_dt_recipe(name, tmp_path):
    from transformers import HfArgumentParser

    from hf_decision.commands.parsing import parse_with_config
    from hf_decision.commands.train_decision_transformer import ModelArguments, ScriptArguments
    from hf_decision.trainers import DecisionTransformerTrainingConfig

    parser = HfArgumentParser((ScriptArguments, ModelArguments, DecisionTransformerTrainingConfig))
    script, model, training = parse_with_config(
        parser, ["--config", str(CONFIGS / f"{name}.yaml"), "--output_dir", str(tmp_path), "--max_steps", "7"]
    )
    assert training.max_steps == 7 and training.output_dir == str(tmp_path)  # flags win over the file
    assert (model.context_length, training.per_device_train_batch_size, training.learning_rate) == (20, 64, 1e-4)
    assert (training.weight_decay, training.max_grad_norm) == (1e-4, 0.25)
    assert script.env_id and model.target_returns


def test_unknown_yaml_key_is_refused(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("learning_rat: 0.1\n")
    with pytest.raises(ValueError, match="learning_rat"):
        cli(["--config", str(config)])


def test_cli_trains_saves_and_evaluates(tmp_path):
    data = tmp_path / "data"
    two_behaviour_dataset().save_to_disk(data)
    args = ["--dataset_name_or_path", str(data), "--env_id", ENV_ID, "--output_dir", str(tmp_path / "out")]
    args += ["--max_steps", "4", "--per_device_train_batch_size", "8", "--hidden_size", "16", "--n_layer", "1"]
    args += ["--context_length", "4", "--max_ep_len", str(HORIZON), "--return_scale", str(HORIZON)]
    args += ["--final_eval_episodes", "2", "--report_to", "none", "--save_strategy", "no", "--use_cpu", "true"]
    trainer, results = cli(args)
    saved = DecisionTransformerModel.from_pretrained(tmp_path / "out")
    assert saved.config.env_id == ENV_ID and saved.config.hidden_size == 16
    assert saved.config.target_returns == [8.0, 0.0, 4.0, 9.6]  # suggested from the data (returns 8 and 0)
    assert len(saved.config.state_mean) == 2
    stored = json.loads((tmp_path / "out" / "results.json").read_text())
    assert stored["dataset"]["num_episodes"] == 40
    assert stored["dataset_returns"] == [8.0, 0.0] * 20  # for the model card's achieved-against-target plot
    # evaluated at every suggested target: the sweep the card draws
    assert set(stored["evaluation"]) == {"8.0", "0.0", "4.0", "9.6"}
    assert all(len(r["returns"]) == 2 for r in stored["evaluation"].values())
    assert stored["dataset_id"] == str(data) and stored["training_args"]["max_steps"] == 4
    # the agent folder written from the run alone: the card names the data and the hyperparameters it was trained with
    from hf_decision.commands.push_to_hub import PushArguments
    from hf_decision.commands.push_to_hub import main as push

    folder = push(PushArguments(model_dir=str(tmp_path / "out"), local_dir=str(tmp_path / "agent")))["local_dir"]
    card = (folder / "README.md").read_text()
    assert f"`{data}` (a local dataset)" in card and "| Optimizer steps | 4 |" in card
    assert "![Achieved return against target return](conditioning.png)" in card
    batch = trainer.data_collator([0, 1])
    torch.testing.assert_close(saved.eval()(**batch).action_preds, trainer.model.eval()(**batch).action_preds)


def test_bc_cli_reports_its_single_evaluation_without_a_target(tmp_path, capsys):
    """BC ignores returns, so it is evaluated once, under no target: the summary line must say so, not crash."""
    data = tmp_path / "data"
    two_behaviour_dataset().save_to_disk(data)
    args = ["--dataset_name_or_path", str(data), "--env_id", ENV_ID, "--output_dir", str(tmp_path / "out")]
    args += ["--max_steps", "2", "--per_device_train_batch_size", "8", "--hidden_size", "16", "--n_layer", "1"]
    args += ["--context_length", "4", "--max_ep_len", str(HORIZON), "--condition_on_returns", "false"]
    args += ["--final_eval_episodes", "2", "--report_to", "none", "--save_strategy", "no", "--use_cpu", "true"]
    _, results = cli(args)
    assert list(results["evaluation"]) == ["None"]
    assert "no return conditioning (BC): return " in capsys.readouterr().out


@pytest.mark.parametrize("merge", [False, True])
def test_lora_cli_saves_the_adapter_or_the_merged_model_and_pushes_either(tmp_path, merge):
    pytest.importorskip("peft")
    from transformers import GPT2Config, GPT2LMHeadModel

    from hf_decision.agents import DecisionTransformerAgent
    from hf_decision.commands.push_to_hub import PushArguments
    from hf_decision.commands.push_to_hub import main as push

    torch.manual_seed(0)
    gpt2 = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=40, n_positions=48)).save_pretrained(gpt2)
    data, out = tmp_path / "data", tmp_path / "out"
    two_behaviour_dataset().save_to_disk(data)
    args = ["--dataset_name_or_path", str(data), "--env_id", ENV_ID, "--output_dir", str(out), "--max_steps", "2"]
    args += ["--per_device_train_batch_size", "8", "--backbone_name_or_path", str(gpt2), "--context_length", "4"]
    args += ["--max_ep_len", str(HORIZON), "--final_eval_episodes", "2", "--report_to", "none"]
    args += ["--save_strategy", "no", "--use_cpu", "true", "--lora_r", "2", "--merge_lora", str(merge).lower()]
    trainer, results = cli(args)
    assert all(len(r["returns"]) == 2 for r in results["evaluation"].values())  # the trained model evaluated
    trainable, total = trainer.trainable_parameters
    assert results["trainable_parameters"] == {"trainable": trainable, "total": total}
    adapter = out / "adapter" if merge else out
    assert (adapter / "adapter_config.json").is_file() and (out / "model.safetensors").is_file() == merge
    batch = {k: v for k, v in trainer.data_collator([0, 1]).items() if k != "labels"}
    expected = DecisionTransformerModel.from_pretrained(adapter)(**batch).action_preds
    actions = DecisionTransformerAgent.from_pretrained(out).model(**batch).action_preds
    torch.testing.assert_close(actions, expected, rtol=0, atol=1e-5)

    folder = push(PushArguments(model_dir=str(out), local_dir=str(tmp_path / "agent"), evaluate=False))["local_dir"]
    names = {p.name for p in folder.iterdir()}
    assert ("model.safetensors" in names) == merge and ("adapter_model.safetensors" in names) != merge
    assert {"config.json", "README.md", "results.json"} <= names
    assert (
        "| LoRA adapter | rank 2, alpha 32 on c_attn, c_fc, c_proj;" in (folder / "README.md").read_text()
    ) != merge
    pushed = DecisionTransformerAgent.from_pretrained(folder).model(**batch).action_preds
    torch.testing.assert_close(pushed, expected, rtol=0, atol=1e-5)
    if not merge:  # the adapter folder pushed as a merged checkpoint
        merged = push(
            PushArguments(model_dir=str(out), local_dir=str(tmp_path / "m"), merge_lora=True, evaluate=False)
        )
        assert (merged["local_dir"] / "model.safetensors").is_file()
        with pytest.raises(ValueError, match="add --merge_lora"):  # ONNX needs the merged model
            push(PushArguments(model_dir=str(out), local_dir=str(tmp_path / "o"), onnx=True, evaluate=False))
