"""Model cards, agent folders and Hub pushes, through the real huggingface_hub client and a local fake Hub."""

import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from huggingface_hub import ModelCard, snapshot_download

from hf_decision import DecisionTransformerModel
from hf_decision.agents import DecisionTransformerAgent
from hf_decision.evaluation import evaluate
from hf_decision.hub import push_agent_to_hub, save_agent_folder
from tests.conftest import EVAL_RESULTS, HISTORY, STATISTICS, TRAINING, result, tiny_cartpole_model

AGENT_FILES = {"config.json", "model.safetensors", "README.md", "evaluation.png", "results.json", "conditioning.png"}
TOKEN = "hf_fake_write_token"


def tiny_model(**overrides) -> DecisionTransformerModel:
    return tiny_cartpole_model(**overrides)


def load_script(name: str):
    return importlib.import_module(f"hf_decision.commands.{name}")


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def same_actions(agent_a, agent_b, steps=12, seed=0) -> bool:
    """Drive two agents (2 envs each) with the same observations, rewards and dones; compare every action."""
    rng = np.random.default_rng(seed)
    for step in range(steps):
        observations = rng.normal(size=(2, 4)).astype(np.float32)
        if not np.array_equal(agent_a.act(observations), agent_b.act(observations)):
            return False
        rewards, dones = rng.normal(size=2), np.array([step == 6, False])
        agent_a.observe(rewards, dones)
        agent_b.observe(rewards, dones)
    return True


def test_save_agent_folder_offline(tmp_path):
    pytest.importorskip("matplotlib")
    model = tiny_model(state_mean=[0.1, 0.2, 0.3, 0.4], state_std=[1.0, 2.0, 3.0, 4.0])
    folder = save_agent_folder(
        model,
        tmp_path / "agent",
        eval_results=EVAL_RESULTS,
        dataset_id="user/cartpole-medium",
        history=HISTORY,
        training_args=TRAINING,
        dataset_statistics=STATISTICS,
        dataset_returns=[9.0, 100.0, 500.0],
    )
    assert {p.name for p in folder.iterdir()} == AGENT_FILES
    config = json.loads((folder / "config.json").read_text())
    assert config["state_std"] == [1.0, 2.0, 3.0, 4.0] and config["env_id"] == "CartPole-v1"
    assert config["model_type"] == "hf_decision_transformer" and config["target_returns"] == [500.0]
    results = json.loads((folder / "results.json").read_text())
    assert set(results["evaluation"]) == {"500.0", "250.0"} and results["evaluation"]["250.0"]["std_return"] == 1.25
    assert results["dataset"]["num_episodes"] == 100 and results["history"] == HISTORY
    assert results["dataset_returns"] == [9.0, 100.0, 500.0]
    # two targets: the card shows the achieved-against-target plot
    assert (folder / "conditioning.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Achieved return against target return](conditioning.png)" in (folder / "README.md").read_text()
    assert ModelCard.load(folder / "README.md").data.eval_results[0].metric_value == "21.00 +/- 3.00"
    assert same_actions(
        DecisionTransformerAgent(model, num_envs=2), DecisionTransformerAgent.from_pretrained(folder, num_envs=2)
    )


def test_one_target_or_a_baseline_gets_no_conditioning_plot(tmp_path):
    pytest.importorskip("matplotlib")
    one = save_agent_folder(tiny_model(), tmp_path / "one", eval_results=result(21.0, 3.0, 500.0))
    assert not (one / "conditioning.png").exists() and "conditioning.png" not in (one / "README.md").read_text()


def test_push_uploads_the_agent_and_it_acts_the_same_when_downloaded(hub, tmp_path):
    pytest.importorskip("matplotlib")
    model = tiny_model()
    url = push_agent_to_hub(
        model,
        "user/dt-cartpole",
        eval_results=EVAL_RESULTS,
        dataset_id="user/cartpole-medium",
        history=HISTORY,
        training_args=TRAINING,
        dataset_statistics=STATISTICS,
        token=TOKEN,
    )
    initial, pushed = hub.commits("user/dt-cartpole")  # one commit for the whole folder
    assert url == f"{hub.url}/user/dt-cartpole/commit/{pushed.oid}"
    assert set(pushed.files) - {".gitattributes"} == AGENT_FILES
    assert ("POST", "/api/validate-yaml") in hub.requests  # the README metadata went through the Hub's check

    card = ModelCard(pushed.files["README.md"].decode())
    assert card.data.library_name == "hf_decision" and "CartPole-v1" in card.data.tags
    assert card.data.datasets == ["user/cartpole-medium"]
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        ("mean_reward", "21.00 +/- 3.00"),
        ("mean_reward", "12.50 +/- 1.25"),
    ]
    assert 'from_pretrained("user/dt-cartpole"' in card.text
    assert pushed.files["evaluation.png"].startswith(b"\x89PNG")
    assert json.loads(pushed.files["results.json"])["evaluation"]["500.0"]["mean_return"] == 21.0

    downloaded = DecisionTransformerAgent.from_pretrained("user/dt-cartpole", num_envs=2, cache_dir=tmp_path / "cache")
    assert ("GET", f"/user/dt-cartpole/resolve/{pushed.oid}/model.safetensors") in hub.requests
    state = downloaded.model.state_dict()
    assert all(torch.equal(state[name], tensor) for name, tensor in model.state_dict().items())
    assert same_actions(DecisionTransformerAgent(model, num_envs=2), downloaded)

    snapshot = Path(snapshot_download("user/dt-cartpole", cache_dir=tmp_path / "snapshots"))
    assert {p.name for p in snapshot.iterdir()} == AGENT_FILES | {".gitattributes"}
    assert (snapshot / "model.safetensors").read_bytes() == pushed.files["model.safetensors"]


