"""`hf-decision-export`: a checkpoint folder in, a checked `model.onnx` that acts as the checkpoint does out."""

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from hf_decision.agents import DecisionTransformerAgent, PolicyAgent  # noqa: E402
from hf_decision.commands.export import cli  # noqa: E402
from hf_decision.export import OnnxDecisionTransformerAgent, OnnxPolicyAgent, load_onnx_agent  # noqa: E402
from hf_decision.models import PolicyConfig, PolicyModel  # noqa: E402
from tests.conftest import tiny_cartpole_model  # noqa: E402


def test_export_writes_model_onnx_beside_the_checkpoint(tmp_path, capsys):
    model = tiny_cartpole_model()
    model.save_pretrained(tmp_path / "run")
    outputs = cli(["--model_dir", str(tmp_path / "run")])
    assert outputs["output"] == str(tmp_path / "run" / "model.onnx") and outputs["max_abs_difference"] <= 1e-5
    assert "max |onnxruntime − eager| on example inputs" in capsys.readouterr().out
    agent, eager = load_onnx_agent(tmp_path / "run", num_envs=3), DecisionTransformerAgent(model, num_envs=3)
    assert isinstance(agent, OnnxDecisionTransformerAgent)
    observations = np.random.default_rng(0).normal(size=(6, 3, 4)).astype(np.float32)
    for step, obs in enumerate(observations):
        assert np.array_equal(agent.act(obs), eager.act(obs))
        agent.observe([1.0, 0.5, 2.0], dones=[step == 2, False, False])
        eager.observe([1.0, 0.5, 2.0], dones=[step == 2, False, False])


def test_export_of_a_policy_to_a_chosen_file(tmp_path):
    torch.manual_seed(0)
    model = PolicyModel(PolicyConfig(state_dim=3, act_dim=2, action_space="continuous", hidden_sizes=[8]))
    model.save_pretrained(tmp_path / "run")
    cli(["--model_dir", str(tmp_path / "run"), "--output", str(tmp_path / "out" / "policy.onnx")])
    agent = load_onnx_agent(tmp_path / "out" / "policy.onnx", num_envs=2)
    assert isinstance(agent, OnnxPolicyAgent)
    obs = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    assert np.abs(agent.act(obs) - PolicyAgent(model, num_envs=2).act(obs)).max() <= 1e-6


def test_export_refuses_and_removes_a_file_beyond_the_tolerance(tmp_path):
    tiny_cartpole_model().save_pretrained(tmp_path / "run")
    with pytest.raises(ValueError, match="differ by .* > -1.0; removed"):
        cli(["--model_dir", str(tmp_path / "run"), "--tolerance", "-1"])
    assert not (tmp_path / "run" / "model.onnx").exists()