def test_pushing_again_creates_no_empty_commit(hub):
    model = tiny_model()
    first = push_agent_to_hub(model, "user/agent", eval_results=EVAL_RESULTS, token=TOKEN)
    again = push_agent_to_hub(model, "user/agent", eval_results=EVAL_RESULTS, token=TOKEN)  # the repo exists
    assert again == first and len(hub.commits("user/agent")) == 2
    updated = push_agent_to_hub(model, "user/agent", eval_results=result(30.0, 1.0, 500.0), token=TOKEN)
    head = hub.commits("user/agent")[-1]
    assert updated.endswith(head.oid) and "30.00 +/- 1.00" in head.files["README.md"].decode()


def test_push_to_a_name_without_namespace_lands_in_the_users_repo(hub):
    url = push_agent_to_hub(tiny_model(), "solo-agent", token=TOKEN, private=True)
    assert url.startswith(f"{hub.url}/user/solo-agent/commit/") and hub.repos["user/solo-agent"].private
    assert "config.json" in hub.files("user/solo-agent")


# --- the scripts ---


def test_evaluate_script_prints_a_table_and_writes_json(tmp_path, capsys):
    evaluate_script = load_script("evaluate")
    model = tiny_model()
    model.save_pretrained(tmp_path / "ckpt")
    config = tmp_path / "eval.yaml"
    config.write_text(yaml.safe_dump({"n_episodes": 2, "num_envs": 2, "seed": 5, "target_returns": [500.0, 100.0]}))
    output = tmp_path / "out" / "eval.json"
    report = evaluate_script.cli(
        ["--config", str(config), "--model_name_or_path", str(tmp_path / "ckpt"), "--output_file", str(output)]
    )
    expected = evaluate(model, "CartPole-v1", target_return=[500.0, 100.0], n_episodes=2, num_envs=2, seed=5)
    assert json.loads(output.read_text()) == report
    assert report["env_id"] == "CartPole-v1" and list(report["evaluation"]) == ["500.0", "100.0"]
    for target in (500.0, 100.0):
        assert report["evaluation"][str(target)]["returns"] == expected["per_target"][target]["returns"]
    mean, std = expected["per_target"][500.0]["mean_return"], expected["per_target"][500.0]["std_return"]
    assert f"| 500 | {mean:.2f} ± {std:.2f} | — | 2 |" in capsys.readouterr().out
    # without --output_file the results land beside the checkpoint, not in the current folder
    evaluate_script.cli(["--config", str(config), "--model_name_or_path", str(tmp_path / "ckpt")])
    assert json.loads((tmp_path / "ckpt" / "eval_results.json").read_text()) == report


def test_push_script_writes_the_agent_folder_offline(tmp_path):
    pytest.importorskip("matplotlib")
    push_script = load_script("push_to_hub")
    tiny_model().save_pretrained(tmp_path / "run")
    (tmp_path / "run" / "checkpoint-2").mkdir()
    logs = [{"step": s, "eval_env/return@500": 9.0 + s, "eval_env/return_std@500": 1.0} for s in (1, 2)]
    (tmp_path / "run" / "checkpoint-2" / "trainer_state.json").write_text(json.dumps({"log_history": logs}))
    train_config = tmp_path / "train.yaml"
    train_config.write_text(yaml.safe_dump({"dataset_name_or_path": "user/cartpole-medium", "lm_coef": 0.25}))
    args = push_script.PushArguments(
        model_dir=str(tmp_path / "run"),
        local_dir=str(tmp_path / "agent"),
        n_episodes=2,
        num_envs=2,
        train_config=str(train_config),
    )
    outputs = push_script.main(args)
    folder = outputs["local_dir"]
    assert {p.name for p in folder.iterdir()} == AGENT_FILES - {"conditioning.png"}  # one target: no sweep to draw
    results = json.loads((folder / "results.json").read_text())
    assert [h["mean"] for h in results["history"]] == [10.0, 11.0]  # from the newest checkpoint's trainer state
    assert len(results["evaluation"]["500.0"]["returns"]) == 2  # evaluated: the run had no results.json
    card = ModelCard.load(folder / "README.md")
    assert (
        card.data.datasets == ["user/cartpole-medium"] and "| λ (language-modeling loss weight) | 0.25 |" in card.text
    )
    with pytest.raises(ValueError, match="--repo_id"):
        push_script.main(push_script.PushArguments(model_dir=str(tmp_path / "run")))


def test_push_script_offline_writes_the_folder_and_says_how_to_upload_it(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    push_script = load_script("push_to_hub")
    tiny_model().save_pretrained(tmp_path / "run")
    saved = {"evaluation": {"500.0": result(42.0, 2.0, 500.0)}, "dataset": STATISTICS}
    (tmp_path / "run" / "results.json").write_text(json.dumps(saved))
    with pytest.raises(OSError, match=r"Add --local_dir DIR .* `hf upload user/agent DIR`") as error:
        push_script.cli(["--model_dir", str(tmp_path / "run"), "--repo_id", "user/agent"])
    assert "unset" not in str(error.value)  # the way forward is the local folder, not leaving offline mode
    folder = tmp_path / "agent"
    with pytest.raises(OSError, match=f"{folder} is written but not pushed.*`hf upload user/agent {folder}`"):
        push_script.cli(["--model_dir", str(tmp_path / "run"), "--repo_id", "user/agent", "--local_dir", str(folder)])
    assert "user/agent" in (folder / "README.md").read_text()  # the card names the repo it will be uploaded to
    assert json.loads((folder / "results.json").read_text())["evaluation"]["500.0"]["mean_return"] == 42.0


def test_push_script_pushes_saved_results_without_evaluating(hub, tmp_path):
    push_script = load_script("push_to_hub")
    model = tiny_model()
    model.save_pretrained(tmp_path / "run")
    saved = {"evaluation": {"500.0": result(42.0, 2.0, 500.0)}, "dataset": STATISTICS}
    (tmp_path / "run" / "results.json").write_text(json.dumps(saved))  # what the training script writes
    outputs = push_script.cli(
        ["--model_dir", str(tmp_path / "run"), "--repo_id", "user/from-script", "--token", TOKEN]
    )
    head = hub.commits("user/from-script")[-1]
    assert outputs["commit_url"].endswith(head.oid)
    assert set(head.files) - {".gitattributes"} == AGENT_FILES - {"evaluation.png", "conditioning.png"}
    card = ModelCard(head.files["README.md"].decode())
    assert card.data.eval_results[0].metric_value == "42.00 +/- 2.00" and "| Episodes | 100 |" in card.text
    downloaded = DecisionTransformerAgent.from_pretrained("user/from-script", num_envs=2, cache_dir=tmp_path / "cache")
    assert same_actions(DecisionTransformerAgent(model, num_envs=2), downloaded)


def test_push_script_with_onnx_adds_model_onnx_that_acts_as_the_checkpoint(hub, tmp_path):
    pytest.importorskip("onnxruntime")
    from hf_decision.export import OnnxDecisionTransformerAgent

    push_script = load_script("push_to_hub")
    model = tiny_model()
    model.save_pretrained(tmp_path / "run")
    (tmp_path / "run" / "results.json").write_text(json.dumps({"evaluation": {"500.0": result(42.0, 2.0, 500.0)}}))
    args = ["--model_dir", str(tmp_path / "run"), "--repo_id", "user/onnx", "--token", TOKEN, "--onnx"]
    push_script.cli([*args, "--local_dir", str(tmp_path / "agent")])
    assert (tmp_path / "agent" / "model.onnx").is_file()
    head = hub.commits("user/onnx")[-1]
    assert set(head.files) - {".gitattributes"} == AGENT_FILES - {"evaluation.png", "conditioning.png"} | {
        "model.onnx"
    }
    downloaded = OnnxDecisionTransformerAgent.from_pretrained("user/onnx", num_envs=2, cache_dir=tmp_path / "cache")
    assert same_actions(DecisionTransformerAgent(model, num_envs=2), downloaded)
    assert not (tmp_path / "run" / "model.onnx").exists()  # the checkpoint folder is left as it was
